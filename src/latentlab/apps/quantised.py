"""Lossy compression with a trained model: quantised codes behind a small self-describing header.

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

A VQ-VAE's code is already discrete: its codebook indices are entropy-coded
losslessly under the model's prior instead (:mod:`latentlab.apps.vq_compression`),
and :func:`compress` and :func:`decompress` choose that path by themselves.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError, DataError

MAGIC = b"LLZ1"
VERSION = 1
_HEAD = struct.Struct("<4sBBIII")  # magic, version, bits, latent_dim, n, model id


def model_id(model) -> int:
    """CRC-32 of a model's weights: identifies the model a blob was made with."""
    crc = 0
    for name, t in sorted(model.state_dict().items()):
        crc = zlib.crc32(name.encode(), crc)
        crc = zlib.crc32(t.detach().cpu().float().contiguous().numpy().tobytes(), crc)
    return crc


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


def _is_vq(model) -> bool:
    return getattr(model.config, "family", None) == "vqvae"


def compress(model, X, bits: int | None = None) -> bytes:
    """Encode ``X`` with ``model`` and quantise the codes to ``bits`` bits each (default 8).

    For a VQ-VAE the codebook indices are entropy-coded under the model's
    prior instead, with no loss; ``bits`` does not apply and must be left out.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((50, 16)).astype("float32")
    >>> ae = latentlab.Autoencoder(latent_dim=4, hidden=(16,)).fit(X, epochs=2, batch_size=16, verbose=False)
    >>> blob = latentlab.compress(ae, X, bits=6)
    >>> X.nbytes / len(blob) > 10  # 32-bit floats down to 4 codes of 6 bits
    True
    >>> latentlab.decompress(ae, blob).shape
    (50, 16)
    """
    if _is_vq(model):
        if bits is not None:
            raise ConfigError("a VQ-VAE's codes are codebook indices, coded without loss under its prior; drop bits=.")
        from .vq_compression import compress_indices

        return compress_indices(model, model.code_indices(X))
    bits = 8 if bits is None else bits
    Z = model.encode(X)
    q, lo, hi = quantise(Z, bits)
    n, L = Z.shape
    head = _HEAD.pack(MAGIC, VERSION, int(bits), L, n, model_id(model)) + lo.tobytes() + hi.tobytes()
    body = head + _pack(q, int(bits))
    return body + struct.pack("<I", zlib.crc32(body))


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


def as_blob(data) -> bytes:
    """``data`` as bytes, or a :class:`DataError` naming what was passed instead."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DataError(f"compressed data must be bytes, got {type(data).__name__}.")
    return bytes(data)


def read_header(data: bytes) -> tuple[Header, bytes]:
    """Check a blob (magic, version, length, checksum) and split it into header and packed codes."""
    data = as_blob(data)
    if len(data) < _HEAD.size + 4 or data[:4] != MAGIC:
        raise DataError("these bytes are not latentlab compressed data (bad magic or too short).")
    magic, version, bits, L, n, mid = _HEAD.unpack_from(data)
    if version != VERSION:
        raise DataError(f"compressed data has format version {version}; this latentlab reads version {VERSION}.")
    if not 1 <= bits <= 16 or L < 1:
        raise DataError(f"the header is corrupt (bits={bits}, latent_dim={L}).")
    n_payload = (n * L * bits + 7) // 8
    expected = _HEAD.size + 8 * L + n_payload + 4
    if len(data) != expected:
        raise DataError(
            f"compressed data is {len(data)} bytes but its header declares {expected}; it is truncated or corrupt."
        )
    (crc,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(data[:-4]) != crc:
        raise DataError("compressed data failed its checksum; the bytes are corrupt.")
    off = _HEAD.size
    lo = np.frombuffer(data, np.float32, L, off).copy()
    hi = np.frombuffer(data, np.float32, L, off + 4 * L).copy()
    return Header(bits, L, n, mid, lo, hi), data[off + 8 * L : -4]


def decompress_codes(data: bytes) -> tuple[Header, np.ndarray]:
    """The header and the dequantised codes ``(n, latent_dim)`` of a blob."""
    head, payload = read_header(data)
    q = _unpack(payload, head.n * head.latent_dim, head.bits).reshape(head.n, head.latent_dim)
    return head, dequantise(q, head.lo, head.hi, head.bits)


def decompress(model, data: bytes) -> np.ndarray:
    """Decode a blob written by :func:`compress` with the same model."""
    from .vq_compression import decompress_indices, is_vq_blob

    if _is_vq(model):  # decompress_indices refuses bytes that are not VQ-VAE data
        with torch.inference_mode():
            Z = model.code_vectors(torch.from_numpy(decompress_indices(model, data))).cpu().numpy()
        return model.decode(Z)
    if is_vq_blob(data):
        raise DataError("these bytes hold VQ-VAE codes; decompress them with the VQ-VAE that made them.")
    head, Z = decompress_codes(data)
    if head.latent_dim != model.config.latent_dim or head.model_id != model_id(model):
        raise DataError("these bytes were compressed with a different model; decompress with the model that made them.")
    return model.decode(Z)


def rate_distortion(model, X, bits: int | None = None) -> dict[str, float]:
    """Bits per sample, compression ratio (against float32) and distortion (MSE, PSNR) at ``bits``.

    Bits per sample count the codes only (for a VQ-VAE, the entropy-coded
    stream); the ratio counts the whole blob, header included.
    """
    X = np.asarray(X, dtype=np.float32)
    blob = compress(model, X, bits)
    R = decompress(model, blob).reshape(X.shape)
    if _is_vq(model):
        from .vq_compression import stream_bits

        rate = stream_bits(blob) / len(X)
    else:
        rate = float(model.config.latent_dim * (8 if bits is None else bits))
    return {"bits_per_sample": rate, "compression_ratio": float(X.nbytes / len(blob)), **_distortion(R, X)}


def pca_rate_distortion(X_train, X, n_components: int, bits: int) -> dict[str, float]:
    """The same numbers for PCA with the same uniform quantisation of its components."""
    from sklearn.decomposition import PCA

    X_train = np.asarray(X_train, dtype=np.float32).reshape(len(X_train), -1)
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    pca = PCA(n_components=n_components).fit(X_train)
    q, lo, hi = quantise(pca.transform(X), bits)
    R = pca.inverse_transform(dequantise(q, lo, hi, bits))
    return {"bits_per_sample": float(n_components * bits), **_distortion(R, X)}


def _distortion(R: np.ndarray, X: np.ndarray) -> dict[str, float]:
    """MSE of the reconstruction ``R`` of ``X``, and PSNR against the data's own value range."""
    mse = float(np.mean((R - X) ** 2))
    peak = float(X.max() - X.min()) or 1.0
    return {"mse": mse, "psnr": float(10 * np.log10(peak**2 / max(mse, 1e-12)))}
