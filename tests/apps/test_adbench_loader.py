"""benchmarks/adbench.py: the loader, the fixed split of the sets, and ADBench's per-seed split, on tiny files."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def adb():
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_adbench", BENCH / "adbench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _write(path: Path, n: int = 200, d: int = 3, rate: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.arange(1, d + 1) + 10
    y = np.zeros(n, dtype=np.int64)
    y[rng.choice(n, int(n * rate), replace=False)] = 1
    np.savez(path, X=X, y=y)
    return X, y


def test_set_split_is_the_written_rule_and_disjoint(adb):
    tuning, report = adb.split_sets(adb.SETS)
    assert (tuning, report) == (adb.TUNING, adb.REPORT)
    assert not set(tuning) & set(report) and set(tuning) | set(report) == set(adb.SETS)
    assert len(tuning) == len(report) == 11
    assert adb.split_sets(reversed(adb.SETS)) == (tuning, report)  # input order does not matter
    assert adb.split_sets(adb.SETS, seed=1) != (tuning, report)  # the seed decides


def test_load_reads_X_and_y(adb, tmp_path):
    X, y = _write(tmp_path / "1_tiny.npz")
    X2, y2 = adb.load(tmp_path / "1_tiny.npz")
    assert X2.dtype == np.float64 and np.array_equal(X2, X) and np.array_equal(y2, y)


def test_load_names_the_problem(adb, tmp_path):
    np.savez(tmp_path / "a.npz", X=np.ones((4, 2)))
    with pytest.raises(ValueError, match="no array.*'y'"):
        adb.load(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", X=np.ones((4, 2)), y=np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="0 \\(normal\\) and 1"):
        adb.load(tmp_path / "b.npz")
    with pytest.raises(FileNotFoundError, match="no such set"):
        adb.load(tmp_path / "missing.npz")


def test_split_is_stratified_deterministic_and_keeps_training_anomalies(adb, tmp_path):
    _write(tmp_path / "t.npz", n=400, rate=0.1)
    X, y = adb.load(tmp_path / "t.npz")
    a = adb.split(X, y, seed=0)
    b = adb.split(X, y, seed=0)
    c = adb.split(X, y, seed=1)
    for u, v in zip(a[:4], b[:4], strict=True):
        assert np.array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    X_tr, X_te, y_tr, y_te, sub = a
    assert (len(X_tr), len(X_te)) == (280, 120) and not sub
    assert y_tr.sum() == 28 and y_te.sum() == 12  # 10% anomalies on both sides, the training part keeps its own


def test_minmax_scaling_is_fitted_on_the_training_part_only(adb, tmp_path):
    _write(tmp_path / "t.npz", n=300)
    X, y = adb.load(tmp_path / "t.npz")
    X_tr, X_te, *_ = adb.split(X, y, seed=0)
    assert np.allclose(X_tr.min(0), 0) and np.allclose(X_tr.max(0), 1)
    # the test part is scaled with the training part's range, so it is not exactly [0, 1] itself
    assert not (np.allclose(X_te.min(0), 0) and np.allclose(X_te.max(0), 1))
    # and the transform is the training part's: undoing it with the training rows' range gives the raw test rows
    raw_tr, raw_te, _, _ = adb.train_test_split(X, y, test_size=adb.TEST_SIZE, stratify=y, random_state=0)
    lo, hi = raw_tr.min(0), raw_tr.max(0)
    assert np.allclose(X_te * (hi - lo) + lo, raw_te)


def test_big_sets_are_subsampled_stratified(adb, tmp_path):
    _write(tmp_path / "big.npz", n=1000, rate=0.05)
    X, y = adb.load(tmp_path / "big.npz")
    X_tr, X_te, y_tr, y_te, sub = adb.split(X, y, seed=0, max_train=200, max_test=100)
    assert sub and (len(X_tr), len(X_te)) == (200, 100)
    assert y_tr.sum() == 10 and y_te.sum() == 5
