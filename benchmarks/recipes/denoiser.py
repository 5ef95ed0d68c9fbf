"""The recipe that trains latentlab's shipped blind grey denoiser, resumable across sittings.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recipes/denoiser.py ../shared/data/photos/Train400 \
        --recipe denoiser-grey-blind-v2 --run runs/recipes/denoiser --minutes 150   # a sitting; again to go on
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recipes/denoiser.py ../shared/data/photos/Train400 \
        --from runs/recipes/denoiser --run runs/recipes/denoiser-128               # the stage (the default recipe)
    .venv/bin/python benchmarks/recipes/denoiser.py --run runs/recipes/denoiser-128 --export --weights float16
                                                           # writes the package data

The shipped model is ``V2`` (``denoiser-grey-blind-v2``) followed by its stage
``V2_128`` (``denoiser-grey-blind-v2-128``, the default: 3,000 steps on larger
crops from V2's finished run), exported with ``--weights float16``; ``V1``
(``--recipe denoiser-grey-blind``), a network two thirds as wide trained half
as long, made the model shipped before V2. What is fixed (``RECIPE``; its SHA-256 is written
into the shipped model's metrics and checked by the tests): the network
(latentlab's residual U-Net, channels (48, 96, 192) for V2, two 3x3
convolutions a stage), the data (the 400 grey 180x180
photos of DnCNN's "Train400"; 40 of them, drawn by a seeded permutation, are
held out for validation and never trained on), random 64x64 crops with the 8
flips and quarter turns, batches of 16, white Gaussian noise with a standard
deviation drawn uniformly from 0 to 55 (on 0..255) for every patch and not
clipped (a blind model, as DnCNN-B), the mean squared error, Adam at 1e-3
with a cosine decay to 1e-5 over ``steps`` steps. Each step's patches and
noise come from generators seeded by ``(seed, step)``, so a resumed run draws
exactly what an unbroken one would.

On CPUs with bf16 units (``avx512_bf16`` or ``amx_bf16`` in ``lscpu``) the
forward and backward passes run under bf16 autocast (about 2x faster on
such a CPU); the weights, the optimiser and the loss stay float32. Where a
GPU is present it is used (``--device``).

The run folder holds one file, ``checkpoint.safetensors`` (weights, Adam
state, and in its metadata the step, the CPU seconds so far and the
validation history), written atomically every ``--every`` minutes and when
the sitting ends. Validation: PSNR on the 40 held-out photos with noise of
sigma 15, 25 and 50 (a fixed seed per photo), every ``--validate`` steps.
"""

from __future__ import annotations

import argparse
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

from latentlab.nn.fcn import UNet  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _checkpoint as checkpoint  # noqa: E402
import _photos as photo_recipes  # noqa: E402

V1 = {
    "name": "denoiser-grey-blind",
    "network": {"hidden": [32, 64, 128], "depth": 2, "activation": "relu", "residual": True},
    "data": "Train400 (400 grey 180x180 photos); 40 held out by numpy.random.default_rng(32).permutation(400)[:40]",
    "held_out": 40,
    "split_seed": 32,
    "patch": 64,
    "batch": 16,
    "sigma_range": [0.0, 55.0],
    "loss": "mse",
    "optimizer": "adam",
    "lr": 1e-3,
    "lr_final": 1e-5,
    "schedule": "cosine",
    "seed": 0,
    "steps": 24_000,
    "validation_sigmas": [15, 25, 50],
}

#: The second recipe, for a longer run (several sittings on one CPU core, or minutes on a GPU): the same data,
#: noise and schedule, a network half as wide again (channels (48, 96, 192), about 2.25x the work a step and
#: 1.76 million weights) and twice the steps. Chosen because the first recipe's validation PSNR stopped
#: rising after 15,000 of its 24,000 steps while its training error still fell (``metrics.json``).
V2 = {**V1, "name": "denoiser-grey-blind-v2",
      "network": {"hidden": [48, 96, 192], "depth": 2, "activation": "relu", "residual": True}, "steps": 48_000}


def _sha(recipe: dict) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


#: A stage on top of V2's finished run (``--recipe denoiser-grey-blind-v2-128 --from V2_RUN --run NEW``): the
#: same network, noise and data, larger crops (128x128, batches of 4: the same pixels a step as 16 of 64x64),
#: a small learning rate (2e-5, cosine to 1e-6), a fresh Adam and a seed of its own, for 3,000 steps. Chosen on
#: the 40 held-out photos only: V2's 32.33 / 29.89 / 26.71 dB at sigma 15 / 25 / 50 rose by about +0.04 / +0.02 /
#: +0.11 (crops of 64x64 see too little of a photo for the heavy noise); 160x160 crops gained the same.
V2_128 = {**V2, "name": "denoiser-grey-blind-v2-128", "parent": V2["name"], "parent_hash": _sha(V2),
          "patch": 128, "batch": 4, "lr": 2e-5, "lr_final": 1e-6, "seed": 1, "steps": 3_000}
RECIPES = {r["name"]: r for r in (V1, V2, V2_128)}
#: The recipe a run follows (``--recipe NAME`` picks another; the shipped model names its own in metrics.json).
RECIPE = dict(V2_128)


def recipe_hash(recipe: dict = RECIPE) -> str:
    """SHA-256 of the recipe's fixed settings, as sorted JSON."""
    return _sha(recipe)


def start_from_parent(net: torch.nn.Module, parent_run: Path | None) -> dict:
    """Load a stage's starting weights from its parent's finished run; what it started from (for the metrics).

    Refuses (``SystemExit``) a missing ``--from``, a folder with no checkpoint, a checkpoint of another recipe
    and an unfinished parent run.
    """
    parent = RECIPES[RECIPE["parent"]]
    if parent_run is None or not (Path(parent_run) / checkpoint.CHECKPOINT).is_file():
        raise SystemExit(f"recipe {RECIPE['name']} starts from a finished run of {parent['name']}: pass its run "
                         f"folder with --from (it holds {checkpoint.CHECKPOINT}).")
    tensors, meta = checkpoint.read(Path(parent_run))
    if meta.get("recipe_hash") != RECIPE["parent_hash"]:
        raise SystemExit(f"--from {parent_run}: its checkpoint was made by another recipe (hash "
                         f"{meta.get('recipe_hash')}), not {parent['name']} ({RECIPE['parent_hash']}).")
    if meta["step"] < parent["steps"]:
        raise SystemExit(f"--from {parent_run}: the run is at step {meta['step']} of {parent['steps']}; resume it "
                         "to the end first.")
    net.load_state_dict(checkpoint.network_state(tensors))
    return {"run": str(parent_run), "recipe_hash": meta["recipe_hash"], "step": meta["step"],
            "cpu_s": round(meta.get("cpu_s", 0.0), 1)}


def read_train400(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The training and held-out photos, ``(N, H, W)`` float32 on [0, 1], and the held-out names."""
    return photo_recipes.read_split(folder, RECIPE["held_out"], RECIPE["split_seed"])


def batch_for(photos: np.ndarray, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Step ``step``'s clean patches ``(B, 1, p, p)`` and their noise (seeded by the recipe's seed and the step)."""
    rng = np.random.default_rng([RECIPE["seed"], step])
    b = RECIPE["batch"]
    out = photo_recipes.crops(rng, photos, RECIPE["patch"], b)
    lo, hi = RECIPE["sigma_range"]
    sigma = rng.uniform(lo, hi, size=(b, 1, 1, 1)).astype(np.float32) / 255.0
    noise = rng.standard_normal(out.shape, dtype=np.float32) * sigma
    return torch.from_numpy(out), torch.from_numpy(noise)


def learning_rate(step: int) -> float:
    return photo_recipes.cosine_lr(step, RECIPE["steps"], RECIPE["lr"], RECIPE["lr_final"])


def build_net() -> torch.nn.Module:
    n = RECIPE["network"]
    return UNet(1, tuple(n["hidden"]), n["depth"], n["activation"], n["residual"])


def bf16_cpu() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def validate(net: torch.nn.Module, val: np.ndarray, device: str) -> dict[str, float]:
    """Mean PSNR on the held-out photos at each validation sigma (float32 inference, output clipped)."""
    net.eval()
    out = {}
    with torch.inference_mode():
        for s in RECIPE["validation_sigmas"]:
            scores = []
            for i, clean in enumerate(val):
                noise = np.random.default_rng([s, i]).standard_normal(clean.shape).astype(np.float32) * (s / 255)
                x = torch.from_numpy(clean + noise)[None, None].to(device)
                scores.append(psnr(net(x).clamp(0, 1)[0, 0].cpu().numpy(), clean))
            out[str(s)] = round(float(np.mean(scores)), 4)
    net.train()
    return out


def train(args) -> dict:
    torch.manual_seed(RECIPE["seed"])
    device = args.device
    train_photos, val, held_names = read_train400(Path(args.data))
    net = build_net().to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=RECIPE["lr"])
    run = Path(args.run)
    meta = {"recipe_hash": recipe_hash(), "step": 0, "cpu_s": 0.0, "wall_s": 0.0, "history": [],
            "sittings": [], "held_out": held_names}
    if (run / checkpoint.CHECKPOINT).exists():
        meta = checkpoint.restore(run, net, opt, device, recipe_hash())
        print(f"resumed at step {meta['step']} ({meta['cpu_s']:.0f} CPU s so far)", flush=True)
        if "parent" in meta:
            checkpoint.check_same_parent(args.from_run, meta)
    elif "parent" in RECIPE:
        meta["parent"] = start_from_parent(net, args.from_run)
        print(f"started from {RECIPE['parent']} at step {meta['parent']['step']}: val PSNR "
              f"{validate(net, val, device)}", flush=True)
    use_bf16 = device == "cpu" and bf16_cpu() and not args.no_bf16
    meta["sittings"].append({"start_step": meta["step"], "device": device, "bf16": use_bf16,
                             "cpu": (Path("/proc/cpuinfo").read_text().split("model name")[1].split("\n")[0]
                                     .strip(" :\t") if Path("/proc/cpuinfo").exists() else "?")})
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    t_cpu, t_wall, last_save = time.process_time(), time.time(), time.time()
    cpu0, wall0 = meta["cpu_s"], meta["wall_s"]
    deadline = time.time() + 60 * args.minutes if args.minutes else math.inf
    loss_sum, loss_n = 0.0, 0
    until = min(RECIPE["steps"], args.until or RECIPE["steps"])
    while meta["step"] < until and not stop["now"] and time.time() < deadline:
        step = meta["step"]
        clean, noise = batch_for(train_photos, step)
        clean = clean.to(device).contiguous(memory_format=torch.channels_last)
        noisy = clean + noise.to(device)
        for g in opt.param_groups:
            g["lr"] = learning_rate(step)
        with torch.autocast(device_type="cpu" if device == "cpu" else "cuda", dtype=torch.bfloat16,
                            enabled=use_bf16 or device != "cpu"):
            pred = net(noisy)
        loss = (pred.float() - clean).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum, loss_n = loss_sum + loss.item(), loss_n + 1
        meta["step"] = step + 1
        meta["cpu_s"] = cpu0 + time.process_time() - t_cpu
        meta["wall_s"] = wall0 + time.time() - t_wall
        if meta["step"] % args.validate == 0 or meta["step"] == RECIPE["steps"]:
            v = validate(net, val, device)
            meta["history"].append({"step": meta["step"], "cpu_s": round(meta["cpu_s"], 1),
                                    "train_mse": loss_sum / max(loss_n, 1), "val_psnr": v})
            loss_sum, loss_n = 0.0, 0
            print(f"step {meta['step']:6d}  lr {learning_rate(step):.2e}  CPU {meta['cpu_s']:8.0f} s  "
                  f"val PSNR {v}", flush=True)
        if time.time() - last_save > 60 * args.every:
            checkpoint.save(run, net, opt, meta)
            last_save = time.time()
    checkpoint.save(run, net, opt, meta)
    done = meta["step"] >= RECIPE["steps"]
    print(f"{'finished' if done else 'paused'} at step {meta['step']} of {RECIPE['steps']}; "
          f"{meta['cpu_s']:.0f} CPU s, {meta['wall_s']:.0f} wall s in all; checkpoint {run / checkpoint.CHECKPOINT}", flush=True)
    return meta


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", default=str(ROOT.parent / "shared" / "data" / "photos" / "Train400"),
                    help="the Train400 folder (400 grey 180x180 photos)")
    ap.add_argument("--run", default=str(ROOT / "runs" / "recipes" / "denoiser"), help="checkpoint folder")
    ap.add_argument("--minutes", type=float, default=0, help="stop (and checkpoint) after this many minutes; 0: run on")
    ap.add_argument("--until", type=int, default=0, help="stop (and checkpoint) after this step; 0: the end")
    ap.add_argument("--every", type=float, default=5, help="minutes between checkpoints")
    ap.add_argument("--validate", type=int, default=3000, help="steps between validations")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads on the CPU")
    ap.add_argument("--no-bf16", action="store_true", help="float32 on the CPU even where bf16 units exist")
    ap.add_argument("--export", action="store_true", help="write the package data from the finished checkpoint")
    ap.add_argument("--weights", choices=("float32", "float16"), default="float32",
                    help="how --export stores the weights (float16: half the file, rounded to half precision)")
    ap.add_argument("--from", dest="from_run", default=None,
                    help="a stage recipe's parent run folder (finished), read once when the stage starts")
    ap.add_argument("--recipe", choices=sorted(RECIPES), default=None,
                    help=f"which fixed recipe to follow (default {V2_128['name']}, the shipped model's stage; it "
                         f"starts from a finished run of {V2['name']})")
    args = ap.parse_args(argv)
    if args.recipe:
        RECIPE.clear()
        RECIPE.update(RECIPES[args.recipe])
    torch.set_num_threads(args.threads)
    if args.export:
        from _denoiser_export import export  # noqa: PLC0415  (the package-data writer, beside this file)

        export(Path(args.run), RECIPE, recipe_hash(), weights=args.weights)
        return
    train(args)


if __name__ == "__main__":
    main()
