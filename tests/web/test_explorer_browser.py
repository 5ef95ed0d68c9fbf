"""The explorer end to end in real headless Chromium (Playwright driving Debian's chromium).

One session trains two tiny 2-D digits models (an AE and a VAE), serves them
with the real uvicorn server on a free loopback port, and checks what the page
shows against the Python API. Screenshots of each panel go to test-artifacts/;
with LATENTLAB_UPDATE_DOCS_IMG=1 they are also copied to docs/img/ for the README.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import latentlab

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ATOL = 1e-4
FAST = dict(verbose=False, seed=0)
pytestmark = [
    pytest.mark.slow,  # a real browser
    pytest.mark.filterwarnings("ignore:X has .* outside the training range"),  # toggled corner pixels
]


def _need_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package"
    else:
        missing = None if CHROMIUM else "a chromium binary"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need {missing}, and CI must run them")
        pytest.skip(f"browser tests need {missing}")


@pytest.fixture(scope="session")
def runs(tmp_path_factory, digits, digits_view):
    import torch

    X_train, _, _, _ = digits
    root = tmp_path_factory.mktemp("explorer")
    models = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny nets: a second thread only spins when the machine is busy
    try:
        for name, cls in (("ae", latentlab.Autoencoder), ("vae", latentlab.VAE)):
            m = cls(latent_dim=2, hidden=(32, 16)).fit(X_train, epochs=30, batch_size=128, patience=None, **FAST)
            digits_view(m).save(root / name)
            models[name] = latentlab.load(root / name)
    finally:
        torch.set_num_threads(threads)
    return root, models


@pytest.fixture(scope="session")
def server(runs, serve_in_thread):
    _need_browser()
    from latentlab.web.app import create_app
    from latentlab.web.runs import load_runs

    root, _ = runs
    app = create_app(load_runs([f"ae={root / 'ae'}", f"vae={root / 'vae'}"]))
    with serve_in_thread(app) as base:
        yield base + "/"


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1480, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=20000)
    page.errors = errors
    return page


def settle(page):
    page.wait_for_function("document.body.dataset.busy === '0'", timeout=10000)
    assert page.text_content("#status") == "", page.text_content("#status")
    assert not page.errors, page.errors


def data(page, selector, attr="values"):
    return np.array(json.loads(page.get_attribute(selector, f"data-{attr}")), dtype=np.float64)


def shot(page, panel, name):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.locator(panel).screenshot(path=str(path))
    if os.environ.get("LATENTLAB_UPDATE_DOCS_IMG") == "1":
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, ROOT / "docs" / "img" / path.name)


def click_map(page, fx, fy):
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    settle(page)
    return data(page, "#decoded", "z"), data(page, "#decoded")


def drag_map(page, *points):
    """Press at the first ``(fx, fy)`` point of the map, move through the others, release, and wait for the page."""
    box = page.locator("#map").bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()
    settle(page)


def in_plane(page, Z):
    """Where the codes ``Z`` ``(n, L)`` sit on the page's map: the first two coordinates, or their place in the
    PCA plane the page draws a model of more than two dimensions in."""
    Z = np.atleast_2d(np.asarray(Z, dtype=np.float64))
    plane = page.evaluate("state.info.plane")
    if plane is None:
        return Z[:, :2]
    return (Z - np.asarray(plane["mean"])) @ np.asarray(plane["components"]).T


def check_grid(page, model):
    """The code, reconstruction and error the page shows equal the Python API's for the page's grid."""
    x = data(page, "#grid")[None].astype(np.float32)
    np.testing.assert_allclose(data(page, "#code", "z"), model.encode(x)[0], atol=ATOL)
    rec = model.reconstruct(x)
    np.testing.assert_allclose(data(page, "#recon"), rec[0], atol=ATOL)
    assert float(page.get_attribute("#error", "data-error")) == pytest.approx(float(np.mean((rec - x) ** 2)), abs=ATOL)
    return x[0]


def test_grid_encodes_like_the_python_api(server, browser, runs, digits):
    _, models = runs
    page = open_page(browser, server)
    settle(page)
    codes = []
    for cell in (19, 27, 35, 43):
        page.click(f"#grid .cell >> nth={cell}")
        settle(page)
        x = check_grid(page, models["ae"])
        assert x[cell] == 1.0
        codes.append(data(page, "#code", "z"))
    assert not np.allclose(codes[0], codes[-1]), "toggling cells must move the code"
    page.fill("#digit-index", "5")
    page.click("#preset-digit")
    settle(page)
    np.testing.assert_allclose(check_grid(page, models["ae"]), digits[1][5], atol=1e-6)
    page.click("#preset-invert")
    settle(page)
    np.testing.assert_allclose(check_grid(page, models["ae"]), 1 - digits[1][5], atol=1e-6)
    marker = data(page, "#grid-marker", "z")
    np.testing.assert_allclose(marker, data(page, "#code", "z"), atol=1e-9)
    page.click("#preset-digit")
    settle(page)
    shot(page, "#panel-grid", "panel-grid")
    page.click("#preset-clear")
    settle(page)
    assert check_grid(page, models["ae"]).sum() == 0
    page.close()


def test_map_click_drag_and_model_switch(server, browser, runs):
    _, models = runs
    page = open_page(browser, server)
    settle(page)
    assert page.locator("#map circle.pt").count() == 1347
    assert page.locator("#legend > span").count() == 10
    assert page.is_hidden("#map-caption")  # a 2-D model's map is its two coordinates: nothing to explain
    z1, img1 = click_map(page, 0.3, 0.3)
    z2, img2 = click_map(page, 0.7, 0.8)
    assert not np.allclose(z1, z2)
    assert np.abs(img1 - img2).max() > 1e-3, "two different points must decode to different images"
    for z, img in ((z1, img1), (z2, img2)):
        np.testing.assert_allclose(img, models["ae"].decode(z[None].astype(np.float32))[0], atol=ATOL)
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.5 * box["height"])
    assert page.text_content("#hover").startswith("(")
    drag_map(page, (0.25, 0.5), (0.5, 0.4), (0.75, 0.3))
    tiles = page.locator("#strip canvas")
    assert tiles.count() == 8
    path = np.array(json.loads(page.get_attribute("#strip", "data-z")), dtype=np.float32)
    assert path[0, 0] < path[-1, 0] and path[0, 1] < path[-1, 1]  # from lower left to upper right
    strip = np.stack([data(page, f"#strip canvas >> nth={i}") for i in range(8)])
    np.testing.assert_allclose(strip, models["ae"].decode(path), atol=ATOL)
    page.click("#plane-btn")
    settle(page)
    assert len(json.loads(page.get_attribute("#plane", "data-z"))) == 100
    shot(page, "#panel-map", "panel-map")

    page.select_option("#model-select", "vae")
    page.wait_for_function("document.body.dataset.model === 'vae'")
    settle(page)
    assert "vae" in page.text_content("#model-info")
    check_grid(page, models["vae"])
    z, img = click_map(page, 0.5, 0.5)
    np.testing.assert_allclose(img, models["vae"].decode(z[None].astype(np.float32))[0], atol=ATOL)
    assert np.abs(img - models["ae"].decode(z[None].astype(np.float32))[0]).max() > 1e-3
    page.click("#sample-btn")
    settle(page)
    samples = np.stack([data(page, f"#samples canvas >> nth={i}") for i in range(16)])
    np.testing.assert_allclose(samples, models["vae"].sample(16, seed=0), atol=ATOL)
    page.click("#plane-btn")
    settle(page)
    shot(page, "#panel-gen", "panel-gen")
    page.screenshot(path=str(ARTIFACTS / "explorer.png"))
    page.close()


def test_static_export_runs_from_file_url(runs, browser, tmp_path):
    from latentlab.web.export import export_explorer

    root, models = runs
    html = export_explorer([f"ae={root / 'ae'}", f"vae={root / 'vae'}"], tmp_path / "site")
    text = html.read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    page = open_page(browser, html.as_uri())
    settle(page)
    z, img = click_map(page, 0.4, 0.6)
    np.testing.assert_allclose(img, models["ae"].decode(z[None].astype(np.float32))[0], atol=ATOL)
    page.click("#grid .cell >> nth=28")
    settle(page)
    check_grid(page, models["ae"])
    page.select_option("#model-select", "vae")
    page.wait_for_function("document.body.dataset.model === 'vae'")
    settle(page)
    z, img = click_map(page, 0.6, 0.4)
    np.testing.assert_allclose(img, models["vae"].decode(z[None].astype(np.float32))[0], atol=ATOL)
    shot(page, "main", "static-export")
    page.close()


def test_map_colours_points_by_cluster_on_request(server, browser, runs):
    from latentlab.web.runs import make_entry

    _, models = runs
    entry = make_entry("ae", models["ae"])
    assert len(entry.clusters) == len(entry.points) and len(np.unique(entry.clusters)) == 10
    page = open_page(browser, server)
    settle(page)
    fills = lambda: page.eval_on_selector_all("#map circle.pt", "els => els.map(e => e.getAttribute('fill'))")  # noqa: E731
    by_label = fills()
    page.select_option("#colour-by", "clusters")
    settle(page)
    assert page.get_attribute("#points", "data-colour-by") == "clusters"
    by_cluster = fills()
    assert len(by_cluster) == len(entry.points) and by_cluster != by_label
    # points of one cluster share one colour, and the legend lists the clusters
    for c in range(10):
        assert len({by_cluster[i] for i in np.flatnonzero(entry.clusters == c)}) == 1
    assert page.locator("#legend > span").count() == 10
    assert page.text_content("#legend").startswith("c0")
    page.close()
