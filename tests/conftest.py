"""Shared fixtures: the digits split every test uses, quiet fast training defaults, and server helpers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

import numpy as np
import pytest
import torch

# Tiny models train fastest on one thread, and tests often share the machine.
torch.set_num_threads(1)

import latentlab  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    """``(X_train, X_test, y_train, y_test)`` with ``train_test_split(test_size=0.25, random_state=0)``."""
    return latentlab.load_digits(split=True)


@pytest.fixture(scope="session")
def digits_view(digits):
    """Attach to a model what the demo saves for the explorer: training codes, 8x8 images, held-out examples."""
    X_train, X_test, y_train, y_test = digits

    def attach(model):
        return model.attach_view(X_train, y_train, image_shape=(8, 8), examples=X_test[:100], example_labels=y_test[:100])

    return attach


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def reloaded(tmp_path):
    """``reloaded(model, X)``: save ``model``, load it back, check that the copy is of the same class and
    config and encodes and reconstructs ``X`` identically; returns the copy (for a family's own checks)."""

    def check(model, X):
        model.save(tmp_path / "m")
        back = latentlab.load(tmp_path / "m")
        assert type(back) is type(model) and back.config == model.config
        np.testing.assert_array_equal(back.encode(X), model.encode(X))
        np.testing.assert_array_equal(back.reconstruct(X), model.reconstruct(X))
        return back

    return check


FAST = dict(verbose=False, seed=0)


@contextlib.contextmanager
def _serving(app, **config):
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # loopback only: nothing outside this machine can reach it
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, **config))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def serve_in_thread():
    """``with serve_in_thread(app, **uvicorn_config) as base_url``: a real uvicorn server on a free loopback port."""
    return _serving


def _run_async(main, timeout: float):
    # A thread of its own: Playwright's sync API may have left an event loop running in this one.
    box: list = []
    worker = threading.Thread(target=lambda: box.append(asyncio.run(main())), daemon=True)
    worker.start()
    worker.join(timeout=timeout)
    assert box, f"the coroutine did not finish within {timeout} s"
    return box[0]


@pytest.fixture(scope="session")
def run_async():
    """``run_async(main, timeout)``: the result of ``asyncio.run(main())``, run in a thread of its own."""
    return _run_async


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's, driven by Playwright) for the whole session: Playwright's sync
    API runs an event loop in this thread while it is started, so a second instance cannot start."""
    from .web.test_explorer_browser import ARGS, CHROMIUM, _need_browser

    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
