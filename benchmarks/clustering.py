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

import latentlab
from latentlab.apps.clustering import cluster, cluster_codes, cluster_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--latent-dim", type=int, default=4)
    parser.add_argument("--protocol", choices=["all", "held-out"], default="all")
    parser.add_argument("--betas", type=float, nargs="+", default=[1.0, 0.5], help="VAE KL weights to compare")
    args = parser.parse_args()
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
    print("| method | ARI | NMI |\n| --- | --- | --- |")
    for name, scores in rows.items():
        ari = np.array([s["ari"] for s in scores])
        nmi = np.array([s["nmi"] for s in scores])
        print(f"| {name} | {ari.mean():.3f} ± {ari.std():.3f} | {nmi.mean():.3f} ± {nmi.std():.3f} |")


if __name__ == "__main__":
    main()
