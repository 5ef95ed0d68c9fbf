"""The explorer's panel of one slider per latent dimension, in real headless Chromium, against the Python API."""

from __future__ import annotations

import numpy as np
import pytest

import latentlab

from .test_explorer_browser import _need_browser, data, open_page, settle, shot  # noqa: F401

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
