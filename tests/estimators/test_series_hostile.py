"""The series detector on hostile input: huge or tiny magnitudes, sparse or complex series, edited saved folders."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import latentlab
from latentlab.apps import timeseries as ts
from latentlab.errors import DataError, DataTypeError, ModelFileError

TINY = dict(epochs=3, hidden=(8,), recurrent_epochs=1, recurrent_hidden=4, window=10, random_state=0, pca_weight=1.0,
            recurrent_weight=1.0)  # every member, in the order of MEMBERS


def periodic(n: int, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    return np.sin(2 * np.pi * t / 10) + 0.05 * np.random.default_rng(seed).standard_normal(n)


@pytest.fixture(scope="module")
def fitted():
    return latentlab.SeriesAnomalyDetector(**TINY).fit(periodic(300))


@pytest.mark.parametrize("size", [1e-250, 1e250])
def test_a_series_of_any_finite_magnitude_scores_as_it_does_at_unit_scale(size):
    train, test = periodic(300), periodic(200, seed=1)
    test[120] += 3.0  # a spike
    with warnings.catch_warnings():
        warnings.simplefilter("error", latentlab.errors.DataWarning)  # no "every feature is constant"
        big = latentlab.SeriesAnomalyDetector(**TINY).fit(train * size)
    unit = latentlab.SeriesAnomalyDetector(**TINY).fit(train)
    assert np.isfinite(big.scale_).all() and big.scale_[0] == pytest.approx(unit.scale_[0] * size, rel=1e-9)
    scores = big.anomaly_score(test * size)
    assert int(np.argmax(scores)) == 120 and big.predict(test * size)[120] == 1
    np.testing.assert_allclose(scores, unit.anomaly_score(test), rtol=1e-4, atol=1e-6)


def test_one_value_near_the_float_limit_is_the_anomaly_not_an_overflow():
    x = periodic(300)
    x[150] = 1e308
    det = latentlab.SeriesAnomalyDetector(**TINY).fit(x)
    assert np.isfinite(det.scale_).all() and np.isfinite(det.threshold_)
    scores = det.anomaly_score(x)
    assert np.isfinite(scores).all() and int(np.argmax(scores)) == 150


def test_a_spike_of_1e300_in_a_scored_series_is_flagged_not_an_inf_error(fitted):
    y = periodic(200, seed=1)
    y[50] = 1e300
    scores = fitted.anomaly_score(y)
    assert np.isfinite(scores).all() and int(np.argmax(scores)) == 50 and fitted.predict(y)[50] == 1


def test_channel_moments_are_finite_for_huge_and_tiny_values():
    m, s = ts.channel_moments(np.array([[1e-300, 1e300], [3e-300, -1e300]]))
    np.testing.assert_allclose(m, [2e-300, 0.0], atol=1e285)
    np.testing.assert_allclose(s, [1e-300, 1e300], rtol=1e-12)


def test_a_series_observed_at_one_step_in_25_is_refused_naming_the_share():
    x = periodic(300)
    x[np.arange(300) % 25 != 0] = np.nan
    with pytest.raises(DataError, match=r"12 of 300 steps \(4\.0%\).*at least 25%"):
        latentlab.SeriesAnomalyDetector(**TINY).fit(x)


def test_a_series_without_two_neighbouring_observations_has_a_finite_threshold():
    x = periodic(400)
    x[np.arange(400) % 3 != 0] = np.nan  # a third observed, never two in a row: no window has a spread
    det = latentlab.SeriesAnomalyDetector(**TINY).fit(x)
    assert det.spread_mean_ is None  # the spread member is left out, as for windows too short to have one
    assert np.isfinite(det.threshold_) and np.isfinite(det.decision_scores_[::3]).all()


def test_a_complex_series_is_refused():
    with pytest.raises(DataTypeError, match="complex"):
        latentlab.SeriesAnomalyDetector(**TINY).fit(periodic(300) * (1 + 1j))


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("series") / "det"
    fitted.save(path)
    return path


@pytest.mark.parametrize("field, value, words", [
    (("threshold",), float("nan"), "threshold"),
    (("threshold",), -100.0, "threshold"),
    (("threshold",), -6.0, "threshold"),
    (("scale",), [-1.0], "scale"),
    (("scale",), [float("nan")], "scale"),
    (("center",), [float("nan")], "center"),
    (("members", 1, "scale"), -1.0, "pca member's scale"),
    (("members", 0, "scale"), 0.0, "autoencoder member's scale"),
    (("members", 2, "center"), -1.0, "center is -1.0"),
    (("members", 1, "name"), "wavelet", "member 'wavelet', which this latentlab does not have"),
    (("members", 3, "name"), "pca", "the member 'pca' twice"),
    (("members", 1, "config", "normalisation"), "log", "pca member: normalisation is 'log'"),
    (("members", 1, "config", "n_components"), 99, r"pca member: array 'components' has shape \(2, 10\)"),
    (("members", 0, "config", "layout"), "image", "layout is 'image'"),
    (("members",), [], "members is not a list"),
])
def test_an_edited_saved_detector_is_refused_on_load(saved, tmp_path, field, value, words):
    path = tmp_path / "edited"
    shutil.copytree(saved, path)
    doc = json.loads((path / "config.json").read_text())
    where = doc["state"]
    for key in field[:-1]:
        where = where[key]
    where[field[-1]] = value
    (path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=words):
        latentlab.SeriesAnomalyDetector.load(path)


def test_a_saved_member_its_parameters_leave_out_or_a_stray_model_is_refused(saved, tmp_path):
    path = tmp_path / "edited"
    shutil.copytree(saved, path)
    doc = json.loads((path / "config.json").read_text())
    doc["params"]["pca_weight"] = 0.0  # the folder holds a PCA member the parameters leave out
    (path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="pca member, which its parameters leave out"):
        latentlab.SeriesAnomalyDetector.load(path)
    doc["params"]["pca_weight"] = 1.0
    doc["state"]["members"] = [m for m in doc["state"]["members"] if m["name"] != "recurrent"]
    (path / "config.json").write_text(json.dumps(doc))  # the recurrent model folder belongs to no member now
    with pytest.raises(ModelFileError, match=r"holds the models \['model', 'recurrent'\], which are not its members'"):
        latentlab.SeriesAnomalyDetector.load(path)


LEGACY = Path(__file__).parents[1] / "fixtures" / "series_v1" / "detector"  # parallel member lists (make_series_v1.py)


@pytest.mark.parametrize("field, value, words", [
    ("member_scale", [-1.0] * 4, "member_scale"),
    ("member_center", [-1.0] * 4, "member_center"),
    ("member_center", [1.0] * 3, "member_center"),
    ("recurrent", "yes", "recurrent is not true or false"),
    ("n_components", -1, "n_components"),
])
def test_an_edited_folder_of_member_lists_is_refused_too(tmp_path, field, value, words):
    path = tmp_path / "old"
    shutil.copytree(LEGACY, path)
    doc = json.loads((path / "config.json").read_text())
    doc["state"][field] = value
    (path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=words):
        latentlab.SeriesAnomalyDetector.load(path)


def test_an_edited_legacy_detector_json_is_refused_too(tmp_path):
    path = tmp_path / "old"
    shutil.copytree(LEGACY, path)
    doc = json.loads((path / "config.json").read_text())
    legacy = {"format": doc["format"], "params": doc["params"], "n_features": doc["n_features_in"],
              "feature_names": doc["feature_names_in"], **doc["state"], "member_scale": [-1.0] * 4}
    (path / "config.json").unlink()
    (path / "detector.json").write_text(json.dumps(legacy))
    with pytest.raises(ModelFileError, match="member_scale"):
        latentlab.SeriesAnomalyDetector.load(path)
    legacy["member_scale"] = doc["state"]["member_scale"]
    (path / "detector.json").write_text(json.dumps(legacy))
    assert latentlab.SeriesAnomalyDetector.load(path).threshold_ == doc["state"]["threshold"]  # the unedited one loads


def test_bad_input_keeps_its_clear_errors(fitted):
    """NaN gaps, constant series, a series shorter than a window, timestamps out of order or duplicated: in fit,
    in the scores and in the stream."""
    det = latentlab.SeriesAnomalyDetector(**TINY)
    gappy = periodic(300)
    gappy[20:260] = np.nan  # a gap over most of the training series
    with pytest.raises(DataError, match=r"observed at 60 of 300 steps .*Drop the channel, or fit on a stretch"):
        det.fit(gappy)
    with pytest.raises(DataError, match="channel 1 is all missing"):
        det.fit(np.column_stack([periodic(300), np.full(300, np.nan)]))
    with pytest.raises(DataError, match="channel 'flat' is constant; there is nothing to learn from it. Drop it."):
        det.fit(pd.DataFrame({"ok": periodic(300), "flat": np.full(300, 2.5)}))
    with pytest.raises(DataError, match="has 15 steps, fewer than twice the window of 10; pass a longer series"):
        det.fit(periodic(15))
    with pytest.raises(DataError, match="has 6 steps, fewer than twice the window of 4"):  # the window by default
        latentlab.SeriesAnomalyDetector().fit(periodic(6))
    with pytest.raises(DataError, match="has 9 steps, fewer than the window of 10; pass a longer one"):
        fitted.anomaly_score(periodic(9))
    times = pd.date_range("2024-01-01", periods=300, freq="min")
    for index, what in ((times[::-1], "out of order"), (times[:150].append(times[149:299]), "duplicated")):
        bad = pd.Series(periodic(300), index=index)
        with pytest.raises(DataError, match=f"timestamps are {what}; sort the rows by time and drop duplicates"):
            det.fit(bad)
        with pytest.raises(DataError, match=f"timestamps are {what}"):
            fitted.anomaly_score(bad)
        with pytest.raises(DataError, match=f"timestamps are {what}"):
            fitted.update(bad)
    fitted.reset_stream()
    with pytest.raises(DataError, match="2 channel.*fitted on 1"):
        fitted.update(np.column_stack([periodic(20), periodic(20)]))
    scores = fitted.anomaly_score(np.r_[periodic(50)[:20], np.full(5, np.nan), periodic(50)[25:]])
    assert np.isnan(scores[20:25]).all() and np.isfinite(np.delete(scores, range(20, 25))).all()  # a gap: no score
