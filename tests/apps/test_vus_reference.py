"""VUS-PR and VUS-ROC equal TSB-AD's reference code: stored reference values always, the package where installed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from latentlab.apps.timeseries import series_metrics
from latentlab.apps.vus import vus, vus_pr, vus_roc
from latentlab.errors import ConfigError, DataError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _cases():
    spec = importlib.util.spec_from_file_location("make_vus_reference", FIXTURES / "make_vus_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.vus_cases())


def test_equal_to_stored_reference_values():
    rows = json.loads((FIXTURES / "vus_reference.json").read_text())["rows"]
    cases = _cases()
    assert len(rows) == len(cases) == 24
    for (y, s, w), ref in zip(cases, rows):
        got = vus(y, s, w)
        assert abs(got.pr - ref["vus_pr"]) < 1e-9 and abs(got.roc - ref["vus_roc"]) < 1e-9, (w, got, ref)


def test_equal_to_installed_tsb_ad():
    metrics = pytest.importorskip("TSB_AD.evaluation.metrics")
    rng = np.random.default_rng(7)
    for _ in range(5):
        n = int(rng.integers(100, 1500))
        y = (rng.random(n) < 0.01).astype(int)
        y[n // 2 : n // 2 + 20] = 1
        s = rng.normal(size=n) + 2 * y
        w = int(rng.integers(1, 150))
        m = metrics.get_metrics(s, y, slidingWindow=w)
        assert abs(vus_pr(y, s, w) - m["VUS-PR"]) < 1e-9 and abs(vus_roc(y, s, w) - m["VUS-ROC"]) < 1e-9


def test_known_values_by_hand():
    # One event at step 3 of 7, buffer 4: soft labels sqrt(1 - d/4) on 2 steps each side (TSB-AD's sequencing),
    # scores that rank the event first, then its right neighbour: at the first threshold only the event is
    # predicted (precision 1, recall 1 with no buffer mass predicted), and every later one predicts everything.
    y = np.array([0, 0, 0, 1, 0, 0, 0])
    s = np.array([0.0, 0.0, 0.0, 2.0, 1.0, 0.0, 0.0])
    assert vus_pr(y, s, 0) == pytest.approx(1.0)
    assert vus_roc(y, s, 0) == pytest.approx(1.0)
    # With buffers 0..2 the perfect detector keeps precision 1 at its first threshold: VUS-PR stays 1.
    assert vus_pr(y, s, 2) == pytest.approx(1.0)
    # A detector that fires only two steps after the event: no hit at buffer 0 or 2 (half = 1 step),
    # a hit at buffer 4 (half = 2 steps) with soft weight sqrt(1 - 2/4).
    late = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    assert vus_pr(y, late, 0) < vus_pr(y, late, 4)


def test_near_misses_are_credited_and_series_metrics_reports_both():
    y = np.zeros(200, int)
    y[100:105] = 1
    s = np.zeros(200)
    s[97:108] = 1.0
    assert vus_pr(y, s, 10) > vus_pr(y, s, 0)
    m = series_metrics(y, s, np.zeros(200 - 16 + 1), 16)
    assert m["vus_pr"] == pytest.approx(vus_pr(y, s, 16)) and m["vus_roc"] == pytest.approx(vus_roc(y, s, 16))


@pytest.mark.parametrize(
    ("labels", "scores", "window", "error", "match"),
    [
        (np.zeros(10, int), np.arange(10.0), 4, DataError, "no anomalous step"),
        (np.r_[np.zeros(9, int), 1], np.r_[np.zeros(9), np.nan], 4, DataError, "NaN or inf"),
        (np.r_[np.zeros(9, int), 1], np.zeros(9), 4, DataError, "same length"),
        (np.r_[np.zeros(9, int), 2], np.zeros(10), 4, DataError, "0 \\(normal\\) or 1"),
        (np.r_[np.zeros(9, int), 1], np.zeros(10), -1, ConfigError, "integer >= 0"),
        (np.r_[np.zeros(9, int), 1], np.zeros(10), 2.5, ConfigError, "integer >= 0"),
    ],
)
def test_bad_input_is_named(labels, scores, window, error, match):
    with pytest.raises(error, match=match):
        vus(labels, scores, window)
