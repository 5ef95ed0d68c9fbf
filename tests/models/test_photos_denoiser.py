"""latentlab.ImageDenoiser: trained on 32x32 patches, applied to photos of any size, tiled, saved and loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import latentlab
from latentlab.errors import ConfigError, DataError, ModelFileError, NotFittedError
from latentlab.nn.tiling import pad_to_multiple

torch.set_num_threads(1)
SIGMA = 0.1


def _scene(h, w, channels, seed):
    """A synthetic photo: smooth shading plus flat discs and boxes (edges a denoiser must keep)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.empty((channels, h, w), np.float32)
    for c in range(channels):
        img[c] = 0.3 + 0.2 * np.sin(3 * xx + rng.random() * 6) * np.cos(2 * yy)
    for _ in range(12):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(4, max(5, min(h, w) // 4))
        mask = (yy * max(h, w) - cy) ** 2 + (xx * max(h, w) - cx) ** 2 < r * r
        if rng.random() < 0.5:
            mask = (np.abs(yy * max(h, w) - cy) < r) & (np.abs(xx * max(h, w) - cx) < r / 2)
        img[:, mask] = rng.random((channels, 1))
    return np.clip(img, 0, 1)


def _psnr(clean, out):
    return 10 * np.log10(1.0 / np.mean((np.clip(out, 0, 1) - clean) ** 2))


def _noisy(clean, seed):
    return (clean + SIGMA * np.random.default_rng(seed).standard_normal(clean.shape)).astype(np.float32)


def _train(channels, seed=0):
    photos = [_scene(90 + 7 * i, 120 - 5 * i, channels, seed + i) for i in range(4)]
    den = latentlab.ImageDenoiser(hidden=(8, 16), depth=1)
    return den.fit(photos, noise_level=SIGMA, patch_size=32, patches_per_epoch=384, validation_patches=32,
                   epochs=6, batch_size=16, lr=4e-3, seed=seed, verbose=False)


@pytest.fixture(scope="module")
def grey_model():
    return _train(1)


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory):
    den = _train(3, seed=10)
    path = tmp_path_factory.mktemp("rgb") / "run"
    den.save(path)
    return den, path


@pytest.mark.slow
def test_trained_on_32px_patches_it_denoises_a_100x77_grey_photo(grey_model):
    clean = _scene(100, 77, 1, seed=99)[0]  # held out: never trained on
    noisy = _noisy(clean, 1)
    out = grey_model.denoise(noisy)
    assert out.shape == (100, 77) and out.dtype == np.float32
    blur = torch.nn.functional.avg_pool2d(torch.from_numpy(noisy)[None, None], 3, 1, 1, count_include_pad=False)
    base_noisy, base_blur, ours = _psnr(clean, noisy), _psnr(clean, blur[0, 0].numpy()), _psnr(clean, out)
    assert ours > base_noisy + 4 and ours > base_blur + 0.5, (base_noisy, base_blur, ours)
    assert grey_model.history[-1]["val_mse"] < grey_model.history[0]["val_mse"]  # it learned


@pytest.mark.slow
def test_it_denoises_a_256x256_rgb_photo_in_any_layout(rgb_model):
    den, _ = rgb_model
    clean = _scene(256, 256, 3, seed=77)
    noisy = _noisy(clean, 2)
    chw = den.denoise(noisy)
    hwc = den.denoise(noisy.transpose(1, 2, 0))
    assert chw.shape == (3, 256, 256) and hwc.shape == (256, 256, 3)
    np.testing.assert_allclose(hwc.transpose(2, 0, 1), chw, atol=1e-6)
    assert _psnr(clean, chw) > _psnr(clean, noisy) + 4
    u8 = den.denoise((np.clip(noisy, 0, 1) * 255).round().astype(np.uint8))  # 8-bit input is read as /255
    assert _psnr(clean, u8) > _psnr(clean, noisy) + 3


@pytest.mark.slow
def test_tiled_inference_equals_whole_image_inference(grey_model):
    x = torch.from_numpy(_noisy(_scene(150, 203, 1, seed=5), 3))
    with torch.inference_mode():
        xp, (h, w) = pad_to_multiple(x[None], grey_model.net.factor)
        whole = grey_model(xp)[0, :, :h, :w]
    tiled = grey_model.denoise_tensor(x, tile=64, batch=3)  # many tiles: 64 px with a 44 px overlap
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=1e-5)
    tiny = grey_model.denoise(np.full((5, 3), 0.5, np.float32))  # smaller than one tile (and than 2^k)
    assert tiny.shape == (5, 3)


@pytest.mark.slow
def test_save_then_load_gives_identical_outputs(rgb_model, tmp_path):
    den, path = rgb_model
    again = latentlab.ImageDenoiser.load(path)
    assert isinstance(latentlab.load(path), latentlab.ImageDenoiser)
    assert json.loads((path / "config.json").read_text())["config"]["family"] == "image_denoiser"
    x = _noisy(_scene(70, 90, 3, seed=8), 4)
    np.testing.assert_array_equal(again.denoise(x), den.denoise(x))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError):
        latentlab.ImageDenoiser.load(tmp_path / "bad")


def test_loss_is_the_mean_squared_error_to_the_clean_patch():
    den = latentlab.ImageDenoiser(hidden=(4, 8), depth=1, input_shape=(1, 16, 16), noise_level=0.2).eval()
    torch.nn.init.zeros_(den.net.decoder.head.weight)
    torch.nn.init.zeros_(den.net.decoder.head.bias)  # predicts no noise: the output is the noisy input
    x = torch.rand(5, 1, 16, 16)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))  # the loss's validation noise
    expected = (0.2 * noise).pow(2).mean()
    out = den.loss(latentlab.data.tensors.Batch(x))
    torch.testing.assert_close(out.total, expected)
    torch.testing.assert_close(out.parts["mse"], expected)


@pytest.mark.slow
def test_memory_stays_bounded_on_a_4000x3000_rgb_photo(rgb_model, tmp_path):
    _, path = rgb_model
    img = tmp_path / "big.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8)).save(img, compress_level=0)
    code = (
        "import resource, sys, torch; torch.set_num_threads(1)\n"
        "import latentlab\n"
        "from latentlab.data.photos import as_photo\n"
        f"den = latentlab.ImageDenoiser.load({str(path)!r})\n"
        f"out = den.denoise({str(img)!r})\n"
        "assert out.shape == (3, 3000, 4000), out.shape\n"
        # VmHWM: the peak of this process's own memory since exec. ru_maxrss would not do: Linux carries it
        # over from the parent across fork and exec, so a big pytest process would set the figure.
        "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')))\n"
    )
    src = str(Path(latentlab.__file__).parents[1])
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": src, "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr[-2000:]
    peak_mb = int(res.stdout.split()[-1]) / 1024
    assert peak_mb < 1024, f"peak RSS {peak_mb:.0f} MB"


@pytest.mark.slow
def test_bad_inputs_get_clear_errors(grey_model, rgb_model):
    rgb, _ = rgb_model
    # a colour photo through a grey model goes channel by channel in an opponent space (latentlab.nn.colour)
    assert grey_model.denoise(np.zeros((3, 40, 40), np.float32), check_noise=False).shape == (3, 40, 40)
    with pytest.raises(DataError, match="channel"):
        rgb.denoise(np.zeros((40, 40), np.float32))
    bad = np.zeros((40, 40), np.float32)
    bad[3, 4] = np.nan
    with pytest.raises(DataError, match="NaN"):
        grey_model.denoise(bad)
    with pytest.raises(DataError, match="divide 0..255"):
        grey_model.denoise(np.full((40, 40), 128.0))
    with pytest.raises(NotFittedError):
        latentlab.ImageDenoiser().denoise(np.zeros((8, 8), np.float32))
    with pytest.raises(DataError, match="noise_level"):
        latentlab.ImageDenoiser().fit([np.zeros((40, 40))], noise_level=25)
    with pytest.raises(DataError, match="smaller than patch_size"):
        latentlab.ImageDenoiser().fit([np.zeros((20, 40))], noise_level=0.1, patch_size=32)
    with pytest.raises(ConfigError, match="depth"):
        latentlab.ImageDenoiser(depth=0)
    with pytest.raises(ConfigError, match="decode from a code alone"):
        grey_model.decode(np.zeros((1, grey_model.config.latent_dim), np.float32))


@pytest.mark.slow
def test_cli_denoise_keeps_size_and_alpha(rgb_model, tmp_path, capsys):
    from latentlab.cli import main

    _, path = rgb_model
    clean = _scene(60, 45, 3, seed=12)
    rgba = np.concatenate([np.clip(_noisy(clean, 5), 0, 1) * 255, np.full((1, 60, 45), 200.0)]).round()
    Image.fromarray(rgba.transpose(1, 2, 0).astype(np.uint8), "RGBA").save(tmp_path / "in.png")
    assert main(["denoise", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--model", str(path)]) == 0
    with Image.open(tmp_path / "out.png") as im:
        assert im.mode == "RGBA" and im.size == (45, 60)
        out = np.asarray(im)
    assert (out[..., 3] == 200).all()
    assert _psnr(clean, out[..., :3].transpose(2, 0, 1) / 255) > _psnr(clean, rgba[:3] / 255) + 3
    assert main(["denoise", str(tmp_path / "in.png"), str(tmp_path / "o.png"), "--model", str(tmp_path / "none")]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.slow
def test_a_photo_noisier_or_cleaner_than_the_training_level_gets_a_warning(grey_model):
    import warnings

    from latentlab.data.photos import estimate_noise_level
    from latentlab.errors import DataWarning

    clean = _scene(120, 140, 1, seed=5)
    rng = np.random.default_rng(1)
    for sigma in (0.05, 0.1, 0.2):  # the estimate follows the noise that was added
        found = estimate_noise_level(clean + sigma * rng.standard_normal(clean.shape))
        assert abs(found - sigma) < 0.25 * sigma, (sigma, found)
    assert estimate_noise_level(np.zeros((1, 8, 8))) is None  # too small to say
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        grey_model.denoise(_noisy(clean, 2))  # the level it was trained for (0.1): no warning
        grey_model.denoise(clean + 0.3 * rng.standard_normal(clean.shape), check_noise=False)
    with pytest.warns(DataWarning, match="noise will remain"):
        grey_model.denoise((clean + 0.3 * rng.standard_normal(clean.shape)).astype(np.float32))
    with pytest.warns(DataWarning, match="over-smoothed"):
        grey_model.denoise(clean)
