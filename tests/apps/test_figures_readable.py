"""The figures read without the code: titles, labelled rows, latent axes, colour bars, no duplicated panel."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import latentlab
from latentlab.apps import plots
from latentlab.apps.figures import write_figures


@pytest.fixture(scope="module")
def ae(digits):
    return latentlab.Autoencoder(latent_dim=2, hidden=(32,)).fit(digits[0], epochs=3, verbose=False, seed=0)


def _titles(fig):
    return [fig._suptitle.get_text() if fig._suptitle else ""] + [a.get_title() for a in fig.axes]


@pytest.mark.slow
def test_reconstructions_label_both_rows_on_one_scale_with_a_colour_bar(ae, digits):
    X = digits[1][:6]
    fig = plots.reconstructions(X, ae.reconstruct(X))
    labelled = [a.get_ylabel() for a in fig.axes if a.get_ylabel()]
    assert labelled[:2] == ["input", "reconstruction"]
    shown = [a for a in fig.axes if a.images]
    assert len(shown) == 12
    assert len({a.images[0].get_clim() for a in shown}) == 1  # one grey scale for inputs and reconstructions
    assert any(a.get_ylabel() == "pixel value" for a in fig.axes)  # the colour bar
    top = max(a.get_position().y0 for a in shown)
    bottom = min(a.get_position().y1 for a in shown)
    assert top > bottom  # the two rows do not touch
    assert "Reconstructions" in fig._suptitle.get_text()
    plots.plt.close(fig)


def test_latent_grid_has_axes_with_the_code_values(ae, digits):
    Z = ae.encode(digits[1])
    fig = plots.latent_grid(ae, n=7, Z=Z)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("z1", "z2")
    lo, hi = np.percentile(Z[:, :2], [2, 98])
    x0, x1 = ax.get_xlim()
    assert x0 < lo and x1 > hi  # ticks read as latent coordinates
    assert ax.get_title()
    h, w = ax.images[0].get_array().shape
    assert h == w  # square pixels: n square tiles on each side
    plots.plt.close(fig)


def test_ae_loss_curves_show_mse_once(ae):
    fig = plots.loss_curves(ae.history, ae)
    panels = [a for a in fig.axes if a.lines]
    assert len(panels) == 1  # loss == reconstruction for a plain AE: one panel, not two
    assert "MSE" in panels[0].get_ylabel()
    value = panels[0].lines[0].get_ydata()[-1]
    assert 0 < value < 1  # squared error per feature, not a ~59-nat NLL
    plots.plt.close(fig)


def test_vae_loss_curves_have_units(digits):
    vae = latentlab.VAE(latent_dim=2, hidden=(16,)).fit(digits[0][:300], epochs=2, verbose=False)
    fig = plots.loss_curves(vae.history, vae)
    labels = {a.get_title(): a.get_ylabel() for a in fig.axes if a.lines}
    assert set(labels) == {"loss", "reconstruction", "kl"}
    assert "nats" in labels["kl"] and "nats" in labels["reconstruction"]
    plots.plt.close(fig)


@pytest.mark.slow
def test_every_written_figure_has_a_title(ae, digits, tmp_path):
    paths = write_figures(ae, digits[1][:100], digits[3][:100], tmp_path)
    assert set(paths) == {"reconstructions", "latent_scatter", "latent_grid", "samples", "interpolation", "loss_curves"}
    for path in paths.values():
        with Image.open(path) as img:
            assert img.width > 200 and img.height > 100
    for fig in (plots.samples(ae.sample(4, seed=0)), plots.interpolation(ae.decode(np.zeros((3, 2), "float32")))):
        assert all(_titles(fig)[:1]) and _titles(fig)[0]
        plots.plt.close(fig)


@pytest.mark.slow
def test_sequences_are_drawn_as_lines(rng):
    X = rng.normal(size=(4, 10, 2)).astype(np.float32)
    fig = plots.reconstructions(X, X * 0.9)
    assert not any(a.images for a in fig.axes) and all(len(a.lines) == 4 for a in fig.axes if a.get_visible())
    plots.plt.close(fig)
