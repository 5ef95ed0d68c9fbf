"""Coding the symbols of a scale-hyperprior :class:`~latentlab.ImageCodec` (``entropy='hyperprior'``).

Per plane, the decoder needs ``z`` first (coded with the factorised density's
per-channel tables, as a factorised codec codes ``y``), from which it computes
the scales of ``y``, rounds each up to the :data:`~latentlab.nn.hyperprior.SCALE_TABLE`
and decodes ``y`` with those fixed tables, grouped by table (table 0 first,
each group in C order). One ANS stack holds everything, pushed in reverse.

The scales are recomputed by the decoder from the decoded ``z`` with the same
network on the same shape; should the arithmetic of another machine round one
of them to a different table, the symbols decoded would differ. A CRC-32 of
the encoder's symbols, in the header, turns that into a clear error instead
of a wrong photo.

Layout (version 2 of the image codec's bytes; version 1 is the factorised codec's)::

    magic 'LLI1' | version u8 = 2 | height u32 | width u32 | channels u8 | quality u8
    | model id u32 | escapes u32 | words u32 | symbols CRC-32 u32      (31 bytes)
    | the ANS stream | the escaped values (z's, then y's, plane by plane) | CRC-32 of all before it
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

import numpy as np
import torch

from ..errors import DataError
from ..nn.hyperprior import gaussian_tables, scale_indexes
from .framing import Frame

VERSION = 2
FRAME = Frame(b"LLI1", VERSION, struct.Struct("<IIBBIIII"), "latentlab image codec data")


@lru_cache(maxsize=1)
def _gaussian_models():
    import constriction

    half, pmfs = gaussian_tables()
    return half, pmfs, [constriction.stream.model.Categorical(p, perfect=False) for p in pmfs]


def open_stream(words: np.ndarray):
    """An ANS decoder on ``words``; words no encoder writes (a last word of zero) are refused as corrupt."""
    import constriction

    try:
        return constriction.stream.stack.AnsCoder(words)
    except ValueError as exc:
        raise DataError(f"the coded stream is not one an encoder writes ({exc}); the bytes are corrupt.") from None


def indexes(codec, z: torch.Tensor) -> np.ndarray:
    """The table of every value of ``y`` ``(M, h, w)``, from the integer hyper-latent ``z (N, h/4, w/4)``.

    The encoder and the decoder both call this, on the same integers and the same shape.
    """
    with torch.inference_mode():
        return scale_indexes(codec.scales(z[None].float())[0])


def plane_symbols(codec, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The integer ``z (N, h/4, w/4)`` and ``y (M, h, w)`` of one plane's gained latent ``y`` (float, ``(M, h, w)``)."""
    with torch.inference_mode():
        z = codec.hyper_latent(y[None])[0]
    clamp = 2**30
    return torch.round(z).clamp_(-clamp, clamp).to(torch.int64), torch.round(y).clamp_(-clamp, clamp).to(torch.int64)


def _factorised_jobs(codec, z: np.ndarray, quality: int, jobs, escapes) -> float:
    lo, pmfs, models = codec.tables(quality)
    ideal = 0.0
    for c in range(z.shape[0]):
        ideal += _job(z[c].reshape(-1), lo[c], pmfs[c], models[c], jobs, escapes)
    return ideal


def _gaussian_jobs(y: np.ndarray, idx: np.ndarray, jobs, escapes) -> float:
    half, pmfs, models = _gaussian_models()
    flat_y, flat_i = y.reshape(-1), idx.reshape(-1)
    ideal = 0.0
    for t in np.unique(flat_i):
        ideal += _job(flat_y[flat_i == t], -half[t], pmfs[t], models[t], jobs, escapes)
    return ideal


def _job(v: np.ndarray, lo: int, pmf: np.ndarray, model, jobs, escapes) -> float:
    """Queue the values ``v`` as symbols of one table starting at ``lo``; returns their ideal bits."""
    k = len(pmf)
    idx = v - lo + 1
    out = (idx < 1) | (idx > k - 2)
    idx = np.where(idx < 1, 0, np.where(idx > k - 2, k - 1, idx)).astype(np.int32)
    escapes.append(v[out])
    jobs.append((idx, model))
    return float(-np.log2(pmf[idx]).sum()) + 32 * int(out.sum())


def symbols_crc(planes: list[tuple[np.ndarray, np.ndarray]]) -> int:
    crc = 0
    for z, y in planes:
        crc = zlib.crc32(np.ascontiguousarray(y, "<i4").tobytes(), zlib.crc32(np.ascontiguousarray(z, "<i4").tobytes(), crc))
    return crc


def encode(codec, planes: list[tuple[torch.Tensor, torch.Tensor]], quality: int):
    """ANS words, escaped values, ideal bits and the symbols' CRC of every plane's ``(z, y)``."""
    import constriction

    jobs, escapes, ideal = [], [], 0.0
    arrays = []
    for z, y in planes:
        idx = indexes(codec, z)
        zn, yn = z.numpy(), y.numpy()
        ideal += _factorised_jobs(codec, zn, quality, jobs, escapes)
        ideal += _gaussian_jobs(yn, idx, jobs, escapes)
        arrays.append((zn, yn))
    coder = constriction.stream.stack.AnsCoder()
    for sym, model in reversed(jobs):  # a stack: the last pushed is the first popped
        coder.encode_reverse(sym, model)
    words = np.asarray(coder.get_compressed(), dtype="<u4")
    esc = np.concatenate(escapes).astype("<i4") if escapes else np.zeros(0, "<i4")
    return words, esc, ideal, symbols_crc(arrays)


class _Escapes:
    def __init__(self, esc: np.ndarray):
        self.esc, self.used = esc, 0

    def take(self, n: int) -> np.ndarray:
        if self.used + n > len(self.esc):
            raise DataError("the bytes hold fewer escaped values than their symbols need; they are corrupt.")
        self.used += n
        return self.esc[self.used - n : self.used]


def _decode_table(coder, model, k: int, lo: int, n: int, esc: _Escapes) -> np.ndarray:
    idx = np.asarray(coder.decode(model, n), dtype=np.int64)
    out = (idx == 0) | (idx == k - 1)
    v = idx + lo - 1
    v[out] = esc.take(int(out.sum()))
    return v


def decode(codec, words: np.ndarray, esc: np.ndarray, latent_sizes: list[tuple[int, int]], quality: int,
           crc: int) -> list[torch.Tensor]:
    """The integer latents ``y`` of every plane (``latent_sizes``: each plane's ``(h, w)`` of ``y``)."""
    coder = open_stream(words)
    lo, pmfs, models = codec.tables(quality)
    half, gpmfs, gmodels = _gaussian_models()
    n, m = codec.config.hyper_channels, codec.config.latent_channels
    escapes = _Escapes(esc)
    out, arrays = [], []
    for lh, lw in latent_sizes:
        z = np.empty((n, (lh // 4) * (lw // 4)), np.int64)
        for c in range(n):
            z[c] = _decode_table(coder, models[c], len(pmfs[c]), lo[c], z.shape[1], escapes)
        z = z.reshape(n, lh // 4, lw // 4)
        idx = indexes(codec, torch.from_numpy(z)).reshape(-1)
        y = np.empty(m * lh * lw, np.int64)
        for t in np.unique(idx):
            pick = idx == t
            y[pick] = _decode_table(coder, gmodels[t], len(gpmfs[t]), -half[t], int(pick.sum()), escapes)
        y = y.reshape(m, lh, lw)
        arrays.append((z, y))
        out.append(torch.from_numpy(y))
    if escapes.used != len(esc) or not coder.is_empty():
        raise DataError("the coded stream does not end where its header says; the bytes are corrupt.")
    if symbols_crc(arrays) != crc:
        raise DataError("the decoded symbols differ from the encoder's (their CRC does not match): the scales computed "
                        "here differ from those of the machine that coded them; decode on a machine like it.")
    return out


__all__ = ["FRAME", "VERSION", "encode", "decode", "plane_symbols", "indexes", "open_stream"]
