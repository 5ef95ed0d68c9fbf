"""Periods of long series (apps/periods.py, timeseries.dominant_period and choose_window): known values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from latentlab.apps import periods
from latentlab.apps import timeseries as ts

T = np.arange(4000)


def noisy(period: float, noise: float, seed: int = 0, n: int = 4000) -> np.ndarray:
    t = np.arange(n)
    return np.sin(2 * np.pi * t / period) + noise * np.random.default_rng(seed).standard_normal(n)


def test_a_daily_period_of_5_minute_data_is_found_far_beyond_128_steps():
    assert ts.dominant_period(np.sin(2 * np.pi * T / 288)) == 288
    assert [ts.dominant_period(noisy(288, 0.3, seed)) for seed in range(3)] == [288, 288, 288]
    assert ts.choose_window(noisy(288, 0.3)) == 288  # the window is the period (up to MAX_WINDOW = 300)
    # a NAB-like training part: 1,007 steps of 5-minute data hold 3.5 days; the period repeats 3 times at least
    short = noisy(288, 0.3, n=1007)
    assert ts.dominant_period(short, step=300) == 288 and ts.choose_window(short, step=300) == 288


def test_noise_drift_and_a_period_longer_than_the_series_give_the_fallback():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(4000)
    walk = np.cumsum(rng.standard_normal(2000))
    ar = np.zeros(2000)  # AR(1) with phi = 0.95: an autocorrelation that decays slowly, with no peak
    for i in range(1, 2000):
        ar[i] = 0.95 * ar[i - 1] + rng.standard_normal()
    for series in (noise, walk, ar, np.sin(2 * np.pi * np.arange(1000) / 2000), np.sin(2 * np.pi * np.arange(1000) / 400)):
        assert ts.dominant_period(series) is None
    assert ts.choose_window(noise) == 16  # the short default
    assert ts.choose_window(noise[:40]) == 10  # clipped to a quarter of a short series
    assert ts.choose_window(np.sin(2 * np.pi * np.arange(40) / 12)) == 12  # a period that repeats 3 times is kept


def test_of_several_periods_the_strongest_sensible_one():
    # an hourly ripple on a daily cycle: the hour's autocorrelation is higher (the day is smooth), the day is the period
    day_and_hour = np.sin(2 * np.pi * T / 288) + 0.3 * np.sin(2 * np.pi * T / 12)
    acf = periods.autocorrelation(day_and_hour[:, None], 2000)
    assert acf[12] > acf[288] and ts.dominant_period(day_and_hour) == 288
    # a strong weekly cycle of hourly data with a weaker daily one: the week
    hourly = np.sin(2 * np.pi * T / 168) + 0.3 * np.sin(2 * np.pi * T / 24)
    assert ts.dominant_period(hourly) == 168
    # a noisy cycle has peaks at every multiple as high as the first but for noise: the first is the period
    assert [ts.dominant_period(noisy(p, 1.0, seed)) for p in (20, 25, 30) for seed in range(3)] == [20] * 3 + [25] * 3 + [30] * 3
    # monthly orders with a half-year harmonic and a smooth business cycle: the lag of 6 is nearly as high as 12's,
    # but the autocorrelation falls at its odd multiple 18: the year is the period (a development series)
    from statsmodels.datasets import elec_equip

    orders = elec_equip.load().data.to_numpy(dtype=np.float64)[:128]
    acf = periods.autocorrelation(orders, 64)
    assert acf[6] > acf[12] - 0.1 and acf[18] < acf[12] - 0.3 and ts.dominant_period(orders) == 12
    # a period longer than max_window gives way to the strongest that fits: the hour of minute data
    minutes = np.sin(2 * np.pi * np.arange(6000) / 1440) + 0.5 * np.sin(2 * np.pi * np.arange(6000) / 60)
    assert ts.dominant_period(minutes) == 1440 and ts.choose_window(minutes) == 60


def test_the_sampling_interval_of_a_time_index_snaps_to_a_calendar_period():
    series = pd.Series(noisy(287, 0.05), index=pd.date_range("2024-01-01", periods=4000, freq="5min"))
    assert ts.dominant_period(series) == 287  # from the values alone
    step = periods.sampling_interval(series.index)
    assert step == 300.0 and ts.dominant_period(series, step=step) == 288  # within 2% of a day: a day
    assert periods.calendar_periods(300) == {"hour": 12, "day": 288, "week": 2016}
    assert periods.calendar_periods(3600) == {"day": 24, "week": 168}
    assert ts.dominant_period(noisy(250, 0.05), step=300) == 250  # far from any calendar period: unchanged
    assert periods.sampling_interval(pd.RangeIndex(10)) is None and periods.sampling_interval(None) is None
    hours = pd.date_range("2024-03-30", periods=100, freq="h", tz="Europe/Berlin")  # across a change to summer time
    assert periods.sampling_interval(hours) == 3600.0
    assert periods.seconds(pd.Timedelta(minutes=5)) == periods.seconds(np.timedelta64(5, "m")) == 300.0
    with pytest.raises(ValueError, match="positive number of seconds"):
        periods.seconds(-1)


def test_autocorrelation_known_values_and_missing_points():
    x = np.sin(2 * np.pi * np.arange(100) / 10)
    acf = periods.autocorrelation(x[:, None], 20)
    assert acf[0] == pytest.approx(1.0) and int(np.argmin(acf[:10])) == 5
    assert acf[10] == pytest.approx(0.9, abs=0.01)  # the biased estimate: (100 - 10) / 100 of the sum
    gappy = x.copy()
    gappy[30:33] = np.nan  # interpolated for the estimate only
    assert ts.dominant_period(gappy) == 10
    two = np.column_stack([x, np.full(100, 5.0)])  # a constant channel adds 0 to the mean over channels
    np.testing.assert_allclose(periods.autocorrelation(two, 20), acf / 2)


def test_context_window_repeats_short_periods_and_falls_back_to_tsb_ad_s_125():
    context_window = ts.context_window
    t = np.arange(2000)
    rng = np.random.default_rng(0)
    assert context_window(np.sin(2 * np.pi * t / 12) + 0.05 * rng.standard_normal(2000)) == 72  # 6 periods
    assert context_window(np.sin(2 * np.pi * t / 100)) == 100  # a period of at least 64 steps stays one period
    assert context_window(rng.standard_normal(2000)) == 125  # no period: TSB-AD's window then
    assert context_window(rng.standard_normal(800)) == 50  # at most a sixteenth of the series
    short = np.sin(2 * np.pi * np.arange(480) / 12)
    assert context_window(short) == 24  # repeats stop at a sixteenth (30 steps): two periods
    assert context_window(short[:120]) == 12  # one period, longer than the cap, stays whole
    long = np.sin(2 * np.pi * np.arange(1100) / 284)
    assert abs(context_window(long) - 284) <= 2  # a period longer than the cap stays whole
