"""VUS-PR and VUS-ROC, the range-aware measures of the TSB-AD benchmark, equal to its reference code.

Paparrizos et al., "Volume Under the Surface: A New Accuracy Evaluation
Measure for Time-Series Anomaly Detection" (VLDB 2022), as computed by
TSB-AD (Liu and Paparrizos, NeurIPS 2024) in
``TSB_AD.evaluation.metrics.get_metrics`` (version ``"opt"``, 250
thresholds): for every buffer length ``w`` in ``0 .. sliding_window``, each
labelled event gets sloped soft labels ``sqrt(1 - d / w)`` over ``w // 2``
steps on each side; at 250 thresholds (evenly spaced ranks of the scores)
true positives count the soft labels that are predicted, recall is divided by
the mean of the hard and the predicted soft positive mass and multiplied by
the fraction of (widened) events hit, and the areas under the ROC curve
(trapezoids) and the precision-recall curve (steps) are averaged over ``w``.

The reference loops over thresholds and events in Python; this computes the
same sums from the scores sorted once (a cumulative sum per buffer length and
each event's highest score), so a series of 100,000 steps takes a fraction of
a second. ``tests/apps/test_vus_reference.py`` holds it to the reference code
to 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError

N_THRESHOLDS = 250  # TSB-AD's ``thre``


@dataclass(frozen=True)
class VUS:
    """The volume under the range-aware precision-recall (``pr``) and ROC (``roc``) surfaces."""

    pr: float
    roc: float


def _check(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1 or len(y) != len(s):
        raise DataError(
            f"labels {y.shape} and scores {s.shape} must be 1-D and of the same length: one label and one score a step."
        )
    if len(y) < 2:
        raise DataError(f"VUS needs at least 2 steps; got {len(y)}.")
    if not np.isin(y, (0, 1)).all():
        raise DataError("labels must be 0 (normal) or 1 (anomalous).")
    if not np.isfinite(s).all():
        raise DataError(f"scores hold {int((~np.isfinite(s)).sum())} NaN or inf value(s); VUS needs finite scores.")
    y = y.astype(np.int64)
    if y.sum() == 0:
        raise DataError("labels hold no anomalous step; VUS needs at least one event.")
    return y, s


def _events(y: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` step of each run of ones (both inclusive), as TSB-AD's ``range_convers_new``."""
    d = np.diff(np.r_[0, y, 0])
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1))


def _merged(events: list[tuple[int, int]], window: int, n: int) -> list[tuple[int, int]]:
    """Events widened by ``window // 2`` each side, joined where they meet (TSB-AD's ``new_sequence``)."""
    h = window // 2
    out, a = [], max(events[0][0] - h, 0)
    for (_, e), (s_next, _) in zip(events[:-1], events[1:]):
        if e + h < s_next - h:
            out.append((a, e + h))
            a = s_next - h
    out.append((a, min(events[-1][1] + h, n - 1)))
    return out


def _soft_labels(y: np.ndarray, events: list[tuple[int, int]], window: int) -> np.ndarray:
    """Labels with sloped buffers of ``window // 2`` steps on each side of every event (TSB-AD's ``sequencing``)."""
    out = y.astype(np.float64)
    n, h = len(y), window // 2
    for s, e in events:
        after = np.arange(e + 1, min(e + h + 1, n))
        out[after] += np.sqrt(1 - (after - e) / window)
        before = np.arange(max(s - h, 0), s)
        out[before] += np.sqrt(1 - (s - before) / window)
    return np.minimum(out, 1.0)


def vus(labels, scores, sliding_window: int, n_thresholds: int = N_THRESHOLDS) -> VUS:
    """VUS-PR and VUS-ROC of ``scores`` against 0/1 ``labels``, buffers ``0 .. sliding_window``.

    Parameters
    ----------
    labels : array of shape (T,)
        1 where a step is anomalous.
    scores : array of shape (T,)
        Higher means more anomalous.
    sliding_window : int
        The largest buffer; TSB-AD passes the series' period (``find_length_rank(rank=1)``).
    n_thresholds : int
        Thresholds at evenly spaced ranks of the scores (250 in TSB-AD).

    Examples
    --------
    >>> y = np.zeros(200, int); y[100:105] = 1
    >>> s = np.zeros(200); s[98:107] = 1.0
    >>> r = vus(y, s, 10)
    >>> 0.5 < r.pr <= 1 and 0.5 < r.roc <= 1
    True
    >>> vus(y, s, 0).pr < r.pr  # the range-aware measure credits the near misses
    True
    """
    if isinstance(sliding_window, bool) or not isinstance(sliding_window, (int, np.integer)) or sliding_window < 0:
        raise ConfigError(f"sliding_window={sliding_window!r} must be an integer >= 0 (the series' period).")
    if isinstance(n_thresholds, bool) or not isinstance(n_thresholds, (int, np.integer)) or n_thresholds < 1:
        raise ConfigError(f"n_thresholds={n_thresholds!r} must be an integer >= 1 (TSB-AD uses 250).")
    y, s = _check(labels, scores)
    n, P = len(y), float(y.sum())
    events = _events(y)
    order = np.argsort(-s, kind="stable")
    ranked = s[order]  # (T,) descending
    thresholds = ranked[np.linspace(0, n - 1, n_thresholds).astype(int)]  # (K,)
    n_pred = np.searchsorted(-ranked, -thresholds, side="right")  # (K,) steps with score >= threshold
    hard_tp = np.cumsum(y[order])[n_pred - 1]  # (K,) anomalous steps predicted
    pr_areas, roc_areas = [], []
    for w in range(int(sliding_window) + 1):
        soft = _soft_labels(y, events, w)
        extra = np.cumsum(((1 - y) * soft)[order])[n_pred - 1]  # (K,) buffer mass predicted
        tp = hard_tp + extra
        positives = P + extra / 2  # the mean of the hard mass and the hard-plus-predicted-buffer mass
        segs = _merged(events, w, n)
        peaks = np.array([s[a : b + 1].max() for a, b in segs])  # an event is hit when its peak passes
        hit = (peaks[None, :] >= thresholds[:, None]).sum(axis=1) / len(segs)
        tpr = np.minimum(tp / positives, 1.0) * hit
        fpr = (n_pred - tp) / (n - positives)
        precision = tp / n_pred
        tpr_c, fpr_c = np.r_[0.0, tpr, 1.0], np.r_[0.0, fpr, 1.0]
        roc_areas.append(np.dot(fpr_c[1:] - fpr_c[:-1], (tpr_c[1:] + tpr_c[:-1]) / 2))
        pr_areas.append(np.dot(tpr_c[1:-1] - tpr_c[:-2], precision))
    return VUS(pr=float(sum(pr_areas) / len(pr_areas)), roc=float(sum(roc_areas) / len(roc_areas)))


def vus_pr(labels, scores, sliding_window: int) -> float:
    """VUS-PR as TSB-AD computes it; see :func:`vus`.

    Examples
    --------
    >>> y = np.zeros(100, int); y[40:45] = 1
    >>> round(vus_pr(y, y.astype(float), 8), 6)
    1.0
    """
    return vus(labels, scores, sliding_window).pr


def vus_roc(labels, scores, sliding_window: int) -> float:
    """VUS-ROC as TSB-AD computes it; see :func:`vus`.

    Examples
    --------
    >>> y = np.zeros(100, int); y[40:45] = 1
    >>> round(vus_roc(y, y.astype(float), 8), 6)
    1.0
    """
    return vus(labels, scores, sliding_window).roc


__all__ = ["VUS", "vus", "vus_pr", "vus_roc", "N_THRESHOLDS"]
