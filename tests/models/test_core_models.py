"""AE and VAE: they learn, they save and load exactly, and their loss terms have known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import latentlab
from latentlab.models.likelihood import Bernoulli, Gaussian
from latentlab.models.posterior import Deterministic, DiagonalGaussian
from latentlab.training.trainer import Batch

FAMILIES = {
    "ae": dict(),
    "vae": dict(),
    "vae-gauss-global": dict(likelihood="gaussian", variance="global", sigma=0.3),
    "vae-gauss-pixel": dict(likelihood="gaussian", variance="per_feature", sigma=0.3),
}


@pytest.fixture(scope="module")
def fitted(digits):
    Xtr, _, _, _ = digits
    out = {}
    for name, cfg in FAMILIES.items():
        family = name.split("-")[0]
        out[name] = latentlab.create(family, latent_dim=4, hidden=(128, 64), **cfg).fit(
            Xtr, epochs=80, verbose=False, seed=0
        )
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAMILIES))
def test_learns_and_beats_mean_baseline(fitted, digits, name):
    Xtr, Xte, _, _ = digits
    model = fitted[name]
    losses = [h["val_loss"] for h in model.history]
    assert losses[-1] < losses[0] - 1.0, "validation loss did not fall"
    mse = np.mean((model.reconstruct(Xte) - Xte) ** 2)
    baseline = np.mean((Xtr.mean(0, keepdims=True) - Xte) ** 2)
    assert mse < 0.7 * baseline, (mse, baseline)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAMILIES))
def test_save_then_load_gives_identical_outputs(fitted, digits, tmp_path, name):
    _, Xte, _, _ = digits
    model = fitted[name]
    model.save(tmp_path / name)
    assert {p.name for p in (tmp_path / name).iterdir()} >= {
        "config.json",
        "model.safetensors",
        "scaler.json",
        "metrics.json",
    }
    again = latentlab.load(tmp_path / name)
    assert type(again) is type(model)
    assert again.config == model.config
    np.testing.assert_array_equal(again.encode(Xte), model.encode(Xte))
    np.testing.assert_array_equal(again.reconstruct(Xte), model.reconstruct(Xte))
    np.testing.assert_array_equal(again.sample(5, seed=3), model.sample(5, seed=3))
    assert again.history == model.history


@pytest.mark.slow
def test_encoding_is_deterministic_and_sampling_is_seeded(fitted, digits):
    _, Xte, _, _ = digits
    vae = fitted["vae"]
    np.testing.assert_array_equal(vae.encode(Xte[:20]), vae.encode(Xte[:20]))
    np.testing.assert_array_equal(vae.sample(4, seed=1), vae.sample(4, seed=1))
    assert not np.array_equal(vae.sample(4, seed=1), vae.sample(4, seed=2))
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    np.testing.assert_array_equal(vae.sample(3, generator=g1), vae.sample(3, generator=g2))


@pytest.mark.slow
def test_learned_variances_are_trained(fitted):
    g = fitted["vae-gauss-global"].likelihood.log_sigma
    p = fitted["vae-gauss-pixel"].likelihood.log_sigma
    assert g.shape == () and p.shape == (64,)
    assert abs(g.item() - math.log(0.3)) > 1e-3
    assert p.std() > 0  # pixels learned different variances


@pytest.mark.slow
def test_interpolation_endpoints_and_methods(fitted, digits):
    _, Xte, _, _ = digits
    ae = fitted["ae"]
    lin = ae.interpolate(Xte[0], Xte[1], steps=5, method="linear")
    sl = ae.interpolate(Xte[0], Xte[1], steps=5, method="slerp")
    assert lin.shape == sl.shape == (5, 64)
    np.testing.assert_allclose(lin[0], ae.reconstruct(Xte[:1])[0], atol=1e-5)
    np.testing.assert_allclose(sl[-1], ae.reconstruct(Xte[1:2])[0], atol=1e-5)
    assert not np.allclose(lin[2], sl[2])


# ------------------------------------------------------------ known values
def test_gaussian_kl_closed_form_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(6, 3), torch.randn(6, 3)
    q = DiagonalGaussian(mu, logvar)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, torch.exp(0.5 * logvar)), torch.distributions.Normal(0.0, 1.0)
    ).sum(-1)
    torch.testing.assert_close(q.kl(), ref)
    # a hand-computed value: mu=1, var=e -> 0.5 * (1 + e - 1 - 1)
    one = DiagonalGaussian(torch.ones(1, 1), torch.ones(1, 1))
    assert float(one.kl()) == pytest.approx(0.5 * (math.e - 1), rel=1e-6)
    assert float(Deterministic(mu).kl().abs().sum()) == 0.0


def test_reparameterised_sample_has_posterior_moments():
    q = DiagonalGaussian(torch.full((20000, 2), 1.5), torch.full((20000, 2), math.log(0.25)))
    z = q.sample(torch.Generator().manual_seed(0))
    assert float(z.mean()) == pytest.approx(1.5, abs=0.02)
    assert float(z.std()) == pytest.approx(0.5, abs=0.02)
    mu = torch.zeros(3, 2, requires_grad=True)
    DiagonalGaussian(mu, torch.zeros(3, 2)).rsample().sum().backward()
    assert mu.grad is not None and torch.all(mu.grad == 1)


def test_bernoulli_nll_matches_binary_cross_entropy():
    torch.manual_seed(0)
    logits, x = torch.randn(4, 5), torch.rand(4, 5)
    ref = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").sum(1)
    torch.testing.assert_close(Bernoulli().nll(logits, x), ref, rtol=1e-5, atol=1e-5)
    assert float(Bernoulli().nll(torch.zeros(1, 1), torch.ones(1, 1))) == pytest.approx(math.log(2))


@pytest.mark.parametrize("variance", ["fixed", "global", "per_feature"])
def test_gaussian_nll_matches_normal_log_prob(variance):
    torch.manual_seed(0)
    mean, x = torch.randn(4, 5), torch.randn(4, 5)
    lik = Gaussian(variance, sigma=0.7, feature_shape=(5,))
    ref = -torch.distributions.Normal(mean, 0.7).log_prob(x).sum(1)
    torch.testing.assert_close(lik.nll(mean, x), ref, rtol=1e-5, atol=1e-5)
    assert (variance == "fixed") == (len(list(lik.parameters())) == 0)


def test_mask_removes_entries_from_the_likelihood():
    x = torch.rand(2, 4)
    mask = torch.tensor([[1.0, 1, 0, 0], [1, 0, 1, 0]])
    full = Bernoulli().elementwise_nll(torch.zeros(2, 4), x)
    torch.testing.assert_close(Bernoulli().nll(torch.zeros(2, 4), x, mask), (full * mask).sum(1))


def test_vae_loss_is_reconstruction_plus_beta_kl(digits):
    Xtr, _, _, _ = digits
    vae = latentlab.VAE(input_shape=(64,), latent_dim=2, hidden=(16,), beta=4.0)
    vae.eval()
    torch.manual_seed(0)
    out = vae.loss(Batch(torch.from_numpy(Xtr[:8])))
    assert set(out.parts) == {"reconstruction", "kl"}
    torch.testing.assert_close(out.total, out.parts["reconstruction"] + 4.0 * out.parts["kl"])


@pytest.mark.slow
def test_output_activation_follows_likelihood(fitted, digits):
    _, Xte, _, _ = digits
    x = torch.from_numpy(fitted["vae"].scaler.transform(Xte[:50]))
    with torch.no_grad():
        bern = fitted["vae"](x)
        gauss = fitted["ae"].decode_params(fitted["ae"].posterior(x).mean)
    assert bern.min() >= 0 and bern.max() <= 1
    assert torch.equal(fitted["ae"].likelihood.mean(gauss), gauss)  # identity output for Gaussian
