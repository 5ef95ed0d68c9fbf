"""ImageCodec: exact round trips, bits per pixel, ideal rate vs coded length, the model folder, bad bytes, the CLI."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
import torch

import latentlab
from latentlab import ImageCodec
from latentlab.apps.image_codec import FRAME, MAX_PIXELS, stream_bits
from latentlab.data.patches import PatchSampler
from latentlab.data.photos import skimage_photos
from latentlab.data.tensors import Batch
from latentlab.errors import ConfigError, DataError, ModelFileError, NotFittedError
from latentlab.nn.entropy import FactorizedDensity
from latentlab.nn.gdn import GDN

TINY = dict(channels=8, latent_channels=8, stages=2, lambdas=(0.005, 0.05))


@pytest.fixture(scope="module")
def photos():
    p = skimage_photos(["coins", "brick"], mode="L")
    return p["coins"], p["brick"]


@pytest.fixture(scope="module")
def codec(photos):
    """A tiny codec trained briefly on brick patches (coins stays held out)."""
    torch.manual_seed(0)
    c = ImageCodec(**TINY)
    sampler = PatchSampler([photos[1]], patch_size=32, patches_per_epoch=256, seed=0)
    return c.fit(sampler, epochs=2, batch_size=8, lr=3e-3, verbose=False, device="cpu", seed=0)


def _grey(photos, h=64, w=80):
    return (photos[0][0, :h, :w] * 255).round().astype(np.uint8)


@pytest.mark.slow
def test_round_trip_is_byte_exact_across_runs(codec, photos, tmp_path):
    img = _grey(photos, 61, 77)  # not a multiple of 2^stages: padded, then cropped back
    a, b = codec.compress(img, quality=2), codec.compress(img, quality=2)
    assert a == b
    out1, out2 = codec.decompress(a), codec.decompress(a)
    assert out1.shape == img.shape and out1.dtype == np.uint8
    assert np.array_equal(out1, out2)
    codec.save(tmp_path / "run")
    again = ImageCodec.load(tmp_path / "run")
    assert again.compress(img, quality=2) == a  # a saved then loaded model makes the same bytes
    assert np.array_equal(again.decompress(a), out1)


@pytest.mark.slow
def test_reconstruction_is_close_and_quality_orders_rate(codec, photos):
    img = _grey(photos, 96, 96)
    sizes, errors = [], []
    for q in (1, 2):
        blob = codec.compress(img, quality=q)
        out = codec.decompress(blob).astype(np.float64)
        sizes.append(len(blob))
        errors.append(np.mean((out - img) ** 2))
    psnr = 10 * math.log10(255**2 / errors[1])
    assert psnr > 20  # a trained codec, not noise (an untrained one gives about 12 dB)
    assert sizes[1] > sizes[0] and errors[1] < errors[0]


@pytest.mark.slow
def test_bits_per_pixel_is_bytes_over_pixels(codec, photos):
    grey = _grey(photos, 37, 53)
    rgb = np.stack([grey, grey[::-1], 255 - grey], axis=-1)  # (37, 53, 3)
    for img in (grey, rgb):
        blob = codec.compress(img, quality=1)
        assert codec.bits_per_pixel(blob) == 8 * len(blob) / (37 * 53)
        out = codec.decompress(blob)
        assert out.shape == img.shape


@pytest.mark.slow
def test_ideal_rate_matches_coded_length(codec, photos):
    img = _grey(photos, 128, 128)  # a held-out photo
    for q in (1, 2):
        blob = codec.compress(img, quality=q)
        ideal = codec.ideal_bits(img, quality=q)
        coded = stream_bits(blob)
        assert abs(coded - ideal) / coded < 0.02, (q, ideal, coded)


@pytest.mark.slow
def test_coding_tables_agree_with_the_density(codec, photos):
    # The tables' information content of the rounded latent is the density's own (nothing lost to escapes).
    img = _grey(photos, 128, 128)
    x = torch.from_numpy(img.astype(np.float32) / 255)[None, None]
    for q in (1, 2):
        with torch.no_grad():
            y = torch.round(codec.latent(x, torch.tensor([q - 1])))
            density_bits = float(-torch.log2(codec.likelihood(y, q - 1)).sum())
        assert abs(codec.ideal_bits(img, q) - density_bits) / density_bits < 0.01
        assert codec.read_header(codec.compress(img, q))["escapes"] == 0


def test_colour_photo_round_trip():
    c = ImageCodec(**TINY)
    c.fitted = True
    rgb = np.random.default_rng(0).integers(0, 256, (20, 33, 3), dtype=np.uint8)
    blob = c.compress(rgb, quality=1)
    assert c.read_header(blob)["channels"] == 3
    assert c.decompress(blob).shape == (20, 33, 3)
    assert c.compress(rgb.transpose(2, 0, 1), quality=1) == blob  # channels-first reads the same


@pytest.mark.slow
def test_learns_on_held_out_patches(codec, photos):
    held = torch.from_numpy(PatchSampler([photos[0]], 32, 64, fixed=True, seed=3).sample(64, np.random.default_rng(3)))
    fresh = ImageCodec(**TINY)

    def loss(m):
        torch.manual_seed(0)
        m.eval()
        with torch.no_grad():
            return float(m.loss(Batch(held)).total)

    assert loss(codec) < 0.7 * loss(fresh)


def test_loss_parts_known_values():
    # GDN with its initial beta = 1, gamma = 0.1 I: y = x / sqrt(1 + 0.1 x^2), and IGDN multiplies.
    x = torch.tensor([0.0, 1.0, -2.0, 3.0]).reshape(1, 1, 2, 2)
    want = x / torch.sqrt(1 + 0.1 * x**2)
    assert torch.allclose(GDN(1)(x), want, atol=1e-5)
    assert torch.allclose(GDN(1, inverse=True)(x), x * torch.sqrt(1 + 0.1 * x**2), atol=1e-5)
    # The density's bin probability is the difference of its CDF half a bin either side, and sums to 1.
    d = FactorizedDensity(2)
    grid = torch.arange(-400, 401, dtype=torch.float32)
    lik = d.likelihood(grid.reshape(1, 1, -1, 1).expand(1, 2, -1, 1).contiguous())[0, :, :, 0]  # (2, 801)
    cdf = torch.sigmoid(d.logits_cdf(grid.reshape(1, 1, -1).expand(2, 1, -1) + 0.5))[:, 0]
    assert torch.allclose(lik[:, 1:], cdf[:, 1:] - cdf[:, :-1], atol=1e-6)
    assert torch.allclose(lik.sum(1), torch.ones(2), atol=1e-4)
    lo, pmfs = d.pmf_tables(0, 2)
    assert all(abs(p.sum() - 1) < 1e-12 and (p >= 0).all() for p in pmfs)
    # The loss is bits per pixel + lambda_q * 255^2 * MSE, with the rate on the noisy latent and the
    # reconstruction from the rounded one; recomputed here from the pieces with the same random draws.
    c = ImageCodec(**TINY)
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    out = c.loss(Batch(x))
    torch.manual_seed(1)
    quality = (torch.arange(2) + int(torch.randint(2, (1,)))) % 2
    with torch.no_grad():
        y = c.latent(x, quality)  # (2, 8, 4, 4)
        noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        x_hat = c.reconstruct_from(torch.round(y), quality)
        rate = torch.stack([-torch.log2(c.likelihood(noisy[i : i + 1], int(quality[i]))).sum() / 256 for i in range(2)])
        mse = ((x_hat - x) ** 2).flatten(1).mean(1)
        lam = torch.tensor(TINY["lambdas"])[quality]
    assert y.shape == (2, 8, 4, 4)
    assert torch.allclose(out.parts["bpp"], rate.mean(), rtol=1e-5)
    assert torch.allclose(out.parts["mse"], mse.mean(), rtol=1e-5)
    assert torch.allclose(out.total.detach(), (rate + lam * 255**2 * mse).mean(), rtol=1e-5)


@pytest.mark.slow
def test_bad_bytes_are_refused_clearly(codec, photos):
    img = _grey(photos, 32, 32)
    blob = codec.compress(img, quality=1)
    with pytest.raises(DataError, match="must be bytes"):
        codec.decompress("not bytes")
    with pytest.raises(DataError, match="bad magic"):
        codec.decompress(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(DataError, match="truncated"):
        codec.decompress(blob[:-7])
    bad = bytearray(blob)
    bad[40] ^= 0xFF
    with pytest.raises(DataError, match="checksum"):
        codec.decompress(bytes(bad))
    with pytest.raises(DataError, match="version"):
        codec.decompress(blob[:4] + b"\x09" + blob[5:])
    other = ImageCodec(**TINY)
    other.fitted = True
    with pytest.raises(DataError, match="different model"):
        other.decompress(blob)
    ae = latentlab.Autoencoder(latent_dim=2, hidden=(4,))
    ae.fit(np.random.default_rng(0).random((40, 4)), epochs=1, batch_size=8, verbose=False)
    codes = latentlab.compress(ae, np.zeros((2, 4), np.float32))
    with pytest.raises(DataError, match="not an image"):
        codec.decompress(codes)


@pytest.mark.slow
def test_absurd_header_sizes_are_refused_before_allocating(codec):
    mid = codec._model_id()
    for h, w in ((2**31, 2**31), (100_000, 100_000), (MAX_PIXELS, 2)):
        blob = FRAME.write((h, w, 1, 1, mid, 0, 1), struct.pack("<I", 0))
        with pytest.raises(DataError, match="max_pixels"):
            codec.decompress(blob)
    blob = FRAME.write((16, 16, 1, 1, mid, 10**9, 1), struct.pack("<I", 0))  # a billion escapes in 4 bytes
    with pytest.raises(DataError, match="truncated"):
        codec.decompress(blob)
    blob = FRAME.write((16, 16, 7, 1, mid, 0, 1), struct.pack("<I", 0))
    with pytest.raises(DataError, match="channels"):
        codec.decompress(blob)
    blob = FRAME.write((16, 16, 1, 9, mid, 0, 1), struct.pack("<I", 0))
    with pytest.raises(DataError, match="quality 9"):
        codec.decompress(blob)


@pytest.mark.slow
def test_bad_images_and_options(codec):
    with pytest.raises(ConfigError, match="quality"):
        codec.compress(np.zeros((8, 8), np.uint8), quality=3)
    with pytest.raises(ConfigError, match="quality"):
        codec.compress(np.zeros((8, 8), np.uint8), quality=0)
    bad = np.zeros((8, 8), np.float32)
    bad[2, 3] = np.nan
    with pytest.raises(DataError, match="NaN"):
        codec.compress(bad, quality=1)
    with pytest.raises(DataError, match="float values"):
        codec.compress(np.full((8, 8), 200.0), quality=1)
    with pytest.raises(NotFittedError):
        ImageCodec(**TINY).compress(np.zeros((8, 8), np.uint8), quality=1)
    with pytest.raises(ConfigError, match="lambdas"):
        ImageCodec(lambdas=(0.1, 0.01))


@pytest.mark.slow
def test_model_folder_errors(codec, tmp_path):
    run = tmp_path / "run"
    codec.save(run)
    (run / "model.safetensors").write_bytes(b"\x80\x04junk")
    with pytest.raises(ModelFileError, match="pickle"):
        ImageCodec.load(run)
    codec.save(run)
    (run / "config.json").write_text('{"format": "latentlab-model"}')
    with pytest.raises(ModelFileError, match="not a latentlab image codec"):
        ImageCodec.load(run)
    with pytest.raises(ModelFileError, match="not a folder"):
        ImageCodec.load(tmp_path / "missing")


@pytest.mark.slow
def test_cli_round_trip(codec, photos, tmp_path, capsys):
    from PIL import Image

    from latentlab.cli import main

    run = tmp_path / "run"
    codec.save(run)
    img = _grey(photos, 40, 56)
    Image.fromarray(img).save(tmp_path / "in.png")
    assert main(["compress-image", str(run), str(tmp_path / "in.png"), str(tmp_path / "x.llc"), "--quality", "2"]) == 0
    assert "bits per pixel" in capsys.readouterr().out
    blob = (tmp_path / "x.llc").read_bytes()
    assert blob == codec.compress(img, quality=2)
    assert main(["decompress-image", str(run), str(tmp_path / "x.llc"), str(tmp_path / "out.png")]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), codec.decompress(blob))
    (tmp_path / "bad.llc").write_bytes(blob[:-3])
    assert main(["decompress-image", str(run), str(tmp_path / "bad.llc"), str(tmp_path / "o.png")]) == 2
    assert "truncated" in capsys.readouterr().err


def test_fit_takes_photos_of_any_size_and_checks_patches(photos):
    rgb = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)  # trained on as its luma
    c = ImageCodec(**TINY).fit([photos[1][0, :45, :70], rgb], patch_size=32, patches_per_epoch=16, epochs=1,
                               verbose=False, device="cpu")
    assert c.fitted and len(c.history) == 1 and math.isfinite(c.history[0]["loss"])
    with pytest.raises(DataError, match="patches must be"):
        ImageCodec(**TINY).fit(np.zeros((4, 3, 16, 16), np.float32), epochs=1, verbose=False)
    with pytest.raises(DataError, match="smaller than patch_size"):
        ImageCodec(**TINY).fit([np.zeros((20, 20))], patch_size=32, epochs=1, verbose=False)
