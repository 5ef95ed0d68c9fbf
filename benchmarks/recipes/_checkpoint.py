"""The run folder of a resumable training recipe: one ``checkpoint.safetensors`` holding the network, Adam's
state and, in its metadata, the recipe's progress (a JSON object: step, CPU seconds, history, sittings).

Shared by the recipes in this folder (``denoiser.py``, ``codec.py`` and their stages). Files are written atomically and
read through latentlab's own safetensors reader (no pickle, corrupt files named).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save as st_save

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from latentlab._files import atomic_write_bytes  # noqa: E402
from latentlab.storage import read_safetensors  # noqa: E402

CHECKPOINT = "checkpoint.safetensors"


def save(folder: Path, net: torch.nn.Module, opt: torch.optim.Optimizer, progress: dict) -> Path:
    """Write ``net``'s weights, ``opt``'s Adam state and ``progress`` to ``folder/checkpoint.safetensors``."""
    tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    for i, p in enumerate(net.parameters()):
        st = opt.state.get(p)
        if st:
            tensors[f"adam.{i}.exp_avg"] = st["exp_avg"].cpu().contiguous()
            tensors[f"adam.{i}.exp_avg_sq"] = st["exp_avg_sq"].cpu().contiguous()
            tensors[f"adam.{i}.step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / CHECKPOINT, st_save(tensors, metadata={"progress": json.dumps(progress)}))
    return folder / CHECKPOINT


def read(folder: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors and the progress object of ``folder``'s checkpoint."""
    tensors, meta = read_safetensors(folder / CHECKPOINT)
    if "progress" not in meta:
        raise SystemExit(f"{folder / CHECKPOINT} holds no recipe progress: it was not written by a recipe.")
    return tensors, json.loads(meta["progress"])


def progress(folder: Path) -> dict:
    """Only the progress object of ``folder``'s checkpoint (step, CPU seconds, history, sittings)."""
    return read(folder)[1]


def network_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The network's ``state_dict`` out of a checkpoint's tensors."""
    return {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}


def restore(folder: Path, net: torch.nn.Module, opt: torch.optim.Optimizer, device: str, recipe_hash: str) -> dict:
    """Load ``folder``'s checkpoint into ``net`` and ``opt``; refuse one made by another recipe. Returns progress."""
    tensors, meta = read(folder)
    if meta.get("recipe_hash") != recipe_hash:
        raise SystemExit(f"{folder / CHECKPOINT} was made by another recipe (hash {meta.get('recipe_hash')}); "
                         "start a new --run folder.")
    net.load_state_dict(network_state(tensors))
    for i, p in enumerate(net.parameters()):
        if f"adam.{i}.exp_avg" in tensors:
            opt.state[p] = {"step": tensors[f"adam.{i}.step"][0].clone(),
                            "exp_avg": tensors[f"adam.{i}.exp_avg"].to(device),
                            "exp_avg_sq": tensors[f"adam.{i}.exp_avg_sq"].to(device)}
    return meta


def check_same_parent(parent_run, meta: dict) -> None:
    """On resuming: a ``--from`` given again must be the parent the stage started from, at the same step."""
    if parent_run is None:
        return
    _, now = read(Path(parent_run))
    was = meta["parent"]
    if now.get("recipe_hash") != was["recipe_hash"] or now.get("step") != was["step"]:
        raise SystemExit(f"--from {parent_run} is at step {now.get('step')} (hash {now.get('recipe_hash')}), but this "
                         f"stage started from step {was['step']} (hash {was['recipe_hash']}); resume without --from, or "
                         "start the stage in a new --run folder.")
