"""The shipped denoiser on the field's standard test sets: BSD68 and Set12 at sigma 15, 25 and 50, beside BM3D.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/denoise_standard.py ../shared/data/photos
    # record: benchmarks/results/denoise_standard.json

The protocol of DnCNN's table (Zhang et al., IEEE TIP 2017): grey 8-bit test
photos on [0, 1], white Gaussian noise of standard deviation sigma / 255
added with a fixed seed per photo and level (``numpy.random.default_rng([sigma,
index])``, photos in sorted file order) and not clipped; the output is clipped
to [0, 1] and scored by PSNR against the clean photo. One blind model serves
every level. BM3D (PyPI ``bm3d``, its default profile, told the true sigma)
runs on Set12 in the same run, on the same noisy photos (``--bm3d-bsd68``
adds BSD68: about an hour on one core). The published figures of BM3D and
DnCNN-S are printed beside. Nothing is chosen on these sets: the recipe's
validation is 40 held-out Train400 photos.

``--ensemble 8`` denoises each photo as the average of its 8 flipped and
transposed copies (``ImageDenoiser.denoise(..., ensemble=8)``; record
``denoise_standard-ensemble-8``): on the 40 held-out Train400 photos it
added 0.13 / 0.11 / 0.10 dB at sigma 15 / 25 / 50 (``/4``: 0.11 / 0.10 /
0.09), which is why the option exists.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "src"))

from _record import markdown, name_for, start, table, write_record  # noqa: E402

SIGMAS = (15, 25, 50)
#: DnCNN paper, Table II (BSD68 average) and Table III (Set12 average).
PUBLISHED = {
    "BSD68": {"BM3D": {15: 31.07, 25: 28.57, 50: 25.62}, "DnCNN-S": {15: 31.73, 25: 29.23, 50: 26.23}},
    "Set12": {"BM3D": {15: 32.37, 25: 29.97, 50: 26.72}, "DnCNN-S": {15: 32.86, 25: 30.44, 50: 27.18}},
}


def read_set(folder: Path) -> list[tuple[str, np.ndarray]]:
    from latentlab.data.photos import load_photos

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".bmp", ".tif", ".tiff"))
    if not files:
        raise SystemExit(f"no photos in {folder}")
    return [(f.name, p[0]) for f, p in zip(files, load_photos([str(f) for f in files], mode="L"), strict=True)]


def psnr(out: np.ndarray, clean: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(out, 0, 1).astype(np.float64) - clean) ** 2)))


def noisy_photo(clean: np.ndarray, sigma: int, index: int) -> np.ndarray:
    return (clean + np.random.default_rng([sigma, index]).standard_normal(clean.shape) * (sigma / 255)).astype(np.float32)


def main(argv=None) -> None:
    clock = start()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("photos", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "photos",
                    help="folder holding BSD68/ and Set12/")
    ap.add_argument("--model", default=None, help="a saved ImageDenoiser folder (default: the shipped one)")
    ap.add_argument("--sigmas", type=lambda s: [int(x) for x in s.split(",")], default=list(SIGMAS))
    ap.add_argument("--bm3d-bsd68", action="store_true", help="run BM3D on BSD68 too (slow)")
    ap.add_argument("--no-bm3d", action="store_true", help="skip BM3D (a smoke run)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos of each set (a smoke run)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ensemble", type=int, default=1, choices=(1, 2, 4, 8),
                    help="the denoiser's self-ensemble: flipped and transposed copies averaged (default 1)")
    args = ap.parse_args(argv)
    import torch

    import latentlab

    torch.set_num_threads(args.threads)
    den = latentlab.ImageDenoiser.pretrained() if args.model is None else latentlab.ImageDenoiser.load(args.model)
    figures: dict = {"sets": {}, "published": PUBLISHED}
    rows = []
    for set_name in ("BSD68", "Set12"):
        photos = read_set(args.photos / set_name)[: args.limit or None]
        run_bm3d = not args.no_bm3d and (set_name == "Set12" or args.bm3d_bsd68)
        per: dict = {}
        for sigma in args.sigmas:
            ours, theirs, noisy_scores, cpu_ours, cpu_bm3d = [], [], [], 0.0, 0.0
            for i, (_name, clean) in enumerate(photos):
                noisy = noisy_photo(clean, sigma, i)
                noisy_scores.append(psnr(noisy, clean))
                t = time.process_time()
                ours.append(psnr(den.denoise(noisy, check_noise=False, ensemble=args.ensemble), clean))
                cpu_ours += time.process_time() - t
                if run_bm3d:
                    import bm3d

                    t = time.process_time()
                    theirs.append(psnr(bm3d.bm3d(noisy.astype(np.float64), sigma_psd=sigma / 255), clean))
                    cpu_bm3d += time.process_time() - t
            per[str(sigma)] = {
                "latentlab": float(np.mean(ours)), "noisy": float(np.mean(noisy_scores)),
                "bm3d": float(np.mean(theirs)) if theirs else None,
                "latentlab_per_photo": dict(zip([n for n, _ in photos], ours, strict=True)),
                "bm3d_per_photo": dict(zip([n for n, _ in photos], theirs, strict=False)) if theirs else None,
                "cpu_s_per_photo": {"latentlab": cpu_ours / len(photos),
                                    "bm3d": cpu_bm3d / len(photos) if theirs else None},
            }
            pub = PUBLISHED[set_name]
            rows.append([set_name, sigma, f"{per[str(sigma)]['noisy']:.2f}", f"{per[str(sigma)]['latentlab']:.2f}",
                         f"{per[str(sigma)]['bm3d']:.2f}" if theirs else "-", f"{pub['BM3D'][sigma]:.2f}",
                         f"{pub['DnCNN-S'][sigma]:.2f}", f"{cpu_ours / len(photos):.2f}",
                         f"{cpu_bm3d / len(photos):.1f}" if theirs else "-"])
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
        figures["sets"][set_name] = {"photos": len(photos), "levels": per}
    ours_label = "latentlab (shipped, blind)" + (f", ensemble {args.ensemble}" if args.ensemble > 1 else "")
    spec = table(["set", "sigma", "noisy", ours_label, "BM3D (this run)", "BM3D (published)",
                  "DnCNN-S (published)", "CPU s a photo: latentlab", "CPU s a photo: BM3D"], rows,
                 ["l", "r", "r", "r", "r", "r", "r", "r", "r"])
    print(markdown(spec))
    name = name_for("denoise_standard", ap, args, ignore=("photos", "threads"))
    write_record(name, figures, split="test (BSD68, Set12; nothing chosen on them)", args=args, started=clock,
                        baselines={"BM3D": "bm3d.bm3d, default profile, true sigma (PyPI bm3d)",
                                   "published": "DnCNN paper (Zhang et al. 2017) Tables II-III: BM3D and DnCNN-S"},
                        tables={"main": spec},
                        notes="mean PSNR (dB) over each set; noise seeded per photo and level, not clipped; "
                              "output clipped to [0, 1]; one blind grey model for all levels")


if __name__ == "__main__":
    main()
