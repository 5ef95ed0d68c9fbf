"""Contractive autoencoder: Jacobian norms against autograd, learning and files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import latentlab
from latentlab.errors import ConfigError
from latentlab.models.penalties import jacobian_frobenius_exact, jacobian_frobenius_mlp
from latentlab.training.trainer import Batch


def autograd_norms(f, x):
    """||J||_F^2 per sample from torch.autograd.functional.jacobian, one sample at a time."""
    return torch.stack([torch.autograd.functional.jacobian(lambda v: f(v[None])[0], xi).pow(2).sum() for xi in x])


@pytest.mark.parametrize("act", [nn.Sigmoid, nn.Tanh, nn.ReLU, nn.ELU, nn.GELU])
def test_mlp_closed_form_matches_autograd(act):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 10), act(), nn.Linear(10, 7), act(), nn.Linear(7, 3))
    x = torch.randn(5, 6)
    want = autograd_norms(net, x)
    torch.testing.assert_close(jacobian_frobenius_mlp(net, x), want, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(jacobian_frobenius_exact(net, x), want, rtol=1e-4, atol=1e-5)


def test_rifai_single_layer_formula():
    torch.manual_seed(1)
    lin = nn.Linear(4, 3)
    x = torch.randn(2, 4)
    h = torch.sigmoid(lin(x))  # (B, 3)
    rifai = ((h * (1 - h)) ** 2 * lin.weight.pow(2).sum(1)).sum(1)
    torch.testing.assert_close(jacobian_frobenius_mlp(nn.Sequential(lin, nn.Sigmoid()), x), rifai)


def test_model_jacobian_both_methods_agree_with_autograd():
    torch.manual_seed(0)
    cae = latentlab.ContractiveAutoencoder(input_shape=(12,), latent_dim=3, hidden=(8,), activation="tanh")
    x = torch.rand(4, 12)
    want = autograd_norms(cae.encoder, x)
    torch.testing.assert_close(cae.jacobian_sq_norm(x), want, rtol=1e-4, atol=1e-6)
    exact = latentlab.ContractiveAutoencoder(cae.config.replace(jacobian="exact"))
    exact.load_state_dict(cae.state_dict())
    torch.testing.assert_close(exact.jacobian_sq_norm(x), want, rtol=1e-4, atol=1e-6)


def test_conv_encoder_uses_the_exact_jacobian():
    torch.manual_seed(0)
    cae = latentlab.ContractiveAutoencoder(input_shape=(1, 6, 6), latent_dim=2, hidden=(4,), architecture="conv")
    x = torch.rand(3, 1, 6, 6)
    torch.testing.assert_close(cae.jacobian_sq_norm(x), autograd_norms(cae.encoder, x), rtol=1e-4, atol=1e-6)
    out = cae.loss(Batch(x))
    assert out.parts["jacobian"].item() > 0


def test_loss_adds_the_weighted_jacobian():
    torch.manual_seed(0)
    cae = latentlab.ContractiveAutoencoder(input_shape=(10,), latent_dim=2, hidden=(8,), contractive_weight=0.3)
    x = torch.rand(6, 10)
    out = cae.loss(Batch(x))
    jac, rec, total = (out.parts["jacobian"].item(), out.parts["reconstruction"].item(), out.total.item())
    assert jac == pytest.approx(autograd_norms(cae.encoder, x).mean().item(), rel=1e-4)
    assert total == pytest.approx(rec + 0.3 * jac, rel=1e-5)


@pytest.fixture(scope="module")
def fitted(digits):
    plain = latentlab.ContractiveAutoencoder(latent_dim=8, hidden=(64,), contractive_weight=0.0)
    plain.fit(digits[0], epochs=15, verbose=False, seed=0, patience=None)
    cae = latentlab.ContractiveAutoencoder(latent_dim=8, hidden=(64,), contractive_weight=0.1)
    cae.fit(digits[0], epochs=15, verbose=False, seed=0, patience=None)
    return plain, cae


@pytest.mark.slow
def test_learns_and_contracts(fitted, digits):
    Xtr, Xte = digits[0], digits[1]
    plain, cae = fitted
    assert cae.history[-1]["val_loss"] < cae.history[0]["val_loss"]
    baseline = float(((Xtr.mean(0) - Xte) ** 2).mean())
    assert float(((cae.reconstruct(Xte) - Xte) ** 2).mean()) < 0.5 * baseline
    assert cae.jacobian_norm(Xte).mean() < 0.7 * plain.jacobian_norm(Xte).mean()


@pytest.mark.slow
def test_save_load_identical(fitted, digits, tmp_path):
    cae = fitted[1]
    cae.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    np.testing.assert_array_equal(back.reconstruct(digits[1]), cae.reconstruct(digits[1]))
    np.testing.assert_allclose(back.jacobian_norm(digits[1][:20]), cae.jacobian_norm(digits[1][:20]), rtol=1e-6)


def test_mlp_jacobian_needs_mlp():
    with pytest.raises(ConfigError, match="jacobian='mlp'"):
        latentlab.ContractiveAutoencoder(architecture="conv", jacobian="mlp")
