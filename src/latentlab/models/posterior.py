"""Posterior objects: ``mean``, ``sample(generator)``, ``kl()``.

A deterministic autoencoder returns a :class:`Deterministic` posterior, so
code that embeds, interpolates or scores never asks which family it holds.
"""

from __future__ import annotations

import math

import torch


class Posterior:
    """Interface of q(z | x)."""

    mean: torch.Tensor

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def rsample(self) -> torch.Tensor:
        """A differentiable draw (the reparameterisation trick where there is one)."""
        return self.sample()

    def kl(self) -> torch.Tensor:
        """KL(q(z|x) || p(z)) per sample, shape ``(B,)``."""
        raise NotImplementedError

    def mode(self) -> torch.Tensor:
        return self.mean


class Deterministic(Posterior):
    """A point mass at ``z``: sampling returns it, its KL is zero."""

    def __init__(self, z: torch.Tensor):
        self.mean = z  # (B, L)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.mean

    def kl(self) -> torch.Tensor:
        return self.mean.new_zeros(self.mean.shape[0])


class DiagonalGaussian(Posterior):
    """N(mean, diag(exp(logvar))) against a standard normal prior.

    Examples
    --------
    >>> q = DiagonalGaussian(torch.zeros(1, 2), torch.zeros(1, 2))
    >>> float(q.kl())
    0.0
    """

    def __init__(self, mean: torch.Tensor, logvar: torch.Tensor):
        self.mean = mean  # (B, L)
        # Clamp keeps exp() finite for wild early-training outputs.
        self.logvar = logvar.clamp(-30.0, 20.0)  # (B, L)

    @classmethod
    def from_params(cls, params: torch.Tensor) -> DiagonalGaussian:
        mean, logvar = params.chunk(2, dim=-1)
        return cls(mean, logvar)

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        eps = torch.randn(self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype)
        return self.mean + self.std * eps

    def rsample(self) -> torch.Tensor:
        return self.mean + self.std * torch.randn_like(self.mean)

    def kl_per_dim(self) -> torch.Tensor:
        """Closed form KL(N(mu, s^2) || N(0, 1)) of each latent dimension, ``(B, L)``."""
        return 0.5 * (self.mean.pow(2) + self.logvar.exp() - 1.0 - self.logvar)

    def kl(self) -> torch.Tensor:
        # Closed form KL(N(mu, s^2) || N(0, 1)) = 0.5 * sum(mu^2 + s^2 - 1 - log s^2)
        return self.kl_per_dim().sum(-1)  # (B,)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z | x) summed over latent dims; ``z`` is ``(..., B, L)``."""
        return (-0.5 * ((z - self.mean) ** 2 / self.logvar.exp() + self.logvar + math.log(2 * math.pi))).sum(-1)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last dim."""
    return (-0.5 * (z**2 + math.log(2 * math.pi))).sum(-1)
