"""The IDX format of MNIST, Fashion-MNIST and KMNIST (LeCun et al.).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the
number of dimensions), one big-endian int32 per dimension, then the values
in C order, big-endian. The files are usually gzipped.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from ..errors import DataError

# type code -> big-endian dtype
_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _TYPES.items()}


def _open(path: Path):
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a NumPy array in native byte order.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "a-idx2-ubyte")
    >>> write_idx(f, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> read_idx(f).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist; download it first (see latentlab.data.downloads).")
    try:
        with _open(path) as fh:
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _TYPES:
                raise DataError(f"{path} is not an IDX file (magic bytes {head!r}); pass the *-ubyte(.gz) files.")
            ndim = head[3]
            dims = struct.unpack(f">{ndim}i", fh.read(4 * ndim))
            dtype = np.dtype(_TYPES[head[2]])
            count = int(np.prod(dims)) if dims else 0
            data = fh.read(count * dtype.itemsize + 1)
    except (OSError, EOFError, struct.error) as exc:
        raise DataError(f"{path} is truncated or corrupt ({exc}); download it again.") from None
    if len(data) != count * dtype.itemsize:
        raise DataError(
            f"{path} holds {len(data)} bytes of values but its header promises {count * dtype.itemsize}; "
            "the file is truncated or corrupt, download it again."
        )
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in ``.gz``)."""
    arr = np.asarray(array)
    code = _CODES.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"IDX cannot hold dtype {arr.dtype}; use uint8, int8, int16, int32, float32 or float64.")
    payload = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape)
    payload += np.ascontiguousarray(arr, dtype=_TYPES[code]).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(payload)
