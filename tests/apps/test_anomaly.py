"""Anomaly scoring parts, their metrics, and the `latentlab detect` command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import latentlab
from latentlab.apps.anomaly import ScoreModel, anomaly_metrics, codes_and_errors, float64_copy
from latentlab.cli import main


@pytest.fixture(scope="module")
def ae(digits):
    return latentlab.Autoencoder(latent_dim=4, hidden=(32,)).fit(digits[0], epochs=5, verbose=False, seed=0)


def test_reconstruction_error_known_value(ae, digits):
    X = digits[1][:20]
    Z, err = codes_and_errors(float64_copy(ae), X)
    scaled = (X - ae.scaler.offset_) / ae.scaler.scale_
    rec = (ae.reconstruct(X) - ae.scaler.offset_) / ae.scaler.scale_
    np.testing.assert_allclose(err, ((rec - scaled) ** 2).sum(1), rtol=1e-4)
    np.testing.assert_allclose(Z, ae.encode(X), atol=1e-5)


def test_score_parts_are_standardised_on_training_data(ae, digits):
    Xtr = digits[0]
    for scoring in ("reconstruction", "latent", "combined"):
        s = ScoreModel(ae, scoring).fit(Xtr)
        train = s.score(Xtr)
        parts = 1 if scoring != "combined" else 2
        assert abs(np.median(train)) < 0.5 * parts
        assert set(s.stats_) == ({"reconstruction", "latent"} if scoring == "combined" else {scoring})
    with pytest.raises(latentlab.ConfigError, match="scoring"):
        ScoreModel(ae, "magic")


def test_anomaly_metrics_known_values():
    m = anomaly_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["average_precision"] == pytest.approx((1 + 2 / 3) / 2)
    with pytest.raises(latentlab.DataError, match="both classes"):
        anomaly_metrics([0, 0], [0.1, 0.2])
    with pytest.raises(latentlab.DataError, match="labels but"):
        anomaly_metrics([0, 1], [0.1])


def test_cli_detect_fit_and_score_modes(ae, digits, tmp_path):
    Xtr, Xte = digits[0], digits[1]
    noise = np.random.default_rng(0).random((10, 64)).astype(np.float32)
    np.save(tmp_path / "fit.npy", Xtr[:400])
    np.save(tmp_path / "test.npy", np.vstack([Xte[:90], noise]))
    out = tmp_path / "scores.csv"
    common = [str(tmp_path / "test.npy"), "--fit", str(tmp_path / "fit.npy"), "--out", str(out)]
    assert main(["detect", *common, "--n-models", "1", "--epochs", "5", "--hidden", "32"]) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == ["index", "score", "outlier"] and len(df) == 100
    assert df["outlier"].iloc[90:].mean() > 0.8 and df["outlier"].iloc[:90].mean() < 0.3
    run = tmp_path / "run"
    ae.save(run)
    assert main(["detect", *common, "--run", str(run)]) == 0
    assert anomaly_metrics(np.r_[np.zeros(90), np.ones(10)], pd.read_csv(out)["score"])["roc_auc"] > 0.9
