"""Image anomaly metrics: known values of image ROC-AUC, pixel ROC-AUC and AUPRO."""

import numpy as np
import pytest

from latentlab.apps.image_metrics import aupro, image_roc_auc, pixel_roc_auc, pro_curve
from latentlab.errors import DataError


def test_image_roc_auc_known_values():
    assert image_roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert image_roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert image_roc_auc([0.1, 0.6, 0.5, 0.9], [0, 0, 1, 1]) == 0.75


def test_pixel_roc_auc_known_value():
    maps = [np.array([[0.0, 0.4], [0.6, 1.0]])]
    masks = [np.array([[0, 1], [0, 1]], bool)]  # defect pixels 0.4, 1.0; normal 0.0, 0.6: 3 of 4 pairs right
    assert pixel_roc_auc(maps, masks) == 0.75


def test_aupro_perfect_and_reversed():
    mask = np.zeros((10, 10), bool)
    mask[2:4, 2:4] = True
    mask[7:9, 6:9] = True
    good = mask.astype(float) + 0.01 * np.arange(100).reshape(10, 10)
    assert aupro([good], [mask]) == pytest.approx(1.0)
    assert aupro([-good], [mask]) == pytest.approx(0.0, abs=1e-12)


def test_aupro_counts_each_region_once():
    """A small region found and a large one missed give PRO 0.5 at low FPR, whatever their sizes."""
    mask = np.zeros((20, 20), bool)
    mask[0, 0] = True  # a one-pixel region, scored highest
    mask[10:20, 10:20] = True  # a 100-pixel region, scored lowest
    score = np.full((20, 20), 0.5)
    score[0, 0] = 1.0
    score[10:20, 10:20] = 0.0
    fpr, pro = pro_curve([score], [mask])
    assert pro[1] == pytest.approx(0.5) and fpr[1] == 0.0
    # all normal pixels tie at 0.5: the curve goes from (0, 0.5) straight to (1, 0.5); up to 0.3 the area is 0.5
    assert aupro([score], [mask]) == pytest.approx(0.5)


def test_aupro_interpolates_at_the_limit():
    """Normal pixels 0..9 scored 9..0, one region scored 4.5: the region is found at FPR 0.5, past the limit."""
    score = np.r_[np.arange(10.0)[::-1], 4.5].reshape(1, 11)
    mask = np.r_[np.zeros(10, bool), True].reshape(1, 11)
    assert aupro([score], [mask]) == pytest.approx(0.0)
    assert aupro([score], [mask], fpr_limit=1.0) == pytest.approx(0.5)


def test_metric_inputs_are_checked():
    with pytest.raises(DataError, match="must match"):
        pixel_roc_auc([np.zeros((2, 2))], [np.zeros((3, 2), bool)])
    with pytest.raises(DataError, match="defect region"):
        aupro([np.zeros((2, 2))], [np.zeros((2, 2), bool)])
    with pytest.raises(DataError, match="both"):
        image_roc_auc([0.1, 0.2], [1, 1])
