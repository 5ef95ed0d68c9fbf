"""Sparse autoencoder: KL and L1 penalties, the sparsity report, learning and files."""

from __future__ import annotations

import math

import pytest
import torch

import latentlab
from latentlab.errors import ConfigError
from latentlab.models.penalties import kl_sparsity, l1_activity

FIT = dict(epochs=40, batch_size=64, verbose=False, seed=0, patience=None)


VARIANTS = {
    "kl": dict(sparsity="kl", code_activation="sigmoid", sparsity_weight=0.02, rho=0.1),
    "l1": dict(sparsity="l1", code_activation="relu", sparsity_weight=0.0075),
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def pair(request, digits):
    """The same AE without (weight 0) and with the penalty."""
    Xtr, opts = digits[0], VARIANTS[request.param]
    plain = latentlab.SparseAutoencoder(latent_dim=32, hidden=(64,), **{**opts, "sparsity_weight": 0.0})
    sparse = latentlab.SparseAutoencoder(latent_dim=32, hidden=(64,), **opts)
    return plain.fit(Xtr, **FIT), sparse.fit(Xtr, **FIT)


def test_kl_sparsity_known_value():
    acts = torch.tensor([[0.2, 0.9], [0.4, 0.5]])  # unit means 0.3 and 0.7
    rho = 0.1
    expected = sum(rho * math.log(rho / q) + (1 - rho) * math.log((1 - rho) / (1 - q)) for q in (0.3, 0.7))
    assert float(kl_sparsity(acts, rho)) == pytest.approx(expected, rel=1e-5)
    assert float(kl_sparsity(torch.full((3, 4), 0.25), 0.25)) == pytest.approx(0.0, abs=1e-6)


def test_l1_activity_known_value():
    assert float(l1_activity(torch.tensor([[0.5, -1.5, 0.0], [2.0, 0.0, 0.0]]))) == pytest.approx(2.0)


def test_loss_adds_the_weighted_penalty(digits):
    ae = latentlab.SparseAutoencoder(input_shape=(64,), latent_dim=8, hidden=(16,), sparsity_weight=0.7, rho=0.2)
    ae.eval()
    from latentlab.training.trainer import Batch

    x = torch.from_numpy(digits[0][:32])
    with torch.no_grad():
        out = ae.loss(Batch(x))
        code = ae.posterior(x).mean
    assert float(out.parts["sparsity"]) == pytest.approx(float(kl_sparsity(code, 0.2)), rel=1e-5)
    assert float(out.total) == pytest.approx(float(out.parts["reconstruction"] + 0.7 * out.parts["sparsity"]), rel=1e-5)


@pytest.mark.slow
def test_sparse_learns_and_beats_the_mean(pair, digits):
    Xtr, Xte = digits[0], digits[1]
    _, sparse = pair
    assert sparse.history[-1]["val_loss"] < sparse.history[0]["val_loss"]
    baseline = float(((Xtr.mean(0) - Xte) ** 2).mean())
    assert float(((sparse.reconstruct(Xte) - Xte) ** 2).mean()) < 0.5 * baseline


@pytest.mark.slow
def test_penalty_halves_activation_at_similar_error(pair, digits):
    Xte = digits[1]
    plain, sparse = pair
    s_plain, s_sparse = plain.code_stats(Xte), sparse.code_stats(Xte)
    assert s_sparse["mean_activation"] <= 0.5 * s_plain["mean_activation"]
    assert s_sparse["near_zero_fraction"] > s_plain["near_zero_fraction"]
    mse_plain = float(((plain.reconstruct(Xte) - Xte) ** 2).mean())
    mse_sparse = float(((sparse.reconstruct(Xte) - Xte) ** 2).mean())
    assert mse_sparse <= 1.15 * mse_plain


@pytest.mark.slow
def test_codes_follow_the_code_activation(pair, digits):
    codes = pair[1].encode(digits[1])
    if pair[1].config.code_activation == "relu":
        assert codes.min() == 0.0
    else:
        assert 0 < codes.min() and codes.max() < 1


@pytest.mark.slow
def test_save_load_identical(pair, digits, reloaded):
    _, sparse = pair
    assert type(reloaded(sparse, digits[1])) is latentlab.SparseAutoencoder


@pytest.mark.parametrize(
    "bad", [dict(sparsity="kl", code_activation="relu"), dict(rho=1.5), dict(sparsity="l2"), dict(sparsity_weight=-1)]
)
def test_bad_config_is_refused(bad):
    with pytest.raises(ConfigError):
        latentlab.SparseAutoencoder(**bad)
