"""Test reconstruction MSE on digits: latentlab's AE (defaults) against PCA and a hand-written loop.

Digits split with ``train_test_split(test_size=0.25, random_state=0)``, pixels
scaled by 1/16, MSE averaged over pixels of the test set. latentlab runs with
default settings and no tuning; targets are 0.028 at latent 2 and 0.0105 at
latent 8.

    python benchmarks/reconstruction.py [--latents 2 8] [--seeds 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _record import name_for, start, table, write_record
from sklearn.decomposition import PCA
from torch import nn

import latentlab

TARGETS = {2: 0.028, 8: 0.0105}


def pca_mse(Xtr, Xte, k):
    p = PCA(k).fit(Xtr)
    return float(np.mean((p.inverse_transform(p.transform(Xte)) - Xte) ** 2))


def hand_written_mse(Xtr, Xte, k, seed=0, epochs=100):
    """A plain PyTorch MLP autoencoder as a user would write it: 64-128-64-k, MSE, Adam."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, k),
        nn.Linear(k, 64), nn.ReLU(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.Sigmoid(),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    X = torch.from_numpy(Xtr)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X), batch_size=32, shuffle=True)
    for _ in range(epochs):
        for (x,) in loader:
            loss = nn.functional.mse_loss(model(x), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float(nn.functional.mse_loss(model(torch.from_numpy(Xte)), torch.from_numpy(Xte)))


def latentlab_mse(Xtr, Xte, k, seed=0):
    ae = latentlab.Autoencoder(latent_dim=k).fit(Xtr, seed=seed, verbose=False)
    return float(np.mean((ae.reconstruct(Xte) - Xte) ** 2)), len(ae.history)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latents", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    clock = start()
    Xtr, Xte, _, _ = latentlab.load_digits(split=True)
    print(f"{'latent':>6s} {'PCA':>8s} {'hand-written':>13s} {'latentlab':>10s} {'target':>7s} {'met':>4s} {'epochs':>6s} {'fit s':>6s}")
    rows = []
    for k in args.latents:
        for seed in args.seeds:
            t0 = time.perf_counter()
            ours, epochs = latentlab_mse(Xtr, Xte, k, seed)
            secs = time.perf_counter() - t0
            target = TARGETS.get(k, float("nan"))
            pca, hand = pca_mse(Xtr, Xte, k), hand_written_mse(Xtr, Xte, k, seed)
            rows.append(dict(latent=k, seed=seed, pca=pca, hand_written=hand, latentlab=ours, target=target,
                             met=bool(ours <= target), epochs=epochs, fit_s=secs))
            print(
                f"{k:6d} {pca:8.4f} {hand:13.4f} {ours:10.4f} "
                f"{target:7.4f} {'yes' if ours <= target else 'no':>4s} {epochs:6d} {secs:6.1f}",
                flush=True,
            )
    spec = table(["latent", "seed", "PCA", "hand-written MLP AE", "latentlab AE (defaults)", "target", "met"],
                 [[r["latent"], r["seed"], f"{r['pca']:.4f}", f"{r['hand_written']:.4f}", f"{r['latentlab']:.4f}",
                   f"{r['target']:.4f}", "yes" if r["met"] else "no"] for r in rows],
                 align=["r", "r", "r", "r", "r", "r", "l"])
    write_record(name_for("reconstruction", parser, args), {"rows": rows}, started=clock, args=args, split="test",
                 tables={"main": spec},
                 baselines={"PCA": "scikit-learn PCA with as many components as latent dimensions",
                            "hand-written MLP AE": "a plain PyTorch 64-128-64-k autoencoder, MSE, Adam, 100 epochs"},
                 notes="digits test MSE per pixel (train_test_split(test_size=0.25, random_state=0), pixels / 16)")

if __name__ == "__main__":
    main()
