"""FactorVAE diagnostics on the tuning shapes (seed 100): is its discriminator's TC penalty working?

Trains models with the recipe of ``benchmarks/disentanglement.py`` on the
tuning seed's shapes (never the reported seeds) and prints, per epoch, the
discriminator's loss, its accuracy on real against permuted codes and the TC
estimate (its mean logit on q(z)); then, on 5,000 held-out shapes, three
measures of the total correlation of the sampled codes, so that the
discriminator is not checked only against itself:

- ``own D``: the trained discriminator's mean logit and its accuracy;
- ``probe D``: a fresh discriminator (3 x 512, leaky ReLU 0.2, Adam 1e-4,
  betas (0.5, 0.9)) trained for 3,000 steps of 256 on 4,000 of the codes, the
  real and the permuted batches drawn independently as in Kim & Mnih's code,
  scored on the other 1,000;
- ``Gaussian TC``: ``(sum_d log var_d - log det cov) / 2`` of the codes, the
  exact TC were they Gaussian.

    python benchmarks/factorvae_diagnostics.py                       # every model below
    python benchmarks/factorvae_diagnostics.py --epochs 3 --n-train 8000
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from _record import name_for, start, table, write_record
from torch import nn

import latentlab
from latentlab.apps.disentanglement import mig
from latentlab.models.factorvae import discriminator_loss, permute_dims

COMMON = dict(latent_dim=10, hidden=(256, 128), likelihood="bernoulli", scaling="none")
FIT = dict(batch_size=64, lr=2e-3, patience=None, restore_best=False, validation_split=0.0, lr_schedule="none")
MODELS = {
    "factorvae (gamma 30)": lambda: latentlab.FactorVAE(gamma=30.0, disc_lr=1e-3, **COMMON),
    "factorvae (gamma 30, disc_lr 1e-4)": lambda: latentlab.FactorVAE(gamma=30.0, disc_lr=1e-4, **COMMON),
    "factorvae (gamma 0)": lambda: latentlab.FactorVAE(gamma=0.0, disc_lr=1e-3, **COMMON),
    "btcvae (beta 6, mss, anneal)": lambda: latentlab.BetaTCVAE(
        beta=6.0, estimator="mss", kl_anneal="linear", kl_anneal_epochs=7, **COMMON
    ),
}


def gaussian_tc(z: np.ndarray) -> float:
    c = np.cov(z.T)
    return float(0.5 * (np.log(np.diag(c)).sum() - np.linalg.slogdet(c)[1]))


def probe_tc(z: np.ndarray, seed: int = 0, steps: int = 3000) -> tuple[float, float]:
    """A fresh discriminator's mean logit on held-out codes and its balanced accuracy."""
    g = torch.Generator().manual_seed(seed)
    z = torch.as_tensor(z, dtype=torch.float32)
    tr, te = z[: len(z) * 4 // 5], z[len(z) * 4 // 5 :]
    torch.manual_seed(seed)
    width = 512
    D = nn.Sequential(nn.Linear(z.shape[1], width), nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2),
                      nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))
    opt = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.9))
    for _ in range(steps):
        i, j = torch.randint(len(tr), (256,), generator=g), torch.randint(len(tr), (256,), generator=g)
        loss = discriminator_loss(D(tr[i]).squeeze(1), D(permute_dims(tr[j], g)).squeeze(1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        lj, lp = D(te).squeeze(1), D(permute_dims(te, g)).squeeze(1)
    return float(lj.mean()), float(((lj > 0).float().mean() + (lp <= 0).float().mean()) / 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--n-train", type=int, default=32_000)
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    clock = start()
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from disentanglement import cpu_model  # the sibling benchmark (run from benchmarks/ or as a script)

    print(f"CPU: {cpu_model()}; torch {torch.__version__}, 1 thread; CPU seconds are process time (shared machine)")
    train = latentlab.load_shapes(args.n_train, size=32, seed=100)
    test = latentlab.load_shapes(5000, size=32, seed=10_100)
    rows = []
    for name, make in MODELS.items():
        if args.only and name not in args.only:
            continue
        torch.manual_seed(100)
        model = make()
        t0 = time.process_time()
        model.fit(train.flat(), epochs=args.epochs, seed=100, verbose=False, **FIT)
        cpu = time.process_time() - t0
        print(f"== {name}: {cpu:.0f} CPU s")
        for e, h in enumerate(model.history):
            keys = ("reconstruction", "kl", "tc", "discriminator_loss", "discriminator_accuracy")
            print(f"  epoch {e:2d} " + " ".join(f"{k} {h[k]:.3f}" for k in keys if k in h))
        with torch.no_grad():
            zs = model.posterior(torch.as_tensor(test.flat()), None).rsample()
        own = "-"
        if hasattr(model, "discriminator"):
            with torch.no_grad():
                lj, lp = model.discriminator(zs).squeeze(1), model.discriminator(permute_dims(zs)).squeeze(1)
            acc = float(((lj > 0).float().mean() + (lp <= 0).float().mean()) / 2)
            own = f"{float(lj.mean()):.3f} / {acc:.3f}"
        ptc, pacc = probe_tc(zs.numpy())
        Z = model.encode(test.flat())
        rows.append((name, own, f"{ptc:.3f} / {pacc:.3f}", gaussian_tc(zs.numpy()), mig(Z, test.factors),
                     int((Z.var(0) > 0.01).sum())))
        print(f"  {rows[-1]}", flush=True)
    print(f"\n{'model':<30}{'own D tc / acc':>18}{'probe D tc / acc':>20}{'Gaussian TC':>13}{'MIG':>8}{'active':>8}")
    for name, own, probe, gtc, m, act in rows:
        print(f"{name:<30}{own:>18}{probe:>20}{gtc:>13.3f}{m:>8.3f}{act:>8d}")
    spec = table(["model", "own D: TC estimate / accuracy", "probe D TC / accuracy", "Gaussian TC", "MIG (5,000 shapes)",
                  "active units"], [[n, own, probe, f"{g:.3f}", f"{m:.3f}", act] for n, own, probe, g, m, act in rows])
    keys = ("model", "own_d", "probe_d", "gaussian_tc", "mig", "active")
    write_record(name_for("factorvae_diagnostics", ap, args), {"models": [dict(zip(keys, r, strict=True)) for r in rows]},
                 started=clock, args=args, split="tuning seed 100 (held-out shapes of seed 10,100)", tables={"main": spec},
                 notes="is factorvae's discriminator TC penalty working? three measures of the codes' total correlation")


if __name__ == "__main__":
    main()
