"""Periods of a long series: its autocorrelation (by FFT), the clear peaks of it, and calendar periods.

A period is a lag at which the series resembles itself: a clear peak of the
autocorrelation. The functions here take a float ``(T, F)`` array (NaN where
a value is missing); :func:`latentlab.apps.timeseries.dominant_period` and
:func:`~latentlab.apps.timeseries.choose_window` take any series and call
them.

A period is believed only when it repeats at least ``MIN_REPEATS`` times in
the series (a lag up to a third of its length), its autocorrelation is at
least ``MIN_HEIGHT`` and its peak rises ``MIN_PROMINENCE`` above the troughs
beside it (scipy's ``find_peaks`` prominence), so the slow decay of a
drifting series or the ripples of noise are no period. Of several periods
the strongest (the most prominent peak) is the series' period, or a shorter
one of which it is a multiple (:func:`periods`). When the
sampling interval is known (a pandas ``DatetimeIndex``), a period within
``SNAP`` of a calendar period (an hour, a day, a week) is that calendar
period: 5-minute data whose peak falls at 287 steps has a daily period of 288.
"""

from __future__ import annotations

import datetime

import numpy as np

MIN_REPEATS = 3  # a period must repeat this many times in the series: the search reaches a third of its length
MIN_HEIGHT = 0.2  # the least autocorrelation of a period
MIN_PROMINENCE = 0.1  # how far a period's peak must rise above the higher of the troughs beside it
HARMONIC_TOL = 0.1  # a period nearly as strong as a multiple of it (within this much) is the period
SNAP = 0.02  # a period within 2% (and at least 1 step) of a calendar period is that calendar period
CALENDAR = {"minute": 60.0, "hour": 3600.0, "day": 86400.0, "week": 604800.0}  # seconds


def autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """The autocorrelation of ``x`` ``(T, F)`` at lags ``0 .. max_lag``, averaged over its channels.

    Each channel is detrended by a straight line (missing points are
    interpolated for this estimate only) and correlated with itself by FFT,
    in ``O(T log T)``; the estimate is the usual biased one (sums over ``T``),
    which shrinks long lags towards 0. A constant channel, or one with fewer
    than 4 observed points, adds 0.

    Examples
    --------
    >>> acf = autocorrelation(np.sin(2 * np.pi * np.arange(100) / 10)[:, None], 10)
    >>> round(float(acf[0]), 6), int(np.argmin(acf)), round(float(acf[10]), 2)  # 1 at lag 0, -1 at half a period
    (1.0, 5, 0.9)
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    n = len(x)
    max_lag = min(int(max_lag), n - 1)
    acf = np.zeros(max_lag + 1)
    t = np.arange(n, dtype=np.float64)
    for j in range(x.shape[1]):
        v = x[:, j]
        ok = np.isfinite(v)
        if ok.sum() < 4:
            continue
        v = np.interp(t, t[ok], v[ok])
        v = v - np.polyval(np.polyfit(t, v, 1), t)
        if v.std() <= 1e-12:
            continue
        f = np.fft.rfft(v - v.mean(), 2 * n)  # zero-padded to 2T: no wrap-around
        r = np.fft.irfft(f * np.conj(f), 2 * n)[: max_lag + 1]
        acf += r / r[0]
    return acf / x.shape[1]


def clear_peaks(acf: np.ndarray, min_period: int, max_period: int) -> list[int]:
    """The lags in ``[min_period, max_period]`` where ``acf`` has a clear peak, strongest first.

    A clear peak is a local maximum of at least ``MIN_HEIGHT`` whose
    prominence (how far it rises above the higher of the troughs beside it,
    scipy's ``find_peaks``) is at least ``MIN_PROMINENCE``; the strongest is
    the most prominent. Prominence, not height, because a smooth series has
    a high autocorrelation at every short lag: a small ripple there makes a
    high peak, but not a prominent one. Pass ``acf`` beyond ``max_period``
    where it is known, so that a peak near ``max_period`` has a right-hand
    side to be judged by.

    Examples
    --------
    >>> t = np.arange(4000)
    >>> daily = np.sin(2 * np.pi * t / 288) + 0.3 * np.sin(2 * np.pi * t / 12)  # with an hourly ripple
    >>> acf = autocorrelation(daily[:, None], 2000)
    >>> clear_peaks(acf, 3, 1333)[:2], bool(acf[12] > acf[288])  # the day first, though the hour is higher
    ([288, 576], True)
    """
    from scipy.signal import find_peaks

    peaks, props = find_peaks(np.asarray(acf, dtype=np.float64), height=MIN_HEIGHT, prominence=MIN_PROMINENCE)
    keep = (peaks >= min_period) & (peaks <= max_period)
    peaks, prominence = peaks[keep], props["prominences"][keep]
    order = np.argsort(-prominence, kind="stable")  # the most prominent first; of equal ones, the shorter lag
    return [int(k) for k in peaks[order]]


def seconds(step) -> float | None:
    """A sampling interval in seconds: a number (seconds), a ``datetime.timedelta``, a pandas ``Timedelta``
    or a ``numpy.timedelta64``; None stays None."""
    if step is None:
        return None
    if isinstance(step, np.timedelta64):
        return float(step / np.timedelta64(1, "s"))
    if isinstance(step, datetime.timedelta):  # pandas' Timedelta is one too
        return float(step.total_seconds())
    value = float(step)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"step={step!r}: a sampling interval is a positive number of seconds or a timedelta.")
    return value


def sampling_interval(index) -> float | None:
    """The sampling interval, in seconds, of a pandas ``DatetimeIndex`` (the median gap between its
    timestamps); None for any other index, or fewer than two timestamps.

    Examples
    --------
    >>> import pandas as pd
    >>> sampling_interval(pd.date_range("2024-01-01", periods=10, freq="5min"))
    300.0
    >>> sampling_interval(pd.RangeIndex(10)) is None
    True
    """
    if index is None or len(index) < 2 or getattr(index, "dtype", None) is None or index.dtype.kind != "M":
        return None
    if getattr(index, "tz", None) is not None:
        index = index.tz_convert(None)  # UTC without the zone: a change of daylight saving time is no gap
    gaps = np.diff(np.asarray(index)).astype("timedelta64[ns]").astype(np.float64)
    gap = float(np.median(gaps)) / 1e9
    return gap if gap > 0 else None


def calendar_periods(step) -> dict[str, int]:
    """The calendar periods (``CALENDAR``) in steps of ``step`` seconds, those of at least 2 steps.

    Examples
    --------
    >>> calendar_periods(300)  # 5-minute data
    {'hour': 12, 'day': 288, 'week': 2016}
    """
    step = seconds(step)
    if step is None:
        return {}
    out = {name: int(round(span / step)) for name, span in CALENDAR.items()}
    return {name: k for name, k in out.items() if k >= 2}


def periods(x: np.ndarray, *, min_period: int = 3, max_period: int | None = None, step=None) -> list[int]:
    """The clear periods of ``x`` ``(T, F)`` (see the module), the series' period first, each at most
    ``max_period`` (default and at most: a third of the length).

    The period is the strongest clear peak, unless a shorter clear peak of
    which it is a multiple is nearly as strong (within ``HARMONIC_TOL``): a
    pure cycle has peaks at every multiple of its period, as high as the
    first but for the estimate's noise, and the first is the period (a
    shorter peak counts when the autocorrelation, without the biased
    estimate's shrinking, stays that high at each of its multiples up to
    twice the strongest: a daily cycle with an hourly ripple has its period
    at a day, and a yearly cycle with a half-yearly harmonic at a year,
    since their autocorrelation falls at an hour's or a half-year's odd
    multiples). Each
    peak is first placed at the lag near it whose multiples have the highest
    mean autocorrelation (the peak of a long period is flat, and noise moves
    its top by a few lags; its multiples pin it down), and at last, with
    ``step`` (seconds), moved to a calendar period within ``SNAP`` of it.
    """
    n = len(x)
    limit = n // MIN_REPEATS
    max_period = limit if max_period is None else min(int(max_period), limit)
    if max_period < min_period:
        return []
    acf = autocorrelation(x, n // 2)  # the peaks, the troughs beyond the last one, and multiples
    found = clear_peaks(acf, min_period, max_period)
    if not found:
        return []
    unbiased = acf * n / (n - np.arange(len(acf)))  # the multiples' heights without the biased estimate's shrinking
    found = [_refine(unbiased, k, min_period, max_period) for k in found]
    top = found[0]
    for k in sorted(found):  # the shortest first: is the strongest a multiple of it?
        m = round(top / k)
        lags = [j * k for j in range(1, 2 * m) if j * k < len(acf)]  # its multiples up to twice the strongest
        if k < top and abs(top - m * k) <= max(1.0, SNAP * top) and all(
            _near(unbiased, lag) >= unbiased[top] - HARMONIC_TOL for lag in lags
        ):
            found.insert(0, k)
            break
    calendar = [c for c in calendar_periods(step).values() if min_period <= c <= max_period]
    out: list[int] = []
    for k in found:
        k = next((c for c in calendar if abs(k - c) <= max(1.0, SNAP * c)), k)
        if k not in out:
            out.append(k)
    return out


def _near(acf: np.ndarray, lag: int) -> float:
    """The highest autocorrelation within ``SNAP`` (at least one step) of ``lag``."""
    d = int(max(1, round(SNAP * lag)))
    return float(acf[max(0, lag - d) : lag + d + 1].max())


def _refine(unbiased: np.ndarray, k: int, min_period: int, max_period: int) -> int:
    """The lag within ``SNAP`` of peak ``k`` whose multiples have the highest mean autocorrelation."""
    near = int(max(1, round(SNAP * k)))
    candidates = np.arange(max(min_period, k - near), min(max_period, k + near) + 1)
    reps = max(1, (len(unbiased) - 1) // int(candidates[-1]))  # as many multiples for every candidate
    comb = [unbiased[q * np.arange(1, reps + 1)].mean() for q in candidates]
    return int(candidates[int(np.argmax(comb))])


__all__ = ["autocorrelation", "clear_peaks", "seconds", "sampling_interval", "calendar_periods", "periods"]
