"""CIFAR-10 from its binary version (no pickles).

Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009.
Each record is 3073 bytes: the label (0-9), then 1024 red, 1024 green and
1024 blue bytes of a 32x32 image in row-major order. The archive
``cifar-10-binary.tar.gz`` holds ``cifar-10-batches-bin/data_batch_{1..5}.bin``
and ``test_batch.bin``.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from ..errors import DataError

RECORD = 1 + 3 * 32 * 32
FOLDER = "cifar-10-batches-bin"
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def parse_cifar_records(data: bytes, name: str = "CIFAR-10 batch") -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, 3, 32, 32), labels int64 (N,))`` from the bytes of one batch file.

    Examples
    --------
    >>> rec = bytes([7]) + bytes(3072)
    >>> x, y = parse_cifar_records(rec * 2)
    >>> x.shape, y.tolist()
    ((2, 3, 32, 32), [7, 7])
    """
    if len(data) == 0 or len(data) % RECORD:
        raise DataError(
            f"{name} has {len(data)} bytes, not a multiple of the {RECORD}-byte CIFAR-10 record; "
            "is it from the binary version (cifar-10-binary.tar.gz), complete and uncorrupted?"
        )
    rec = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    labels = rec[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(f"{name} has label {labels.max()}; CIFAR-10 labels are 0-9 (is this CIFAR-100?).")
    return rec[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def write_cifar_records(path: str | Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write images ``(N, 3, 32, 32)`` uint8 and labels as one binary batch file."""
    images = np.asarray(images, dtype=np.uint8).reshape(len(labels), -1)
    rec = np.concatenate([np.asarray(labels, dtype=np.uint8)[:, None], images], axis=1)
    Path(path).write_bytes(rec.tobytes())


def read_cifar10(root: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Read a split from ``root``: the extracted folder, its parent, or ``cifar-10-binary.tar.gz``.

    The archive is read in place (nothing is extracted to disk).
    """
    if split not in ("train", "test"):
        raise DataError(f"split={split!r}; CIFAR-10 has 'train' and 'test'.")
    names = TRAIN_FILES if split == "train" else TEST_FILES
    root = Path(root)
    blobs: list[tuple[str, bytes]] = []
    if root.is_file() and root.name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(root) as tar:
            for n in names:
                try:
                    member = tar.extractfile(f"{FOLDER}/{n}")
                except KeyError:
                    member = None
                if member is None:
                    raise DataError(f"{root} has no {FOLDER}/{n}; is it cifar-10-binary.tar.gz?")
                blobs.append((n, member.read()))
    else:
        folder = root / FOLDER if (root / FOLDER).is_dir() else root
        for n in names:
            f = folder / n
            if not f.is_file():
                raise DataError(f"{f} is missing; download cifar-10-binary.tar.gz (latentlab.data.loaders.load_cifar10).")
            blobs.append((n, f.read_bytes()))
    parts = [parse_cifar_records(b, n) for n, b in blobs]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
