"""Variational autoencoder (and beta-VAE).

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014;
Higgins et al., "beta-VAE", ICLR 2017. A beta-VAE is a VAE with ``beta != 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ModelConfig, check_nonneg_float, register
from ..data.tensors import Batch
from ..training.options import LossOutput
from .base import LatentModel
from .posterior import DiagonalGaussian
from .prior import StandardNormal


@dataclass(frozen=True)
class VAEConfig(ModelConfig):
    """Config of :class:`VAE`.

    Parameters
    ----------
    beta : float
        Weight of the KL term (1 is the ELBO; >1 a beta-VAE).
    """

    family = "vae"
    beta: float = 1.0
    likelihood: str = "bernoulli"

    def validate(self) -> None:
        super().validate()
        check_nonneg_float("beta", self.beta)


@register
class VAE(LatentModel):
    """Gaussian posterior, reparameterised sample, closed-form KL, ELBO loss.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 16)).astype("float32")
    >>> vae = latentlab.VAE(latent_dim=2, hidden=(32,)).fit(X, epochs=3, verbose=False)
    >>> vae.sample(4, seed=0).shape
    (4, 16)
    """

    config_class = VAEConfig

    def encoder_out_dim(self) -> int:
        return 2 * self.config.latent_dim  # mean and log-variance

    def posterior(self, x, y=None) -> DiagonalGaussian:
        return DiagonalGaussian.from_params(self.encoder(x, self.labels(y, x.shape[0])))

    def build_prior(self) -> StandardNormal:
        return StandardNormal(self.config.latent_dim)  # what the KL term is computed against

    def loss(self, batch: Batch) -> LossOutput:
        q = self.posterior(self.corrupt(batch.x), batch.y)
        z = q.rsample()  # (B, L) reparameterisation trick
        rec = self.reconstruction(self.decode_params(z, batch.y), batch).mean()
        kl = q.kl().mean()
        total = rec + self.config.beta * kl
        return LossOutput(total, {"reconstruction": rec, "kl": kl})
