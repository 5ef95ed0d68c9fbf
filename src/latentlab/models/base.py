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

from ..config import CONV_HIDDEN, ModelConfig
from ..data.tensors import Batch, TensorData
from ..errors import ConfigError
from ..nn import build_pair
from ..training.options import LossOutput
from .api import ModelAPI
from .likelihood import build_likelihood
from .posterior import Deterministic, Posterior
from .prior import FittedGaussian, Prior


class LatentModel(ModelAPI, nn.Module):
    """Base class of every family.

    Subclasses set ``config_class`` and implement :meth:`loss`; most also
    override :meth:`posterior` (how encoder output becomes q(z|x)),
    :meth:`encoder_out_dim` and :meth:`build_prior`.

    Examples
    --------
    Every family is a ``LatentModel`` (and a ``torch.nn.Module``):

    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((32, 4)).astype("float32")
    >>> ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, verbose=False)
    >>> isinstance(ae, latentlab.LatentModel), ae.family
    (True, 'ae')
    >>> ae.encode(X[:3]).shape
    (3, 2)
    """

    config_class: type[ModelConfig] = ModelConfig
    #: How :func:`latentlab.compress` codes this model's codes: a name in :data:`latentlab.apps.compression.CODECS`.
    codec: str = "quantised"
    #: State names written by earlier versions -> today's (a name mapped to one this model lacks is dropped).
    legacy_names: dict[str, str] = {"code_mean": "prior.mean", "code_std": "prior.std"}

    def __init__(self, config: ModelConfig | None = None, **kwargs):
        nn.Module.__init__(self)
        known = {f.name for f in dataclasses.fields(self.config_class)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ConfigError(
                f"unknown option(s) {unknown} for {type(self).__name__}; known options: {sorted(known)}."
            )
        if config is None:
            if "hidden" not in kwargs and kwargs.get("architecture") in ("conv", "fcn"):
                kwargs["hidden"] = CONV_HIDDEN  # the family's default widths are for an MLP
            config = self.config_class(**kwargs)
        elif kwargs:
            config = config.replace(**kwargs)
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self.register_buffer("_anchor", torch.zeros(0), persistent=False)  # where the model lives; never saved
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
        self.build_extra()
        self.prior = self.build_prior()
        self.built = True

    def build_extra(self) -> None:
        """Hook for families that own more modules or buffers (codebooks...)."""

    def build_prior(self) -> Prior:
        """p(z): for a deterministic autoencoder, the Gaussian fitted to its training codes."""
        return FittedGaussian(self.config.latent_dim)

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
        return self.decoder(z).reshape(z.shape[0], *self.likelihood.param_shape)

    def decode_mean(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.likelihood.mean(self.decode_params(z, y))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Deterministic reconstruction (posterior mean, decoder mean)."""
        return self.decode_mean(self.posterior(x, y).mean, y)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` codes ``(n, latent_dim)`` from the prior."""
        return self.prior.sample(n, generator)

    def prior_codes(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """What the prior is fitted on: the deterministic codes of model-space inputs ``x``."""
        return self.posterior(x, y).mean

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

    def decoded_nll(self, z: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Per-sample NLL of ``batch`` decoded from codes ``z``, ``(B,)``: what the losses and bounds score.

        An autoregressive decoder (text) overrides it, as it also reads the target tokens.
        """
        return self.reconstruction(self.decode_params(z, batch.y), batch)

    def loss(self, batch: Batch) -> LossOutput:
        raise NotImplementedError

    # ------------------------------------------------------------ around training
    def initialise_from_data(self, rows: TensorData) -> None:
        """Before the first training of a freshly built model: data-dependent starting values (a learned variance)."""
        init = getattr(self.likelihood, "initialise", None)
        if init is not None:
            init(rows.x)


    def fit_statistics(self, rows: TensorData) -> dict:
        """After training: fit what is learned from the training data rather than by gradient (the prior).

        ``rows`` are model-space training rows (all of them, or an even
        sample for streamed data). Only a prior with ``fitted = True`` costs
        a pass over them. Returns what the fit reports (held-out figures).
        """
        if not self.prior.fitted:
            return {}
        codes = self.run_batched(self.prior_codes, rows.x, rows.y)
        seed = self.train_config.seed if self.train_config is not None else None
        return self.prior.fit(codes.to(self.device), seed=seed)

    # -------------------------------------------------------------- files
    def extra_files(self) -> dict[str, bytes]:
        """Files beyond the weights that a family saves in its model folder (a text model's tokenizer)."""
        return {}

    def read_extra_files(self, path) -> None:
        """Read back what :meth:`extra_files` wrote into folder ``path`` (called by ``load``)."""

    def optional_tensors(self) -> tuple[str, ...]:
        """State names that files from earlier versions may lack (loaded at their initial values)."""
        return ()

    def upgrade_state(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Rename the tensors of a file written by an earlier version to today's names (see ``legacy_names``)."""
        if not any(_legacy_match(k, old) for k in tensors for old in self.legacy_names):
            return tensors
        mine = self.state_dict()
        out = {}
        for k, v in tensors.items():
            new = k
            for old, name in self.legacy_names.items():
                if _legacy_match(k, old):
                    new = name + k[len(old) :]
                    break
            if new != k and new not in mine:
                continue  # a statistic this version no longer keeps for this family
            out[new] = v
        return out


def _legacy_match(key: str, old: str) -> bool:
    return key == old or (old.endswith(".") and key.startswith(old))
