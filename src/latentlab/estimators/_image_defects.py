"""Synthetic defects for :class:`~latentlab.ImageAnomalyDetector`, with the mask of where each one is.

DRAEM (Zavrtanik et al., "DRAEM: a discriminatively trained reconstruction
embedding for surface anomaly detection", ICCV 2021) pastes synthetic
defects on normal images during training; here no outside data is used.
:func:`make_defects` gives a ``rate`` share of standardised patches one of:

- a region shaped by thresholded smooth noise (Perlin-like), filled with a
  piece of another normal patch shifted in brightness and contrast, or
  simply made brighter or darker (stains, uneven areas, chipped parts);
- a small soft ellipse, darker or brighter than the part (holes, spots);
- a thin polyline, darker or brighter (cracks, scratches).

Every change is at least about one spread of the part (the patches are in
standardised units), so the labelled pixels are visibly different.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def noise_region(rng: np.random.Generator, size: int) -> np.ndarray:
    """A soft region in ``[0, 1]`` of shape ``(size, size)``: smooth noise above a random high quantile."""
    cells = int(rng.choice([2, 3, 4, 6, 8]))
    grid = torch.from_numpy(rng.standard_normal((1, 1, cells + 1, cells + 1)).astype(np.float32))
    smooth = F.interpolate(grid, size=(size, size), mode="bicubic", align_corners=True)[0, 0].numpy()
    fine = torch.from_numpy(rng.standard_normal((1, 1, 2 * cells + 1, 2 * cells + 1)).astype(np.float32))
    smooth = smooth + 0.5 * F.interpolate(fine, size=(size, size), mode="bicubic", align_corners=True)[0, 0].numpy()
    cut = np.quantile(smooth, rng.uniform(0.75, 0.97))
    return np.clip((smooth - cut) / (0.15 * smooth.std() + 1e-6), 0.0, 1.0)


def blob(rng: np.random.Generator, size: int) -> np.ndarray:
    """A soft random ellipse in ``[0, 1]`` of shape ``(size, size)``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cy, cx = rng.uniform(0.15, 0.85, 2) * size
    ry, rx = rng.uniform(0.02, 0.15, 2) * size + 1.0
    a = rng.uniform(0, math.pi)
    dy, dx = yy - cy, xx - cx
    u, v = dy * math.cos(a) + dx * math.sin(a), -dy * math.sin(a) + dx * math.cos(a)
    d = (u / ry) ** 2 + (v / rx) ** 2
    return np.clip(1.5 - d, 0.0, 1.0) ** 0.5


def scratch(rng: np.random.Generator, size: int) -> np.ndarray:
    """A thin random polyline in ``[0, 1]`` of shape ``(size, size)``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = np.zeros((size, size), np.float32)
    p = rng.uniform(0.1, 0.9, 2) * size
    width = rng.uniform(0.8, 2.5)
    for _ in range(int(rng.integers(1, 5))):
        q = np.clip(p + rng.normal(0, 0.2 * size, 2), 0, size - 1)
        d = q - p
        t = np.clip(((yy - p[0]) * d[0] + (xx - p[1]) * d[1]) / max(float(d @ d), 1e-6), 0, 1)
        dist = np.hypot(yy - (p[0] + t * d[0]), xx - (p[1] + t * d[1]))
        out = np.maximum(out, np.clip(1.0 - dist / (2 * width), 0, 1) * 1.5)
        p = q
    return np.clip(out, 0.0, 1.0)


def make_defects(batch: np.ndarray, rng: np.random.Generator, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """``(noisy, masks)``: a copy of ``batch`` ``(B, C, s, s)`` with a defect on a ``rate`` share, and
    ``(B, 1, s, s)`` float32 masks (1 where a defect was pasted, 0 elsewhere and on untouched patches)."""
    out = batch.copy()
    b, _, s, _ = batch.shape
    masks = np.zeros((b, 1, s, s), np.float32)
    for i in np.flatnonzero(rng.random(b) < rate):
        kind = rng.integers(4)
        sign = rng.choice([-1.0, 1.0])
        if kind == 0:  # another part's texture, shifted and rescaled
            soft = noise_region(rng, s)
            j = (i + 1 + rng.integers(b - 1)) % b if b > 1 else i
            fill = batch[j] * rng.uniform(0.5, 2.0) + sign * rng.uniform(1.5, 4.0)
            out[i] = out[i] * (1 - soft) + fill * soft
        else:
            soft = (noise_region, blob, scratch)[kind - 1](rng, s)
            out[i] = out[i] + soft * sign * rng.uniform(1.5, 5.0)
        masks[i, 0] = soft > 0.5
    return out, masks


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Mean focal loss (Lin et al. 2017) of per-pixel logits against a 0/1 target; ``gamma = 0`` is BCE."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = torch.exp(-bce)
    return ((1 - p_t) ** gamma * bce).mean()


__all__ = ["make_defects", "noise_region", "blob", "scratch", "focal_loss"]
