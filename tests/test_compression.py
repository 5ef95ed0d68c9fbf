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


def test_many_bits_reproduce_reconstruct(model, digits):
    X = digits[1][:50]
    out = latentlab.decompress(model, latentlab.compress(model, X, bits=16))
    np.testing.assert_allclose(out, model.reconstruct(X), atol=1e-3)


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


def test_rate_distortion_numbers(model, digits):
    X = digits[1]
    lo, hi = rate_distortion(model, X, bits=2), rate_distortion(model, X, bits=8)
    assert lo["bits_per_sample"] == 8 and hi["bits_per_sample"] == 32
    assert lo["mse"] > hi["mse"] and lo["psnr"] < hi["psnr"]
    assert hi["compression_ratio"] > 50  # 64 float32 values (2048 bits) -> 32 bits plus a small header
    assert hi["psnr"] == pytest.approx(10 * np.log10(1 / hi["mse"]))


def test_autoencoder_beats_pca_at_a_low_rate(model, digits):
    Xtr, Xte = digits[0], digits[1]
    ours, pca = rate_distortion(model, Xte, bits=8), pca_rate_distortion(Xtr, Xte, n_components=4, bits=8)
    assert ours["bits_per_sample"] == pca["bits_per_sample"]
    assert ours["mse"] < pca["mse"]


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
