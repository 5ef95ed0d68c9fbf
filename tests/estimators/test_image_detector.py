"""ImageAnomalyDetector: learns to flag planted defects, saves and loads exactly, refuses bad input clearly."""

import numpy as np
import pytest
import torch
from PIL import Image

import latentlab
from latentlab.errors import DataError, ModelFileError, NotFittedError

torch.set_num_threads(1)
SMALL = dict(max_side=None, patch=16, channels=(8, 16), latent=4, steps=150, batch_size=8, lr=3e-3, sigma=1.0)


def _tile(rng, h=32, w=40):
    """A smooth striped texture with mild noise, like a part's surface."""
    yy, xx = np.mgrid[0:h, 0:w]
    phase = rng.uniform(0, 2 * np.pi)
    return (0.5 + 0.2 * np.sin(xx / 3.0 + phase) + 0.02 * rng.standard_normal((h, w))).astype(np.float32)


def _defective(rng):
    im = _tile(rng)
    top, left = rng.integers(4, 22), rng.integers(4, 30)
    im[top:top + 6, left:left + 6] = 0.05  # a dark hole
    mask = np.zeros_like(im, bool)
    mask[top:top + 6, left:left + 6] = True
    return im, mask


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    normal = [_tile(rng) for _ in range(24)]
    return latentlab.ImageAnomalyDetector(**SMALL).fit(normal), rng


def test_learns_planted_defects(fitted):
    det, rng = fitted
    good = [_tile(rng) for _ in range(8)]
    bad = [_defective(rng) for _ in range(8)]
    s_good, s_bad = det.score_images(good), det.score_images([b for b, _ in bad])
    assert s_bad.min() > np.median(s_good)
    assert (s_bad[:, None] > s_good[None]).mean() >= 0.9  # image ROC-AUC
    maps = det.anomaly_maps([b for b, _ in bad])
    inside = np.mean([m[k].mean() for m, (_, k) in zip(maps, bad)])
    outside = np.mean([m[~k].mean() for m, (_, k) in zip(maps, bad)])
    assert inside > 3 * outside  # the map lights up where the defect is
    assert det.predict([b for b, _ in bad]).mean() > det.predict(good).mean()
    assert det.decision_scores_.shape == (5,) and np.isfinite(det.threshold_)


def test_maps_at_each_image_own_size(fitted):
    det, rng = fitted
    maps = det.anomaly_maps([_tile(rng, 32, 40), _tile(rng, 50, 24)])
    assert [m.shape for m in maps] == [(32, 40), (50, 24)]


def test_save_load_gives_equal_scores_and_maps(fitted, tmp_path):
    det, rng = fitted
    ims = [_defective(rng)[0], _tile(rng)]
    det.save(tmp_path / "run")
    again = latentlab.load(tmp_path / "run")
    assert type(again).__name__ == "ImageAnomalyDetector"
    np.testing.assert_array_equal(again.score_images(ims), det.score_images(ims))
    for a, b in zip(again.anomaly_maps(ims), det.anomaly_maps(ims)):
        np.testing.assert_array_equal(a, b)
    assert again.threshold_ == det.threshold_
    np.testing.assert_array_equal(again.decision_scores_, det.decision_scores_)
    (tmp_path / "run" / "arrays.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelFileError):
        latentlab.ImageAnomalyDetector.load(tmp_path / "run")


def test_bad_input_is_refused_clearly(fitted, tmp_path):
    det, rng = fitted
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        latentlab.ImageAnomalyDetector(**SMALL).fit(tmp_path / "empty")
    with pytest.raises(DataError, match="at least 2 normal images"):
        latentlab.ImageAnomalyDetector(**SMALL).fit([_tile(rng)])
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DataError, match="bad.png"):
        latentlab.ImageAnomalyDetector(**SMALL).fit([tmp_path / "bad.png", _tile(rng)])
    colour = np.stack([_tile(rng)] * 3, axis=-1)
    with pytest.raises(DataError, match="fitted on grey images"):
        det.score_images([colour])
    with pytest.raises(DataError, match="at least 8 pixels"):
        det.score_images([np.zeros((4, 30), np.float32)])
    with pytest.raises(NotFittedError):
        latentlab.ImageAnomalyDetector().score_images([_tile(rng)])
    with pytest.raises(latentlab.ConfigError, match=r"^residual='l3' is not one of \['l2', 'ssim', 'mix'\]"):
        latentlab.ImageAnomalyDetector(residual="l3").fit([_tile(rng), _tile(rng)])
    with pytest.raises(latentlab.ConfigError, match=r"^patch=20 must be a multiple of 8"):
        latentlab.ImageAnomalyDetector(patch=20).fit([_tile(rng), _tile(rng)])


def test_reads_folders_of_different_sizes(tmp_path):
    rng = np.random.default_rng(1)
    for i, (h, w) in enumerate([(32, 40), (48, 36), (40, 64)]):
        Image.fromarray((_tile(rng, h, w) * 255).astype(np.uint8)).save(tmp_path / f"{i}.png")
    det = latentlab.ImageAnomalyDetector(**{**SMALL, "steps": 5}).fit(tmp_path)
    assert [m.shape for m in det.anomaly_maps(tmp_path)] == [(32, 40), (48, 36), (40, 64)]


def test_residual_maps_without_head_and_folders_saved_before_the_head(tmp_path):
    import json

    rng = np.random.default_rng(2)
    normal = [_tile(rng) for _ in range(6)]
    det = latentlab.ImageAnomalyDetector(**{**SMALL, "steps": 5, "head": False}).fit(normal)
    assert det.net_.head is None
    det.save(tmp_path / "run")
    doc = json.loads((tmp_path / "run" / "config.json").read_text())
    del doc["params"]["head"], doc["params"]["head_channels"]  # as written before the head existed
    (tmp_path / "run" / "config.json").write_text(json.dumps(doc))
    again = latentlab.load(tmp_path / "run")
    assert again.head is False
    np.testing.assert_array_equal(again.score_images(normal[:2]), det.score_images(normal[:2]))


def test_head_parameters_are_checked(fitted):
    det, rng = fitted
    with pytest.raises(latentlab.ConfigError, match=r"^patch=16 must be a multiple of 32 .*head_channels"):
        latentlab.ImageAnomalyDetector(**{**SMALL, "head": True, "head_channels": (4,) * 5}).fit([_tile(rng)] * 2)
    with pytest.raises(latentlab.ConfigError, match="^head="):
        latentlab.ImageAnomalyDetector(**{**SMALL, "head": "yes"}).fit([_tile(rng)] * 2)
    assert det.net_.head is None  # the default map is the residual


@pytest.mark.slow
def test_head_maps_locate_defects_and_save_load_exactly(tmp_path):
    rng = np.random.default_rng(3)
    det = latentlab.ImageAnomalyDetector(**{**SMALL, "head": True, "head_channels": (8, 16), "steps": 200,
                                            "sigma": 1.0, "score_quantile": 1.0, "relative": False})
    det.fit([_tile(rng) for _ in range(24)])
    bad = [_defective(rng) for _ in range(6)]
    maps = det.anomaly_maps([b for b, _ in bad])
    assert all(0 <= m.min() and m.max() <= 1 for m in maps)  # the head's probability of a defect
    inside = np.mean([m[k].mean() for m, (_, k) in zip(maps, bad)])
    outside = np.mean([m[~k].mean() for m, (_, k) in zip(maps, bad)])
    assert inside > 2 * outside
    det.save(tmp_path / "run")
    again = latentlab.load(tmp_path / "run")
    assert again.head is True and again.net_.head is not None
    ims = [b for b, _ in bad[:2]] + [_tile(rng)]
    np.testing.assert_array_equal(again.score_images(ims), det.score_images(ims))
