"""Compression: round trips within the declared quantisation error, clear errors on bad bytes, rate metrics."""

from __future__ import annotations

import numpy as np
import pytest

import latentlab
from latentlab.apps.compression import (
    decompress_codes,
    model_id,
    pca_rate_distortion,
    rate_distortion,
    read_header,
)
from latentlab.cli import main


@pytest.fixture(scope="module")
def model(digits):
    return latentlab.Autoencoder(latent_dim=4, hidden=(64,)).fit(digits[0], epochs=40, verbose=False, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("bits", [1, 3, 8, 12])
def test_round_trip_matches_reconstruction_up_to_declared_error(model, digits, bits):
    X = digits[1][:100]
    blob = latentlab.compress(model, X, bits=bits)
    head, Z = decompress_codes(blob)
    assert (head.bits, head.latent_dim, head.n) == (bits, 4, 100)
    err = np.abs(Z - model.encode(X))
    assert (err <= head.code_error_bound[None, :] * (1 + 1e-4) + 1e-6).all()
    out = latentlab.decompress(model, blob)
    np.testing.assert_allclose(out, model.decode(Z), atol=1e-6)
    assert len(blob) == 18 + 8 * 4 + (100 * 4 * bits + 7) // 8 + 4  # header, packed codes, checksum


@pytest.mark.slow
def test_many_bits_reproduce_reconstruct(model, digits):
    X = digits[1][:50]
    out = latentlab.decompress(model, latentlab.compress(model, X, bits=16))
    np.testing.assert_allclose(out, model.reconstruct(X), atol=1e-3)


@pytest.mark.slow
def test_corrupt_truncated_and_foreign_bytes_are_refused(model, digits):
    blob = latentlab.compress(model, digits[1][:20], bits=6)
    flipped = bytearray(blob)
    flipped[30] ^= 0xFF
    with pytest.raises(latentlab.DataError, match="checksum"):
        latentlab.decompress(model, bytes(flipped))
    with pytest.raises(latentlab.DataError, match="truncated"):
        latentlab.decompress(model, blob[:-7])
    with pytest.raises(latentlab.DataError, match="not latentlab compressed data"):
        latentlab.decompress(model, b"PK\x03\x04" + blob[4:])
    with pytest.raises(latentlab.DataError, match="must be bytes"):
        read_header("hello")
    other = latentlab.Autoencoder(latent_dim=4, hidden=(8,)).fit(digits[0][:200], epochs=1, verbose=False)
    assert model_id(other) != model_id(model)
    with pytest.raises(latentlab.DataError, match="different model"):
        latentlab.decompress(other, blob)
    with pytest.raises(latentlab.ConfigError, match="bits"):
        latentlab.compress(model, digits[1][:5], bits=0)


@pytest.mark.slow
def test_rate_distortion_numbers(model, digits):
    X = digits[1]
    lo, hi = rate_distortion(model, X, bits=2), rate_distortion(model, X, bits=8)
    assert lo["bits_per_sample"] == 8 and hi["bits_per_sample"] == 32
    assert lo["mse"] > hi["mse"] and lo["psnr"] < hi["psnr"]
    assert hi["compression_ratio"] > 50  # 64 float32 values (2048 bits) -> 32 bits plus a small header
    assert hi["psnr"] == pytest.approx(10 * np.log10(1 / hi["mse"]))


@pytest.mark.slow
def test_autoencoder_beats_pca_at_a_low_rate(model, digits):
    Xtr, Xte = digits[0], digits[1]
    ours, pca = rate_distortion(model, Xte, bits=8), pca_rate_distortion(Xtr, Xte, n_components=4, bits=8)
    assert ours["bits_per_sample"] == pca["bits_per_sample"]
    assert ours["mse"] < pca["mse"]


@pytest.mark.slow
def test_cli_compress_then_decompress(model, digits, tmp_path):
    run = tmp_path / "run"
    model.save(run)
    np.save(tmp_path / "x.npy", digits[1][:30])
    assert main(["compress", str(run), str(tmp_path / "x.npy"), str(tmp_path / "x.llz"), "--bits", "6"]) == 0
    assert main(["decompress", str(run), str(tmp_path / "x.llz"), str(tmp_path / "y.npy")]) == 0
    out = np.load(tmp_path / "y.npy")
    np.testing.assert_allclose(out, latentlab.decompress(model, (tmp_path / "x.llz").read_bytes()), atol=1e-6)
    (tmp_path / "bad.llz").write_bytes(b"garbage")
    assert main(["decompress", str(run), str(tmp_path / "bad.llz"), str(tmp_path / "z.npy")]) == 2


# ------------------------------------------------------------------ VQ-VAE: entropy-coded indices
@pytest.fixture(scope="module")
def vq(digits):
    return latentlab.VQVAE(latent_dim=8, code_dim=2, codebook_size=32, hidden=(64,)).fit(
        digits[0], epochs=20, verbose=False, seed=0
    )


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["autoregressive", "independent"])
def test_vq_codes_round_trip_without_loss_at_the_prior_rate(vq, digits, prior):
    from latentlab.apps.vq_compression import decompress_indices

    model = vq
    if prior == "independent":
        model = latentlab.VQVAE(latent_dim=8, code_dim=2, codebook_size=32, hidden=(64,), prior=prior)
        model.fit(digits[0], epochs=5, verbose=False, seed=0)
    X = digits[1]
    blob = latentlab.compress(model, X)
    np.testing.assert_array_equal(decompress_indices(model, blob), model.code_indices(X))  # lossless
    np.testing.assert_allclose(latentlab.decompress(model, blob), model.reconstruct(X), atol=1e-6)
    rd = rate_distortion(model, X)
    ideal = model.code_bits(X).mean()
    assert ideal <= rd["bits_per_sample"] < ideal + 0.1 + 64 / len(X)  # ANS costs at most a word or two
    assert rd["bits_per_sample"] < 4 * np.log2(32)  # below fixed-length indices


@pytest.mark.slow
def test_vq_blobs_refuse_bad_bytes_and_other_models(vq, digits):
    blob = latentlab.compress(vq, digits[1][:50])
    flipped = bytearray(blob)
    flipped[40] ^= 0x01
    with pytest.raises(latentlab.DataError, match="checksum"):
        latentlab.decompress(vq, bytes(flipped))
    with pytest.raises(latentlab.DataError, match="truncated"):
        latentlab.decompress(vq, blob[:-8])
    other = latentlab.VQVAE(latent_dim=8, code_dim=2, codebook_size=32, hidden=(8,)).fit(
        digits[0][:200], epochs=1, verbose=False
    )
    with pytest.raises(latentlab.DataError, match="different model"):
        latentlab.decompress(other, blob)
    ae = latentlab.Autoencoder(latent_dim=8, hidden=(8,)).fit(digits[0][:200], epochs=1, verbose=False)
    with pytest.raises(latentlab.DataError, match="VQ-VAE"):
        latentlab.decompress(ae, blob)
    with pytest.raises(latentlab.DataError, match="not latentlab VQ-VAE compressed data"):
        latentlab.decompress(vq, latentlab.compress(ae, digits[1][:5]))
    with pytest.raises(latentlab.DataError, match="must be bytes"):
        latentlab.decompress(vq, "hello")
    with pytest.raises(latentlab.ConfigError, match="drop bits"):
        latentlab.compress(vq, digits[1][:5], bits=8)


@pytest.mark.slow
def test_vq_decoding_with_different_arithmetic_is_caught(vq, digits, monkeypatch):
    from latentlab.apps import vq_compression

    blob = latentlab.compress(vq, digits[1][:50])
    real = vq_compression._group_probs

    def skewed(model, idx, g):  # another machine's rounding, exaggerated
        p = real(model, idx, g)
        return p * np.linspace(0.5, 1.5, p.shape[1])[None, :]

    monkeypatch.setattr(vq_compression, "_group_probs", skewed)
    with pytest.raises(latentlab.DataError, match="decoded codes fail their checksum"):
        latentlab.decompress(vq, blob)


@pytest.mark.slow
def test_cli_compresses_a_vq_run(vq, digits, tmp_path, capsys):
    run = tmp_path / "vq"
    vq.save(run)
    np.save(tmp_path / "x.npy", digits[1][:40])
    assert main(["compress", str(run), str(tmp_path / "x.npy"), str(tmp_path / "x.llq")]) == 0
    assert "entropy-coded" in capsys.readouterr().out
    assert main(["decompress", str(run), str(tmp_path / "x.llq"), str(tmp_path / "y.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), vq.reconstruct(digits[1][:40]), atol=1e-6)
    assert main(["compress", str(run), str(tmp_path / "x.npy"), str(tmp_path / "z.llq"), "--bits", "4"]) == 2


@pytest.mark.slow
def test_a_vq_blob_declaring_more_samples_than_its_bytes_hold_is_refused_at_once(vq, digits):
    """A decompression bomb: a valid header (CRC included) declaring a million samples in a 40-byte stream."""
    import struct
    import time
    import tracemalloc
    import zlib

    from latentlab.apps import vq_compression

    blob = bytearray(latentlab.compress(vq, digits[1][:30]))
    struct.pack_into("<I", blob, 9, 1_000_000)  # n, after magic, version, groups and codebook
    body = bytes(blob[:-4])
    bomb = body + struct.pack("<I", zlib.crc32(body))
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(latentlab.DataError, match="more than their .* bytes can hold"):
        latentlab.decompress(vq, bomb)
    seconds, (_, peak) = time.perf_counter() - t0, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 1.0 and peak < 1_000_000  # nothing was allocated for the declared samples
    # and what compress writes always fits the bound: many samples of one very likely code in small pieces
    assert len(digits[1]) * vq.prior.groups <= vq_compression.MAX_SYMBOLS_PER_BYTE * len(latentlab.compress(vq, digits[1]))


@pytest.mark.slow
def test_vq_decoding_a_chunk_at_a_time_gives_the_same_codes(vq, digits, monkeypatch):
    from latentlab.apps import vq_compression
    from latentlab.apps.vq_compression import decompress_indices

    blob = latentlab.compress(vq, digits[1])
    monkeypatch.setattr(vq_compression, "DECODE_CHUNK", 7)  # many chunks per group
    np.testing.assert_array_equal(decompress_indices(vq, blob), vq.code_indices(digits[1]))


def test_the_model_id_covers_the_scaler(digits):
    """The same networks fitted on the same data in other units: a blob of one is refused by the other."""
    X = digits[0][:200]
    a = latentlab.Autoencoder(latent_dim=4, hidden=(8,), scaling="none").fit(X, epochs=1, verbose=False, seed=0)
    b = latentlab.Autoencoder(latent_dim=4, hidden=(8,), scaling="none").fit(X, epochs=1, verbose=False, seed=0)
    b.scaler.scale_ = b.scaler.scale_ * 16  # e.g. pixels in 0..16 instead of 0..1
    assert model_id(a) != model_id(b)
    with pytest.raises(latentlab.DataError, match="different model"):
        latentlab.decompress(b, latentlab.compress(a, X[:5]))
