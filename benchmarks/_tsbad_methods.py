"""The detectors of ``benchmarks/tsbad.py``: TSB-AD's own implementations and latentlab's, run one way.

Each TSB-AD method is called through its public wrapper in
``TSB_AD.model_wrapper`` (``run_POLY``, ``run_Sub_PCA``, ...) with the
hyper-parameters TSB-AD publishes for univariate series
(``TSB_AD.HP_list.Optimal_Uni_algo_HP_dict``), exactly as TSB-AD's
``main.py`` calls it: the unsupervised ones get the whole series, the
semi-supervised ones (SAND, AutoEncoder) the training part and the whole
series. TSB-AD's own ``main.py`` seeds numpy, ``random`` and torch with 2024
once in a process that runs one method; here the same seeds are set before
every method. The scores are min-max scaled to [0, 1] as ``main.py`` does
before its metrics (this changes no ranking).

TSB-AD 1.5 was written for NumPy 1, pandas 2, scikit-learn < 1.6 and
tslearn 0.6. Its SAND and KShapeAD need tslearn 0.6.3 (the bench extra pins
it): from 0.7 on, k-Shape draws its first centroids without replacement and
fails on SAND's batches of fewer than six subsequences, which 0.6 clustered.
Five of the calls TSB-AD and tslearn 0.6.3 make were removed since, and
:func:`compat` puts each back, with the old behaviour, for the length of one
TSB-AD call only (no line of TSB-AD or tslearn is changed, and latentlab
never runs under them):

- ``np.Inf`` (NumPy 2 removed the alias; SAND, KShapeAD, AutoEncoder);
- ``np.sum(generator)`` (NumPy 2.4 raises; before, it was the builtin ``sum``
  of the generator, with a deprecation warning; Series2Graph);
- ``DataFrame.fillna(method="bfill")`` (pandas 3 removed the argument; it was
  ``bfill()``; Series2Graph);
- ``sklearn.utils.validation.check_is_fitted(est, attributes)`` on an
  object that is not a scikit-learn estimator (scikit-learn 1.6 asks for
  ``__sklearn_tags__`` first; before, it checked that the attributes exist;
  AutoEncoder);
- ``check_array(..., force_all_finite=...)`` in tslearn (scikit-learn 1.6
  renamed it ``ensure_all_finite``, 1.8 removed the old name; SAND,
  KShapeAD).

SAND and KShapeAD are called as TSB-AD's ``benchmark_exp/Run_Detector_U.py``
calls them (raw values, ``Optimal_Uni_algo_HP_dict``, SAND on the training
part and the whole series). Both cluster raw subsequences with tslearn's
k-Shape, which expects z-normalised ones; on NAB's levels the clusters
collapse (on ``realTraffic__speed_7578`` all 20 subsequences end in one
cluster after ten restarts for an empty one), and the score is the distance
to one centroid. TSB-AD's own published per-series table shows the same
chance-level VUS-PR on most real NAB series (0.06-0.15) and high ones on the
synthetic series, so the figures here are theirs, not a wrong call.

latentlab's ``SeriesAnomalyDetector()`` at its defaults is fitted on the
training part and scores the whole series through its public API only.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import random
import signal
import time
import types
import warnings
from dataclasses import dataclass

import numpy as np

#: Table name -> TSB-AD's name (its ``run_<name>`` wrapper and its key in ``Optimal_Uni_algo_HP_dict``).
#: TSB-AD's leaderboard of univariate series calls ``KMeansAD_U`` "KMeansAD".
TSB_METHODS = {
    "POLY": "POLY", "Sub-PCA": "Sub_PCA", "Series2Graph": "Series2Graph", "KShapeAD": "KShapeAD", "SAND": "SAND",
    "KMeansAD": "KMeansAD_U", "IForest": "IForest", "Sub-IForest": "Sub_IForest", "MatrixProfile": "MatrixProfile",
    "AutoEncoder": "AutoEncoder",
}
METHODS = ("latentlab", *TSB_METHODS)
SEED = 2024  # TSB-AD main.py's


class OverCap(RuntimeError):
    """A method used more CPU seconds than its cap on one series."""


@dataclass
class Outcome:
    """What one method gave on one series: scores in [0, 1] (None when it failed), CPU seconds, and
    the share of steps above its own threshold where it has one (latentlab's ``threshold_``)."""

    scores: np.ndarray | None
    cpu_s: float
    own_alarm_rate: float | None = None
    error: str | None = None


# ------------------------------------------------------------------ compatibility
def _sum(a, *args, **kwargs):
    if isinstance(a, types.GeneratorType) and not args and not kwargs:  # NumPy < 2.4: the builtin sum
        return builtins.sum(a)
    return _sum.numpy_sum(a, *args, **kwargs)


def _fillna(self, value=None, *args, method=None, **kwargs):
    if method is not None:  # pandas < 3: fillna(method='bfill' / 'ffill') was bfill() / ffill()
        if value is not None:
            raise ValueError("fillna: give value or method, not both")
        return {"bfill": self.bfill, "backfill": self.bfill, "ffill": self.ffill, "pad": self.ffill}[method](
            *args, **kwargs)
    return _fillna.pandas_fillna(self, value, *args, **kwargs)


def _check_array(*args, force_all_finite=None, **kwargs):
    if force_all_finite is not None:  # scikit-learn < 1.6 named ensure_all_finite so (1.8 removed the old name)
        kwargs.setdefault("ensure_all_finite", force_all_finite)
    return _check_array.sklearn_check_array(*args, **kwargs)


def _check_is_fitted(estimator, attributes=None, *, msg=None, all_or_any=all):
    from sklearn.exceptions import NotFittedError

    if attributes is None:  # no TSB-AD method calls it so; scikit-learn's own check stays
        return _check_is_fitted.sklearn_check(estimator, msg=msg, all_or_any=all_or_any)
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    if not all_or_any(hasattr(estimator, a) for a in names):  # scikit-learn < 1.6
        raise NotFittedError(msg or f"This {type(estimator).__name__} instance is not fitted yet.")
    return None


@contextlib.contextmanager
def compat():
    """Put back, for the block only, the five NumPy / pandas / scikit-learn calls TSB-AD 1.5 and tslearn 0.6.3
    make that were removed since (see the module's docstring); everything is restored on the way out."""
    import pandas as pd
    import sklearn.utils
    import sklearn.utils.validation as skv

    modules = _tsb_modules_using_check_is_fitted()
    tslearn = _tslearn_modules_using_check_array()
    _sum.numpy_sum = np.sum
    _check_array.sklearn_check_array = sklearn.utils.check_array
    _fillna.pandas_fillna = pd.DataFrame.fillna
    _check_is_fitted.sklearn_check = skv.check_is_fitted
    had_inf = "Inf" in np.__dict__
    np.Inf = np.inf
    np.sum = _sum
    pd.DataFrame.fillna = _fillna
    saved = {m: m.check_is_fitted for m in modules}
    for m in modules:
        m.check_is_fitted = _check_is_fitted
    for m in tslearn:
        m.check_array = _check_array
    try:
        yield
    finally:
        np.sum = _sum.numpy_sum
        pd.DataFrame.fillna = _fillna.pandas_fillna
        if not had_inf:
            del np.Inf
        for m, f in saved.items():
            m.check_is_fitted = f
        for m in tslearn:
            m.check_array = _check_array.sklearn_check_array


def _tsb_modules_using_check_is_fitted() -> list:
    import importlib

    out = []
    for name in ("AE", "PCA", "POLY", "IForest", "base"):
        m = importlib.import_module(f"TSB_AD.models.{name}")
        if hasattr(m, "check_is_fitted"):
            out.append(m)
    return out


def _tslearn_modules_using_check_array() -> list:
    """The loaded modules of tslearn (SAND's and KShapeAD's clustering) that hold scikit-learn's ``check_array``."""
    import sys

    import sklearn.utils
    import TSB_AD.models.SAND  # noqa: F401 - loads the tslearn modules it uses

    return [m for name, m in list(sys.modules.items())
            if name.startswith("tslearn.") and getattr(m, "check_array", None) is sklearn.utils.check_array]


# ------------------------------------------------------------------ running
@contextlib.contextmanager
def cpu_cap(seconds: float | None):
    """Raise :class:`OverCap` in the block once the process has used ``seconds`` more CPU (SIGPROF).

    Code in C or numba is interrupted when it returns to Python, so a cap can be overrun by one call.
    """
    if not seconds:
        yield
        return

    def _over(signum, frame):
        raise OverCap(f"over the cap of {seconds:g} CPU s")

    old = signal.signal(signal.SIGPROF, _over)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


def _seed():
    import torch

    np.random.seed(SEED)
    random.seed(SEED)
    torch.manual_seed(SEED)


def _scaled(s) -> np.ndarray:
    """TSB-AD main.py's ``MinMaxScaler(feature_range=(0, 1))`` of the scores (all zeros for a constant)."""
    s = np.asarray(s, dtype=np.float64).ravel()
    lo, hi = s.min(), s.max()
    return (s - lo) / (hi - lo) if hi > lo else np.zeros_like(s)


def _tsb_scores(name: str, values: np.ndarray, train_length: int) -> np.ndarray:
    import TSB_AD.model_wrapper as mw
    from TSB_AD.HP_list import Optimal_Uni_algo_HP_dict

    tsb = TSB_METHODS[name]
    params = dict(Optimal_Uni_algo_HP_dict[tsb])
    run = getattr(mw, f"run_{tsb}")
    data = values.reshape(-1, 1)  # TSB-AD main.py: df.iloc[:, 0:-1].values
    with compat():
        if tsb in mw.Semisupervise_AD_Pool:
            return run(data[:train_length], data, **params)
        return run(data, **params)


def _latentlab_scores(values: np.ndarray, train_length: int, timestamps=None) -> tuple[np.ndarray, float]:
    import pandas as pd

    import latentlab

    series = values if timestamps is None else pd.Series(values, index=timestamps, name="value")
    det = latentlab.SeriesAnomalyDetector()
    det.fit(series[:train_length])
    s = np.asarray(det.anomaly_score(series), dtype=np.float64)
    return s, float(np.mean(s > det.threshold_)) if np.isfinite(s).all() else None


def run_method(name: str, values: np.ndarray, train_length: int, *, cap: float | None = None,
               timestamps=None) -> Outcome:
    """Fit and score one method on one series; an exception, non-finite scores or the cap give no scores."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    _seed()
    own = None
    log = io.StringIO()
    t0 = time.process_time()
    try:
        with cpu_cap(cap), warnings.catch_warnings(), contextlib.redirect_stdout(log), \
                contextlib.redirect_stderr(log):
            warnings.simplefilter("ignore")
            if name == "latentlab":
                raw, own = _latentlab_scores(values, train_length, timestamps)
            else:
                raw = _tsb_scores(name, values, train_length)
    except Exception as exc:  # noqa: BLE001 - a failing baseline gets no figure, the run goes on
        return Outcome(None, time.process_time() - t0, None, f"{type(exc).__name__}: {str(exc)[:200]}")
    cpu = time.process_time() - t0
    raw = np.asarray(raw, dtype=np.float64).ravel()
    if raw.shape != (len(values),):
        return Outcome(None, cpu, None, f"{raw.size} scores for {len(values)} steps")
    if not np.isfinite(raw).all():
        return Outcome(None, cpu, None, f"{int((~np.isfinite(raw)).sum())} non-finite scores")
    return Outcome(_scaled(raw), cpu, own)


def warm_up(methods, cap: float | None = None) -> dict[str, str]:
    """Run each method once, untimed, on a small synthetic series, so that no file's CPU seconds count
    numba's compilation (stumpy, tslearn, TSB-AD) or torch's first kernels; returns what each took."""
    t = np.arange(2000)
    x = np.sin(2 * np.pi * t / 25) + 0.1 * np.random.default_rng(0).standard_normal(len(t))
    x[1650:1660] += 2.0
    out = {}
    for m in methods:
        o = run_method(m, x, 600, cap=cap)
        out[m] = f"{o.cpu_s:.1f} s" + (f" ({o.error})" if o.error else "")
    return out
