"""Downloads with pinned checksums into a cache folder.

Nothing here runs unless asked. A file already in the cache is checked, not
fetched again; a file that fails its check is never deleted when it was the
user's, and a fresh download that fails its check is removed (it was ours).

The cache is ``$LATENTLAB_DATA`` or ``~/.cache/latentlab``. Every file is
pinned by its SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: its name in the cache, its URLs (first that works) and its checksum."""

    name: str
    urls: tuple[str, ...]
    sha256: str


_IDX = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _idx_set(mirrors: tuple[str, ...], sha256: tuple[str, ...]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(n, tuple(m + n for m in mirrors), sha256[i]) for i, n in enumerate(_IDX))


DATASETS: dict[str, tuple[RemoteFile, ...]] = {
    "mnist": _idx_set(
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        sha256=(
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    ),
    "fashion-mnist": _idx_set(
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        sha256=(
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
    ),
    "kmnist": _idx_set(
        ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        sha256=(
            "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
            "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
            "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
            "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
        ),
    ),
    "cifar10": (
        RemoteFile(
            "cifar-10-binary.tar.gz",
            ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
            sha256="c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
        ),
    ),
}


def cache_dir(root: str | Path | None = None) -> Path:
    """The data cache: ``root``, else ``$LATENTLAB_DATA``, else ``~/.cache/latentlab``."""
    if root is not None:
        return Path(root)
    env = os.environ.get("LATENTLAB_DATA")
    return Path(env) if env else Path.home() / ".cache" / "latentlab"


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB pieces.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "x"); _ = open(f, "wb").write(b"abc")
    >>> file_digest(f)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: str | Path, remote: RemoteFile) -> None:
    """Raise :class:`DataError` unless ``path`` has ``remote``'s checksum. Never deletes anything."""
    got = file_digest(path, "sha256")
    if got != remote.sha256:
        raise DataError(
            f"{path} has sha256 {got} but {remote.name} should have {remote.sha256}; the file is corrupt, truncated or a "
            "different version. It was left in place: move or delete it yourself, then download again."
        )


def fetch(remote: RemoteFile, folder: str | Path) -> Path:
    """Download ``remote`` into ``folder`` (skipped when already there) and check it."""
    folder = Path(folder)
    target = folder / remote.name
    if target.exists():
        verify(target, remote)
        return target
    folder.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in remote.urls:
        fd, tmp = tempfile.mkstemp(prefix=f".{remote.name}.", suffix=".part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
                shutil.copyfileobj(resp, out, 1 << 20)
            verify(tmp, remote)
            os.replace(tmp, target)
            return target
        except (OSError, DataError) as exc:
            errors.append(f"{url}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)  # our own partial or failed download
    raise DataError(f"could not download {remote.name}: " + "; ".join(errors))


def download(name: str, root: str | Path | None = None) -> Path:
    """Fetch every file of data set ``name`` (see ``DATASETS``) into ``cache_dir(root)/name``."""
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; known: {sorted(DATASETS)}.")
    folder = cache_dir(root) / name
    for remote in DATASETS[name]:
        fetch(remote, folder)
    return folder
