"""The shipped blind grey denoiser: hash-checked package data, blind at several levels, colour, CLI, fine-tuning."""

import hashlib
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import latentlab
from latentlab.errors import ConfigError, DataError, ModelFileError
from latentlab.models import pretrained

ROOT = Path(__file__).resolve().parents[2]


def _psnr(a, b):
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


@pytest.fixture(scope="module")
def shipped():
    return latentlab.ImageDenoiser.pretrained()


@pytest.fixture(scope="module")
def moon():
    from latentlab.data.photos import skimage_photos

    return skimage_photos(["moon"])["moon"][0][128:256, 192:320]


def _recipe_module():
    folder = ROOT / "benchmarks" / "recipes"
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("shipped_denoiser_recipe", folder / "denoiser.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_shipped_files_are_what_the_recipe_made(shipped):
    folder = pretrained.pretrained_folder("denoiser-grey")
    for name, digest in pretrained.SHIPPED["denoiser-grey"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    recipe = _recipe_module()
    metrics = json.loads((folder / "metrics.json").read_text())
    made_by = recipe.RECIPES[metrics["recipe"]["name"]]  # the recipe file keeps every recipe it has shipped
    assert metrics["recipe_sha256"] == recipe.recipe_hash(made_by) and metrics["recipe"] == made_by
    assert metrics["steps"] == made_by["steps"]
    net = made_by["network"]
    assert shipped.config.hidden == tuple(net["hidden"]) and shipped.config.depth == net["depth"]
    assert shipped.config.max_noise_level == pytest.approx(made_by["sigma_range"][1] / 255)
    assert sum(p.stat().st_size for p in folder.iterdir()) < 5_000_000  # a few MB at most


def test_an_altered_shipped_file_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "pretrained"
    shutil.copytree(pretrained.shipped_root(), copy)
    weights = copy / "denoiser-grey" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(pretrained, "shipped_root", lambda: copy)
    with pytest.raises(ModelFileError, match="SHA-256.*damaged or altered"):
        latentlab.ImageDenoiser.pretrained()
    weights.unlink()
    with pytest.raises(ModelFileError, match="missing.*reinstall"):
        latentlab.ImageDenoiser.pretrained()
    with pytest.raises(ModelFileError, match="no shipped model named 'colour'"):
        latentlab.ImageDenoiser.pretrained("colour")


@pytest.mark.parametrize("sigma, gain", [(15, 5.0), (50, 9.0)])
def test_one_model_denoises_blind_at_low_and_high_levels(shipped, moon, sigma, gain):
    noisy = moon + np.random.default_rng(sigma).standard_normal(moon.shape).astype(np.float32) * sigma / 255
    out = shipped.denoise(noisy, check_noise=False)
    assert out.shape == moon.shape and out.dtype == np.float32
    assert _psnr(out, moon) > _psnr(np.clip(noisy, 0, 1), moon) + gain


def test_a_colour_photo_goes_through_the_grey_model_in_opponent_space(shipped):
    from latentlab.data.photos import skimage_photos

    rgb = skimage_photos(["rocket"], mode="RGB")["rocket"][:, 100:228, 200:328]  # (3, H, W)
    noisy = rgb + np.random.default_rng(1).standard_normal(rgb.shape).astype(np.float32) * 25 / 255
    hwc = shipped.denoise(noisy.transpose(1, 2, 0), check_noise=False)
    assert hwc.shape == (128, 128, 3)  # the layout given comes back
    assert _psnr(hwc.transpose(2, 0, 1), rgb) > _psnr(np.clip(noisy, 0, 1), rgb) + 6
    chw = shipped.denoise(noisy, check_noise=False)
    np.testing.assert_allclose(chw, hwc.transpose(2, 0, 1), atol=1e-6)


def test_noise_above_the_blind_range_is_reported(shipped, moon):
    noisy = moon + np.random.default_rng(3).standard_normal(moon.shape).astype(np.float32) * 90 / 255
    with pytest.warns(latentlab.errors.DataWarning, match="above the 55/255 this blind denoiser"):
        shipped.denoise(noisy)


def test_the_command_line_denoises_with_no_model(tmp_path, moon, capsys):
    from PIL import Image

    from latentlab.cli import main

    noisy = np.clip(moon + np.random.default_rng(4).standard_normal(moon.shape) * 25 / 255, 0, 1)
    Image.fromarray(np.rint(noisy * 255).astype(np.uint8)).save(tmp_path / "in.png")
    assert main(["denoise", str(tmp_path / "in.png"), str(tmp_path / "out.png")]) == 0
    assert "denoised blind (noise levels 0-55/255)" in capsys.readouterr().out
    out = np.asarray(Image.open(tmp_path / "out.png"), np.float32) / 255
    assert _psnr(out, moon) > _psnr(noisy, moon) + 5


def test_fine_tuning_starts_from_the_shipped_weights(shipped, moon):
    den = latentlab.ImageDenoiser()
    den.fit([moon], init="pretrained", noise_level=20 / 255, patch_size=32, patches_per_epoch=8,
            validation_patches=0, epochs=1, batch_size=4, lr=1e-7, verbose=False)
    assert den.config.max_noise_level == 0 and den.config.noise_level == pytest.approx(20 / 255)
    assert den.config.hidden == shipped.config.hidden and den.config.input_shape == (1, 32, 32)
    for k, v in shipped.net.state_dict().items():  # lr 1e-7: still the shipped network
        np.testing.assert_allclose(den.net.state_dict()[k].numpy(), v.numpy(), atol=1e-4)
    with pytest.raises(DataError, match="call it on latentlab.ImageDenoiser"):
        den.fit([moon], init="pretrained")
    with pytest.raises(DataError, match="init='pretrained'"):
        latentlab.ImageDenoiser().fit([moon], init="imagenet")


def test_max_noise_level_is_checked():
    with pytest.raises(ConfigError, match="max_noise_level"):
        latentlab.ImageDenoiser(max_noise_level=1.5)


def test_the_self_ensemble_averages_the_turned_copies_and_gains(shipped, moon):
    noisy = moon[:, :96] + np.random.default_rng(7).standard_normal(moon[:, :96].shape).astype(np.float32) * 25 / 255
    one = shipped.denoise(noisy, check_noise=False)
    eight = shipped.denoise(noisy, check_noise=False, ensemble=8)
    # by hand: each of the 8 flips / transposes of the (128, 96) crop, denoised and turned back, averaged
    copies = [noisy, noisy[:, ::-1], noisy[::-1], noisy[::-1, ::-1]]
    copies += [c.T for c in copies]
    back = [lambda a: a, lambda a: a[:, ::-1], lambda a: a[::-1], lambda a: a[::-1, ::-1]]
    back += [lambda a, f=f: f(a.T) for f in back]
    outs = [b(shipped.denoise(np.ascontiguousarray(c), check_noise=False)) for c, b in zip(copies, back)]
    by_hand = np.clip(np.mean(outs, axis=0), 0, 1)
    np.testing.assert_allclose(eight, by_hand, atol=2e-6)
    assert eight.shape == moon[:, :96].shape
    assert _psnr(eight, moon[:, :96]) > _psnr(one, moon[:, :96]) + 0.03  # 0.046 dB on this crop for the shipped model
    rgb = np.stack([noisy, noisy[::-1], noisy[:, ::-1]], axis=-1)  # colour goes through each plane's ensemble too
    assert shipped.denoise(rgb, check_noise=False, ensemble=2).shape == rgb.shape


@pytest.mark.parametrize("bad", [0, 3, 16, 2.0, True, "8"])
def test_an_ensemble_size_other_than_1_2_4_8_is_refused(shipped, moon, bad):
    with pytest.raises(ConfigError, match="ensemble must be 1, 2, 4 or 8"):
        shipped.denoise(moon, check_noise=False, ensemble=bad)


def test_the_command_line_takes_an_ensemble(tmp_path, moon, capsys):
    from PIL import Image

    from latentlab.cli import main

    noisy = np.clip(moon + np.random.default_rng(5).standard_normal(moon.shape) * 25 / 255, 0, 1)
    Image.fromarray(np.rint(noisy * 255).astype(np.uint8)).save(tmp_path / "in.png")
    assert main(["denoise", str(tmp_path / "in.png"), str(tmp_path / "a.png"), "--ensemble", "4"]) == 0
    four = np.asarray(Image.open(tmp_path / "a.png"), np.float32) / 255
    expected = latentlab.ImageDenoiser.pretrained().denoise(tmp_path / "in.png", ensemble=4)
    np.testing.assert_allclose(four, np.rint(np.squeeze(expected) * 255) / 255, atol=1.01 / 255)  # a file: (1, H, W)
    with pytest.raises(SystemExit):
        main(["denoise", str(tmp_path / "in.png"), str(tmp_path / "b.png"), "--ensemble", "3"])
