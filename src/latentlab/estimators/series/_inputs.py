"""The series a :class:`~latentlab.estimators.series.SeriesAnomalyDetector` is given: values, index, channel
checks and scaling."""

from __future__ import annotations

import numpy as np

from ...apps import timeseries as ts
from ...errors import DataError

#: The least share of a channel's training steps that must be observed: sparser channels leave most windows
#: empty (no spread, no shape to learn), and their scores and threshold would be NaN.
MIN_OBSERVED = 0.25
#: Scaled values are clipped at this many training standard deviations: a point further out is an anomaly
#: either way, and the models' float32 arithmetic must stay finite (a 1e300 spike would overflow it).
SCALED_LIMIT = 1e6


def values(det, series, *, reset: bool) -> tuple[np.ndarray, object]:
    """``(T, F)`` float64 values of ``series`` and the index to put on outputs (None for arrays); ``reset``
    (in ``fit``) sets ``det``'s ``n_features_in_`` and ``feature_names_in_``, else the channels must match them.

    A pandas index must be sorted and unique (timestamps out of order or duplicated are refused).
    """
    index = None
    names = None
    if hasattr(series, "index") and hasattr(series, "to_numpy"):
        index = series.index
        if not (index.is_monotonic_increasing and index.is_unique):
            what = "duplicated" if not index.is_unique else "out of order"
            raise DataError(f"the series' timestamps are {what}; sort the rows by time and drop duplicates.")
        names = list(series.columns) if hasattr(series, "columns") else [series.name]
    x = ts.as_series_array(series)
    if reset:
        det.n_features_in_ = x.shape[1]
        if names is not None and all(isinstance(n, str) for n in names):
            det.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(det, "feature_names_in_"):
            del det.feature_names_in_
    elif x.shape[1] != det.n_features_in_:
        raise DataError(
            f"the series has {x.shape[1]} channel(s); this detector was fitted on {det.n_features_in_}. "
            "Pass the same channels, in the same order."
        )
    return x, index


def check_channels(det, x: np.ndarray, scale: np.ndarray) -> None:
    """Each training channel of ``x`` observed at ``MIN_OBSERVED`` of its steps and not constant (``scale``:
    its standard deviation), or a :class:`~latentlab.DataError` naming it."""
    for j in range(x.shape[1]):
        name = det.feature_names_in_[j] if hasattr(det, "feature_names_in_") else j
        seen = int(np.isfinite(x[:, j]).sum())
        if not seen:
            raise DataError(f"channel {name!r} is all missing (NaN); drop it or pass data for it.")
        if seen < MIN_OBSERVED * len(x):
            raise DataError(
                f"channel {name!r} is observed at {seen} of {len(x)} steps ({seen / len(x):.1%}); the detector "
                f"needs at least {MIN_OBSERVED:.0%} of each channel's training steps observed to learn its "
                "windows. Drop the channel, or fit on a stretch where it was recorded."
            )
        if scale[j] <= 1e-12 * np.nanmax(np.abs(x[:, j])):  # relative: a series of 1e-250s varies too
            raise DataError(f"channel {name!r} is constant; there is nothing to learn from it. Drop it.")


def scaled(x: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Values in training standard deviations from the training mean, clipped at ``SCALED_LIMIT``; NaN stays."""
    with np.errstate(over="ignore", invalid="ignore"):
        xs = (x - center) / scale
        far = np.isinf(xs)  # x - center overflowed (values near 1e308 of both signs): divide first
        if far.any():
            xs = np.where(far, x / scale - center / scale, xs)
    return np.clip(xs, -SCALED_LIMIT, SCALED_LIMIT)  # NaN stays NaN
