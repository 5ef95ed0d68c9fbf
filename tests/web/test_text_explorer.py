"""The explorer with a text model, in real headless Chromium: a click decodes a sentence, a drag interpolates.

Follows tests/web/test_explorer_browser.py (Debian's chromium through Playwright, the real
uvicorn server on a loopback port); what the page shows is checked against the Python API.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import latentlab

from .test_explorer_browser import drag_map, in_plane, open_page, settle, shot  # noqa: F401  (shared helpers)

pytestmark = pytest.mark.slow  # a real browser


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    import torch

    texts, y = latentlab.load_text_corpus()
    texts = [t for t in texts if len(t) <= 60][:150]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        vae = latentlab.TextVAE(latent_dim=3, hidden=(32,), embed_dim=16, vocab_size=280, max_tokens=40)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a two-epoch model may warn of collapse
            vae.fit(texts, epochs=2, batch_size=32, verbose=False, seed=0)
    finally:
        torch.set_num_threads(threads)
    root = tmp_path_factory.mktemp("text-explorer")
    vae.attach_view(texts, None).save(root / "text")
    return root / "text", latentlab.load(root / "text"), texts


@pytest.fixture(scope="module")
def text_page(text_run, serve_in_thread, browser):
    from latentlab.web.app import create_app
    from latentlab.web.runs import load_runs

    path, _, _ = text_run
    app = create_app(load_runs([f"text={path}"]))
    with serve_in_thread(app) as base:
        page = open_page(browser, base + "/")
        yield page
        page.close()


def test_click_decodes_a_sentence_and_drag_interpolates(text_page, text_run):
    _, model, texts = text_run
    page = text_page
    settle(page)
    assert page.locator("#map circle.pt").count() == len(texts)
    assert page.is_hidden("#decoded") and page.is_visible("#decoded-text")
    if page.locator("#dims-text").count():  # the slider panel decodes its code to a sentence too
        z = np.array(json.loads(page.get_attribute("#dims-text", "data-z")), dtype=np.float32)
        assert page.text_content("#dims-text") == model.decode(z[None])[0]
    box = page.locator("#map").bounding_box()
    seen = []
    for fx, fy in ((0.3, 0.3), (0.7, 0.75)):
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        settle(page)
        z = np.array(json.loads(page.get_attribute("#decoded-text", "data-z")), dtype=np.float32)
        shown = page.text_content("#decoded-text")
        assert shown == model.decode(z[None])[0]
        seen.append(z)
    assert not np.allclose(seen[0], seen[1])
    drag_map(page, (0.2, 0.8), (0.5, 0.5), (0.8, 0.2))
    items = page.locator("#strip-text li")
    assert items.count() == 8
    path = np.array(json.loads(page.get_attribute("#strip-text", "data-z")), dtype=np.float32)
    ends = in_plane(page, path[[0, -1]])  # the map of a 3-D model is the PCA plane of its codes
    assert ends[0, 0] < ends[1, 0] and ends[0, 1] < ends[1, 1]
    assert [items.nth(i).text_content() for i in range(8)] == model.decode(path)
    page.click("#sample-btn")
    settle(page)
    samples = page.locator("#samples-text li")
    assert [samples.nth(i).text_content() for i in range(samples.count())] == model.sample(16, seed=0)
    shot(page, "#panel-map", "panel-map-text")


def test_text_endpoints_refuse_image_models_and_the_reverse(text_run, serve_in_thread):
    import httpx

    from latentlab.web.app import create_app
    from latentlab.web.runs import load_runs

    path, model, _ = text_run
    app = create_app(load_runs([f"text={path}"]))
    with serve_in_thread(app) as base:
        z = [[0.0] * model.config.latent_dim]
        r = httpx.post(base + "/api/text/decode", json={"model": "text", "z": z})
        assert r.status_code == 200 and r.json()["texts"] == model.decode(np.zeros((1, 3), np.float32))
        r = httpx.post(base + "/api/decode", json={"model": "text", "z": z})
        assert r.status_code == 400 and "/api/text/decode" in r.json()["detail"]
        r = httpx.post(base + "/api/text/decode", json={"model": "text", "z": [[0.0, 1.0]]})
        assert r.status_code == 400 and "3 coordinates" in r.json()["detail"]
        r = httpx.post(base + "/api/text/sample", json={"model": "text", "n": 3, "seed": 2})
        assert r.json()["texts"] == model.sample(3, seed=2)
