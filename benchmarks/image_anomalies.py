"""Defects in images: latentlab's ImageAnomalyDetector against three baselines on magnetic tiles.

    python benchmarks/image_anomalies.py [DATA_DIR] [--part tuning|report]

DATA_DIR defaults to ../shared/data/defects-mtd-dev (MT_Free normal tiles;
MT_Blowhole, MT_Crack with *_masks). The split is made FIRST, seeded
(SPLIT_SEED), before any score is looked at:

- normal tiles: FIT_SHARE of them fit every method (the detector keeps 20%
  of those out for its threshold); the rest are halved into a tuning and a
  report part;
- defective tiles: each kind is halved into a tuning and a report part.

Defaults were chosen on ``--part tuning``; ``--part report`` is scored once.
Images are shrunk so their longer side is at most MAX_SIDE pixels (masks
too, by area then > 0.5) and every figure is computed at that size.
Baselines, fitted on the same normal tiles: PCA on 8x8 patches, a
per-pixel Gaussian over aligned (resized to 64x64) tiles, and a plain
convolutional autoencoder's squared residual (the same network trained on
squared error, no synthetic defects, no smoothing). A baseline's image
score is the maximum of its map; the detector's is its own (see its
docstring: a high quantile inside a border, relative to the map's median).
The tuning runs that chose the defaults fitted on 150 tiles (--max-fit 150).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SPLIT_SEED = 2024
FIT_SHARE = 0.6
MAX_SIDE = 256


def split(data_dir: Path, max_fit: int):
    from latentlab.data.defect_folders import load_defect_folders

    ds = load_defect_folders(data_dir)
    rng = np.random.default_rng(SPLIT_SEED)
    normal = [ds.normal[i] for i in rng.permutation(len(ds.normal))]
    n_fit = round(FIT_SHARE * len(normal))
    fit, rest = normal[:n_fit][:max_fit], normal[n_fit:]
    parts = {"tuning": [(p, "good", None) for p in rest[: len(rest) // 2]],
             "report": [(p, "good", None) for p in rest[len(rest) // 2:]]}
    for kind in ds.kinds:
        items = [t for t in ds.test if t.kind == kind]
        items = [items[i] for i in rng.permutation(len(items))]
        parts["tuning"] += [(t.image, t.kind, t.mask) for t in items[: len(items) // 2]]
        parts["report"] += [(t.image, t.kind, t.mask) for t in items[len(items) // 2:]]
    return fit, parts


def shrink(path, mask_path=None):
    from latentlab.data.defect_folders import read_mask
    from latentlab.data.photos import as_photo
    from latentlab.estimators._image_maps import resize, working_size

    im = as_photo(path, mode="L")
    size = working_size(im.shape[1:], MAX_SIDE)
    mask = np.zeros(im.shape[1:], bool) if mask_path is None else read_mask(mask_path, im.shape[1:])
    return resize(im, size), resize(mask[None].astype(np.float32), size)[0] > 0.5


# ------------------------------------------------------------------------------ baselines
class PatchPCA:
    def fit(self, ims, rng):
        from sklearn.decomposition import PCA

        from latentlab.estimators._image_maps import standardise

        rows = []
        for im in ims:
            w = np.lib.stride_tricks.sliding_window_view(standardise(im)[0], (8, 8))[::4, ::4].reshape(-1, 64)
            rows.append(w[rng.choice(len(w), min(len(w), 200), replace=False)])
        self.pca = PCA(0.9, random_state=0).fit(np.concatenate(rows))
        return self

    def map(self, im):
        from latentlab.estimators._image_maps import standardise

        x = standardise(im)[0]
        w = np.lib.stride_tricks.sliding_window_view(x, (8, 8))[::2, ::2]
        gh, gw = w.shape[:2]
        flat = w.reshape(-1, 64)
        err = ((self.pca.inverse_transform(self.pca.transform(flat)) - flat) ** 2).mean(1).reshape(gh, gw)
        out, cnt = np.zeros_like(x), np.zeros_like(x)
        for i in range(gh):
            for j in range(gw):
                out[2 * i:2 * i + 8, 2 * j:2 * j + 8] += err[i, j]
                cnt[2 * i:2 * i + 8, 2 * j:2 * j + 8] += 1
        return out / np.maximum(cnt, 1)


class PixelGaussian:
    def fit(self, ims, rng):
        from latentlab.estimators._image_maps import resize

        a = np.stack([resize(im, (64, 64))[0] for im in ims])
        self.mu, self.sd = a.mean(0), a.std(0) + 1e-3
        return self

    def map(self, im):
        from latentlab.estimators._image_maps import resize

        z = ((resize(im, (64, 64))[0] - self.mu) / self.sd) ** 2
        return resize(z[None], im.shape[1:], "bilinear")[0]


class Detector:
    def __init__(self, **kw):
        self.kw = kw

    def fit(self, ims, rng):
        from latentlab.estimators.images import ImageAnomalyDetector

        self.det = ImageAnomalyDetector(**self.kw).fit(ims)
        return self

    def map(self, im):
        return self.det.anomaly_maps([im])[0]

    def score(self, m):
        return self.det._score_of(m)  # the detector's own image score (maps are at its working size here)


def evaluate(method, fit_ims, test, rng):
    from latentlab.apps.image_metrics import aupro, image_roc_auc, pixel_roc_auc

    cpu = time.process_time()
    method.fit(fit_ims, rng)
    fit_s = time.process_time() - cpu
    maps = [method.map(im) for im, _, _ in test]
    labels = [int(kind != "good") for _, kind, _ in test]
    masks = [m for _, _, m in test]
    score = getattr(method, "score", lambda m: float(m.max()))
    return {"image_auc": image_roc_auc([score(m) for m in maps], labels), "pixel_auc": pixel_roc_auc(maps, masks),
            "aupro": aupro(maps, masks), "fit_cpu_s": fit_s}


DEFAULTS = {}  # ImageAnomalyDetector's own defaults
CANDIDATES = {
    "default": {},
    "synthetic-0.5": {"synthetic": 0.5},  # the default before round 2
    "head": {"head": True, "sigma": 2.0, "score_quantile": 1.0},  # DRAEM's discriminative part, its map
    "no-synthetic": {"synthetic": 0.0},
}


def main(argv=None) -> int:
    from _record import start, table, write_record

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir", nargs="?", default=str(HERE.parents[1] / "shared" / "data" / "defects-mtd-dev"))
    p.add_argument("--part", choices=["tuning", "report"], default="tuning")
    p.add_argument("--max-fit", type=int, default=300, help="cap on the normal tiles fitted on")
    p.add_argument("--candidates", default="default", help="comma-separated CANDIDATES to run (tuning)")
    p.add_argument("--steps", type=int, default=None, help="override the detector's training steps")
    p.add_argument("--no-baselines", action="store_true")
    args = p.parse_args(argv)
    clock = start()
    fit_paths, parts = split(Path(args.data_dir), args.max_fit)
    test = [(*shrink(path, mask), kind) for path, kind, mask in parts[args.part]]
    test = [(im, kind, m) for im, m, kind in test]
    fit_ims = [shrink(p)[0] for p in fit_paths]
    print(f"split seed {SPLIT_SEED}: fit {len(fit_ims)} normal tiles; {args.part} part: "
          f"{sum(k == 'good' for _, k, _ in test)} normal, {sum(k != 'good' for _, k, _ in test)} defective; "
          f"images at <= {MAX_SIDE} px", flush=True)
    extra = {} if args.steps is None else {"steps": args.steps}
    methods = {f"latentlab ({name})": Detector(**CANDIDATES[name], **extra) for name in args.candidates.split(",")}
    if not args.no_baselines:
        methods.update({"PCA on 8x8 patches": PatchPCA(), "per-pixel Gaussian (64x64 aligned)": PixelGaussian(),
                        "plain conv AE, squared residual": Detector(synthetic=0.0, residual="l2", sigma=0.0, loss="l2",
                                                                    border=0.0, relative=False, score_quantile=1.0,
                                                                    **extra)})
    figures, rows = {}, []
    for name, method in methods.items():
        r = evaluate(method, fit_ims, test, np.random.default_rng(0))
        figures[name] = r
        rows.append([name, f"{r['image_auc']:.3f}", f"{r['pixel_auc']:.3f}", f"{r['aupro']:.3f}", f"{r['fit_cpu_s']:.0f}"])
        print(f"{name:40s} image AUC {r['image_auc']:.3f}  pixel AUC {r['pixel_auc']:.3f}  AUPRO {r['aupro']:.3f}  "
              f"fit CPU {r['fit_cpu_s']:.0f} s", flush=True)
    figures["split"] = {"seed": SPLIT_SEED, "fit_share": FIT_SHARE, "n_fit": len(fit_ims), "part": args.part,
                        "n_test": len(test), "max_side": MAX_SIDE}
    baselines = {k: k for k in methods if not k.startswith("latentlab")}
    tab = table(["method", "image ROC-AUC", "pixel ROC-AUC", "AUPRO", "fit CPU s"], rows)
    try:
        out = write_record("image_anomalies" + ("" if args.part == "report" else "_tuning"), figures,
                           baselines=baselines, split=args.part, args=args, started=clock, tables={"main": tab})
    except Exception as exc:  # the shared harness is being written by another helper
        from latentlab._files import atomic_write_json

        out = HERE / "results" / "image_anomalies.json"
        atomic_write_json(out, {"figures": figures, "error_in_record": str(exc)})
    print(json.dumps(figures["split"]), "->", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
