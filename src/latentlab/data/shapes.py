"""A ground-truth data set with known factors: dSprites-like shapes drawn in NumPy, and the real dSprites file.

:func:`load_shapes` draws binary images of one white shape on black, made
from five independent factors as in dSprites (Matthey et al., "dSprites:
Disentanglement testing sprites dataset", 2017): shape (square, ellipse,
heart), scale (6 values from 0.5 to 1), orientation (40 values over a full
turn), x and y position (32 values each, by default). Nothing is downloaded:
each image is a pure function of its factors (:func:`render_shapes`), so the
same factors always draw the same pixels.

:func:`load_dsprites` reads the real ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``
when the user has it, without unpickling anything (its ``metadata`` entry, a
pickled dict, is never read).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .validation import input_file

SHAPES = ("square", "ellipse", "heart")
FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
#: How many values each factor takes by default (dSprites' grid, without its constant colour).
DEFAULT_COUNTS = (3, 6, 40, 32, 32)
_SUPERSAMPLE = 3  # sub-pixels per side: a pixel is on when most of its area is inside the shape


@dataclass(frozen=True)
class ShapesData:
    """Images and the factors that made them.

    Attributes
    ----------
    images : ndarray of float32, shape (n, 1, size, size)
        Pixels in {0, 1}.
    factors : ndarray of int64, shape (n, 5)
        Index of each factor's value (columns in :attr:`factor_names` order).
    values : ndarray of float64, shape (n, 5)
        The factor values: shape 1..3, scale 0.5..1, orientation in radians, x and y in [0, 1].
    factor_names : tuple of str
    counts : tuple of int
        Number of values of each factor.
    """

    images: np.ndarray
    factors: np.ndarray
    values: np.ndarray
    factor_names: tuple[str, ...] = FACTOR_NAMES
    counts: tuple[int, ...] = DEFAULT_COUNTS

    def __len__(self) -> int:
        return len(self.images)

    def flat(self) -> np.ndarray:
        """The images as rows ``(n, size * size)`` for the fully connected families."""
        return self.images.reshape(len(self.images), -1)


def factor_values(factors: np.ndarray, counts: tuple[int, ...] = DEFAULT_COUNTS) -> np.ndarray:
    """Factor values ``(n, 5)`` of factor indices, as dSprites defines them.

    Examples
    --------
    >>> factor_values(np.array([[2, 5, 10, 0, 31]]))[0].round(3).tolist()
    [3.0, 1.0, 1.571, 0.0, 1.0]
    """
    f = _check_factors(factors, counts)
    out = np.empty(f.shape, dtype=np.float64)
    out[:, 0] = f[:, 0] + 1
    out[:, 1] = 0.5 + 0.5 * f[:, 1] / max(counts[1] - 1, 1)
    out[:, 2] = 2 * math.pi * f[:, 2] / counts[2]
    out[:, 3] = f[:, 3] / max(counts[3] - 1, 1)
    out[:, 4] = f[:, 4] / max(counts[4] - 1, 1)
    return out


def _check_factors(factors, counts) -> np.ndarray:
    f = np.asarray(factors)
    if f.ndim != 2 or f.shape[1] != len(FACTOR_NAMES):
        raise DataError(f"factors must be an (n, {len(FACTOR_NAMES)}) array of {FACTOR_NAMES}, got shape {f.shape}.")
    if f.dtype.kind not in "iu":
        raise DataError(f"factors must be integer indices, got {f.dtype}.")
    if len(counts) != len(FACTOR_NAMES) or any(int(c) < 1 for c in counts):
        raise DataError(f"counts must be {len(FACTOR_NAMES)} positive integers, got {counts}.")
    bad = (f < 0) | (f >= np.asarray(counts))
    if bad.any():
        col = int(np.argwhere(bad)[0, 1])
        raise DataError(f"factor {FACTOR_NAMES[col]!r} takes indices 0..{counts[col] - 1}; got {f[bad][0]}.")
    return f.astype(np.int64)


def _inside(shape: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether points (u, v) in a shape's own frame (radius about 1) are inside it; ``shape`` broadcasts."""
    square = np.maximum(np.abs(u), np.abs(v)) <= 0.8
    ellipse = (u / 1.0) ** 2 + (v / 0.5) ** 2 <= 1.0
    hu, hv = u * 1.15, -v * 1.15 + 0.15  # the heart's point faces down in the image
    heart = (hu**2 + hv**2 - 1) ** 3 - hu**2 * hv**3 <= 0
    return np.where(shape == 0, square, np.where(shape == 1, ellipse, heart))


def render_shapes(factors: np.ndarray, size: int = 64, counts: tuple[int, ...] = DEFAULT_COUNTS) -> np.ndarray:
    """Draw the images ``(n, 1, size, size)`` (float32 in {0, 1}) of factor indices ``(n, 5)``.

    A pure function: the same factors always give the same pixels.

    Examples
    --------
    >>> img = render_shapes(np.array([[0, 5, 0, 16, 16]]), size=32)
    >>> img.shape, float(img.max()), int(img.sum()) > 20
    ((1, 1, 32, 32), 1.0, True)
    """
    if not isinstance(size, int) or not 8 <= size <= 512:
        raise DataError(f"size={size!r} must be an integer from 8 to 512 pixels (64 as dSprites, or 32).")
    f = _check_factors(factors, counts)
    vals = factor_values(f, counts)
    radius = (0.16 * size * vals[:, 1]).astype(np.float32)  # pixels, at scale 1 about a third of the image across
    margin = 0.16 * size + 1.0
    cx = (margin + vals[:, 3] * (size - 2 * margin)).astype(np.float32)
    cy = (margin + vals[:, 4] * (size - 2 * margin)).astype(np.float32)
    angle = vals[:, 2].astype(np.float32)
    s = _SUPERSAMPLE
    grid = ((np.arange(size * s) + 0.5) / s).astype(np.float32)  # sub-pixel centres, in pixels
    out = np.empty((len(f), 1, size, size), dtype=np.float32)
    step = max(1, 2_000_000 // (size * size * s * s))
    for a in range(0, len(f), step):
        b = slice(a, a + step)
        dx = (grid[None, None, :] - cx[b, None, None]) / radius[b, None, None]  # (B, 1, W*s)
        dy = (grid[None, :, None] - cy[b, None, None]) / radius[b, None, None]  # (B, H*s, 1)
        cos, sin = np.cos(angle[b])[:, None, None], np.sin(angle[b])[:, None, None]
        u, v = cos * dx + sin * dy, -sin * dx + cos * dy  # rotate the frame by -orientation
        inside = _inside(f[b, 0][:, None, None], u, v)  # (B, H*s, W*s)
        cover = inside.reshape(len(u), size, s, size, s).mean(axis=(2, 4))
        out[b, 0] = (cover >= 0.5).astype(np.float32)
    return out


def load_shapes(
    n_samples: int = 10_000, size: int = 64, seed: int = 0, counts: tuple[int, ...] = DEFAULT_COUNTS
) -> ShapesData:
    """Procedural dSprites-like images with their factors (no download).

    Each of the ``n_samples`` images draws every factor independently and
    uniformly from its ``counts`` values (by default dSprites' grid: 3 shapes,
    6 scales, 40 orientations, 32 x 32 positions).

    Parameters
    ----------
    n_samples : int
        Number of images (up to 2,000,000).
    size : int
        Image side in pixels: 64 as dSprites, 32 for a quicker set.
    seed : int
        Which factors are drawn.
    counts : tuple of 5 int
        Values per factor (shape count at most 3).

    Examples
    --------
    >>> d = load_shapes(100, size=32, seed=0)
    >>> d.images.shape, d.factors.shape, d.factor_names
    ((100, 1, 32, 32), (100, 5), ('shape', 'scale', 'orientation', 'pos_x', 'pos_y'))
    >>> bool((render_shapes(d.factors, size=32) == d.images).all())
    True
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or not 1 <= n_samples <= 2_000_000:
        raise DataError(f"n_samples={n_samples!r} must be an integer from 1 to 2,000,000.")
    counts = tuple(int(c) for c in counts)
    if len(counts) != len(FACTOR_NAMES) or min(counts) < 1 or counts[0] > len(SHAPES):
        raise DataError(f"counts must be 5 positive integers with at most {len(SHAPES)} shapes, got {counts}.")
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, c, n_samples) for c in counts], axis=1).astype(np.int64)
    return ShapesData(render_shapes(factors, size, counts), factors, factor_values(factors, counts), FACTOR_NAMES, counts)


def load_dsprites(path: str | Path, n_samples: int | None = None, seed: int = 0) -> ShapesData:
    """The real dSprites ``.npz`` (``imgs``, ``latents_classes``, ``latents_values``), optionally a random subset.

    The constant colour factor is dropped, so the factors are those of
    :func:`load_shapes`. Nothing is unpickled: the file's ``metadata`` entry
    is not read.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.npz")
    >>> cls = np.zeros((4, 6), np.int64); cls[:, 1] = [0, 1, 2, 0]
    >>> np.savez(p, imgs=np.zeros((4, 64, 64), np.uint8), latents_classes=cls, latents_values=cls.astype(float))
    >>> load_dsprites(p).images.shape
    (4, 1, 64, 64)
    """
    path = input_file(path, "the dSprites .npz file itself",
                      missing="download dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz or use load_shapes()")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path} is not a NumPy .npz archive ({exc}).") from None
    with archive:
        names = set(getattr(archive, "files", ()))
        missing = {"imgs", "latents_classes", "latents_values"} - names
        if missing:
            raise DataError(f"{path} is not a dSprites file: it lacks {sorted(missing)} (has {sorted(names)[:8]}).")
        try:
            imgs, classes, values = (archive[k] for k in ("imgs", "latents_classes", "latents_values"))
        except ValueError as exc:  # object arrays need pickle: refused
            raise DataError(f"{path} holds object arrays ({exc}); a dSprites file holds plain numbers.") from None
    n = len(imgs)
    if imgs.ndim != 3 or n == 0 or classes.shape != (n, 6) or values.shape != (n, 6):
        raise DataError(
            f"{path}: expected imgs (n, 64, 64) and latents (n, 6); got {imgs.shape}, {classes.shape}, {values.shape}."
        )
    if imgs.dtype.kind not in "iub" or classes.dtype.kind not in "iu":
        raise DataError(f"{path}: imgs and latents_classes must be integers, got {imgs.dtype} and {classes.dtype}.")
    _check_latents(path, classes, values)
    idx = np.arange(n)
    if n_samples is not None:
        if not isinstance(n_samples, int) or not 1 <= n_samples <= n:
            raise DataError(f"n_samples={n_samples!r} must be an integer from 1 to {n} (the file's size).")
        idx = np.sort(np.random.default_rng(seed).choice(n, n_samples, replace=False))
    counts = tuple(int(c) for c in classes[:, 1:].max(0) + 1)
    images = (imgs[idx] > 0).astype(np.float32)[:, None]
    return ShapesData(images, classes[idx, 1:].astype(np.int64), values[idx, 1:].astype(np.float64), FACTOR_NAMES, counts)


def _check_latents(path: Path, classes: np.ndarray, values: np.ndarray) -> None:
    """Refuse latent classes that are not indices (negative: they would give negative value counts) and
    latent values that are not finite numbers, naming the factor and the first bad row."""
    names = ("color", *FACTOR_NAMES)
    neg = classes < 0
    if neg.any():
        row, col = (int(v) for v in np.argwhere(neg)[0])
        raise DataError(
            f"{path}: latents_classes holds {int(neg.sum())} negative value(s) (the first: {int(classes[row, col])} "
            f"for {names[col]!r}, row {row}); classes are indices 0..K-1. The file is corrupt or not dSprites."
        )
    if values.dtype.kind not in "iuf" or not np.isfinite(values).all():
        raise DataError(f"{path}: latents_values must be finite numbers (found {values.dtype} with NaN, inf or "
                        "non-numbers); the file is corrupt.")


__all__ = ["ShapesData", "load_shapes", "load_dsprites", "render_shapes", "factor_values", "FACTOR_NAMES", "SHAPES"]
