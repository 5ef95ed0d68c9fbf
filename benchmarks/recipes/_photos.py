"""What the photo recipes share: the seeded held-out split of a folder of photos, seeded random crops, the
cosine learning rate. A recipe's draws stay exactly what they were (same generator, same order)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SUFFIXES = (".png", ".jpg", ".bmp", ".tif")


def read_split(folder: Path, held_out: int, split_seed: int, min_side: int = 1) -> tuple[np.ndarray, np.ndarray,
                                                                                          list[str]]:
    """The training and held-out grey photos, ``(N, H, W)`` float32 on [0, 1], and the held-out names.

    ``held_out`` photos, drawn by ``numpy.random.default_rng(split_seed).permutation``, are never trained on.
    """
    from latentlab.data.photos import load_photos

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in SUFFIXES)
    if len(files) < held_out + 1:
        raise SystemExit(f"{folder} holds {len(files)} photos; the recipe needs Train400's 400 grey photos.")
    photos = [p[0] for p in load_photos([str(f) for f in files], mode="L")]
    held = set(np.random.default_rng(split_seed).permutation(len(files))[:held_out].tolist())
    train = [p for i, p in enumerate(photos) if i not in held]
    val = [p for i, p in enumerate(photos) if i in held]
    if len({p.shape for p in train}) != 1 or min(train[0].shape) < min_side:
        raise SystemExit(f"the recipe expects photos of one size, at least {min_side} a side (Train400's are "
                         "180x180).")
    return np.stack(train), np.stack(val), [files[i].name for i in sorted(held)]


def crops(rng: np.random.Generator, photos: np.ndarray, patch: int, batch: int) -> np.ndarray:
    """``batch`` random ``patch x patch`` crops ``(B, 1, p, p)`` of ``photos`` with the 8 flips and quarter turns."""
    n, h, w = photos.shape
    idx, top, left = rng.integers(n, size=batch), rng.integers(h - patch + 1, size=batch), rng.integers(
        w - patch + 1, size=batch)
    turns, flips = rng.integers(4, size=batch), rng.integers(2, size=batch)
    out = np.empty((batch, 1, patch, patch), np.float32)
    for i in range(batch):
        crop = np.rot90(photos[idx[i], top[i] : top[i] + patch, left[i] : left[i] + patch], turns[i])
        out[i, 0] = crop[:, ::-1] if flips[i] else crop
    return out


def cosine_lr(step: int, steps: int, lr: float, lr_final: float) -> float:
    """The learning rate at ``step``: a cosine from ``lr`` down to ``lr_final`` over ``steps`` steps."""
    t = min(step / steps, 1.0)
    return lr_final + 0.5 * (lr - lr_final) * (1 + math.cos(math.pi * t))
