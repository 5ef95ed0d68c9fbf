"""bf16 autocast against float32: the final losses on the speed benchmark's model (T1) and on digits.

Each pair trains the same model from the same seed on the same data, once in
float32 (``amp=False``) and once with bf16 autocast (``amp=True``; the
weights stay float32), and prints the final training loss and the held-out
loss of both, with the relative difference. The target is 1%.

- T1: the MLP VAE of ``benchmarks/speed.py`` (784-512-256-16, Bernoulli), on
  ``--n`` MNIST-like rows (held out: 10,000 more from another seed),
  ``--epochs`` epochs;
- digits: latentlab's default VAE and AE (latent 8) on the digits split, 60 epochs.

    python benchmarks/amp_loss.py [--n 20000] [--epochs 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _data import mnist_like  # noqa: E402
from _record import markdown, name_for, start, table, write_record  # noqa: E402
from speed import BATCH, HIDDEN, LATENT, LR, cpu_description  # noqa: E402

import latentlab  # noqa: E402


def _held_out(model, X) -> float:
    """The held-out negative ELBO per sample (variational models) or reconstruction MSE, in the data's units."""
    if hasattr(model, "elbo"):
        return float(-model.elbo(X).mean())
    return float(((model.reconstruct(X) - X) ** 2).mean())


def _pair(make, X, X_test, **fit):
    out = {}
    for amp in (False, True):
        torch.manual_seed(0)
        model = make()
        model.fit(X, amp=amp, seed=0, verbose=False, **fit)
        out[amp] = (model.history[-1]["loss"], _held_out(model, X_test))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    clock = start()
    print(cpu_description())
    T1, T1_test = mnist_like(args.n, seed=0), mnist_like(10_000, seed=1)
    Xtr, Xte, _, _ = latentlab.load_digits(split=True)
    t1 = f"T1 VAE (784-512-256-16, {args.n:,} rows, {args.epochs} epochs)"
    rows = {
        t1: _pair(
            lambda: latentlab.VAE(input_shape=(784,), latent_dim=LATENT, hidden=HIDDEN, likelihood="bernoulli",
                                  activation="relu"),
            T1, T1_test, epochs=args.epochs, batch_size=BATCH, lr=LR, patience=None),
        "digits VAE (default, latent 8, 60 epochs)": _pair(lambda: latentlab.VAE(latent_dim=8), Xtr, Xte, epochs=60),
        "digits AE (default, latent 8, 60 epochs)": _pair(
            lambda: latentlab.Autoencoder(latent_dim=8), Xtr, Xte, epochs=60),
    }

    def diff(a: float, b: float) -> str:
        return f"{100 * (b - a) / abs(a):+.2f}%"

    cells = []
    for name, r in rows.items():
        (l32, s32), (l16, s16) = r[False], r[True]
        cells.append([name, f"{l32:.5g}", f"{l16:.5g}", diff(l32, l16), f"{s32:.5g}", f"{s16:.5g}", diff(s32, s16)])
    spec = table(["model", "final training loss, float32", "bf16 autocast", "difference",
                  "held-out -ELBO (VAE) or MSE (AE), float32", "bf16", "difference"], cells)
    print()
    print(markdown(spec))
    figures = {name: {"float32": {"train_loss": r[False][0], "held_out": r[False][1]},
                      "bf16": {"train_loss": r[True][0], "held_out": r[True][1]}} for name, r in rows.items()}
    write_record(name_for("amp_loss", parser, args), figures, started=clock, args=args, split="held-out rows",
                 tables={"main": spec}, baselines={"float32": "the same model, seed and data with amp=False"},
                 notes="bf16 autocast (amp=True) against float32; the target is a difference within 1%")


if __name__ == "__main__":
    main()
