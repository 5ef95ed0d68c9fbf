"""In-memory training data as tensors: one batch type, one shuffled batcher.

The trainer and every family speak :class:`Batch`; :class:`TensorData`
keeps a data set on the device as one tensor that is shuffled once per
epoch and cut into contiguous batches (no DataLoader, no per-sample
indexing, no collate).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass
class Batch:
    """One mini-batch: clean inputs ``x``, optional labels ``y`` and mask (1 = observed)."""

    x: torch.Tensor
    y: torch.Tensor | None = None
    mask: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.x.shape[0]


def shard_slice(n: int, rank: int, world: int) -> slice:
    """Rank's equal, disjoint part of ``n`` positions (the remainder is dropped).

    Every rank gets ``n // world`` positions so every rank runs the same
    number of steps, which DDP needs.

    Examples
    --------
    >>> [shard_slice(10, r, 3) for r in range(3)]
    [slice(0, 3, None), slice(3, 6, None), slice(6, 9, None)]
    """
    m = n // world
    return slice(rank * m, (rank + 1) * m)


class TensorData:
    """In-memory data kept on the device; yields contiguous shuffled batches."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None = None, mask: torch.Tensor | None = None):
        self.x, self.y, self.mask = x, y, mask

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device: torch.device) -> TensorData:
        pin = device.type == "cuda"  # pinned host memory makes the non-blocking copy truly asynchronous

        def move(t):
            if t is None or t.device == device:
                return t
            return (t.pin_memory() if pin and t.device.type == "cpu" else t).to(device, non_blocking=True)

        return TensorData(move(self.x), move(self.y), move(self.mask))

    def subset(self, idx: torch.Tensor) -> TensorData:
        pick = lambda t: None if t is None else t[idx.to(t.device)]  # noqa: E731
        return TensorData(pick(self.x), pick(self.y), pick(self.mask))

    def batches(
        self, batch_size: int, generator: torch.Generator | None = None, shard: tuple[int, int] = (0, 1)
    ) -> Iterator[Batch]:
        """Batches shuffled by ``generator``; ``shard=(rank, world)`` keeps this rank's part.

        Every rank draws the same permutation (same seed) and keeps its own
        disjoint, equal slice of it, as ``DistributedSampler(drop_last=True)``
        does; without a generator (evaluation) rank r keeps rows r, r+world, ...
        Each shuffled batch is gathered just before it is used, while it is
        still in cache; unshuffled batches are views, with no copy at all.
        """
        n = len(self)
        rank, world = shard
        if generator is None and world == 1:
            for i in range(0, n, batch_size):
                yield self._pick(slice(i, i + batch_size))
            return
        if generator is not None:
            order = torch.randperm(n, generator=generator)
            if world > 1:
                order = order[shard_slice(n, rank, world)]
        else:
            order = torch.arange(rank, n, world)
        order = order.to(self.x.device)
        for i in range(0, len(order), batch_size):
            yield self._pick(order[i : i + batch_size])

    def _pick(self, idx) -> Batch:
        """Rows ``idx`` (a slice: views; an index tensor: one gather per tensor)."""
        if isinstance(idx, slice):
            take = lambda t: None if t is None else t[idx]  # noqa: E731
        else:
            take = lambda t: None if t is None else t.index_select(0, idx)  # noqa: E731
        return Batch(take(self.x), take(self.y), take(self.mask))


__all__ = ["Batch", "TensorData", "shard_slice"]
