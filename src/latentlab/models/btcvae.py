"""beta-TCVAE: the ELBO's KL split into index-code MI, total correlation and dimension-wise KL, weighted apart.

Chen, Li, Grosse & Duvenaud, "Isolating sources of disentanglement in
variational autoencoders", NeurIPS 2018. The averaged KL term of the ELBO is

    E_x KL(q(z|x) || p(z)) = I_q(x; z) + KL(q(z) || prod_d q(z_d)) + sum_d KL(q(z_d) || p(z_d))
                             (MI, alpha)   (total correlation, beta)    (dimension-wise KL, gamma)

and the loss is ``reconstruction + alpha * MI + beta * TC + gamma * dwKL``.
The aggregate posterior ``q(z)`` and its marginals are estimated on each
minibatch of M samples from a data set of N: ``estimator='mws'``
(minibatch-weighted sampling, the paper's choice) weighs every batch
member 1 / (N M); ``'mss'`` (minibatch-stratified sampling) weighs a draw's
own posterior 1 / N and each other member (N - 1) / (N (M - 1)), an
unbiased estimate of q(z) that equals the exact aggregate posterior when the
batch is the whole data set. With alpha = beta = gamma = 1 the loss is the
VAE's in expectation.

Built on :class:`~latentlab.models.vae.VAEConfig`: ``beta`` (the TC weight)
defaults to 6 as in the paper; KL annealing scales all three terms, free
bits act on each dimension's dimension-wise KL, and the mixture and
VampPrior priors enter through the dwKL term's ``log p(z)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..config import check_choice, check_nonneg_float, register
from ..data.tensors import Batch
from ..errors import ConfigError
from ..training.options import LossOutput
from .prior import StandardNormal, VampPrior
from .vae import VAE, VAEConfig

ESTIMATORS = ("mws", "mss")
_LOG_2PI = math.log(2 * math.pi)


def pairwise_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``(B, B, L)``: entry ``[i, j, d]`` is log N(z[i, d]; mean[j, d], exp(logvar[j, d]))."""
    zi, mj, lj = z[:, None, :], mean[None, :, :], logvar[None, :, :]
    return -0.5 * ((zi - mj) ** 2 * torch.exp(-lj) + lj + _LOG_2PI)


def log_weights(batch_size: int, dataset_size: float, estimator: str, device=None, dtype=None) -> torch.Tensor:
    """``(B, B)`` log importance weights of batch member j's posterior in the estimate of q(z_i)."""
    M, N = batch_size, float(dataset_size)
    if estimator == "mws" or M == 1:
        return torch.full((M, M), -math.log(N * M), device=device, dtype=dtype)
    w = torch.full((M, M), math.log(max(N - 1, 1e-12) / (N * (M - 1))), device=device, dtype=dtype)
    w.fill_diagonal_(-math.log(N))
    return w


def tc_decomposition(
    z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, dataset_size: float, estimator: str = "mws"
) -> dict[str, torch.Tensor]:
    """Per-sample ``log q(z|x)``, ``log q(z)`` and the ``(B, L)`` ``log q(z_d)`` of draws ``z`` from a batch.

    ``E[log q(z|x) - log q(z)]`` estimates the index-code MI and
    ``E[log q(z) - sum_d log q(z_d)]`` the total correlation.

    Examples
    --------
    >>> z = torch.zeros(2, 3); m = torch.zeros(2, 3); lv = torch.zeros(2, 3)
    >>> d = tc_decomposition(z, m, lv, dataset_size=2, estimator="mss")
    >>> bool(torch.allclose(d["log_qz"], d["log_qz_d"].sum(1)))  # identical posteriors: no total correlation
    True
    """
    dens = pairwise_log_density(z, mean, logvar)  # (B, B, L)
    w = log_weights(z.shape[0], dataset_size, estimator, z.device, z.dtype)  # (B, B)
    log_qz_given_x = torch.diagonal(dens.sum(2)).clone()  # (B,)
    log_qz = torch.logsumexp(dens.sum(2) + w, dim=1)  # (B,)
    log_qz_d = torch.logsumexp(dens + w[:, :, None], dim=1)  # (B, L)
    return {"log_qz_given_x": log_qz_given_x, "log_qz": log_qz, "log_qz_d": log_qz_d}


@dataclass(frozen=True)
class BTCVAEConfig(VAEConfig):
    """Config of :class:`BetaTCVAE`.

    Parameters
    ----------
    alpha : float
        Weight of the index-code mutual information I(x; z).
    beta : float
        Weight of the total correlation (6 by default, the paper's dSprites choice).
    gamma : float
        Weight of the dimension-wise KL.
    estimator : {'mws', 'mss'}
        Minibatch-weighted or minibatch-stratified sampling of q(z).
    """

    family = "btcvae"
    beta: float = 6.0
    alpha: float = 1.0
    gamma: float = 1.0
    estimator: str = "mws"

    def validate(self) -> None:
        super().validate()
        check_nonneg_float("alpha", self.alpha)
        check_nonneg_float("gamma", self.gamma)
        check_choice("estimator", self.estimator, ESTIMATORS)
        if self.iw_samples > 1:
            raise ConfigError("btcvae decomposes the ELBO's KL term; the IWAE bound (iw_samples > 1) has none.")
        if self.n_classes > 0:
            raise ConfigError("btcvae is unconditional; the total correlation of a conditional code is not estimated.")


@register
class BetaTCVAE(VAE):
    """A VAE whose KL term is split into MI, total correlation and dimension-wise KL (Chen et al. 2018).

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 16)).astype("float32")
    >>> m = latentlab.BetaTCVAE(latent_dim=3, hidden=(32,)).fit(X, epochs=2, verbose=False)
    >>> sorted(k for k in m.history[-1] if k.startswith("val_"))
    ['val_dimwise_kl', 'val_kl', 'val_loss', 'val_mi', 'val_reconstruction', 'val_tc']
    """

    config_class = BTCVAEConfig

    def build_extra(self) -> None:
        super().build_extra()
        # N, the number of training rows, for the estimate of q(z); set before the first fit, saved with the weights.
        self.register_buffer("dataset_size", torch.tensor(1000.0))

    def initialise_from_data(self, rows) -> None:
        super().initialise_from_data(rows)
        self.dataset_size.fill_(float(max(len(rows), 1)))

    def optional_tensors(self) -> tuple[str, ...]:
        return (*super().optional_tensors(), "dataset_size")

    def loss(self, batch: Batch) -> LossOutput:
        c = self.config
        if self.training and isinstance(self.prior, VampPrior):
            self.prior.place(batch.x)
        scale = self.kl_scale if self.training else 1.0
        q = self.posterior(self.corrupt(batch.x), batch.y)
        z = q.rsample()  # (B, L)
        rec = self.reconstruction(self.decode_params(z, batch.y), batch).mean()
        d = tc_decomposition(z, q.mean, q.logvar, float(self.dataset_size), c.estimator)
        mi = (d["log_qz_given_x"] - d["log_qz"]).mean()
        tc = (d["log_qz"] - d["log_qz_d"].sum(1)).mean()
        if isinstance(self.prior, StandardNormal):  # a factorised prior: the dwKL of each dimension
            per_dim = (d["log_qz_d"] + 0.5 * (z**2 + _LOG_2PI)).mean(0)  # (L,)
            dw = per_dim.sum()
            dw_term = per_dim.clamp_min(c.free_bits).sum() if c.free_bits > 0 else dw
        else:
            dw = (d["log_qz_d"].sum(1) - self.prior.log_prob(z)).mean()
            dw_term = dw.clamp_min(c.free_bits * c.latent_dim) if c.free_bits > 0 else dw
        kl = (q.log_prob(z) - self.prior.log_prob(z)).mean() if not isinstance(self.prior, StandardNormal) else q.kl().mean()
        total = rec + scale * (c.alpha * mi + c.beta * tc + c.gamma * dw_term)
        return LossOutput(total, {"reconstruction": rec, "kl": kl, "mi": mi, "tc": tc, "dimwise_kl": dw})


__all__ = ["BetaTCVAE", "BTCVAEConfig", "tc_decomposition", "pairwise_log_density", "log_weights", "ESTIMATORS"]
