"""How the outlier detector's step rule was chosen: its mean ROC-AUC at 600, 300 and 200 steps, development splits only.

``epochs='auto'`` aims at about ``TARGET_STEPS`` optimiser steps of 64 rows.
This script fits the default detector with the epochs each rule gives (all
other settings at their defaults) on the development splits (seeds 1000 on;
the reported splits are 0-9) of every set of ``benchmarks/tabular_anomaly.py``
and prints the mean ROC-AUC and the CPU seconds of each rule.

    python benchmarks/tabular_anomaly_steps.py --splits 5
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings

import numpy as np
import torch
from _record import markdown, name_for, start, table, write_record
from sklearn.metrics import roc_auc_score
from tabular_anomaly import SETS, cpu_model, split

import latentlab

RULES = {"600 steps, <= 100 epochs": (600, 100), "300 steps, <= 50 epochs": (300, 50), "200 steps, <= 40 epochs": (200, 40)}


def epochs_for(n_rows: int, steps: int, cap: int) -> int:
    per_epoch = max(1, math.ceil(0.9 * n_rows / 64))
    return int(min(cap, max(10, math.ceil(steps / per_epoch))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    clock = start()
    if args.seed < 1000:
        parser.error("--seed below 1000 would choose on the reported splits")
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    warnings.filterwarnings("ignore")
    print(f"CPU: {cpu_model()}; torch threads: 1; development splits {args.seed}..{args.seed + args.splits - 1}")
    roc = {k: {} for k in RULES}
    cpu = dict.fromkeys(RULES, 0.0)
    for name, make in SETS.items():
        for seed in range(args.seed, args.seed + args.splits):
            tr, te, y = split(*make(seed), seed)
            for rule, (steps, cap) in RULES.items():
                t = time.process_time()
                det = latentlab.AutoencoderOutlierDetector(random_state=seed, epochs=epochs_for(len(tr), steps, cap))
                scores = -det.fit(tr).score_samples(te)
                cpu[rule] += time.process_time() - t
                roc[rule].setdefault(name, []).append(roc_auc_score(y, scores))
        print(f"{name:12s} " + "  ".join(f"{np.mean(roc[r][name]):.4f}" for r in RULES), flush=True)
    mean = {rule: float(np.mean([np.mean(v) for v in roc[rule].values()])) for rule in RULES}
    spec = table(["rule", "mean ROC-AUC over the sets", "CPU s in all"],
                 [[rule, f"{mean[rule]:.4f}", f"{cpu[rule]:.1f}"] for rule in RULES])
    print("\n" + markdown(spec))
    write_record(
        name_for("tabular_anomaly_steps", parser, args), {"roc_auc": roc, "mean_roc_auc": mean, "cpu_s": cpu},
        started=clock, args=args, split=f"development splits {args.seed}..{args.seed + args.splits - 1}",
        tables={"main": spec}, notes="the default outlier detector with the epochs each step rule gives",
    )


if __name__ == "__main__":
    main()
