"""Output likelihoods p(x | z): the decoder's raw output -> mean and NLL.

Bernoulli takes logits (output activation: sigmoid) and Gaussian takes the
mean (output activation: identity) with a fixed, one global learned, or a
per-feature learned variance.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Likelihood(nn.Module):
    """Interface: ``mean(params)`` and ``nll(params, x, mask)`` per sample."""

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def elementwise_nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def nll(self, params: torch.Tensor, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Negative log-likelihood summed over features, shape ``(B,)``.

        ``mask`` (same shape as ``x``, 1 = observed) drops entries from the sum:
        padding of sequences, or missing values.
        """
        e = self.elementwise_nll(params, x)  # (B, ...)
        if mask is not None:
            e = e * mask
        return e.reshape(e.shape[0], -1).sum(1)


class Bernoulli(Likelihood):
    """Bernoulli over [0, 1] inputs; the decoder outputs logits.

    Examples
    --------
    >>> round(float(Bernoulli().nll(torch.zeros(1, 1), torch.ones(1, 1))), 4)  # log 2
    0.6931
    """

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(params)

    def elementwise_nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(params, x, reduction="none")


class Gaussian(Likelihood):
    """Gaussian with fixed, global learned or per-feature learned variance.

    Examples
    --------
    >>> g = Gaussian(sigma=1.0)
    >>> round(float(g.nll(torch.zeros(1, 1), torch.ones(1, 1))), 4)  # 0.5 + 0.5 log(2 pi)
    1.4189
    """

    def __init__(self, variance: str = "fixed", sigma: float = 1.0, feature_shape: tuple[int, ...] = ()):
        super().__init__()
        self.variance = variance
        log_sigma = torch.full(feature_shape if variance == "per_feature" else (), math.log(sigma))
        if variance == "fixed":
            self.register_buffer("log_sigma", log_sigma)
        else:
            self.log_sigma = nn.Parameter(log_sigma)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return params

    def elementwise_nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        log_sigma = self.log_sigma.clamp(-7.0, 7.0)
        return 0.5 * ((x - params) * torch.exp(-log_sigma)) ** 2 + log_sigma + 0.5 * math.log(2 * math.pi)


def build_likelihood(config) -> Likelihood:
    """The likelihood named by ``config.likelihood`` / ``config.variance``."""
    if config.likelihood == "bernoulli":
        return Bernoulli()
    feature_shape = tuple(config.input_shape or ())
    return Gaussian(config.variance, config.sigma, feature_shape)
