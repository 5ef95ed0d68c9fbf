"""Training speed: latentlab's trainer against the strongest simple hand-written PyTorch loops.

Data: 60,000 x 784 MNIST-shaped samples (digits upsampled to 28x28, small
shifts and noise; no download). Model: the same MLP VAE for everyone,
784-512-256-16-256-512-784, ReLU, Bernoulli likelihood (BCE on logits), Adam
lr 1e-3, batch 128.

Contenders, each training ``--epochs`` epochs from a fresh model, compared
epoch by epoch, over ``--rounds`` interleaved rounds (every contender runs
once per round, in turn, so that a slow spell of the machine hits everyone):

- the hand-written loop: a shuffled permutation indexes the data tensor (no
  ``DataLoader``), with default Adam, with fused Adam, with ``torch.compile``
  plus fused Adam, and with ``torch.compile`` + fused Adam + bf16 autocast;
- PyOD's VAE (``bench`` extra; its ``fit`` also scores the training data at
  the end, which is counted) and pythae (skipped with a note when missing);
- latentlab in every mode: float32 eager, ``amp=True``, ``compile=True``,
  ``compile=True, amp=True``, and the default (``amp='auto'``).

Printed: the CPU model and its bf16 flags, the threads, the float32 and
bfloat16 matrix-multiply peaks, then samples/s of the first epoch (which
includes compilation) and of the later epochs (median of epochs 2..E), as the
range over rounds, and the ratio to the two reference loops.

    python benchmarks/speed.py [--n 60000] [--epochs 3] [--rounds 2] [--only NAME,...] [--sustained S]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from _data import mnist_like  # noqa: E402
from _record import markdown, name_for, start, table, write_record  # noqa: E402

import latentlab  # noqa: E402
from latentlab.training import device as devices  # noqa: E402
from latentlab.training.trainer import TensorData, TrainConfig, Trainer  # noqa: E402

HIDDEN = (512, 256)
LATENT = 16
BATCH = 128
LR = 1e-3


def cpu_description() -> str:
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("", "unknown CPU", platform.processor()):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    bf16 = sorted(f for f in flags if f in ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f"))
    return f"{model}; {', '.join(bf16) or 'no AVX-512/AMX flags'}"


def matmul_peak(dtype: torch.dtype, seconds: float = 1.5) -> float:
    """GFLOP/s of a 1024x1024 matrix multiply in ``dtype`` on this machine."""
    a, b = torch.randn(1024, 1024, dtype=dtype), torch.randn(1024, 1024, dtype=dtype)
    for _ in range(3):
        a @ b
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        n += 1
    return 2 * 1024**3 * n / (time.perf_counter() - t0) / 1e9


class HandVAE(nn.Module):
    """What a user writes by hand; BCE on logits, as latentlab's Bernoulli likelihood computes it."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                                 nn.Linear(256, 2 * LATENT))
        self.dec = nn.Sequential(nn.Linear(LATENT, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(),
                                 nn.Linear(512, 784))

    def forward(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.dec(z)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / x.shape[0]
        return rec + kl


def hand_loop(X: torch.Tensor, epochs: int, fused: bool, compiled: bool, amp: bool = False) -> list[float]:
    """Seconds per epoch of the permutation-indexed loop."""
    torch.manual_seed(0)
    model = HandVAE()
    opt = torch.optim.Adam(model.parameters(), lr=LR, fused=True) if fused else torch.optim.Adam(
        model.parameters(), lr=LR)
    step_loss = torch.compile(model) if compiled else model
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(X))
        for i in range(0, len(X) - BATCH + 1, BATCH):
            x = X[perm[i:i + BATCH]]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
                loss = step_loss(x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return times


def latentlab_loop(X: torch.Tensor, epochs: int, **options) -> list[float]:
    torch.manual_seed(0)
    model = latentlab.VAE(input_shape=(784,), latent_dim=LATENT, hidden=HIDDEN, likelihood="bernoulli",
                          activation="relu")
    cfg = TrainConfig(epochs=epochs, batch_size=BATCH, lr=LR, validation_split=0.0, patience=None,
                      restore_best=False, lr_schedule="none", verbose=False, device="cpu", **options)
    trainer = Trainer(model, cfg)
    history = trainer.fit(TensorData(X))
    return [h["time"] for h in history]


def pyod_loop(X: torch.Tensor, epochs: int) -> list[float]:
    from pyod.models.vae import VAE as PyODVAE

    det = PyODVAE(encoder_neuron_list=list(HIDDEN), decoder_neuron_list=list(HIDDEN[::-1]), latent_dim=LATENT,
                  epoch_num=epochs, batch_size=BATCH, lr=LR, dropout_rate=0.0, preprocessing=False, verbose=0,
                  device="cpu", optimizer_params={"weight_decay": 0.0})
    t0 = time.perf_counter()
    det.fit(X.numpy())
    return [(time.perf_counter() - t0) / epochs] * epochs  # PyOD reports no per-epoch times


def sustained_matmul(seconds: int) -> list[float]:
    """float32 1024^3 matmul GFLOP/s in each second of a ``seconds``-long busy spell (is the machine's speed
    steady under load, or does it fall after a while, as turbo budgets and shared hosts make it?)."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    rates = []
    for _ in range(seconds):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 1.0:
            a @ b
            n += 1
        rates.append(2 * 1024**3 * n / (time.perf_counter() - t0) / 1e9)
    return rates


def contenders(args) -> dict:
    table = {
        "hand loop, default Adam": lambda X: hand_loop(X, args.epochs, fused=False, compiled=False),
        "hand loop, fused Adam": lambda X: hand_loop(X, args.epochs, fused=True, compiled=False),
        "hand loop, compile + fused Adam": lambda X: hand_loop(X, args.epochs, fused=True, compiled=True),
        "hand loop, compile + fused + bf16 autocast": lambda X: hand_loop(
            X, args.epochs, fused=True, compiled=True, amp=True),
        "latentlab, float32 eager (amp=False)": lambda X: latentlab_loop(X, args.epochs, amp=False),
        "latentlab, amp=True": lambda X: latentlab_loop(X, args.epochs, amp=True),
        "latentlab, compile=True (float32)": lambda X: latentlab_loop(X, args.epochs, compile=True, amp=False),
        "latentlab, compile=True, amp=True": lambda X: latentlab_loop(X, args.epochs, compile=True, amp=True),
        "latentlab default (amp='auto')": lambda X: latentlab_loop(X, args.epochs),
        "latentlab default + compile=True": lambda X: latentlab_loop(X, args.epochs, compile=True),
    }
    try:
        import pyod  # noqa: F401

        table["PyOD VAE (whole fit / epochs)"] = lambda X: pyod_loop(X, args.epochs)
    except ImportError:
        print("note: PyOD is not installed (pip install -e '.[bench]'); its row is skipped")
    try:
        import pythae  # noqa: F401

        print("note: pythae is installed but its loop is not wired here")
    except ImportError:
        print("note: pythae is not installed; its row is skipped")
    if args.only:
        keep = [k.strip() for k in args.only.split(",")]
        table = {k: v for k, v in table.items() if any(s in k for s in keep)}
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default=None, help="comma-separated substrings of contender names")
    parser.add_argument("--sustained", type=int, default=0, metavar="S",
                        help="first print the matmul rate of each second of an S-second busy spell")
    args = parser.parse_args()
    clock = start()
    rates: list[float] = []
    if args.sustained:
        rates = sustained_matmul(args.sustained)
        print("sustained float32 matmul GFLOP/s, second by second: " + " ".join(f"{r:.0f}" for r in rates))
    X = torch.from_numpy(mnist_like(args.n))
    print(f"CPU: {cpu_description()}")
    print(f"bf16 matrix units (torch): {devices.cpu_has_bf16_units()}; threads {torch.get_num_threads()}; "
          f"torch {torch.__version__}")
    peaks = {"float32": matmul_peak(torch.float32), "bfloat16": matmul_peak(torch.bfloat16)}
    print(f"1024^3 matmul peak: float32 {peaks['float32']:.0f} GFLOP/s, bfloat16 {peaks['bfloat16']:.0f} GFLOP/s")
    table_ = contenders(args)
    first: dict[str, list[float]] = {k: [] for k in table_}
    later: dict[str, list[float]] = {k: [] for k in table_}
    for r in range(args.rounds):
        for name, run in table_.items():
            times = run(X)
            first[name].append(args.n / times[0])
            if len(times) > 1:
                later[name].append(args.n / statistics.median(times[1:]))
            print(f"  round {r + 1}: {name}: " + ", ".join(f"{args.n / t:,.0f}" for t in times), flush=True)

    def ref(name):
        return statistics.median(later[name] or first[name]) if name in later and later[name] else None

    base, best_hand = ref("hand loop, default Adam"), ref("hand loop, compile + fused Adam")
    print(f"\nsamples/s, {args.n:,} x 784, batch {BATCH}, {args.epochs} epochs from a fresh model, "
          f"{args.rounds} interleaved rounds (range over rounds)")
    print(f"{'contender':46s} {'epoch 1':>15s} {'epochs 2..E':>15s} {'vs default':>10s} {'vs compile':>10s}")
    cells = []
    for name in table_:
        f, lat = first[name], later[name] or first[name]
        med = statistics.median(lat)
        r1 = f"{med / base:.2f}x" if base else "-"
        r2 = f"{med / best_hand:.2f}x" if best_hand else "-"
        print(f"{name:46s} {min(f) / 1e3:6.1f}k-{max(f) / 1e3:5.1f}k {min(lat) / 1e3:6.1f}k-{max(lat) / 1e3:5.1f}k "
              f"{r1:>10s} {r2:>10s}")
        cells.append([name, f"{min(f) / 1e3:.1f}k-{max(f) / 1e3:.1f}k", f"{min(lat) / 1e3:.1f}k-{max(lat) / 1e3:.1f}k",
                      r1, r2])
    print("('vs default': the permutation-indexed loop with default Adam; 'vs compile': the same loop with "
          "torch.compile and fused Adam; ratios of the later-epoch medians)")
    spec = table(["contender", "epoch 1", f"epochs 2-{args.epochs}", "vs hand loop, default Adam",
                  "vs hand loop, compile + fused Adam"], cells, align=["l", "r", "r", "r", "r"])
    print("\n" + markdown(spec))
    figures = {"samples_per_s": {k: {"epoch_1": first[k], "later_median": later[k]} for k in table_},
               "matmul_gflops": peaks, "sustained_matmul_gflops": rates, "cpu": cpu_description(),
               "bf16_units": bool(devices.cpu_has_bf16_units()), "n": args.n, "batch": BATCH}
    write_record(name_for("speed", parser, args), figures, started=clock, args=args, tables={"main": spec},
                 baselines={k: "a hand-written loop of the same model" for k in table_ if k.startswith("hand loop")}
                 | {k: "the same model in PyOD" for k in table_ if k.startswith("PyOD")},
                 notes="training samples/s of one MLP VAE; ranges over interleaved rounds; ratios of later-epoch medians")

if __name__ == "__main__":
    main()
