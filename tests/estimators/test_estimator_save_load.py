"""The estimators save to a folder (JSON + safetensors + model folders) and load back with identical outputs.

``latentlab.load`` opens every kind; each kind's own ``load`` refuses another
kind's folder and says what opens it; damaged folders are clear errors;
pickling keeps working as scikit-learn users expect.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load_file, save_file

import latentlab
from latentlab import ImageCodec
from latentlab.errors import ConfigError, ModelFileError, NotFittedError

SMALL = dict(latent_dim=2, hidden=(8,), epochs=2)
OUTLIER_SETUPS = {
    "knn": dict(),  # the default: k-NN and an isolation forest beside it
    "knn-only": dict(classical="knn"),  # the default before 'knn+iforest': such folders load as they were saved
    "iforest-power-ensemble": dict(classical="iforest", scoring="combined", preprocessing="power", n_models=2),
    "latent-quantile": dict(scoring="latent", preprocessing="quantile", classical="none"),
    "standard": dict(preprocessing="standard"),
    "robust-inverse-unseeded": dict(preprocessing="robust", error_weighting="inverse", classical="iforest",
                                    random_state=None),
}
KINDS = {  # a kind's class, and what a folder of it holds in config.json (enough for the kind check)
    "family": (latentlab.Autoencoder, {"format": "latentlab-model", "format_version": 1,
                                       "config": {"family": "ae", "input_shape": [3]}}),
    "denoiser": (latentlab.ImageDenoiser, {"format": "latentlab-model", "format_version": 1,
                                           "config": {"family": "image_denoiser", "input_shape": [1, 16, 16]}}),
    "codec": (ImageCodec, {"format": "latentlab-image-codec"}),
    "transformer": (latentlab.AutoencoderTransformer, {"format": "latentlab-transformer"}),
    "imputer": (latentlab.AutoencoderImputer, {"format": "latentlab-imputer"}),
    "outlier": (latentlab.AutoencoderOutlierDetector, {"format": "latentlab-outlier-detector"}),
    "series": (latentlab.SeriesAnomalyDetector, {"format": "latentlab-series-detector"}),
}
KIND_WORDS = {"codec": "image codec", "transformer": "transformer", "imputer": "imputer",
              "outlier": "outlier detector", "series": "series detector"}
MODELS = {"family": ("ae", "Autoencoder", "an"), "denoiser": ("image_denoiser", "ImageDenoiser", "an")}


def refusal(kind: str, opener: str) -> str:
    """What ``opener``'s load says of a folder of ``kind``."""
    owner = KINDS[kind][0].__name__
    if kind in MODELS and opener in MODELS:  # the same format, another family
        family, name, article = MODELS[kind]
        return (f"holds a latentlab model of family '{family}' ({name}), not {MODELS[opener][2]} {MODELS[opener][1]}; "
                f"open it with latentlab.load or {owner}.load.")
    held = f"model of family '{MODELS[kind][0]}'" if kind in MODELS else KIND_WORDS[kind]
    wanted = "model" if opener in MODELS else KIND_WORDS[opener]
    return f"holds a latentlab {held}, not a latentlab {wanted}; open it with latentlab.load or {owner}.load."


@pytest.fixture(scope="module")
def X(digits):
    return digits[0][:150]


@pytest.fixture(scope="module")
def series():
    t = np.arange(300)
    return np.sin(2 * np.pi * t / 12) + 0.1 * np.random.default_rng(0).standard_normal(300)


@pytest.fixture(scope="module")
def fitted(X, series, tmp_path_factory):
    """One fitted estimator of each kind and its saved folder: ``{kind: (estimator, folder)}``."""
    root = tmp_path_factory.mktemp("estimators")
    columns = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    holes = X.copy()
    holes[::3, 10] = np.nan
    out = {
        "transformer": latentlab.AutoencoderTransformer(**SMALL).fit(columns),  # with feature names
        "imputer": latentlab.AutoencoderImputer(**SMALL).fit(holes),
        "outlier": latentlab.AutoencoderOutlierDetector(**SMALL).fit(X),
        "series": latentlab.SeriesAnomalyDetector(window=12, pca_weight=1.0, recurrent_weight=1.0, recurrent_epochs=1,
                                                  recurrent_hidden=4, **SMALL).fit(series[:200]),  # every member
    }
    for kind, est in out.items():
        est.save(root / kind)
        out[kind] = (est, root / kind)
    return out


@pytest.mark.slow
def test_the_transformer_and_imputer_load_with_identical_outputs(fitted, X):
    tr, folder = fitted["transformer"]
    back = latentlab.load(folder)
    assert type(back) is latentlab.AutoencoderTransformer and back.get_params() == tr.get_params()
    frame = pd.DataFrame(X, columns=list(tr.feature_names_in_))
    np.testing.assert_array_equal(back.transform(frame), tr.transform(frame))
    codes = tr.transform(frame)[:5]
    np.testing.assert_array_equal(back.inverse_transform(codes), tr.inverse_transform(codes))
    assert list(back.feature_names_in_) == list(tr.feature_names_in_) and back.history_ == tr.history_
    assert list(back.get_feature_names_out()) == list(tr.get_feature_names_out())
    imp, folder = fitted["imputer"]
    back = latentlab.AutoencoderImputer.load(folder)
    holes = X.copy()
    holes[1::4, 20] = np.nan
    np.testing.assert_array_equal(back.transform(holes), imp.transform(holes))
    np.testing.assert_array_equal(back.statistics_, imp.statistics_)
    assert back.n_iter_ == imp.n_iter_ and not hasattr(back, "feature_names_in_")


@pytest.mark.slow
@pytest.mark.parametrize("setup", sorted(OUTLIER_SETUPS))
def test_the_outlier_detector_loads_with_identical_scores(X, tmp_path, setup):
    det = latentlab.AutoencoderOutlierDetector(**SMALL, **OUTLIER_SETUPS[setup]).fit(X[:100])
    det.save(tmp_path / "det")
    back = latentlab.load(tmp_path / "det")
    assert type(back) is latentlab.AutoencoderOutlierDetector and back.get_params() == det.get_params()
    for method in ("score_samples", "decision_function", "predict", "predict_proba"):
        np.testing.assert_array_equal(getattr(back, method)(X), getattr(det, method)(X), err_msg=method)
    for attr in ("decision_scores_", "labels_"):
        np.testing.assert_array_equal(getattr(back, attr), getattr(det, attr))
    assert (back.threshold_, back.offset_, back.sizes_) == (det.threshold_, det.offset_, det.sizes_)
    assert len(back.models_) == det.sizes_["n_models"]


@pytest.mark.slow
def test_the_series_detector_loads_with_identical_scores(fitted, series):
    det, folder = fitted["series"]
    assert det.recurrent_ is not None and det.spread_mean_ is not None and det.n_components_ > 0  # every member
    assert {p.name for p in folder.iterdir()} == {"config.json", "arrays.safetensors", "model", "recurrent"}
    back = latentlab.load(folder)
    test = series[200:].copy()
    test[40] += 3.0
    for method in ("anomaly_score", "window_scores", "channel_scores", "predict"):
        np.testing.assert_array_equal(getattr(back, method)(test), getattr(det, method)(test), err_msg=method)
    np.testing.assert_array_equal(np.concatenate([back.update(test), back.flush()]), det.anomaly_score(test))


def test_a_series_folder_of_version_0_1_still_loads(tmp_path):
    fixture = Path(__file__).parents[1] / "fixtures" / "series_v1"  # saved before the members were objects
    want = np.load(fixture / "expected.npz")
    old = tmp_path / "old"
    shutil.copytree(fixture / "detector", old)
    doc = json.loads((old / "config.json").read_text())
    params = {k: (v["$tuple"] if isinstance(v, dict) else v) for k, v in doc["params"].items()}
    legacy = {"format": doc["format"], "params": params, "n_features": 2, "feature_names": ["a", "b"], **doc["state"]}
    (old / "config.json").unlink()
    (old / "detector.json").write_text(json.dumps(legacy))  # 0.1 wrote detector.json, fields at the top level
    test = pd.DataFrame(want["test"], columns=["a", "b"])
    for load in (latentlab.load, latentlab.SeriesAnomalyDetector.load):
        back = load(old)
        assert back.hidden == (8,)
        np.testing.assert_allclose(back.anomaly_score(test).to_numpy(), want["scores"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind,opener", [(k, o) for k in sorted(KINDS) for o in sorted(KINDS) if k != o])
def test_each_kind_refuses_another_kinds_folder_and_says_what_opens_it(tmp_path, kind, opener):
    (tmp_path / "config.json").write_text(json.dumps(KINDS[kind][1]))
    with pytest.raises(ModelFileError) as caught:
        KINDS[opener][0].load(tmp_path)
    assert str(caught.value) == f"{tmp_path} {refusal(kind, opener)}"


@pytest.mark.slow
def test_real_folders_refuse_other_kinds(fitted):
    for kind, (est, folder) in fitted.items():
        for other, (cls, _) in KINDS.items():
            if other == kind:
                continue
            with pytest.raises(ModelFileError, match=f"open it with latentlab.load or {type(est).__name__}.load"):
                cls.load(folder)
        assert type(type(est).load(folder)) is type(est)


def _edit(folder, change):
    doc = json.loads((folder / "config.json").read_text())
    change(doc)
    (folder / "config.json").write_text(json.dumps(doc))


DAMAGE = {
    "version": (lambda d: d.update(format_version=99), "format version 99"),
    "unknown parameter": (lambda d: d["params"].update(layers=3), r"unknown parameter\(s\) \['layers'\]"),
    "bad parameter": (lambda d: d["params"].update(n_neighbors=-2), "n_neighbors"),
    "features": (lambda d: d.update(n_features_in=7), "features"),
    "feature count": (lambda d: d.update(n_features_in="64"), "n_features_in"),
    "model path": (lambda d: d["models"].update({"../elsewhere": None}), "which no estimator writes"),
    "model config": (lambda d: d["models"]["model"].update(latent_dim=3), "configs differ"),
    "part stats": (lambda d: d["state"]["part_stats"].pop("classical"), "part_stats"),
    "threshold": (lambda d: d["state"].update(threshold="high"), "threshold"),
    "offset": (lambda d: d["state"].update(offset=123.0), "offset"),
    "column transform": (lambda d: d["state"]["preprocessor"]["state"].update(extra_=1), "attributes"),
    "state": (lambda d: d.update(state=[1]), "JSON objects"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_folder_is_a_clear_error(fitted, tmp_path, case):
    change, message = DAMAGE[case]
    folder = tmp_path / "det"
    shutil.copytree(fitted["outlier"][1], folder)
    _edit(folder, change)
    with pytest.raises(ModelFileError, match=message):
        latentlab.load(folder)


@pytest.mark.slow
def test_damaged_arrays_are_clear_errors(fitted, tmp_path):
    folder = tmp_path / "det"
    shutil.copytree(fitted["outlier"][1], folder)
    arrays = load_file(folder / "arrays.safetensors")
    for name, bad, message in [("decision_scores", np.array([np.nan, 1.0]), "NaN"),
                               ("classical_rows", np.zeros((3, 2), np.float32), "classical_rows"),
                               ("preprocessor.scale_", np.ones(5), "scale_")]:
        save_file({**arrays, name: bad}, folder / "arrays.safetensors")
        with pytest.raises(ModelFileError, match=message):
            latentlab.AutoencoderOutlierDetector.load(folder)
    (folder / "arrays.safetensors").write_bytes(pickle.dumps(arrays))
    with pytest.raises(ModelFileError, match="pickle"):
        latentlab.load(folder)
    (folder / "arrays.safetensors").unlink()
    with pytest.raises(ModelFileError, match="arrays.safetensors is missing"):
        latentlab.load(folder)


@pytest.mark.slow
def test_pickling_still_works(fitted, X):
    for kind in ("transformer", "outlier"):
        est = fitted[kind][0]
        copy = pickle.loads(pickle.dumps(est))
        method = "transform" if kind == "transformer" else "score_samples"
        data = pd.DataFrame(X, columns=list(est.feature_names_in_)) if kind == "transformer" else X
        np.testing.assert_array_equal(getattr(copy, method)(data), getattr(est, method)(data))


@pytest.mark.slow
def test_saving_again_keeps_the_users_files_and_drops_models_it_no_longer_has(X, tmp_path):
    folder = tmp_path / "det"
    latentlab.AutoencoderOutlierDetector(**SMALL, n_models=2).fit(X[:60]).save(folder)
    assert (folder / "model_1" / "config.json").is_file()
    (folder / "notes.txt").write_text("mine")
    one = latentlab.AutoencoderOutlierDetector(**SMALL, n_models=1).fit(X[:60])
    one.save(folder)
    assert not (folder / "model_1").exists() and (folder / "notes.txt").read_text() == "mine"
    np.testing.assert_array_equal(latentlab.load(folder).score_samples(X[:20]), one.score_samples(X[:20]))


@pytest.mark.slow
def test_parameters_a_folder_cannot_hold_are_refused_when_saving(fitted, tmp_path):
    est = pickle.loads(pickle.dumps(fitted["transformer"][0]))
    est.set_params(train_params={"callbacks": [object()]})
    with pytest.raises(ConfigError, match="cannot be saved"):
        est.save(tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_an_unfitted_estimator_cannot_be_saved(tmp_path):
    for cls in (latentlab.AutoencoderTransformer, latentlab.AutoencoderOutlierDetector,
                latentlab.AutoencoderImputer, latentlab.SeriesAnomalyDetector):
        with pytest.raises(NotFittedError):
            cls().save(tmp_path / "x")
