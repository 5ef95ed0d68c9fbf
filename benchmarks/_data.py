"""Benchmark data: MNIST-shaped samples made from the embedded digits (no download)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def mnist_like(n: int = 60_000, seed: int = 0) -> np.ndarray:
    """``n`` x 784 images in [0, 1]: digits upsampled to 28x28, small random shifts and noise."""
    import latentlab

    X, _ = latentlab.load_digits()
    g = np.random.default_rng(seed)
    base = torch.from_numpy(X.reshape(-1, 1, 8, 8))
    up = F.interpolate(base, size=(24, 24), mode="bilinear", align_corners=False)  # (N, 1, 24, 24)
    up = F.pad(up, (2, 2, 2, 2))  # (N, 1, 28, 28)
    idx = g.integers(0, len(X), n)
    out = up[idx].numpy().reshape(n, 28, 28)
    shifts = g.integers(-2, 3, size=(n, 2))
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            sel = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            out[sel] = np.roll(out[sel], (dy, dx), axis=(1, 2))
    out = out + g.normal(0, 0.05, out.shape).astype(np.float32)
    return np.clip(out, 0, 1).reshape(n, 784).astype(np.float32)
