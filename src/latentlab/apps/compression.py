"""Lossy compression with a trained model: each model names its codec, and the blob names its format.

Two codecs exist (the ``codec`` attribute of a model picks one):

- ``'quantised'`` (:mod:`latentlab.apps.quantised`): continuous codes
  quantised uniformly to ``bits`` bits per value, behind a header with the
  ranges, so the code error is at most half a step;
- ``'indices'`` (:mod:`latentlab.apps.vq_compression`): discrete codes (a
  VQ-VAE's codebook indices) entropy-coded without loss under the model's
  own prior.

Every blob is framed the same way (:mod:`latentlab.apps.framing`: magic,
version, header, payload, CRC-32) and carries the id of the model that made
it, so decompressing with the wrong model or the wrong kind of model is a
clear error. A new codec is one module with the four methods of
:class:`~latentlab.apps.quantised.QuantisedCodec`, plus one line in :data:`CODECS`.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError
from .framing import as_blob, model_id
from .quantised import Header, QuantisedCodec, decompress_codes, dequantise, quantise, read_header
from .vq_compression import IndexCodec

CODECS = {codec.name: codec for codec in (QuantisedCodec(), IndexCodec())}


def codec_of(model):
    """The codec ``model`` names (``model.codec``)."""
    name = getattr(model, "codec", None)
    if name not in CODECS:
        raise ConfigError(f"{type(model).__name__} names no known codec ({name!r}); codecs: {sorted(CODECS)}.")
    return CODECS[name]


def compress(model, X, bits: int | None = None) -> bytes:
    """Encode ``X`` with ``model`` and code the codes with the model's codec.

    Continuous codes are quantised to ``bits`` bits each (default 8). For a
    VQ-VAE the codebook indices are entropy-coded under the model's prior
    instead, with no loss; ``bits`` does not apply and must be left out.

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
    return codec_of(model).compress(model, X, bits)


def decompress(model, data: bytes) -> np.ndarray:
    """Decode a blob written by :func:`compress` with the same model.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((40, 8)).astype("float32")
    >>> ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, batch_size=20, verbose=False)
    >>> R = latentlab.decompress(ae, latentlab.compress(ae, X))
    >>> R.shape, R.dtype
    ((40, 8), dtype('float32'))
    """
    codec = codec_of(model)
    owner = next((c for c in CODECS.values() if c.frame.is_mine(data)), None)
    if owner is not None and owner is not codec and owner.foreign:
        raise DataError(owner.foreign)
    return model.decode(codec.decode_codes(model, data))


def rate_distortion(model, X, bits: int | None = None) -> dict[str, float]:
    """Bits per sample, compression ratio (against float32) and distortion (MSE, PSNR) at ``bits``.

    Bits per sample count the codes only (for a VQ-VAE, the entropy-coded
    stream); the ratio counts the whole blob, header included.
    """
    X = np.asarray(X, dtype=np.float32)
    blob = compress(model, X, bits)
    R = decompress(model, blob).reshape(X.shape)
    rate = codec_of(model).bits_per_sample(model, blob, len(X), bits)
    return {"bits_per_sample": rate, "compression_ratio": float(X.nbytes / len(blob)), **_distortion(R, X)}


def describe_rate(model, blob: bytes, n: int, bits: int | None = None) -> str:
    """What a blob of ``n`` samples costs, in words (for the command line): the codes' own rate, and
    the whole file's (header and framing included), which is what a user's disk sees."""
    whole = 8 * len(blob) / max(n, 1)
    return f"{codec_of(model).describe_rate(model, blob, n, bits)}; {whole:.2f} bits per sample with the header"


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


__all__ = [
    "CODECS", "codec_of", "compress", "decompress", "rate_distortion", "describe_rate", "pca_rate_distortion",
    "model_id", "as_blob", "Header", "read_header", "decompress_codes", "quantise", "dequantise",
]
