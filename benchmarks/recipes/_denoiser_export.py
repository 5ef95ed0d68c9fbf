"""Write the shipped denoiser (package data) from the recipe's finished checkpoint.

The folder ``src/latentlab/pretrained/denoiser-grey/`` is an ordinary saved
model (``ImageDenoiser.save``) whose ``metrics.json`` records the recipe, its
SHA-256, the steps, the CPU seconds, the validation history and, for a stage
recipe, the parent run it started from (its step and CPU seconds); ``config.json``
names how the weights are stored (``--weights float16``: rounded to half
precision, half the file; they load as float32). ``denoiser.onnx`` is the network's graph without its weights,
which onnxruntime runs with the weights of ``model.safetensors``
(``latentlab.models.denoising.OnnxDenoiser``: the command line's path without torch). The SHA-256
lines it prints go into ``latentlab.models.pretrained.SHIPPED``.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import _checkpoint as checkpoint
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
NAME = "denoiser-grey"
FILES = ("config.json", "model.safetensors", "scaler.json", "metrics.json", "denoiser.onnx")


def export(run: Path, recipe: dict, recipe_sha: str, out: Path | None = None, weights: str = "float32") -> Path:
    import latentlab
    from latentlab.apps.onnx_export import export_denoiser_graph
    from latentlab.data.scaling import Scaler

    tensors, meta = checkpoint.read(run)
    if meta["recipe_hash"] != recipe_sha:
        raise SystemExit(f"the checkpoint in {run} was made by another recipe; retrain.")
    if meta["step"] < recipe["steps"]:
        raise SystemExit(f"the run in {run} is at step {meta['step']} of {recipe['steps']}: resume it to the end first.")
    net = recipe["network"]
    p = recipe["patch"]
    den = latentlab.ImageDenoiser(hidden=tuple(net["hidden"]), depth=net["depth"], activation=net["activation"],
                                  residual=net["residual"], input_shape=(1, p, p), noise_level=25 / 255,
                                  max_noise_level=recipe["sigma_range"][1] / 255)
    den.build()
    den.net.load_state_dict(checkpoint.network_state(tensors))
    den.scaler = Scaler("none").fit(np.zeros((2, 1, p, p), np.float32))
    den.eval()
    out = out or ROOT / "src" / "latentlab" / "pretrained" / NAME
    if out.exists():
        shutil.rmtree(out)
    den.save(out, metrics={"recipe": recipe, "recipe_sha256": recipe_sha, "steps": meta["step"],
                           "cpu_s": round(meta["cpu_s"], 1), "wall_s": round(meta["wall_s"], 1),
                           "sittings": meta["sittings"], "validation": meta["history"],
                           "held_out": meta["held_out"], **({"parent": meta["parent"]} if "parent" in meta else {})},
             weights=weights)
    export_denoiser_graph(den, out / "denoiser.onnx")
    for leftover in out.iterdir():
        if leftover.name not in FILES:
            raise SystemExit(f"unexpected file {leftover} in the export")
    print(f'    "{NAME}": {{')
    for f in FILES:
        print(f'        "{f}": "{hashlib.sha256((out / f).read_bytes()).hexdigest()}",')
    print("    },")
    return out
