"""The scikit-learn front: the transformer as a PCA replacement, and the outlier detector's contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import latentlab
from latentlab.estimators import AutoencoderOutlierDetector, AutoencoderTransformer

TINY = dict(hidden=(32,), epochs=5)


@pytest.fixture(scope="module")
def detector(digits):
    Xtr, _, ytr, _ = digits
    return AutoencoderOutlierDetector(latent_dim=4, n_models=2, contamination=0.05, **TINY).fit(Xtr[ytr != 0])


@pytest.mark.slow
def test_transformer_in_pipeline_and_grid_search(digits):
    Xtr, Xte, ytr, yte = digits
    pipe = Pipeline([("reduce", AutoencoderTransformer(**TINY)), ("clf", LogisticRegression(max_iter=500))])
    grid = GridSearchCV(pipe, {"reduce__latent_dim": [2, 8], "reduce__family": ["ae", "vae"]}, cv=2).fit(Xtr, ytr)
    assert set(grid.cv_results_["param_reduce__family"]) == {"ae", "vae"}
    assert grid.score(Xte, yte) > 0.5  # chance is 0.1
    best = grid.best_estimator_.named_steps["reduce"]
    assert best.transform(Xte).shape == (len(Xte), best.latent_dim)


def test_transformer_feature_names_and_inverse(digits):
    Xtr, Xte, _, _ = digits
    ae = AutoencoderTransformer(latent_dim=3, **TINY).fit(Xtr)
    assert list(ae.get_feature_names_out()) == [f"autoencodertransformer{i}" for i in range(3)]
    Z = ae.transform(Xte)
    assert ae.inverse_transform(Z).shape == Xte.shape
    np.testing.assert_allclose(ae.inverse_transform(Z), ae.model_.reconstruct(Xte), atol=1e-5)
    assert ae.n_features_in_ == 64 and len(ae.history_) >= 1
    with pytest.raises(latentlab.DataError, match="inverse_transform expects"):
        ae.inverse_transform(np.zeros((2, 5)))


def test_transformer_takes_any_registered_family_name_and_refuses_unknown(digits):
    Xtr = digits[0][:200]
    assert "vae" in latentlab.families()
    assert AutoencoderTransformer(family="vae", **TINY).fit(Xtr).model_.family == "vae"
    with pytest.raises(latentlab.ConfigError, match="unknown family"):
        AutoencoderTransformer(family="nope", **TINY).fit(Xtr)


@pytest.mark.slow
def test_detector_separates_noise_from_digits(detector, digits):
    _, Xte, _, yte = digits
    inliers = Xte[yte != 0][:100]
    noise = np.random.default_rng(0).random((20, 64)).astype(np.float32)
    scores = detector.score_samples(np.vstack([inliers, noise]))
    is_out = np.r_[np.zeros(len(inliers)), np.ones(len(noise))]
    assert roc_auc_score(is_out, -scores) > 0.95
    assert (detector.predict(noise) == -1).mean() > 0.9


@pytest.mark.slow
def test_detector_outlier_contract_and_pyod_names(detector, digits):
    _, Xte, _, _ = digits
    s = detector.score_samples(Xte)
    np.testing.assert_allclose(detector.decision_function(Xte), s - detector.offset_)
    assert set(np.unique(detector.predict(Xte))) <= {-1, 1}
    np.testing.assert_array_equal(detector.predict(Xte) == -1, detector.decision_function(Xte) < 0)
    # PyOD names: training anomaly scores, threshold on them, 0/1 labels at the contamination rate.
    assert detector.threshold_ == pytest.approx(-detector.offset_)
    np.testing.assert_array_equal(detector.labels_, (detector.decision_scores_ > detector.threshold_).astype(int))
    assert abs(detector.labels_.mean() - 0.05) < 0.01
    proba = detector.predict_proba(Xte)
    assert proba.shape == (len(Xte), 2) and np.allclose(proba.sum(1), 1) and (proba >= 0).all()
    assert np.all(np.diff(proba[np.argsort(-s), 1]) >= -1e-12)  # more abnormal -> higher outlier probability


@pytest.mark.slow
def test_detector_scores_are_deterministic(detector, digits):
    Xtr, Xte, ytr, _ = digits
    a, b = detector.score_samples(Xte), detector.score_samples(Xte)
    np.testing.assert_array_equal(a, b)
    again = AutoencoderOutlierDetector(latent_dim=4, n_models=2, contamination=0.05, **TINY).fit(Xtr[ytr != 0])
    np.testing.assert_allclose(again.score_samples(Xte), a, rtol=1e-6)


@pytest.mark.slow
def test_detector_threshold_comes_from_training_data_only(detector, digits):
    _, Xte, _, _ = digits
    before = detector.threshold_
    detector.predict(Xte * 3)  # scoring anything never moves the threshold
    assert detector.threshold_ == before
    assert before == pytest.approx(np.quantile(detector.decision_scores_, 0.95))


def test_unfitted_estimators_say_so(digits):
    with pytest.raises(latentlab.NotFittedError, match="not fitted"):
        AutoencoderOutlierDetector().score_samples(digits[1])
    with pytest.raises(latentlab.NotFittedError, match="not fitted"):
        AutoencoderTransformer().transform(digits[1])
