"""beta-TCVAE: the q(z) estimators against closed forms on Gaussians and by hand, the loss, learning and files."""

from __future__ import annotations

import math

import pytest
import torch

import latentlab
from latentlab.errors import ConfigError
from latentlab.models.btcvae import log_weights, pairwise_log_density, tc_decomposition
from latentlab.training.trainer import Batch


def gaussian_codes(n, cov, s, seed=0):
    """Posterior means drawn from N(0, cov - s^2 I), posterior std s: the aggregate posterior is N(0, cov)."""
    g = torch.Generator().manual_seed(seed)
    cov = torch.as_tensor(cov, dtype=torch.float64)
    L = cov.shape[0]
    chol = torch.linalg.cholesky(cov - s**2 * torch.eye(L, dtype=torch.float64))
    mean = torch.randn(n, L, generator=g, dtype=torch.float64) @ chol.T
    logvar = torch.full((n, L), math.log(s**2), dtype=torch.float64)
    z = mean + s * torch.randn(n, L, generator=g, dtype=torch.float64)
    return z, mean, logvar


@pytest.mark.slow
def test_tc_and_mi_match_the_gaussian_closed_form():
    """With the whole data set as the batch, MSS is the exact aggregate posterior; q(z) ~ N(0, cov) then gives
    TC = 0.5 (sum log cov_dd - log det cov) and MI = 0.5 log det(cov) / s^(2L)."""
    rho, s = 0.8, 0.3
    cov = torch.tensor([[1.0, rho, 0.0], [rho, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    z, mean, logvar = gaussian_codes(1500, cov, s)
    d = tc_decomposition(z, mean, logvar, dataset_size=len(z), estimator="mss")
    tc = float((d["log_qz"] - d["log_qz_d"].sum(1)).mean())
    mi = float((d["log_qz_given_x"] - d["log_qz"]).mean())
    want_tc = -0.5 * math.log(1 - rho**2)  # 0.511 nats
    want_mi = 0.5 * (float(torch.logdet(cov)) - 3 * math.log(s**2))
    assert tc == pytest.approx(want_tc, abs=0.05)
    assert mi == pytest.approx(want_mi, abs=0.1)
    # Independent dimensions: no total correlation, but for the estimator's small-sample bias (each draw's own
    # posterior is one of only N components; about 0.05 nats at N = 1500 in three dimensions).
    z0, m0, l0 = gaussian_codes(1500, torch.eye(3, dtype=torch.float64), s, seed=1)
    d0 = tc_decomposition(z0, m0, l0, dataset_size=1500, estimator="mss")
    assert abs(float((d0["log_qz"] - d0["log_qz_d"].sum(1)).mean())) < 0.08 < want_tc / 5


def test_mws_by_hand():
    """Minibatch-weighted sampling: log q(z_i) = log sum_j q(z_i | x_j) - log(N M), written out in loops."""
    g = torch.Generator().manual_seed(0)
    z, mean, logvar = (torch.randn(4, 2, generator=g, dtype=torch.float64) for _ in range(3))
    N = 50
    d = tc_decomposition(z, mean, logvar, dataset_size=N, estimator="mws")

    def logn(x, m, lv):
        return -0.5 * ((x - m) ** 2 / math.exp(lv) + lv + math.log(2 * math.pi))

    for i in range(4):
        joint = [sum(logn(z[i, k], mean[j, k], logvar[j, k]) for k in range(2)) for j in range(4)]
        assert float(d["log_qz"][i]) == pytest.approx(float(torch.logsumexp(torch.tensor(joint), 0)) - math.log(N * 4))
        assert float(d["log_qz_given_x"][i]) == pytest.approx(joint[i])
        for k in range(2):
            marg = torch.tensor([logn(z[i, k], mean[j, k], logvar[j, k]) for j in range(4)])
            assert float(d["log_qz_d"][i, k]) == pytest.approx(float(torch.logsumexp(marg, 0)) - math.log(N * 4))
    assert pairwise_log_density(z, mean, logvar).shape == (4, 4, 2)


def test_mss_weights_sum_to_one():
    w = log_weights(8, 100, "mss").exp()
    torch.testing.assert_close(w.sum(1), torch.ones(8))
    assert float(w[0, 0]) == pytest.approx(1 / 100) and float(w[0, 1]) == pytest.approx(99 / (100 * 7))
    torch.testing.assert_close(log_weights(8, 100, "mws").exp().sum(1), torch.full((8,), 1 / 100))


def test_loss_is_the_weighted_decomposition():
    m = latentlab.BetaTCVAE(input_shape=(6,), latent_dim=3, hidden=(8,), alpha=0.5, beta=7.0, gamma=2.0,
                            estimator="mss")
    m.dataset_size.fill_(64)
    x = torch.rand(64, 6)
    m.eval()
    with torch.no_grad():
        torch.manual_seed(0)
        out = m.loss(Batch(x))
        torch.manual_seed(0)
        q = m.posterior(x)
        z = q.rsample()
        logpz = (-0.5 * (z**2 + math.log(2 * math.pi))).sum(1)
    p = out.parts
    want = p["reconstruction"] + 0.5 * p["mi"] + 7.0 * p["tc"] + 2.0 * p["dimwise_kl"]
    assert float(out.total) == pytest.approx(float(want), rel=1e-5)
    # The three terms add up to the single-draw KL estimate log q(z|x) - log p(z), exactly.
    assert float(p["mi"] + p["tc"] + p["dimwise_kl"]) == pytest.approx(float((q.log_prob(z) - logpz).mean()), rel=1e-4)
    assert float(p["kl"]) == pytest.approx(float(q.kl().mean()), rel=1e-5)


def test_free_bits_and_annealing_reach_the_terms():
    m = latentlab.BetaTCVAE(input_shape=(6,), latent_dim=3, hidden=(8,), free_bits=50.0)
    x = torch.rand(16, 6)
    with torch.no_grad():
        m.eval()
        torch.manual_seed(0)
        out = m.loss(Batch(x))
    # Every dimension's dwKL counts 50 nats: the total is at least the reconstruction + gamma * 150.
    assert float(out.total) >= float(out.parts["reconstruction"] + out.parts["mi"] + 6 * out.parts["tc"] + 150 - 1e-3)
    m.train()
    m.kl_scale.fill_(0.0)
    with torch.no_grad():
        out = m.loss(Batch(x))
    assert float(out.total) == pytest.approx(float(out.parts["reconstruction"]), rel=1e-6)


def test_config_checks():
    with pytest.raises(ConfigError, match="estimator"):
        latentlab.BetaTCVAE(estimator="exact")
    with pytest.raises(ConfigError, match="iw_samples"):
        latentlab.BetaTCVAE(iw_samples=4)
    with pytest.raises(ConfigError, match="gamma"):
        latentlab.BetaTCVAE(gamma=-1.0)
    assert latentlab.create("btcvae").config.beta == 6.0


@pytest.fixture(scope="module")
def fitted(digits):
    return latentlab.BetaTCVAE(latent_dim=6, hidden=(64,), beta=2.0, likelihood="gaussian").fit(
        digits[0], epochs=20, verbose=False, seed=0, patience=None
    )


@pytest.mark.slow
def test_learns(fitted, digits):
    Xtr, Xte = digits[0], digits[1]
    assert fitted.history[-1]["val_loss"] < fitted.history[0]["val_loss"]
    baseline = float(((Xtr.mean(0) - Xte) ** 2).mean())
    assert float(((fitted.reconstruct(Xte) - Xte) ** 2).mean()) < 0.6 * baseline
    assert 0.85 * len(Xtr) <= float(fitted.dataset_size) <= len(Xtr)  # N: the rows the model trained on
    assert fitted.metrics["active_units"] >= 2


@pytest.mark.slow
def test_save_load_identical(fitted, digits, reloaded):
    back = reloaded(fitted, digits[1])
    assert type(back) is latentlab.BetaTCVAE
    assert float(back.dataset_size) == float(fitted.dataset_size)
