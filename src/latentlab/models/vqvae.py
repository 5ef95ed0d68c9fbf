"""Vector-quantised VAE: a learned codebook, commitment loss, straight-through gradient.

van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation
Learning", NeurIPS 2017. The encoder output (``latent_dim`` values) is cut
into ``latent_dim / code_dim`` groups; each is replaced by its nearest of
``codebook_size`` vectors. Codes unused for ``restart_every`` steps are
restarted at random encoder outputs of the current batch (Dhariwal et al.,
"Jukebox", 2020), which also initialises the codebook at the first step.

Sampling draws each group's code from a categorical prior fitted to the
training codes, independently per group. A better prior would model the
dependencies between groups: an autoregressive model (PixelCNN or a small
transformer) over the code indices, trained after the VQ-VAE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import _check_nonneg_float, _check_positive_int, register
from ..errors import ConfigError
from ..training.trainer import Batch, LossOutput, TensorData
from .ae import AEConfig, Autoencoder
from .posterior import Deterministic


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

    def validate(self) -> None:
        super().validate()
        _check_positive_int("codebook_size", self.codebook_size)
        _check_positive_int("code_dim", self.code_dim)
        _check_positive_int("restart_every", self.restart_every, allow_zero=True)
        _check_nonneg_float("commitment", self.commitment)
        if self.latent_dim % self.code_dim:
            raise ConfigError(
                f"latent_dim={self.latent_dim} is not a multiple of code_dim={self.code_dim}; "
                "the code is cut into latent_dim / code_dim vectors."
            )


@dataclass
class Quantized:
    """Result of :meth:`VQVAE.quantize`: straight-through code, indices and loss terms."""

    code: torch.Tensor  # (B, latent_dim) z_e + sg[z_q - z_e]
    indices: torch.Tensor  # (B, G)
    codebook_loss: torch.Tensor  # () mean over samples of ||sg[z_e] - z_q||^2
    commitment_loss: torch.Tensor  # () mean over samples of ||z_e - sg[z_q]||^2
    perplexity: torch.Tensor  # () exp(entropy of code usage in the batch)


def perplexity(indices: torch.Tensor, k: int) -> torch.Tensor:
    """exp(entropy) of the empirical code distribution: K when all are used evenly.

    Examples
    --------
    >>> float(perplexity(torch.tensor([0, 1, 2, 3]), 8))
    4.0
    """
    p = torch.bincount(indices.reshape(-1), minlength=k).float() / indices.numel()
    return torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum())


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

    @property
    def n_groups(self) -> int:
        return self.config.latent_dim // self.config.code_dim

    def build_extra(self) -> None:
        k, c = self.config.codebook_size, self.config.code_dim
        self.codebook = nn.Parameter(torch.empty(k, c).uniform_(-1.0 / k, 1.0 / k))  # (K, C)
        self.register_buffer("code_log_prior", torch.full((self.n_groups, k), -float(np.log(k))))  # (G, K)
        # Set once the codebook has been placed on encoder outputs (first training step); saved, so a
        # loaded model that trains on keeps its codebook.
        self.register_buffer("initialised", torch.zeros(()))
        self.register_buffer("usage", torch.zeros(k), persistent=False)  # hits since the last restart
        self.register_buffer("steps", torch.zeros((), dtype=torch.long), persistent=False)

    # ---------------------------------------------------------- quantizing
    def nearest(self, z_e: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code vector for each group, ``(B, G)``."""
        flat = z_e.reshape(-1, self.config.code_dim)  # (B*G, C)
        d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T + self.codebook.pow(2).sum(1)  # (B*G, K)
        return d.argmin(1).reshape(z_e.shape[0], self.n_groups)

    def quantize(self, z_e: torch.Tensor) -> Quantized:
        """Replace each group of ``z_e (B, latent_dim)`` by its nearest code vector."""
        idx = self.nearest(z_e)  # (B, G)
        z_q = F.embedding(idx, self.codebook).reshape(z_e.shape)  # (B, latent_dim)
        codebook_loss = (z_q - z_e.detach()).pow(2).sum(1).mean()
        commitment = (z_e - z_q.detach()).pow(2).sum(1).mean()
        code = z_e + (z_q - z_e).detach()  # straight-through: forward z_q, gradient to z_e
        return Quantized(code, idx, codebook_loss, commitment, perplexity(idx, self.config.codebook_size))

    def posterior(self, x, y=None) -> Deterministic:
        z_e = self.encoder(x, self.labels(y, x.shape[0]))
        return Deterministic(self.quantize(z_e).code)

    @torch.no_grad()
    def restart_dead_codes(self, z_e: torch.Tensor, generator: torch.Generator | None = None) -> int:
        """Move codes unused since the last restart onto random encoder outputs; returns how many."""
        dead = (self.usage == 0).nonzero().reshape(-1)
        if dead.numel():
            pool = z_e.detach().reshape(-1, self.config.code_dim)  # (B*G, C)
            pick = torch.randint(pool.shape[0], (dead.numel(),), generator=generator).to(pool.device)
            jitter = 0.01 * pool.std() * torch.randn(dead.numel(), pool.shape[1], generator=generator).to(pool.device)
            self.codebook[dead] = pool[pick] + jitter
        self.usage.zero_()
        return int(dead.numel())

    def loss(self, batch: Batch) -> LossOutput:
        z_e = self.encoder(self.corrupt(batch.x), self.labels(batch.y, batch.x.shape[0]))  # (B, latent_dim)
        if self.training and self.config.restart_every:
            if not self.initialised:  # data-dependent start: every code on an encoder output
                self.usage.zero_()
                self.restart_dead_codes(z_e)
                self.initialised.fill_(1.0)
            elif int(self.steps) > 0 and int(self.steps) % self.config.restart_every == 0:
                self.restart_dead_codes(z_e)
        q = self.quantize(z_e)
        if self.training:
            self.steps += 1
            self.usage += torch.bincount(q.indices.reshape(-1), minlength=self.config.codebook_size)
        rec = self.reconstruction(self.decode_params(q.code, batch.y), batch).mean()
        total = rec + q.codebook_loss + self.config.commitment * q.commitment_loss
        parts = {"reconstruction": rec, "codebook": q.codebook_loss, "commitment": q.commitment_loss}
        return LossOutput(total, {**parts, "perplexity": q.perplexity})

    # ---------------------------------------------------------------- prior
    def on_fit_end(self, train: TensorData) -> None:
        super().on_fit_end(train)
        idx = self._batched(lambda x, y: self.nearest(self.encoder(x, self.labels(y, x.shape[0]))), train.x, train.y)
        counts = torch.stack([torch.bincount(idx[:, g].long(), minlength=self.config.codebook_size) for g in range(self.n_groups)])
        probs = (counts.float() + 0.01) / (counts.sum(1, keepdim=True) + 0.01 * self.config.codebook_size)  # (G, K)
        self.code_log_prior.copy_(probs.log().to(self.code_log_prior.device))

    def prior_sample(self, n, generator=None):
        probs = self.code_log_prior.exp().cpu()  # (G, K)
        idx = torch.stack([torch.multinomial(probs[g], n, replacement=True, generator=generator) for g in range(self.n_groups)], 1)
        return F.embedding(idx.to(self.codebook.device), self.codebook).reshape(n, self.config.latent_dim)

    # -------------------------------------------------------------- reports
    def code_indices(self, X, y=None) -> np.ndarray:
        """Codebook index of each group for each sample, ``(n, latent_dim / code_dim)``."""
        self._check_fitted()
        x = self._to_model_space(X)
        fn = lambda a, b: self.nearest(self.encoder(a, self.labels(b, a.shape[0])))  # noqa: E731
        return self._batched(fn, x, self._labels(y, x.shape[0])).numpy().astype(np.int64)

    def codebook_stats(self, X, y=None) -> dict[str, float]:
        """Perplexity (effective number of codes), fraction of codes used, and dead codes on ``X``."""
        idx = torch.from_numpy(self.code_indices(X, y))
        k = self.config.codebook_size
        used = int((torch.bincount(idx.reshape(-1), minlength=k) > 0).sum())
        return {"perplexity": float(perplexity(idx, k)), "usage": used / k, "dead_codes": k - used}
