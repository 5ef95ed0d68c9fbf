"""VQ-VAE: quantisation, commitment and codebook losses, straight-through gradient, restarts, prior."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.errors import ConfigError
from latentlab.models.vqvae import perplexity
from latentlab.training.trainer import Batch


def small(**kw):
    return latentlab.VQVAE(input_shape=(6,), latent_dim=4, code_dim=2, codebook_size=3, hidden=(8,), **kw)


def test_quantize_known_values():
    vq = small()
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0], [-2.0, 0.0]]))
    z_e = torch.tensor([[0.9, 1.2, -1.5, 0.1]], requires_grad=True)
    q = vq.quantize(z_e)
    assert q.indices.tolist() == [[1, 2]]
    torch.testing.assert_close(q.code, torch.tensor([[1.0, 1.0, -2.0, 0.0]]))
    # ||z_e - z_q||^2 = 0.01 + 0.04 + 0.25 + 0.01
    assert q.commitment_loss.item() == pytest.approx(0.31, rel=1e-5)
    assert q.codebook_loss.item() == pytest.approx(0.31, rel=1e-5)
    assert float(q.perplexity) == pytest.approx(2.0)
    # straight-through: the code's gradient reaches z_e unchanged
    q.code.sum().backward()
    torch.testing.assert_close(z_e.grad, torch.ones_like(z_e))


def test_commitment_trains_the_encoder_and_codebook_loss_the_codebook():
    vq = small()
    z_e = torch.tensor([[0.9, 1.2, -1.5, 0.1]], requires_grad=True)
    vq.quantize(z_e).commitment_loss.backward()
    assert z_e.grad is not None and vq.codebook.grad is None
    z_e.grad = None
    vq.quantize(z_e).codebook_loss.backward()
    assert z_e.grad is None and vq.codebook.grad.abs().sum() > 0


def test_loss_combines_the_terms():
    vq = small(commitment=0.4, restart_every=0)
    vq.eval()
    x = torch.rand(5, 6)
    with torch.no_grad():
        out = vq.loss(Batch(x))
        q = vq.quantize(vq.encoder(x))
        rec = vq.likelihood.nll(vq.decode_params(q.code), x).mean()
    want = rec + q.codebook_loss + 0.4 * q.commitment_loss
    assert float(out.total) == pytest.approx(float(want), rel=1e-5)


def test_perplexity():
    assert float(perplexity(torch.tensor([2, 2, 2]), 5)) == pytest.approx(1.0)
    assert float(perplexity(torch.arange(5), 5)) == pytest.approx(5.0)


def test_dead_codes_restart_on_encoder_outputs():
    vq = small()
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0.0], [50.0, 50.0], [60.0, 60.0]]))
    vq.usage.copy_(torch.tensor([5.0, 0.0, 0.0]))
    z_e = torch.tensor([[0.1, 0.2, 0.3, 0.4]])
    assert vq.restart_dead_codes(z_e) == 2
    book = vq.codebook.detach()
    assert float(book[0].abs().sum()) == 0.0  # the used code stays
    assert float(book[1:].abs().max()) < 1.0  # dead ones moved next to the data
    assert float(vq.usage.sum()) == 0.0


@pytest.fixture(scope="module")
def vq(digits):
    return latentlab.VQVAE(latent_dim=8, code_dim=2, codebook_size=32, hidden=(64,)).fit(
        digits[0], epochs=30, verbose=False, seed=0, patience=None
    )


def test_learns_and_uses_the_codebook(vq, digits):
    Xtr, Xte = digits[0], digits[1]
    assert vq.history[-1]["val_loss"] < vq.history[0]["val_loss"]
    baseline = float(((Xtr.mean(0) - Xte) ** 2).mean())
    assert float(((vq.reconstruct(Xte) - Xte) ** 2).mean()) < 0.5 * baseline
    stats = vq.codebook_stats(Xte)
    assert stats["usage"] >= 0.75 and stats["perplexity"] > 12
    idx = vq.code_indices(Xte)
    assert idx.shape == (len(Xte), 4) and idx.min() >= 0 and idx.max() < 32


def test_codes_are_codebook_vectors(vq, digits):
    z = vq.encode(digits[1][:10]).reshape(-1, 2)
    book = vq.codebook.detach().numpy()
    assert np.min(np.abs(z[:, None, :] - book[None]).sum(-1), axis=1).max() < 1e-6


def test_prior_is_the_fitted_categorical(vq, digits):
    idx = vq.code_indices(digits[0])
    counts = np.bincount(idx[:, 0], minlength=32) / len(idx)
    np.testing.assert_allclose(vq.code_log_prior[0].exp().numpy(), counts, atol=1e-3)
    samples = vq.sample(6, seed=0)
    assert samples.shape == (6, 64) and np.isfinite(samples).all()


def test_save_load_identical(vq, digits, tmp_path):
    vq.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    np.testing.assert_array_equal(back.code_indices(digits[1]), vq.code_indices(digits[1]))
    np.testing.assert_array_equal(back.reconstruct(digits[1]), vq.reconstruct(digits[1]))
    np.testing.assert_array_equal(back.sample(4, seed=2), vq.sample(4, seed=2))


def test_latent_dim_must_split_into_codes():
    with pytest.raises(ConfigError, match="multiple of code_dim"):
        latentlab.VQVAE(latent_dim=5, code_dim=2)


def test_training_on_after_load_keeps_the_codebook(vq, digits, tmp_path):
    vq.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    before = back.codebook.detach().clone()
    back.train()
    back.loss(Batch(back._to_model_space(digits[0][:64])))  # one more training step
    assert bool(back.initialised) and torch.equal(back.codebook.detach(), before)
