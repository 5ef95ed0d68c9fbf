"""The "series" and "estimators" surfaces of ``benchmarks/hostile.py``: the series detector and the imputer.

Registered by ``_hostile_cases`` through :func:`register`, which passes its ``C`` and ``cli`` helpers (this
module does not import it, so either can be read alone).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

TINY = dict(epochs=3, hidden=(8,), recurrent_epochs=1, recurrent_hidden=4, window=10, random_state=0)
QUICK_CLI = ["--epochs", "3", "--hidden", "8", "--window", "10", "--recurrent-epochs", "1",
             "--recurrent-hidden", "4"]
_SAVED: dict[str, Path] = {}  # one fitted and saved detector per worker


def periodic(n: int = 300, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    return np.sin(2 * np.pi * t / 10) + 0.05 * np.random.default_rng(seed).standard_normal(n)


def spiked(n: int = 200, at: int = 120, seed: int = 1) -> np.ndarray:
    y = periodic(n, seed)
    y[at] += 3.0
    return y


def det(**kw):
    import latentlab

    return latentlab.SeriesAnomalyDetector(**{**TINY, **kw})


def _saved() -> Path:
    if "det" not in _SAVED:
        path = Path(tempfile.mkdtemp(prefix="hostile-series-")) / "det"
        det().fit(periodic()).save(path)
        _SAVED["det"] = path
    return _SAVED["det"]


def _load_edited(field: str, value, legacy: bool = False):
    """Load a copy of the saved detector whose ``config.json`` (or a 0.1 ``detector.json``) has ``field`` edited."""
    import latentlab

    path = Path(tempfile.mkdtemp()) / "edited"
    shutil.copytree(_saved(), path)
    doc = json.loads((path / "config.json").read_text())
    if field in ("member_scale", "member_center"):  # each member's entry holds its own scale and centre
        for entry, v in zip(doc["state"]["members"], value):
            entry[field.removeprefix("member_")] = v
        field, value = "members", doc["state"]["members"]
    if legacy:
        old = {"format": doc["format"], "params": doc["params"], "n_features": doc["n_features_in"],
               "feature_names": doc["feature_names_in"], **doc["state"], field: value}
        (path / "config.json").unlink()
        (path / "detector.json").write_text(json.dumps(old))
    else:
        doc["state"][field] = value
        (path / "config.json").write_text(json.dumps(doc))
    return latentlab.SeriesAnomalyDetector.load(path)


def _spike_found(at: int, size: float = 1.0):
    def ok(d, w):
        s = np.asarray(d.anomaly_score(spiked(at=at) * size))
        return np.isfinite(d.threshold_) and np.isfinite(s).all() and int(np.argmax(s)) == at and s[at] > d.threshold_
    return ok


def _csv(values, name: str = "s.csv", **columns) -> str:
    import pandas as pd

    pd.DataFrame({"v": values, **columns}).to_csv(name, index=False)
    return name


def _flagged_in_csv(out: str, at: int):
    import pandas as pd

    return lambda r, w: pd.read_csv(out)["anomaly"].iloc[at] == 1


def _series_cases(C, cli) -> None:
    import pandas as pd

    S = "series"
    huge = lambda c: det().fit(periodic() * 1e250)  # noqa: E731
    C(S, "fit on a series scaled by 1e250, spike found", huge, ok=_spike_found(120, 1e250))
    C(S, "fit on a series scaled by 1e-250, spike found", lambda c: det().fit(periodic() * 1e-250),
      ok=_spike_found(120, 1e-250))
    C(S, "one 1e308 value in the training series", lambda c: det().fit(np.r_[periodic()[:150], 1e308, periodic()[151:]]),
      ok=lambda d, w: np.isfinite(d.scale_).all() and int(np.nanargmax(d.decision_scores_)) == 150)
    C(S, "a 1e300 spike in anomaly_score", lambda c: det().fit(periodic()).predict(np.r_[periodic(50), 1e300,
                                                                                        periodic(49)]),
      ok=lambda r, w: r[50] == 1)
    C(S, "1 point in 25 observed", lambda c: det().fit(np.where(np.arange(300) % 25 == 0, periodic(), np.nan)),
      ("observed", "at least"))
    C(S, "a third observed, never two in a row", lambda c: det().fit(np.where(np.arange(400) % 3 == 0,
                                                                              periodic(400), np.nan)),
      ok=lambda d, w: np.isfinite(d.threshold_))
    C(S, "complex series", lambda c: det().fit(periodic() * (1 + 1j)), ("complex",))
    C(S, "complex points streamed", lambda c: det().fit(periodic()).update(np.ones(5) * 1j), ("complex",))
    C(S, "a channel all NaN", lambda c: det().fit(np.column_stack([periodic(), np.full(300, np.nan)])),
      ("all missing",))
    C(S, "a constant series", lambda c: det().fit(np.ones(300)), ("constant",))
    C(S, "an inf value", lambda c: det().fit(np.r_[periodic()[:-1], np.inf]), ("infinite",))
    C(S, "strings", lambda c: det().fit(np.array(["a"] * 300)), ("non-numeric",))
    C(S, "a 3-D array", lambda c: det().fit(np.zeros((30, 2, 2))), ("shape",))
    C(S, "an empty series", lambda c: det().fit(np.zeros(0)), ("empty",))
    C(S, "shorter than two windows", lambda c: det().fit(periodic(15)), ("fewer than twice",))
    C(S, "scored with another channel count", lambda c: det().fit(periodic()).anomaly_score(np.zeros((50, 2))),
      ("channel",))
    C(S, "scored series shorter than the window", lambda c: det().fit(periodic()).anomaly_score(periodic(5)),
      ("fewer than the window",))
    C(S, "window=1", lambda c: det(window=1).fit(periodic()), ("window",))
    C(S, "contamination=0.7", lambda c: det(contamination=0.7).fit(periodic()), ("contamination",))
    C(S, "timestamps out of order", lambda c: det().fit(pd.Series(periodic(), index=np.arange(300)[::-1])),
      ("out of order",))
    C(S, "duplicated timestamps", lambda c: det().fit(pd.Series(periodic(), index=np.arange(300) // 2)),
      ("duplicated",))
    C(S, "predict before fit", lambda c: det().predict(periodic()), ("fit",))
    C(S, "saved threshold NaN", lambda c: _load_edited("threshold", float("nan")), ("threshold",))
    C(S, "saved threshold -5", lambda c: _load_edited("threshold", -5.0), ("threshold",))
    C(S, "saved scale negative", lambda c: _load_edited("scale", [-1.0]), ("scale",))
    C(S, "saved centre NaN", lambda c: _load_edited("center", [float("nan")]), ("center",))
    C(S, "saved member scales 0", lambda c: _load_edited("member_scale", [0.0] * 4), ("member's scale",))
    C(S, "saved member centres negative", lambda c: _load_edited("member_center", [-1.0] * 4), ("center",))
    C(S, "0.1 detector.json, member scales negative", lambda c: _load_edited("member_scale", [-1.0] * 4, True),
      ("member's scale",))
    C(S, "load a missing folder", lambda c: __import__("latentlab").SeriesAnomalyDetector.load("nope"),
      ("does not exist", "missing", "no such"))
    C(S, "cli detect-series --plot p.txt", lambda c: cli("detect-series", _csv(periodic()), "--plot", "p.txt",
                                                       *QUICK_CLI), (".png",))
    C(S, "cli detect-series a folder", lambda c: cli("detect-series", c.f("folder_empty")), ("folder",),
      bad=("exist",))
    C(S, "cli detect-series a text column", lambda c: cli("detect-series", _csv(periodic(), w=["x"] * 300),
                                                        "--column", "w", *QUICK_CLI), ("numeric",))
    C(S, "cli detect-series 1e250 series with a spike",
      lambda c: cli("detect-series", _csv(np.r_[periodic(), spiked(at=120)] * 1e250), "--out", "o.csv",
                    "--plot", "none", "--train-fraction", "0.6", *QUICK_CLI),
      ok=_flagged_in_csv("o.csv", 420))


def _estimator_cases(C, cli) -> None:
    import pandas as pd

    def imp(**kw):
        import latentlab

        return latentlab.AutoencoderImputer(**{"epochs": 1, "hidden": (8,), "latent_dim": 2, **kw})

    rng = np.random.default_rng(0)
    X = rng.random((40, 5))
    gap = X.copy()
    gap[:, 3] = np.nan
    E = "estimators"
    C(E, "imputer: a column entirely NaN", lambda c: imp().fit(gap), ("no observed value",))
    C(E, "imputer: all-NaN data", lambda c: imp().fit(np.full((20, 4), np.nan)), ("no observed value",))
    C(E, "imputer: a DataFrame column entirely NaN",
      lambda c: imp().fit(pd.DataFrame(gap, columns=list("abcde"))), ("'d'",))
    C(E, "imputer: complex data", lambda c: imp().fit(X * 1j), ("complex",))
    C(E, "imputer: an inf value", lambda c: imp().fit(np.where(X > 0.99, np.inf, X)), ("inf",))
    C(E, "imputer: one sample", lambda c: imp().fit(X[:1]), ("sample",))
    C(E, "imputer: mask_rate=1.5", lambda c: imp(mask_rate=1.5).fit(X), ("mask_rate",))
    C(E, "imputer: transform with another width", lambda c: imp().fit(X).transform(X[:, :3]), ("features",))
    C(E, "imputer: a column missing only in transform", lambda c: imp().fit(X).transform(gap[:5]),
      ok=lambda r, w: np.isfinite(r).all() and np.allclose(r[:, :3], X[:5, :3], rtol=1e-6))
    C(E, "outlier: a 1e300 value scored", lambda c: __import__("latentlab").AutoencoderOutlierDetector(
        epochs=1, hidden=(8,), latent_dim=2).fit(X).score_samples(np.where(X == X[0, 0], 1e300, X)),
      ok=lambda r, w: np.isfinite(r).all() and int(np.argmin(r)) == 0)
    C(E, "fit(resume='nope.safetensors')", lambda c: __import__("latentlab").Autoencoder(latent_dim=2, hidden=(8,))
      .fit(X, epochs=1, verbose=False, resume="nope.safetensors"), ("does not exist",), bad=("incomplete",))


def register(C, cli) -> None:
    """Add the series and estimators cases through ``_hostile_cases.C``."""
    _series_cases(C, cli)
    _estimator_cases(C, cli)
