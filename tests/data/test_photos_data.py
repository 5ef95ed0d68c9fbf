"""Photos of any size: reading and its documented conversions, random patches, tiled inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.data.patches import PatchSampler
from latentlab.data.photos import as_photo, load_photos, skimage_photos
from latentlab.errors import DataError, DataTypeError
from latentlab.nn.tiling import pad_to_multiple, tiled_apply

torch.set_num_threads(1)


def _save(path, arr, mode=None):
    Image.fromarray(arr, mode=mode).save(path) if mode else Image.fromarray(arr).save(path)
    return path


def test_folder_of_mixed_sizes_and_modes_reads_as_chw_floats(tmp_path):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    rgb = rng.integers(0, 256, (17, 11, 3), dtype=np.uint8)
    _save(tmp_path / "a.png", grey)
    _save(tmp_path / "b.png", rgb)
    imgs = load_photos(tmp_path)
    assert [im.shape for im in imgs] == [(3, 20, 30), (3, 17, 11)]  # one RGB image: all become RGB
    assert all(im.dtype == np.float32 for im in imgs)
    np.testing.assert_allclose(imgs[0][1], grey / 255.0, atol=1e-7)  # grey is repeated
    np.testing.assert_allclose(imgs[1], rgb.transpose(2, 0, 1) / 255.0, atol=1e-7)
    grey_only = load_photos([tmp_path / "a.png"])
    assert grey_only[0].shape == (1, 20, 30)
    luma = load_photos(tmp_path / "b.png", mode="L")[0]
    expected = (rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])) / 255
    assert np.abs(luma[0] - expected).max() < 1 / 255 + 1e-6


def test_alpha_palette_and_16_bit_conversions(tmp_path):
    rgba = np.zeros((6, 7, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 10
    _save(tmp_path / "rgba.png", rgba)
    out = as_photo(tmp_path / "rgba.png")
    assert out.shape == (3, 6, 7) and np.allclose(out[0], 200 / 255)  # alpha dropped, colour kept

    pal = Image.fromarray(np.full((5, 5, 3), (10, 20, 30), np.uint8)).convert("P", palette=Image.Palette.ADAPTIVE)
    pal.save(tmp_path / "pal.png")
    np.testing.assert_allclose(as_photo(tmp_path / "pal.png")[:, 0, 0], np.array([10, 20, 30]) / 255, atol=1e-6)

    deep = np.array([[0, 1000, 65535]], dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    got = as_photo(tmp_path / "deep.png")
    np.testing.assert_allclose(got[0, 0], deep[0] / 65535.0, rtol=1e-6)  # the 16 bits are kept
    np.testing.assert_allclose(as_photo(deep)[0, 0], deep[0] / 65535.0, rtol=1e-6)
    assert as_photo(np.array([[True, False]]))[0].tolist() == [[1.0, 0.0]]


def test_channels_last_arrays_are_detected_and_ambiguous_ones_refused():
    hwc = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(as_photo(hwc), hwc.transpose(2, 0, 1))
    np.testing.assert_array_equal(as_photo(hwc.transpose(2, 0, 1)), hwc.transpose(2, 0, 1))
    with pytest.raises(DataError, match="layout='chw' or layout='hwc'"):
        as_photo(np.zeros((3, 40, 3)))
    assert as_photo(np.zeros((3, 40, 3)), layout="hwc").shape == (3, 3, 40)
    with pytest.raises(DataError, match="channel axis"):
        as_photo(np.zeros((10, 40, 12)))


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.full((8, 8), np.nan, np.float32), DataError, "NaN or inf"),
        (np.full((8, 8), 200.0), DataError, "divide 0..255 values by 255"),
        (np.zeros((8, 8), np.int64), DataTypeError, "uint8"),
        (np.zeros((8, 8), complex), DataTypeError, "real pixel values"),
        (np.zeros((2, 8, 8, 8, 1)), DataError, "a photo is"),
        (np.zeros((0, 8)), DataError, "empty"),
        ("no/such/file.png", DataError, "does not exist"),
    ],
)
def test_bad_photos_are_refused_clearly(bad, error, match):
    with pytest.raises(error, match=match):
        as_photo(bad)


def test_corrupt_file_is_refused(tmp_path):
    (tmp_path / "x.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match="could not be read as an image"):
        load_photos(tmp_path)


def test_patch_sampler_streams_seeded_augmented_patches():
    rng = np.random.default_rng(1)
    imgs = [rng.random((40, 57)).astype(np.float32), (rng.random((33, 90, 3)) * 255).astype(np.uint8)]
    s = PatchSampler(imgs, patch_size=16, patches_per_epoch=50, mode="L", seed=3)
    batches = list(s.batches(16))
    assert [tuple(x.shape) for x, _ in batches] == [(16, 1, 16, 16)] * 3 + [(2, 1, 16, 16)]
    assert len(s) == 50
    a = torch.cat([x for x, _ in s.batches(16, torch.Generator().manual_seed(5))])
    b = torch.cat([x for x, _ in s.batches(16, torch.Generator().manual_seed(5))])
    c = torch.cat([x for x, _ in s.batches(16, torch.Generator().manual_seed(6))])
    assert torch.equal(a, b) and not torch.equal(a, c)
    fixed = s.with_options(fixed=True)
    assert torch.equal(next(iter(fixed.batches(8)))[0], next(iter(fixed.batches(8)))[0])
    # Without augmentation every patch is a crop of one of the photos.
    plain = PatchSampler([imgs[0]], patch_size=8, patches_per_epoch=5, augment=False)
    for p in next(iter(plain.batches(5)))[0]:
        windows = np.lib.stride_tricks.sliding_window_view(imgs[0], (8, 8))
        assert np.isclose(windows, p[0].numpy()).all(axis=(-1, -2)).any()
    # Two shards draw different patches of half the epoch each.
    r0 = torch.cat([x for x, _ in s.batches(8, torch.Generator().manual_seed(1), shard=(0, 2))])
    r1 = torch.cat([x for x, _ in s.batches(8, torch.Generator().manual_seed(1), shard=(1, 2))])
    assert len(r0) == len(r1) == 25 and not torch.equal(r0, r1)


def test_patch_sampler_refuses_small_photos_and_bad_sizes():
    with pytest.raises(DataError, match="smaller than patch_size=32"):
        PatchSampler([np.zeros((20, 50))], patch_size=32)
    with pytest.raises(DataError, match="patch_size"):
        PatchSampler([np.zeros((20, 50))], patch_size=1)
    with pytest.raises(DataError, match="no images"):
        PatchSampler([], patch_size=8)


def test_skimage_photos_only_the_allowed_ones():
    photos = skimage_photos(["coins", "stereo_motorcycle"])
    assert photos["coins"].shape == (1, 303, 384)
    assert photos["stereo_motorcycle"].shape == (1, 500, 741)  # the left view, in grey
    with pytest.raises(DataError, match="not one of the project's photos"):
        skimage_photos(["astronaut"])


def _net(channels=1, width=8):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(channels, width, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(width, width, 3, padding=1), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1),
    ).eval()


@pytest.mark.parametrize("shape", [(1, 100, 77), (3, 130, 260), (1, 9, 5)])
def test_tiled_inference_equals_whole_image_inference(shape):
    net = _net(shape[0])
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        xp, (h, w) = pad_to_multiple(x[None], 2)
        whole = net(xp)[0, :, :h, :w]
        tiled = tiled_apply(net, x, tile=32, overlap=16, margin=6, multiple=2, batch=3)
    assert tiled.shape == shape
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # a margin below the receptive field is visibly different: the check can fail
        rough = tiled_apply(net, x, tile=32, overlap=16, margin=0, multiple=2) if shape[1] > 32 else whole
    assert shape[1] <= 32 or (rough - whole).abs().max() > 1e-4


def test_the_noise_level_estimate_is_scikit_images_estimate_sigma_without_its_import_cost():
    pytest.importorskip("pywt")
    restoration = pytest.importorskip("skimage.restoration")
    from latentlab.data.photos import NORMAL_Q75, estimate_noise_level

    scipy_stats = pytest.importorskip("scipy.stats")
    assert NORMAL_Q75 == pytest.approx(scipy_stats.norm.ppf(0.75), abs=1e-15)
    rng = np.random.default_rng(3)
    smooth = np.cumsum(np.cumsum(rng.standard_normal((3, 90, 70)), 1), 2) / 400  # a photo-like texture
    for sigma in (0.0, 0.02, 0.1, 0.3):
        x = smooth + sigma * rng.standard_normal(smooth.shape)
        want = np.mean([restoration.estimate_sigma(c) for c in x])
        assert estimate_noise_level(x) == pytest.approx(want, rel=1e-12, abs=1e-15), sigma
    assert estimate_noise_level(np.full((1, 40, 40), 0.5)) < 1e-12  # no detail: no noise
    assert estimate_noise_level(np.zeros((1, 40, 40))) == 0.0  # every coefficient zero: 0, not NaN
    assert estimate_noise_level(np.zeros((2, 15, 40))) is None  # too small to say
