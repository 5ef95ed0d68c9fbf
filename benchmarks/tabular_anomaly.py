"""Outlier detection on small tables that ship offline: latentlab against the detectors a user tries first.

The collection follows ADBench's protocol (Han et al., "ADBench: Anomaly
Detection Benchmark", NeurIPS 2022) on tables that ship with scikit-learn and
statsmodels, nothing downloaded: one class, or a tail of a variable that is
not among the features, makes the outliers. Each split trains on 70% of the
inliers (at most 2,000 rows) and tests on the other inliers (at most 600)
plus outliers drawn to make 10% of the test set. Every detector sees the same
splits in the same run:

- latentlab's ``AutoencoderOutlierDetector`` at its defaults;
- scikit-learn's IsolationForest and PCA reconstruction error (95% of the
  variance, standardised columns);
- with PyOD (``pip install 'latentlab[bench]'``): KNN (standardised
  columns, and min-max scaled columns, the transform latentlab's detector
  applies), ECOD, AutoEncoder and VAE at their defaults.

Splits ``--seed 0`` (the default) onwards are the reported ones; the defaults
of latentlab's detector were chosen on ``--seed 1000`` onwards (development
splits: other draws of the train/test partition and of the outliers), with
``--variant`` to compare settings. Times are fit + score of one split, in
process CPU seconds (robust to other jobs on the machine) and wall seconds.

    python benchmarks/tabular_anomaly.py                     # report: 10 splits, every set
    python benchmarks/tabular_anomaly.py --seed 1000 --splits 3 --detectors latentlab \\
        --variant 'iforest={"classical": "iforest"}'          # development
    python benchmarks/tabular_anomaly.py --tag second-round   # the report splits, record tabular_anomaly-tag-second-round
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _record import markdown, name_for, start, table, write_record
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import latentlab

# ----------------------------------------------------------------- the collection
# Each loader takes the split's seed and returns (X, is_outlier) for the whole table.


def _iris(seed):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    return X, y == seed % 3  # each species in turn


def _diabetes(seed):
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, scaled=False)
    return X, y >= np.quantile(y, 0.9)  # the fastest progression a year on


def _digits(seed):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X, y == seed % 10  # each digit in turn


def _sm(name):
    import statsmodels.api as sm

    return getattr(sm.datasets, name).load_pandas().data


def _anes96(seed):
    d = _sm("anes96")
    return d.drop(columns=["vote"]).to_numpy(float), d["vote"].to_numpy() == 1  # Dole voters


def _fair(seed):
    d = _sm("fair")
    return d.drop(columns=["affairs"]).to_numpy(float), d["affairs"].to_numpy() > 0


def _randhie(seed):
    d = _sm("randhie")
    v = d["mdvis"].to_numpy()
    return d.drop(columns=["mdvis"]).to_numpy(float), v > np.quantile(v, 0.95)  # the most visits to a doctor


def _star98(seed):
    d = _sm("star98")
    rate = d["NABOVE"] / (d["NABOVE"] + d["NBELOW"])
    return d.drop(columns=["NABOVE", "NBELOW"]).to_numpy(float), (rate <= rate.quantile(0.1)).to_numpy()


def _modechoice(seed):
    d = _sm("modechoice")
    X = d[["ttme", "invc", "invt", "gc", "hinc", "psize"]].to_numpy(float)
    return X, d["mode"].to_numpy() == 1  # the air alternative among air, train, bus, car


def _macrodata(seed):
    d = _sm("macrodata")
    growth = np.log(d[["realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1", "pop"]]).diff().iloc[1:]
    levels = d[["tbilrate", "unemp", "infl", "realint"]].iloc[1:]
    X = np.column_stack([growth.drop(columns=["realgdp"]).to_numpy(), levels.to_numpy()])
    g = growth["realgdp"].to_numpy()
    return X, g <= np.quantile(g, 0.1)  # the worst quarters for real GDP (GDP growth is not a feature)


def _statsmodels_file(rel):
    import statsmodels

    return Path(statsmodels.__file__).parent / rel


def _cattaneo(seed):
    import pandas as pd

    d = pd.read_csv(_statsmodels_file("treatment/tests/results/cataneo2.csv"))
    cols = ["bweight", "mmarried_", "mhisp", "fhisp", "foreign", "alcohol", "deadkids", "mage", "medu", "fage",
            "fedu", "nprenatal", "monthslb", "order", "mrace", "frace", "prenatal", "birthmonth", "fbaby_"]
    return d[cols].to_numpy(float), d["mbsmoke_"].to_numpy() == 1  # mothers who smoked


def _autos(seed):
    import pandas as pd

    d = pd.read_csv(_statsmodels_file("gam/tests/results/autos.csv"))
    cols = ["wb", "length", "width", "height", "weight", "eng_cc", "bore", "stroke", "comp.ratio", "hp", "rpm",
            "city_mpg", "hw_mpg", "price"]
    d = d.dropna(subset=cols)
    return d[cols].to_numpy(float), (d["fuel"] == "diesel").to_numpy()


SETS = {
    "iris": _iris,
    "diabetes": _diabetes,
    "digits": _digits,
    "anes96": _anes96,
    "fair": _fair,
    "randhie": _randhie,
    "star98": _star98,
    "modechoice": _modechoice,
    "macrodata": _macrodata,
    "cattaneo": _cattaneo,
    "autos": _autos,
}


def split(X, is_out, seed, max_train=2000, max_test_in=600):
    """ADBench-style split: train on inliers only; test on held-out inliers plus 10% outliers."""
    rng = np.random.default_rng(seed)
    inl = rng.permutation(np.flatnonzero(~is_out))
    n_test_in = min(max_test_in, int(round(0.3 * len(inl))))
    test_in, train = inl[:n_test_in], inl[n_test_in:][:max_train]
    out = np.flatnonzero(is_out)
    n_out = min(len(out), max(2, int(round(n_test_in / 9))))
    test_out = rng.choice(out, n_out, replace=False)
    test = np.r_[test_in, test_out]
    return X[train], X[test], np.r_[np.zeros(len(test_in)), np.ones(n_out)]


# ------------------------------------------------------------------ the detectors
def _standardised(fn):
    def run(tr, te, seed):
        sc = StandardScaler().fit(tr)
        return fn(sc.transform(tr), sc.transform(te), seed)

    return run


def _minmax(fn):
    def run(tr, te, seed):
        sc = MinMaxScaler().fit(tr)
        return fn(sc.transform(tr), sc.transform(te), seed)

    return run


def _pca(tr, te, seed):
    pca = PCA(n_components=0.95, svd_solver="full", random_state=seed).fit(tr)
    return ((pca.inverse_transform(pca.transform(te)) - te) ** 2).sum(1)


def _latentlab(params):
    def run(tr, te, seed):
        return -latentlab.AutoencoderOutlierDetector(random_state=seed, **params).fit(tr).score_samples(te)

    return run


def detectors(variants: dict[str, dict]) -> dict:
    out = {name: _latentlab(p) for name, p in variants.items()}
    out["IsolationForest"] = lambda tr, te, s: -IsolationForest(random_state=s).fit(tr).score_samples(te)
    out["PCA"] = _standardised(_pca)
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.ecod import ECOD
        from pyod.models.knn import KNN
        from pyod.models.vae import VAE
    except ImportError:
        print("(PyOD not installed: pip install 'latentlab[bench]' to add its KNN, ECOD, AutoEncoder and VAE)")
        return out
    out["PyOD KNN"] = _standardised(lambda tr, te, s: KNN().fit(tr).decision_function(te))
    out["PyOD KNN, min-max"] = _minmax(lambda tr, te, s: KNN().fit(tr).decision_function(te))
    out["PyOD ECOD"] = lambda tr, te, s: ECOD().fit(tr).decision_function(te)
    out["PyOD AE"] = lambda tr, te, s: AutoEncoder(verbose=0, random_state=s).fit(tr).decision_function(te)
    out["PyOD VAE"] = lambda tr, te, s: VAE(verbose=0, random_state=s).fit(tr).decision_function(te)
    return out


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="first split's seed (1000 on: development splits)")
    parser.add_argument("--detectors", nargs="+", default=None, help="names to run (default: all)")
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME=JSON: a latentlab detector with these parameters (development)")
    parser.add_argument("--json", default=None, help="also write the per-split results here")
    parser.add_argument("--tag", default=None,
                        help="a word added to the record's name (a run beside another that writes the default record)")
    parser.add_argument("--tables-from", nargs="+", default=None,
                        help="print the tables of --json files written before (sets run in parallel), nothing run")
    args = parser.parse_args()
    clock = start()
    record_name = name_for("tabular_anomaly", parser, args, ignore=("json", "tables_from"))
    if args.tables_from:
        results = {}
        for f in args.tables_from:
            results.update(json.loads(Path(f).read_text()))
        names = [k for k in next(iter(results.values())) if k not in ("shape", "n_test")]
        print(f"CPU: {cpu_model()}; from {', '.join(args.tables_from)}")
        _record(record_name, results, names, args, clock,
                f"merged from {', '.join(args.tables_from)} (its CPU seconds: the merge's; each split's are in the figures)")
        return
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    warnings.filterwarnings("ignore")
    variants = {"latentlab": {}}
    for v in args.variant:
        name, params = v.split("=", 1)
        variants[name] = json.loads(params)
    dets = detectors(variants)
    if args.detectors:
        dets = {k: v for k, v in dets.items() if k in args.detectors}
    print(f"CPU: {cpu_model()}; torch threads: {torch.get_num_threads()}; splits {args.seed}..{args.seed + args.splits - 1}")
    X0, o0 = SETS["iris"](0)
    for fn in dets.values():  # warm up imports and first calls, outside the timings
        fn(*split(X0, o0, 0)[:2], 0)
    results: dict = {}
    for set_name in args.sets:
        per = {k: {"roc": [], "ap": [], "cpu": [], "wall": []} for k in dets}
        for s in range(args.seed, args.seed + args.splits):
            X, is_out = SETS[set_name](s)
            tr, te, y = split(X, is_out, s)
            for name, fn in dets.items():
                c0, w0 = time.process_time(), time.perf_counter()
                scores = fn(tr, te, s)
                per[name]["cpu"].append(time.process_time() - c0)
                per[name]["wall"].append(time.perf_counter() - w0)
                per[name]["roc"].append(roc_auc_score(y, scores))
                per[name]["ap"].append(average_precision_score(y, scores))
        results[set_name] = {"shape": [len(tr), X.shape[1]], "n_test": len(y), **per}
        if args.json:  # after each set: a long run keeps what it has done
            Path(args.json).write_text(json.dumps(results))
        print(f"{set_name} (train {len(tr)} x {X.shape[1]}, test {len(y)}): "
              + ", ".join(f"{k} {np.mean(v['roc']):.3f}" for k, v in per.items()), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results))
    _record(record_name, results, list(dets), args, clock, None)


def _record(name: str, results: dict, names: list[str], args, clock, notes: str | None) -> None:
    """Print the four tables and write the run's record."""
    tables = _tables(results, names)
    for key, label in (("roc", "ROC-AUC"), ("ap", "average precision"), ("cpu", "fit + score, CPU s"),
                       ("wall", "fit + score, wall s")):
        print(f"\n{label} (mean over splits)\n")
        print(markdown(tables[key]))
    named = {"IsolationForest": "scikit-learn IsolationForest", "PCA": "PCA reconstruction error, 95% of the variance",
             "PyOD KNN": "PyOD KNN, standardised columns", "PyOD KNN, min-max": "PyOD KNN, min-max scaled columns",
             "PyOD ECOD": "PyOD ECOD", "PyOD AE": "PyOD AutoEncoder", "PyOD VAE": "PyOD VAE"}
    split = "reported splits" if args.seed < 1000 else "development splits"
    write_record(name, {"per_set": results, "detectors": names}, started=clock, args=args, tables=tables,
                 split=f"{split} {args.seed}..{args.seed + args.splits - 1}",
                 baselines={k: v for k, v in named.items() if k in names}, notes=notes)


def _tables(results: dict, names: list[str]) -> dict[str, dict]:
    """ROC-AUC, average precision, CPU and wall seconds: one table each, a row a set, the mean (best bold)."""
    out = {}
    for metric, fmt in [("roc", "{:.3f}"), ("ap", "{:.3f}"), ("cpu", "{:.2f}"), ("wall", "{:.2f}")]:
        means, rows = [], []
        for set_name, r in results.items():
            row = [float(np.mean(r[k][metric])) for k in names]
            means.append(row)
            rows.append([set_name, *(fmt.format(v) for v in row)])
        col = np.mean(means, axis=0)
        best = np.argmax(col) if metric in ("roc", "ap") else np.argmin(col)
        rows.append(["**mean**", *(("**" + fmt.format(v) + "**") if i == best else fmt.format(v)
                                   for i, v in enumerate(col))])
        if metric in ("cpu", "wall"):
            rows.append(["worst set", *(fmt.format(v) for v in np.max(means, axis=0))])
        out[metric] = table(["set", *names], rows)
    return out


if __name__ == "__main__":
    main()
