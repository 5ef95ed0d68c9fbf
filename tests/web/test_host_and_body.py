"""`serve` answers only the Host names it is told (DNS rebinding), and a request body that never ends times out."""

from __future__ import annotations

import gc
import socket
import time

import pytest

import latentlab

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from latentlab.web.app import create_app  # noqa: E402
from latentlab.web.hosts import is_loopback, serving_hosts  # noqa: E402
from latentlab.web.runs import make_entry  # noqa: E402


@pytest.fixture(scope="module")
def run(digits, digits_view, tmp_path_factory):
    """A saved explorer run of a small AE, and the model."""
    m = digits_view(latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(digits[0][:200], epochs=1, verbose=False))
    path = tmp_path_factory.mktemp("serve") / "ae"
    m.save(path)
    return path, m


# ------------------------------------------------------------------ the allow-list
@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "", "192.168.1.5", "lab.example.org"])
def test_a_network_bind_needs_an_allow_list(bind):
    with pytest.raises(latentlab.ConfigError, match="DNS rebinding") as err:
        serving_hosts(bind)
    assert "--allow-host" in str(err.value) and "--host 127.0.0.1" in str(err.value)
    hosts, warning = serving_hosts(bind, ["lab.example.org"])
    assert "lab.example.org" in hosts and "*" not in hosts and warning == ""


@pytest.mark.parametrize("bind", ["127.0.0.1", "0.0.0.0"])
def test_any_host_needs_the_explicit_opt_out(bind):
    with pytest.raises(latentlab.ConfigError, match="--allow-any-host"):
        serving_hosts(bind, ["lab.example.org", "*"])
    hosts, warning = serving_hosts(bind, allow_any=True)
    assert hosts is None and "DNS rebinding" in warning and warning.startswith("warning:")


def test_loopback_binds_answer_loopback_names_only():
    assert [is_loopback(b) for b in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "10.0.0.1")] == [
        True, True, True, True, True, False]
    hosts, warning = serving_hosts("127.0.0.1")
    assert set(hosts) == {"127.0.0.1", "localhost", "::1", "[::1]"} and warning == ""
    with pytest.raises(latentlab.ConfigError, match="empty name"):
        serving_hosts("127.0.0.1", [" "])


def test_serve_refuses_before_loading_anything(tmp_path, capsys):
    from latentlab.cli import main

    missing = str(tmp_path / "no-such-run")  # the host check comes first, so this is never opened
    assert main(["serve", "--host", "0.0.0.0", missing]) == 2
    err = capsys.readouterr().err
    assert "DNS rebinding" in err and "--allow-host" in err and "no-such-run" not in err
    assert main(["serve", "--allow-host", "*", missing]) == 2
    assert "--allow-any-host" in capsys.readouterr().err
    for flag in ("--body-timeout", "--header-timeout"):
        assert main(["serve", flag, "0", missing]) == 2
        assert f"{flag} 0.0 must be between 0 and 3600" in capsys.readouterr().err


def _serve_app(monkeypatch, argv):
    """Run ``latentlab serve ARGV`` with uvicorn stubbed out; returns the app it would have served."""
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.setattr(gc, "freeze", lambda: None)
    from latentlab.cli import main

    assert main(["serve", *argv]) == 0
    return seen


@pytest.mark.slow
def test_serve_wires_the_allow_list_into_the_app(run, monkeypatch, capsys):
    path, _ = run
    body = {"model": "ae", "z": [[0.0, 0.0]]}
    seen = _serve_app(monkeypatch, ["--host", "0.0.0.0", "--allow-host", "lab.example.org", str(path)])
    assert seen["host"] == "0.0.0.0"
    client = TestClient(seen["app"], base_url="http://lab.example.org:8000")
    assert client.post("/api/decode", json=body).status_code == 200
    for evil in ("rebind.attacker.example", "0.0.0.0", "localhost"):
        assert client.post("/api/decode", json=body, headers={"host": evil}).status_code == 400
    assert "warning" not in capsys.readouterr().err

    seen = _serve_app(monkeypatch, ["--host", "0.0.0.0", "--allow-any-host", str(path)])
    assert "DNS rebinding" in capsys.readouterr().err  # the opt-out is said out loud
    client = TestClient(seen["app"], base_url="http://rebind.attacker.example")
    assert client.post("/api/decode", json=body).status_code == 200


# ------------------------------------------------------------------ the body deadline
def _answer(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it hangs up, and how long that took."""
    t0, data = time.monotonic(), b""
    while chunk := sock.recv(4096):
        data += chunk
    return data, time.monotonic() - t0


@pytest.mark.slow
def test_a_body_that_never_ends_gets_408_and_the_connection_closed(run, serve_in_thread):
    from latentlab.web.serving import header_deadline_protocol

    _, m = run
    app = create_app({"ae": make_entry("ae", m)}, allowed_hosts=serving_hosts("127.0.0.1")[0], body_timeout=0.5)
    head = b"POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    with serve_in_thread(app, http=header_deadline_protocol(5.0)) as url:
        port = int(url.rsplit(":", 1)[1])
        for path in (b"/api/decode", b"/api/encode"):  # the decode fast path and a routed endpoint
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(head % path + b'{"model": ')  # 10 of the 100 bytes promised, then silence
                data, took = _answer(s)
            assert data.startswith(b"HTTP/1.1 408") and b"did not arrive within 0.5 s" in data, data[:200]
            assert 0.4 < took < 4
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # a trickle does not reset the clock
            s.sendall(head % b"/api/decode")
            t0 = time.monotonic()
            try:
                for _ in range(40):
                    s.sendall(b" ")
                    time.sleep(0.05)
            except OSError:  # the server hung up mid-trickle
                pass
            data, _ = _answer(s)
            assert data.startswith(b"HTTP/1.1 408") and time.monotonic() - t0 < 4
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # a whole request is answered
            body = b'{"model": "ae", "z": [[0.0, 0.0]]}'
            s.sendall((head % b"/api/decode").replace(b"100", str(len(body)).encode()) + body)
            assert s.recv(12).startswith(b"HTTP/1.1 200")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # and a foreign Host is refused
            s.sendall(b"GET /api/models HTTP/1.1\r\nHost: rebind.attacker.example\r\n\r\n")
            assert s.recv(12).startswith(b"HTTP/1.1 400")
