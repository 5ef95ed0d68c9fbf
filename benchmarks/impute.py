"""Imputation on ADBench's real tables and MNIST-like images: latentlab against scikit-learn's imputers.

The tables are the features of the 22 ADBench development sets (``NAME.npz``,
``X`` and ``y``, in ``DATA_DIR``, default ``../shared/data/tables-adbench-dev``),
split into the same tuning and report halves as ``benchmarks/adbench.py``
(its :data:`TUNING` / :data:`REPORT`, the rule ``split_sets(SETS, seed=36)``).
The tuning half also holds ``mnist-like``: 2,000 images of 28 x 28 pixels made
from the embedded 8 x 8 digits (``_data.mnist_like(seed=0)``; labels: the
digits), where many border pixels never vary.

Protocol, for each set, seed (0, 1, 2) and missingness pattern:

- a set with more than ``MAX_ROWS`` (2,000) rows is cut to that many by a
  stratified (by ``y``) subsample drawn with the seed; then a 70/30 train/test
  split, stratified where each class has two rows or more;
- cells are removed from the whole (cut) table, 20% of them in expectation:
  ``mcar``, each cell on its own with probability 0.2; ``mnar``, per column
  ``j`` with ``t_j`` its 80th percentile (``numpy.quantile``, linear) and
  ``f_j`` the fraction of its values strictly above ``t_j``: a value above
  ``t_j`` is removed with probability 0.5, any other with
  ``(0.2 - 0.5 f_j) / (1 - f_j)`` (so 20% of each column, high values 2.5 to
  4 times as often as the rest);
- min-max scaling fitted on the observed cells of the training part (NaNs
  ignored), applied to both parts and to the true values: every imputer sees,
  and every RMSE is measured on, that scale;
- each imputer is fitted on the training part (with its holes) and fills the
  training and test parts; **RMSE** over the removed cells of the test part
  (rows the imputer never saw); CPU seconds (``time.process_time``) of fit +
  both fills, single-threaded;
- **downstream**: scikit-learn's ``LogisticRegression(max_iter=1000)`` fitted
  on the filled training part with the labels ``y`` (ADBench's anomaly labels;
  the digit for ``mnist-like``), scored by ROC-AUC (one-vs-rest macro for the
  10 digits) on the filled test part; left out (—) where a class has fewer than
  10 rows in the cut table. ``complete`` is the same classifier on the data
  before any cell was removed.

Imputers, in this process: ``latentlab.AutoencoderImputer(random_state=seed)``
at its defaults; scikit-learn's ``SimpleImputer(strategy='mean')``,
``KNNImputer()`` (5 neighbours), ``IterativeImputer(BayesianRidge(),
max_iter=10)`` ("MICE") and ``IterativeImputer(ExtraTreesRegressor(
n_estimators=20, min_samples_leaf=2), max_iter=5)`` ("MissForest", a
MissForest-style imputer with fewer trees and rounds than the 100 and 10 of
Stekhoven and Bühlmann, for time); both iterative imputers model each column
from its 40 most correlated columns where a table has more
(``n_nearest_features``, only ``mnist-like``).

Each imputer's average rank is taken over the sets, by its RMSE averaged
over the seeds (rank 1 = lowest), once for each pattern. An imputer whose fit
+ fills on one set takes more than ``--cap`` CPU seconds (300) skips that set's
later seeds of the pattern (the record and the table note say so).
**The report half is run once, after tuning, never to choose anything.**

    python benchmarks/impute.py --part tuning                   # tuning half, seeds 0-2, both patterns
    python benchmarks/impute.py --part tuning --sets 42_WBC --seeds 0    # a quick look (a record of its own)
    python benchmarks/impute.py --part report                   # once, at the end

The record is ``benchmarks/results/impute-PART.json``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.stats import rankdata  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import markdown, name_for, start, table, write_record  # noqa: E402
from adbench import DATA_DIR, REPORT, SPLIT_SEED, TUNING, load  # noqa: E402

IMAGES = "mnist-like"
#: The sets of each half: adbench.py's halves; the image set joins the tuning half.
PARTS = {"tuning": (*TUNING, IMAGES), "report": REPORT}
MAX_ROWS, IMAGE_ROWS, TEST_SIZE, RATE = 2_000, 2_000, 0.3, 0.2
MNAR_Q, MNAR_HIGH = 0.8, 0.5
MIN_CLASS = 10  # rows of the smaller class below which no downstream score is given
N_NEAREST, FOREST_TREES, FOREST_ITER, MICE_ITER = 40, 20, 5, 10
IMPUTERS = ("latentlab", "mean", "KNN", "MICE", "MissForest")
PATTERNS = ("mcar", "mnar")


def make_imputer(name: str, n_features: int, seed: int):
    """A fresh imputer (the benchmark's settings, see the module docstring)."""
    if name == "latentlab":
        import latentlab

        return latentlab.AutoencoderImputer(random_state=seed)
    from sklearn.ensemble import ExtraTreesRegressor
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
    from sklearn.linear_model import BayesianRidge

    nearest = N_NEAREST if n_features > N_NEAREST else None
    if name == "mean":
        return SimpleImputer(strategy="mean", keep_empty_features=True)
    if name == "KNN":
        return KNNImputer(keep_empty_features=True)
    if name == "MICE":
        return IterativeImputer(BayesianRidge(), max_iter=MICE_ITER, n_nearest_features=nearest,
                                random_state=seed, keep_empty_features=True)
    if name == "MissForest":
        trees = ExtraTreesRegressor(n_estimators=FOREST_TREES, min_samples_leaf=2, random_state=seed, n_jobs=1)
        return IterativeImputer(trees, max_iter=FOREST_ITER, n_nearest_features=nearest, random_state=seed,
                                keep_empty_features=True)
    raise ValueError(f"unknown imputer {name!r}; choose from {', '.join(IMPUTERS)}")


def image_set() -> tuple[np.ndarray, np.ndarray]:
    """``mnist_like(IMAGE_ROWS, seed=0)`` and its digits (the draw ``mnist_like`` makes first, repeated)."""
    from _data import mnist_like

    import latentlab

    X = mnist_like(IMAGE_ROWS, seed=0).astype(np.float64)
    _, digits = latentlab.load_digits()
    y = np.asarray(digits)[np.random.default_rng(0).integers(0, len(digits), IMAGE_ROWS)]
    return X, y.astype(np.int64)


def remove_cells(X: np.ndarray, pattern: str, rng: np.random.Generator, rate: float = RATE) -> np.ndarray:
    """The mask of removed cells (True = removed) of ``pattern`` ``'mcar'`` or ``'mnar'`` (module docstring).

    Examples
    --------
    >>> X = np.arange(1000.0)[:, None]
    >>> m = remove_cells(X, "mnar", np.random.default_rng(0))
    >>> bool(m[X[:, 0] > 799].mean() > 2 * m[X[:, 0] <= 799].mean())
    True
    """
    u = rng.random(X.shape)
    if pattern == "mcar":
        return u < rate
    high = X > np.quantile(X, MNAR_Q, axis=0)[None, :]  # (N, D)
    f = high.mean(0)
    low_p = (rate - MNAR_HIGH * f) / (1.0 - f)  # 20% of each column in expectation
    return u < np.where(high, MNAR_HIGH, low_p[None, :])


def _stratify(y):
    counts = np.unique(y, return_counts=True)[1]
    return y if counts.min() >= 2 else None


def prepare(X, y, pattern: str, seed: int, name: str):
    """Cut, remove cells, split and scale one set for one seed: a dict of the parts (module docstring)."""
    if len(X) > MAX_ROWS:
        X, _, y, _ = train_test_split(X, y, train_size=MAX_ROWS, stratify=_stratify(y), random_state=seed)
    rng = np.random.default_rng([seed, PATTERNS.index(pattern), zlib.crc32(name.encode())])
    holes = np.where(remove_cells(X, pattern, rng), np.nan, X)
    idx = np.arange(len(X))
    tr, te = train_test_split(idx, test_size=TEST_SIZE, stratify=_stratify(y), random_state=seed)
    scaler = MinMaxScaler().fit(holes[tr])  # NaNs are ignored: fitted on the observed cells
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a column without observed training cells keeps NaN statistics
        part = {k: scaler.transform(a[i]) for k, a, i in
                (("holes_tr", holes, tr), ("holes_te", holes, te), ("true_tr", X, tr), ("true_te", X, te))}
    part.update(y_tr=y[tr], y_te=y[te], downstream=np.unique(y, return_counts=True)[1].min() >= MIN_CLASS
                and len(np.unique(y)) > 1, rows=len(X), rate=float(np.isnan(holes).mean()))
    return part


def downstream(X_tr, y_tr, X_te, y_te) -> float:
    """ROC-AUC (macro one-vs-rest for more than two classes) of a logistic regression on the filled data."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(max_iter=1000).fit(X_tr, y_tr)
    p = clf.predict_proba(X_te)
    if p.shape[1] == 2:
        return float(roc_auc_score(y_te, p[:, 1]))
    return float(roc_auc_score(y_te, p, multi_class="ovr", labels=clf.classes_))


def run_one(name: str, part: dict, seed: int) -> dict:
    """Fit on the training holes, fill both parts: RMSE on the test part's removed cells, CPU s, downstream."""
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed)
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # IterativeImputer's convergence warnings
        imp = make_imputer(name, part["holes_tr"].shape[1], seed).fit(part["holes_tr"])
        filled_tr, filled_te = imp.transform(part["holes_tr"]), imp.transform(part["holes_te"])
    cpu = time.process_time() - t0
    miss = np.isnan(part["holes_te"])
    rmse = float(np.sqrt(np.mean((filled_te[miss] - part["true_te"][miss]) ** 2)))
    out = {"rmse": rmse, "cpu_s": round(cpu, 3), "max_abs": float(np.abs(filled_te).max())}
    if part["downstream"]:
        out["downstream"] = downstream(filled_tr, part["y_tr"], filled_te, part["y_te"])
    return out


def _mean(values):
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def summarise(runs: dict, imputers, sets) -> dict:
    """Per pattern: per set, each imputer's means over seeds; overall means and the average rank by RMSE."""
    out = {}
    for pattern in PATTERNS:
        means = {s: {m: {k: _mean([r.get(k) for r in runs[s][pattern][m]]) for k in ("rmse", "downstream", "cpu_s")}
                     for m in imputers} for s in sets}
        complete = {s: _mean([r.get("downstream") for r in runs[s][pattern]["complete"]]) for s in sets}
        ranks = {m: [] for m in imputers}
        for s in sets:
            rmse = np.array([means[s][m]["rmse"] if means[s][m]["rmse"] is not None else np.inf for m in imputers])
            for m, r in zip(imputers, rankdata(rmse), strict=True):
                ranks[m].append(float(r))
        overall = {m: {"avg_rank": float(np.mean(ranks[m])), "mean_rmse": _mean([means[s][m]["rmse"] for s in sets]),
                       "mean_downstream": _mean([means[s][m]["downstream"] for s in sets]),
                       "mean_cpu_s": _mean([means[s][m]["cpu_s"] for s in sets])} for m in imputers}
        overall["complete"] = {"mean_downstream": _mean(complete.values())}
        out[pattern] = {"per_set_means": means, "ranks": ranks, "overall": overall, "complete": complete}
    return out


def _f(v, fmt="{:.4f}"):
    return "—" if v is None else fmt.format(v)


def tables_of(summary: dict, info: dict, imputers, sets) -> dict:
    mc, mn = summary["mcar"]["overall"], summary["mnar"]["overall"]
    order = sorted(imputers, key=lambda m: mc[m]["avg_rank"] + mn[m]["avg_rank"])
    main = table(["imputer", "MCAR rank", "MCAR RMSE", "MCAR downstream AUC", "MNAR rank", "MNAR RMSE",
                  "MNAR downstream AUC", "CPU s (fit + fills)"],
                 [[m, f"{mc[m]['avg_rank']:.2f}", _f(mc[m]["mean_rmse"]), _f(mc[m]["mean_downstream"], "{:.3f}"),
                   f"{mn[m]['avg_rank']:.2f}", _f(mn[m]["mean_rmse"]), _f(mn[m]["mean_downstream"], "{:.3f}"),
                   _f(_mean([mc[m]["mean_cpu_s"], mn[m]["mean_cpu_s"]]), "{:.2f}")] for m in order]
                 + [["complete data (no cell removed)", "", "", _f(mc["complete"]["mean_downstream"], "{:.3f}"),
                     "", "", _f(mn["complete"]["mean_downstream"], "{:.3f}"), ""]],
                 ["l"] + ["r"] * 7)
    out = {"main": main}
    for pattern in PATTERNS:
        m = summary[pattern]["per_set_means"]
        out[pattern] = table([f"set (rows x features), RMSE {pattern.upper()}", *order],
                             [[f"{s} ({info[s]['rows']} x {info[s]['features']})",
                               *[_f(m[s][k]["rmse"]) for k in order]] for s in sets], ["l"] + ["r"] * len(order))
    out["sets"] = table(["set", "rows", "features", "rows used", "cells removed MCAR / MNAR", "downstream"],
                        [[s, info[s]["all_rows"], info[s]["features"], info[s]["rows"],
                          f"{info[s]['rate_mcar']:.1%} / {info[s]['rate_mnar']:.1%}",
                          "yes" if info[s]["downstream"] else "no (a class under 10 rows)"] for s in sets],
                        ["l", "r", "r", "r", "r", "l"])
    return out


def stored_runs(path: Path, part: str, seeds: list[int], sets: list[str], running: list[str]):
    """The runs of an earlier record of ``part`` for the imputers not in ``running``, checked to match this run."""
    import json

    try:
        rec = json.loads(Path(path).read_text())
        f = rec["figures"]
        runs, old_seeds, old_part = f["runs"], f["seeds"], f["part"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"--baselines-from {path}: not a record of benchmarks/impute.py ({e})") from None
    if old_part != part or list(old_seeds) != list(seeds) or any(s not in runs for s in sets):
        raise SystemExit(f"--baselines-from {path}: a run of the {old_part} half with seeds {old_seeds}; this run is "
                         f"the {part} half with seeds {seeds} on {', '.join(sets)}")
    reused = [m for m in IMPUTERS if m not in running and all(m in runs[s][p] for s in sets for p in PATTERNS)]
    return runs, reused


def main(argv=None) -> int:
    clock = start()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", type=Path, default=DATA_DIR, help="folder of ADBench NAME.npz files")
    ap.add_argument("--part", choices=tuple(PARTS), required=True,
                    help="which half of the sets (the report half: once, after tuning)")
    ap.add_argument("--sets", type=lambda s: [x for x in s.split(",") if x], default=None,
                    help="comma-separated names within the part (quick runs)")
    ap.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[0, 1, 2])
    ap.add_argument("--imputers", type=lambda s: [x for x in s.split(",") if x], default=list(IMPUTERS))
    ap.add_argument("--baselines-from", type=Path, default=None, metavar="RECORD",
                    help="a record of an earlier run of the same part and seeds: the imputers not in --imputers are "
                         "taken from it (same sets, seeds and holes, so their runs need not be repeated)")
    ap.add_argument("--cap", type=float, default=300.0,
                    help="CPU seconds of one fit + fills after which an imputer skips the later seeds of that set "
                         "and pattern")
    args = ap.parse_args(argv)
    data_dir, args.data_dir = args.data_dir, str(args.data_dir)
    import torch

    torch.set_num_threads(1)
    part_sets = PARTS[args.part]
    sets = args.sets or list(part_sets)
    strays = [s for s in sets if s not in part_sets]
    if strays:
        ap.error(f"--sets {','.join(strays)}: not in the {args.part} half ({', '.join(part_sets)})")
    bad = [m for m in args.imputers if m not in IMPUTERS]
    if bad:
        ap.error(f"--imputers {','.join(bad)}: choose from {', '.join(IMPUTERS)}")
    imputers = list(args.imputers)
    stored, reused = {}, []
    if args.baselines_from is not None:
        stored, reused = stored_runs(args.baselines_from, args.part, args.seeds, sets, imputers)
    runs, info, skipped = {}, {}, []
    for s in sets:
        X, y = image_set() if s == IMAGES else load(data_dir / f"{s}.npz")
        runs[s] = {p: {m: [] for m in (*imputers, "complete")} for p in PATTERNS}
        info[s] = {"all_rows": len(X), "features": X.shape[1]}
        for pattern in PATTERNS:
            capped = set()
            for seed in args.seeds:
                part = prepare(X, y, pattern, seed, s)
                info[s].update(rows=part["rows"], downstream=bool(part["downstream"]))
                info[s][f"rate_{pattern}"] = part["rate"]
                if part["downstream"]:
                    runs[s][pattern]["complete"].append(
                        {"downstream": downstream(part["true_tr"], part["y_tr"], part["true_te"], part["y_te"])})
                for m in imputers:
                    if m in capped:
                        skipped.append(f"{m} on {s} {pattern.upper()} seed {seed}")
                        continue
                    r = run_one(m, part, seed)
                    if r["cpu_s"] > args.cap:
                        capped.add(m)
                    runs[s][pattern][m].append({**r, "seed": seed})
                    print(f"{s:16s} {pattern} seed {seed} {m:11s} RMSE {r['rmse']:.4f} "
                          f"AUC {_f(r.get('downstream'), '{:.3f}')} CPU {r['cpu_s']:7.2f} s", flush=True)
    for s in sets:
        for pattern in PATTERNS:
            runs[s][pattern].update({m: stored[s][pattern][m] for m in reused})
    ran = list(imputers)
    imputers = [m for m in IMPUTERS if m in imputers or m in reused]
    summary = summarise(runs, imputers, sets)
    tables = tables_of(summary, info, imputers, sets)
    for key, spec in tables.items():
        print(f"\n## {key}\n\n{markdown(spec)}")
    note = (f"{args.part} half, seeds {args.seeds}; {RATE:.0%} of cells removed (MCAR; MNAR: above a column's 80th "
            f"percentile with probability {MNAR_HIGH}); tables cut to {MAX_ROWS} rows (stratified), 70/30 split; "
            "RMSE on the removed test cells, min-max scaled on the observed training cells; average rank by RMSE "
            "(1 = best); downstream: ROC-AUC of a logistic regression trained on the filled training part.")
    if reused:
        note += (f" Runs of {', '.join(reused)} taken from {args.baselines_from.name} (same sets, seeds and holes); "
                 f"{', '.join(ran)} run here.")
    if skipped:
        note += f" Over {args.cap:g} CPU s a run, not run (the mean is over the seeds run): " + "; ".join(skipped) + "."
    print("\n" + note)
    baselines = {"mean": "scikit-learn SimpleImputer(strategy='mean')", "KNN": "scikit-learn KNNImputer()",
                 "MICE": f"scikit-learn IterativeImputer(BayesianRidge(), max_iter={MICE_ITER})",
                 "MissForest": f"scikit-learn IterativeImputer(ExtraTreesRegressor(n_estimators={FOREST_TREES}, "
                               f"min_samples_leaf=2), max_iter={FOREST_ITER})"}
    figures = {"part": args.part, "sets": sets, "seeds": args.seeds, "tuning_half": list(PARTS["tuning"]),
               "report_half": list(PARTS["report"]), "split_rule": f"adbench.split_sets(SETS, seed={SPLIT_SEED})",
               "max_rows": MAX_ROWS, "rate": RATE, "data": info, "runs": runs, **summary}
    figures["skipped"] = skipped
    name = name_for(f"impute-{args.part}", ap, args, ignore=("part", "data_dir", "cap", "baselines_from"))
    if reused:
        name += "-stored-baselines"
        figures["baselines_from"] = {"record": args.baselines_from.name, "imputers": reused}
    write_record(name, figures, baselines={m: baselines[m] for m in imputers if m in baselines},
                 split=f"adbench-{args.part}", args=args, started=clock, tables=tables, notes=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
