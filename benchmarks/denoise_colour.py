"""How the shipped grey denoiser should clean colour photos: opponent colour space or R, G, B one by one, beside CBM3D.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/denoise_colour.py   # record: benchmarks/results/denoise_colour.json

The choice ``ImageDenoiser.denoise`` makes for a colour photo and a grey
model was made from this run's opponent and R, G, B columns; the ensemble column
is what ``denoise(..., ensemble=8)`` gives. Photos: 256 x 256 crops of
the project's colour scikit-image photos (rocket, stereo_motorcycle,
immunohistochemistry, retina); white Gaussian noise of sigma 25 and 50 on
each channel (seeded, not clipped); PSNR over the three channels after
clipping. CBM3D is ``bm3d.bm3d_rgb`` (its default profile, told the true
sigma), which works in the same kind of opponent space.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "src"))

from _record import markdown, name_for, start, table, write_record  # noqa: E402

CROPS = {"rocket": (0, 0), "stereo_motorcycle": (0, 0), "immunohistochemistry": (0, 0), "retina": (400, 400)}


def psnr(out: np.ndarray, clean: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(out, 0, 1).astype(np.float64) - clean) ** 2)))


def main(argv=None) -> None:
    clock = start()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="a saved grey ImageDenoiser folder (default: the shipped one)")
    ap.add_argument("--no-bm3d", action="store_true")
    args = ap.parse_args(argv)
    import torch

    import latentlab
    from latentlab.data.photos import skimage_photos
    from latentlab.nn.colour import from_opponent, to_opponent

    torch.set_num_threads(1)
    den = latentlab.ImageDenoiser.pretrained() if args.model is None else latentlab.ImageDenoiser.load(args.model)

    def grey(plane: np.ndarray, ensemble: int = 1) -> np.ndarray:
        return den.denoise_tensor(torch.from_numpy(np.ascontiguousarray(plane[None])), ensemble=ensemble)[0].numpy()

    photos = skimage_photos(list(CROPS), mode="RGB")
    rows, figures = [], {}
    for sigma in (25, 50):
        scores: dict[str, list[float]] = {"noisy": [], "opponent": [], "opponent_ensemble_8": [], "rgb": [],
                                          "cbm3d": []}
        for i, (name, (top, left)) in enumerate(CROPS.items()):
            clean = photos[name][:, top : top + 256, left : left + 256]
            noisy = (clean + np.random.default_rng([sigma, i]).standard_normal(clean.shape) * sigma / 255).astype(
                np.float32)
            scores["noisy"].append(psnr(noisy, clean))
            scores["opponent"].append(psnr(from_opponent(np.stack([grey(p) for p in to_opponent(noisy)])), clean))
            scores["opponent_ensemble_8"].append(
                psnr(from_opponent(np.stack([grey(p, 8) for p in to_opponent(noisy)])), clean))
            scores["rgb"].append(psnr(np.stack([grey(p) for p in noisy]), clean))
            if not args.no_bm3d:
                import bm3d

                out = bm3d.bm3d_rgb(noisy.transpose(1, 2, 0).astype(np.float64), sigma / 255)
                scores["cbm3d"].append(psnr(out.transpose(2, 0, 1), clean))
            rows.append([name, sigma] + [f"{scores[k][-1]:.2f}" if scores[k] else "-" for k in scores])
            print(" | ".join(map(str, rows[-1])), flush=True)
        figures[str(sigma)] = {k: (float(np.mean(v)) if v else None) for k, v in scores.items()}
        rows.append(["mean", sigma] + [f"{figures[str(sigma)][k]:.2f}" if scores[k] else "-" for k in scores])
    spec = table(["photo (256 x 256 crop)", "sigma", "noisy", "grey model, opponent space",
                  "the same, ensemble=8", "grey model, R, G, B", "CBM3D"], rows, ["l", "r", "r", "r", "r", "r", "r"])
    print(markdown(spec))
    write_record(name_for("denoise_colour", ap, args), figures, split="tuning (scikit-image colour photos)",
                 args=args, started=clock, tables={"main": spec},
                 baselines={"CBM3D": "bm3d.bm3d_rgb, default profile, true sigma (PyPI bm3d)"},
                 notes="mean PSNR (dB) over three channels; the opponent column is what denoise() does, "
                       "the ensemble column what denoise(..., ensemble=8) does")


if __name__ == "__main__":
    main()
