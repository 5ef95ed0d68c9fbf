"""The recipe that trains latentlab's grey ImageCodec (all qualities in one model), resumable across sittings.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recipes/codec.py ../shared/data/photos/Train400 \
        --run /work/runs/codec --minutes 90            # a sitting; run it again to go on
    .venv/bin/python benchmarks/recipes/codec.py --run /work/runs/codec --export OUT   # a model folder
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recipes/codec.py ../shared/data/photos/Train400 \
        --recipe image-codec-grey-7q --from /work/runs/codec --run /work/runs/codec-7q   # the stage, afterwards

What is fixed (``RECIPE``; its SHA-256 is kept in the checkpoint, and a
checkpoint of another recipe is refused): the network (``ImageCodecConfig``
fields under ``"model"``), the data (the 400 grey 180x180 photos of DnCNN's
"Train400"; 40 of them, drawn by a seeded permutation, are held out for
validation and never trained on; no other photos: the allowed scikit-image
ones are few and mostly not natural scenes, so they were left out), random
``patch`` crops with the 8 flips and quarter turns, ``batch`` crops a step,
each taking its turn at the qualities, the loss ``bpp + lambda_q 255^2 MSE``,
Adam at ``lr`` with a cosine decay to ``lr_final`` over ``steps`` steps, and
soft then hard quantisation: for the last ``hard_fraction`` of the steps the
analysis transforms and gains are frozen and the rate is that of the rounded
latents (Guo et al. 2021). Each step's crops come from a generator seeded by
``(seed, step)`` and its noise from a torch generator seeded the same way, so
a resumed run draws exactly what an unbroken one would.

On CPUs with bf16 units (``avx512_bf16`` or ``amx_bf16``) the transforms run
under bf16 autocast (the entropy models stay float32); a GPU is used where
present (``--device``). The entropy model is the factorised prior: at
equal CPU (12 CPU-minutes each, benchmarks/reports/image_codec.md) it led the
scale hyperprior by 0.4 dB on the held-out photos. ``--entropy hyperprior``
trains the other (a different recipe, hence another hash and run folder).

Validation, every ``--validate`` steps, on the held-out photos at every
quality: the real coded size (bits per pixel of the whole file, header
included) and the PSNR of the decoded photo, kept with the CPU seconds in
the checkpoint's history, so the rate-distortion curve of every sitting stays.

The stage ``image-codec-grey-7q`` (``--recipe``, ``_codec_stage.py``) goes on from a run of this recipe
(``--from RUN``, refused if made by another recipe): it adds a quality below the lowest, for rates down to
0.25 bpp, and trains all seven a little more. It is a recipe of its own (its hash covers this one's) with
its own run folder, resumed and exported as this one is.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from latentlab import ImageCodec  # noqa: E402
from latentlab.data.tensors import Batch  # noqa: E402
from latentlab.models.image_codec import DEFAULT_LAMBDAS, ImageCodecConfig  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _checkpoint as checkpoint  # noqa: E402
import _codec_stage as stage  # noqa: E402
import _photos as photo_recipes  # noqa: E402
from denoiser import bf16_cpu  # noqa: E402

RECIPE = {
    "name": "image-codec-grey",
    "model": {"channels": 64, "latent_channels": 96, "stages": 4, "lambdas": list(DEFAULT_LAMBDAS),
              "entropy": "factorized", "hyper_channels": 64},
    "data": "Train400 (400 grey 180x180 photos); 40 held out by numpy.random.default_rng(32).permutation(400)[:40]",
    "held_out": 40,
    "split_seed": 32,
    "patch": 128,
    "batch": 8,
    "loss": "bpp + lambda_q * 255^2 * mse, qualities taking turns in the batch",
    "optimizer": "adam",
    "lr": 1e-3,
    "lr_final": 1e-5,
    "schedule": "cosine",
    "grad_clip": 1.0,
    "hard_fraction": 0.1,
    "seed": 0,
    "steps": 100_000,
}
FROZEN_IN_HARD = ("analysis.", "log_gain", "hyper_analysis.")  # what the soft-then-hard end leaves as it is


def recipe_hash(recipe: dict = RECIPE) -> str:
    """SHA-256 of the recipe's fixed settings, as sorted JSON."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def recipes(first: dict = RECIPE) -> dict[str, dict]:
    """The recipes by name: ``first`` (``RECIPE``, the 6 qualities) and the stage that adds a lower quality to a
    run of it (``_codec_stage.STAGE``; ``--recipe image-codec-grey-7q --from RUN``)."""
    follow_on = stage.stage_recipe(first, recipe_hash(first))
    return {first["name"]: first, follow_on["name"]: follow_on}


def build_codec(recipe: dict = RECIPE) -> ImageCodec:
    m = dict(recipe["model"])
    m["lambdas"] = tuple(m["lambdas"])
    return ImageCodec(ImageCodecConfig(**m))


def read_photos(folder: Path, recipe: dict = RECIPE) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The training and held-out photos, ``(N, H, W)`` float32 on [0, 1], and the held-out names."""
    return photo_recipes.read_split(folder, recipe["held_out"], recipe["split_seed"], min_side=recipe["patch"])


def batch_for(photos: np.ndarray, step: int, recipe: dict = RECIPE) -> torch.Tensor:
    """Step ``step``'s crops ``(B, 1, p, p)`` (seeded by the recipe's seed and the step)."""
    rng = np.random.default_rng([recipe["seed"], step])
    out = photo_recipes.crops(rng, photos, recipe["patch"], recipe["batch"])
    return torch.from_numpy(out)


def learning_rate(step: int, recipe: dict = RECIPE) -> float:
    return photo_recipes.cosine_lr(step, recipe["steps"], recipe["lr"], recipe["lr_final"])


def hard_from(recipe: dict = RECIPE) -> int:
    """The first step of the hard (rounded, analysis frozen) part."""
    return int(round(recipe["steps"] * (1 - recipe["hard_fraction"])))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / max(np.mean((a.astype(np.float64) - b) ** 2), 1e-12)))


def validate(net: ImageCodec, val: np.ndarray) -> dict[str, dict[str, float]]:
    """Per quality (1-based): mean bits per pixel of the real bytes (header included) and mean PSNR of the decoded
    photos, over the held-out photos. Coding runs on the CPU in float32, as a user's would."""
    codec = copy.deepcopy(net).to("cpu").float().eval()
    codec.fitted = True
    photos = [np.rint(p * 255).astype(np.uint8) for p in val]
    out = {}
    for q in range(1, codec.config.qualities + 1):
        bpp, db = [], []
        for img in photos:
            blob = codec.compress(img, quality=q)
            bpp.append(8 * len(blob) / img.size)
            db.append(psnr(codec.decompress(blob), img))
        out[str(q)] = {"bpp": round(float(np.mean(bpp)), 4), "psnr": round(float(np.mean(db)), 3)}
    return out


def jpeg_curve(val: np.ndarray) -> list[list[float]]:
    """Pillow's JPEG on the held-out photos: ``[setting, mean bpp, mean PSNR]`` for settings 1..95, by rate."""
    import io

    from PIL import Image

    photos = [np.rint(p * 255).astype(np.uint8) for p in val]
    out = []
    for q in [1, 2, 3, 4, *range(5, 96, 5)]:
        bpp, db = [], []
        for img in photos:
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=q)
            bpp.append(8 * buf.tell() / img.size)
            db.append(psnr(np.asarray(Image.open(io.BytesIO(buf.getvalue()))), img))
        out.append([q, round(float(np.mean(bpp)), 4), round(float(np.mean(db)), 3)])
    return sorted(out, key=lambda r: r[1])


def jpeg_at(curve: list[list[float]], bpp: float) -> float:
    """JPEG's mean PSNR interpolated at the mean rate ``bpp`` (NaN outside its curve): a reference, not the benchmark."""
    rates = [r[1] for r in curve]
    if not curve or not rates[0] <= bpp <= rates[-1]:
        return float("nan")
    return float(np.interp(bpp, rates, [r[2] for r in curve]))


def _set_phase(net: ImageCodec, hard: bool) -> None:
    net.quantisation = "hard" if hard else "mixed"
    for name, p in net.named_parameters():
        p.requires_grad_(not (hard and name.startswith(FROZEN_IN_HARD)))


def train(args, recipe: dict = RECIPE, parent: dict | None = None) -> dict:
    """Train ``recipe`` (a stage too: ``parent`` is then the recipe of the ``--from`` run it starts from)."""
    torch.manual_seed(recipe["seed"])
    device = args.device
    train_photos, val, held_names = read_photos(Path(args.data), recipe)
    net = build_codec(recipe).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=recipe["lr"])
    run, sha = Path(args.run), recipe_hash(recipe)
    meta = {"recipe_hash": sha, "recipe": recipe, "step": 0, "cpu_s": 0.0, "wall_s": 0.0, "history": [],
            "sittings": [], "held_out": held_names}
    if (run / checkpoint.CHECKPOINT).exists():
        meta = checkpoint.restore(run, net, opt, device, sha)
        if parent is not None:
            checkpoint.check_same_parent(args.from_run, meta)
        print(f"resumed at step {meta['step']} ({meta['cpu_s']:.0f} CPU s so far)", flush=True)
    elif parent is not None:
        if not args.from_run:
            raise SystemExit(f"recipe {recipe['name']} starts from a run of {parent['name']}: pass --from RUN (its "
                             "run folder) the first time.")
        net, opt, meta["parent"] = stage.start(Path(args.from_run), recipe, parent, device, build_codec)
        print(f"stage {recipe['name']}: from step {meta['parent']['step']} of {args.from_run}, quality 1 at lambda "
              f"{recipe['model']['lambdas'][0]}", flush=True)
    if "jpeg_curve" not in meta:
        meta["jpeg_curve"] = jpeg_curve(val)
    use_bf16 = device == "cpu" and bf16_cpu() and not args.no_bf16
    meta["sittings"].append({"start_step": meta["step"], "device": device, "bf16": use_bf16,
                             "threads": torch.get_num_threads()})
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    t_cpu, t_wall, last_save = time.process_time(), time.time(), time.time()
    cpu0, wall0 = meta["cpu_s"], meta["wall_s"]
    deadline = time.time() + 60 * args.minutes if args.minutes else math.inf
    cpu_end = cpu0 + 60 * args.cpu_minutes if args.cpu_minutes else math.inf
    sums = {"loss": 0.0, "bpp": 0.0, "mse": 0.0, "n": 0}
    until = min(recipe["steps"], args.until or recipe["steps"])
    net.train()
    while meta["step"] < until and not stop["now"] and time.time() < deadline and meta["cpu_s"] < cpu_end:
        step = meta["step"]
        _set_phase(net, step >= hard_from(recipe))
        torch.manual_seed(recipe["seed"] * 1_000_003 + step)  # the step's quantisation noise and quality turn
        x = batch_for(train_photos, step, recipe).to(device)
        for g in opt.param_groups:
            g["lr"] = learning_rate(step, recipe)
        with torch.autocast(device_type="cpu" if device == "cpu" else "cuda", dtype=torch.bfloat16,
                            enabled=use_bf16 or device != "cpu"):
            out = net.loss(Batch(x))
        opt.zero_grad(set_to_none=True)
        out.total.backward()
        torch.nn.utils.clip_grad_norm_([p for p in net.parameters() if p.grad is not None], recipe["grad_clip"])
        opt.step()
        sums["loss"] += out.total.item()
        sums["bpp"] += float(out.parts["bpp"])
        sums["mse"] += float(out.parts["mse"])
        sums["n"] += 1
        meta["step"] = step + 1
        meta["cpu_s"] = cpu0 + time.process_time() - t_cpu
        meta["wall_s"] = wall0 + time.time() - t_wall
        if meta["step"] % args.validate == 0 or meta["step"] == recipe["steps"]:
            _validate_into(net, val, meta, sums, recipe)
            net.train()
        if time.time() - last_save > 60 * args.every:
            checkpoint.save(run, net, opt, meta)
            last_save = time.time()
    if args.validate_at_end and sums["n"]:
        _validate_into(net, val, meta, sums, recipe)
    checkpoint.save(run, net, opt, meta)
    done = meta["step"] >= recipe["steps"]
    print(f"{'finished' if done else 'paused'} at step {meta['step']} of {recipe['steps']}; "
          f"{meta['cpu_s']:.0f} CPU s, {meta['wall_s']:.0f} wall s in all; checkpoint {run / checkpoint.CHECKPOINT}",
          flush=True)
    return meta


def _validate_into(net, val, meta, sums, recipe) -> None:
    n = max(sums["n"], 1)
    v = validate(net, val)
    meta["history"].append({"step": meta["step"], "cpu_s": round(meta["cpu_s"], 1), "sitting": len(meta["sittings"]),
                            "train_loss": round(sums["loss"] / n, 5), "train_bpp": round(sums["bpp"] / n, 5),
                            "train_mse": round(sums["mse"] / n, 7), "val": v})
    for k in sums:
        sums[k] = 0.0 if k != "n" else 0
    ref = meta.get("jpeg_curve", [])
    curve = "  ".join(f"q{q}: {r['bpp']:.3f} bpp {r['psnr']:.2f} dB (JPEG {jpeg_at(ref, r['bpp']):.2f})"
                      for q, r in v.items())
    print(f"step {meta['step']:6d}  lr {learning_rate(meta['step'] - 1, recipe):.2e}  CPU {meta['cpu_s']:7.0f} s  "
          f"{curve}", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", default=str(ROOT.parent / "shared" / "data" / "photos" / "Train400"),
                    help="the Train400 folder (400 grey 180x180 photos)")
    ap.add_argument("--run", default=None, help="checkpoint folder (default runs/recipes/codec, or codec-7q for the "
                    "stage)")
    ap.add_argument("--minutes", type=float, default=0, help="stop (and checkpoint) after this many wall minutes")
    ap.add_argument("--cpu-minutes", type=float, default=0, help="stop once the run has this many CPU minutes in all")
    ap.add_argument("--until", type=int, default=0, help="stop (and checkpoint) after this step; 0: the end")
    ap.add_argument("--every", type=float, default=5, help="minutes between checkpoints")
    ap.add_argument("--validate", type=int, default=2000, help="steps between validations")
    ap.add_argument("--validate-at-end", action="store_true", help="validate when the sitting ends too")
    ap.add_argument("--entropy", choices=("factorized", "hyperprior"), default=None,
                    help="train the other entropy model (another recipe: its own run folder)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads on the CPU")
    ap.add_argument("--no-bf16", action="store_true", help="float32 on the CPU even where bf16 units exist")
    ap.add_argument("--export", metavar="OUT", default=None, help="write the checkpoint's codec as a model folder")
    ap.add_argument("--recipe", default=RECIPE["name"],
                    help=f"which recipe: {RECIPE['name']} (the default, 6 qualities) or the stage "
                         f"{stage.STAGE['name']}, which adds a lower quality to a run of the first (needs --from)")
    ap.add_argument("--from", dest="from_run", metavar="RUN", default=None,
                    help="the stage only: the run folder of the first recipe it starts from")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    first = RECIPE
    if args.entropy and args.entropy != RECIPE["model"]["entropy"]:
        first = copy.deepcopy(RECIPE)
        first["model"]["entropy"] = args.entropy
    known = recipes(first)
    if args.recipe not in known:
        raise SystemExit(f"--recipe {args.recipe!r} is not one of {sorted(known)}.")
    recipe = known[args.recipe]
    parent = first if recipe is not first else None
    if args.run is None:
        args.run = str(ROOT / "runs" / "recipes" / ("codec" if parent is None else "codec-7q"))
    if args.from_run and parent is None:
        raise SystemExit(f"--from is for the stage ({sorted(set(known) - {first['name']})[0]}); the first recipe "
                         "starts from nothing.")
    if args.export:
        from _codec_export import export  # noqa: PLC0415  (beside this file)

        export(Path(args.run), recipe, recipe_hash(recipe), Path(args.export))
        return
    train(args, recipe, parent)


if __name__ == "__main__":
    main()
