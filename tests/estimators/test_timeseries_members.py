"""SeriesAnomalyDetector's members: the centred autoencoder, PCA, the recurrent member, position scaling, their sum."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.decomposition import PCA

import latentlab
from latentlab.apps import timeseries as ts
from latentlab.errors import ModelFileError
from latentlab.estimators.series import MEMBERS, scorer
from latentlab.estimators.series.spread import SpreadMember, log_spread

PERIOD = 16
FAST = dict(epochs=20, recurrent_epochs=10, random_state=0)


def seasonal(n: int, seed: int) -> np.ndarray:
    t = np.arange(n)
    return np.sin(2 * np.pi * t / PERIOD) + 0.1 * np.random.default_rng(seed).standard_normal(n)


@pytest.fixture(scope="module")
def fitted():
    train = seasonal(400, 0)
    # windows of 4 periods (64 steps), longer than the 400 steps' own choice (one period), so that the held-out
    # Mahalanobis errors below stand well apart
    return train, latentlab.SeriesAnomalyDetector(window=4 * PERIOD, pca_weight=1.0, recurrent_weight=1.0,
                                                  **FAST).fit(train)


def test_mix_and_position_scale_known_values():
    E = np.array([[[1.0], [3.0]], [[3.0], [5.0]]])  # 2 windows of 2 steps, 1 channel
    ref = scorer.position_scale(E)
    assert ref.tolist() == [[2.0], [4.0]]  # the mean error at each position
    mixed = scorer.mix(E, ref)
    # scaled: [[0.5, 0.75], [1.5, 1.25]]; window means 0.625 and 1.375; half each
    assert np.allclose(mixed[:, :, 0], [[0.5625, 0.6875], [1.4375, 1.3125]])
    # a position that never errs gets a floor, not a division by zero; missing stays missing
    E0 = np.array([[[0.0], [np.nan]], [[0.0], [2.0]]])
    ref0 = scorer.position_scale(E0)
    assert np.all(ref0 > 0) and ref0[1, 0] == 2.0
    assert np.isnan(scorer.mix(E0, ref0)[0, 1, 0])


@pytest.mark.slow
def test_default_members_and_their_standardisation(fitted):
    train, det = fitted
    assert det.ae_normalisation_ == "centre" and det.normalisation_ == "raw"  # shape to the AE, level to PCA
    W = ts.sliding_windows(det._scaled(train[:, None]), det.window_)
    entries = det.scorer_.entries
    assert [e.member.name for e in entries] == [cls.name for cls in MEMBERS] == ["autoencoder", "pca", "recurrent",
                                                                                 "spread", "mahalanobis", "poly"]
    assert det.scorer_.weights == [1.0, 1.0, 1.0, 0.5, 1.0, 1.0] and det.model_ is entries[0].member.model
    defaults = latentlab.SeriesAnomalyDetector().get_params()  # by default: no PCA and no recurrent member
    assert [defaults[f"{n}_weight"] for n in ("pca", "recurrent", "spread", "mahalanobis", "poly")] == [0, 0, 0.5, 1, 1]
    # the PCA member is sklearn's PCA with 90% of the variance, on the raw windows
    pca = PCA(n_components=0.9, svd_solver="full").fit(W.reshape(len(W), -1))
    assert det.n_components_ == entries[1].member.n_components == pca.n_components_
    R = pca.inverse_transform(pca.transform(W.reshape(len(W), -1))).reshape(W.shape)
    assert np.allclose(entries[1].member.errors(W), (R - W) ** 2, atol=1e-10)
    # each member's training step scores are standardised: the sum has mean 0 and the spread of two members
    for e in entries:
        s = scorer.combine_channels(ts.step_means(scorer.mix(e.member.errors(W), e.position_scale), 0, len(train)))
        z = (s - e.center) / e.scale
        assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-9
    inside = scorer.combine_channels(ts.step_means(det.scorer_.errors(W), 0, len(train)))
    assert abs(np.mean(inside)) < 1e-9
    assert 1.0 < np.std(inside) <= 5.5 + 1e-9  # at most the sum of the weights
    # the training scores that set the threshold take the Mahalanobis member's errors of windows it was not
    # fitted on (each block of the training windows scored by a Gaussian of the others): they lie higher
    maha = det.scorer_.member("mahalanobis")
    held = [maha.training_errors(W) if e.member is maha else e.member.errors(W) for e in entries]
    np.testing.assert_allclose(det.decision_scores_,
                               scorer.combine_channels(ts.step_means(det.scorer_.mixed(held), 0, len(train))))
    assert np.mean(det.decision_scores_) > np.mean(inside) + 0.5
    # the recurrent member is the library's LSTM seq_ae on the autoencoder's (centred) windows
    rec = det.recurrent_
    assert rec is entries[2].member.model
    assert rec.config.family == "seq_ae" and rec.config.cell == "lstm" and rec.config.hidden == (32,)
    Z = ts.normalise_windows(W, "centre")
    assert np.allclose(entries[2].member.errors(W), (rec.reconstruct(Z.astype(np.float32)) - Z) ** 2, atol=1e-6)
    # the spread member's reference: the training windows' log spread of first differences
    f = np.log(np.std(np.diff(W, axis=1), axis=1) + 1e-3)
    assert np.allclose(det.spread_mean_, f.mean(0)) and np.allclose(det.spread_scale_, np.maximum(f.std(0), 0.05))  # floored


def test_spread_member_known_values():
    W = np.array([[[0.0], [1.0], [3.0], [3.0]], [[0.0], [np.nan], [np.nan], [1.0]]])
    f = log_spread(W)
    assert f[0, 0] == pytest.approx(np.log(np.std([1.0, 2.0, 0.0]) + 1e-3))
    assert np.isnan(f[1, 0])  # no two observed differences: no spread
    member = SpreadMember(mean=np.array([np.log(1.0 + 1e-3)]), scale=np.array([0.5]))
    flat = np.zeros((1, 5, 1))  # a stuck sensor: z = (log(1e-3) - log(1.001)) / 0.5, the same at every point
    E = member.errors(flat)
    z = (np.log(1e-3) - np.log(1.001)) / 0.5
    assert np.allclose(E, z**2)
    spike = np.array([[[0.0], [0.0], [4.0], [0.0], [0.0]]])  # wilder than normal: the spike's points take the most
    E = member.errors(spike)
    z = (np.log(np.std([0.0, 4.0, -4.0, 0.0]) + 1e-3) - np.log(1.001)) / 0.5
    # deviations of the differences from their mean 0: [0, 16, 16, 0]; point shares [0, 16, 32, 16, 0] / 64 * 5
    assert np.allclose(E[0, :, 0], np.array([0.0, 16.0, 32.0, 16.0, 0.0]) / 64 * 5 * z**2)
    assert E.mean() == pytest.approx(z**2) and int(np.argmax(E[0, :, 0])) == 2
    assert np.isnan(member.errors(W[1:])).all()  # missing stays missing
    fitted = SpreadMember()
    assert fitted.fit(W[:1]) and fitted.mean[0] == pytest.approx(f[0, 0]) and fitted.scale[0] == 0.05  # the floor
    assert not SpreadMember().fit(W[1:])  # no window with a spread: the member is left out


@pytest.mark.slow
def test_spread_member_finds_a_flatline_reconstruction_misses():
    train, test = seasonal(400, 0), seasonal(300, 1)
    test[120:150] = test[120]  # a stuck sensor for a window and a half
    labels = np.zeros(300, int)
    labels[120:150] = 1
    others = dict(window=PERIOD, pca_weight=1.0, recurrent_weight=1.0, mahalanobis_weight=0.0, poly_weight=0.0)
    without = latentlab.SeriesAnomalyDetector(spread_weight=0.0, **others, **FAST).fit(train)
    with_spread = latentlab.SeriesAnomalyDetector(**others, **FAST).fit(train)
    auc_without = ts.step_metrics(labels, without.anomaly_score(test))["roc_auc"]
    auc_with = ts.step_metrics(labels, with_spread.anomaly_score(test))["roc_auc"]
    assert auc_with > 0.95 and auc_with > auc_without + 0.05
    scores = with_spread.anomaly_score(test)
    assert np.median(scores[125:145]) > np.quantile(scores[:100], 0.99)
    # a window of 2 steps has no spread: the member is left out
    short = latentlab.SeriesAnomalyDetector(window=2, mahalanobis_weight=0.0, poly_weight=0.0, epochs=2).fit(train)
    assert short.spread_mean_ is None and short.scorer_.weights == [1.0]


@pytest.mark.slow
def test_recurrent_member_epochs_rule_and_weight():
    x = seasonal(200, 0)  # 185 windows of 16: 3 batches of 64 an epoch, so 334 epochs make 1,000 updates
    det = latentlab.SeriesAnomalyDetector(window=16, epochs=5, recurrent_weight=1.0, random_state=0).fit(x)
    assert len(det.recurrent_.history) == 334
    long = latentlab.SeriesAnomalyDetector(window=16, epochs=5, recurrent_weight=1.0, recurrent_epochs=3,
                                           random_state=0).fit(x)
    assert len(long.recurrent_.history) == 3
    off = latentlab.SeriesAnomalyDetector(window=16, epochs=5, spread_weight=0.0, mahalanobis_weight=0.0,
                                          poly_weight=0.0, random_state=0).fit(x)
    assert off.recurrent_ is None and [e.member.name for e in off.scorer_.entries] == ["autoencoder"]
    # the trained member reconstructs the shape of held-out windows far better than predicting zeros
    y = seasonal(200, 1)
    W = ts.normalise_windows(ts.sliding_windows(det._scaled(y[:, None]), det.window_), "centre")
    E = det.scorer_.member("recurrent").errors(ts.sliding_windows(det._scaled(y[:, None]), det.window_))
    assert E.mean() < 0.2 * np.mean(W**2)


@pytest.mark.slow
def test_pca_member_finds_a_level_shift_the_centred_autoencoder_misses():
    train, test = seasonal(400, 0), seasonal(300, 1)
    test[100:180] += 1.5  # a level shift five windows long: centred windows inside it look normal
    labels = np.zeros(300, int)
    labels[100:180] = 1
    others = dict(mahalanobis_weight=0.0, poly_weight=0.0)  # the Mahalanobis member finds it too
    alone = latentlab.SeriesAnomalyDetector(**others, **FAST).fit(train)
    both = latentlab.SeriesAnomalyDetector(pca_weight=1.0, **others, **FAST).fit(train)
    maha = latentlab.SeriesAnomalyDetector(poly_weight=0.0, **FAST).fit(train)
    assert alone.n_components_ == 0
    inside = slice(100 + PERIOD, 180 - PERIOD)  # steps whose every window lies inside the shift
    auc_alone = ts.step_metrics(labels, alone.anomaly_score(test))["roc_auc"]
    auc_both = ts.step_metrics(labels, both.anomaly_score(test))["roc_auc"]
    assert auc_both > 0.95 and auc_both > auc_alone + 0.1
    assert np.median(both.anomaly_score(test)[inside]) > np.quantile(both.anomaly_score(test)[:90], 0.99)
    assert ts.step_metrics(labels, maha.anomaly_score(test))["roc_auc"] > auc_alone + 0.1


@pytest.mark.slow
def test_save_load_without_pca_and_damaged_arrays(tmp_path):
    train, test = seasonal(300, 0), seasonal(200, 1)
    test[50] += 3.0
    det = latentlab.SeriesAnomalyDetector(spread_weight=0.0, mahalanobis_weight=0.0, poly_weight=0.0,
                                          ae_normalisation=None, **FAST).fit(train)
    assert det.ae_normalisation_ == det.normalisation_ == "raw"
    det.save(tmp_path / "d")
    again = latentlab.SeriesAnomalyDetector.load(tmp_path / "d")
    assert np.array_equal(again.anomaly_score(test), det.anomaly_score(test))
    assert int(np.argmax(again.anomaly_score(test))) == 50
    assert not (tmp_path / "d" / "recurrent").exists()
    doc = json.loads((tmp_path / "d" / "config.json").read_text())
    assert [m["name"] for m in doc["state"]["members"]] == ["autoencoder"]  # the members left out are not listed
    (tmp_path / "d" / "arrays.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelFileError):
        latentlab.SeriesAnomalyDetector.load(tmp_path / "d")
    (tmp_path / "d" / "arrays.safetensors").unlink()
    with pytest.raises(ModelFileError, match="arrays.safetensors is missing"):
        latentlab.SeriesAnomalyDetector.load(tmp_path / "d")


def test_bad_member_parameters_get_clear_errors():
    x = seasonal(200, 0)
    for bad in (dict(pca_weight=-1.0), dict(pca_variance=1.5), dict(ae_normalisation="heldout"),
                dict(recurrent_weight=-0.5), dict(recurrent_hidden=0), dict(recurrent_epochs=0),
                dict(spread_weight=-1.0)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            latentlab.SeriesAnomalyDetector(**bad, epochs=1).fit(x)


@pytest.mark.slow
def test_spread_member_is_saved_and_checked_on_load(fitted, tmp_path):
    from safetensors.numpy import load_file, save_file

    train, det = fitted
    test = seasonal(200, 1)
    test[60:90] = test[60]
    det.save(tmp_path / "d")
    again = latentlab.SeriesAnomalyDetector.load(tmp_path / "d")
    assert np.array_equal(again.spread_scale_, det.spread_scale_) and again.spread_weight == 0.5
    assert np.array_equal(again.anomaly_score(test), det.anomaly_score(test))
    arrays = load_file(tmp_path / "d" / "arrays.safetensors")
    arrays["spread.scale"] = np.array([np.nan])
    save_file(arrays, tmp_path / "d" / "arrays.safetensors")
    with pytest.raises(ModelFileError, match="spread"):
        latentlab.SeriesAnomalyDetector.load(tmp_path / "d")
