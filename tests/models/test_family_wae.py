"""WAE-MMD: the MMD estimate against hand-computed kernels, learning, sampling and files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.errors import ConfigError
from latentlab.models.penalties import imq_kernel, mmd, rbf_kernel
from latentlab.training.trainer import Batch

X = torch.tensor([[0.0], [1.0]])
Y = torch.tensor([[0.0], [2.0]])


def hand_mmd(k):
    """Unbiased MMD^2 written out for two samples of two points."""
    xx = (k(0.0, 1.0) + k(1.0, 0.0)) / 2
    yy = (k(0.0, 2.0) + k(2.0, 0.0)) / 2
    xy = (k(0.0, 0.0) + k(0.0, 2.0) + k(1.0, 0.0) + k(1.0, 2.0)) / 4
    return xx + yy - 2 * xy


def test_mmd_imq_by_hand():
    c = 2.0
    assert float(mmd(X, Y, "imq", c)) == pytest.approx(hand_mmd(lambda a, b: c / (c + (a - b) ** 2)), rel=1e-6)


def test_mmd_rbf_by_hand():
    c = 1.5
    assert float(mmd(X, Y, "rbf", c)) == pytest.approx(hand_mmd(lambda a, b: np.exp(-((a - b) ** 2) / c)), rel=1e-6)


def test_kernels_and_default_scale():
    torch.testing.assert_close(imq_kernel(X, Y, 2.0), torch.tensor([[1.0, 2 / 6], [2 / 3, 2 / 3]]))
    torch.testing.assert_close(rbf_kernel(X, Y, 1.0), torch.exp(-torch.tensor([[0.0, 4.0], [1.0, 1.0]])))
    a, b = torch.randn(7, 3), torch.randn(9, 3)
    assert float(mmd(a, b)) == pytest.approx(float(mmd(a, b, "imq", 6.0)))  # C = 2 d


def test_mmd_separates_shifted_samples():
    g = torch.Generator().manual_seed(0)
    a, b, c = (torch.randn(300, 2, generator=g) for _ in range(3))
    assert abs(float(mmd(a, b))) < 0.01 < float(mmd(a, c + 1.5))


def test_loss_adds_weighted_mmd():
    wae = latentlab.WAE(input_shape=(6,), latent_dim=2, hidden=(8,), mmd_weight=3.0, kernel="rbf")
    x = torch.rand(32, 6)
    with torch.no_grad():
        torch.manual_seed(0)
        out = wae.loss(Batch(x))
        torch.manual_seed(0)
        code = wae.posterior(x).mean
        want = mmd(code, torch.randn_like(code), "rbf", 4.0)
    assert float(out.parts["mmd"]) == pytest.approx(float(want), rel=1e-5)
    assert float(out.total) == pytest.approx(float(out.parts["reconstruction"] + 3.0 * want), rel=1e-5)


@pytest.fixture(scope="module", params=["imq", "rbf"])
def wae(request, digits):
    return latentlab.WAE(latent_dim=8, hidden=(64,), kernel=request.param).fit(
        digits[0], epochs=25, verbose=False, seed=0, patience=None
    )


@pytest.mark.slow
def test_learns_and_matches_the_prior(wae, digits):
    Xtr, Xte = digits[0], digits[1]
    assert wae.history[-1]["val_loss"] < wae.history[0]["val_loss"]
    baseline = float(((Xtr.mean(0) - Xte) ** 2).mean())
    assert float(((wae.reconstruct(Xte) - Xte) ** 2).mean()) < 0.5 * baseline
    z = wae.encode(Xtr)
    assert np.abs(z.mean(0)).max() < 0.3 and 0.4 < z.std(0).mean() < 1.6  # codes look like N(0, I)


@pytest.mark.slow
def test_save_load_identical(wae, digits, tmp_path):
    wae.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    assert back.config.kernel == wae.config.kernel
    np.testing.assert_array_equal(back.encode(digits[1]), wae.encode(digits[1]))
    np.testing.assert_array_equal(back.sample(5, seed=3), wae.sample(5, seed=3))


def test_unknown_kernel():
    with pytest.raises(ConfigError, match="kernel"):
        latentlab.WAE(kernel="laplace")
