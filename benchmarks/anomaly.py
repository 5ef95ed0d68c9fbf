"""Anomaly detection on digits, one held-out class at a time (ROC-AUC per digit).

For each digit d: inliers are the other nine digits; the detectors train on
75% of the inliers (``train_test_split(random_state=0)``) and are tested on
the remaining inliers plus 18 random samples of digit d. latentlab's
``AutoencoderOutlierDetector`` runs with its default settings, beside
IsolationForest and PCA reconstruction error in the same run (and PyOD's
AutoEncoder when PyOD is installed: ``pip install latentlab[bench]``).

    python benchmarks/anomaly.py [--digits 0 1 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _record import name_for, start, table, write_record
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

import latentlab


def split(X, y, d: int, n_out: int = 18):
    train, test_in = train_test_split(X[y != d], test_size=0.25, random_state=0)
    rng = np.random.default_rng(d)
    outliers = X[y == d][rng.choice(int((y == d).sum()), n_out, replace=False)]
    X_test = np.vstack([test_in, outliers])
    is_out = np.r_[np.zeros(len(test_in)), np.ones(n_out)]
    return train, X_test, is_out


def pca_scores(train, test, n_components: int = 16):
    pca = PCA(n_components=n_components, random_state=0).fit(train)
    return ((pca.inverse_transform(pca.transform(test)) - test) ** 2).sum(1)


def detectors():
    out = {
        "latentlab": lambda tr, te: -latentlab.AutoencoderOutlierDetector().fit(tr).score_samples(te),
        "IsolationForest": lambda tr, te: -IsolationForest(random_state=0).fit(tr).score_samples(te),
        "PCA recon": pca_scores,
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
    except ImportError:
        print("(PyOD not installed: pip install 'latentlab[bench]' to add its AutoEncoder)")
    else:
        out["PyOD AE"] = lambda tr, te: AutoEncoder(verbose=0).fit(tr).decision_function(te)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (small networks run best on one)")
    args = parser.parse_args()
    clock = start()
    torch.set_num_threads(args.threads)
    X, y = latentlab.load_digits()
    dets = detectors()
    rows, times = [], dict.fromkeys(dets, 0.0)
    print("| digit | " + " | ".join(dets) + " |")
    print("|---" * (len(dets) + 1) + "|")
    for d in args.digits:
        train, test, is_out = split(X, y, d)
        row = []
        for name, fn in dets.items():
            t0 = time.perf_counter()
            row.append(roc_auc_score(is_out, fn(train, test)))
            times[name] += time.perf_counter() - t0
        rows.append(row)
        print(f"| {d} | " + " | ".join(f"{v:.3f}" for v in row) + " |", flush=True)
    mean = np.mean(rows, axis=0)
    print("| **mean** | " + " | ".join(f"**{v:.3f}**" for v in mean) + " |")
    print("| seconds | " + " | ".join(f"{times[k]:.0f}" for k in dets) + " |")
    spec = table(["digit", *dets], [[d, *(f"{v:.3f}" for v in row)] for d, row in zip(args.digits, rows)]
                 + [["**mean**", *(f"**{v:.3f}**" for v in mean)], ["seconds", *(f"{times[k]:.0f}" for k in dets)]])
    figures = {"roc_auc": {name: [row[i] for row in rows] for i, name in enumerate(dets)},
               "mean_roc_auc": dict(zip(dets, mean.tolist())), "seconds": times, "digits": args.digits}
    baselines = {"IsolationForest": "scikit-learn IsolationForest(random_state=0)",
                 "PCA recon": "squared reconstruction error of scikit-learn PCA(16)"}
    if "PyOD AE" in dets:
        baselines["PyOD AE"] = "PyOD's AutoEncoder at its defaults"
    write_record(
        name_for("anomaly", parser, args, ignore=("threads",)), figures, started=clock, args=args, split="test",
        tables={"main": spec}, baselines=baselines,
        notes="digits, one held-out class at a time: train on 75% of the other nine, test on the rest plus 18 of it",
    )


if __name__ == "__main__":
    main()
