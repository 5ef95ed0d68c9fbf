"""The follow-on stage of the codec recipe (``codec.py --recipe image-codec-grey-7q --from RUN``): a quality below
the lowest, added to the finished run of the first recipe, then every quality trained on a little.

The stage's recipe is the first recipe (``codec.RECIPE``) with the new lambda in front of its lambdas, its own
learning rate, seed and steps, and the first recipe's SHA-256 (``parent_hash``): only a checkpoint of that
recipe is taken as the parent. The new quality starts as :meth:`latentlab.ImageCodec.with_lower_quality`
makes it; Adam's moments and step counts carry over from the parent's checkpoint, the new quality's rows
copied from the old lowest quality's (a fresh Adam would move every weight by about the learning rate in its
first steps, whatever its gradient, and so shift the qualities already trained).
"""

from __future__ import annotations

from pathlib import Path

import _checkpoint as checkpoint
import torch

from latentlab.models.image_codec import lower_quality_rows

#: What the stage sets on top of the first recipe (``stage_recipe``). ``lambda``: the added quality's weight,
#: chosen on the 40 held-out Train400 photos only (``docs/image_codec.md``): with the new quality's gains and
#: density trained alone for 250 steps on the run's weights at step 48,210, lambda 0.0018 coded them at 0.286
#: bpp, 0.0012 at 0.220 and 0.0009 at 0.180; 0.0012 reaches below 0.25 bpp with a margin. ``seed`` differs from
#: the first recipe's so the stage does not draw the first recipe's first crops again.
STAGE = {"name": "image-codec-grey-7q", "lambda": 0.0012, "lr": 1e-4, "lr_final": 1e-5, "seed": 1, "steps": 10_000}


def stage_recipe(parent: dict, parent_hash: str, stage: dict = STAGE) -> dict:
    """The stage's recipe (hashed as any recipe) on top of ``parent``, the first recipe (SHA-256 ``parent_hash``)."""
    lambdas = [stage["lambda"], *parent["model"]["lambdas"]]
    return {**parent, "name": stage["name"], "parent": parent["name"],
            "parent_hash": parent_hash, "model": {**parent["model"], "lambdas": lambdas},
            "new_quality": "quality 1 added below the parent's: gains on the line through the two lowest log-gains "
                           "against log(lambda), density copied from the old lowest; Adam's state carried over",
            "lr": stage["lr"], "lr_final": stage["lr_final"], "seed": stage["seed"], "steps": stage["steps"]}


def start(parent_run: Path, recipe: dict, parent_recipe: dict, device: str, build_codec):
    """The stage's network and Adam at its step 0, from the checkpoint in ``parent_run``; and what it started from.

    Refuses (``SystemExit``) a folder with no checkpoint, or one made by another recipe than ``parent_recipe``.
    """
    if not (Path(parent_run) / checkpoint.CHECKPOINT).is_file():
        raise SystemExit(f"--from {parent_run}: no {checkpoint.CHECKPOINT} there; pass the run folder of the first "
                         f"codec recipe ({recipe['parent']}).")
    tensors, meta = checkpoint.read(Path(parent_run))
    if meta.get("recipe_hash") != recipe["parent_hash"]:
        raise SystemExit(f"--from {parent_run}: its checkpoint was made by another recipe (hash "
                         f"{meta.get('recipe_hash')}), not the one stage {recipe['name']} starts from ("
                         f"{recipe['parent']}, hash {recipe['parent_hash']}); pass a run of that recipe, with the "
                         "same --entropy.")
    parent = build_codec(parent_recipe).to(device)
    parent_opt = torch.optim.Adam(parent.parameters(), lr=recipe["lr"])
    checkpoint.restore(Path(parent_run), parent, parent_opt, device, recipe["parent_hash"])
    net = parent.with_lower_quality(recipe["model"]["lambdas"][0])
    net.fitted = False  # trained by the stage; the export marks it fitted
    opt = torch.optim.Adam(net.parameters(), lr=recipe["lr"])
    for (name, old), new in zip(parent.named_parameters(), net.parameters()):
        st = parent_opt.state.get(old)
        if st:
            opt.state[new] = {"step": st["step"].clone(),
                              "exp_avg": lower_quality_rows(name, st["exp_avg"], parent.coded_channels).clone(),
                              "exp_avg_sq": lower_quality_rows(name, st["exp_avg_sq"], parent.coded_channels).clone()}
    origin = {"run": str(parent_run), "recipe_hash": meta["recipe_hash"], "step": meta["step"],
              "finished": meta["step"] >= parent_recipe["steps"], "cpu_s": round(meta.get("cpu_s", 0.0), 1)}
    if not origin["finished"]:
        print(f"note: the parent run is at step {meta['step']} of {parent_recipe['steps']}: it has not finished; the "
              "stage starts from it all the same (the export says so).", flush=True)
    return net, opt, origin
