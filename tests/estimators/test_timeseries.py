"""Anomaly detection on long series: SeriesAnomalyDetector, its streaming, files, command line, metrics, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import latentlab
from latentlab.apps import timeseries as ts
from latentlab.cli import main
from latentlab.errors import DataError, ModelFileError
from latentlab.estimators.series import SeriesStream

PERIOD = 20
FAST = dict(epochs=40, recurrent_epochs=20, random_state=0)


def seasonal(n: int, seed: int = 0, period: int = PERIOD) -> np.ndarray:
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sin(2 * np.pi * t / period) + 0.5 * np.sin(4 * np.pi * t / period) + 0.1 * rng.standard_normal(n)


@pytest.fixture(scope="module")
def planted():
    """A clean training stretch, and a later stretch with a spike at 150 and a level shift at 300-340."""
    train = seasonal(600, seed=0)
    test = seasonal(500, seed=1)
    test[150] += 4.0
    test[300:340] += 1.5
    labels = np.zeros(500, int)
    labels[150] = 1
    labels[300:340] = 1
    return train, test, labels


@pytest.fixture(scope="module")
def detector(planted):
    return latentlab.SeriesAnomalyDetector(**FAST).fit(planted[0])


@pytest.mark.slow
def test_spike_and_level_shift_are_found_at_their_steps(detector, planted):
    _, test, labels = planted
    assert detector.window_ == PERIOD  # one period: repeats toward 64 steps stop at a sixteenth of 600 steps
    assert detector.normalisation_ == "raw"  # a stationary series keeps its level
    scores = detector.anomaly_score(test)
    assert scores.shape == (500,)
    assert int(np.argmax(scores)) == 150  # the spike is the top step
    top = np.argsort(scores)[-40:]  # the 40 highest steps lie on the planted events, or within a quarter window
    assert np.all((np.abs(top - 150) <= PERIOD // 4) | ((top >= 300 - PERIOD // 4) & (top < 340 + PERIOD // 4)))
    flagged = detector.predict(test)
    assert ts.event_recall(labels, flagged) == 1.0
    assert flagged[: 150 - detector.window_].sum() <= 3  # few false alarms more than a window away from the events
    m = ts.series_metrics(labels, scores, detector.window_scores(test), detector.window_)
    assert m["step_roc_auc"] > 0.95 and m["window_roc_auc"] > 0.95 and m["vus_pr"] > 0.5
    # the training scores set the threshold at the requested quantile
    assert np.mean(detector.decision_scores_ > detector.threshold_) == pytest.approx(0.01, abs=0.005)


@pytest.mark.slow
def test_streaming_equals_batch(detector, planted):
    test = planted[1]
    batch = detector.anomaly_score(test)
    for chunk in (1, 7, 64, 500):
        detector.reset_stream()
        parts = [detector.update(test[i : i + chunk]) for i in range(0, len(test), chunk)]
        parts.append(detector.flush())
        streamed = np.concatenate(parts)
        assert np.array_equal(streamed, batch), chunk
        assert len(detector._stream.pending) == 0 and len(detector._stream.tail) == 0  # flush ends the stream
    detector.reset_stream()
    first = detector.update(test[:100])
    assert len(first) == 100 - detector.window_ + 1  # a step is final once every window covering it arrived
    stream = detector._stream
    assert len(stream.tail) == detector.window_ - 1 and len(stream.pending) <= detector.window_ - 1
    # streams are objects of their own: two series at once over one detector, each as its batch scores
    a, b = SeriesStream(detector), SeriesStream(detector)
    other = planted[0][:300]
    parts_a, parts_b = [], []
    for i in range(0, 300, 50):
        parts_a.append(a.update(test[i : i + 50]))
        parts_b.append(b.update(other[i : i + 50]))
    assert np.array_equal(np.concatenate([*parts_a, a.flush()]), detector.anomaly_score(test[:300]))
    assert np.array_equal(np.concatenate([*parts_b, b.flush()]), detector.anomaly_score(other))


@pytest.mark.slow
def test_save_then_load_gives_identical_scores(detector, planted, tmp_path):
    test = planted[1]
    detector.save(tmp_path / "det")
    again = latentlab.SeriesAnomalyDetector.load(tmp_path / "det")
    assert np.array_equal(again.anomaly_score(test), detector.anomaly_score(test))
    assert np.array_equal(again.window_scores(test), detector.window_scores(test))
    assert again.threshold_ == detector.threshold_ and again.window_ == detector.window_
    (tmp_path / "det" / "config.json").write_text('{"format": "something else"}')
    with pytest.raises(ModelFileError, match="not a latentlab series detector"):
        latentlab.SeriesAnomalyDetector.load(tmp_path / "det")
    with pytest.raises(ModelFileError, match="no config.json"):
        latentlab.SeriesAnomalyDetector.load(tmp_path)


@pytest.mark.slow
def test_pandas_index_channels_and_missing_values():
    t = pd.date_range("2024-01-01", periods=700, freq="h")
    a, b = seasonal(700, seed=2), seasonal(700, seed=3)
    df = pd.DataFrame({"a": a, "b": b}, index=t)
    det = latentlab.SeriesAnomalyDetector(normalisation="centre", **FAST).fit(df.iloc[:500])
    later = df.iloc[500:].copy()
    later.iloc[100:110, 1] += 3.0  # channel b only
    later.iloc[30:33, :] = np.nan  # a gap in both channels
    later.iloc[60, 0] = np.nan  # one channel missing
    scores = det.anomaly_score(later)
    assert isinstance(scores, pd.Series) and scores.index.equals(later.index)
    assert scores.iloc[30:33].isna().all() and np.isfinite(scores.drop(scores.index[30:33])).all()
    per = det.channel_scores(later)
    assert list(per.columns) == ["a", "b"]
    assert per["b"].iloc[100:110].mean() > 3 * per["a"].iloc[100:110].mean()  # the anomalous channel
    assert (per["b"] > per["a"]).iloc[100:110].mean() >= 0.8
    assert np.isnan(per["a"].iloc[60]) and np.isfinite(per["b"].iloc[60])
    flagged = det.predict(later)
    assert flagged.iloc[30:33].sum() == 0 and flagged.iloc[100:110].sum() > 0
    # a training stretch with a gap: missing points are masked out of the loss
    gappy = df.iloc[:500].copy()
    gappy.iloc[200:205, 0] = np.nan
    det2 = latentlab.SeriesAnomalyDetector(**FAST).fit(gappy)
    assert np.isfinite(det2.anomaly_score(df.iloc[500:])).all()


@pytest.mark.slow
def test_the_time_index_gives_the_window_a_calendar_period():
    n = 1100  # 5-minute data: 3.9 days of a cycle of 284 steps, within 2% of a day
    x = np.sin(2 * np.pi * np.arange(n) / 284) + 0.05 * np.random.default_rng(0).standard_normal(n)
    quick = dict(epochs=1, hidden=(4,), recurrent_weight=0.0, pca_weight=0.0, spread_weight=0.0)
    assert abs(latentlab.SeriesAnomalyDetector(**quick).fit(x).window_ - 284) <= 2  # from the values alone
    stamped = pd.Series(x, index=pd.date_range("2024-01-01", periods=n, freq="5min"))
    det = latentlab.SeriesAnomalyDetector(**quick).fit(stamped)
    assert det.window_ == 288  # a day of 5-minute steps, far beyond the 128 steps searched before
    assert det.anomaly_score(stamped).shape == (n,)


@pytest.mark.slow
@pytest.mark.parametrize("params", [dict(architecture="conv", hidden=(8, 16)), dict(family="seq_ae", hidden=(16,))])
def test_other_families(planted, params):
    train, test, labels = planted
    det = latentlab.SeriesAnomalyDetector(window=PERIOD, epochs=15, recurrent_epochs=10, **params).fit(train[:300])
    scores = det.anomaly_score(test)
    assert ts.step_metrics(labels, scores)["roc_auc"] > 0.75


def test_short_series_trains_sequence_autoencoder():
    X = latentlab.load_sequences("sunspots", window=24, stride=8)  # 36 windows: fewer than one default batch
    model = latentlab.SequenceAutoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=2, verbose=False)
    assert model.train_config.batch_size == 32  # 36 less the 10% held out
    with pytest.raises(DataError, match="fewer than one batch"):  # an explicit batch is the user's choice
        latentlab.SequenceAutoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, batch_size=64, verbose=False)


@pytest.mark.slow
def test_bad_input_gets_clear_errors(detector):
    det = latentlab.SeriesAnomalyDetector(**FAST)
    with pytest.raises(DataError, match="fewer than twice the window of 20"):
        latentlab.SeriesAnomalyDetector(window=20).fit(seasonal(30))
    with pytest.raises(DataError, match="fewer than the window"):
        detector.anomaly_score(seasonal(10))
    with pytest.raises(DataError, match="constant"):
        det.fit(np.ones(200))
    with pytest.raises(DataError, match="all missing"):
        det.fit(np.column_stack([seasonal(200), np.full(200, np.nan)]))
    idx = pd.date_range("2024-01-01", periods=200, freq="D")
    with pytest.raises(DataError, match="out of order"):
        det.fit(pd.Series(seasonal(200), index=idx[::-1]))
    with pytest.raises(DataError, match="duplicated"):
        det.fit(pd.Series(seasonal(200), index=idx[:100].append(idx[99:199])))
    with pytest.raises(DataError, match="2 channel.*fitted on 1"):
        detector.anomaly_score(np.column_stack([seasonal(100), seasonal(100)]))
    with pytest.raises(DataError, match="infinite"):
        detector.anomaly_score(np.r_[seasonal(99), np.inf])
    with pytest.raises(DataError, match="non-numeric"):
        detector.anomaly_score(np.array(["a"] * 50))
    with pytest.raises(latentlab.NotFittedError):
        latentlab.SeriesAnomalyDetector().anomaly_score(seasonal(50))


@pytest.mark.slow
def test_cli_detect_series_end_to_end(tmp_path, capsys):
    n = 480
    x = seasonal(n, seed=4)
    x[400] += 4.0
    csv = tmp_path / "s.csv"
    pd.DataFrame({"when": pd.date_range("2024-01-01", periods=n, freq="h"), "load": x, "note": ["x"] * n}).to_csv(
        csv, index=False
    )
    out = tmp_path / "out" / "scores.csv"
    rc = main(["detect-series", str(csv), "--column", "load", "--time-column", "when", "--out", str(out),
               "--train-fraction", "0.75", "--epochs", "30", "--recurrent-epochs", "10"])
    assert rc == 0
    df = pd.read_csv(out)
    assert list(df.columns) == ["when", "load", "score", "anomaly"] and len(df) == n
    assert int(df["score"].idxmax()) == 400 and df["anomaly"].iloc[400] == 1
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "window 20" in capsys.readouterr().out  # one period: repeats stop at a sixteenth of the 360 training steps
    assert main(["detect-series", str(csv), "--column", "nope", "--out", str(out)]) == 2
    assert "no column 'nope'" in capsys.readouterr().err
    assert main(["detect-series", str(csv), "--column", "note", "--out", str(out)]) == 2
    assert "not numeric" in capsys.readouterr().err
    assert main(["detect-series", str(csv), "--column", "load", "--normalisation", "log", "--out", str(out)]) == 2
    assert "normalisation='log' is not one of" in capsys.readouterr().err


# ------------------------------------------------------------------ metrics and helpers
def test_period_and_window():
    t = np.arange(600)
    assert ts.dominant_period(np.sin(2 * np.pi * t / 30) + 0.02 * t) == 30
    assert ts.dominant_period(np.random.default_rng(0).standard_normal(600)) is None
    assert ts.choose_window(np.random.default_rng(0).standard_normal(600)) == 16  # no period: the default
    assert ts.choose_window(np.random.default_rng(0).standard_normal(40)) == 10  # a quarter of a short series
    assert ts.choose_window(np.sin(2 * np.pi * np.arange(40) / 12)) == 12  # a period that repeats 3 times is kept
    rng = np.random.default_rng(1)
    assert not ts.level_drifts(rng.standard_normal(400)) and ts.level_drifts(np.cumsum(rng.standard_normal(400)))


def test_normalisation_and_step_means():
    W = np.array([[[1.0], [3.0]], [[2.0], [np.nan]]])  # (2 windows, w=2, 1 channel)
    assert ts.normalise_windows(W, "centre")[:, :, 0].tolist()[0] == [-1.0, 1.0]
    assert ts.normalise_windows(W, "standard")[0, :, 0].tolist() == [-1.0, 1.0]
    assert np.isnan(ts.normalise_windows(W, "raw")[1, 1, 0])
    # step 0: window 0 offset 0; step 1: window 0 offset 1 and window 1 offset 0; step 2: window 1 offset 1 (missing)
    got = ts.step_means(W, 0, 3)[:, 0]
    assert got[0] == 1.0 and got[1] == 2.5 and np.isnan(got[2])
    assert ts.window_error_means(W).tolist() == [2.0, 2.0]


def test_metrics_known_values():
    y = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0])
    perfect = y.astype(float)
    assert ts.step_metrics(y, perfect) == {"roc_auc": 1.0, "average_precision": 1.0}
    assert ts.step_metrics(y, -perfect)["roc_auc"] == 0.0
    assert ts.window_labels(y, 3).tolist() == [1, 1, 1, 1, 0, 1, 1, 1]
    assert ts.events(y) == [(2, 4), (7, 8)]
    assert ts.event_recall(y, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]) == 0.5
    assert ts.vus_pr(y, perfect, 0) == pytest.approx(1.0)
    s = np.zeros(200)
    lab = np.zeros(200, int)
    lab[100:105] = 1
    s[97:108] = 1.0  # a detection a little wider than the event
    ap = ts.step_metrics(lab, s)["average_precision"]
    assert ts.vus_pr(lab, s, 10) > ap  # the range-aware measure credits the near misses
    with pytest.raises(DataError, match="both classes"):
        ts.step_metrics(np.zeros(5), np.arange(5.0))
    with pytest.raises(DataError, match="5 labels but 4"):
        ts.step_metrics(np.zeros(5), np.arange(4.0))
    # every window of 3 holds an anomalous step: no normal window to rank, a clear error, not sklearn's
    with pytest.raises(DataError, match="every window of 3 steps holds an anomalous step"):
        ts.window_roc_auc([0, 0, 1, 0, 0, 1, 0], np.arange(5.0), 3)
    assert ts.window_roc_auc(y, np.r_[1, 1, 1, 1, 0, 1, 1, 1.0], 3) == 1.0


def test_windows_helper_matches_sliding_windows():
    from latentlab.data.sequences import windows

    x = np.arange(24.0).reshape(12, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(windows(x, 5), ts.sliding_windows(x, 5))
