"""The registries: a family name -> its model class, and a saved folder's ``format`` -> the loader that opens it.

Both are filled through entry points, the way any package adds to them:
``latentlab.families`` maps a family name to its class
(``vae = "latentlab.models.vae:VAE"``), and ``latentlab.formats`` maps the
``format`` string that a saved folder's ``config.json`` carries to the
callable that opens such a folder (``latentlab-model =
"latentlab.models.io:load_model"``). latentlab declares its own in
``pyproject.toml``; a plug-in package declares its families and formats in
its own metadata and needs no change here. Entry points are read from the
installed metadata (:func:`importlib.metadata.entry_points`) on the first
lookup, and a family's module is imported only when that family is asked
for. A class may also register itself with :func:`register` (the built-in
families do, as their modules load), so nothing here imports a layer above
by name and nothing in the library switches on class names.

A model file is rebuilt through :func:`config_from_dict` and
:func:`build_checked`, which refuse unknown families, invalid fields and
absurd sizes before any memory is allocated; :func:`load` opens any saved
folder by its ``format``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from ._files import interrupted_save_hint
from .errors import ConfigError, LatentlabError, ModelFileError

# A model file describing more values than this (800 MB of float32) is refused before
# anything is allocated; raise it here for a genuinely larger model.
MAX_MODEL_VALUES = 200_000_000

FAMILY_GROUP = "latentlab.families"
FORMAT_GROUP = "latentlab.formats"
#: Names the document of a saved folder had before it was ``config.json`` (series detectors of 0.1).
LEGACY_DOCUMENTS = ("detector.json",)

_REGISTRY: dict[str, type] = {}
_ENTRY_POINTS: dict[str, dict[str, Any]] = {}  # group -> name -> entry point, read once (see refresh)
_CLASHES: dict[str, dict[str, list[str]]] = {}  # group -> name -> the different targets offered for it


def register(cls: type) -> type:
    """Class decorator: make a model class loadable by its config's family name."""
    name = cls.config_class.family
    known = _REGISTRY.get(name)
    if known is not None and known is not cls:
        if _source(known) == _source(cls) and known.__qualname__ == cls.__qualname__:
            return cls  # the same file imported a second time (e.g. by a doctest runner); keep the first
        raise ConfigError(f"family {name!r} registered twice: by {known.__module__} and {cls.__module__}")
    _REGISTRY[name] = cls
    return cls


def _source(cls: type) -> str | None:
    return getattr(sys.modules.get(cls.__module__), "__file__", None)


# ------------------------------------------------------------ entry points
def entry_points(group: str) -> dict[str, Any]:
    """The entry points of ``group`` by name, read from the installed metadata once (see :func:`refresh`).

    Two installed packages offering one name with different targets are kept
    aside: looking that name up raises an error that names both.
    """
    found = _ENTRY_POINTS.get(group)
    if found is None:
        from importlib.metadata import entry_points as installed

        found, clashes = {}, {}
        for ep in installed(group=group):
            known = found.get(ep.name)
            if known is None:
                found[ep.name] = ep
            elif known.value != ep.value:  # the same package seen twice (an editable install) is no clash
                clashes.setdefault(ep.name, [known.value]).append(ep.value)
        _ENTRY_POINTS[group], _CLASHES[group] = found, clashes
    return found


def refresh() -> None:
    """Read the entry points again: after installing a plug-in into a running interpreter."""
    _ENTRY_POINTS.clear()
    _CLASHES.clear()


def _entry_point(group: str, name: str, what: str):
    ep = entry_points(group).get(name)
    clash = _CLASHES.get(group, {}).get(name)
    if clash:
        raise ConfigError(f"the {what} {name!r} is offered by two installed packages ({' and '.join(clash)}); "
                          "uninstall one of them.")
    return ep


def _load_entry_point(ep, what: str):
    try:
        return ep.load()
    except Exception as exc:  # a plug-in that fails to import: say which, and why
        dist = getattr(getattr(ep, "dist", None), "name", None) or "an installed package"
        raise ConfigError(f"the {what} {ep.name!r} ({ep.value}, from {dist}) failed to import: "
                          f"{type(exc).__name__}: {exc}") from exc


def _missing_metadata_hint(group: str) -> str:
    if entry_points(group):
        return ""
    return (f" No entry points of group {group!r} are installed: install latentlab (pip install -e .) "
            "so that its metadata lists its own.")


def get_family(name: str) -> type:
    """The model class registered under ``name`` (a family module is imported on its first lookup).

    Examples
    --------
    >>> get_family("vae").__name__
    'VAE'
    >>> get_family("no-such-family")
    Traceback (most recent call last):
    ...
    latentlab.errors.ConfigError: unknown family 'no-such-family'; available: [...].
    """
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is not None:
        return cls
    ep = _entry_point(FAMILY_GROUP, name, "family") if isinstance(name, str) else None
    if ep is None:
        raise ConfigError(f"unknown family {name!r}; available: {families()}.{_missing_metadata_hint(FAMILY_GROUP)}")
    cls = _load_entry_point(ep, "family")
    config_class = getattr(cls, "config_class", None)
    if not isinstance(cls, type) or getattr(config_class, "family", None) != name:
        raise ConfigError(f"the entry point {name} = {ep.value!r} of group {FAMILY_GROUP!r} is not a model class "
                          f"whose config_class.family is {name!r}; fix the package that declares it.")
    return register(cls)


def families() -> list[str]:
    """Names of every family: registered ones and those installed packages declare (nothing is imported).

    Examples
    --------
    >>> names = families()
    >>> "vae" in names and "ae" in names, names == sorted(names)
    (True, True)
    """
    return sorted(set(_REGISTRY) | set(entry_points(FAMILY_GROUP)))


def config_from_dict(cfg: Any, where: str):
    """Validate a config dict against its family's schema: ``(model class, config)``."""
    if not isinstance(cfg, dict) or not isinstance(cfg.get("family"), str):
        raise ModelFileError(f"{where} has no config.family.")
    try:
        cls = get_family(cfg["family"])
        config = cls.config_class.from_dict(cfg)
    except ConfigError as exc:
        raise ModelFileError(f"{where} is invalid: {exc}") from None
    except (TypeError, ValueError, OverflowError) as exc:  # a field the schema check let through
        raise ModelFileError(f"{where} is invalid: {exc}") from None
    if config.input_shape is None:
        raise ModelFileError(f"{where} has no input_shape; the model was never fitted.")
    return cls, config


def count_values(cls, config) -> int:
    """Number of values in ``cls(config)``'s state, counted on the ``meta`` device (nothing is allocated).

    Examples
    --------
    >>> from latentlab.models.ae import Autoencoder, AEConfig
    >>> count_values(Autoencoder, AEConfig(input_shape=(4,), latent_dim=2, hidden=(3,)))
    53
    """
    import torch

    with torch.device("meta"):
        probe = cls(config)
    return int(sum(t.numel() for t in probe.state_dict().values()))


def build_checked(cls, config, where: str):
    """Build ``cls(config)`` after counting its values on the ``meta`` device (memory-bomb guard)."""
    try:
        n_values = count_values(cls, config)
    except LatentlabError as exc:
        raise ModelFileError(f"{where} is invalid: {exc}") from None
    except Exception:  # a family that cannot be built on meta: fall back to an estimate
        n_values = _estimate_size(config)
    if n_values > MAX_MODEL_VALUES:
        raise ModelFileError(
            f"{where} describes a model of about {n_values:.3g} values (limit {MAX_MODEL_VALUES:.3g}); "
            "refusing to build it. The file is corrupt or hostile."
        )
    try:
        return cls(config)
    except LatentlabError as exc:
        raise ModelFileError(f"{where} is invalid: {exc}") from None


def _estimate_size(config) -> float:
    """Rough count of values the config's networks hold (used when a meta build is impossible)."""
    d = math.prod(config.input_shape)
    widths = [d, *config.hidden, config.latent_dim]
    return float(sum(a * b for a, b in zip(widths[:-1], widths[1:])) * 2 + d * 4)


# ------------------------------------------------------------ saved objects
def kind_of(fmt: str) -> str:
    """How messages name a format: ``'latentlab-image-codec'`` -> ``'latentlab image codec'``."""
    return fmt.replace("-", " ").replace("_", " ")


def with_article(name: str) -> str:
    """``'an Autoencoder'``, ``'a VAE'``: a name as a message says it."""
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def opener_of(fmt: str, doc: Any) -> str | None:
    """The class whose ``load`` opens a folder of format ``fmt`` (read from the entry points; nothing is imported)."""
    config = doc.get("config") if isinstance(doc, dict) else None
    family = config.get("family") if isinstance(config, dict) else None
    if isinstance(family, str):
        if family in _REGISTRY:
            return _REGISTRY[family].__name__
        ep = entry_points(FAMILY_GROUP).get(family)
        if ep is not None:
            return ep.attr
    ep = entry_points(FORMAT_GROUP).get(fmt)
    owner, dot, _ = (ep.attr or "").rpartition(".") if ep is not None else ("", "", "")
    return owner if dot else None


def read_saved(path, opener: str = "a latentlab save()") -> tuple[Path, dict]:
    """The folder ``path`` and its ``config.json`` document, or a :class:`ModelFileError` that names the problem.

    ``opener`` names what writes such folders, for the messages. A missing
    folder is reported, with where a save killed midway parked the folder it
    replaced, if one did; it is never rebuilt from its siblings.
    """
    from .storage import PICKLE_SUFFIXES, read_json  # torch comes with it: not at import, for a quick start

    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path} does not exist, so it is not a folder to load; check the path, or pass the "
                             f"folder written by {opener}.{interrupted_save_hint(path)}")
    if not path.is_dir():
        hint = ""
        if path.suffix.lower() in PICKLE_SUFFIXES:
            hint = (f" ({path.suffix} files usually hold pickles, which latentlab never loads, because unpickling "
                    "runs code.)")
        raise ModelFileError(f"{path} is not a folder; pass the folder written by {opener}.{hint}")
    file = path / "config.json"
    if not file.is_file():
        file = next((path / name for name in LEGACY_DOCUMENTS if (path / name).is_file()), None)
        if file is None:
            raise ModelFileError(f"{path} holds no config.json; pass a folder written by {opener}.")
    doc = read_json(file)
    if not isinstance(doc, dict):
        raise ModelFileError(f"{file} is not a latentlab model file (it holds no JSON object); the file is corrupt.")
    return path, doc


def check_format(path, doc: dict, expected: str, opener: str) -> None:
    """Refuse a folder whose ``config.json`` names another format than ``expected``, saying what opens it.

    ``opener`` is the class that wrote ``expected`` (for the message).
    """
    found = doc.get("format")
    if found == expected:
        return
    if isinstance(found, str) and found in entry_points(FORMAT_GROUP):
        other = opener_of(found, doc)
        how = "latentlab.load" + (f" or {other}.load" if other else "")
        config = doc.get("config")
        family = config.get("family") if isinstance(config, dict) else None
        held = kind_of(found) + (f" of family {family!r}" if isinstance(family, str) else "")
        raise ModelFileError(f"{path} holds a {held}, not a {kind_of(expected)}; open it with {how}.")
    what = f"no format={expected!r}" if found is None else f"its format is {found!r}"
    raise ModelFileError(f"{path}/config.json is not a {kind_of(expected)} file ({what}); pass a folder written by "
                         f"{opener}.save().")


def load(path):
    """Open any object latentlab saved: a model of any family, an estimator, a detector, a codec, a denoiser.

    The folder's ``config.json`` names its ``format``; the loader registered
    for it (entry-point group ``latentlab.formats``) checks and rebuilds the
    object. Nothing is unpickled.

    Raises
    ------
    ModelFileError
        Missing, corrupt, foreign or pickled files, or a format no installed package opens.

    Examples
    --------
    >>> import tempfile, numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((64, 4)).astype("float32")
    >>> ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, verbose=False)
    >>> folder = tempfile.mkdtemp() + "/ae"
    >>> ae.save(folder)
    >>> type(latentlab.load(folder)).__name__
    'Autoencoder'
    """
    path, doc = read_saved(path)
    fmt = doc.get("format")
    ep = _entry_point(FORMAT_GROUP, fmt, "format") if isinstance(fmt, str) else None
    if ep is None:
        if fmt is None:
            raise ModelFileError(f"{path}/config.json is not a latentlab model file (it names no format); pass a "
                                 "folder written by a latentlab save().")
        raise ModelFileError(f"{path}/config.json has format {fmt!r}, which no installed package opens (a newer "
                             f"latentlab or a plug-in wrote it).{_missing_metadata_hint(FORMAT_GROUP)}")
    return _load_entry_point(ep, "format")(path)


__all__ = ["register", "get_family", "families", "config_from_dict", "count_values", "build_checked", "MAX_MODEL_VALUES",
           "entry_points", "refresh", "load", "read_saved", "check_format", "with_article", "FAMILY_GROUP", "FORMAT_GROUP"]
