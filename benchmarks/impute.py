"""Imputation on digits: RMSE on entries missing completely at random (20%), 5 seeds.

The imputers fit on the complete training split (or, with
``--train-missing``, on the training split with the same missingness) and
fill the test split; latentlab's ``AutoencoderImputer`` (default settings) runs
beside scikit-learn's SimpleImputer(mean), KNNImputer and IterativeImputer in
the same run.

    python benchmarks/impute.py [--seeds 0 1 2 3 4] [--rate 0.2] [--train-missing]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _record import name_for, start, table, write_record
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

import latentlab


def imputers(seed: int):
    return {
        "latentlab": latentlab.AutoencoderImputer(random_state=seed),
        "mean": SimpleImputer(strategy="mean"),
        "KNN": KNNImputer(),
        "Iterative": IterativeImputer(random_state=seed, max_iter=10),
    }


def mcar(X: np.ndarray, rate: float, rng) -> np.ndarray:
    Xm = X.copy()
    Xm[rng.random(X.shape) < rate] = np.nan
    return Xm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--train-missing", action="store_true", help="hide the same fraction of training entries")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (small networks run best on one)")
    args = parser.parse_args()
    clock = start()
    torch.set_num_threads(args.threads)
    X_train, X_test, _, _ = latentlab.load_digits(split=True)
    names = list(imputers(0))
    rows, times = [], dict.fromkeys(names, 0.0)
    print("| seed | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        Xte_m = mcar(X_test, args.rate, rng)
        Xtr_m = mcar(X_train, args.rate, rng) if args.train_missing else X_train
        miss = np.isnan(Xte_m)
        row = []
        for name, imp in imputers(seed).items():
            t0 = time.perf_counter()
            filled = imp.fit(Xtr_m).transform(Xte_m)
            times[name] += time.perf_counter() - t0
            row.append(float(np.sqrt(np.mean((filled[miss] - X_test[miss]) ** 2))))
        rows.append(row)
        print(f"| {seed} | " + " | ".join(f"{v:.4f}" for v in row) + " |", flush=True)
    mean = np.mean(rows, 0)
    print("| **mean** | " + " | ".join(f"**{v:.4f}**" for v in mean) + " |")
    print("| seconds | " + " | ".join(f"{times[k]:.0f}" for k in names) + " |")
    spec = table(["seed", *names], [[seed, *(f"{v:.4f}" for v in row)] for seed, row in zip(args.seeds, rows)]
                 + [["**mean**", *(f"**{v:.4f}**" for v in mean)]])
    figures = {"rmse": {name: [row[i] for row in rows] for i, name in enumerate(names)},
               "mean_rmse": dict(zip(names, mean.tolist())), "seconds": times, "seeds": args.seeds}
    write_record(
        name_for("impute", parser, args, ignore=("threads",)), figures, started=clock, args=args, split="test",
        tables={"main": spec},
        baselines={"mean": "scikit-learn SimpleImputer(strategy='mean')", "KNN": "scikit-learn KNNImputer()",
                   "Iterative": "scikit-learn IterativeImputer(max_iter=10)"},
        notes=f"RMSE on the digits test entries hidden completely at random ({args.rate:.0%})",
    )


if __name__ == "__main__":
    main()
