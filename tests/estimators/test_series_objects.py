"""The series detector's parts as objects: each member's point errors on hand-computable windows, the member
contract, adding a member, streams, and folders saved before the members were objects."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load_file, save_file

import latentlab
from latentlab.errors import ModelFileError
from latentlab.estimators.series import MEMBERS, Member, MemberState, members
from latentlab.estimators.series.autoencoder import AutoencoderMember
from latentlab.estimators.series.mahalanobis import SHRINK, MahalanobisMember
from latentlab.estimators.series.pca import PCAMember
from latentlab.estimators.series.poly import PolynomialMember
from latentlab.estimators.series.recurrent import RecurrentMember
from latentlab.estimators.series.spread import SpreadMember

LEGACY = Path(__file__).parents[1] / "fixtures" / "series_v1"  # saved with parallel member lists (make_series_v1.py)
# Scores are compared to 1e-9: equal on the versions the fixture was made with, equal but for the last bits on the
# oldest NumPy and torch that pyproject.toml allows (make test-min).
TINY = dict(epochs=3, hidden=(8,), recurrent_epochs=1, recurrent_hidden=4, window=10, random_state=0)
# one window of 2 steps and 2 channels: channel 0 is [1, 3], channel 1 is [0, 4]; centred: [-1, 1] and [-2, 2]
W = np.array([[[1.0, 0.0], [3.0, 4.0]]])


class Network:
    """A stand-in network: records what it was given and returns ``out`` as its reconstruction."""

    def __init__(self, out):
        self.out, self.seen = np.asarray(out, dtype=np.float32), None

    def reconstruct(self, X):
        self.seen = np.array(X)
        return np.broadcast_to(self.out, X.shape).copy()


def periodic(n: int, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    return np.sin(2 * np.pi * t / 10) + 0.05 * np.random.default_rng(seed).standard_normal(n)


def test_autoencoder_member_known_errors_in_the_flat_layout():
    net = Network([[0.0, 0.0, 0.0, 1.0]])  # flat windows go channel by channel: the 1 is channel 1's second step
    member = AutoencoderMember("centre", sequence=False, model=net)
    E = member.errors(W)
    assert net.seen.tolist() == [[-1.0, 1.0, -2.0, 2.0]]
    assert E.tolist() == [[[1.0, 4.0], [1.0, 1.0]]]  # (0 - z)**2, but (1 - 2)**2 at channel 1, step 1
    raw = AutoencoderMember("raw", sequence=False, model=Network(np.zeros((1, 4))))
    assert raw.errors(W).tolist() == [[[1.0, 0.0], [9.0, 16.0]]]  # raw windows keep the level
    gap = W.copy()
    gap[0, 1, 0] = np.nan
    E = AutoencoderMember("raw", sequence=False, model=Network(np.zeros((1, 4)))).errors(gap)
    assert np.isnan(E[0, 1, 0]) and E[0, 0, 0] == 1.0  # missing stays missing (given to the network as 0)


def test_recurrent_member_known_errors_in_the_sequence_layout():
    net = Network(np.zeros((1, 2, 2)))
    member = RecurrentMember("centre", model=net)
    assert member.errors(W).tolist() == [[[1.0, 4.0], [1.0, 4.0]]]
    assert net.seen.shape == (1, 2, 2) and net.seen[0, :, 1].tolist() == [-2.0, 2.0]  # (n, w, F): steps in order
    # its budget: at least 30 epochs and 1,000 updates; 185 windows make 3 batches of 64, so 334 epochs
    assert member.options(185)["epochs"] == 334 and member.options(64 * 40)["epochs"] == 30
    assert RecurrentMember("centre", epochs=3).options(185)["epochs"] == 3


def test_pca_member_known_errors():
    line = np.array([[[0.0], [1.0]], [[1.0], [2.0]], [[2.0], [3.0]]])  # windows on the line y = x + 1
    member = PCAMember("raw", 0.9)
    assert member.fit(line) and member.n_components == 1
    np.testing.assert_allclose(member.mean, [1.0, 2.0])
    E = member.errors(np.array([[[5.0], [6.0]], [[0.0], [0.0]], [[2.0], [0.0]]]))
    # on the line: 0; (0, 0) is (-1, -2) from the mean, projected (-1.5, -1.5): off by 0.5 on each side;
    # (2, 0) is (1, -2), projected (-0.5, -0.5): off by 1.5 on each side
    np.testing.assert_allclose(E[:, :, 0], [[0.0, 0.0], [0.25, 0.25], [2.25, 2.25]], atol=1e-12)
    centred = PCAMember("centre", 0.9)
    centred.fit(np.array([[[0.0], [1.0]], [[0.0], [3.0]], [[1.0], [2.0]]]))
    # a centred window of 2 steps is (-a, a): on the one component whatever its level
    np.testing.assert_allclose(centred.errors(np.array([[[7.0], [2.0]], [[0.0], [0.0]]])), 0.0, atol=1e-24)


def test_spread_member_known_errors():
    member = SpreadMember(mean=np.array([0.0]), scale=np.array([1.0]))  # a normal window's log spread is 0
    rise = np.array([[[0.0], [1.0], [2.0], [3.0]]])  # differences all 1: spread 0 (+ EPS): just below normal
    z = np.log(1e-3)
    np.testing.assert_allclose(member.errors(rise)[0, :, 0], [z**2] * 4)  # flatter than normal: evenly


def test_mahalanobis_member_known_errors():
    # training windows (a, b) with a = +-1 and b = +-2 independently: mean 0, variances 1 and 4 (plus SHRINK of 2.5)
    train = np.array([[[a], [b]] for a in (-1.0, 1.0) for b in (-2.0, 2.0)])
    member = MahalanobisMember("raw")
    assert member.fit(train)
    np.testing.assert_allclose(member.mean, [0.0, 0.0], atol=1e-12)
    E = member.errors(np.array([[[1.0], [0.0]], [[0.0], [4.0]], [[3.0], [np.nan]]]))
    d1, d2 = 1.0 / (1 + SHRINK * 2.5), 16.0 / (4 + SHRINK * 2.5)  # squared distances, half to each point
    np.testing.assert_allclose(E[:2, :, 0], [[d1 / 2, d1 / 2], [d2 / 2, d2 / 2]], rtol=1e-12)
    assert np.isnan(E[2, 1, 0]) and E[2, 0, 0] == pytest.approx(9.0 / (1 + SHRINK * 2.5) / 2)  # missing at the mean
    level = MahalanobisMember("centre")  # centred windows forget the level: (5, 5) is (0, 0)
    level.fit(train)
    np.testing.assert_allclose(level.errors(np.array([[[5.0], [5.0]]])), 0.0, atol=1e-12)


def test_polynomial_member_known_errors():
    member = PolynomialMember(1)
    assert member.fit(np.zeros((3, 5, 1)))
    ramp = np.arange(5.0)[None, :, None]
    np.testing.assert_allclose(member.errors(np.concatenate([ramp, 7.0 - 2 * ramp])), 0.0, atol=1e-20)  # lines
    spike = np.array([[[0.0], [0.0], [5.0], [0.0], [0.0]]])  # the line through it is the level 1
    np.testing.assert_allclose(member.errors(spike)[0, :, 0], [1.0, 1.0, 16.0, 1.0, 1.0], atol=1e-12)
    flat = PolynomialMember(0)
    flat.fit(np.zeros((1, 5, 1)))
    np.testing.assert_allclose(flat.errors(ramp)[0, :, 0], [4.0, 1.0, 0.0, 1.0, 4.0], atol=1e-12)  # about the mean
    gap = ramp.copy()
    gap[0, 1, 0] = np.nan  # left out of the fit: the rest is still a line
    E = member.errors(gap)
    assert np.isnan(E[0, 1, 0]) and np.allclose(np.delete(E[0, :, 0], 1), 0.0, atol=1e-12)
    place = SimpleNamespace(poly_weight=1.0, poly_degree=3, window_=4)
    assert PolynomialMember.build(place) is None  # a cubic through 4 points leaves nothing


def test_every_member_meets_the_contract_and_restores_from_its_state():
    assert [cls.name for cls in MEMBERS] == ["autoencoder", "pca", "recurrent", "spread", "mahalanobis", "poly"]
    assert len({cls.name for cls in MEMBERS}) == len(MEMBERS)
    det = latentlab.SeriesAnomalyDetector(pca_weight=1.0, recurrent_weight=1.0, **TINY).fit(periodic(300))
    assert [e.member.name for e in det.scorer_.entries] == [cls.name for cls in MEMBERS]
    windows = np.lib.stride_tricks.sliding_window_view(det._scaled(periodic(60, 1)[:, None]), 10, axis=0)
    windows = windows.transpose(0, 2, 1)
    for entry in det.scorer_.entries:
        member = entry.member
        assert isinstance(member, Member) and type(member) in MEMBERS
        state = member.state()
        json.dumps(state.config)  # JSON-able
        again = type(member).restore(MemberState(state.config, state.arrays, state.models), det)
        np.testing.assert_array_equal(again.errors(windows), member.errors(windows), err_msg=member.name)
    assert all(getattr(e.member, "_fitting", (None, None)) == (None, None) for e in det.scorer_.entries)
    back = pickle.loads(pickle.dumps(det))  # a fitted detector pickles as scikit-learn users expect
    np.testing.assert_array_equal(back.anomaly_score(periodic(60, 1)), det.anomaly_score(periodic(60, 1)))
    place = SimpleNamespace(pca_weight=0.0, spread_weight=0.5, window_=2)
    assert PCAMember.build(place) is None and SpreadMember.build(place) is None  # weight 0 | no spread in 2 steps


class LevelMember:
    """A member written for the test: the squared distance of each point from the training level."""

    name = "level"
    weight_param = None

    def __init__(self, level=None):
        self.level = level

    @classmethod
    def build(cls, detector):
        return cls()

    def fit(self, W):
        self.level = np.nanmean(W, axis=(0, 1))
        return True

    def errors(self, W):
        return (W - self.level) ** 2

    def state(self):
        return MemberState(arrays={"level": self.level})

    @classmethod
    def restore(cls, state, detector):
        return cls(state.arrays["level"])


def test_adding_a_member_is_one_class_and_one_name_in_the_list(monkeypatch, tmp_path):
    monkeypatch.setattr(members, "MEMBERS", (*MEMBERS, LevelMember))
    train, test = periodic(300), periodic(200, 1)
    test[100:140] += 2.0  # a level shift
    det = latentlab.SeriesAnomalyDetector(**TINY).fit(train)
    assert [e.member.name for e in det.scorer_.entries][-1] == "level" and det.scorer_.weights[-1] == 1.0
    det.save(tmp_path / "d")
    assert "level.level" in load_file(tmp_path / "d" / "arrays.safetensors")
    back = latentlab.load(tmp_path / "d")
    np.testing.assert_array_equal(back.anomaly_score(test), det.anomaly_score(test))
    monkeypatch.undo()  # a latentlab without the member refuses the folder, naming it
    with pytest.raises(ModelFileError, match="member 'level', which this latentlab does not have"):
        latentlab.load(tmp_path / "d")


def test_a_folder_saved_with_member_lists_loads_and_scores_as_it_did(tmp_path):
    want = np.load(LEGACY / "expected.npz")
    test = pd.DataFrame(want["test"], columns=["a", "b"])
    for load in (latentlab.load, latentlab.SeriesAnomalyDetector.load):
        det = load(LEGACY / "detector")
        assert [e.member.name for e in det.scorer_.entries] == ["autoencoder", "pca", "recurrent", "spread"]
        np.testing.assert_allclose(det.anomaly_score(test).to_numpy(), want["scores"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(det.channel_scores(test).to_numpy(), want["channel_scores"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(det.window_scores(test).to_numpy(), want["window_scores"], rtol=1e-9, atol=1e-12)
        assert det.threshold_ == pytest.approx(float(want["threshold"]), rel=1e-9)
    det.save(tmp_path / "again")  # saved again: the member entries, the same scores
    doc = json.loads((tmp_path / "again" / "config.json").read_text())
    assert "member_center" not in doc["state"] and [m["name"] for m in doc["state"]["members"]][1] == "pca"
    np.testing.assert_allclose(latentlab.load(tmp_path / "again").anomaly_score(test).to_numpy(), want["scores"], rtol=1e-9, atol=1e-12)


def to_lists(folder: Path) -> None:
    """Rewrite a saved detector in the layout of parallel member lists (as before the members were objects)."""
    doc = json.loads((folder / "config.json").read_text())
    state = doc["state"]
    entries = state.pop("members")
    names = [m["name"] for m in entries]
    state.update(member_center=[m["center"] for m in entries], member_scale=[m["scale"] for m in entries],
                 n_components=next((m["config"]["n_components"] for m in entries if m["name"] == "pca"), 0),
                 recurrent="recurrent" in names, spread="spread" in names)
    arrays = load_file(folder / "arrays.safetensors")
    old = {f"position_scale_{k}": arrays.pop(f"{name}.position_scale") for k, name in enumerate(names)}
    old.update({key.replace(".", "_"): a for key, a in arrays.items()})  # pca.mean -> pca_mean, ...
    save_file(old, folder / "arrays.safetensors")
    (folder / "config.json").write_text(json.dumps(doc))


def test_a_folder_from_before_the_recurrent_and_spread_members_loads_without_them(tmp_path):
    train, test = periodic(300), periodic(200, 1)
    det = latentlab.SeriesAnomalyDetector(pca_weight=1.0, recurrent_weight=0.0, spread_weight=0.0,
                                          mahalanobis_weight=0.0, poly_weight=0.0, **TINY).fit(train)
    det.save(tmp_path / "d")
    to_lists(tmp_path / "d")
    assert latentlab.load(tmp_path / "d").n_components_ == det.n_components_ > 0
    doc = json.loads((tmp_path / "d" / "config.json").read_text())  # neither member nor its parameters named
    del doc["state"]["recurrent"], doc["params"]["recurrent_weight"], doc["params"]["recurrent_hidden"]
    del doc["params"]["recurrent_epochs"], doc["state"]["spread"], doc["params"]["spread_weight"]
    for name in ("pca_weight", "mahalanobis_weight", "poly_weight", "poly_degree"):  # nor the later ones
        del doc["params"][name]
    (tmp_path / "d" / "config.json").write_text(json.dumps(doc))
    older = latentlab.SeriesAnomalyDetector.load(tmp_path / "d")
    assert older.recurrent_ is None and older.recurrent_weight == 0.0
    assert older.spread_mean_ is None and older.spread_weight == 0.0
    assert older.pca_weight == 1.0 and older.mahalanobis_weight == older.poly_weight == 0.0  # as it was written
    np.testing.assert_array_equal(older.anomaly_score(test), det.anomaly_score(test))
    shutil.rmtree(tmp_path / "d" / "model")
    with pytest.raises(ModelFileError, match="model"):
        latentlab.load(tmp_path / "d")
