"""A learned factorised entropy model: one non-parametric density per latent channel.

Each channel's cumulative distribution is a small monotone network of the
scalar latent, ``c(x) = sigmoid(f_K(... f_1(x)))``, with ``f_k(x) = g_k(H_k x + b_k)``,
``H_k >= 0`` (a softplus) and ``g_k(x) = x + tanh(a_k) tanh(x)``, so it is
increasing whatever the weights. Training sees the latent plus uniform noise,
whose density is the probability of the unit bin, ``c(y + 1/2) - c(y - 1/2)``;
coding rounds the latent and uses the same bin probabilities, tabulated per
channel (:meth:`FactorizedDensity.pmf_tables`).

Ballé, Minnen, Singh, Hwang and Johnston, "Variational image compression with
a scale hyperprior", ICLR 2018, appendix 6.1.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LIKELIHOOD_BOUND = 1e-9  # the smallest probability a bin is given in training (keeps -log2 finite)


class FactorizedDensity(nn.Module):
    """``channels`` independent learned densities, each a ``1 -> filters -> 1`` monotone network.

    Examples
    --------
    >>> d = FactorizedDensity(4)
    >>> lik = d.likelihood(torch.zeros(2, 4, 3, 3))
    >>> lik.shape, bool((lik > 0).all() and (lik <= 1).all())
    (torch.Size([2, 4, 3, 3]), True)
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0,
                 speed: float = 1.0):
        super().__init__()
        self.channels = channels
        # The weights are stored divided by ``speed`` and multiplied back when used: with Adam, whose steps
        # have a fixed size in the stored units, the density then learns ``speed`` times faster than the
        # transforms (it starts far wider than the latent and must narrow within a short training).
        self.speed = float(speed)
        widths = (1, *filters, 1)
        scale = init_scale ** (1 / (len(widths) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(widths) - 1):
            init = math.log(math.expm1(1 / scale / widths[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, widths[i + 1], widths[i]), init / speed)))
            self.biases.append(nn.Parameter((torch.rand(channels, widths[i + 1], 1) - 0.5) / speed))
            if i < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[i + 1], 1)))

    def logits_cdf(self, x: torch.Tensor, part: slice = slice(None)) -> torch.Tensor:
        """Logits of the cumulative probability of ``x (C', 1, N)`` under channels ``part``: ``(C', 1, N)``."""
        k = self.speed
        for i, (m, b) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(k * m[part]).to(x.dtype), x) + (k * b[part]).to(x.dtype)  # (C', d_{k+1}, N)
            if i < len(self.factors):
                x = x + torch.tanh(k * self.factors[i][part]).to(x.dtype) * torch.tanh(x)
        return x

    def likelihood(self, y: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Probability of the unit bin around each value of ``y (B, C', H, W)`` under channels ``start..start+C'``."""
        b, c, h, w = y.shape
        x = y.transpose(0, 1).reshape(c, 1, -1)  # (C', 1, B*H*W)
        part = slice(start, start + c)
        lower = self.logits_cdf(x - 0.5, part)
        upper = self.logits_cdf(x + 0.5, part)
        # Differences of sigmoids lose precision far in a tail; taken on the side where both are small, they do not.
        sign = -torch.sign(lower + upper).detach()
        lik = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        lik = lik.reshape(c, b, h, w).transpose(0, 1)  # (B, C', H, W)
        return _lower_bounded(lik, LIKELIHOOD_BOUND)

    @torch.no_grad()
    def pmf_tables(self, start: int, count: int, tail: float = 1e-6, max_value: int = 2048):
        """Per-channel tables of the integer bins, in float64, for an entropy coder.

        Returns ``(lo, pmf)``: channel ``c`` codes integers ``lo[c] .. lo[c] + K_c - 3``
        as symbols ``1 .. K_c - 2``, and symbol ``0`` (or ``K_c - 1``) says the value lies
        below (or above) that range and is stored raw. Each range holds all
        but about ``tail`` of the mass on either side, within ``+-max_value``;
        ``pmf[c]`` is a 1-D array of ``K_c`` probabilities summing to 1.
        """
        grid = torch.arange(-max_value - 1, max_value + 1, dtype=torch.float64) + 0.5  # bin edges
        x = grid.reshape(1, 1, -1).expand(count, 1, -1).contiguous()
        logits = self.logits_cdf(x, slice(start, start + count))[:, 0, :]  # (C', E)
        below = torch.sigmoid(logits).numpy()  # P(X < edge)
        above = torch.sigmoid(-logits).numpy()  # P(X > edge), accurate in the upper tail
        los, pmfs = [], []
        for c in range(count):
            # The kept edges: the last with at most `tail` mass below it, the first with at most `tail` above it.
            first = max(int(np.argmax(below[c] > tail)) - 1, 0)
            last = min(len(grid) - int(np.argmax(above[c][::-1] > tail)), len(grid) - 1)
            first = min(first, last - 1)
            inner = np.diff(below[c][first : last + 1])  # bins between the kept edges
            pmf = np.concatenate([[below[c][first]], np.clip(inner, 0, None), [above[c][last]]])
            pmfs.append(pmf / pmf.sum())
            los.append(int(grid[first] + 0.5))  # the first integer inside the range
        return np.asarray(los, dtype=np.int64), pmfs


def _lower_bounded(t: torch.Tensor, bound: float) -> torch.Tensor:
    return t + (torch.clamp(t, min=bound) - t).detach()


def bits(likelihood: torch.Tensor) -> torch.Tensor:
    """Total information content ``-sum log2 p`` of a tensor of probabilities."""
    return -torch.log2(likelihood).sum()


__all__ = ["FactorizedDensity", "bits", "LIKELIHOOD_BOUND"]
