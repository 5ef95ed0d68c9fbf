"""Big tables: the outlier detector is fitted on a seeded subsample above ``MAX_FIT_ROWS`` and scores every row.

The cap is lowered through the module constants, so the tests stay small; the
brute-force k-NN search that an index above ``TREE_ROWS`` rows uses is checked
against the k-d tree it replaces.
"""

from __future__ import annotations

import numpy as np
import pytest

import latentlab
from latentlab.estimators import _outlier_parts, outlier
from latentlab.estimators._outlier_parts import KnnDistance, fit_rows

QUICK = dict(latent_dim=2, hidden=(8,), epochs=2)


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    return rng.standard_normal((150, 4)) @ rng.standard_normal((4, 4))


def test_above_the_cap_the_parts_are_fitted_on_a_seeded_subsample_and_every_row_is_scored(table, monkeypatch):
    monkeypatch.setattr(outlier, "MAX_FIT_ROWS", 60)
    det = latentlab.AutoencoderOutlierDetector(random_state=3, **QUICK).fit(table)
    assert det.n_fit_rows_ == 60 and det.classical_.rows.shape == (60, 4)
    sample = fit_rows(table, 60, 3)
    assert sample.shape == (60, 4) and not np.array_equal(sample, table[:60])
    np.testing.assert_array_equal(det.classical_.rows, det._transform(sample))  # the seeded rows, in order
    np.testing.assert_array_equal(det.preprocessor_.data_min_, sample.min(0))  # the column transform too
    # training scores, labels and threshold cover all 150 rows, as score_samples gives them
    assert det.decision_scores_.shape == (150,) and det.labels_.shape == (150,)
    np.testing.assert_allclose(det.decision_scores_, -det.score_samples(table), rtol=1e-12, atol=1e-12)
    assert det.labels_.sum() == int(np.sum(det.decision_scores_ > det.threshold_))


def test_at_or_below_the_cap_every_row_is_fitted(table, monkeypatch):
    monkeypatch.setattr(outlier, "MAX_FIT_ROWS", 150)
    det = latentlab.AutoencoderOutlierDetector(**QUICK).fit(table)
    assert det.n_fit_rows_ == 150
    np.testing.assert_array_equal(det.classical_.rows, det._transform(table))
    assert fit_rows(table, 150, 0) is table


def test_a_subsampled_detector_saves_and_loads_with_identical_scores(table, monkeypatch, tmp_path):
    monkeypatch.setattr(outlier, "MAX_FIT_ROWS", 60)
    det = latentlab.AutoencoderOutlierDetector(scoring="combined", **QUICK).fit(table)
    det.save(tmp_path / "det")
    back = latentlab.load(tmp_path / "det")
    assert back.n_fit_rows_ == 60 and back.classical_.rows.shape == (60, 4)
    np.testing.assert_array_equal(back.score_samples(table), det.score_samples(table))
    np.testing.assert_array_equal(back.labels_, det.labels_)


def test_the_brute_force_search_of_a_big_index_matches_the_tree_and_ignores_the_other_rows(monkeypatch):
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((300, 6)).astype(np.float32)
    queries = np.concatenate([rows[:40], rng.standard_normal((60, 6)).astype(np.float32)])  # own copies first
    tree = KnnDistance(rows, 5)
    monkeypatch.setattr(_outlier_parts, "TREE_ROWS", 100)
    brute = KnnDistance(rows, 5)
    assert brute.brute and not tree.brute
    want = tree(queries)
    got = brute(queries)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    in_pieces = np.concatenate([brute(queries[i : i + 7]) for i in range(0, len(queries), 7)])
    np.testing.assert_array_equal(in_pieces, got)
