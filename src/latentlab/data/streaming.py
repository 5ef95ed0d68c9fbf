"""Data bigger than memory: sources read in chunks, so peak memory does not grow with the file.

A *source* knows its number of rows, the shape of one sample, and how to read
rows ``[start, stop)`` (``.npy`` through a memory-mapped window, image
folders through Pillow) or to stream them in order (CSV and Parquet in
chunks). :class:`StreamingData` turns a source into the trainer's batches:
blocks of rows are shuffled each epoch and mixed a few at a time, every
``1/validation_split``-th row is held out, and under ``torchrun`` each rank
reads an equal, disjoint part of every epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, DataTypeError

Chunk = tuple[np.ndarray, "np.ndarray | None"]


class Source:
    """Rows read in chunks. Subclasses set ``shape``, ``n``, ``has_labels`` and implement ``read`` or ``stream``."""

    shape: tuple[int, ...]
    n: int
    has_labels: bool = False
    random_access: bool = True

    def __len__(self) -> int:
        return self.n

    def read(self, start: int, stop: int) -> Chunk:
        """Rows ``[start, stop)`` as float32 ``(rows, *shape)`` and labels (or None)."""
        raise NotImplementedError

    def stream(self, chunk_rows: int) -> Iterator[Chunk]:
        """All rows in order, ``chunk_rows`` at a time."""
        for a in range(0, self.n, chunk_rows):
            yield self.read(a, min(a + chunk_rows, self.n))


class NpySource(Source):
    """A ``.npy`` file read through a memory-mapped window that is unmapped after each read.

    Only the window's pages are ever mapped, so resident memory stays at the
    size of a few blocks whatever the size of the file.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "x.npy"); np.save(f, np.arange(12.0).reshape(6, 2))
    >>> src = NpySource(f)
    >>> len(src), src.shape, src.read(4, 6)[0].tolist()
    (6, (2,), [[8.0, 9.0], [10.0, 11.0]])
    """

    def __init__(self, path: str | Path, labels: str | Path | np.ndarray | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"{self.path} does not exist; pass a .npy file.")
        with open(self.path, "rb") as fh:
            try:
                version = np.lib.format.read_magic(fh)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read_header(fh)
            except ValueError as exc:
                raise DataError(f"{self.path} is not a .npy file ({exc}).") from None
            self.offset = fh.tell()
        if dtype.hasobject or dtype.kind not in "biuf":
            raise DataTypeError(f"{self.path} holds dtype {dtype}; only numeric arrays can be streamed (no pickles).")
        if fortran and len(shape) > 1:
            raise DataError(f"{self.path} is in Fortran order; save it with np.save(np.ascontiguousarray(X)).")
        if len(shape) < 2 or shape[0] == 0:
            raise DataError(f"{self.path} has shape {shape}; pass (n_samples, n_features...) with n_samples >= 1.")
        self.dtype, self.n, self.shape = dtype, int(shape[0]), tuple(int(s) for s in shape[1:])
        self.row_bytes = dtype.itemsize * math.prod(self.shape)
        self.labels = None
        if labels is not None:
            lab = np.load(labels, mmap_mode="r", allow_pickle=False) if not isinstance(labels, np.ndarray) else labels
            if lab.shape != (self.n,):
                raise DataError(f"labels have shape {lab.shape}; expected ({self.n},), one per row.")
            self.labels, self.has_labels = lab, True

    def read(self, start: int, stop: int) -> Chunk:
        rows = stop - start
        mm = np.memmap(self.path, self.dtype, "r", offset=self.offset + start * self.row_bytes, shape=(rows, *self.shape))
        x = np.array(mm, dtype=np.float32)  # a copy; the mapping is dropped just below
        del mm
        y = None if self.labels is None else np.asarray(self.labels[start:stop], dtype=np.int64)
        return x, y


class ImageFolderSource(Source):
    """A folder of images (or of class sub-folders) read a block at a time through Pillow."""

    def __init__(self, root: str | Path, size: tuple[int, int] | None = None, mode: str | None = None):
        from .images import list_images, probe

        self.files, self.labels, self.classes = list_images(root)
        self.mode, self.size = probe(self.files, mode, size)
        c = 1 if self.mode == "L" else 3
        self.n, self.shape, self.has_labels = len(self.files), (c, *self.size), self.labels is not None

    def read(self, start: int, stop: int) -> Chunk:
        from .images import read_image

        x = np.stack([read_image(f, self.mode, self.size) for f in self.files[start:stop]])
        return x, None if self.labels is None else self.labels[start:stop]


class TableSource(Source):
    """CSV (pandas, in chunks) or Parquet (pyarrow, batch by batch), streamed in file order."""

    random_access = False

    def __init__(self, path: str | Path, label_column: str | None = None, chunk_rows: int = 65536):
        self.path, self.label_column, self.chunk_rows = Path(path), label_column, chunk_rows
        if not self.path.is_file():
            raise DataError(f"{self.path} does not exist; pass a .csv or .parquet file.")
        self.parquet = self.path.suffix.lower() in (".parquet", ".pq")
        self.has_labels = label_column is not None
        n, width = 0, None
        if self.parquet:
            import pyarrow.parquet as pq

            n = pq.ParquetFile(self.path).metadata.num_rows
        for x, _ in self._chunks(first_only=self.parquet):  # CSV: one counting pass, a chunk at a time
            width = x.shape[1]
            if not self.parquet:
                n += len(x)
        if not n or width is None:
            raise DataError(f"{self.path} has no rows.")
        self.n, self.shape = n, (width,)

    def _frames(self):
        if self.parquet:
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(self.path).iter_batches(batch_size=self.chunk_rows):
                yield batch.to_pandas()
        else:
            import pandas as pd

            sep = "\t" if self.path.suffix.lower() == ".tsv" else ","
            yield from pd.read_csv(self.path, sep=sep, chunksize=self.chunk_rows)

    def _chunks(self, first_only: bool = False) -> Iterator[Chunk]:
        for df in self._frames():
            y = None
            if self.label_column is not None:
                if self.label_column not in df.columns:
                    raise DataError(f"{self.path} has no column {self.label_column!r}; columns: {list(df.columns)[:10]}.")
                y = df.pop(self.label_column).to_numpy().astype(np.int64)
            bad = [c for c in df.columns if df[c].dtype.kind not in "iufb"]
            if bad:
                raise DataTypeError(f"{self.path} has non-numeric column(s) {bad[:5]}; drop them first.")
            yield df.to_numpy(dtype=np.float32), y
            if first_only:
                return

    def stream(self, chunk_rows: int) -> Iterator[Chunk]:
        yield from self._chunks()


def open_source(path: str | Path, label_column: str | None = None) -> Source:
    """The source for a path: ``.npy``, ``.csv``/``.tsv``, ``.parquet``, or a folder of images."""
    p = Path(path)
    if p.is_dir():
        return ImageFolderSource(p)
    suffix = p.suffix.lower()
    if suffix == ".npy":
        return NpySource(p)
    if suffix in (".csv", ".tsv", ".txt", ".parquet", ".pq"):
        return TableSource(p, label_column)
    raise DataError(f"{p}: cannot stream {suffix!r}; use .npy, .csv, .parquet or a folder of images.")


def default_block_rows(shape: tuple[int, ...], floats: int = 1 << 21) -> int:
    """Rows per block so that one block holds about ``floats`` float32 values (8 MB).

    Examples
    --------
    >>> default_block_rows((784,))
    2674
    """
    return int(np.clip(floats // max(math.prod(shape), 1), 16, 65536))


def is_validation(start: int, stop: int, fraction: float) -> np.ndarray:
    """Which of rows ``[start, stop)`` are held out: evenly spaced, ``floor(n * fraction)`` of the first n.

    Examples
    --------
    >>> is_validation(0, 10, 0.2).nonzero()[0].tolist()
    [4, 9]
    """
    i = np.arange(start, stop, dtype=np.float64)
    return np.floor((i + 1) * fraction) > np.floor(i * fraction)


class StreamingData:
    """The trainer's view of a source: scaled batches of the training or validation rows.

    Parameters
    ----------
    source : Source
    transform : callable
        Maps a float32 chunk ``(rows, *shape)`` into the model's space (the fitted scaler).
    role : {'train', 'val'}
    validation_split : float
        Fraction of rows held out (the same rows in both roles).
    block_rows : int, optional
        Rows read at once (default: about 8 MB of float32).
    mix : int
        Blocks shuffled together, trading memory for better mixing.
    """

    def __init__(self, source: Source, transform, role: str = "train", validation_split: float = 0.0,
                 block_rows: int | None = None, mix: int = 4):
        self.source, self.transform, self.role, self.frac = source, transform, role, float(validation_split)
        self.block_rows = block_rows or default_block_rows(source.shape)
        self.mix = mix
        n_val = int(math.floor(len(source) * self.frac))
        self.n = n_val if role == "val" else len(source) - n_val

    def __len__(self) -> int:
        return self.n

    def _keep(self, a: int, b: int) -> np.ndarray:
        v = is_validation(a, b, self.frac) if self.frac > 0 else np.zeros(b - a, dtype=bool)
        return v if self.role == "val" else ~v

    def _rows(self, generator, rank: int, world: int) -> Iterator[Chunk]:
        """This rank's rows for one epoch, in chunks (shuffled when a generator is given)."""
        src = self.source
        if self.role == "train" and src.random_access and generator is not None:
            blocks = [(a, min(a + self.block_rows, len(src))) for a in range(0, len(src), self.block_rows)]
            order = torch.randperm(len(blocks), generator=generator).tolist()
            m = self.n // world  # equal and disjoint: rank r keeps train positions [r*m, (r+1)*m)
            lo, hi, pos = rank * m, (rank + 1) * m, 0
            for i in order:
                a, b = blocks[i]
                keep = self._keep(a, b)
                count = int(keep.sum())
                if pos + count > lo and pos < hi:
                    x, y = src.read(a, b)
                    sel = np.nonzero(keep)[0][max(lo - pos, 0) : min(hi - pos, count)]
                    yield x[sel], None if y is None else y[sel]
                pos += count
                if pos >= hi:
                    return
            return
        # Sequential sources, and evaluation: file order, rank r keeps every world-th kept row.
        limit = (self.n // world) * world if self.role == "train" else self.n
        pos, start = 0, 0
        for x, y in src.stream(self.block_rows):
            keep = np.nonzero(self._keep(start, start + len(x)))[0]
            start += len(x)
            positions = pos + np.arange(len(keep))
            pos += len(keep)
            mine = keep[(positions % world == rank) & (positions < limit)]
            if len(mine):
                yield x[mine], None if y is None else y[mine]

    def batches(self, batch_size: int, generator: torch.Generator | None = None,
                shard: tuple[int, int] = (0, 1)) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Batches of ``(x, y)`` CPU tensors; rows are mixed ``mix`` blocks at a time when shuffling."""
        rank, world = shard
        np_rng = None if generator is None else np.random.default_rng(int(torch.randint(2**31, (1,), generator=generator)))
        pending: list[Chunk] = []
        held = 0
        carry: Chunk | None = None

        def flush(final: bool):
            nonlocal carry
            parts = ([carry] if carry is not None else []) + pending
            x = np.concatenate([p[0] for p in parts])
            y = None if parts[0][1] is None else np.concatenate([p[1] for p in parts])
            if np_rng is not None:
                perm = np_rng.permutation(len(x))
                x, y = x[perm], None if y is None else y[perm]
            cut = len(x) if final else (len(x) // batch_size) * batch_size
            carry = None if cut == len(x) else (x[cut:].copy(), None if y is None else y[cut:].copy())
            for i in range(0, cut, batch_size):  # scaled a batch at a time: no second copy of the window
                xb = torch.from_numpy(self.transform(x[i : i + batch_size]))
                yield xb, None if y is None else torch.from_numpy(y[i : i + batch_size])

        for chunk in self._rows(generator, rank, world):
            pending.append(chunk)
            held += len(chunk[0])
            if held >= self.mix * self.block_rows:
                yield from flush(final=False)
                pending, held = [], 0
        if pending or carry is not None:
            yield from flush(final=True)
