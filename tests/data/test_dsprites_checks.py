"""A dSprites file with impossible factor classes or values is refused by name, not counted."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.data.shapes import load_dsprites
from latentlab.errors import DataError


def _write(path, classes, values=None):
    n = len(classes)
    values = classes.astype(float) if values is None else values
    np.savez(path, imgs=np.zeros((n, 64, 64), np.uint8), latents_classes=classes, latents_values=values)
    return path


def _classes(n=6):
    c = np.zeros((n, 6), np.int64)
    c[:, 1] = np.arange(n) % 3
    return c


def test_negative_classes_are_refused_naming_the_factor(tmp_path):
    c = _classes()
    c[2, 3] = -5  # orientation
    with pytest.raises(DataError, match=r"1 negative value\(s\) \(the first: -5 for 'orientation', row 2\)"):
        load_dsprites(_write(tmp_path / "d.npz", c))


def test_non_finite_values_and_folders_are_refused(tmp_path):
    v = _classes().astype(float)
    v[0, 4] = np.nan
    with pytest.raises(DataError, match="latents_values must be finite"):
        load_dsprites(_write(tmp_path / "d.npz", _classes(), v))
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(DataError, match=r"dir\.npz is a folder"):
        load_dsprites(tmp_path / "dir.npz")


def test_a_valid_file_still_counts_its_values(tmp_path):
    assert load_dsprites(_write(tmp_path / "d.npz", _classes())).counts == (3, 1, 1, 1, 1)
