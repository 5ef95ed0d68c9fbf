"""Scores of image anomaly detection: image ROC-AUC, pixel ROC-AUC and AUPRO.

AUPRO follows MVTec AD's reference evaluation (Bergmann et al., "The MVTec
anomaly detection dataset", IJCV 2021) as anomalib computes it: each
connected defect region of the ground truth (8-connectivity) counts once; at
every threshold the per-region overlap (PRO) is the mean over regions of the
share of the region's pixels above the threshold, and the false-positive
rate is the share of normal pixels above it. The PRO curve is integrated
(trapezoids, interpolated at the limit) from FPR 0 to ``fpr_limit`` = 0.3 and
divided by ``fpr_limit``, so 1 is perfect.

Examples
--------
>>> import numpy as np
>>> masks = [np.array([[0, 0], [0, 1]], bool)]
>>> aupro([np.array([[0.1, 0.2], [0.3, 0.9]])], masks)
1.0
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError


def image_roc_auc(scores, labels) -> float:
    """ROC-AUC of image scores against 0/1 labels (1: defective)."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels).astype(int)
    if len(np.unique(labels)) != 2:
        raise DataError("image ROC-AUC needs both normal (0) and defective (1) images.")
    return float(roc_auc_score(labels, np.asarray(scores, dtype=np.float64)))


def _flat(maps, masks) -> tuple[np.ndarray, np.ndarray]:
    maps, masks = list(maps), list(masks)
    if len(maps) != len(masks) or not maps:
        raise DataError(f"{len(maps)} maps and {len(masks)} masks; pass one mask per map.")
    for i, (a, m) in enumerate(zip(maps, masks)):
        if np.shape(a) != np.shape(m):
            raise DataError(f"map {i} has shape {np.shape(a)} but its mask {np.shape(m)}; they must match.")
    return (np.concatenate([np.asarray(a, np.float64).ravel() for a in maps]),
            np.concatenate([np.asarray(m).astype(bool, copy=False).ravel() for m in masks]))


def pixel_roc_auc(maps, masks) -> float:
    """ROC-AUC over every pixel of every map against the masks (normal images have all-zero masks)."""
    from sklearn.metrics import roc_auc_score

    s, y = _flat(maps, masks)
    if y.all() or not y.any():
        raise DataError("pixel ROC-AUC needs both defect and normal pixels in the masks.")
    return float(roc_auc_score(y, s))


def pro_curve(maps, masks) -> tuple[np.ndarray, np.ndarray]:
    """``(fpr, pro)`` at every distinct threshold, from the highest score down (both start at 0)."""
    from scipy import ndimage

    maps, masks = list(maps), [np.asarray(m).astype(bool) for m in masks]  # once, for _flat and the labelling
    s, y = _flat(maps, masks)
    weights = np.zeros(s.size)
    offset, n_regions = 0, 0
    for m in masks:
        labels, n = ndimage.label(m, structure=np.ones((3, 3)))
        flat = labels.ravel()
        if n:
            sizes = np.bincount(flat)[1:]
            inside = flat > 0
            w = weights[offset:offset + flat.size]
            w[inside] = 1.0 / sizes[flat[inside] - 1]
        n_regions += n
        offset += flat.size
    n_neg = int((~y).sum())
    if n_regions == 0 or n_neg == 0:
        raise DataError("AUPRO needs at least one defect region and some normal pixels in the masks.")
    order = np.argsort(-s, kind="mergesort")
    s, y, weights = s[order], y[order], weights[order] / n_regions
    fpr = np.cumsum(~y) / n_neg
    pro = np.cumsum(weights)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]  # the last pixel of each tie group
    return np.r_[0.0, fpr[last]], np.r_[0.0, np.minimum(pro[last], 1.0)]


def aupro(maps, masks, fpr_limit: float = 0.3) -> float:
    """Area under the PRO curve up to ``fpr_limit``, divided by ``fpr_limit`` (1 is perfect)."""
    if not 0 < fpr_limit <= 1:
        raise DataError(f"fpr_limit={fpr_limit!r} must be in (0, 1].")
    fpr, pro = pro_curve(maps, masks)
    keep = fpr <= fpr_limit
    f, p = fpr[keep], pro[keep]
    if f[-1] < fpr_limit:
        i = np.searchsorted(fpr, fpr_limit)  # the first point past the limit: interpolate to it
        if i < fpr.size:
            t = (fpr_limit - fpr[i - 1]) / (fpr[i] - fpr[i - 1])
            f, p = np.r_[f, fpr_limit], np.r_[p, pro[i - 1] + t * (pro[i] - pro[i - 1])]
    return float(np.trapezoid(p, f) / fpr_limit) if hasattr(np, "trapezoid") else float(np.trapz(p, f) / fpr_limit)


__all__ = ["image_roc_auc", "pixel_roc_auc", "pro_curve", "aupro"]
