"""The torch side every family shares: networks, posterior, decoding, corruption.

A family subclasses :class:`LatentModel`, names its config class, and
implements ``loss(batch)``. Everything numeric that users call (fit, encode,
sample, save...) lives in :mod:`latentlab.models.api` and works for all.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from ..nn import build_pair
from ..training.trainer import Batch, LossOutput
from .api import ModelAPI
from .likelihood import build_likelihood
from .posterior import Deterministic, Posterior


class LatentModel(ModelAPI, nn.Module):
    """Base class of every family.

    Subclasses set ``config_class`` and implement :meth:`loss`; most also
    override :meth:`posterior` (how encoder output becomes q(z|x)) and
    :meth:`encoder_out_dim`.
    """

    config_class: type[ModelConfig] = ModelConfig

    def __init__(self, config: ModelConfig | None = None, **kwargs):
        nn.Module.__init__(self)
        known = {f.name for f in dataclasses.fields(self.config_class)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ConfigError(
                f"unknown option(s) {unknown} for {type(self).__name__}; known options: {sorted(known)}."
            )
        if config is None:
            config = self.config_class(**kwargs)
        elif kwargs:
            config = config.replace(**kwargs)
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self._init_api_state()
        self.built = False
        if config.input_shape is not None:
            self.build()

    # ------------------------------------------------------------- networks
    @property
    def family(self) -> str:
        return self.config.family

    def encoder_out_dim(self) -> int:
        """Width of the encoder's output (latent_dim for a point code)."""
        return self.config.latent_dim

    def label_dim(self) -> int:
        """Width of the label features fed to encoder and decoder (0 if unconditional)."""
        return self.config.n_classes

    def build(self) -> None:
        """Create the networks once ``config.input_shape`` is known."""
        k = self.label_dim()
        self.encoder, self.decoder = build_pair(self.config, self.encoder_out_dim(), in_extra=k, latent_extra=k)
        self.likelihood = build_likelihood(self.config)
        # Gaussian fitted to the training codes: the prior a deterministic AE samples from.
        self.register_buffer("code_mean", torch.zeros(self.config.latent_dim))
        self.register_buffer("code_std", torch.ones(self.config.latent_dim))
        self.build_extra()
        self.built = True

    def build_extra(self) -> None:
        """Hook for families that own more modules or buffers (codebooks...)."""

    def labels(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        if self.config.n_classes == 0:
            return None
        if y is None:
            raise ValueError("this model is conditional: pass labels y.")
        return F.one_hot(y.long(), self.config.n_classes).float()  # (B, K)

    # ---------------------------------------------------------- inference
    def posterior(self, x: torch.Tensor, y: torch.Tensor | None = None) -> Posterior:
        """q(z | x): a point mass for deterministic families."""
        return Deterministic(self.encoder(x, self.labels(y, x.shape[0])))

    def decode_params(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Raw decoder output (logits or mean) shaped like one input, ``(B, *input_shape)``."""
        extra = self.labels(y, z.shape[0])
        if extra is not None:
            z = torch.cat([z, extra], dim=1)
        return self.decoder(z).reshape(z.shape[0], *self.config.input_shape)

    def decode_mean(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.likelihood.mean(self.decode_params(z, y))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Deterministic reconstruction (posterior mean, decoder mean)."""
        return self.decode_mean(self.posterior(x, y).mean, y)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` codes from the prior (for an AE: the Gaussian fitted to its codes)."""
        eps = torch.randn(n, self.config.latent_dim, generator=generator)
        return eps.to(self.code_mean.device) * self.code_std + self.code_mean

    # --------------------------------------------------------------- losses
    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """Denoising: corrupt the input in training mode; the target stays clean."""
        c = self.config
        if not self.training or c.noise == "none" or c.noise_level == 0:
            return x
        if c.noise == "gaussian":
            return x + c.noise_level * torch.randn_like(x)
        keep = torch.rand_like(x) >= c.noise_level
        if c.noise == "masking":
            return x * keep
        salt = (torch.rand_like(x) < 0.5).to(x.dtype)  # salt_pepper: extremes of the scaled range
        return torch.where(keep, x, salt)

    def reconstruction(self, params: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Per-sample negative log-likelihood of the clean batch, ``(B,)``."""
        return self.likelihood.nll(params, batch.x, batch.mask)

    def loss(self, batch: Batch) -> LossOutput:
        raise NotImplementedError

    @torch.no_grad()
    def fit_code_prior(self, z: torch.Tensor) -> None:
        """Fit the Gaussian that a deterministic model samples codes from."""
        self.code_mean.copy_(z.mean(0))
        self.code_std.copy_(z.std(0).clamp_min(1e-6) if z.shape[0] > 1 else torch.ones_like(self.code_std))
