"""The quantised-codes codec: a model's codes, uniformly quantised, behind a small self-describing header.

Layout of a compressed blob (little-endian)::

    magic 'LLZ1' | version u8 | bits u8 | latent_dim u32 | n u32 | model id u32
    | lo float32[latent_dim] | hi float32[latent_dim]      (the header)
    | packed codes: n * latent_dim integers of ``bits`` bits each
    | CRC-32 of everything before it, u32

Each latent dimension is quantised uniformly between its ``lo`` and ``hi``
(the range of the codes being compressed), so the code error is at most half
a step, ``(hi - lo) / (2**bits - 1) / 2``, which :func:`code_error_bound`
reads back from the header. The model id (a CRC-32 of the model's weights)
catches decompressing with the wrong model.

This is the codec of every model whose ``codec`` is ``'quantised'`` (any
model with continuous codes); :mod:`latentlab.apps.compression` picks it by
that name. The framing (magic, version, length, CRC) is
:class:`~latentlab.apps.framing.Frame`'s.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError
from .framing import Frame, model_id

MAGIC = b"LLZ1"
VERSION = 1
FRAME = Frame(MAGIC, VERSION, struct.Struct("<BIII"), "latentlab compressed data")  # bits, latent_dim, n, model id


def _pack(q: np.ndarray, bits: int) -> bytes:
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint32)
    planes = ((q.reshape(-1, 1).astype(np.uint32) >> shifts) & 1).astype(np.uint8)  # (N*L, bits)
    return np.packbits(planes.ravel()).tobytes()


def _unpack(buf: bytes, count: int, bits: int) -> np.ndarray:
    planes = np.unpackbits(np.frombuffer(buf, dtype=np.uint8))[: count * bits].reshape(count, bits)
    weights = (1 << np.arange(bits - 1, -1, -1, dtype=np.uint32)).astype(np.uint32)
    return (planes.astype(np.uint32) * weights).sum(1)


def quantise(Z: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform per-dimension quantisation of codes ``Z``: returns integers, ``lo`` and ``hi``."""
    if not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
        raise ConfigError(f"bits={bits!r} must be an integer from 1 to 16.")
    Z = np.asarray(Z, dtype=np.float32)
    lo, hi = Z.min(0), Z.max(0)
    levels = (1 << int(bits)) - 1
    span = np.where(hi > lo, hi - lo, 1.0).astype(np.float32)
    q = np.rint((Z - lo) / span * levels).clip(0, levels).astype(np.uint32)
    return q, lo.astype(np.float32), hi.astype(np.float32)


def dequantise(q: np.ndarray, lo: np.ndarray, hi: np.ndarray, bits: int) -> np.ndarray:
    """Inverse of :func:`quantise` (up to half a step per dimension)."""
    levels = (1 << int(bits)) - 1
    span = np.where(hi > lo, hi - lo, 1.0).astype(np.float32)
    return (lo + q.astype(np.float32) / levels * span).astype(np.float32)


def compress_codes(model, X, bits: int | None = None) -> bytes:
    """Encode ``X`` with ``model`` and quantise the codes to ``bits`` bits each (default 8)."""
    bits = 8 if bits is None else bits
    Z = model.encode(X)
    q, lo, hi = quantise(Z, bits)
    n, L = Z.shape
    return FRAME.write((int(bits), L, n, model_id(model)), lo.tobytes() + hi.tobytes() + _pack(q, int(bits)))


@dataclass(frozen=True)
class Header:
    """What a blob's header declares."""

    bits: int
    latent_dim: int
    n: int
    model_id: int
    lo: np.ndarray
    hi: np.ndarray

    @property
    def code_error_bound(self) -> np.ndarray:
        """Largest possible code error per latent dimension: half a quantisation step."""
        return (self.hi - self.lo) / ((1 << self.bits) - 1) / 2


def _check_fields(fields: tuple) -> None:
    bits, L, _, _ = fields
    if not 1 <= bits <= 16 or L < 1:
        raise DataError(f"the header is corrupt (bits={bits}, latent_dim={L}).")


def read_header(data: bytes) -> tuple[Header, bytes]:
    """Check a blob (magic, version, length, checksum) and split it into header and packed codes."""
    fields, payload = FRAME.read(data, lambda f: 8 * f[1] + (f[2] * f[1] * f[0] + 7) // 8, _check_fields)
    bits, L, n, mid = fields
    lo = np.frombuffer(payload, np.float32, L, 0).copy()
    hi = np.frombuffer(payload, np.float32, L, 4 * L).copy()
    return Header(bits, L, n, mid, lo, hi), payload[8 * L :]


def decompress_codes(data: bytes) -> tuple[Header, np.ndarray]:
    """The header and the dequantised codes ``(n, latent_dim)`` of a blob."""
    head, payload = read_header(data)
    q = _unpack(payload, head.n * head.latent_dim, head.bits).reshape(head.n, head.latent_dim)
    return head, dequantise(q, head.lo, head.hi, head.bits)


class QuantisedCodec:
    """Codes quantised to ``bits`` bits per latent value (default 8)."""

    name = "quantised"
    frame = FRAME
    foreign = None  # a blob of this kind given to another codec: that codec's own magic check speaks

    def compress(self, model, X, bits: int | None) -> bytes:
        return compress_codes(model, X, bits)

    def decode_codes(self, model, data: bytes) -> np.ndarray:
        head, Z = decompress_codes(data)
        if head.latent_dim != model.config.latent_dim or head.model_id != model_id(model):
            raise DataError("these bytes were compressed with a different model; decompress with the model that made them.")
        return Z

    def bits_per_sample(self, model, blob: bytes, n: int, bits: int | None) -> float:
        return float(model.config.latent_dim * (8 if bits is None else bits))

    def describe_rate(self, model, blob: bytes, n: int, bits: int | None) -> str:
        return f"{self.bits_per_sample(model, blob, n, bits):.0f} bits per sample"
