"""ImageCodec with the scale hyperprior (entropy='hyperprior'): exact coding, checked bytes, files, learning."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
import torch

from latentlab import ImageCodec
from latentlab.apps import _codec_hyper as hyper
from latentlab.apps.image_codec import FRAME, stream_bits
from latentlab.data.patches import PatchSampler
from latentlab.data.photos import skimage_photos
from latentlab.data.tensors import Batch
from latentlab.errors import ConfigError, DataError, ModelFileError
from latentlab.nn.hyperprior import SCALE_TABLE, gaussian_likelihood, gaussian_tables, scale_indexes

TINY = dict(channels=8, latent_channels=8, stages=2, lambdas=(0.005, 0.05), entropy="hyperprior", hyper_channels=8)


@pytest.fixture(scope="module")
def photos():
    p = skimage_photos(["coins", "brick"], mode="L")
    return p["coins"], p["brick"]


@pytest.fixture(scope="module")
def codec(photos):
    """A tiny hyperprior codec trained briefly on brick patches (coins stays held out)."""
    torch.manual_seed(0)
    c = ImageCodec(**TINY)
    sampler = PatchSampler([photos[1]], patch_size=32, patches_per_epoch=256, seed=0)
    return c.fit(sampler, epochs=2, batch_size=8, lr=3e-3, verbose=False, device="cpu", seed=0)


def _grey(photos, h=64, w=80):
    return (photos[0][0, :h, :w] * 255).round().astype(np.uint8)


def test_gaussian_tables_are_the_gaussian_bins():
    half, pmfs = gaussian_tables()
    assert len(half) == len(pmfs) == len(SCALE_TABLE) == 64 and half[0] >= 1
    for t in (0, 20, 63):
        p = pmfs[t]
        assert len(p) == 2 * half[t] + 3 and abs(p.sum() - 1) < 1e-12 and np.allclose(p, p[::-1])
        v = torch.arange(-half[t], half[t] + 1, dtype=torch.float64)
        lik = gaussian_likelihood(v, torch.full_like(v, SCALE_TABLE[t])).numpy()
        assert np.allclose(p[1:-1], lik, atol=1e-9)  # the coder's table is the training's bin probability
        assert p[0] < 1e-9  # the escapes hold next to nothing
    s = torch.tensor([0.0, 0.11, 0.1101, 1.0, 1e6])
    idx = scale_indexes(s)
    assert idx.tolist()[:3] == [0, 0, 1] and idx[-1] == 63
    assert all(SCALE_TABLE[i] >= float(v) * (1 - 1e-6) for i, v in zip(idx[1:4], s[1:4]))  # rounded up, never down


@pytest.mark.slow
def test_round_trip_is_exact_and_save_load_identical(codec, photos, tmp_path):
    img = _grey(photos, 61, 77)  # not a multiple of 2^(stages + 2): padded, then cropped back
    a, b = codec.compress(img, quality=2), codec.compress(img, quality=2)
    assert a == b and a[4] == hyper.VERSION
    out = codec.decompress(a)
    assert out.shape == img.shape and np.array_equal(out, codec.decompress(a))
    assert 10 * math.log10(255**2 / np.mean((out.astype(float) - img) ** 2)) > 18  # trained, not noise
    codec.save(tmp_path / "run")
    doc = json.loads((tmp_path / "run" / "config.json").read_text())
    assert doc["format_version"] == 2 and doc["config"]["entropy"] == "hyperprior"
    again = ImageCodec.load(tmp_path / "run")
    assert again.compress(img, quality=2) == a
    assert np.array_equal(again.decompress(a), out)
    rgb = np.stack([img, img[::-1], 255 - img], axis=-1)
    blob = codec.compress(rgb, quality=1)
    assert codec.decompress(blob).shape == rgb.shape and codec.bits_per_pixel(blob) == 8 * len(blob) / img.size


@pytest.mark.slow
def test_ideal_rate_matches_coded_length_and_quality_orders_rate(codec, photos):
    img = _grey(photos, 128, 128)
    sizes = []
    for q in (1, 2):
        blob = codec.compress(img, quality=q)
        ideal, coded = codec.ideal_bits(img, quality=q), stream_bits(blob)
        assert abs(coded - ideal) / coded < 0.03, (q, ideal, coded)
        sizes.append(len(blob))
    assert sizes[1] > sizes[0]


@pytest.mark.slow
def test_corrupt_and_hostile_bytes_are_refused(codec, photos):
    img = _grey(photos, 40, 40)
    blob = codec.compress(img, quality=1)
    with pytest.raises(DataError, match="truncated"):
        codec.decompress(blob[:-5])
    bad = bytearray(blob)
    bad[35] ^= 0x10
    with pytest.raises(DataError, match="checksum"):
        codec.decompress(bytes(bad))
    with pytest.raises(DataError, match="version"):
        codec.decompress(blob[:4] + b"\x07" + blob[5:])
    fields, payload = hyper.FRAME.read(blob, lambda f: 4 * f[6] + 4 * f[5])
    # A well-framed blob whose symbols are not the encoder's: the symbols' CRC says so.
    wrong = hyper.FRAME.write((*fields[:7], fields[7] ^ 1), payload)
    with pytest.raises(DataError, match="differ from the encoder"):
        codec.decompress(wrong)
    h, w, ch, q, mid = fields[:5]
    with pytest.raises(DataError, match="max_pixels"):
        codec.decompress(hyper.FRAME.write((100_000, 100_000, 1, 1, mid, 0, 1, 0), struct.pack("<I", 0)))
    with pytest.raises(DataError, match="escaped values"):
        codec.decompress(hyper.FRAME.write((16, 16, 1, 1, mid, 10**6, 0, 0), bytes(4 * 10**6)))
    with pytest.raises(DataError, match="quality 9"):
        codec.decompress(hyper.FRAME.write((16, 16, 1, 9, mid, 0, 1, 0), struct.pack("<I", 0)))
    # Words that are not a stream of these symbols decode to something that does not end where declared.
    junk = hyper.FRAME.write((h, w, ch, q, mid, 0, 3, fields[7]), struct.pack("<III", 1, 2, 3))
    with pytest.raises(DataError, match="corrupt|differ"):
        codec.decompress(junk)
    zero_end = hyper.FRAME.write((h, w, ch, q, mid, 0, 2, fields[7]), struct.pack("<II", 7, 0))
    with pytest.raises(DataError, match="not one an encoder writes"):
        codec.decompress(zero_end)
    factorised = ImageCodec(**{**TINY, "entropy": "factorized"})
    factorised.fitted = True
    v1 = factorised.compress(img, quality=1)
    v1_fields, _ = FRAME.read(v1, lambda f: 4 * f[6] + 4 * f[5])
    with pytest.raises(DataError, match="not one an encoder writes"):
        factorised.decompress(FRAME.write((*v1_fields[:5], 0, 1), struct.pack("<I", 0)))
    with pytest.raises(DataError, match="different model"):
        factorised.decompress(blob)
    with pytest.raises(DataError, match="different model"):
        codec.decompress(factorised.compress(img, quality=1))


@pytest.mark.slow
def test_learns_on_held_out_patches(codec, photos):
    held = torch.from_numpy(PatchSampler([photos[0]], 32, 64, fixed=True, seed=3).sample(64, np.random.default_rng(3)))

    def loss(m):
        torch.manual_seed(0)
        m.eval()
        with torch.no_grad():
            return float(m.loss(Batch(held)).total)

    assert loss(codec) < 0.7 * loss(ImageCodec(**TINY))


def test_hard_quantisation_takes_the_rate_of_the_rounded_latents():
    c = ImageCodec(**TINY)
    x = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    c.quantisation = "hard"
    torch.manual_seed(1)
    out = c.loss(Batch(x))
    torch.manual_seed(1)
    quality = (torch.arange(2) + int(torch.randint(2, (1,)))) % 2
    with torch.no_grad():
        y = c.latent(x, quality)  # (2, 8, 8, 8)
        z = torch.round(c.hyper_latent(y))  # (2, 8, 2, 2)
        bits = -torch.log2(gaussian_likelihood(torch.round(y), c.scales(z))).flatten(1).sum(1)
        bits += torch.stack([-torch.log2(c.likelihood(z[i : i + 1], int(quality[i]))).sum() for i in range(2)])
    assert torch.allclose(out.parts["bpp"], (bits / 1024).mean(), rtol=1e-5)
    c.fitted = True  # the coded stream holds what the hard rate counts, to within the coder's overhead
    img = (x[0, 0].numpy() * 255).round().astype(np.uint8)
    q = int(quality[0]) + 1
    assert abs(c.ideal_bits(img, q) - float(bits[0])) < 0.02 * float(bits[0]) + 2


def test_factorised_folders_and_bytes_keep_format_version_1(tmp_path):
    c = ImageCodec(**{**TINY, "entropy": "factorized"})
    c.fitted = True
    blob = c.compress(np.zeros((16, 16), np.uint8), quality=1)
    assert blob[4] == 1 and FRAME.header_size == 27
    c.save(tmp_path / "f")
    doc = json.loads((tmp_path / "f" / "config.json").read_text())
    assert doc["format_version"] == 1 and "entropy" not in doc["config"] and "hyper_channels" not in doc["config"]
    assert ImageCodec.load(tmp_path / "f").decompress(blob).shape == (16, 16)
    doc["format_version"] = 2  # a factorised config in a version-2 folder is not what this writes
    (tmp_path / "f" / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="format version"):
        ImageCodec.load(tmp_path / "f")
    with pytest.raises(ConfigError, match="entropy"):
        ImageCodec(entropy="gaussian")
    with pytest.raises(ConfigError, match="hyper_channels"):
        ImageCodec(entropy="hyperprior", hyper_channels=0)
