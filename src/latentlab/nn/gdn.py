"""Generalized divisive normalization (GDN) and the analysis and synthesis transforms of a transform codec.

GDN normalises each channel by a learned combination of the squares of all
channels at the same position, ``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)``;
its inverse (IGDN) multiplies instead. It Gaussianises the responses of the
convolutions, which is what lets a factorised entropy model fit them well.

Ballé, Laparra and Simoncelli, "Density modeling of images using a generalized
normalization transformation", ICLR 2016; "End-to-end optimized image
compression", ICLR 2017.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_PEDESTAL = 2.0**-18  # keeps the square-root reparameterisation away from zero


def _lower_bounded(t: torch.Tensor, bound: float) -> torch.Tensor:
    """``max(t, bound)`` whose gradient still pulls values below the bound back up (Ballé's LowerBound)."""
    return t + (torch.clamp(t, min=bound) - t).detach()


class GDN(nn.Module):
    """GDN (``inverse=False``) or IGDN (``inverse=True``) over ``channels`` channels of a ``(B, C, H, W)`` map.

    ``beta`` and ``gamma`` are kept as square roots (plus a tiny pedestal), so
    they stay positive under gradient descent, as in the paper.

    Examples
    --------
    >>> GDN(4)(torch.ones(1, 4, 3, 3)).shape
    torch.Size([1, 4, 3, 3])
    """

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1):
        super().__init__()
        self.inverse = inverse
        self.beta_bound = (beta_min + _PEDESTAL) ** 0.5
        self.beta = nn.Parameter(torch.sqrt(torch.ones(channels) + _PEDESTAL))
        self.gamma = nn.Parameter(torch.sqrt(gamma_init * torch.eye(channels) + _PEDESTAL))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        beta = _lower_bounded(self.beta, self.beta_bound) ** 2 - _PEDESTAL  # (C,)
        gamma = _lower_bounded(self.gamma, _PEDESTAL**0.5) ** 2 - _PEDESTAL  # (C, C)
        norm = F.conv2d(x * x, gamma.reshape(c, c, 1, 1), beta)  # (B, C, H, W)
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)


def analysis_transform(in_channels: int, channels: int, latent_channels: int, stages: int) -> nn.Sequential:
    """``stages`` stride-2 5x5 convolutions with GDN between them: ``(B, C, H, W) -> (B, M, H/2^k, W/2^k)``."""
    layers: list[nn.Module] = []
    c = in_channels
    for i in range(stages):
        out = latent_channels if i == stages - 1 else channels
        layers.append(nn.Conv2d(c, out, 5, stride=2, padding=2))
        if i < stages - 1:
            layers.append(GDN(out))
        c = out
    return nn.Sequential(*layers)


def synthesis_transform(latent_channels: int, channels: int, out_channels: int, stages: int) -> nn.Sequential:
    """The mirror of :func:`analysis_transform`: stride-2 5x5 transposed convolutions with IGDN between them."""
    layers: list[nn.Module] = []
    c = latent_channels
    for i in range(stages):
        out = out_channels if i == stages - 1 else channels
        layers.append(nn.ConvTranspose2d(c, out, 5, stride=2, padding=2, output_padding=1))
        if i < stages - 1:
            layers.append(GDN(out, inverse=True))
        c = out
    return nn.Sequential(*layers)


__all__ = ["GDN", "analysis_transform", "synthesis_transform"]
