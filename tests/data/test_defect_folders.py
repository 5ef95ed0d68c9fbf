"""Defect folder layouts (MVTec AD, magnetic tiles, plain) and masks, on tiny files the tests write."""

import numpy as np
import pytest
from PIL import Image

from latentlab.data.defect_folders import load_defect_folders, read_mask
from latentlab.errors import DataError


def _png(path, shape=(12, 10), value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(shape, value, np.uint8)).save(path)
    return path


def test_magnetic_tile_layout(tmp_path):
    for i in range(3):
        _png(tmp_path / "MT_Free" / f"n{i}.jpg")
    _png(tmp_path / "MT_Crack" / "c0.jpg")
    _png(tmp_path / "MT_Crack_masks" / "c0.png", value=255)
    _png(tmp_path / "MT_Blowhole" / "b0.jpg")  # no mask folder: the item has no mask
    ds = load_defect_folders(tmp_path)
    assert [p.name for p in ds.normal] == ["n0.jpg", "n1.jpg", "n2.jpg"]
    assert ds.kinds == ["MT_Blowhole", "MT_Crack"]
    crack = next(t for t in ds.test if t.kind == "MT_Crack")
    assert crack.mask.name == "c0.png" and crack.defective
    assert next(t for t in ds.test if t.kind == "MT_Blowhole").mask is None
    assert read_mask(crack.mask, (12, 10)).all()


def test_mvtec_layout(tmp_path):
    _png(tmp_path / "train" / "good" / "000.png")
    _png(tmp_path / "test" / "good" / "000.png")
    _png(tmp_path / "test" / "scratch" / "000.png")
    _png(tmp_path / "ground_truth" / "scratch" / "000_mask.png", value=0)
    ds = load_defect_folders(tmp_path)
    assert len(ds.normal) == 1
    kinds = {t.kind: t for t in ds.test}
    assert kinds["good"].mask is None and not kinds["good"].defective
    assert kinds["scratch"].mask.name == "000_mask.png"
    assert not read_mask(kinds["scratch"].mask, (12, 10)).any()


def test_plain_layout(tmp_path):
    _png(tmp_path / "ok" / "a.png")
    _png(tmp_path / "check" / "x.png")
    _png(tmp_path / "check" / "y.png")
    _png(tmp_path / "masks" / "y.png", value=255)
    ds = load_defect_folders(normal=tmp_path / "ok", test=tmp_path / "check", masks=tmp_path / "masks")
    assert [(t.image.name, t.defective) for t in ds.test] == [("x.png", False), ("y.png", True)]


def test_bad_folders_and_masks(tmp_path):
    (tmp_path / "MT_Free").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        load_defect_folders(tmp_path)
    with pytest.raises(DataError, match="no folder of normal images"):
        load_defect_folders(_png(tmp_path / "other" / "x" / "a.png").parent.parent)
    with pytest.raises(DataError, match="not a folder"):
        load_defect_folders(tmp_path / "missing")
    mask = _png(tmp_path / "m.png", shape=(5, 5))
    with pytest.raises(DataError, match="must have its image's size"):
        read_mask(mask, (12, 10))
