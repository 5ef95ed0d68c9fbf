"""VQ-VAE: quantisation, commitment and codebook losses, straight-through gradient, restarts, prior."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.data.tensors import Batch
from latentlab.errors import ConfigError
from latentlab.models.vqvae import perplexity


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
    vq.quantizer.usage.copy_(torch.tensor([5.0, 0.0, 0.0]))
    z_e = torch.tensor([[0.1, 0.2, 0.3, 0.4]])
    assert vq.quantizer.restart_dead_codes(z_e) == 2
    book = vq.codebook.detach()
    assert float(book[0].abs().sum()) == 0.0  # the used code stays
    assert float(book[1:].abs().max()) < 1.0  # dead ones moved next to the data
    assert float(vq.quantizer.usage.sum()) == 0.0


@pytest.fixture(scope="module")
def vq(digits):
    return latentlab.VQVAE(latent_dim=8, code_dim=2, codebook_size=32, hidden=(64,)).fit(
        digits[0], epochs=30, verbose=False, seed=0, patience=None
    )


@pytest.mark.slow
def test_learns_and_uses_the_codebook(vq, digits):
    Xtr, Xte = digits[0], digits[1]
    assert vq.history[-1]["val_loss"] < vq.history[0]["val_loss"]
    baseline = float(((Xtr.mean(0) - Xte) ** 2).mean())
    assert float(((vq.reconstruct(Xte) - Xte) ** 2).mean()) < 0.5 * baseline
    stats = vq.codebook_stats(Xte)
    assert stats["usage"] >= 0.75 and stats["perplexity"] > 12
    idx = vq.code_indices(Xte)
    assert idx.shape == (len(Xte), 4) and idx.min() >= 0 and idx.max() < 32


@pytest.mark.slow
def test_codes_are_codebook_vectors(vq, digits):
    z = vq.encode(digits[1][:10]).reshape(-1, 2)
    book = vq.codebook.detach().numpy()
    assert np.min(np.abs(z[:, None, :] - book[None]).sum(-1), axis=1).max() < 1e-6


@pytest.mark.slow
def test_prior_is_the_fitted_categorical(vq, digits):
    idx = vq.code_indices(digits[0])
    counts = np.bincount(idx[:, 0], minlength=32) / len(idx)
    np.testing.assert_allclose(vq.prior.log_prior[0].exp().numpy(), counts, atol=1e-3)
    samples = vq.sample(6, seed=0)
    assert samples.shape == (6, 64) and np.isfinite(samples).all()


@pytest.mark.slow
def test_save_load_identical(vq, digits, tmp_path):
    vq.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    np.testing.assert_array_equal(back.code_indices(digits[1]), vq.code_indices(digits[1]))
    np.testing.assert_array_equal(back.reconstruct(digits[1]), vq.reconstruct(digits[1]))
    np.testing.assert_array_equal(back.sample(4, seed=2), vq.sample(4, seed=2))


def test_latent_dim_must_split_into_codes():
    with pytest.raises(ConfigError, match="multiple of code_dim"):
        latentlab.VQVAE(latent_dim=5, code_dim=2)


@pytest.mark.slow
def test_training_on_after_load_keeps_the_codebook(vq, digits, tmp_path):
    vq.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    before = back.codebook.detach().clone()
    back.train()
    back.loss(Batch(back.to_model_space(digits[0][:64])))  # one more training step
    assert bool(back.quantizer.initialised) and torch.equal(back.codebook.detach(), before)


# ------------------------------------------------------------ autoregressive prior
def _independent_bits(vq, X):
    idx = torch.from_numpy(vq.code_indices(X))
    return (-vq.prior.log_prior.gather(1, idx.T).sum(0) / np.log(2)).numpy()


@pytest.mark.slow
def test_autoregressive_prior_beats_the_independent_one_on_held_out_codes(vq, digits):
    Xte = digits[1]
    ar, ind = vq.code_bits(Xte), _independent_bits(vq, Xte)
    assert ar.shape == (len(Xte),) and np.isfinite(ar).all()
    assert ar.mean() < ind.mean() - 0.5  # bits per sample on digits the prior never saw
    assert ind.mean() < 4 * np.log2(32)  # and both beat fixed-length codes
    assert vq.fit_report.statistics["held_out_bits"] <= vq.fit_report.statistics["held_out_bits_independent"]
    assert not any(p.requires_grad for p in vq.prior.parameters())  # never in the VQ-VAE's optimizer


def test_code_prior_known_values():
    from latentlab.models.prior import AutoregressiveCategorical

    prior = AutoregressiveCategorical(groups=2, k=2, hidden=1)
    with torch.no_grad():
        prior.embed.weight.copy_(torch.tensor([[0.5], [-1.0], [7.0], [9.0]]))  # group 0: codes 0, 1; group 1: unused
        prior.pos.copy_(torch.tensor([[0.25], [1.0]]))
        prior.out.weight.copy_(torch.tensor([[2.0], [-1.0]]))
        prior.out.bias.copy_(torch.tensor([0.0, 0.5]))
    bias = torch.tensor([[0.0, 0.1], [0.2, 0.0]])
    prior.log_prior.copy_(bias)

    def log_softmax(v):
        v = np.asarray(v)
        return v - np.log(np.exp(v).sum())

    for c1, c2 in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        h0 = max(0.25, 0.0)  # no earlier group
        h1 = max([0.5, -1.0][c1] + 1.0, 0.0)  # group 1 sees group 0's code
        l0 = log_softmax([0.0 + 2 * h0, 0.1 - h0 + 0.5])[c1]
        l1 = log_softmax([0.2 + 2 * h1, 0.0 - h1 + 0.5])[c2]
        got = prior.log_prob(torch.tensor([[c1, c2]]))
        assert float(got) == pytest.approx(l0 + l1, abs=1e-6)


def test_code_prior_is_autoregressive_and_samples_its_own_distribution():
    from latentlab.models.prior import AutoregressiveCategorical as CodePrior

    torch.manual_seed(0)
    prior = CodePrior(groups=4, k=5, hidden=16)
    with torch.no_grad():
        for p in prior.parameters():
            p.normal_()
    a = torch.tensor([[1, 2, 3, 4]])  # the log-prior starts uniform
    for g in range(4):  # group g's logits ignore the codes of groups >= g
        b = a.clone()
        b[0, g:] = torch.tensor([0, 0, 0, 0])[g:]
        torch.testing.assert_close(prior.logits(a)[0, : g + 1], prior.logits(b)[0, : g + 1])
    # a prior that copies: group 1 almost surely repeats group 0
    copy = CodePrior(groups=2, k=3, hidden=3)
    with torch.no_grad():
        copy.embed.weight.zero_()
        copy.embed.weight[:3] = 5 * torch.eye(3)  # group 0's code, one-hot in the hidden layer
        copy.pos.zero_()
        copy.out.weight.copy_(4 * torch.eye(3))
    s = copy.sample(400, torch.Generator().manual_seed(0))
    assert (s[:, 1] == s[:, 0]).float().mean() > 0.95
    assert len(set(s[:, 0].tolist())) == 3
    torch.testing.assert_close(
        copy.sample(50, torch.Generator().manual_seed(1)), copy.sample(50, torch.Generator().manual_seed(1))
    )


@pytest.mark.slow
def test_independent_prior_option_and_files_without_the_autoregressive_prior(vq, digits, tmp_path):
    from safetensors.torch import load_file, save_file

    with pytest.raises(ConfigError, match="prior"):
        latentlab.VQVAE(prior="pixelcnn")
    ind = latentlab.VQVAE(latent_dim=4, code_dim=2, codebook_size=8, hidden=(16,), prior="independent")
    ind.fit(digits[0], epochs=2, verbose=False, seed=0)
    from latentlab.models.prior import AutoregressiveCategorical

    assert not isinstance(ind.prior, AutoregressiveCategorical)
    np.testing.assert_allclose(ind.code_bits(digits[1]), _independent_bits(ind, digits[1]), rtol=1e-5)
    assert ind.sample(3, seed=0).shape == (3, 64)
    # A file from before the autoregressive prior: it loads, and the prior is the independent one.
    vq.save(tmp_path / "m")
    tensors = load_file(tmp_path / "m" / "model.safetensors")
    tensors = {k: v for k, v in tensors.items() if not k.startswith("prior.") or k == "prior.log_prior"}
    save_file(tensors, tmp_path / "m" / "model.safetensors", metadata={"format": "pt"})
    old = latentlab.load(tmp_path / "m")
    np.testing.assert_allclose(old.code_bits(digits[1]), _independent_bits(vq, digits[1]), rtol=1e-5)
    np.testing.assert_array_equal(old.reconstruct(digits[1][:5]), vq.reconstruct(digits[1][:5]))
