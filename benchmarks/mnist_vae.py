"""Test NLL of an MLP VAE on binarised MNIST, estimated by importance sampling (Burda et al. 2016).

    .venv/bin/python benchmarks/mnist_vae.py --download          # fetch MNIST into the cache, then run
    .venv/bin/python benchmarks/mnist_vae.py --root DIR          # DIR/mnist holds the four IDX .gz files
    .venv/bin/python benchmarks/mnist_vae.py --fake 64 --epochs 2 --k 16 --batch-size 16   # tiny fake data (CI)

Model: 784-400-40 encoder, 40-400-784 decoder, ReLU, Bernoulli likelihood,
Adam (lr 1e-3), batch 100, early stopping on 10% of the training set. The
images are binarised once by sampling each pixel (seed 0). The test NLL is

    -log p(x) ~= -log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x),  z_k ~ q(z | x),  K = 5000

Published figures for this setting are about 89-90 nats for a VAE trained on
the ELBO, and about 86.8 nats for an IWAE trained with k = 50. Expect the
VAE figure here after a few hundred epochs (a GPU helps; see docs/performance.md).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when a test loads this file by its path
from _record import name_for, start, table, write_record  # noqa: E402

import latentlab  # noqa: E402
from latentlab.data import loaders  # noqa: E402
from latentlab.data.idx import write_idx  # noqa: E402


@torch.no_grad()
def importance_sampled_nll(model, x: np.ndarray, k: int, batch: int = 100, chunk: int = 500, seed: int = 0):
    """Mean ``-log p(x)`` (K-sample importance estimate) and mean negative ELBO, in nats."""
    model.eval()
    dev = model.device
    gen = torch.Generator(device=dev).manual_seed(seed)
    nll, neg_elbo = [], []
    for i in range(0, len(x), batch):
        xb = torch.from_numpy(x[i : i + batch]).to(dev)  # (B, 784)
        q = model.posterior(xb)
        logw = []
        for j in range(0, k, chunk):
            s = min(chunk, k - j)
            eps = torch.randn((s, *q.mean.shape), generator=gen, device=dev)
            z = q.mean + q.std * eps  # (S, B, L)
            logits = model.decode_params(z.reshape(-1, z.shape[-1]))  # (S*B, 784)
            log_px = -model.likelihood.nll(logits, xb.repeat(s, 1)).reshape(s, -1)  # (S, B)
            log_pz = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)
            log_qz = -0.5 * (eps.pow(2) + math.log(2 * math.pi) + q.logvar).sum(-1)
            logw.append(log_px + log_pz - log_qz)
        logw = torch.cat(logw)  # (K, B)
        nll.append(-(torch.logsumexp(logw, 0) - math.log(k)))
        neg_elbo.append(-logw.mean(0))
    return float(torch.cat(nll).mean()), float(torch.cat(neg_elbo).mean())


def fake_mnist(root: Path, n: int, seed: int = 0) -> None:
    """Write ``n`` train and ``n // 4`` test fake digits as MNIST IDX files under ``root/mnist``."""
    rng = np.random.default_rng(seed)
    folder = root / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, m in (("train", n), ("t10k", max(n // 4, 2))):
        yy, xx = np.mgrid[:28, :28]
        imgs = np.stack([((xx - rng.integers(8, 20)) ** 2 + (yy - rng.integers(8, 20)) ** 2 < 40) * 255 for _ in range(m)])
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", imgs.astype(np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, m).astype(np.uint8))


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=None, help="data cache (default $LATENTLAB_DATA or ~/.cache/latentlab)")
    p.add_argument("--download", action="store_true", help="fetch MNIST first (checksums are verified)")
    p.add_argument("--fake", type=int, default=0, metavar="N", help="use N fake training digits (a smoke test)")
    p.add_argument("--epochs", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--k", type=int, default=5000, help="importance samples per test image")
    p.add_argument("--n-test", type=int, default=None, help="evaluate on the first N test images only")
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    clock = start()

    tmp = None
    root = args.root
    if args.fake:
        tmp = tempfile.TemporaryDirectory(prefix="latentlab-fake-mnist-")
        root = tmp.name
        fake_mnist(Path(root), args.fake)
        from latentlab.data import downloads  # pin the fake files so that the real loader checks them

        folder = Path(root) / "mnist"
        downloads.DATASETS["mnist"] = tuple(
            downloads.RemoteFile(r.name, r.urls, sha256=downloads.file_digest(folder / r.name))
            for r in downloads.DATASETS["mnist"]
        )
    X, _ = loaders.load_mnist("train", root=root, download=args.download)
    Xt, _ = loaders.load_mnist("test", root=root, download=args.download)
    rng = np.random.default_rng(0)
    binarise = lambda a: (rng.random(a.shape) < a).astype(np.float32).reshape(len(a), -1)  # noqa: E731
    X, Xt = binarise(X), binarise(Xt)[: args.n_test]

    vae = latentlab.VAE(latent_dim=40, hidden=(400,), likelihood="bernoulli", scaling="none")
    t0 = time.perf_counter()
    vae.fit(X, epochs=args.epochs, batch_size=args.batch_size, lr=1e-3, lr_schedule="none", patience=50,
            validation_split=0.1, device=args.device, verbose=not args.fake, seed=0)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nll, neg_elbo = importance_sampled_nll(vae, Xt, args.k)
    eval_s = time.perf_counter() - t0
    result = {"nll": nll, "neg_elbo": neg_elbo, "epochs": len(vae.history), "n_train": len(X), "n_test": len(Xt),
              "k": args.k, "train_s": train_s, "eval_s": eval_s, "device": str(vae.device)}
    print("| data | epochs | test -ELBO (nats) | test NLL, K-sample IS (nats) | K | train | eval | device |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    print(f"| {'fake' if args.fake else 'MNIST'} {len(X)}/{len(Xt)} | {result['epochs']} | {neg_elbo:.2f} | {nll:.2f} "
          f"| {args.k} | {train_s:.0f} s | {eval_s:.0f} s | {result['device']} |")
    print("reference: VAE ~89-90 nats, IWAE (k=50) ~86.8 nats (Burda et al. 2016)")
    if tmp is not None:
        tmp.cleanup()
        print("(fake data: no record written)")
    else:
        spec = table(["data", "epochs", "test -ELBO (nats)", "test NLL, K-sample IS (nats)", "K", "train", "eval",
                      "device"],
                     [[f"MNIST {len(X)}/{len(Xt)}", result["epochs"], f"{neg_elbo:.2f}", f"{nll:.2f}", args.k,
                       f"{train_s:.0f} s", f"{eval_s:.0f} s", result["device"]]],
                     align=["l", "r", "r", "r", "r", "r", "r", "l"])
        write_record(name_for("mnist_vae", p, args, ignore=("root", "download", "device")), result, started=clock,
                     args=args, split="test" if args.n_test is None else f"the first {len(Xt)} test images",
                     tables={"main": spec},
                     baselines={"published VAE": "about 89-90 nats", "published IWAE (k=50)": "about 86.8 nats"})
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
