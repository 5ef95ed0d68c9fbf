"""Vector-quantised VAE: a learned codebook, commitment loss, straight-through gradient.

van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation
Learning", NeurIPS 2017. The encoder output (``latent_dim`` values) is cut
into ``latent_dim / code_dim`` groups; each is replaced by its nearest of
``codebook_size`` vectors by a :class:`~latentlab.nn.quantizer.VectorQuantizer`,
which also restarts codes unused for ``restart_every`` steps at random
encoder outputs (Dhariwal et al., "Jukebox", 2020) and places the whole
codebook on encoder outputs at the first step.

Sampling draws codes from a prior fitted to the training codes after the
VQ-VAE itself has been trained. With ``prior='independent'`` that is one
categorical per group. With ``prior='autoregressive'`` (the default) it is
``p(c_1) p(c_2 | c_1) ... p(c_G | c_<G)``: a small masked MLP
(:class:`~latentlab.models.prior.AutoregressiveCategorical`) adds
context-dependent logits to the per-group categorical. Its output layer
starts at zero, so it starts as the independent prior, and it is
early-stopped on held-out training codes, so on those codes it is never
worse. Its negative log-likelihood is the rate an entropy coder reaches
(:meth:`VQVAE.code_bits`), well under the fixed ``G log2 K`` bits when the
groups depend on each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..config import check_choice, check_nonneg_float, check_positive_int, register
from ..data.tensors import Batch
from ..errors import ConfigError
from ..nn.quantizer import Quantized, RestartDeadCodes, VectorQuantizer, perplexity
from ..training.options import LossOutput
from .ae import AEConfig, Autoencoder
from .posterior import Deterministic
from .prior import AutoregressiveCategorical, Categorical

__all__ = ["VQVAE", "VQVAEConfig", "Quantized", "perplexity"]


@dataclass(frozen=True)
class VQVAEConfig(AEConfig):
    """Config of :class:`VQVAE`.

    Parameters
    ----------
    codebook_size : int
        K, the number of code vectors.
    code_dim : int
        Size of each code vector; ``latent_dim`` must be a multiple of it.
    commitment : float
        beta, the weight of ``||z_e - sg[e]||^2``.
    restart_every : int
        Training steps between dead-code restarts (0 disables them).
    prior : str
        'autoregressive' (a masked MLP over the groups' codes, fitted after
        training) or 'independent' (one categorical per group).
    prior_hidden : int
        Width of the autoregressive prior's hidden layer.
    """

    family = "vqvae"
    # The plain AE's tuned defaults (deeper SiLU net, input noise) are not this family's.
    hidden: tuple[int, ...] = (256, 128)
    activation: str = "relu"
    noise: str = "none"
    noise_level: float = 0.0
    latent_dim: int = 8
    codebook_size: int = 32
    code_dim: int = 2
    commitment: float = 0.25
    restart_every: int = 50
    prior: str = "autoregressive"
    prior_hidden: int = 128

    def validate(self) -> None:
        super().validate()
        check_choice("prior", self.prior, ("autoregressive", "independent"))
        check_positive_int("prior_hidden", self.prior_hidden)
        check_positive_int("codebook_size", self.codebook_size)
        check_positive_int("code_dim", self.code_dim)
        check_positive_int("restart_every", self.restart_every, allow_zero=True)
        check_nonneg_float("commitment", self.commitment)
        if self.latent_dim % self.code_dim:
            raise ConfigError(
                f"latent_dim={self.latent_dim} is not a multiple of code_dim={self.code_dim}; "
                "the code is cut into latent_dim / code_dim vectors."
            )


@register
class VQVAE(Autoencoder):
    """Autoencoder with a discrete, vector-quantised code.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 16)).astype("float32")
    >>> vq = latentlab.VQVAE(latent_dim=4, code_dim=2, codebook_size=8, hidden=(32,)).fit(X, epochs=3, verbose=False)
    >>> vq.code_indices(X[:3]).shape, vq.sample(2, seed=0).shape
    ((3, 2), (2, 16))
    """

    config_class = VQVAEConfig
    codec = "indices"  # its codes are codebook indices, entropy-coded without loss under the prior
    legacy_names = {
        **Autoencoder.legacy_names,
        "codebook": "quantizer.codebook",
        "initialised": "quantizer.initialised",
        "code_log_prior": "prior.log_prior",
        "code_prior.": "prior.",
    }

    @property
    def n_groups(self) -> int:
        return self.config.latent_dim // self.config.code_dim

    def build_extra(self) -> None:
        c = self.config
        self.quantizer = VectorQuantizer(self.n_groups, c.code_dim, c.codebook_size, c.restart_every)

    def build_prior(self) -> Categorical:
        c = self.config
        if c.prior == "autoregressive":
            return AutoregressiveCategorical(self.n_groups, c.codebook_size, c.prior_hidden)
        return Categorical(self.n_groups, c.codebook_size)

    def training_callbacks(self) -> list:
        return [RestartDeadCodes(self.quantizer)]

    # ---------------------------------------------------------- quantizing
    @property
    def codebook(self) -> torch.nn.Parameter:
        """The ``(codebook_size, code_dim)`` code vectors."""
        return self.quantizer.codebook

    def nearest(self, z_e: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code vector for each group, ``(B, G)``."""
        return self.quantizer.nearest(z_e)

    def quantize(self, z_e: torch.Tensor) -> Quantized:
        """Replace each group of ``z_e (B, latent_dim)`` by its nearest code vector."""
        return self.quantizer(z_e)

    def posterior(self, x, y=None) -> Deterministic:
        z_e = self.encoder(x, self.labels(y, x.shape[0]))
        return Deterministic(self.quantize(z_e).code)

    def loss(self, batch: Batch) -> LossOutput:
        z_e = self.encoder(self.corrupt(batch.x), self.labels(batch.y, batch.x.shape[0]))  # (B, latent_dim)
        if self.training:
            self.quantizer.observe(z_e)  # first step: codebook on encoder outputs; later: kept for restarts
        q = self.quantize(z_e)
        rec = self.reconstruction(self.decode_params(q.code, batch.y), batch).mean()
        total = rec + q.codebook_loss + self.config.commitment * q.commitment_loss
        parts = {"reconstruction": rec, "codebook": q.codebook_loss, "commitment": q.commitment_loss}
        return LossOutput(total, {**parts, "perplexity": q.perplexity})

    # ---------------------------------------------------------------- prior
    def optional_tensors(self) -> tuple[str, ...]:
        """Files from before the autoregressive prior load with it at its start: the independent prior."""
        if isinstance(self.prior, AutoregressiveCategorical):
            return tuple(f"prior.{k}" for k in self.prior.mlp_state_names())
        return ()

    def prior_codes(self, x, y=None) -> torch.Tensor:
        return self.nearest(self.encoder(x, self.labels(y, x.shape[0])))  # (B, G) indices

    def prior_sample(self, n, generator=None):
        return self.code_vectors(self.prior.sample(n, generator))

    def code_vectors(self, idx: torch.Tensor) -> torch.Tensor:
        """The quantised code ``(n, latent_dim)`` made of the codebook vectors at ``idx (n, groups)``."""
        return self.quantizer.lookup(idx)

    def code_bits(self, X, y=None) -> np.ndarray:
        """Bits per sample of the codes of ``X`` under the prior: the rate an entropy coder reaches.

        Compare with ``latent_dim / code_dim * log2(codebook_size)`` bits for fixed-length codes.
        """
        idx = torch.from_numpy(self.code_indices(X, y)).to(self.device)
        with torch.inference_mode():
            nats = -self.prior.log_prob(idx)
        return (nats / math.log(2)).cpu().numpy().astype(np.float64)

    # -------------------------------------------------------------- reports
    def code_indices(self, X, y=None) -> np.ndarray:
        """Codebook index of each group for each sample, ``(n, latent_dim / code_dim)``."""
        self.check_fitted()
        x = self.to_model_space(X)
        return self.run_batched(self.prior_codes, x, self.label_tensor(y, x.shape[0])).numpy().astype(np.int64)

    def codebook_stats(self, X, y=None) -> dict[str, float]:
        """Perplexity (effective number of codes), fraction of codes used, and dead codes on ``X``."""
        idx = torch.from_numpy(self.code_indices(X, y))
        k = self.config.codebook_size
        used = int((torch.bincount(idx.reshape(-1), minlength=k) > 0).sum())
        return {"perplexity": float(perplexity(idx, k)), "usage": used / k, "dead_codes": k - used}
