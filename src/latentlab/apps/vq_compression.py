"""The entropy-coded-indices codec: lossless coding of code indices under the model's own prior (ANS).

A model whose ``codec`` is ``'indices'`` (a VQ-VAE) has a code that is a
handful of codebook indices, so it needs no quantisation: the indices are
entropy-coded with the model's discrete prior, which gives the probabilities
group by group (``model.prior.group_probs``), and the blob's size is close
to :meth:`~latentlab.models.vqvae.VQVAE.code_bits` summed over the samples.
The coder is ``constriction``'s ANS stack coder; the framing is
:class:`~latentlab.apps.framing.Frame`'s.

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

from ..errors import ConfigError, DataError
from .framing import Frame, model_id

MAGIC = b"LLQ1"
VERSION = 1
# groups, codebook, n, model id, index crc, words
FRAME = Frame(MAGIC, VERSION, struct.Struct("<HHIIII"), "latentlab VQ-VAE compressed data")
#: A blob holds at most this many code indices per byte (at least half a bit each). An entropy coder can
#: make a very likely symbol cost almost nothing, so without this bound a few bytes could declare a
#: billion samples; with it, decoding costs time and memory in proportion to the blob's length.
MAX_SYMBOLS_PER_BYTE = 16
DECODE_CHUNK = 8192  # samples whose probabilities are computed at once while decoding


def _coder():
    try:
        import constriction
    except ImportError:  # pragma: no cover
        raise ConfigError("coding VQ-VAE codes needs constriction: pip install constriction") from None
    stream = constriction.stream  # a compiled module: its parts are attributes, not importable submodules
    return stream.stack.AnsCoder, stream.model.Categorical(perfect=False)


def _group_probs(model, idx: torch.Tensor, g: int) -> np.ndarray:
    """``(n, K)`` probabilities of group ``g`` given the groups before it in ``idx``."""
    return model.prior.group_probs(idx, g)


def _index_crc(idx: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(idx, dtype="<i4").tobytes())


def compress_indices(model, idx: np.ndarray) -> bytes:
    """Entropy-code ``idx (n, groups)`` of ``model`` (a fitted VQ-VAE) into a blob."""
    AnsCoder, family = _coder()
    idx = np.ascontiguousarray(idx, dtype=np.int32)
    n, G = idx.shape
    t = torch.from_numpy(idx.astype(np.int64)).to(model.device)
    coder = AnsCoder()
    for g in reversed(range(G)):  # a stack: the last group pushed is the first popped
        coder.encode_reverse(idx[:, g], family, _group_probs(model, t, g))
    words = np.asarray(coder.get_compressed(), dtype="<u4")
    fields = (G, model.prior.k, n, model_id(model), _index_crc(idx), len(words))
    blob = FRAME.write(fields, words.tobytes())
    if n * G > MAX_SYMBOLS_PER_BYTE * len(blob):
        raise DataError(
            f"{n} samples code into only {len(blob)} bytes, more than {MAX_SYMBOLS_PER_BYTE} codes per byte, the "
            "most a blob may declare; the prior makes these codes almost certain. Compress them in one blob per "
            f"{MAX_SYMBOLS_PER_BYTE * len(blob) // max(G, 1)} samples or fewer."
        )
    return blob


def is_vq_blob(data) -> bool:
    return FRAME.is_mine(data)


def stream_bits(data: bytes) -> int:
    """Bits of the entropy-coded stream in a blob: what its codes cost, header and checksum left out."""
    return 8 * (len(data) - FRAME.header_size - 4)


def decompress_indices(model, data: bytes) -> np.ndarray:
    """The ``(n, groups)`` code indices in a blob written by :func:`compress_indices` with ``model``."""
    fields, payload = FRAME.read(data, lambda f: 4 * f[5])
    G, K, n, mid, index_crc, n_words = fields
    if n * G > MAX_SYMBOLS_PER_BYTE * len(data):
        raise DataError(
            f"these bytes declare {n} samples of {G} codes, more than their {len(data)} bytes can hold "
            f"(at most {MAX_SYMBOLS_PER_BYTE} codes per byte); they are corrupt or hostile."
        )
    if (G, K) != (getattr(model.prior, "groups", None), getattr(model.prior, "k", None)) or mid != model_id(model):
        raise DataError("these bytes were compressed with a different model; decompress with the model that made them.")
    AnsCoder, family = _coder()
    coder = AnsCoder(np.frombuffer(payload, dtype="<u4", count=n_words).astype(np.uint32))
    idx = torch.zeros(n, G, dtype=torch.long, device=model.device)
    for g in range(G):
        for a in range(0, n, DECODE_CHUNK):  # the stack yields each group's samples in order: decode them a chunk at a time
            probs = _group_probs(model, idx[a : a + DECODE_CHUNK], g)
            idx[a : a + DECODE_CHUNK, g] = torch.from_numpy(np.asarray(coder.decode(family, probs), dtype=np.int64))
    out = idx.cpu().numpy()
    if _index_crc(out) != index_crc:
        raise DataError(
            "the decoded codes fail their checksum: this machine computes the prior's probabilities differently "
            "from the one that compressed them. Decompress where they were compressed."
        )
    return out


class IndexCodec:
    """Code indices entropy-coded without loss under the model's discrete prior."""

    name = "indices"
    frame = FRAME
    foreign = "these bytes hold VQ-VAE codes; decompress them with the VQ-VAE that made them."

    def compress(self, model, X, bits: int | None) -> bytes:
        if bits is not None:
            raise ConfigError("a VQ-VAE's codes are codebook indices, coded without loss under its prior; drop bits=.")
        return compress_indices(model, model.code_indices(X))

    def decode_codes(self, model, data: bytes) -> np.ndarray:
        with torch.inference_mode():
            return model.code_vectors(torch.from_numpy(decompress_indices(model, data))).cpu().numpy()

    def bits_per_sample(self, model, blob: bytes, n: int, bits: int | None) -> float:
        return stream_bits(blob) / n

    def describe_rate(self, model, blob: bytes, n: int, bits: int | None) -> str:
        return f"{self.bits_per_sample(model, blob, n, bits):.2f} bits per sample, entropy-coded indices"
