"""The shipped ImageCodec on BSD68 and Set12 (grey), beside Pillow's JPEG and WebP at matched rates.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/image_codec.py ../shared/data/photos [--model DIR]
    # record: benchmarks/results/image_codec.json; plot: benchmarks/results/image_codec_rd.png

For every photo of each set (grey 8-bit PNGs, sorted by name) and every
quality of the codec: its bits per pixel, ``8 * len(bytes) / pixels`` of the
whole byte string (header and checksum counted), and the PSNR of the decoded
photo. JPEG (Pillow, ``optimize=True``, settings 1..100) and WebP (Pillow,
lossy, ``method=6``, settings 0..100) are swept over every setting on the
same photo; for each of the codec's files the baseline's setting is the one
whose file is the largest not larger than the codec's (the nearest rate not
above ours), so each baseline spends at most the codec's bits on that photo.
A photo on which even the baseline's smallest file is larger has no match
(counted, left out of that baseline's mean). Beside the matched figure, the
baseline's PSNR interpolated linearly in bpp at exactly the codec's rate is
kept in the record. Means are over the photos of a set.

The plot (beside the record) shows, per set, the codec's mean curve, the
matched baselines' means, and each baseline's mean curve over its fixed
settings (for the shape; photos differ in rate at a fixed setting).

Also timed: coding one 512 x 512 grey photo (scikit-image's ``moon``) at
every quality, as process CPU seconds on ``--threads`` torch threads (the
smallest of ``--repeats`` after one warm-up call), on a machine that may be
shared. Nothing is chosen on BSD68 or Set12: the recipe's validation is 40
held-out Train400 photos.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "src"))

import _record  # noqa: E402
from _record import markdown, name_for, start, table, write_record  # noqa: E402
from _summary import codec_state  # noqa: E402

SETS = ("BSD68", "Set12")
BASELINES = {"JPEG": (range(1, 101), {"optimize": True}), "WEBP": (range(0, 101), {"method": 6})}
LABEL = {"JPEG": "JPEG", "WEBP": "WebP"}


def read_set(folder: Path) -> list[tuple[str, np.ndarray]]:
    """``(file name, uint8 (H, W))`` of every grey photo in ``folder``, by name."""
    from PIL import Image

    if not folder.is_dir():
        raise SystemExit(f"{folder} is not a folder: give the folder that holds {' and '.join(SETS)}/")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".bmp", ".tif", ".tiff"))
    if not files:
        raise SystemExit(f"no photos in {folder}")
    out = []
    for f in files:
        with Image.open(f) as im:
            if im.mode not in ("L", "I;16", "I"):
                raise SystemExit(f"{f} is {im.mode}, not grey: this benchmark is for grey photos")
            out.append((f.name, np.asarray(im.convert("L"))))
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def pillow_sweep(img: np.ndarray, fmt: str) -> list[tuple[int, float, float]]:
    """``(setting, bpp, PSNR)`` of a Pillow codec at each of its settings, in the order of the settings."""
    from PIL import Image

    settings, options = BASELINES[fmt]
    out = []
    for q in settings:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format=fmt, quality=q, **options)
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            dec = np.asarray(im.convert("L"))
        out.append((q, 8 * buf.tell() / img.size, psnr(img, dec)))
    return out


def matched(sweep: list[tuple[int, float, float]], bpp: float) -> dict:
    """The setting whose rate is the nearest not above ``bpp``, and the PSNR interpolated at exactly ``bpp``."""
    below = [r for r in sweep if r[1] <= bpp]
    out = {"setting": None, "bpp": float("nan"), "psnr": float("nan"), "psnr_interp": float("nan")}
    if below:
        best = max(below, key=lambda r: (r[1], r[2]))
        out.update(setting=best[0], bpp=best[1], psnr=best[2])
    by_rate = sorted(sweep, key=lambda r: r[1])
    rates = np.array([r[1] for r in by_rate])
    if rates[0] <= bpp <= rates[-1]:
        out["psnr_interp"] = float(np.interp(bpp, rates, [r[2] for r in by_rate]))
    return out


def score_set(codec, photos: list[tuple[str, np.ndarray]]) -> dict:
    """Per photo and quality: the codec's bpp and PSNR, each baseline matched; and the baselines' sweeps."""
    per_photo, sweeps = {}, {fmt: [] for fmt in BASELINES}
    for name, img in photos:
        swept = {fmt: pillow_sweep(img, fmt) for fmt in BASELINES}
        rows = []
        for q in range(1, codec.config.qualities + 1):
            blob = codec.compress(img, quality=q)
            bpp = 8 * len(blob) / img.size
            row = {"quality": q, "bpp": bpp, "psnr": psnr(img, codec.decompress(blob))}
            for fmt in BASELINES:
                row[LABEL[fmt]] = matched(swept[fmt], bpp)
            rows.append(row)
        per_photo[name] = rows
        for fmt in BASELINES:
            sweeps[fmt].append(swept[fmt])
        print(f"  {name}: " + "  ".join(f"q{r['quality']} {r['bpp']:.3f} bpp {r['psnr']:.2f} dB "
                                       f"(JPEG {r['JPEG']['psnr']:.2f}, WebP {r['WebP']['psnr']:.2f})" for r in rows),
              flush=True)
    return {"per_photo": per_photo, "sweeps": sweeps}


def set_means(scored: dict, qualities: int) -> list[dict]:
    """Per quality: mean bpp and PSNR of the codec and of each matched baseline (photos with a match)."""
    out = []
    for q in range(1, qualities + 1):
        rows = [r[q - 1] for r in scored["per_photo"].values()]
        m = {"quality": q, "photos": len(rows), "bpp": float(np.mean([r["bpp"] for r in rows])),
             "psnr": float(np.mean([r["psnr"] for r in rows]))}
        for label in LABEL.values():
            hit = [r for r in rows if r[label]["setting"] is not None]
            m[label] = {"matched": len(hit),
                        "bpp": float(np.mean([r[label]["bpp"] for r in hit])) if hit else float("nan"),
                        "psnr": float(np.mean([r[label]["psnr"] for r in hit])) if hit else float("nan"),
                        "psnr_interp": float(np.nanmean([r[label]["psnr_interp"] for r in rows])),
                        "above_it": sum(r["psnr"] > r[label]["psnr"] for r in hit),
                        "gain_same_photos": float(np.mean([r["psnr"] - r[label]["psnr"] for r in hit])) if hit
                        else float("nan")}
        out.append(m)
    return out


def time_coding(codec, threads: int, repeats: int) -> dict:
    """Process CPU seconds to compress and to decompress scikit-image's 512 x 512 grey ``moon`` at each quality."""
    import torch

    from latentlab.data.photos import skimage_photos

    torch.set_num_threads(threads)
    img = np.rint(skimage_photos(["moon"])["moon"][0] * 255).astype(np.uint8)  # (512, 512)
    codec.decompress(codec.compress(img, quality=1))  # warm-up: tables, first calls
    out = {"photo": "moon", "shape": list(img.shape), "threads": threads, "per_quality": {}}
    for q in range(1, codec.config.qualities + 1):
        enc, dec = [], []
        for _ in range(repeats):
            t0 = time.process_time()
            blob = codec.compress(img, quality=q)
            t1 = time.process_time()
            codec.decompress(blob)
            enc.append(t1 - t0)
            dec.append(time.process_time() - t1)
        out["per_quality"][str(q)] = {"compress_cpu_s": min(enc), "decompress_cpu_s": min(dec),
                                      "bpp": 8 * len(blob) / img.size}
    pq = out["per_quality"].values()
    out["compress_cpu_s_max"] = max(r["compress_cpu_s"] for r in pq)
    out["decompress_cpu_s_max"] = max(r["decompress_cpu_s"] for r in pq)
    return out


def plot(figures: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = figures["sets"]
    fig, axes = plt.subplots(1, len(sets), figsize=(5.5 * len(sets), 4.2), squeeze=False)
    for ax, (set_name, s) in zip(axes[0], sets.items(), strict=True):
        means = s["means"]
        top = max(m["bpp"] for m in means) * 1.3
        for fmt, style in (("JPEG", "s"), ("WEBP", "^")):
            label = LABEL[fmt]
            curve = s["curves"][label]
            pts = [c for c in curve if c[1] <= top]
            line = ax.plot([c[1] for c in pts], [c[2] for c in pts], "-", lw=1, alpha=0.5,
                           label=f"{label}, mean over fixed settings")[0]
            ax.plot([m[label]["bpp"] for m in means], [m[label]["psnr"] for m in means], style, color=line.get_color(),
                    label=f"{label}, matched (rate not above ours)")
        ax.plot([m["bpp"] for m in means], [m["psnr"] for m in means], "o-", color="k", label="latentlab")
        ax.axvspan(0.25, 1.0, color="0.93", zorder=0)
        ax.set(title=f"{set_name} ({s['photos']} photos)", xlabel="bits per pixel (whole file)", ylabel="mean PSNR (dB)")
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    from latentlab._files import atomic_write_bytes

    atomic_write_bytes(path, buf.getvalue())
    print(f"plot: {path}")


def main(argv=None) -> None:
    clock = start()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("photos", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "photos",
                    help="the folder holding BSD68/ and Set12/")
    ap.add_argument("--model", default=None, metavar="DIR", help="a saved ImageCodec folder (default: the shipped one)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos of each set (a smoke run)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--repeats", type=int, default=3, help="timed codings of the 512 x 512 photo a quality")
    args = ap.parse_args(argv)
    import torch

    import latentlab

    torch.set_num_threads(args.threads)
    codec = latentlab.ImageCodec.pretrained() if args.model is None else latentlab.ImageCodec.load(args.model)
    info = {k: codec.metrics.get(k) for k in ("recipe_sha256", "steps", "finished", "cpu_s")}
    recipe = codec.metrics.get("recipe") or {}
    info["recipe"], steps = recipe.get("name"), recipe.get("steps")
    model = "the shipped codec" if args.model is None else args.model
    if codec.metrics.get("parent"):  # the stage that adds a lower quality: where its first run had got to
        info["parent"] = codec.metrics["parent"]
    state = codec_state(info, steps)
    print(f"{model}: {codec.config}; {state}", flush=True)
    figures: dict = {"model": model, "training": info, "config": codec.config.to_dict(), "sets": {}}
    rows = []
    for set_name in SETS:
        photos = read_set(args.photos / set_name)[: args.limit or None]
        print(f"{set_name}: {len(photos)} photos", flush=True)
        scored = score_set(codec, photos)
        means = set_means(scored, codec.config.qualities)
        curves = {LABEL[fmt]: [[q, float(np.mean([s[i][1] for s in sw])), float(np.mean([s[i][2] for s in sw]))]
                               for i, q in enumerate(BASELINES[fmt][0])] for fmt, sw in scored["sweeps"].items()}
        figures["sets"][set_name] = {"photos": len(photos), "means": means, "curves": curves,
                                     "per_photo": scored["per_photo"]}
        for m in means:
            j, w = m["JPEG"], m["WebP"]
            rows.append([set_name, m["quality"], f"{m['bpp']:.3f}", f"{m['psnr']:.2f}", f"{j['bpp']:.3f}",
                         f"{j['psnr']:.2f}", f"{w['bpp']:.3f}", f"{w['psnr']:.2f}", f"{j['gain_same_photos']:+.2f}",
                         f"{w['gain_same_photos']:+.2f}", f"{j['above_it']}/{j['matched']}",
                         f"{w['above_it']}/{w['matched']}"])
    spec = table(["set", "quality", "latentlab bpp", "latentlab PSNR", "JPEG bpp", "JPEG PSNR", "WebP bpp", "WebP PSNR",
                  "vs JPEG (dB)", "vs WebP (dB)", "photos above JPEG", "photos above WebP"], rows,
                 ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"])
    print(markdown(spec))
    figures["timing_512"] = timing = time_coding(codec, args.threads, args.repeats)
    tspec = table(["quality", "bpp (moon)", "compress CPU s", "decompress CPU s"],
                  [[q, f"{r['bpp']:.3f}", f"{r['compress_cpu_s']:.2f}", f"{r['decompress_cpu_s']:.2f}"]
                   for q, r in timing["per_quality"].items()], ["r", "r", "r", "r"])
    print(f"512 x 512 grey photo, {args.threads} torch thread(s), process CPU seconds:\n{markdown(tspec)}")
    name = name_for("image_codec", ap, args, ignore=("photos", "threads", "repeats"))
    plot(figures, _record.RESULTS / f"{name}_rd.png", f"{model}: {state}")
    write_record(name, figures, split="test (BSD68, Set12; nothing chosen on them)", args=args, started=clock,
                 baselines={"JPEG": "Pillow, optimize=True, settings 1-100: the largest file not above latentlab's",
                            "WebP": "Pillow, lossy, method=6, settings 0-100: the largest file not above latentlab's"},
                 tables={"main": spec, "timing_512": tspec},
                 notes=f"{model} ({state}); means over each set's photos; bpp = 8 x whole file bytes / pixels; "
                       "baseline means over the photos where it has a file no larger than latentlab's")


if __name__ == "__main__":
    main()
