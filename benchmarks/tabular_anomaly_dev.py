"""How the outlier detector's score defaults were chosen: every part on the development splits, then a weight grid.

For each set of ``benchmarks/tabular_anomaly.py`` and each development split
(seeds 1000 on, never the reported ones), and for each column transform, one
``AutoencoderOutlierDetector`` is fitted and its raw parts kept for the
training and test rows: reconstruction error (plain and with inverse
per-feature weights), latent k-NN distance, input-space k-NN distance and an
IsolationForest score. Every combination of weights is then scored offline;
the grid is ranked by mean ROC-AUC over the whole collection (each set
counts once), and by the mean of its leave-one-set-out ranks.

    python benchmarks/tabular_anomaly_dev.py --splits 3
"""

from __future__ import annotations

import argparse
import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from _record import markdown, name_for, start, table, write_record
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from tabular_anomaly import SETS, cpu_model, split

import latentlab

TRANSFORMS = ("standard", "robust", "power", "quantile", "minmax")


def raw_parts(tr, te, seed, preprocessing):
    # scoring='combined' keeps every part (the latent k-NN distance too), whatever the default mixes
    det = latentlab.AutoencoderOutlierDetector(random_state=seed, preprocessing=preprocessing,
                                               scoring="combined").fit(tr)
    out = {}
    for which, X in (("train", tr), ("test", te)):
        Xp = det._transform(X)
        parts = det._raw_parts(Xp)
        Z, E = det._codes_and_errors(det.model_, Xp)
        out[which] = {
            "reconstruction": parts["reconstruction"],
            "weighted": E.astype(np.float64) @ _inverse_weights(det, tr),
            "latent": parts["latent"],
            "knn": parts["classical"],
            "iforest": -IsolationForest(random_state=seed).fit(det._transform(tr)).score_samples(Xp),
        }
    return out


def _inverse_weights(det, tr):
    _, E = det._codes_and_errors(det.model_, det._transform(tr))
    m = E.mean(0).astype(np.float64)
    w = 1.0 / (m + 0.05 * m.mean() + 1e-12)
    return w / w.mean()


def combine(p, weights):
    total = 0.0
    for name, w in weights.items():
        if w:
            v, ref = p["test"][name], p["train"][name]
            spread = ref.std() if ref.std() > 1e-12 else 1.0
            total = total + w * (v - np.median(ref)) / spread
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--transforms", nargs="+", default=list(TRANSFORMS))
    parser.add_argument("--cache", nargs="+", default=None,
                        help="JSON of raw parts to write (or, if they all exist, to read and merge)")
    args = parser.parse_args()
    clock = start()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    print(f"CPU: {cpu_model()}")
    if args.cache and all(Path(c).exists() for c in args.cache):
        cache = {}
        for c in args.cache:
            cache.update(json.loads(Path(c).read_text()))
    else:
        cache = {}
        for set_name in args.sets:
            for s in range(1000, 1000 + args.splits):
                X, is_out = SETS[set_name](s)
                tr, te, y = split(X, is_out, s)
                for t in args.transforms:
                    p = raw_parts(tr, te, s, t)
                    cache.setdefault(set_name, {}).setdefault(t, []).append(
                        {"y": y.tolist(), **{w: {k: v.tolist() for k, v in d.items()} for w, d in p.items()}})
            print(f"parts of {set_name} done", flush=True)
        if args.cache:
            Path(args.cache[0]).write_text(json.dumps(cache))
    grid = []
    for t, rec, lat, knn, ifo in itertools.product(
        TRANSFORMS, ["reconstruction", "weighted", "none"], [0, 0.5, 1], [0, 0.5, 1, 2, 4], [0, 1]
    ):
        if not all(t in cache[s] for s in cache):
            continue
        if rec == "none" and not (lat or knn or ifo):
            continue
        weights = {rec: 1.0, "latent": lat, "knn": knn, "iforest": ifo}
        weights.pop("none", None)
        per_set = []
        for by_t in cache.values():
            aucs = []
            for sp in by_t[t]:
                p = {w: {k: np.asarray(v) for k, v in sp[w].items()} for w in ("train", "test")}
                aucs.append(roc_auc_score(sp["y"], combine(p, weights)))
            per_set.append(np.mean(aucs))
        grid.append(((t, rec, lat, knn, ifo), per_set))
    sets = list(cache)
    means = np.array([np.mean(ps) for _, ps in grid])
    # leave one set out: rank of each setting by the mean over the other sets, averaged over the left-out sets
    loso = np.mean([np.argsort(np.argsort(-np.array([np.mean(np.delete(ps, i)) for _, ps in grid])))
                    for i in range(len(sets))], axis=0)
    order = np.argsort(-means)
    spec = table(["transform", "reconstruction", "latent", "knn", "iforest", "mean ROC-AUC", "mean LOSO rank", *sets],
                 [[*grid[i][0], f"{means[i]:.4f}", f"{loso[i]:.1f}", *(f"{v:.3f}" for v in grid[i][1])]
                  for i in order[:25]])
    print("\n" + markdown(spec))
    figures = {"sets": sets, "grid": [{"transform": t, "reconstruction": rec, "latent": lat, "knn": knn, "iforest": ifo,
                                       "per_set": ps, "mean": float(means[i]), "loso_rank": float(loso[i])}
                                      for i, ((t, rec, lat, knn, ifo), ps) in enumerate(grid)]}
    write_record(name_for("tabular_anomaly_dev", parser, args, ignore=("cache",)), figures, started=clock, args=args,
                 split=f"development splits 1000..{1000 + args.splits - 1}", tables={"top25": spec},
                 notes="the outlier detector's score parts combined offline; ranked by mean ROC-AUC over the sets")

if __name__ == "__main__":
    main()
