"""Checkpoints for resuming training: one safetensors file, never a pickle.

A checkpoint holds everything a killed run needs to go on as if nothing had
happened: the model's weights, config and fitted scaler, the optimizer and
scheduler state, the epoch, the history, every random generator (Python,
NumPy, torch, the trainer's shuffling generator) and the callbacks' state.
Tensors go in the safetensors body; the rest is JSON in its metadata, so
reading a checkpoint runs no code. It is written atomically (temporary file,
fsync, rename): a kill at any moment leaves either the previous checkpoint or
the new one, never a torn file.

This module knows the trainer's state, not the families: it reads a
checkpoint back as plain data (:class:`CheckpointFile`, the model's config
as a JSON object and its weights by name). Rebuilding the model from it,
through the family registry, is the fit path's job
(:mod:`latentlab.models.resume`).
"""

from __future__ import annotations

import json
import random
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save as safetensors_save

from .._files import atomic_write_bytes, remove_stale_temporaries
from ..errors import ConfigError, ModelFileError
from ..storage import check_finite_state, parse_json, read_safetensors
from . import distributed
from .callbacks import Callback

CHECKPOINT_FORMAT = "latentlab-checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.safetensors"


# ------------------------------------------------------------ pack / unpack
def pack(obj: Any, tensors: dict[str, torch.Tensor], prefix: str = "s/") -> Any:
    """JSON-ready copy of ``obj`` with each tensor moved into ``tensors`` (types preserved).

    Examples
    --------
    >>> t = {}
    >>> doc = pack({"step": torch.tensor(3.0), "betas": (0.9, 0.99), 0: [1]}, t)
    >>> unpack(json.loads(json.dumps(doc)), t)
    {'step': tensor(3.), 'betas': (0.9, 0.99), 0: [1]}
    """
    if isinstance(obj, torch.Tensor):
        name = f"{prefix}{len(tensors)}"
        tensors[name] = obj.detach().cpu().contiguous().clone()
        return {"$t": name}
    if isinstance(obj, tuple):
        return {"$tuple": [pack(v, tensors, prefix) for v in obj]}
    if isinstance(obj, list):
        return [pack(v, tensors, prefix) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: pack(v, tensors, prefix) for k, v in obj.items()}
        return {"$dict": [[pack(k, tensors, prefix), pack(v, tensors, prefix)] for k, v in obj.items()]}
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot checkpoint a {type(obj).__name__}")


def unpack(doc: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`pack`; a malformed document raises :class:`ModelFileError`."""
    if isinstance(doc, list):
        return [unpack(v, tensors) for v in doc]
    if isinstance(doc, dict):
        if "$t" in doc:
            name = doc["$t"]
            if not isinstance(name, str) or name not in tensors:
                raise ModelFileError(f"the checkpoint refers to a tensor {name!r} it does not hold; it is corrupt.")
            return tensors[name]
        if "$tuple" in doc:
            return tuple(unpack(v, tensors) for v in _list(doc["$tuple"]))
        if "$dict" in doc:
            out = {}
            for pair in _list(doc["$dict"]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ModelFileError("the checkpoint holds a malformed mapping; it is corrupt.")
                out[unpack(pair[0], tensors)] = unpack(pair[1], tensors)
            return out
        return {k: unpack(v, tensors) for k, v in doc.items()}
    return doc


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise ModelFileError("the checkpoint holds a malformed entry; it is corrupt.")
    return value


# --------------------------------------------------------------- RNG state
def rng_state() -> dict[str, Any]:
    """The state of every global random generator the trainer touches."""
    _, key, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"key": torch.from_numpy(key.astype(np.int64)), "pos": pos, "has_gauss": has_gauss, "gauss": gauss},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    try:
        version, internal, gauss_next = state["python"]
        random.setstate((version, tuple(internal), gauss_next))
        n = state["numpy"]
        np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
        torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(list(state["cuda"]))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"the checkpoint's random-generator state is malformed ({exc}).") from None


# ------------------------------------------------------------- trainer hooks
def trainer_state(trainer) -> dict[str, Any]:
    """What :meth:`Trainer.state_dict` returns (everything but the model's weights)."""
    gen = getattr(trainer, "generator", None)
    return {
        "epoch": trainer.start_epoch,
        "stop_training": bool(trainer.stop_training),
        "history": list(trainer.history),
        "optimizer": None if trainer.optimizer is None else trainer.optimizer.state_dict(),
        "scheduler": None if trainer.scheduler is None else trainer.scheduler.state_dict(),
        "generator": None if gen is None else gen.get_state(),
        "rng": rng_state(),
        "callbacks": {type(cb).__name__: cb.state_dict() for cb in trainer.callbacks if hasattr(cb, "state_dict")},
    }


def check_optimizer_state(optimizer, saved: Any) -> None:
    """``saved`` must be a state of ``optimizer``: its groups hold the same parameters, and each parameter's
    state is a dict of tensors of the parameter's shape (or scalars); else :class:`ModelFileError`.

    ``torch.optim.Optimizer.load_state_dict`` trusts its input: a number where a dict belongs raises
    ``AttributeError``, and a state keyed by unknown ids is silently dropped, which resets the moments.
    """
    def bad(why: str) -> ModelFileError:
        return ModelFileError(f"the checkpoint's optimizer state is malformed ({why}); it is corrupt or edited. "
                              "Resume from another checkpoint, or train without resume=.")

    if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict) \
            or not isinstance(saved.get("param_groups"), list):
        raise bad("not a dict of 'state' and 'param_groups'")
    mine = [p for group in optimizer.param_groups for p in group["params"]]
    ids = []
    for group in saved["param_groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("params"), list):
            raise bad("a parameter group is not a dict with a list of 'params'")
        ids += group["params"]
    if ids != list(range(len(mine))):
        raise bad(f"its groups name parameters {ids[:6]}, not the {len(mine)} of this model")
    for key, entry in saved["state"].items():
        if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key < len(mine) or not isinstance(entry, dict):
            raise bad(f"state entry {key!r} is not a parameter's dict")
        for name, value in entry.items():
            if not isinstance(value, (torch.Tensor, int, float)) or isinstance(value, bool):
                raise bad(f"state {key}.{name} is a {type(value).__name__}")
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != mine[key].shape:
                raise bad(f"state {key}.{name} has shape {tuple(value.shape)}, its parameter {tuple(mine[key].shape)}")


def restore_trainer_state(trainer, state: dict[str, Any]) -> None:
    """Put back what :func:`trainer_state` took, once the optimizer and generator exist."""
    try:
        if state.get("optimizer") is not None and trainer.optimizer is not None:
            check_optimizer_state(trainer.optimizer, state["optimizer"])
            trainer.optimizer.load_state_dict(state["optimizer"])
        if state.get("scheduler") is not None and trainer.scheduler is not None:
            trainer.scheduler.load_state_dict(state["scheduler"])
        if state.get("generator") is not None and getattr(trainer, "generator", None) is not None:
            trainer.generator.set_state(state["generator"])
        for cb in trainer.callbacks:
            saved = (state.get("callbacks") or {}).get(type(cb).__name__)
            if saved is not None and hasattr(cb, "load_state_dict"):
                cb.load_state_dict(saved)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as exc:
        raise ModelFileError(f"the checkpoint's training state does not fit this run ({exc}).") from None
    if state.get("rng") is not None:
        set_rng_state(state["rng"])
    if state.get("stop_training"):  # the run had already stopped early: nothing is left to train
        trainer.start_epoch = max(trainer.start_epoch, trainer.config.epochs)


# ------------------------------------------------------------------- files
def _model_of(trainer):
    return getattr(trainer.model, "module", trainer.model)  # unwrap DistributedDataParallel


def save_checkpoint(trainer, path) -> Path:
    """Write the trainer's full state to ``path`` atomically; returns the path.

    Weights that hold NaN or inf are refused (:class:`ModelFileError`), so a
    checkpoint on disk is always one worth resuming from.
    """
    model = _model_of(trainer)
    weights = {f"model/{k}": v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    check_finite_state(weights, what="model")
    tensors: dict[str, torch.Tensor] = dict(weights)
    scaler = getattr(model, "scaler", None)
    doc = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "config": model.config.to_dict(),
        "scaler": None if scaler is None else scaler.to_dict(),
        "train_config": trainer.config.to_dict(),
        "trainer": pack(trainer_state(trainer), tensors),
        "written_at": time.time(),
    }
    meta = {"format": CHECKPOINT_FORMAT, "state": json.dumps(doc)}
    path = Path(path)
    atomic_write_bytes(path, safetensors_save(tensors, metadata=meta))
    return path


class TrainerProgress:
    """What a checkpoint's trainer state says of the run so far (shared by the file and the rebuilt state)."""

    trainer_state: dict[str, Any]

    @property
    def epoch(self) -> int:
        """Number of epochs finished when the checkpoint was written."""
        return int(self.trainer_state["epoch"])

    @property
    def history(self) -> list[dict[str, float]]:
        return list(self.trainer_state["history"])


@dataclass
class CheckpointFile(TrainerProgress):
    """A checkpoint read back and checked as a file: what :func:`load_checkpoint` returns.

    The model is described, not rebuilt: ``config`` and ``scaler`` are the
    JSON objects the model wrote, ``model_state`` its weights by name.
    :func:`latentlab.models.resume.read_resume` turns them into a model.
    """

    config: dict[str, Any]
    scaler: dict[str, Any] | None
    train_config: dict[str, Any]
    model_state: dict[str, torch.Tensor]
    trainer_state: dict[str, Any]


def load_checkpoint(path) -> CheckpointFile:
    """Read and check a checkpoint written by :class:`Checkpoint`; nothing is unpickled.

    Raises
    ------
    ModelFileError
        Missing, truncated, pickled, foreign or malformed files, with the reason.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    tensors, meta = read_safetensors(path)
    if meta.get("format") != CHECKPOINT_FORMAT or "state" not in meta:
        raise ModelFileError(f"{path} is not a latentlab checkpoint (no format={CHECKPOINT_FORMAT!r}).")
    doc = parse_json(meta["state"], f"{path} (metadata)")
    if not isinstance(doc, dict) or doc.get("format_version") != CHECKPOINT_VERSION:
        raise ModelFileError(f"{path} has an unknown checkpoint version; this latentlab reads {CHECKPOINT_VERSION}.")
    config, scaler = doc.get("config"), doc.get("scaler")
    if not isinstance(config, dict) or not (scaler is None or isinstance(scaler, dict)):
        raise ModelFileError(f"{path} holds no model config; it is corrupt.")
    weights = {k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")}
    state = unpack(doc.get("trainer"), {k: v for k, v in tensors.items() if not k.startswith("model/")})
    ok = isinstance(state, dict) and isinstance(state.get("epoch"), int) and state["epoch"] >= 0
    if not ok or not isinstance(state.get("history"), list) or not isinstance(doc.get("train_config"), dict):
        raise ModelFileError(f"{path} holds a malformed training state; it is corrupt.")
    return CheckpointFile(config, scaler, doc["train_config"], weights, state)


class Checkpoint(Callback):
    """Save a resumable checkpoint every ``every_epochs`` epochs and/or ``every_seconds`` seconds.

    The last epoch is always saved. Only the main process writes (rank 0
    under torchrun). Resume with ``model.fit(X, resume=path)`` or
    ``latentlab train ... --resume``.

    Examples
    --------
    >>> import numpy as np, tempfile, os, latentlab
    >>> X = np.random.default_rng(0).random((64, 4)).astype("float32")
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    >>> _ = ae.fit(X, epochs=3, batch_size=16, verbose=False, callbacks=[Checkpoint(path)])
    >>> load_checkpoint(path).epoch
    3
    """

    def __init__(self, path, every_epochs: int | None = 1, every_seconds: float | None = None):
        if every_epochs is not None and (not isinstance(every_epochs, int) or every_epochs < 1):
            raise ConfigError(f"every_epochs={every_epochs!r} must be a positive integer or None.")
        if every_seconds is not None and not every_seconds > 0:
            raise ConfigError(f"every_seconds={every_seconds!r} must be > 0 or None.")
        self.path, self.every_epochs, self.every_seconds = Path(path), every_epochs, every_seconds
        self.last_saved_epoch: int | None = None

    def on_train_begin(self, trainer) -> None:
        self._last_time = time.monotonic()
        if distributed.is_main_process():
            remove_stale_temporaries(self.path)  # left by a run killed while writing

    def on_epoch_end(self, trainer, epoch: int, logs: dict[str, float]) -> None:
        due = self.every_epochs is not None and (epoch + 1) % self.every_epochs == 0
        due |= self.every_seconds is not None and time.monotonic() - self._last_time >= self.every_seconds
        due |= epoch + 1 >= trainer.config.epochs or trainer.stop_training
        if due and distributed.is_main_process():
            try:
                save_checkpoint(trainer, self.path)
            except ModelFileError as exc:  # non-finite weights: keep the last good checkpoint
                warnings.warn(f"checkpoint not written: {exc}", stacklevel=2)
                return
            except OSError as exc:  # a full disk or a lost mount: training goes on, the last checkpoint stays whole
                warnings.warn(
                    f"checkpoint not written to {self.path} ({exc.strerror or exc}); training continues and the "
                    "previous checkpoint is kept. Free some space or checkpoint elsewhere.",
                    stacklevel=2,
                )
                return
            self.last_saved_epoch = epoch
            self._last_time = time.monotonic()


__all__ = ["Checkpoint", "CheckpointFile", "save_checkpoint", "load_checkpoint", "CHECKPOINT_NAME"]
