"""The VAE at its best: collapse remedies, the collapse diagnosis, richer priors, IWAE, likelihood in data units."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import latentlab
from latentlab.data.tensors import Batch
from latentlab.errors import ConfigError, PosteriorCollapseWarning
from latentlab.models.posterior import DiagonalGaussian
from latentlab.models.prior import MixtureOfGaussians, VampPrior
from latentlab.models.variational import kl_weight

FAST = dict(verbose=False, seed=0)


def _kl_per_dim(model, X):
    with torch.no_grad():
        return model.posterior(model.to_model_space(X)).kl_per_dim().mean(0).numpy()


@pytest.mark.slow
def test_default_gaussian_vae_does_not_collapse_on_digits(digits):
    Xtr, Xte = digits[0], digits[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", PosteriorCollapseWarning)  # a healthy model: no warning
        vae = latentlab.VAE(likelihood="gaussian").fit(Xtr, **FAST)
    assert _kl_per_dim(vae, Xte).sum() >= 1.0  # nats per sample
    baseline = float(((Xtr.mean(0) - Xte) ** 2).mean())
    assert float(((vae.reconstruct(Xte) - Xte) ** 2).mean()) < 0.5 * baseline
    assert vae.metrics["active_units"] == vae.config.latent_dim
    # Early stopping, not the epoch cap, ended training (epochs=None: a cap of 10,000 steps' worth, 527 epochs here).
    assert len(vae.history) < 527 and vae.fit_report.best_epoch <= len(vae.history) - 1 - 30


@pytest.mark.slow
def test_collapse_is_diagnosed_and_the_warning_names_remedies(digits):
    with pytest.warns(PosteriorCollapseWarning, match=r"0 of 2 latent dimensions.*variance='per_feature'.*kl_anneal"):
        vae = latentlab.VAE(likelihood="gaussian", variance="fixed", hidden=(64,)).fit(digits[0], epochs=15, **FAST)
    assert vae.metrics["active_units"] == 0
    assert vae.fit_report.statistics["active_units"] == 0


@pytest.mark.slow
def test_free_bits_keep_lambda_nats_per_dimension(digits):
    Xtr = digits[0]
    collapsed = latentlab.VAE(latent_dim=4, hidden=(64,), beta=8.0)
    with pytest.warns(PosteriorCollapseWarning):
        collapsed.fit(Xtr, epochs=40, **FAST)
    kept = latentlab.VAE(latent_dim=4, hidden=(64,), beta=8.0, free_bits=0.5).fit(Xtr, epochs=40, **FAST)
    assert _kl_per_dim(collapsed, Xtr).mean() < 0.05
    # Each batch's mean KL per dimension is held at lambda or above; over the data it sits at about lambda
    # (batches below it are not pushed up, batches above it are pulled down by beta).
    assert _kl_per_dim(kept, Xtr).mean() >= 0.5 * 0.9
    assert kept.metrics["active_units"] == 4


def test_free_bits_known_value():
    vae = latentlab.VAE(input_shape=(3,), latent_dim=2, hidden=(4,), free_bits=0.7)
    vae.eval()
    x = torch.rand(5, 3)
    with torch.no_grad():
        out = vae.loss(Batch(x))
        q = vae.posterior(x)
    # the loss has a fresh draw in its reconstruction; its KL part is exact, and the term clamps each dimension
    kl_dims = q.kl_per_dim().mean(0)
    assert float(out.parts["kl"]) == pytest.approx(float(kl_dims.sum()), rel=1e-5)
    assert float(kl_dims.clamp_min(0.7).sum()) >= 1.4 - 1e-6


def test_kl_annealing_schedules_and_the_logged_weight(digits):
    assert [kl_weight("linear", e, 4, 1) for e in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert [kl_weight("cyclical", e, 2, 2) for e in range(6)] == [0.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    assert kl_weight("none", 0, 4, 1) == 1.0
    vae = latentlab.VAE(hidden=(32,), kl_anneal="linear", kl_anneal_epochs=4)
    vae.fit(digits[0][:400], epochs=6, patience=None, **FAST)
    assert [h["kl_weight"] for h in vae.history] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert float(vae.kl_scale) == 1.0  # outside training the full objective
    with pytest.raises(ConfigError, match="kl_anneal"):
        latentlab.VAE(kl_anneal="sometimes")


def _grid(dim: int, lo=-9.0, hi=9.0, n=1201):
    axis = torch.linspace(lo, hi, n if dim == 1 else 301, dtype=torch.float64)
    pts = torch.cartesian_prod(*[axis] * dim).reshape(-1, dim)
    return pts, float(axis[1] - axis[0]) ** dim


@pytest.mark.parametrize("dim", [1, 2])
def test_mixture_and_vamp_priors_integrate_to_one(dim):
    torch.manual_seed(0)
    mog = MixtureOfGaussians(dim, components=3).double()
    with torch.no_grad():
        mog.means.copy_(torch.randn(3, dim, dtype=torch.float64) * 2)
        mog.logvars.copy_(torch.randn(3, dim, dtype=torch.float64) * 0.3)
        mog.logits.copy_(torch.tensor([0.0, 1.0, -0.5], dtype=torch.float64))
    enc = torch.nn.Linear(4, 2 * dim).double()
    vamp = VampPrior(lambda u: DiagonalGaussian.from_params(enc(u)), input_shape=(4,), components=5).double()
    pts, cell = _grid(dim)
    with torch.no_grad():
        for prior in (mog, vamp):
            mass = float(prior.log_prob(pts).exp().sum() * cell)
            assert mass == pytest.approx(1.0, abs=2e-3), type(prior).__name__
            draws = prior.sample(4000, torch.Generator().manual_seed(0))
            assert draws.shape == (4000, dim)


@pytest.mark.slow
def test_kl_against_a_mixture_prior_matches_quadrature():
    """KL(q || p) for a 1-D Gaussian q and a two-component mixture p: the loss's Monte-Carlo estimate against quadrature."""
    mog = MixtureOfGaussians(1, components=2).double()
    with torch.no_grad():
        mog.means.copy_(torch.tensor([[-1.0], [2.0]], dtype=torch.float64))
        mog.logvars.copy_(torch.tensor([[0.0], [-1.0]], dtype=torch.float64))
        mog.logits.copy_(torch.tensor([0.0, math.log(3.0)], dtype=torch.float64))
    q = DiagonalGaussian(torch.tensor([[0.5]], dtype=torch.float64), torch.tensor([[math.log(0.25)]], dtype=torch.float64))
    z = torch.linspace(-8, 8, 20001, dtype=torch.float64).reshape(-1, 1)
    with torch.no_grad():
        lq = q.log_prob(z.unsqueeze(1)).squeeze(1)  # (N,)
        exact = float((lq.exp() * (lq - mog.log_prob(z))).sum() * (z[1] - z[0]))
        g = torch.Generator().manual_seed(0)
        draws = torch.stack([q.sample(g) for _ in range(200_000)]).reshape(-1, 1, 1)  # (S, B=1, L=1)
        mc = float((q.log_prob(draws) - mog.log_prob(draws)).mean())
    assert exact > 0.5  # q sits between the components: far from both
    assert mc == pytest.approx(exact, abs=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["mog", "vamp"])
def test_richer_priors_train_sample_score_and_round_trip(prior, digits, tmp_path):
    Xtr, Xte = digits[0], digits[1]
    vae = latentlab.VAE(latent_dim=2, hidden=(64,), prior=prior, prior_components=5).fit(Xtr, epochs=20, **FAST)
    assert np.isfinite(vae.history[-1]["val_kl"]) and vae.history[-1]["val_loss"] < vae.history[0]["val_loss"]
    s = vae.sample(8, seed=0)
    assert s.shape == (8, 64) and np.isfinite(s).all()
    ll = vae.log_likelihood(Xte[:50], k=20)
    assert np.isfinite(ll).all() and ll.mean() >= vae.elbo(Xte[:50], n_samples=20).mean()
    vae.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    np.testing.assert_array_equal(back.sample(8, seed=0), s)
    np.testing.assert_array_equal(back.log_likelihood(Xte[:50], k=20), ll)


@pytest.mark.slow
def test_iwae_objective_is_a_tighter_bound(digits):
    Xtr, Xte = digits[0], digits[1]
    vae = latentlab.VAE(latent_dim=2, hidden=(64,), iw_samples=5).fit(Xtr, epochs=10, **FAST)
    assert "iwae_bound" in vae.history[-1]
    x = vae.to_model_space(Xte[:200])
    vae.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        iwae = -float(vae.loss(Batch(x)).total)
        elbo = float(vae.elbo(Xte[:200], n_samples=50).mean() - torch.zeros(1))  # data units == model units here
    assert iwae > elbo
    with pytest.raises(ConfigError, match="free_bits"):
        latentlab.VAE(iw_samples=5, free_bits=0.5)


@pytest.mark.slow
def test_log_likelihood_is_in_the_data_units(digits):
    """The same network on the data in other units: the density changes by the Jacobian, exactly."""
    Xtr, Xte = digits[0], digits[1]
    vae = latentlab.VAE(latent_dim=2, hidden=(32,), likelihood="gaussian", scaling="standard").fit(Xtr, epochs=5, **FAST)
    ll = vae.log_likelihood(Xte[:40], k=30, seed=1)
    a, b = 7.0, -3.0  # x' = a x + b
    vae.scaler.offset_ = a * vae.scaler.offset_ + b
    vae.scaler.scale_ = a * vae.scaler.scale_
    ll2 = vae.log_likelihood(a * Xte[:40] + b, k=30, seed=1)
    np.testing.assert_allclose(ll2, ll - 64 * math.log(a), rtol=1e-6, atol=1e-4)
    # and two scalings of the same data give the same figure, up to training and Monte-Carlo differences
    # Two scalings of the same data give the same figure, up to training and Monte-Carlo differences: on
    # dequantised digits (a density of the raw 17 levels is degenerate), with per-feature variances, so that
    # every scaling parametrises the same family of densities.
    rng = np.random.default_rng(0)
    dtr, dte = Xtr + rng.random(Xtr.shape) / 16, Xte + rng.random(Xte.shape) / 16
    lls = [
        latentlab.VAE(latent_dim=2, hidden=(32,), likelihood="gaussian", variance="per_feature", scaling=s)
        .fit(dtr, epochs=40, **FAST).log_likelihood(dte[:200], k=30).mean()
        for s in ("minmax", "standard", "none")
    ]
    # Without the Jacobian, 'standard' (scale about 0.3) and 'none' would differ by about 64 log 3 = 70 nats.
    assert max(lls) - min(lls) < 10, lls


def test_likelihood_options_are_checked():
    with pytest.raises(ConfigError, match="prior"):
        latentlab.VAE(prior="flow")
    with pytest.raises(ConfigError, match="vamp"):
        latentlab.VAE(prior="vamp", n_classes=3)
    with pytest.raises(ConfigError, match="variance='decoder'"):
        latentlab.VAE(likelihood="gaussian", variance="decoder", architecture="conv")
