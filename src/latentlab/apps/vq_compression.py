"""Lossless coding of a VQ-VAE's code indices under its own prior (asymmetric numeral systems).

A VQ-VAE's code is a handful of codebook indices, so it needs no
quantisation: the indices are entropy-coded with the model's prior
(:class:`~latentlab.models.vqvae.CodePrior`, or the per-group categorical),
and the blob's size is close to :meth:`~latentlab.models.vqvae.VQVAE.code_bits`
summed over the samples. The coder is ``constriction``'s ANS stack coder.

Layout of a blob (little-endian)::

    magic 'LLQ1' | version u8 | groups u16 | codebook u16 | n u32 | model id u32
    | index CRC-32 u32 | words u32                                   (the header)
    | the ANS stream: ``words`` u32
    | CRC-32 of everything before it, u32

Decoding recomputes the prior's probabilities group by group, so it needs the
same model and the same floating-point results as the encoder. The CRC-32 of
the indices catches a machine whose arithmetic differs, instead of returning
wrong codes.

Duda, "Asymmetric numeral systems", arXiv:0902.0271, 2009; Bamler,
"Understanding entropy coding with asymmetric numeral systems (ANS): a
statistician's perspective", arXiv:2201.01741, 2022.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError

MAGIC = b"LLQ1"
VERSION = 1
_HEAD = struct.Struct("<4sBHHIIII")  # magic, version, groups, codebook, n, model id, index crc, words


def _coder():
    try:
        import constriction
    except ImportError:  # pragma: no cover
        raise ConfigError("coding VQ-VAE codes needs constriction: pip install constriction") from None
    stream = constriction.stream  # a compiled module: its parts are attributes, not importable submodules
    return stream.stack.AnsCoder, stream.model.Categorical(perfect=False)


def _group_probs(model, idx: torch.Tensor, g: int) -> np.ndarray:
    """``(n, K)`` probabilities of group ``g`` given the groups before it in ``idx``."""
    prior = getattr(model, "code_prior", None)
    with torch.inference_mode():
        if prior is not None:
            p = F.softmax(prior.logits(idx, model.code_log_prior)[:, g].double(), dim=-1)
        else:
            p = model.code_log_prior[g].double().exp().expand(len(idx), -1)
    return np.ascontiguousarray(p.cpu().numpy(), dtype=np.float64)


def _index_crc(idx: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(idx, dtype="<i4").tobytes())


def compress_indices(model, idx: np.ndarray) -> bytes:
    """Entropy-code ``idx (n, groups)`` of ``model`` (a fitted VQ-VAE) into a blob."""
    from .compression import model_id

    AnsCoder, family = _coder()
    idx = np.ascontiguousarray(idx, dtype=np.int32)
    n, G = idx.shape
    t = torch.from_numpy(idx.astype(np.int64)).to(model.code_log_prior.device)
    coder = AnsCoder()
    for g in reversed(range(G)):  # a stack: the last group pushed is the first popped
        coder.encode_reverse(idx[:, g], family, _group_probs(model, t, g))
    words = np.asarray(coder.get_compressed(), dtype="<u4")
    head = _HEAD.pack(MAGIC, VERSION, G, model.config.codebook_size, n, model_id(model), _index_crc(idx), len(words))
    body = head + words.tobytes()
    return body + struct.pack("<I", zlib.crc32(body))


def is_vq_blob(data) -> bool:
    return isinstance(data, (bytes, bytearray, memoryview)) and bytes(data[:4]) == MAGIC


def stream_bits(data: bytes) -> int:
    """Bits of the entropy-coded stream in a blob: what its codes cost, header and checksum left out."""
    return 8 * (len(data) - _HEAD.size - 4)


def decompress_indices(model, data: bytes) -> np.ndarray:
    """The ``(n, groups)`` code indices in a blob written by :func:`compress_indices` with ``model``."""
    from .compression import as_blob, model_id

    data = as_blob(data)
    if len(data) < _HEAD.size + 4 or data[:4] != MAGIC:
        raise DataError("these bytes are not latentlab VQ-VAE compressed data (bad magic or too short).")
    _, version, G, K, n, mid, index_crc, n_words = _HEAD.unpack_from(data)
    if version != VERSION:
        raise DataError(f"compressed data has format version {version}; this latentlab reads version {VERSION}.")
    if len(data) != _HEAD.size + 4 * n_words + 4:
        raise DataError(
            f"compressed data is {len(data)} bytes but its header declares {_HEAD.size + 4 * n_words + 4}; "
            "it is truncated or corrupt."
        )
    (crc,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(data[:-4]) != crc:
        raise DataError("compressed data failed its checksum; the bytes are corrupt.")
    if (G, K) != (model.n_groups, model.config.codebook_size) or mid != model_id(model):
        raise DataError("these bytes were compressed with a different model; decompress with the model that made them.")
    AnsCoder, family = _coder()
    coder = AnsCoder(np.frombuffer(data, dtype="<u4", count=n_words, offset=_HEAD.size).astype(np.uint32))
    idx = torch.zeros(n, G, dtype=torch.long, device=model.code_log_prior.device)
    for g in range(G):
        idx[:, g] = torch.from_numpy(np.asarray(coder.decode(family, _group_probs(model, idx, g)), dtype=np.int64))
    out = idx.cpu().numpy()
    if _index_crc(out) != index_crc:
        raise DataError(
            "the decoded codes fail their checksum: this machine computes the prior's probabilities differently "
            "from the one that compressed them. Decompress where they were compressed."
        )
    return out
