"""Long series: period and window length, window normalisation, per-step scores, and the metrics to judge them.

A series is a ``(T, F)`` float array (``(T,)`` for one channel) in which NaN
marks a missing value. It is cut into overlapping windows of ``window``
steps (stride 1); a model reconstructs each window; the squared error of each
point of each window is kept, and the score of a step is the mean of the
errors at that step over the windows that cover it. Missing points are left
out of every mean (never filled in), and a step whose values are all missing
has a NaN score.

The metrics follow what the time-series anomaly literature reports:
step-level ROC-AUC and average precision, window-level ROC-AUC, event recall,
and VUS-PR, the volume under the range-aware precision-recall surface of
Paparrizos et al., "Volume Under the Surface: a new accuracy evaluation
measure for time-series anomaly detection", PVLDB 15(11), 2022, recommended
by the TSB-AD benchmark (Liu and Paparrizos, NeurIPS 2024).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from ..errors import ConfigError, DataError, DataTypeError
from . import periods as _periods
from .vus import vus, vus_pr, vus_roc  # noqa: F401  (re-exported: the series metrics in one place)

NORMALISATIONS = ("raw", "centre", "standard")


# ------------------------------------------------------------------ window length
#: The longest window :func:`choose_window` gives: a daily period of 5-minute data (288 steps) fits; windows of
#: TSB-AD's window finder (``find_length_rank``) reach 300 too.
MAX_WINDOW = 300


def dominant_period(series, *, min_period: int = 3, max_period: int | None = None, step=None) -> int | None:
    """The strongest period of the series: the lag of the highest clear peak of its autocorrelation, or None.

    Each channel is detrended by a straight line (missing points are
    interpolated for this estimate only), the autocorrelations (by FFT) are
    averaged over channels, and the highest clear peak in ``[min_period,
    max_period]`` is the period: at least 0.2, and rising at least 0.1 above
    the troughs beside it. ``max_period`` is at most (and by default) a third
    of the length, so a period repeats at least three times; a series
    without such a peak, or whose period is longer, has none. ``step``, the
    sampling interval (seconds, or a timedelta), makes a period within 2% of
    an hour, a day or a week that calendar period. See
    :mod:`latentlab.apps.periods`.

    Examples
    --------
    >>> t = np.arange(400)
    >>> dominant_period(np.sin(2 * np.pi * t / 25) + 0.01 * t)
    25
    >>> dominant_period(np.random.default_rng(0).standard_normal(400)) is None
    True
    >>> daily = np.sin(2 * np.pi * np.arange(4000) / 287)  # a peak at 287 steps of 5 minutes ...
    >>> dominant_period(daily), dominant_period(daily, step=300)  # ... is a day, once the interval is known
    (287, 288)
    """
    found = _periods.periods(as_series_array(series), min_period=min_period, max_period=max_period,
                             step=_periods.seconds(step))
    return found[0] if found else None


def choose_window(series, *, default: int = 16, min_window: int = 4, max_window: int = MAX_WINDOW,
                  step=None) -> int:
    """Window length for a series: its strongest period up to ``max_window`` (:func:`dominant_period`), else
    ``default``.

    The periods are searched up to a third of the series; when the strongest
    is longer than ``max_window``, the strongest that fits is taken (an
    hourly period of minute data whose day is too long), else the default,
    which is clipped to a quarter of the series, so that a fit always has
    windows to learn from. The result lies in ``[min_window, max_window]``.
    ``step``: the sampling interval, as for :func:`dominant_period`.

    Examples
    --------
    >>> choose_window(np.sin(2 * np.pi * np.arange(500) / 12))
    12
    >>> choose_window(np.random.default_rng(0).standard_normal(500))  # no period: the default
    16
    """
    x = as_series_array(series)
    found = _periods.periods(x, max_period=max(int(max_window), 3), step=_periods.seconds(step))
    w = found[0] if found else min(default, max(min_window, len(x) // 4))
    return int(max(min_window, min(w, max_window)))


#: The least context of :func:`context_window` (steps), and its window when the series has no period: TSB-AD's
#: (``find_length_rank`` gives 125 when it finds no period).
MIN_CONTEXT, NO_PERIOD_WINDOW = 64, 125
#: Repeats of the period and the no-period window stop at ``1 / CONTEXT_SHARE`` of the training series, so that a
#: short series keeps short windows (chosen on the tuning data of both series benchmarks: docs/timeseries.md).
CONTEXT_SHARE = 16


def context_window(series, *, min_context: int = MIN_CONTEXT, default: int = NO_PERIOD_WINDOW,
                   max_window: int = MAX_WINDOW, step=None) -> int:
    """Window length with context: whole periods of the series, at least ``min_context`` steps, else ``default``.

    The period is :func:`dominant_period`'s (searched up to ``max_window``);
    a shorter one than ``min_context`` is repeated until the window holds
    ``min_context`` steps (a period of 5 gives 65), so a window shows a
    level and a course against which a jump, a flat stretch or a burst
    stands out. A series without a period gets ``default``, the window
    TSB-AD's own window finder gives then. Repeats and the default stop at
    a sixteenth of the series (:data:`CONTEXT_SHARE`: a short series keeps
    short windows, which a short event stands out in; one period, at most a
    third of the series, stays whole); the window lies in ``[4, max_window]``.

    Examples
    --------
    >>> context_window(np.sin(2 * np.pi * np.arange(2000) / 12))  # 6 periods of 12
    72
    >>> context_window(np.random.default_rng(0).standard_normal(2000)), context_window(np.zeros(800) + np.arange(800))
    (125, 50)
    """
    x = as_series_array(series)
    found = _periods.periods(x, max_period=max(int(max_window), 3), step=_periods.seconds(step))
    fit = max(4, len(x) // CONTEXT_SHARE)
    if not found:
        return int(max(4, min(default, fit, max_window)))
    p = found[0]  # at most a third of the series (see periods): kept whole even when longer than the cap
    k = max(1, min(-(-int(min_context) // p), fit // p))
    return int(max(4, min(k * p, max_window)))


def level_drifts(series, p_value: float = 0.1) -> bool:
    """Whether the level of any channel may wander: the augmented Dickey-Fuller test keeps its unit root.

    A channel whose ADF p-value (statsmodels' ``adfuller``, constant term,
    lags by BIC) exceeds ``p_value`` is taken to drift (a random walk, or a
    trend), and raw windows of its later data would look unlike any it was
    trained on. Missing points are interpolated for the test only.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> level_drifts(rng.standard_normal(300)), level_drifts(np.cumsum(rng.standard_normal(300)))
    (False, True)
    """
    from statsmodels.tools.sm_exceptions import ModelWarning
    from statsmodels.tsa.stattools import adfuller

    x = as_series_array(series)
    t = np.arange(len(x), dtype=np.float64)
    for j in range(x.shape[1]):
        v = x[:, j]
        ok = np.isfinite(v)
        if ok.sum() < 20:
            continue
        v = np.interp(t, t[ok], v[ok])
        if v.std() <= 1e-12:
            continue
        with warnings.catch_warnings():
            # A short or flat series makes statsmodels warn (rank-deficient lag regressions, one per lag tried);
            # the test's answer is still the one wanted, and the warnings would flood the user's output.
            warnings.simplefilter("ignore", ModelWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.filterwarnings("ignore", module=r"statsmodels\.")
            p = adfuller(v, regression="c", autolag="BIC", result_object=False)[1]
        if p > p_value:
            return True
    return False


# ------------------------------------------------------------------ windows
def as_series_array(series, name: str = "series") -> np.ndarray:
    """A series as a float64 ``(T, F)`` array; NaN stays (missing), infinities are refused."""
    if hasattr(series, "to_numpy"):
        series = series.to_numpy()
    if np.iscomplexobj(series):  # a float cast would keep the real part and drop the rest without a word
        raise DataTypeError(f"{name} holds complex values; pass real numbers (the real part, the magnitude or "
                            "both as channels, as you mean them).")
    try:
        x = np.asarray(series, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} holds non-numeric values; pass numbers (NaN for missing).") from None
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise DataError(f"{name} has shape {x.shape}; a series is (time,) or (time, channels).")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"{name} is empty (shape {x.shape}); pass at least a few time steps.")
    if np.isinf(x).any():
        raise DataError(f"{name} holds infinite values; mark unknown values as NaN instead.")
    return x


def channel_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each channel of ``x`` ``(T, F)``, missing points left out, finite for
    any finite values.

    A channel whose largest magnitude lies outside ``[1e-100, 1e100]`` is
    divided by it first and the moments multiplied back: squaring values of
    1e200 overflows to inf, and squaring values of 1e-200 underflows to 0,
    so a plain standard deviation would make a well-behaved series look
    infinite or constant.

    Examples
    --------
    >>> m, s = channel_moments(np.array([[1e250], [3e250]]))
    >>> print(f"{m[0]:.3g} {s[0]:.3g}")  # a plain np.std gives inf here
    2e+250 1e+250
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a channel all missing: NaN, refused by the caller
        peak = np.nanmax(np.abs(x), axis=0)
        ok = np.isfinite(peak) & (peak > 0)
        size = np.where(ok & ((peak > 1e100) | (peak < 1e-100)), peak, 1.0)  # (F,): 1 where plain sums are safe
        u = x / size
        return np.nanmean(u, axis=0) * size, np.nanstd(u, axis=0) * size


def sliding_windows(x: np.ndarray, window: int) -> np.ndarray:
    """``(T, F)`` -> ``(T - window + 1, window, F)`` overlapping windows (a read-only view)."""
    if window > len(x):
        raise DataError(f"the series has {len(x)} steps, fewer than the window of {window}; pass a longer series.")
    return np.lib.stride_tricks.sliding_window_view(x, window, axis=0).transpose(0, 2, 1)


def normalise_windows(W: np.ndarray, how: str, floor: float = 0.1) -> np.ndarray:
    """Windows ``(n, w, F)`` made raw, centred (each channel's window mean removed) or standardised.

    'standard' divides by each window's standard deviation, floored at
    ``floor`` (in the series' scaled units) so a flat window does not blow up.
    Missing points stay NaN and are left out of the means.
    """
    if how not in NORMALISATIONS:
        raise ConfigError(f"normalisation={how!r} is not one of {list(NORMALISATIONS)}.")
    if how == "raw":
        return np.array(W, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a window of one channel all missing
        mean = np.nanmean(W, axis=1, keepdims=True)
        out = W - np.nan_to_num(mean)
        if how == "standard":
            out = out / np.maximum(np.nan_to_num(np.nanstd(W, axis=1, keepdims=True)), floor)
    return out


def step_means(E: np.ndarray, first: int, n_steps: int) -> np.ndarray:
    """Mean over covering windows of point errors ``E`` ``(n, w, F)`` -> per-step ``(n_steps, F)``.

    Window ``i`` of ``E`` starts at step ``first + i``; the result covers
    steps ``first .. first + n_steps - 1`` and uses only the windows in
    ``E``. Offsets are added in one fixed order, so a step's mean is the same
    whether the windows came in one call or many (streaming).
    """
    n, w, f = E.shape
    total = np.zeros((n_steps + w, f))
    count = np.zeros((n_steps + w, f))
    ok = np.isfinite(E)
    vals = np.where(ok, E, 0.0)
    for j in range(w):  # window i, offset j is step i + j
        total[j : j + n] += vals[:, j]
        count[j : j + n] += ok[:, j]
    total, count = total[:n_steps], count[:n_steps]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def window_error_means(E: np.ndarray) -> np.ndarray:
    """Mean point error of each window ``(n, w, F)`` -> ``(n,)``, missing points left out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(E.reshape(len(E), -1), axis=1)


# ------------------------------------------------------------------ metrics
def _labels_scores(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(int).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise DataError(f"{y.shape[0]} labels but {s.shape[0]} scores; pass one label per step.")
    ok = np.isfinite(s)  # missing steps have no score
    y, s = y[ok], s[ok]
    if len(np.unique(y)) != 2:
        raise DataError("labels need both classes (0 = normal, 1 = anomaly) among the scored steps.")
    return y, s


def step_metrics(labels, scores) -> dict[str, float]:
    """Step-level ROC-AUC and average precision (steps with a NaN score are left out).

    Examples
    --------
    >>> step_metrics([0, 0, 1, 0], [0.1, 0.2, 0.9, 0.3])
    {'roc_auc': 1.0, 'average_precision': 1.0}
    """
    y, s = _labels_scores(labels, scores)
    return {"roc_auc": float(roc_auc_score(y, s)), "average_precision": float(average_precision_score(y, s))}


def window_labels(labels, window: int) -> np.ndarray:
    """A window is anomalous when any of its steps is: ``(T,)`` -> ``(T - window + 1,)``.

    Examples
    --------
    >>> window_labels([0, 0, 1, 0, 0], 2).tolist()
    [0, 1, 1, 0]
    """
    y = np.asarray(labels).astype(int).ravel()
    return sliding_windows(y[:, None], window)[:, :, 0].max(axis=1)


def window_roc_auc(labels, window_scores, window: int) -> float:
    """ROC-AUC of per-window scores against :func:`window_labels` of per-step ``labels``."""
    y = window_labels(labels, window)
    if len(y) and y.min() == 1:
        raise DataError(
            f"every window of {window} steps holds an anomalous step, so no window is normal and window ROC-AUC "
            "is undefined; use a shorter window, or score at the step level."
        )
    return float(roc_auc_score(*_labels_scores(y, window_scores)))


def events(labels) -> list[tuple[int, int]]:
    """Runs of consecutive anomalous steps as ``(start, stop)`` (stop exclusive).

    Examples
    --------
    >>> events([0, 1, 1, 0, 1])
    [(1, 3), (4, 5)]
    """
    y = np.r_[0, (np.asarray(labels).ravel() > 0).astype(int), 0]
    d = np.diff(y)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def event_recall(labels, predicted) -> float:
    """Fraction of anomalous events (runs of labelled steps) with at least one step flagged.

    Examples
    --------
    >>> event_recall([0, 1, 1, 0, 1, 0], [0, 0, 1, 0, 0, 0])
    0.5
    """
    p = np.asarray(predicted).ravel() > 0
    ev = events(labels)
    if not ev:
        raise DataError("labels hold no anomalous step; event recall needs at least one event.")
    return float(np.mean([p[s:e].any() for s, e in ev]))


def series_metrics(labels, step_scores, window_scores, window: int, predicted=None,
                   sliding_window: int | None = None) -> dict[str, float]:
    """The whole report for one scored series: step and window ROC-AUC, AP, VUS-PR and VUS-ROC, event recall.

    ``sliding_window`` (the largest VUS buffer) defaults to ``window``, as
    TSB-AD passes its sliding window; ``predicted`` (0/1 per step) adds
    ``event_recall``.
    """
    out = {f"step_{k}": v for k, v in step_metrics(labels, step_scores).items()}
    out["window_roc_auc"] = window_roc_auc(labels, window_scores, window)
    volume = vus(labels, step_scores, window if sliding_window is None else sliding_window)
    out["vus_pr"], out["vus_roc"] = volume.pr, volume.roc
    if predicted is not None:
        out["event_recall"] = event_recall(labels, predicted)
    return out

