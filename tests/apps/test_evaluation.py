"""The evaluation report: likelihood bounds, linear probe, anomaly metrics, report.md and figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

import latentlab
from latentlab.apps.evaluation import evaluate_run
from latentlab.apps.likelihood import elbo, importance_nll
from latentlab.cli import main


@pytest.fixture(scope="module")
def vae(digits):
    return latentlab.VAE(latent_dim=4, hidden=(64,)).fit(digits[0], epochs=15, verbose=False, seed=0)


@pytest.mark.slow
def test_importance_sampled_nll_is_below_negative_elbo_and_falls_with_k(vae, digits):
    X = digits[1][:200]
    neg_elbo = -elbo(vae, X, n_samples=200, seed=1).mean()
    nll = {k: importance_nll(vae, X, k=k, seed=1).mean() for k in (1, 10, 100)}
    assert nll[1] == pytest.approx(neg_elbo, rel=0.02)  # K = 1 is the ELBO, up to Monte-Carlo noise
    assert nll[100] < nll[10] < neg_elbo
    assert neg_elbo - nll[100] > 0.1  # a real gap, not noise
    np.testing.assert_array_equal(importance_nll(vae, X, k=5, seed=3), importance_nll(vae, X, k=5, seed=3))


def test_likelihood_needs_a_density_and_a_positive_k(digits):
    ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(digits[0][:200], epochs=1, verbose=False)
    with pytest.raises(latentlab.ConfigError, match="no posterior density"):
        importance_nll(ae, digits[1][:5])
    with pytest.raises(latentlab.ConfigError, match="positive integer"):
        latentlab.apps.likelihood.importance_nll(ae, digits[1][:5], k=0)


@pytest.mark.slow
def test_report_has_every_section(vae, digits, tmp_path):
    _, Xte, _, yte = digits
    anomalies = (yte == 0).astype(int)
    m = evaluate_run(vae, Xte, yte, tmp_path, anomaly_labels=anomalies, k=20)
    for key in ("mse", "bce", "psnr", "elbo", "nll_is", "linear_probe_accuracy", "anomaly_roc_auc"):
        assert key in m
    assert m["nll_is"] < -m["elbo"]
    assert m["linear_probe_accuracy"] > 0.5  # ten classes: chance is 0.1
    assert 0 <= m["anomaly_average_precision"] <= 1
    report = (tmp_path / "report.md").read_text()
    assert "importance-sampled NLL" in report and "linear-probe accuracy" in report
    for png in ("reconstructions.png", "latent_scatter.png", "samples.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG" and f"]({png})" in report
    assert json.loads((tmp_path / "evaluation.json").read_text())["nll_k"] == 20


@pytest.mark.slow
def test_cli_evaluate_writes_the_report(vae, digits, tmp_path):
    run = tmp_path / "run"
    vae.save(run)
    X, y = latentlab.load_digits()
    np.save(tmp_path / "x.npy", X[:300])
    np.savetxt(tmp_path / "anom.csv", (y[:300] == 1).astype(int), fmt="%d")
    out = tmp_path / "report"
    cmd = ["evaluate", str(run), "--data", str(tmp_path / "x.npy"), "--out", str(out), "--k", "5"]
    assert main([*cmd, "--anomaly-labels", str(tmp_path / "anom.csv")]) == 0
    metrics = json.loads((out / "evaluation.json").read_text())
    assert metrics["nll_k"] == 5 and "anomaly_roc_auc" in metrics and (out / "report.md").is_file()
    np.savetxt(tmp_path / "short.csv", np.zeros(3), fmt="%d")
    assert main([*cmd, "--anomaly-labels", str(tmp_path / "short.csv")]) == 2
