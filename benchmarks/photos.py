"""Denoising photographs: latentlab.ImageDenoiser against TV, NL-means and BM3D, in one run.

Grey photographs that ship with scikit-image (only the project's list), split
by photo: the denoiser trains on random patches of TRAIN, TV's weight and
NL-means' ``h`` are tuned on crops of TRAIN, and every method is scored once
on the held-out TEST photos with Gaussian noise of sigma 25/255 and 50/255
(not clipped; a fixed seed per photo). PSNR (dB) and SSIM are on [0, 1].

Training is limited by process CPU seconds (``time.process_time``, every
thread of the process; :class:`latentlab.training.budget.CPUBudget`), which
does not count the other jobs of a shared machine. The trained models are
saved under ``runs/photos/`` (git-ignored); ``--reuse`` scores them again
without training.

    OMP_NUM_THREADS=1 python benchmarks/photos.py --budget 300    # train (300 CPU s per level) and score
    python benchmarks/photos.py --reuse                           # score the saved models
    python benchmarks/photos.py --amp-check 150                   # bf16 autocast against float32 at equal CPU time
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from _record import markdown, name_for, start, table, write_record
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

import latentlab
from latentlab.data.photos import skimage_photos
from latentlab.training.budget import CPUBudget

TRAIN = ("moon", "page", "text", "grass", "gravel", "clock", "cell", "immunohistochemistry", "hubble_deep_field",
         "retina")
TEST = ("coins", "rocket", "stereo_motorcycle", "brick")  # scenes and objects, and one texture, never trained on
TUNE = ("clock", "grass", "cell", "immunohistochemistry")  # crops of training photos for TV and NL-means
SIGMAS = (25, 50)
RUNS = Path("runs/photos")


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        name = next(ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name"))
        flags = next((ln for ln in out.splitlines() if ln.startswith("Flags")), "")
        extra = [f for f in ("amx_bf16", "avx512_bf16") if f in flags]
        return f"{name} ({os.cpu_count()} cores{', ' + ', '.join(extra) if extra else ''})"
    except Exception:
        return "unknown CPU"


def noisy_version(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    return (clean + sigma * np.random.default_rng(seed).standard_normal(clean.shape)).astype(np.float32)


def scores(clean: np.ndarray, out: np.ndarray) -> tuple[float, float]:
    out = np.clip(out, 0, 1)
    return (peak_signal_noise_ratio(clean, out, data_range=1.0),
            structural_similarity(clean, out, data_range=1.0))


def tune(method, grid, crops, sigma) -> float:
    """The grid value with the best mean PSNR on the noisy training crops."""
    best, best_psnr = grid[0], -np.inf
    for g in grid:
        p = np.mean([scores(c, method(n, g))[0] for c, n in crops])
        if p > best_psnr:
            best, best_psnr = g, p
    return best


def tv(noisy, w):
    return denoise_tv_chambolle(noisy, weight=w)


def nlm(sigma):
    return lambda noisy, k: denoise_nl_means(noisy, h=k * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                                             fast_mode=True)


def train_denoiser(train, sigma, budget, args, amp, seed=0):
    den = latentlab.ImageDenoiser(hidden=tuple(args.channels), depth=args.depth)
    t0 = time.process_time()
    budget_cb = CPUBudget(budget)
    den.fit(train, noise_level=sigma, patch_size=args.patch, patches_per_epoch=args.per_epoch,
            validation_patches=args.val_patches, epochs=100_000, batch_size=args.batch, lr=args.lr,
            lr_schedule="none", amp=amp, seed=seed, verbose=False, callbacks=[budget_cb], restore_best=True)
    return den, time.process_time() - t0


def val_psnr(den, crops):
    return float(np.mean([scores(c, den.denoise(n))[0] for c, n in crops]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=600.0, help="training CPU seconds per noise level")
    ap.add_argument("--reuse", action="store_true", help="score the models saved in runs/photos/")
    ap.add_argument("--amp-check", type=float, default=0.0, metavar="SECONDS",
                    help="only compare bf16 autocast with float32 at this CPU budget (sigma 25, tuning crops)")
    ap.add_argument("--channels", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--patch", type=int, default=48)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--per-epoch", type=int, default=1024)
    ap.add_argument("--val-patches", type=int, default=64)
    ap.add_argument("--no-amp", action="store_true", help="train in float32")
    ap.add_argument("--sigmas", type=int, nargs="+", default=list(SIGMAS))
    ap.add_argument("--skip-bm3d", action="store_true")
    args = ap.parse_args()
    clock = start()
    record_name = name_for("photos", ap, args, ignore=("reuse",))
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    print(f"CPU: {cpu_model()}; torch threads: {torch.get_num_threads()}; torch {torch.__version__}")
    photos = skimage_photos(TRAIN + TEST, mode="L")
    train = [photos[n] for n in TRAIN]
    test = {n: photos[n][0] for n in TEST}
    rng = np.random.default_rng(0)
    crops = []
    for n in TUNE:
        img = photos[n][0]
        top, left = rng.integers(0, img.shape[0] - 192), rng.integers(0, img.shape[1] - 192)
        crops.append(img[top : top + 192, left : left + 192])
    print(f"train photos: {', '.join(TRAIN)}\ntest photos: {', '.join(TEST)} (grey)")

    if args.amp_check:
        s = 25 / 255
        tune_set = [(c, noisy_version(c, s, 100 + i)) for i, c in enumerate(crops)]
        print(f"\nbf16 autocast against float32, {args.amp_check:.0f} CPU s of training each, sigma 25, "
              "PSNR on noisy crops of training photos (not the test photos)")
        cells, figures = [], {}
        for amp in (False, True):
            den, cpu = train_denoiser(train, s, args.amp_check, args, amp)
            steps = sum(1 for _ in den.history) * (args.per_epoch // args.batch)
            label = "bf16 autocast" if amp else "float32"
            figures[label] = {"steps": steps, "cpu_s": cpu, "psnr": val_psnr(den, tune_set)}
            cells.append([label, steps, f"{cpu:.0f}", f"{figures[label]['psnr']:.2f}"])
        spec = table(["precision", "steps", "CPU s", "PSNR"], cells)
        print(markdown(spec))
        write_record(record_name, figures, started=clock, args=args, split="noisy crops of training photos",
                     tables={"main": spec}, baselines={"float32": "the same network and CPU budget without autocast"})
        return

    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    cost: dict[str, float] = {}
    for sig in args.sigmas:
        s = sig / 255
        tune_set = [(c, noisy_version(c, s, 100 + i)) for i, c in enumerate(crops)]
        w_tv = tune(tv, [k * s for k in (0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)], tune_set, s)
        k_nlm = tune(nlm(s), [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.7, 2.0], tune_set, s)
        print(f"\nsigma {sig}/255: TV weight {w_tv:.4f}, NL-means h = {k_nlm} sigma (tuned on training crops)")
        path = RUNS / f"denoiser-sigma{sig}"
        if args.reuse and path.is_dir():
            den = latentlab.ImageDenoiser.load(path)
            spent = json.loads((path / "benchmark.json").read_text())["train_cpu_s"]
        else:
            den, spent = train_denoiser(train, s, args.budget, args, amp=not args.no_amp)
            den.save(path)
            (path / "benchmark.json").write_text(json.dumps({"train_cpu_s": spent, "epochs": len(den.history)}))
        cost[f"ImageDenoiser training, sigma {sig}"] = spent
        methods = {
            "noisy input": lambda n: n,
            "TV (Chambolle)": lambda n, w=w_tv: tv(n, w),
            "NL-means": lambda n, s=s, k=k_nlm: nlm(s)(n, k),
            "ImageDenoiser": lambda n, d=den: d.denoise(n),
        }
        if not args.skip_bm3d:
            import bm3d

            methods["BM3D"] = lambda n, s=s: bm3d.bm3d(n, sigma_psd=s)
        for i, clean in enumerate(test.values()):
            noisy = noisy_version(clean, s, 1000 * sig + i)
            for m, fn in methods.items():
                t0 = time.process_time()
                out = fn(noisy)
                cost[f"{m} inference, sigma {sig}"] = cost.get(f"{m} inference, sigma {sig}", 0) + time.process_time() - t0
                results.setdefault((m, sig), []).append(scores(clean, out))

    names = list(dict.fromkeys(m for m, _ in results))
    mean_cells = []
    for m in names:
        cells = []
        for s in args.sigmas:
            r = np.array(results[(m, s)])
            cells += [f"{r[:, 0].mean():.2f}", f"{r[:, 1].mean():.3f}"]
        mean_cells.append([m, *cells])
    tables = {
        "main": table(["method", *(f"sigma {s} {k}" for s in args.sigmas for k in ("PSNR", "SSIM"))], mean_cells),
        "per_photo": table(["method", "sigma", *test],
                           [[m, s, *(f"{p:.2f}" for p, _ in results[(m, s)])] for m in names for s in args.sigmas]),
    }
    print("\nMean over the test photos, PSNR (dB) / SSIM:")
    print(markdown(tables["main"]))
    print("\nPer photo, PSNR (dB):")
    print(markdown(tables["per_photo"]))
    print("\nProcess CPU seconds (shared machine: wall time is not reported):")
    for k, v in cost.items():
        print(f"- {k}: {v:.1f}")
    figures = {"scores": {f"{m}, sigma {s}": {"psnr": [p for p, _ in r], "ssim": [q for _, q in r]}
                          for (m, s), r in results.items()}, "test_photos": list(test), "cpu_s": cost}
    write_record(record_name, figures, started=clock, args=args, split=f"held-out photos: {', '.join(TEST)}", tables=tables,
                 baselines={"TV (Chambolle)": "scikit-image, weight tuned on training crops",
                            "NL-means": "scikit-image, h tuned on training crops",
                            **({} if args.skip_bm3d else {"BM3D": "the bm3d package at the true sigma"})},
                 notes="Gaussian noise, not clipped; PSNR (dB) and SSIM on [0, 1]; training limited by CPU seconds")

if __name__ == "__main__":
    main()
