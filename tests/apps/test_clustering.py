"""Clustering the codes: k-means and Gaussian mixtures, ARI / NMI, and their place in the evaluation report."""

from __future__ import annotations

import numpy as np
import pytest

import latentlab
from latentlab.apps.clustering import cluster, cluster_codes, cluster_scores
from latentlab.apps.evaluation import evaluate_run


def _blobs(rng, n=40):
    centres = np.array([[0, 0], [6, 0], [0, 6]], dtype=float)
    labels = np.repeat(np.arange(3), n)
    return centres[labels] + rng.normal(0, 0.3, (3 * n, 2)), labels


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_separated_blobs_are_found(rng, method):
    Z, labels = _blobs(rng)
    found = cluster(Z, 3, method, seed=0)
    assert cluster_scores(labels, found.labels) == {"ari": 1.0, "nmi": 1.0}
    np.testing.assert_array_equal(found.predict(Z), found.labels)
    np.testing.assert_array_equal(cluster(Z, 3, method, seed=0).labels, found.labels)  # seeded


def test_scores_of_a_random_partition_are_near_zero(rng):
    truth = rng.integers(0, 5, 2000)
    scores = cluster_scores(truth, rng.integers(0, 5, 2000))
    assert abs(scores["ari"]) < 0.02 and scores["nmi"] < 0.02


def test_bad_input_gets_clear_errors(rng):
    Z, _ = _blobs(rng)
    with pytest.raises(latentlab.ConfigError, match="method="):
        cluster(Z, 3, "dbscan")
    with pytest.raises(latentlab.ConfigError, match="n_clusters"):
        cluster(Z, 0)
    with pytest.raises(latentlab.ConfigError, match="one per sample"):
        cluster_scores([0, 1], [0, 1, 1])


def test_codes_of_digits_cluster_far_better_than_chance_and_evaluate_reports_it(digits, tmp_path):
    X_train, X_test, _, y_test = digits
    vae = latentlab.VAE(latent_dim=4, hidden=(64,)).fit(X_train, epochs=15, verbose=False, seed=0)
    found = cluster_codes(vae, X_test, n_clusters=10)
    scores = cluster_scores(y_test, found.labels)
    assert scores["ari"] > 0.2 and scores["nmi"] > 0.3
    metrics = evaluate_run(vae, X_test, y_test, tmp_path, k=2, figures=False)
    assert metrics["cluster_ari"] == pytest.approx(scores["ari"]) and metrics["cluster_k"] == 10
    report = (tmp_path / "report.md").read_text()
    assert "adjusted Rand index" in report and "normalised mutual information" in report
    assert "cluster_ari" not in evaluate_run(vae, X_test, None, tmp_path / "nolabels", k=2, figures=False)
