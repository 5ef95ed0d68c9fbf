"""The pieces of :class:`~latentlab.ImageAnomalyDetector`: the network, synthetic defects, residual maps.

- :class:`PatchAutoencoder`: :class:`~latentlab.nn.fcn.FCNEncoder` and
  :class:`~latentlab.nn.fcn.FCNDecoder` without skips (the code is a
  bottleneck), so it runs on a patch or a whole image of any size.
- :func:`add_defects`: DRAEM-style synthetic defects pasted on training
  patches (soft blobs brighter or darker than the part, thin scratches, and
  pieces of texture from another patch); the network learns to give back the
  clean patch, so a real defect is not reconstructed and leaves a residual.
- :func:`ssim_map` and :func:`residual_map`: per-pixel residuals, the squared
  error, ``1 - SSIM`` (Wang et al. 2004, Gaussian window) or their mean,
  smoothed with a small Gaussian.
- :func:`standardise` / :func:`resize`: each image's own median and spread,
  and area / bilinear resizing.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..nn.fcn import FCNDecoder, FCNEncoder, receptive_radius

RESIDUALS = ("l2", "ssim", "mix")


class PatchAutoencoder(nn.Module):
    """A fully convolutional autoencoder: ``len(channels)`` stride-2 stages down to ``latent`` channels and back."""

    def __init__(self, in_channels: int, channels=(32, 64), latent: int = 16, depth: int = 1):
        super().__init__()
        self.encoder = FCNEncoder(in_channels, channels, latent, depth)
        self.decoder = FCNDecoder(latent, channels, in_channels, depth)
        self.factor = self.encoder.factor
        self.radius = receptive_radius(len(tuple(channels)), depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))  # (B, C, H, W): sides must be multiples of ``factor``


class SegmentationHead(nn.Module):
    """DRAEM's discriminative part: a small U-Net from an image and its reconstruction to defect logits."""

    def __init__(self, in_channels: int, channels=(16, 32, 64), depth: int = 1):
        super().__init__()
        self.encoder = FCNEncoder(2 * in_channels, channels, None, depth)
        self.decoder = FCNDecoder(None, channels, 1, depth)
        self.factor = self.encoder.factor
        self.radius = receptive_radius(len(tuple(channels)), depth)

    def forward(self, x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
        feats = self.encoder.features(torch.cat([x, recon], 1))
        return self.decoder(feats[-1], feats)  # (B, 1, H, W) logits; sides multiples of ``factor``


class Pipeline(nn.Module):
    """Reconstruction, then (when there is a head) the head's logits: ``(B, C + 1, H, W)`` or ``(B, C, H, W)``."""

    def __init__(self, ae: PatchAutoencoder, head: SegmentationHead | None):
        super().__init__()
        self.ae, self.head = ae, head
        self.factor = max(ae.factor, head.factor if head is not None else 1)
        self.radius = ae.radius + (head.radius if head is not None else 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        recon = self.ae(x)
        return recon if self.head is None else torch.cat([recon, self.head(x, recon)], 1)


# -------------------------------------------------------------------------------- preprocessing
def standardise(image: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` centred on each channel's median and divided by its spread (MAD, floored), float32."""
    flat = image.reshape(image.shape[0], -1)
    med = np.median(flat, axis=1)
    mad = np.median(np.abs(flat - med[:, None]), axis=1) * 1.4826
    scale = np.maximum(mad, 0.02)
    return ((image - med[:, None, None]) / scale[:, None, None]).astype(np.float32)


def resize(image: np.ndarray, size: tuple[int, int], mode: str = "area") -> np.ndarray:
    """A ``(C, H, W)`` array resized to ``size`` (``'area'`` to shrink, ``'bilinear'`` to grow back)."""
    if tuple(image.shape[1:]) == tuple(size):
        return image
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None]
    kw = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(t, size=tuple(size), mode=mode, **kw)[0].numpy()


def working_size(shape: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    """The ``(H, W)`` an image is scored at: shrunk so its longer side is at most ``max_side``."""
    h, w = shape
    if max_side is None or max(h, w) <= max_side:
        return h, w
    f = max_side / max(h, w)
    return max(1, round(h * f)), max(1, round(w * f))


# -------------------------------------------------------------------------------- synthetic defects
def _blob(rng: np.random.Generator, size: int) -> np.ndarray:
    """A soft random ellipse in ``[0, 1]`` of shape ``(size, size)``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cy, cx = rng.uniform(0.15, 0.85, 2) * size
    ry, rx = rng.uniform(0.03, 0.2, 2) * size + 1.0
    a = rng.uniform(0, math.pi)
    dy, dx = yy - cy, xx - cx
    u, v = dy * math.cos(a) + dx * math.sin(a), -dy * math.sin(a) + dx * math.cos(a)
    d = (u / ry) ** 2 + (v / rx) ** 2
    return np.clip(1.5 - d, 0.0, 1.0) ** 0.5


def _scratch(rng: np.random.Generator, size: int) -> np.ndarray:
    """A thin random polyline in ``[0, 1]`` of shape ``(size, size)``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = np.zeros((size, size), np.float32)
    p = rng.uniform(0.1, 0.9, 2) * size
    width = rng.uniform(0.6, 2.0)
    for _ in range(int(rng.integers(1, 4))):
        q = np.clip(p + rng.normal(0, 0.25 * size, 2), 0, size - 1)
        d = q - p
        t = np.clip(((yy - p[0]) * d[0] + (xx - p[1]) * d[1]) / max(float(d @ d), 1e-6), 0, 1)
        dist = np.hypot(yy - (p[0] + t * d[0]), xx - (p[1] + t * d[1]))
        out = np.maximum(out, np.clip(1.0 - dist / width, 0, 1))
        p = q
    return out


def add_defects(batch: np.ndarray, rng: np.random.Generator, rate: float) -> np.ndarray:
    """A copy of ``batch`` ``(B, C, s, s)`` (standardised patches) with a synthetic defect on a ``rate`` share."""
    out = batch.copy()
    b, _, s, _ = batch.shape
    for i in np.flatnonzero(rng.random(b) < rate):
        kind = rng.integers(3)
        mask = _scratch(rng, s) if kind == 1 else _blob(rng, s)
        if kind == 2:  # texture from another patch, shifted in brightness
            other = batch[rng.integers(b)] + rng.normal(0, 1.0)
            out[i] = out[i] * (1 - mask) + other * mask
        else:
            out[i] = out[i] + mask * rng.choice([-1.0, 1.0]) * rng.uniform(1.5, 5.0)
    return out


# -------------------------------------------------------------------------------- residual maps
def _gauss_kernel(sigma: float) -> torch.Tensor:
    r = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)`` with reflected borders; ``sigma <= 0`` returns ``x``."""
    if sigma <= 0:
        return x
    k = _gauss_kernel(sigma)
    r, c = k.numel() // 2, x.shape[1]
    pad_h, pad_w = min(r, x.shape[2] - 1), min(r, x.shape[3] - 1)
    kh = k[r - pad_h : r + pad_h + 1].view(1, 1, -1, 1).repeat(c, 1, 1, 1)
    kw = k[r - pad_w : r + pad_w + 1].view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    x = F.conv2d(F.pad(x, (0, 0, pad_h, pad_h), mode="reflect") if pad_h else x, kh, groups=c)
    return F.conv2d(F.pad(x, (pad_w, pad_w, 0, 0), mode="reflect") if pad_w else x, kw, groups=c)


def ssim_map(a: torch.Tensor, b: torch.Tensor, sigma: float = 1.5, c1: float = 0.01, c2: float = 0.03) -> torch.Tensor:
    """Per-pixel SSIM of ``(B, C, H, W)`` tensors in standardised units (constants for a spread of about 1)."""
    mu_a, mu_b = gaussian_blur(a, sigma), gaussian_blur(b, sigma)
    va = gaussian_blur(a * a, sigma) - mu_a**2
    vb = gaussian_blur(b * b, sigma) - mu_b**2
    cov = gaussian_blur(a * b, sigma) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))


def residual_map(x: torch.Tensor, recon: torch.Tensor, kind: str, sigma: float) -> torch.Tensor:
    """The ``(H, W)`` anomaly map of one image ``x`` ``(1, C, H, W)`` and its reconstruction, smoothed by ``sigma``."""
    l2 = ((x - recon) ** 2).mean(1, keepdim=True)
    if kind == "l2":
        m = l2
    else:
        ssim = (1 - ssim_map(x, recon)).mean(1, keepdim=True).clamp(min=0)
        m = ssim if kind == "ssim" else 0.5 * ssim + 0.5 * l2.clamp(max=25.0) / 4.0
    return gaussian_blur(m, sigma)[0, 0]


__all__ = ["PatchAutoencoder", "SegmentationHead", "Pipeline", "standardise", "resize", "working_size", "add_defects", "gaussian_blur",
           "ssim_map", "residual_map", "RESIDUALS"]
