"""The whole `latentlab denoise` command on a 512 x 512 grey photo: onnxruntime beside torch, interleaved.

    .venv/bin/python benchmarks/denoise_command.py   # on a quiet machine; record: benchmarks/results/denoise_command.json

Issue 32 asks for the shipped denoiser's command to finish a 512 x 512 grey photo in under 2 s on 2 cores. Each
round runs ``latentlab denoise in.png out.png`` once with ``--runtime onnxruntime`` and once with ``--runtime torch``
(the order alternating), as a new process each time, so Python's start, the imports, the hash check, loading the
model, the noise-level check, denoising and writing the PNG are all counted. The photo is the ``moon`` photo of
scikit-image (512 x 512) with white Gaussian noise of sigma 25 (seed 0), rounded to 8 bits. Wall seconds are
what a user waits; CPU seconds are the child process's user + system time. Both runtimes use their default
threads (the machine's cores). PSNR is against the clean photo; the two outputs are compared pixel by pixel.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "src"))

from _record import markdown, name_for, start, table, write_record  # noqa: E402

RUNTIMES = ("onnxruntime", "torch")


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


def _timed(cmd: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None) -> None:
    clock = start()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="runs of each runtime, interleaved (default 5)")
    args = ap.parse_args(argv)
    from PIL import Image
    from skimage import data

    clean = data.moon().astype(np.float64)
    noisy = np.clip(np.rint(clean + np.random.default_rng(0).normal(0, 25, clean.shape)), 0, 255).astype(np.uint8)
    exe = str(Path(sys.executable).with_name("latentlab"))
    times: dict[str, list[tuple[float, float]]] = {r: [] for r in RUNTIMES}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "noisy.png"
        Image.fromarray(noisy).save(src)
        outs = {}
        for i in range(args.rounds):
            for r in RUNTIMES if i % 2 == 0 else RUNTIMES[::-1]:
                out = Path(tmp) / f"{r}.png"
                times[r].append(_timed([exe, "denoise", str(src), str(out), "--runtime", r]))
                print(f"round {i}: {r}: {times[r][-1][0]:.2f} s wall, {times[r][-1][1]:.2f} CPU s", flush=True)
                outs[r] = np.asarray(Image.open(out))
    diff = np.abs(outs["onnxruntime"].astype(int) - outs["torch"].astype(int))
    figures = {r: {"wall_s_min": min(w for w, _ in times[r]), "wall_s_max": max(w for w, _ in times[r]),
                   "wall_s_median": float(np.median([w for w, _ in times[r]])),
                   "cpu_s_median": float(np.median([c for _, c in times[r]])),
                   "psnr": _psnr(outs[r], clean)} for r in RUNTIMES}
    figures["outputs"] = {"max_abs_diff_8bit": int(diff.max()), "pixels_differing": int((diff > 0).sum())}
    figures["noisy_psnr"] = _psnr(noisy, clean)
    rows = [[r, f"{figures[r]['wall_s_min']:.2f}-{figures[r]['wall_s_max']:.2f}", f"{figures[r]['wall_s_median']:.2f}",
             f"{figures[r]['cpu_s_median']:.2f}", f"{figures[r]['psnr']:.2f}"] for r in RUNTIMES]
    spec = table(["--runtime", "wall s (range)", "wall s (median)", "CPU s (median)", "PSNR (dB)"], rows,
                 ["l", "r", "r", "r", "r"])
    print(markdown(spec))
    print(f"outputs differ by at most {diff.max()} level(s) in {(diff > 0).sum()} of {diff.size} pixels; "
          f"noisy PSNR {figures['noisy_psnr']:.2f} dB")
    write_record(name_for("denoise_command", ap, args), figures, split="none (a speed check on one scikit-image photo)",
                 args=args, started=clock, tables={"main": spec},
                 baselines={"torch": "the same command with --runtime torch (ImageDenoiser.pretrained())"},
                 notes=f"{args.rounds} rounds, interleaved; each run a new process; default threads")


if __name__ == "__main__":
    main()
