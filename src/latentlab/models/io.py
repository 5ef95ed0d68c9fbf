"""Model folders: ``config.json`` + ``model.safetensors`` + ``scaler.json`` + ``metrics.json``.

Loading never unpickles. Every file is checked before it is trusted: the
config against its family's schema, the tensors' names and shapes against
the networks the config builds, and pickles or zip archives posing as
weights are refused by their first bytes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_save

from .. import __version__
from .._files import atomic_write_bytes, atomic_write_json
from ..config import get_family
from ..data.scaling import Scaler
from ..errors import ConfigError, LatentlabError, ModelFileError

FORMAT = "latentlab-model"
FORMAT_VERSION = 1
MAX_JSON_BYTES = 64 * 1024 * 1024
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # pickle protocol >= 2, zip (torch.save)


def save_model(model, path, metrics: dict[str, Any] | None = None) -> Path:
    """Save ``model`` to folder ``path``; each file is written atomically."""
    model._check_fitted()
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path / "model.safetensors", safetensors_save(state, metadata={"format": FORMAT}))
    atomic_write_json(path / "scaler.json", model.scaler.to_dict())
    merged = {**model.metrics, **(metrics or {})}
    model.metrics = merged
    atomic_write_json(path / "metrics.json", {"history": model.history, **merged})
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "latentlab_version": __version__,
        "config": model.config.to_dict(),
        "train_config": None if model.train_config is None else model.train_config.to_dict(),
    }
    atomic_write_json(path / "config.json", doc)  # written last: its presence marks a complete folder
    return path


def _read_json(file: Path) -> Any:
    if not file.is_file():
        raise ModelFileError(f"{file} is missing; is this a folder written by model.save()?")
    if file.stat().st_size > MAX_JSON_BYTES:
        raise ModelFileError(f"{file} is implausibly large ({file.stat().st_size} bytes); refusing to read it.")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{file} is not valid JSON ({exc}); the file is corrupt.") from None


def read_config(path) -> Any:
    """Validate ``config.json`` and return the family's config object."""
    doc = _read_json(Path(path) / "config.json")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{path}/config.json is not a latentlab model file (no format={FORMAT!r}).")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses format version {doc.get('format_version')!r}; this latentlab reads {FORMAT_VERSION}."
        )
    cfg = doc.get("config")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("family"), str):
        raise ModelFileError(f"{path}/config.json has no config.family.")
    try:
        cls = get_family(cfg["family"])
        config = cls.config_class.from_dict(cfg)
    except ConfigError as exc:
        raise ModelFileError(f"{path}/config.json is invalid: {exc}") from None
    if config.input_shape is None:
        raise ModelFileError(f"{path}/config.json has no input_shape; the model was never fitted.")
    return cls, config, doc


def _check_weights_file(file: Path) -> None:
    if not file.is_file():
        raise ModelFileError(f"{file} is missing; the model folder is incomplete.")
    with open(file, "rb") as fh:
        head = fh.read(8)
    if any(head.startswith(m) for m in _PICKLE_MAGIC):
        raise ModelFileError(
            f"{file} is a pickle or torch.save archive, not safetensors; latentlab never unpickles files. "
            "Convert trusted weights with safetensors.torch.save_file."
        )
    if len(head) < 8:
        raise ModelFileError(f"{file} is truncated ({len(head)} bytes); the weights are corrupt.")


def load_model(path):
    """Rebuild the model saved in folder ``path`` without unpickling anything.

    Raises
    ------
    ModelFileError
        Missing, corrupt, foreign, pickled or mismatched files, with the reason.
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelFileError(f"{path} is not a folder; pass the folder written by model.save().")
    cls, config, doc = read_config(path)
    n_params = _estimate_size(config)
    if n_params > 500_000_000:
        raise ModelFileError(
            f"{path}/config.json describes a model of about {n_params:.3g} values; refusing to build it."
        )
    model = cls(config)
    expected = model.state_dict()
    file = path / "model.safetensors"
    _check_weights_file(file)
    tensors: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(file), framework="pt") as fh:
            keys = set(fh.keys())
            missing, extra = sorted(set(expected) - keys), sorted(keys - set(expected))
            if missing or extra:
                raise ModelFileError(
                    f"{file} does not match config.json: missing {missing[:5]}, unexpected {extra[:5]}."
                )
            for k in keys:
                shape = tuple(fh.get_slice(k).get_shape())
                if shape != tuple(expected[k].shape):
                    raise ModelFileError(
                        f"{file}: tensor {k!r} has shape {shape} but config.json implies {tuple(expected[k].shape)}."
                    )
                tensors[k] = fh.get_tensor(k)
    except LatentlabError:
        raise
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(
            f"{file} is not a readable safetensors file ({exc}); it may be truncated or corrupt."
        ) from None
    for k, t in tensors.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise ModelFileError(f"{file}: tensor {k!r} holds NaN or inf; the weights are corrupt.")
    model.load_state_dict(tensors)
    model.scaler = Scaler.from_dict(_read_json(path / "scaler.json"), expected_shape=config.input_shape)
    metrics_file = path / "metrics.json"
    if metrics_file.is_file():
        metrics = _read_json(metrics_file)
        if isinstance(metrics, dict):
            model.history = list(metrics.pop("history", []) or [])
            model.metrics = metrics
    tc = doc.get("train_config")
    if isinstance(tc, dict):
        from ..training.trainer import TrainConfig

        try:
            model.train_config = TrainConfig.from_kwargs(**tc)
        except (ConfigError, TypeError):
            model.train_config = None
    model.eval()
    return model


def _estimate_size(config) -> float:
    """Rough count of values the config's networks hold (memory-bomb guard)."""
    d = math.prod(config.input_shape)
    widths = [d, *config.hidden, config.latent_dim]
    return float(sum(a * b for a, b in zip(widths[:-1], widths[1:])) * 2 + d * 4)
