"""A vector quantizer: codebook, nearest-code search, straight-through gradient, dead-code restarts.

van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation
Learning", NeurIPS 2017. An input ``(B, G * C)`` is cut into ``G`` groups of
``C`` values; each is replaced by its nearest of ``K`` code vectors. The
output carries the straight-through gradient ``z_e + sg[z_q - z_e]``, the
codebook loss ``||sg[z_e] - z_q||^2`` and the commitment loss
``||z_e - sg[z_q]||^2``.

Codes unused for ``restart_every`` steps are restarted at random inputs of
the latest training batch (Dhariwal et al., "Jukebox", 2020), and the first
training batch places every code on an input (a data-dependent start). A
training objective calls :meth:`VectorQuantizer.observe` on each batch before
quantizing it; the quantizer counts usage itself in training mode; the
restarts are driven by
:meth:`VectorQuantizer.after_step`, which :class:`RestartDeadCodes` (a
trainer callback) calls after each optimizer step, so nothing in the
training loop knows about codebooks.

It is a plain ``nn.Module`` and can be used in any network.

Examples
--------
>>> vq = VectorQuantizer(groups=2, code_dim=2, codebook_size=4)
>>> q = vq(torch.randn(3, 4))
>>> q.code.shape, q.indices.shape
(torch.Size([3, 4]), torch.Size([3, 2]))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Quantized:
    """Result of :meth:`VectorQuantizer.forward`: straight-through code, indices and loss terms."""

    code: torch.Tensor  # (B, G*C) z_e + sg[z_q - z_e]
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


class VectorQuantizer(nn.Module):
    """``groups`` code vectors of ``code_dim`` values, each snapped to the nearest of ``codebook_size``."""

    def __init__(self, groups: int, code_dim: int, codebook_size: int, restart_every: int = 50):
        super().__init__()
        self.groups, self.code_dim, self.codebook_size = groups, code_dim, codebook_size
        self.restart_every = restart_every
        k = codebook_size
        self.codebook = nn.Parameter(torch.empty(k, code_dim).uniform_(-1.0 / k, 1.0 / k))  # (K, C)
        # Set once the codebook has been placed on inputs (first training step); saved, so a
        # loaded model that trains on keeps its codebook.
        self.register_buffer("initialised", torch.zeros(()))
        self.register_buffer("usage", torch.zeros(k), persistent=False)  # hits since the last restart
        self.register_buffer("steps", torch.zeros((), dtype=torch.long), persistent=False)
        self._last_input: torch.Tensor | None = None  # the latest training batch, for restarts

    def nearest(self, z_e: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code vector for each group, ``(B, G)``."""
        flat = z_e.reshape(-1, self.code_dim)  # (B*G, C)
        d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T + self.codebook.pow(2).sum(1)  # (B*G, K)
        return d.argmin(1).reshape(z_e.shape[0], self.groups)

    def lookup(self, idx: torch.Tensor) -> torch.Tensor:
        """The quantised code ``(n, G*C)`` made of the code vectors at ``idx (n, G)``."""
        return F.embedding(idx.to(self.codebook.device), self.codebook).reshape(len(idx), self.groups * self.code_dim)

    def forward(self, z_e: torch.Tensor) -> Quantized:
        """Replace each group of ``z_e (B, G*C)`` by its nearest code vector."""
        idx = self.nearest(z_e)  # (B, G)
        z_q = F.embedding(idx, self.codebook).reshape(z_e.shape)  # (B, G*C)
        codebook_loss = (z_q - z_e.detach()).pow(2).sum(1).mean()
        commitment = (z_e - z_q.detach()).pow(2).sum(1).mean()
        code = z_e + (z_q - z_e).detach()  # straight-through: forward z_q, gradient to z_e
        if self.training:
            self.usage += torch.bincount(idx.reshape(-1), minlength=self.codebook_size)
        return Quantized(code, idx, codebook_loss, commitment, perplexity(idx, self.codebook_size))

    @torch.no_grad()
    def observe(self, z_e: torch.Tensor) -> None:
        """Training only, before quantizing a batch: place the codebook on it at the very first step, and
        keep it for the next restart."""
        if not self.restart_every:
            return
        self._last_input = z_e.detach()
        if not self.initialised:  # data-dependent start: every code on an input
            self.usage.zero_()
            self.restart_dead_codes(z_e)
            self.initialised.fill_(1.0)

    @torch.no_grad()
    def restart_dead_codes(self, z_e: torch.Tensor, generator: torch.Generator | None = None) -> int:
        """Move codes unused since the last restart onto random inputs; returns how many."""
        dead = (self.usage == 0).nonzero().reshape(-1)
        if dead.numel():
            pool = z_e.detach().reshape(-1, self.code_dim)  # (B*G, C)
            pick = torch.randint(pool.shape[0], (dead.numel(),), generator=generator).to(pool.device)
            jitter = 0.01 * pool.std() * torch.randn(dead.numel(), pool.shape[1], generator=generator).to(pool.device)
            self.codebook[dead] = pool[pick] + jitter
        self.usage.zero_()
        return int(dead.numel())

    @torch.no_grad()
    def after_step(self) -> int:
        """After an optimizer step: count it, and every ``restart_every`` steps restart dead codes."""
        self.steps += 1
        if not self.restart_every or self._last_input is None or int(self.steps) % self.restart_every:
            return 0
        return self.restart_dead_codes(self._last_input)


class RestartDeadCodes:
    """Trainer callback: calls :meth:`VectorQuantizer.after_step` on every quantizer of the model."""

    def __init__(self, *quantizers: VectorQuantizer):
        self.quantizers = quantizers

    def on_train_begin(self, trainer) -> None: ...

    def on_epoch_end(self, trainer, epoch, logs) -> None: ...

    def on_batch_end(self, trainer, batch, out) -> None:
        for q in self.quantizers:
            q.after_step()

    def on_train_end(self, trainer) -> None:
        for q in self.quantizers:
            q._last_input = None  # do not keep a batch alive after training


__all__ = ["VectorQuantizer", "Quantized", "perplexity", "RestartDeadCodes"]
