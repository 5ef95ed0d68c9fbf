"""Training speed: latentlab's trainer against a minimal hand-written PyTorch loop.

Data: 60,000 x 784 MNIST-shaped samples (digits upsampled to 28x28, small
shifts and noise). Model: MLP VAE 784-512-256-16-256-512-784, ReLU, sigmoid
output, Bernoulli likelihood, Adam, batch 128. Each contender runs one
warm-up epoch, then three timed epochs (the median is reported). Also prints achieved GFLOP/s against a
measured matrix-multiply peak on the same machine.

    python benchmarks/speed.py [--n 60000] [--compile]

``--compile`` adds a row with ``TrainConfig(compile=True)``, whose default
mode lets Inductor choose the matrix-multiply kernels for these shapes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from _data import mnist_like  # noqa: E402

import latentlab  # noqa: E402
from latentlab.training.trainer import TensorData, TrainConfig, Trainer  # noqa: E402

HIDDEN = (512, 256)
LATENT = 16
BATCH = 128
TIMED_EPOCHS = 3  # after one warm-up epoch; the median is reported


def flops_per_sample() -> float:
    """Multiply-adds of forward + backward (~3x forward) of the linear layers, times 2."""
    widths_enc = [784, *HIDDEN, 2 * LATENT]
    widths_dec = [LATENT, *HIDDEN[::-1], 784]
    macs = sum(a * b for a, b in zip(widths_enc[:-1], widths_enc[1:]))
    macs += sum(a * b for a, b in zip(widths_dec[:-1], widths_dec[1:]))
    return 2.0 * 3.0 * macs


def matmul_peak(seconds: float = 2.0) -> float:
    """GFLOP/s of a large float32 matrix multiply on this machine."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for _ in range(3):
        a @ b
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        n += 1
    return 2 * 1024**3 * n / (time.perf_counter() - t0) / 1e9


class HandVAE(nn.Module):
    """What a user writes by hand: sigmoid output and BCE, like the Keras/PyTorch examples."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 2 * LATENT)
        )
        self.dec = nn.Sequential(
            nn.Linear(LATENT, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 784), nn.Sigmoid()
        )

    def forward(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.dec(z), mu, logvar


def hand_written_epoch_rate(X: torch.Tensor) -> float:
    torch.manual_seed(0)
    model = HandVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X), batch_size=BATCH, shuffle=True)

    def epoch():
        for (x,) in loader:
            recon, mu, logvar = model(x)
            rec = F.binary_cross_entropy(recon, x, reduction="sum") / x.shape[0]
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / x.shape[0]
            loss = rec + kl
            opt.zero_grad()
            loss.backward()
            opt.step()

    epoch()  # warm-up
    times = []
    for _ in range(TIMED_EPOCHS):
        t0 = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t0)
    return len(X) / statistics.median(times)


def latentlab_epoch_rate(X: torch.Tensor, compile: bool) -> float:
    """Samples per second over the epochs after the first (which warms up and compiles); the median."""
    torch.manual_seed(0)
    model = latentlab.VAE(input_shape=(784,), latent_dim=LATENT, hidden=HIDDEN, likelihood="bernoulli")
    cfg = TrainConfig(
        epochs=1 + TIMED_EPOCHS, batch_size=BATCH, lr=1e-3, validation_split=0.0, patience=None, restore_best=False,
        lr_schedule="none", verbose=False, device="cpu", compile=compile,
    )
    history = Trainer(model, cfg).fit(TensorData(X))
    return len(X) / statistics.median(h["time"] for h in history[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60_000)
    parser.add_argument("--compile", action="store_true", help="also time latentlab with torch.compile")
    args = parser.parse_args()
    X = torch.from_numpy(mnist_like(args.n))
    peak = matmul_peak()
    f = flops_per_sample()
    rows = [("hand-written loop (DataLoader, Adam)", hand_written_epoch_rate(X))]
    rows.append(("latentlab Trainer", latentlab_epoch_rate(X, compile=False)))
    if args.compile:
        rows.append(("latentlab Trainer, compile=True", latentlab_epoch_rate(X, compile=True)))
    base = rows[0][1]
    print(f"threads {torch.get_num_threads()}, matmul peak {peak:.1f} GFLOP/s, {f / 1e6:.2f} MFLOP per sample")
    print(f"{'contender':40s} {'samples/s':>10s} {'speed-up':>9s} {'GFLOP/s':>8s} {'% peak':>7s}")
    for name, rate in rows:
        g = rate * f / 1e9
        print(f"{name:40s} {rate:10.0f} {rate / base:8.2f}x {g:8.1f} {100 * g / peak:6.1f}%")


if __name__ == "__main__":
    main()
