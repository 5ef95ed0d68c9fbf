"""Random square patches of photos for training, drawn a batch at a time.

:class:`PatchSampler` makes no copy of all patches: only one batch exists at a
time, cut from the photos as :mod:`.photos` read them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from ..errors import DataError
from .photos import Photo, open_photos


def augment_patch(x: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 symmetries of the square: ``k % 4`` quarter turns, then a flip when ``k >= 4``."""
    x = np.rot90(x, k % 4, axes=(-2, -1))
    return x[..., ::-1] if k >= 4 else x


class PatchSampler:
    """Random square patches of photos, drawn a batch at a time (the trainer's data interface).

    A patch's top-left corner is uniform over all valid positions of all
    photos, so large photos give proportionally more patches. Only one
    batch of patches exists at a time.

    Parameters
    ----------
    images : folder, paths, arrays of any sizes, or a list of :class:`Photo`
    patch_size : int
        Side of each patch; every photo must be at least this large.
    patches_per_epoch : int
        Patches one epoch yields (``len(sampler)``).
    augment : bool
        Random flips and quarter turns (the 8 symmetries of the square).
    mode : {'L', 'RGB'} or None
    seed : int
        Used when the trainer gives no generator; ``fixed=True`` draws the
        same patches every time (a validation set that is never stored).
    transform : callable, optional
        Applied to each float32 batch ``(B, C, p, p)`` (a scaler).

    Examples
    --------
    >>> s = PatchSampler([np.random.rand(40, 50), np.random.rand(33, 90)], patch_size=16, patches_per_epoch=10)
    >>> [tuple(x.shape) for x, _ in s.batches(4)]
    [(4, 1, 16, 16), (4, 1, 16, 16), (2, 1, 16, 16)]
    """

    def __init__(self, images, patch_size: int = 32, patches_per_epoch: int = 4096, *, augment: bool = True,
                 mode: str | None = None, seed: int = 0, fixed: bool = False, transform=None, layout: str = "auto"):
        if isinstance(patch_size, bool) or not isinstance(patch_size, int) or patch_size < 2:
            raise DataError(f"patch_size={patch_size!r} must be an integer >= 2.")
        if isinstance(patches_per_epoch, bool) or not isinstance(patches_per_epoch, int) or patches_per_epoch < 1:
            raise DataError(f"patches_per_epoch={patches_per_epoch!r} must be a positive integer.")
        if isinstance(images, list) and images and all(isinstance(p, Photo) for p in images):
            photos = images
        else:
            photos = open_photos(images, mode, layout)
        small = [p for p in photos if min(p.size) < patch_size]
        if small:
            p = small[0]
            raise DataError(
                f"{len(small)} photo(s) are smaller than patch_size={patch_size} ({p.name} is {p.size[1]}x{p.size[0]}); "
                "pass a smaller patch_size or leave those photos out."
            )
        if len({p.channels for p in photos}) != 1:
            raise DataError("the photos have different channel counts; pass mode='L' or mode='RGB'.")
        self.photos, self.patch_size, self.n = photos, patch_size, patches_per_epoch
        self.augment, self.seed, self.fixed, self.transform = augment, seed, fixed, transform
        self.channels = photos[0].channels
        positions = np.array([(p.size[0] - patch_size + 1) * (p.size[1] - patch_size + 1) for p in photos], np.float64)
        self.weights = positions / positions.sum()
        self._draws = 0

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.patch_size, self.patch_size)

    def __len__(self) -> int:
        return self.n

    def with_options(self, **changes) -> PatchSampler:
        """The same photos with other options (``patches_per_epoch``, ``fixed``, ``seed``, ``transform``...)."""
        opts = dict(patch_size=self.patch_size, patches_per_epoch=self.n, augment=self.augment, seed=self.seed,
                    fixed=self.fixed, transform=self.transform)
        opts.update(changes)
        return PatchSampler(self.photos, **opts)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` patches as float32 ``(n, C, p, p)`` in [0, 1]."""
        s = self.patch_size
        out = np.empty((n, self.channels, s, s), np.float32)
        which = rng.choice(len(self.photos), size=n, p=self.weights)
        for i, j in enumerate(which):
            ph = self.photos[j]
            top = int(rng.integers(0, ph.size[0] - s + 1))
            left = int(rng.integers(0, ph.size[1] - s + 1))
            patch = ph.crop(top, left, s)
            out[i] = augment_patch(patch, int(rng.integers(0, 8))) if self.augment else patch
        return out

    def batches(self, batch_size: int, generator: torch.Generator | None = None,
                shard: tuple[int, int] = (0, 1)) -> Iterator[tuple[torch.Tensor, None]]:
        """``(x, None)`` batches of one epoch; rank ``r`` of ``world`` draws its own ``n // world`` patches."""
        rank, world = shard
        if self.fixed:
            seed = [self.seed, rank]
        elif generator is not None:
            seed = [int(torch.randint(2**31, (1,), generator=generator)), rank]
        else:
            self._draws += 1
            seed = [self.seed, rank, self._draws]
        rng = np.random.default_rng(seed)
        total = self.n // world if world > 1 else self.n
        for a in range(0, total, batch_size):
            x = self.sample(min(batch_size, total - a), rng)
            if self.transform is not None:
                x = np.asarray(self.transform(x), dtype=np.float32)
            yield torch.from_numpy(x), None


def patch_count_hint(photos: list[Photo], patch_size: int) -> int:
    """About how many disjoint patches the photos hold (a sensible ``patches_per_epoch`` scale)."""
    return int(sum(math.prod(p.size) for p in photos) // (patch_size * patch_size))


__all__ = ["PatchSampler", "augment_patch", "patch_count_hint"]
