"""DIP-VAE: the covariance estimates and the penalty by known values, the loss, learning and files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.errors import ConfigError
from latentlab.models.dipvae import batch_covariance, dip_penalty
from latentlab.training.trainer import Batch


def test_batch_covariance_known_values():
    g = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(50, 3, generator=g, dtype=torch.float64), torch.randn(50, 3, generator=g, dtype=torch.float64)
    want = np.cov(mean.numpy().T, bias=True)  # 1 / B, as disentanglement_lib
    np.testing.assert_allclose(batch_covariance(mean).numpy(), want, rtol=1e-12)
    want_ii = want + np.diag(np.exp(logvar.numpy()).mean(0))  # E[diag sigma^2] + Cov[mu]: the covariance of q(z)
    np.testing.assert_allclose(batch_covariance(mean, logvar).numpy(), want_ii, rtol=1e-12)


def test_penalty_known_values():
    cov = torch.tensor([[1.5, -0.2, 0.0], [-0.2, 1.0, 0.3], [0.0, 0.3, 0.1]])
    off = 2 * (0.2**2 + 0.3**2)
    diag = 0.5**2 + 0.0 + 0.9**2
    assert float(dip_penalty(cov, 2.0, 7.0)) == pytest.approx(2.0 * off + 7.0 * diag, rel=1e-6)
    assert float(dip_penalty(torch.eye(4), 5.0, 50.0)) == 0.0


def test_lambda_d_defaults_follow_the_paper():
    assert latentlab.DIPVAE().config.lambda_d == 100.0  # DIP-VAE-I: lambda_d = 10 lambda_od
    assert latentlab.DIPVAE(dip_type="ii").config.lambda_d == 10.0  # DIP-VAE-II: lambda_d = lambda_od
    assert latentlab.DIPVAE(lambda_od=2.0, lambda_d_factor=3.0).config.lambda_d == 6.0


@pytest.mark.parametrize("dip_type", ["i", "ii"])
def test_loss_is_elbo_plus_the_penalty(dip_type):
    m = latentlab.DIPVAE(input_shape=(6,), latent_dim=3, hidden=(8,), beta=2.0, dip_type=dip_type, lambda_od=4.0,
                         lambda_d_factor=0.5)
    x = torch.rand(32, 6)
    m.eval()
    with torch.no_grad():
        q = m.posterior(x)
        cov = batch_covariance(q.mean, q.logvar if dip_type == "ii" else None)
        want_dip = float(dip_penalty(cov, 4.0, 2.0))
        out = m.loss(Batch(x))
    p = out.parts
    assert float(p["dip"]) == pytest.approx(want_dip, rel=1e-5)
    assert float(out.total) == pytest.approx(float(p["reconstruction"] + 2.0 * p["kl"] + want_dip), rel=1e-5)


def test_config_checks():
    with pytest.raises(ConfigError, match="dip_type"):
        latentlab.DIPVAE(dip_type="iii")
    with pytest.raises(ConfigError, match="lambda_od"):
        latentlab.DIPVAE(lambda_od=-1.0)
    with pytest.raises(ConfigError, match="iw_samples"):
        latentlab.DIPVAE(iw_samples=4)
    assert latentlab.create("dipvae").config.dip_type == "i"


@pytest.fixture(scope="module")
def fitted(digits):
    return latentlab.DIPVAE(latent_dim=6, hidden=(64,), lambda_od=50.0, likelihood="gaussian").fit(
        digits[0], epochs=20, verbose=False, seed=0, patience=None
    )


def off_diagonal_correlation(codes):
    r = np.corrcoef(codes.T)
    return float((r[~np.eye(len(r), dtype=bool)] ** 2).sum())


@pytest.mark.slow
def test_learns_and_decorrelates(fitted, digits):
    Xtr, Xte = digits[0], digits[1]
    assert fitted.history[-1]["val_loss"] < fitted.history[0]["val_loss"]
    assert "dip" in fitted.history[-1]
    baseline = float(((Xtr.mean(0) - Xte) ** 2).mean())
    assert float(((fitted.reconstruct(Xte) - Xte) ** 2).mean()) < 0.6 * baseline
    vae = latentlab.VAE(latent_dim=6, hidden=(64,), likelihood="gaussian").fit(
        Xtr, epochs=20, verbose=False, seed=0, patience=None
    )
    # The penalty's job: Cov[mu] near the identity. Unit variances (the VAE's are about 0.5 to 0.9) ...
    assert np.allclose(np.var(fitted.encode(Xtr), 0), 1.0, atol=0.12)
    assert not np.allclose(np.var(vae.encode(Xtr), 0), 1.0, atol=0.12)
    # ... and held-out posterior means less correlated than the plain VAE's (1.8 against 3.0 when written).
    assert off_diagonal_correlation(fitted.encode(Xte)) < 0.75 * off_diagonal_correlation(vae.encode(Xte))


@pytest.mark.slow
def test_save_load_identical(fitted, digits, reloaded):
    back = reloaded(fitted, digits[1])
    assert type(back) is latentlab.DIPVAE
