"""Outlier detection on ADBench's real tables, ADBench's unsupervised protocol: latentlab against PyOD.

The data are 22 of ADBench's "Classical" sets (Han et al., "ADBench: Anomaly
Detection Benchmark", NeurIPS 2022) as ADBench ships them: one ``NAME.npz`` a
set with ``X`` (rows x features) and ``y`` (1 for an anomaly, 0 otherwise), in
``DATA_DIR`` (default ``../shared/data/tables-adbench-dev``).

Protocol, for each seed (0, 1 and 2 by default) and set:

- a stratified 70/30 train/test split; the training part keeps its anomalies
  and no detector ever sees a label;
- sets with more rows are subsampled, stratified, to at most 10,000 training
  and 5,000 test rows (the tables mark them);
- min-max scaling fitted on the training part, the same scaled data for every
  detector;
- PyOD's IForest, KNN, ECOD, COPOD, LOF, OCSVM, PCA, AutoEncoder, VAE and
  DeepSVDD (PyOD's own implementations, at their defaults; ``random_state`` is
  the seed where a detector takes one, progress output off) and
  ``latentlab.AutoencoderOutlierDetector()`` at its defaults, one after the
  other in this process, single-threaded;
- ROC-AUC and average precision of the test scores, and the CPU seconds
  (``time.process_time``) of fit + score.

Each detector's average rank is taken over the sets, by its ROC-AUC averaged
over the seeds (rank 1 = highest; ties share the mean rank; a detector with no
figure on a set ranks last there). A detector whose fit + score on one set
takes more than ``--cap`` CPU seconds is skipped on that set's later seeds
(the record and the tables say so).

The 22 sets are split once, before anything was scored, by a fixed rule
(:func:`split_sets`: the names in ADBench's order, permuted by
``numpy.random.default_rng(36)``; the first 11 are the tuning half) into
:data:`TUNING` and :data:`REPORT`. Detector defaults are chosen on the tuning
half only. **The report half is run once, after the tuning is finished, in a
later session than the one that wrote this script; it was not run while this
script was written.**

    python benchmarks/adbench.py --part tuning                       # the tuning half, seeds 0-2
    python benchmarks/adbench.py --part tuning --seeds 0             # one seed (a record of its own)
    python benchmarks/adbench.py --part tuning --sets 42_WBC,40_vowels --seeds 0   # a quick look
    python benchmarks/adbench.py --part report                       # once, at the end (make bench)

The record is ``benchmarks/results/adbench-PART.json`` (options away from their
defaults add to the name, so a quick run never overwrites a full one).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import inspect  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.stats import rankdata  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import markdown, name_for, start, table, write_record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data" / "tables-adbench-dev"
#: The 22 sets, in ADBench's numbering.
SETS = ("2_annthyroid", "4_breastw", "6_cardio", "8_celeba", "10_cover", "12_fault", "14_glass", "16_http",
        "18_Ionosphere", "20_letter", "22_magic.gamma", "24_mnist", "26_optdigits", "28_pendigits",
        "30_satellite", "32_shuttle", "34_smtp", "38_thyroid", "40_vowels", "42_WBC", "44_Wilt", "46_WPBC")
SPLIT_SEED = 36
#: The tuning half (``split_sets(SETS)[0]``, written down before any score): defaults are chosen here.
TUNING = ("2_annthyroid", "10_cover", "12_fault", "20_letter", "22_magic.gamma", "30_satellite", "32_shuttle",
          "34_smtp", "40_vowels", "42_WBC", "44_Wilt")
#: The report half (``split_sets(SETS)[1]``): run once, after tuning, never to choose anything.
REPORT = ("4_breastw", "6_cardio", "8_celeba", "14_glass", "16_http", "18_Ionosphere", "24_mnist", "26_optdigits",
          "28_pendigits", "38_thyroid", "46_WPBC")
MAX_TRAIN, MAX_TEST, TEST_SIZE = 10_000, 5_000, 0.3
DETECTORS = ("IForest", "KNN", "ECOD", "COPOD", "LOF", "OCSVM", "PCA", "AutoEncoder", "VAE", "DeepSVDD",
             "latentlab")


def _order(name: str) -> tuple[int, str]:
    head = name.split("_", 1)[0]
    return (int(head) if head.isdigit() else 10**9, name)


def split_sets(names, seed: int = SPLIT_SEED) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fixed rule: the names in ADBench's order, permuted by ``default_rng(seed)``; first half = tuning.

    Both halves come back in ADBench's order; with an odd count the report half gets the extra set.

    Examples
    --------
    >>> split_sets(SETS) == (TUNING, REPORT)
    True
    """
    names = sorted(names, key=_order)
    perm = np.random.default_rng(seed).permutation(len(names))
    half = len(names) // 2
    tuning = sorted((names[i] for i in perm[:half]), key=_order)
    report = sorted((names[i] for i in perm[half:]), key=_order)
    return tuple(tuning), tuple(report)


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``X`` (float64) and ``y`` (int, 1 = anomaly) of one ADBench ``.npz``; a malformed file raises ValueError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such set; DATA_DIR must hold ADBench's NAME.npz files (X, y)")
    with np.load(path, allow_pickle=False) as data:
        missing = {"X", "y"} - set(data.files)
        if missing:
            raise ValueError(f"{path.name}: no array {sorted(missing)}; an ADBench set holds 'X' and 'y'")
        X, y = np.asarray(data["X"], dtype=np.float64), np.asarray(data["y"]).ravel()
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"{path.name}: X is {X.shape} and y has {len(y)} labels; X must be rows x features, "
                         "one label a row")
    if not np.isin(y, (0, 1)).all() or y.min() == y.max():
        raise ValueError(f"{path.name}: y must hold 0 (normal) and 1 (anomaly), both; it holds {np.unique(y)[:5]}")
    if not np.isfinite(X).all():
        raise ValueError(f"{path.name}: X has NaN or infinite values; ADBench sets are complete")
    return X, y.astype(np.int64)


def _cut(X, y, size, seed):
    if len(X) <= size:
        return X, y
    X, _, y, _ = train_test_split(X, y, train_size=size, stratify=y, random_state=seed)
    return X, y


def split(X, y, seed: int, max_train: int = MAX_TRAIN, max_test: int = MAX_TEST):
    """ADBench's split of one set for one seed: stratified 70/30, subsampled, min-max scaled on training rows.

    Returns ``(X_train, X_test, y_train, y_test, subsampled)``; the training part keeps its anomalies.
    """
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=TEST_SIZE, stratify=y, random_state=seed)
    subsampled = len(X_tr) > max_train or len(X_te) > max_test
    X_tr, y_tr = _cut(X_tr, y_tr, max_train, seed)
    X_te, y_te = _cut(X_te, y_te, max_test, seed)
    scaler = MinMaxScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te, subsampled


def make_detector(name: str, n_features: int, seed: int):
    """A fresh detector at its defaults (``random_state`` = seed where it takes one; no progress output)."""
    if name == "latentlab":
        import latentlab

        return latentlab.AutoencoderOutlierDetector(random_state=seed)
    from pyod.models import auto_encoder, copod, deep_svdd, ecod, iforest, knn, lof, ocsvm, pca, vae

    cls = {"IForest": iforest.IForest, "KNN": knn.KNN, "ECOD": ecod.ECOD, "COPOD": copod.COPOD, "LOF": lof.LOF,
           "OCSVM": ocsvm.OCSVM, "PCA": pca.PCA, "AutoEncoder": auto_encoder.AutoEncoder, "VAE": vae.VAE,
           "DeepSVDD": deep_svdd.DeepSVDD}[name]
    params = inspect.signature(cls.__init__).parameters
    kwargs = {"n_features": n_features} if "n_features" in params else {}
    kwargs.update({k: v for k, v in (("random_state", seed), ("verbose", 0)) if k in params})
    return cls(**kwargs)


def anomaly_scores(name: str, det, X_test) -> np.ndarray:
    """Test scores, large = abnormal."""
    if name == "latentlab":
        return -np.asarray(det.score_samples(X_test), dtype=np.float64)
    return np.asarray(det.decision_function(X_test), dtype=np.float64)


def run_one(name, X_tr, X_te, y_te, seed) -> dict:
    """Fit on the training part, score the test part: ROC-AUC, AP and CPU seconds of fit + score."""
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed)
    t0 = time.process_time()
    det = make_detector(name, X_tr.shape[1], seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        det.fit(X_tr)
        s = anomaly_scores(name, det, X_te)
    cpu = time.process_time() - t0
    if not np.isfinite(s).all():
        return {"auc": None, "ap": None, "cpu_s": round(cpu, 3), "note": "non-finite test scores"}
    return {"auc": float(roc_auc_score(y_te, s)), "ap": float(average_precision_score(y_te, s)),
            "cpu_s": round(cpu, 3)}


def _mean(values):
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def summarise(per_set: dict, detectors, sets) -> dict:
    """Per set: each detector's mean over seeds; overall: means over sets and the average rank by ROC-AUC."""
    means = {s: {d: {k: _mean([r[k] for r in per_set[s]["runs"].get(d, [])]) for k in ("auc", "ap", "cpu_s")}
                 for d in detectors} for s in sets}
    ranks = {d: [] for d in detectors}
    for s in sets:
        auc = np.array([means[s][d]["auc"] if means[s][d]["auc"] is not None else -np.inf for d in detectors])
        for d, r in zip(detectors, rankdata(-auc), strict=True):
            ranks[d].append(float(r))
    overall = {d: {"mean_auc": _mean([means[s][d]["auc"] for s in sets]),
                   "mean_ap": _mean([means[s][d]["ap"] for s in sets]),
                   "avg_rank": float(np.mean(ranks[d])),
                   "mean_cpu_s": _mean([means[s][d]["cpu_s"] for s in sets]),
                   "sets_scored": sum(means[s][d]["auc"] is not None for s in sets)} for d in detectors}
    return {"per_set_means": means, "ranks": ranks, "overall": overall}


def _f(v, fmt="{:.3f}"):
    return "—" if v is None else fmt.format(v)


def tables_of(summary, info, detectors, sets, seeds) -> dict:
    ov = summary["overall"]
    order = sorted(detectors, key=lambda d: ov[d]["avg_rank"])
    main = table(["detector", "avg rank (ROC-AUC)", "mean ROC-AUC", "mean AP", "mean CPU s (fit + score)",
                  "sets scored"],
                 [[d, f"{ov[d]['avg_rank']:.2f}", _f(ov[d]["mean_auc"]), _f(ov[d]["mean_ap"]),
                   _f(ov[d]["mean_cpu_s"], "{:.2f}"), f"{ov[d]['sets_scored']}/{len(sets)}"] for d in order],
                 ["l", "r", "r", "r", "r", "r"])
    m = summary["per_set_means"]

    def label(s):
        i = info[s]
        star = "*" if i["subsampled"] else ""
        return f"{s}{star} ({i['train_rows']}/{i['test_rows']})"

    auc = table(["set (train/test rows)", *order],
                [[label(s), *[_f(m[s][d]["auc"]) for d in order]] for s in sets], ["l"] + ["r"] * len(order))
    ap = table(["set (train/test rows)", *order],
               [[label(s), *[_f(m[s][d]["ap"]) for d in order]] for s in sets], ["l"] + ["r"] * len(order))
    data = table(["set", "rows", "features", "anomalies", "train/test rows", "subsampled"],
                 [[s, info[s]["rows"], info[s]["features"], f"{info[s]['anomaly_rate']:.1%}",
                   f"{info[s]['train_rows']}/{info[s]['test_rows']}", "yes" if info[s]["subsampled"] else "no"]
                  for s in sets], ["l", "r", "r", "r", "r", "l"])
    return {"main": main, "auc": auc, "ap": ap, "sets": data}


def main(argv=None) -> int:
    clock = start()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", type=Path, default=DATA_DIR, help="folder of ADBench NAME.npz files")
    ap.add_argument("--part", choices=("tuning", "report"), required=True,
                    help="which half of the sets (the report half: once, after tuning)")
    ap.add_argument("--sets", type=lambda s: [x for x in s.split(",") if x], default=None,
                    help="comma-separated names within the part (quick runs)")
    ap.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[0, 1, 2])
    ap.add_argument("--detectors", type=lambda s: [x for x in s.split(",") if x], default=list(DETECTORS))
    ap.add_argument("--tag", default="", help="a word added to the record's name (a disclosed second look keeps the first record)")
    ap.add_argument("--cap", type=float, default=300.0,
                    help="CPU seconds of one fit + score after which a detector skips the set's later seeds")
    args = ap.parse_args(argv)
    data_dir, args.data_dir = args.data_dir, str(args.data_dir)
    import torch

    torch.set_num_threads(1)
    part = TUNING if args.part == "tuning" else REPORT
    sets = args.sets or list(part)
    strays = [s for s in sets if s not in part]
    if strays:
        ap.error(f"--sets {','.join(strays)}: not in the {args.part} half ({', '.join(part)})")
    bad = [d for d in args.detectors if d not in DETECTORS]
    if bad:
        ap.error(f"--detectors {','.join(bad)}: choose from {', '.join(DETECTORS)}")
    detectors = list(args.detectors)
    per_set, info, notes = {}, {}, []
    for s in sets:
        X, y = load(data_dir / f"{s}.npz")
        per_set[s] = {"runs": {d: [] for d in detectors}, "skipped": {}}
        capped = set()
        for seed in args.seeds:
            X_tr, X_te, y_tr, y_te, sub = split(X, y, seed)
            info[s] = {"rows": len(X), "features": X.shape[1], "anomaly_rate": float(y.mean()),
                       "train_rows": len(X_tr), "test_rows": len(X_te), "subsampled": bool(sub)}
            for d in detectors:
                if d in capped:
                    per_set[s]["skipped"].setdefault(d, []).append(seed)
                    continue
                r = run_one(d, X_tr, X_te, y_te, seed)
                r["seed"] = seed
                per_set[s]["runs"][d].append(r)
                if r.get("note"):
                    notes.append(f"{d} on {s} seed {seed}: {r['note']} (left out of the set's mean over seeds)")
                print(f"{s:16s} seed {seed} {d:12s} AUC {_f(r['auc'])} AP {_f(r['ap'])} "
                      f"CPU {r['cpu_s']:8.2f} s", flush=True)
                if r["cpu_s"] > args.cap:
                    capped.add(d)
        for d, skipped in per_set[s]["skipped"].items():
            notes.append(f"{d} on {s}: over {args.cap:g} CPU s, seeds {skipped} skipped")
    summary = summarise(per_set, detectors, sets)
    tables = tables_of(summary, info, detectors, sets, args.seeds)
    for key, spec in tables.items():
        print(f"\n## {key}\n\n{markdown(spec)}")
    note = (f"ADBench unsupervised protocol, {args.part} half, seeds {args.seeds}; * = subsampled to at most "
            f"{MAX_TRAIN} training / {MAX_TEST} test rows; min-max scaling fitted on the training part; "
            "average rank by ROC-AUC (1 = best).")
    if notes:
        note += " Not scored: " + "; ".join(notes) + "."
    print("\n" + note)
    baselines = {d: f"pyod.models {d} at its defaults" for d in detectors if d != "latentlab"}
    figures = {"part": args.part, "sets": sets, "seeds": args.seeds, "tuning_half": list(TUNING),
               "report_half": list(REPORT), "split_rule": f"split_sets(SETS, seed={SPLIT_SEED})",
               "max_train": MAX_TRAIN, "max_test": MAX_TEST, "cap_cpu_s": args.cap, "data": info,
               "per_set": per_set, **summary, "skipped": notes}
    name = name_for(f"adbench-{args.part}", ap, args, ignore=("part", "data_dir", "cap"))
    write_record(name, figures, baselines=baselines, split=f"adbench-{args.part}", args=args, started=clock,
                 tables=tables, notes=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
