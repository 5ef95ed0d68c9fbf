"""Clustering digits: k-means and a Gaussian mixture on VAE codes against k-means on the raw pixels.

The usual protocol of clustering papers (``--protocol all``, the default): the
VAE (latentlab's defaults, ``latent_dim`` 4) trains on all 1797 digits without
their labels, and every method clusters those same 1797 samples into 10
clusters. With ``--protocol held-out`` the VAE trains on 75% of digits
(``latentlab.load_digits(split=True)``) and every method clusters the other
450 samples. Clusterings are scored against the true digits with the adjusted
Rand index (ARI) and normalised mutual information (NMI). The baseline is
scikit-learn's KMeans on the 64 raw pixels (n_init=10), in the same run. Each
row is the mean and spread over ``--seeds`` (VAE training seed and clustering
seed together). The Gaussian mixture has full covariances and 10 restarts;
codes are clustered as ``encode`` returns them (posterior means, unscaled).

    python benchmarks/clustering.py [--seeds 5] [--latent-dim 4] [--betas 1 0.5] [--protocol all|held-out]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _record import markdown, name_for, start, table, write_record

import latentlab
from latentlab.apps.clustering import cluster, cluster_codes, cluster_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--latent-dim", type=int, default=4)
    parser.add_argument("--protocol", choices=["all", "held-out"], default="all")
    parser.add_argument("--betas", type=float, nargs="+", default=[1.0, 0.5], help="VAE KL weights to compare")
    args = parser.parse_args()
    clock = start()
    torch.set_num_threads(1)
    if args.protocol == "all":
        X_train, y_test = latentlab.load_digits()
        X_test = X_train
    else:
        X_train, X_test, _, y_test = latentlab.load_digits(split=True)
    raw = "k-means on raw pixels (64 dims)"
    rows: dict[str, list[dict[str, float]]] = {raw: []}
    for seed in range(args.seeds):
        rows[raw].append(cluster_scores(y_test, cluster(X_test, 10, "kmeans", seed=seed).labels))
        for beta in args.betas:
            vae = latentlab.VAE(latent_dim=args.latent_dim, beta=beta).fit(X_train, verbose=False, seed=seed)
            for method, name in (("kmeans", "k-means"), ("gmm", "Gaussian mixture")):
                key = f"{name} on VAE codes ({args.latent_dim} dims, beta {beta:g})"
                rows.setdefault(key, []).append(
                    cluster_scores(y_test, cluster_codes(vae, X_test, 10, method, seed=seed).labels)
                )
    which = "all" if args.protocol == "all" else "held-out"
    print(f"digits, 10 clusters of {which} {len(X_test)} samples; mean ± std over {args.seeds} seeds")
    figures = {
        name: {m: {"per_seed": [s[m] for s in scores], "mean": float(np.mean([s[m] for s in scores])),
                   "std": float(np.std([s[m] for s in scores]))} for m in ("ari", "nmi")}
        for name, scores in rows.items()
    }
    best = {m: f"{max(f[m]['mean'] for f in figures.values()):.3f}" for m in ("ari", "nmi")}

    def cell(f: dict, m: str) -> str:  # bold: every mean that shows as the best one
        text = f"{f[m]['mean']:.3f} ± {f[m]['std']:.3f}"
        return f"**{text}**" if f"{f[m]['mean']:.3f}" == best[m] else text

    spec = table(["method", "ARI", "NMI"], [[name, cell(f, "ari"), cell(f, "nmi")] for name, f in figures.items()])
    print(markdown(spec))
    write_record(
        name_for("clustering", parser, args), figures, started=clock, args=args, tables={"main": spec},
        split="all 1797 digits (the VAE trains on the samples it clusters)" if args.protocol == "all"
        else "the 450 held-out digits of load_digits(split=True)",
        baselines={raw: "scikit-learn KMeans(10, n_init=10) on the raw pixels, same seeds"},
        notes="mean ± std over seeds of the adjusted Rand index and NMI against the true digits (bold: best)",
    )


if __name__ == "__main__":
    main()
