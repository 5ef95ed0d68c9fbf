"""The explorer's panel of one slider per latent dimension, in real headless Chromium, against the Python API."""

from __future__ import annotations

import json

import numpy as np
import pytest

import latentlab

from .test_explorer_browser import (  # noqa: F401
    _need_browser,
    click_map,
    data,
    drag_map,
    in_plane,
    open_page,
    settle,
    shot,
)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:X has .* outside the training range")]  # a real browser
ATOL = 1e-4


@pytest.fixture(scope="module")
def vae3(tmp_path_factory, digits, digits_view):
    root = tmp_path_factory.mktemp("sliders")
    m = latentlab.VAE(latent_dim=3, hidden=(32,)).fit(digits[0], epochs=5, patience=None, verbose=False, seed=0)
    digits_view(m).save(root / "vae3")
    return root / "vae3", latentlab.load(root / "vae3")


@pytest.fixture(scope="module")
def page(vae3, serve_in_thread, browser):
    from latentlab.web.app import create_app
    from latentlab.web.runs import load_runs

    with serve_in_thread(create_app(load_runs([f"vae3={vae3[0]}"]))) as base:
        pg = open_page(browser, base + "/")
        settle(pg)
        yield pg
        pg.close()


def test_one_slider_per_dimension_decodes_like_the_api(page, vae3):
    _, model = vae3
    assert page.locator("#dim-sliders input[type=range]").count() == 3
    z0 = data(page, "#dims-z", "z")
    assert len(z0) == 3
    page.locator("#dim-1").fill("1.5")  # sweep the second dimension only
    settle(page)
    z = data(page, "#dims-decoded", "z")
    np.testing.assert_allclose(z, [z0[0], 1.5, z0[2]], atol=1e-6)
    np.testing.assert_allclose(data(page, "#dims-decoded"), model.decode(z[None].astype(np.float32))[0], atol=ATOL)
    assert "z2 =  1.500" in page.text_content("#dim-sliders")
    shot(page, "#panel-dims", "explorer-dimension-sliders")


def test_sliders_start_from_the_drawn_input(page, vae3):
    _, model = vae3
    page.fill("#digit-index", "3")
    page.click("#preset-digit")
    settle(page)
    page.click("#dims-from-input")
    settle(page)
    x = data(page, "#grid")[None].astype(np.float32)
    np.testing.assert_allclose(data(page, "#dims-z", "z"), model.encode(x)[0], atol=ATOL)
    np.testing.assert_allclose(data(page, "#dims-decoded"), model.reconstruct(x)[0], atol=ATOL)
    page.click("#dims-reset")
    settle(page)
    assert float(page.locator("#dim-0").input_value()) == pytest.approx(data(page, "#dims-z", "z")[0], abs=0.05)


def test_static_export_carries_the_slider_panel(vae3):
    from latentlab.web.export import export_page

    html = export_page({"vae3": vae3[1]})
    assert 'id="panel-dims"' in html and "dimsBuild" in html and 'src="static/' not in html


def test_the_map_of_three_dimensions_is_their_pca_plane(page, vae3):
    """The caption says what the plane is; a click decodes the plane point's code, a drag a path in the plane."""
    from latentlab.web.runs import make_entry

    _, model = vae3
    projection = make_entry("vae3", model).projection
    caption = page.text_content("#map-caption")
    assert page.is_visible("#map-caption") and projection.describe(3) in caption
    assert caption.startswith("Map: PCA of 3 dimensions, ") and "PC1 (" in caption
    assert page.locator("#sliders input").count() == 0  # every coordinate comes from the plane
    z, img = click_map(page, 0.35, 0.6)
    p = in_plane(page, z)
    np.testing.assert_allclose(z, projection.codes(p)[0], atol=1e-5)  # the code is that of a point of the plane
    np.testing.assert_allclose(img, model.decode(projection.codes(p))[0], atol=ATOL)
    np.testing.assert_allclose(p[0], json.loads(page.get_attribute("#hover", "data-z")), atol=1e-3)
    drag_map(page, (0.2, 0.8), (0.8, 0.2))
    path = np.array(json.loads(page.get_attribute("#strip", "data-z")), dtype=np.float32)
    ends = in_plane(page, path[[0, -1]])
    assert ends[0, 0] < ends[1, 0] and ends[0, 1] < ends[1, 1]  # lower left to upper right of the plane
    np.testing.assert_allclose(path, projection.codes(in_plane(page, path)), atol=1e-5)
    shot(page, "#panel-map", "panel-map-pca")


def test_the_offline_page_draws_the_same_plane(vae3, browser, tmp_path):
    from latentlab.web.export import export_page
    from latentlab.web.runs import make_entry

    _, model = vae3
    projection = make_entry("vae3", model).projection
    (tmp_path / "index.html").write_text(export_page({"vae3": model}), encoding="utf-8")
    pg = open_page(browser, (tmp_path / "index.html").as_uri())
    settle(pg)
    assert projection.describe(3) in pg.text_content("#map-caption")
    z, img = click_map(pg, 0.6, 0.3)  # the decoder runs in the page
    np.testing.assert_allclose(z, projection.codes(in_plane(pg, z))[0], atol=1e-5)
    np.testing.assert_allclose(img, model.decode(z[None].astype(np.float32))[0], atol=ATOL)
    pg.close()
