"""Codes of more than two dimensions are drawn in a projection: PCA by default, UMAP only where installed
(issue 37: the latent scatter and the decoded grid showed only the first two dimensions)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from sklearn.decomposition import PCA

import latentlab
from latentlab.apps import plots
from latentlab.apps.figures import write_figures
from latentlab.apps.projection import fit_projection, plane_codes
from latentlab.errors import ConfigError


@pytest.fixture(scope="module")
def codes():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(300, 4)) @ np.diag([0.2, 3.0, 0.5, 1.5]) + [1.0, -2.0, 0.0, 4.0]  # widest along z2, z4
    return Z.astype(np.float32), rng.integers(0, 3, 300)


@pytest.fixture(scope="module")
def ae4(digits):
    return latentlab.Autoencoder(latent_dim=4, hidden=(32,)).fit(digits[0], epochs=2, verbose=False, seed=0)


def _offsets(fig):
    return [np.asarray(c.get_offsets()) for c in fig.axes[0].collections]


def test_scatter_of_four_dimensions_draws_the_pca_coordinates(codes):
    Z, y = codes
    expected = PCA(n_components=2).fit(Z.astype(np.float64)).transform(Z.astype(np.float64))
    fig = plots.latent_scatter(Z, y, title="t")
    for k, drawn in zip(np.unique(y), _offsets(fig)):  # one collection a label, in label order
        np.testing.assert_allclose(drawn, expected[y == k], rtol=1e-6, atol=1e-6)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("PC1 (") and ax.get_ylabel().startswith("PC2 (")
    assert "PCA of 4 dimensions" in ax.get_title() and "first 2" not in ax.get_title()
    plots.plt.close(fig)
    fig = plots.latent_scatter(Z, None, projection="none")  # the first two coordinates, as asked
    np.testing.assert_allclose(_offsets(fig)[0], Z[:, :2])
    assert "first 2 of 4 dimensions" in fig.axes[0].get_title() and fig.axes[0].get_xlabel() == "z1"
    plots.plt.close(fig)


def test_two_dimensional_codes_are_drawn_as_they_are(codes):
    Z = codes[0][:, :2]
    fig = plots.latent_scatter(Z)
    np.testing.assert_allclose(_offsets(fig)[0], Z)
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("z1", "z2")
    plots.plt.close(fig)


def test_the_pca_plane_maps_back_to_codes(codes):
    Z = codes[0]
    proj = fit_projection(Z)
    pca = PCA(n_components=2).fit(Z.astype(np.float64))
    np.testing.assert_allclose(proj.components, pca.components_)
    P = np.array([[0.0, 0.0], [1.0, -2.0]])
    np.testing.assert_allclose(proj.codes(P), pca.mean_ + P @ pca.components_, rtol=1e-6)
    np.testing.assert_allclose(proj.transform(proj.codes(P)), P, atol=1e-5)  # a point of the plane stays put
    grid = plane_codes(proj, 3, (-1.0, 1.0))
    np.testing.assert_allclose(proj.transform(grid)[[0, 2, 6, 8]], [[-1, 1], [1, 1], [-1, -1], [1, -1]], atol=1e-5)


def test_umap_only_where_installed(codes, monkeypatch):
    Z = codes[0]
    monkeypatch.setitem(sys.modules, "umap", None)  # as if it were not installed: import fails
    with pytest.raises(ConfigError, match="umap-learn"):
        fit_projection(Z, "umap")
    fig = plots.latent_scatter(Z)  # the default never needs it
    plots.plt.close(fig)

    class FakeUMAP:  # stands in for umap.UMAP: a fixed linear map, so the drawn points are known
        def __init__(self, n_components, random_state):
            assert n_components == 2

        def fit(self, X):
            return self

        def transform(self, X):
            return X[:, [3, 0]] * 10

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    fig = plots.latent_scatter(Z, projection="umap")
    np.testing.assert_allclose(_offsets(fig)[0], Z[:, [3, 0]] * 10, rtol=1e-6)
    assert fig.axes[0].get_xlabel() == "UMAP 1" and "UMAP of 4 dimensions" in fig.axes[0].get_title()
    plots.plt.close(fig)
    with pytest.raises(ConfigError, match="no inverse"):
        fit_projection(Z, "umap").codes(np.zeros((1, 2)))
    with pytest.raises(ConfigError, match="'tsne' is not one of"):
        fit_projection(Z, "tsne")


@pytest.mark.slow
def test_grid_of_a_four_dimensional_model_is_decoded_over_the_pca_plane(ae4, digits):
    Z = ae4.encode(digits[1])
    n = 5
    fig = plots.latent_grid(ae4, n=n, Z=Z)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("PC1", "PC2")
    assert "PCA plane" in ax.get_title() and "mean + PC1" in ax.get_title()
    pca = PCA(n_components=2).fit(Z.astype(np.float64))
    lo, hi = np.percentile(pca.transform(Z.astype(np.float64)), [2, 98])
    lin = np.linspace(lo, hi, n)
    p1, p2 = np.meshgrid(lin, lin[::-1])
    expected = ae4.decode((pca.mean_ + np.stack([p1.ravel(), p2.ravel()], 1) @ pca.components_).astype(np.float32))
    mosaic = np.asarray(ax.images[0].get_array())
    for i, img in enumerate(expected):  # tile (r, c) of the mosaic, 8x8 with 1-pixel gaps
        r, c = divmod(i, n)
        np.testing.assert_allclose(mosaic[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8], img.reshape(8, 8), atol=1e-5)
    x0, x1 = ax.get_xlim()
    assert x0 < lo and x1 > hi
    plots.plt.close(fig)
    fig = plots.latent_grid(ae4, n=3, Z=Z, projection="none")  # the old view: z1, z2, the rest 0
    assert fig.axes[0].get_xlabel() == "z1" and "z3..z4 = 0" in fig.axes[0].get_title()
    plots.plt.close(fig)


@pytest.mark.slow
def test_written_figures_of_a_four_dimensional_model_are_projected(ae4, digits, tmp_path):
    paths = write_figures(ae4, digits[1][:120], digits[3][:120], tmp_path)
    assert paths["latent_scatter"].is_file() and paths["latent_grid"].is_file()
