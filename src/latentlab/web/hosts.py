"""Which ``Host`` headers the explorer answers, and which bind addresses need an explicit list.

A browser that visits a hostile page can be made to send requests to a
server on this machine or this network under the page's own host name (DNS
rebinding): the name first resolves to the attacker, then to the server's
address, and the browser treats the answers as the page's own. A server
answers such requests only if it accepts any ``Host`` header, so the
explorer accepts only the names it is reached by: the loopback names when
bound to loopback, the names given with ``--allow-host`` otherwise.
"""

from __future__ import annotations

import ipaddress

from ..errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
WILDCARD_BINDS = ("0.0.0.0", "::", "")


def is_loopback(bind: str) -> bool:
    """Whether ``bind`` is an address (or the name ``localhost``) only this machine can reach.

    Examples
    --------
    >>> is_loopback("127.0.0.2"), is_loopback("::1"), is_loopback("0.0.0.0"), is_loopback("lab.example.org")
    (True, True, False, False)
    """
    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind.strip("[]")).is_loopback
    except ValueError:
        return False


def hosts_for(bind: str, extra: list[str] | None = None) -> list[str] | None:
    """The ``Host`` names a server bound to ``bind`` answers: loopback names for a loopback address,
    the address itself otherwise, plus ``extra``; ``None`` (any) for a wildcard bind without ``extra``.

    :func:`serving_hosts` is the checked version ``latentlab serve`` uses.

    Examples
    --------
    >>> hosts_for("127.0.0.1")
    ['127.0.0.1', 'localhost', '::1', '[::1]']
    >>> hosts_for("0.0.0.0") is None, hosts_for("0.0.0.0", ["lab.example.org"])
    (True, ['lab.example.org'])
    """
    extra = list(extra or [])
    if bind in WILDCARD_BINDS:
        return extra or None
    names = list(LOOPBACK) if is_loopback(bind) else [bind]
    if is_loopback(bind) and bind not in names:
        names.insert(0, bind)
    return names + [h for h in extra if h not in names]


def serving_hosts(bind: str, allow: list[str] | None = None, allow_any: bool = False) -> tuple[list[str] | None, str]:
    """The ``Host`` allow-list for ``latentlab serve --host bind``, and a warning to print ('' for none).

    A loopback bind answers the loopback names (plus ``allow``). Any other
    bind must name the host names clients use (``allow``: ``--allow-host``),
    else this raises :class:`~latentlab.ConfigError`: such a server can be
    reached from the network, and one that answers any ``Host`` header can be
    driven by any web page its users visit. ``'*'`` (any host) is refused
    unless ``allow_any`` (``--allow-any-host``) opts out of the check, which
    then comes with a warning.

    Examples
    --------
    >>> serving_hosts("0.0.0.0", ["lab.example.org"])
    (['lab.example.org'], '')
    >>> serving_hosts("0.0.0.0")
    Traceback (most recent call last):
    ...
    latentlab.errors.ConfigError: --host 0.0.0.0 makes the explorer reachable from the network: ... (DNS rebinding). ...
    """
    allow = [h.strip() for h in (allow or [])]
    if any(not h for h in allow):
        raise ConfigError("--allow-host was given an empty name; give a host name such as lab.example.org.")
    risk = ("a server that answers any Host header can be driven by any web page its users visit (DNS "
            "rebinding)")
    if allow_any:
        return None, (f"warning: --allow-any-host: requests with any Host header are answered; {risk}. "
                      "Use --allow-host NAME for each name clients use instead.")
    if "*" in allow:
        raise ConfigError(f"--allow-host '*' would answer any Host header; {risk}. Name each host clients use "
                          "(--allow-host lab.example.org, repeatable), or pass --allow-any-host to accept the risk.")
    if not is_loopback(bind) and not allow:
        example = "lab.example.org" if bind in WILDCARD_BINDS else bind
        raise ConfigError(
            f"--host {bind or repr(bind)} makes the explorer reachable from the network: say which names clients "
            f"reach it by with --allow-host NAME (repeatable, e.g. --allow-host {example}), so that requests under "
            f"any other Host are refused, since {risk}. Or serve on this machine only with --host 127.0.0.1."
        )
    return hosts_for(bind, allow), ""
