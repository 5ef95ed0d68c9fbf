"""Real data sets: MNIST, Fashion-MNIST, KMNIST (IDX), CIFAR-10 (binary), image folders.

Each ``load_*`` reads from the cache folder (see :mod:`latentlab.data.downloads`)
and fetches the files first only with ``download=True``. Every file is checked
against its pinned checksum before it is read. Images come back as float32 in
[0, 1], shaped ``(N, C, H, W)``, with int64 labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .cifar import read_cifar10
from .downloads import DATASETS, cache_dir, download, verify
from .idx import read_idx

IDX_SETS = ("mnist", "fashion-mnist", "kmnist")


def _ready(name: str, root, do_download: bool) -> Path:
    folder = cache_dir(root) / name
    if do_download:
        return download(name, root)
    missing = [r.name for r in DATASETS[name] if not (folder / r.name).is_file()]
    if missing:
        raise DataError(
            f"{name} is not in {folder} (missing {missing}); pass download=True, or put the original files there."
        )
    for r in DATASETS[name]:
        verify(folder / r.name, r)
    return folder


def load_idx_dataset(name: str, split: str = "train", root=None, download: bool = False):
    """``(X float32 (N, 1, 28, 28) in [0, 1], y int64)`` of 'mnist', 'fashion-mnist' or 'kmnist'."""
    if name not in IDX_SETS:
        raise DataError(f"{name!r} is not an IDX data set; use one of {list(IDX_SETS)}.")
    if split not in ("train", "test"):
        raise DataError(f"split={split!r}; use 'train' or 'test'.")
    folder = _ready(name, root, download)
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{folder}: images {images.shape} and labels {labels.shape} do not match; re-download.")
    return (images.astype(np.float32) / 255.0)[:, None], labels


def load_mnist(split: str = "train", root=None, download: bool = False):
    """MNIST digits (LeCun et al. 1998), 60k train / 10k test."""
    return load_idx_dataset("mnist", split, root, download)


def load_fashion_mnist(split: str = "train", root=None, download: bool = False):
    """Fashion-MNIST (Xiao et al. 2017), 60k train / 10k test."""
    return load_idx_dataset("fashion-mnist", split, root, download)


def load_kmnist(split: str = "train", root=None, download: bool = False):
    """Kuzushiji-MNIST (Clanuwat et al. 2018), 60k train / 10k test."""
    return load_idx_dataset("kmnist", split, root, download)


def load_cifar10(split: str = "train", root=None, download: bool = False):
    """CIFAR-10 from ``cifar-10-binary.tar.gz``: ``(X float32 (N, 3, 32, 32) in [0, 1], y int64)``."""
    folder = _ready("cifar10", root, download)
    x, y = read_cifar10(folder / "cifar-10-binary.tar.gz", split)
    return x.astype(np.float32) / 255.0, y


LOADERS = {
    "mnist": load_mnist,
    "fashion-mnist": load_fashion_mnist,
    "kmnist": load_kmnist,
    "cifar10": load_cifar10,
}
