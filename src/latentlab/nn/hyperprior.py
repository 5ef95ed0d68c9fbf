"""The scale hyperprior: a second latent that codes the scales of the first, and a Gaussian conditional density.

Ballé, Minnen, Singh, Hwang and Johnston, "Variational image compression with
a scale hyperprior", ICLR 2018::

    y (B, M, h, w) --|.|--> h_a --> z (B, N, h/4, w/4) --round--> z_hat --> h_s --> scales (B, M, h, w)

``z`` is coded with a factorised density (:class:`~latentlab.nn.entropy.FactorizedDensity`);
each value of ``y`` is coded with a zero-mean Gaussian of its own scale,
integrated over its unit bin. Scales are bounded below by :data:`SCALE_BOUND`.

The coder never sees a predicted scale itself: it rounds it up to the next of
the :data:`SCALE_TABLE` (64 scales, log-spaced from 0.11 to 256, as in
CompressAI), whose quantised tables depend on nothing but this module, so the
decoder rebuilds them exactly (:func:`gaussian_tables`).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from .entropy import LIKELIHOOD_BOUND

SCALE_BOUND = 0.11
#: The scales whose coding tables exist; a predicted scale is coded with the first one not below it.
SCALE_TABLE = np.exp(np.linspace(math.log(SCALE_BOUND), math.log(256.0), 64))
TAIL = 1e-9  # the mass a table leaves to its two escape symbols
_SQRT2 = math.sqrt(2.0)


def _lower_bounded(t: torch.Tensor, bound: float) -> torch.Tensor:
    return t + (torch.clamp(t, min=bound) - t).detach()


def hyper_analysis(latent_channels: int, channels: int) -> nn.Sequential:
    """``h_a``: ``(B, M, h, w) -> (B, N, h/4, w/4)``, on the absolute values of the latent."""
    return nn.Sequential(
        nn.Conv2d(latent_channels, channels, 3, stride=1, padding=1), nn.ReLU(),
        nn.Conv2d(channels, channels, 5, stride=2, padding=2), nn.ReLU(),
        nn.Conv2d(channels, channels, 5, stride=2, padding=2),
    )


def hyper_synthesis(channels: int, latent_channels: int) -> nn.Sequential:
    """``h_s``: ``(B, N, h/4, w/4) -> (B, M, h, w)`` scales (before their lower bound)."""
    return nn.Sequential(
        nn.ConvTranspose2d(channels, channels, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(channels, channels, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),
        nn.Conv2d(channels, latent_channels, 3, stride=1, padding=1), nn.ReLU(),
    )


def gaussian_likelihood(y: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Probability of the unit bin around each value of ``y`` under a zero-mean Gaussian of ``scales`` (same shape).

    Examples
    --------
    >>> p = gaussian_likelihood(torch.zeros(3), torch.tensor([0.11, 1.0, 10.0]))
    >>> [round(float(v), 4) for v in p]
    [1.0, 0.3829, 0.0399]
    """
    s = _lower_bounded(scales, SCALE_BOUND)
    v = torch.abs(y)
    # Both tails taken on the lower side, where the normal CDF keeps its precision.
    upper = 0.5 * torch.erfc((v - 0.5) / (s * _SQRT2))
    lower = 0.5 * torch.erfc((v + 0.5) / (s * _SQRT2))
    return _lower_bounded(upper - lower, LIKELIHOOD_BOUND)


def scale_indexes(scales: torch.Tensor) -> np.ndarray:
    """The table each value is coded with: the first of :data:`SCALE_TABLE` not below its scale (int64, same shape)."""
    s = scales.detach().float().cpu().numpy()
    idx = np.searchsorted(SCALE_TABLE.astype(np.float32), s, side="left")
    return np.minimum(idx, len(SCALE_TABLE) - 1).astype(np.int64)


@lru_cache(maxsize=1)
def gaussian_tables() -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """``(half, pmfs)``: table ``t`` codes the integers ``-half[t] .. half[t]`` as symbols ``1 .. 2 half[t] + 1``;
    symbol 0 (or the last) says the value lies below (or above) and is stored raw.

    Computed in float64 from :data:`SCALE_TABLE` alone, so encoder and decoder hold the same tables.
    """
    erfc = np.vectorize(math.erfc)
    halves, pmfs = [], []
    for s in SCALE_TABLE:
        half = int(math.ceil(s * _SQRT2 * _inverse_erfc(TAIL)))
        edges = (np.arange(-half, half + 2) - 0.5) / (s * _SQRT2)  # edges of the kept bins, low to high
        below = 0.5 * erfc(-edges)  # P(X < edge)
        inner = np.diff(below)
        tail = 0.5 * math.erfc((half + 0.5) / (s * _SQRT2))
        pmf = np.concatenate([[tail], np.clip(inner, 0, None), [tail]])
        halves.append(half)
        pmfs.append(pmf / pmf.sum())
    return np.asarray(halves, np.int64), tuple(pmfs)


def _inverse_erfc(p: float) -> float:
    """``x`` with ``erfc(x) = p`` for small ``p`` (bisection; exact enough for a table's range)."""
    lo, hi = 0.0, 10.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if math.erfc(mid) > p else (lo, mid)
    return hi


__all__ = ["SCALE_BOUND", "SCALE_TABLE", "hyper_analysis", "hyper_synthesis", "gaussian_likelihood",
           "scale_indexes", "gaussian_tables"]
