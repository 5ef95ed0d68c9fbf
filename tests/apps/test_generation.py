"""Generation: prior and conditional sampling, interpolation, latent arithmetic, latent grids; all seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.apps.generation import class_mean_codes, decode_grid, latent_arithmetic, latent_plane, sample_prior
from latentlab.cli import main


@pytest.fixture(scope="module")
def vae(digits):
    return latentlab.VAE(latent_dim=2, hidden=(64,)).fit(digits[0], epochs=5, verbose=False, seed=0)


def test_prior_sampling_is_reproducible(vae):
    a, b = sample_prior(vae, 8, seed=3), sample_prior(vae, 8, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, sample_prior(vae, 8, seed=4))
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    np.testing.assert_array_equal(sample_prior(vae, 4, generator=g1), sample_prior(vae, 4, generator=g2))
    assert a.shape == (8, 64)
    with pytest.raises(latentlab.ConfigError, match="conditional"):
        sample_prior(vae, 2, label=3)


def test_interpolation_ends_at_the_two_reconstructions(vae, digits):
    X = digits[1]
    for method in ("linear", "slerp"):
        path = vae.interpolate(X[0], X[1], steps=7, method=method)
        assert path.shape == (7, 64)
        np.testing.assert_allclose(path[0], vae.reconstruct(X[:1])[0], atol=1e-5)
        np.testing.assert_allclose(path[-1], vae.reconstruct(X[1:2])[0], atol=1e-5)


def test_latent_arithmetic_adds_the_class_difference(vae, digits):
    X, y = digits[0], digits[2]
    means = class_mean_codes(vae, X, y)
    np.testing.assert_allclose(means[3], vae.encode(X[y == 3]).mean(0), rtol=1e-5)
    out = latent_arithmetic(vae, X, y, a=1, b=7, base=X[:5], scale=0.5)
    expected = vae.decode(vae.encode(X[:5]) + 0.5 * (means[1] - means[7]))
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert latent_arithmetic(vae, X, y, a=1, b=7, base=X[0]).shape == (1, 64)
    with pytest.raises(latentlab.ConfigError, match="does not occur"):
        latent_arithmetic(vae, X, y, a=1, b=42, base=X[0])


def test_decoded_grid_follows_the_plane(vae):
    grid = decode_grid(vae, n=4, span=(-1.0, 1.0))
    codes = latent_plane(vae, 4, (-1.0, 1.0))
    assert grid.shape == (16, 64)
    np.testing.assert_allclose(grid, vae.decode(codes), atol=1e-6)
    assert codes[0].tolist() == [-1.0, 1.0] and codes[-1].tolist() == [1.0, -1.0]


@pytest.mark.slow
def test_cli_generate_and_interpolate(vae, digits, tmp_path):
    run = tmp_path / "run"
    vae.save(run)
    assert main(["generate", str(run), "-n", "6", "--seed", "2", "--out", str(tmp_path / "s.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), vae.sample(6, seed=2), atol=1e-6)
    assert main(["generate", str(run), "--grid", "3", "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    np.save(tmp_path / "x.npy", digits[1][:5])
    cmd = ["interpolate", str(run), str(tmp_path / "x.npy"), "--a", "0", "--b", "4", "--steps", "5"]
    assert main([*cmd, "--method", "slerp", "--out", str(tmp_path / "i.npy")]) == 0
    np.testing.assert_allclose(
        np.load(tmp_path / "i.npy"), vae.interpolate(digits[1][0], digits[1][4], 5, "slerp"), atol=1e-6
    )
    assert main(["interpolate", str(run), str(tmp_path / "x.npy"), "--b", "99"]) == 2


def test_conditional_sampling_follows_the_label(digits):
    Xtr, ytr = digits[0], digits[2]
    cvae = latentlab.create("cvae", latent_dim=2, hidden=(64,), n_classes=10).fit(Xtr, ytr, epochs=5, verbose=False)
    threes = sample_prior(cvae, 6, seed=1, label=3)
    np.testing.assert_array_equal(threes, sample_prior(cvae, 6, seed=1, label=3))
    np.testing.assert_allclose(threes, cvae.sample(6, y=3, seed=1), atol=1e-6)
    assert not np.allclose(threes, sample_prior(cvae, 6, seed=1, label=7))  # same codes, another class
