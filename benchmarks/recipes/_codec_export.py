"""Write the codec of a recipe checkpoint (``benchmarks/recipes/codec.py``) as an ordinary model folder.

The folder is what :meth:`latentlab.ImageCodec.save` writes; its ``metrics.json``
records the recipe, its SHA-256, the step reached, the CPU seconds and the
validation history. A run that has not reached the recipe's last step is
exported too (for benchmarking a sitting), marked ``"finished": false``; so is a stage
(``--recipe image-codec-grey-7q``) whose parent run had not finished, and its ``"parent"`` says where it started.
The SHA-256 lines it prints go into ``latentlab.models.pretrained.SHIPPED``
when the folder becomes the shipped codec (``docs/pretrained.md``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import _checkpoint as checkpoint

FILES = ("config.json", "model.safetensors", "metrics.json")
NAME = "codec-grey"
#: Where the shipped codec lives (``latentlab.ImageCodec.pretrained()``): export to a fresh folder, then copy the
#: three files here and paste the printed SHA-256 lines into ``latentlab.models.pretrained.SHIPPED``.
SHIP = Path(__file__).resolve().parents[2] / "src" / "latentlab" / "pretrained" / NAME


def export(run: Path, recipe: dict, recipe_sha: str, out: Path):
    from codec import build_codec

    tensors, meta = checkpoint.read(run)
    if meta.get("recipe_hash") != recipe_sha:
        raise SystemExit(f"the checkpoint in {run} was made by another recipe (hash {meta.get('recipe_hash')}); "
                         "export it with the recipe (and --entropy) that made it.")
    codec = build_codec(recipe)
    codec.load_state_dict(checkpoint.network_state(tensors))
    codec.fitted = True
    codec.history = list(meta["history"])
    finished = meta["step"] >= recipe["steps"]
    stage = {}
    if "parent" in meta:  # a stage (codec.py --recipe ...-7q): finished once it and the run it started from are
        stage = {"parent": meta["parent"]}
        finished = finished and bool(meta["parent"]["finished"])
    codec.save(out, metrics={"recipe": recipe, "recipe_sha256": recipe_sha, "steps": meta["step"],
                             "finished": finished, "cpu_s": round(meta["cpu_s"], 1),
                             "wall_s": round(meta["wall_s"], 1), "sittings": meta["sittings"],
                             "held_out": meta["held_out"], **stage})
    print(f'    "{NAME}": {{  # for latentlab.models.pretrained.SHIPPED, when these files are copied to {SHIP}')
    for f in FILES:
        print(f'        "{f}": "{hashlib.sha256((out / f).read_bytes()).hexdigest()}",')
    print("    },")
    return out
