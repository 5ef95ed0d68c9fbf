"""Model folders: ``config.json`` + ``model.safetensors`` + ``scaler.json`` + ``metrics.json``.

Loading never unpickles. Every file is checked before it is trusted: the
config against its family's schema, the size of the networks it describes
(built first on torch's ``meta`` device, which allocates nothing), the
tensors' names, dtypes and shapes against those networks, and pickles or zip
archives posing as weights are refused by their first bytes.
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
# A model file describing more values than this (800 MB of float32) is refused before
# anything is allocated; raise it here for a genuinely larger model.
MAX_MODEL_VALUES = 200_000_000
_PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt", ".joblib")
# Pickle opcodes a protocol 0/1 pickle starts with: GLOBAL, MARK, EMPTY_LIST/DICT/TUPLE, PROTO.
_PICKLE_START = (b"c", b"(", b"]", b"}", b")", b"\x80")


def check_finite_state(state: dict[str, torch.Tensor], *, what: str = "model") -> None:
    """Refuse to write weights that hold NaN or inf.

    Examples
    --------
    >>> check_finite_state({"w": torch.ones(2)})
    >>> check_finite_state({"w": torch.tensor([1.0, float("nan")])})
    Traceback (most recent call last):
    ...
    latentlab.errors.ModelFileError: the model's tensor 'w' holds NaN or inf; refusing to save corrupt weights. ...
    """
    for k, v in state.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise ModelFileError(
                f"the {what}'s tensor {k!r} holds NaN or inf; refusing to save corrupt weights. "
                "Training diverged: lower lr, set grad_clip, or check the data scale, then retrain."
            )


def save_model(model, path, metrics: dict[str, Any] | None = None) -> Path:
    """Save ``model`` to folder ``path``; each file is written atomically."""
    model._check_fitted()
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    check_finite_state(state, what="model")
    path.mkdir(parents=True, exist_ok=True)
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


def parse_json(text: str | bytes, where: str) -> Any:
    """``json.loads`` that turns every failure (bad syntax, nesting bombs) into :class:`ModelFileError`."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{where} is not valid JSON ({exc}); the file is corrupt.") from None
    except RecursionError:
        raise ModelFileError(f"{where} is nested absurdly deep; refusing to read it.") from None


def _read_json(file: Path) -> Any:
    if not file.is_file():
        raise ModelFileError(f"{file} is missing; is this a folder written by model.save()?")
    if file.stat().st_size > MAX_JSON_BYTES:
        raise ModelFileError(f"{file} is implausibly large ({file.stat().st_size} bytes); refusing to read it.")
    return parse_json(file.read_bytes(), str(file))


def config_from_dict(cfg: Any, where: str):
    """Validate a config dict against its family's schema: ``(model class, config)``."""
    if not isinstance(cfg, dict) or not isinstance(cfg.get("family"), str):
        raise ModelFileError(f"{where} has no config.family.")
    try:
        cls = get_family(cfg["family"])
        config = cls.config_class.from_dict(cfg)
    except ConfigError as exc:
        raise ModelFileError(f"{where} is invalid: {exc}") from None
    except (TypeError, ValueError, OverflowError) as exc:  # a field the schema check let through
        raise ModelFileError(f"{where} is invalid: {exc}") from None
    if config.input_shape is None:
        raise ModelFileError(f"{where} has no input_shape; the model was never fitted.")
    return cls, config


def read_config(path) -> Any:
    """Validate ``config.json`` and return ``(model class, config, document)``."""
    doc = _read_json(Path(path) / "config.json")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{path}/config.json is not a latentlab model file (no format={FORMAT!r}).")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses format version {doc.get('format_version')!r}; this latentlab reads {FORMAT_VERSION}."
        )
    cls, config = config_from_dict(doc.get("config"), f"{path}/config.json")
    return cls, config, doc


def count_values(cls, config) -> int:
    """Number of values in ``cls(config)``'s state, counted on the ``meta`` device (nothing is allocated).

    Examples
    --------
    >>> from latentlab.models.ae import Autoencoder, AEConfig
    >>> count_values(Autoencoder, AEConfig(input_shape=(4,), latent_dim=2, hidden=(3,)))
    53
    """
    with torch.device("meta"):
        probe = cls(config)
    return int(sum(t.numel() for t in probe.state_dict().values()))


def build_checked(cls, config, where: str):
    """Build ``cls(config)`` after counting its values on the ``meta`` device (memory-bomb guard)."""
    try:
        n_values = count_values(cls, config)
    except LatentlabError as exc:
        raise ModelFileError(f"{where} is invalid: {exc}") from None
    except Exception:  # a family that cannot be built on meta: fall back to an estimate
        n_values = _estimate_size(config)
    if n_values > MAX_MODEL_VALUES:
        raise ModelFileError(
            f"{where} describes a model of about {n_values:.3g} values (limit {MAX_MODEL_VALUES:.3g}); "
            "refusing to build it. The file is corrupt or hostile."
        )
    try:
        return cls(config)
    except LatentlabError as exc:
        raise ModelFileError(f"{where} is invalid: {exc}") from None


def sniff_weights(file: Path) -> None:
    """Refuse anything that is not plausibly a safetensors file, naming what it looks like."""
    if not file.is_file():
        hint = ""
        if file.parent.is_dir():
            foreign = sorted(p.name for p in file.parent.iterdir() if p.suffix.lower() in _PICKLE_SUFFIXES)
            if foreign:
                hint = (
                    f" The folder holds {foreign[:3]}: pickle-based formats that latentlab never loads, "
                    "because unpickling runs code. Convert trusted weights with safetensors.torch.save_file."
                )
        raise ModelFileError(f"{file} is missing; the model folder is incomplete.{hint}")
    size = file.stat().st_size
    with open(file, "rb") as fh:
        head = fh.read(9)
    n_header = int.from_bytes(head[:8], "little") if len(head) >= 8 else -1
    if 2 <= n_header <= min(size - 8, 100_000_000) and head[8:9] == b"{":
        return  # a safetensors header: length, then a JSON object
    if head.startswith(b"PK\x03\x04") or head[:1] in _PICKLE_START:
        kind = "torch.save zip archive" if head.startswith(b"PK") else "pickle"
        raise ModelFileError(
            f"{file} is a {kind}, not safetensors; latentlab never unpickles files, because unpickling runs code. "
            "Convert trusted weights with safetensors.torch.save_file."
        )
    raise ModelFileError(
        f"{file} is not a safetensors file, or it is truncated ({size} bytes); the weights are corrupt. "
        "Save the model again with model.save()."
    )


def read_safetensors(file: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors and the metadata of a safetensors ``file``, or :class:`ModelFileError`."""
    sniff_weights(file)
    try:
        with safe_open(str(file), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
            return {k: fh.get_tensor(k) for k in fh.keys()}, meta
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        raise ModelFileError(
            f"{file} is not a readable safetensors file ({exc}); it may be truncated or corrupt."
        ) from None


def check_tensors(
    expected: dict[str, torch.Tensor], tensors: dict[str, torch.Tensor], where: str, optional: tuple[str, ...] = ()
) -> None:
    """Names, dtypes and shapes of ``tensors`` must be those of ``expected``; values must be finite.

    Names in ``optional`` may be missing (statistics that files from earlier versions do not hold).
    """
    missing = sorted(set(expected) - set(tensors) - set(optional))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ModelFileError(f"{where} does not match config.json: missing {missing[:5]}, unexpected {extra[:5]}.")
    for k, t in tensors.items():
        want = expected[k]
        if tuple(t.shape) != tuple(want.shape):
            raise ModelFileError(
                f"{where}: tensor {k!r} has shape {tuple(t.shape)} but config.json implies {tuple(want.shape)}."
            )
        if t.dtype != want.dtype:
            raise ModelFileError(f"{where}: tensor {k!r} has dtype {t.dtype}, expected {want.dtype}.")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise ModelFileError(f"{where}: tensor {k!r} holds NaN or inf; the weights are corrupt.")


def load_model(path):
    """Rebuild the model saved in folder ``path`` without unpickling anything.

    Raises
    ------
    ModelFileError
        Missing, corrupt, foreign, pickled or mismatched files, with the reason.
    """
    path = Path(path)
    if not path.is_dir():
        if path.suffix.lower() in _PICKLE_SUFFIXES:
            raise ModelFileError(
                f"{path} is not a folder; pass the folder written by model.save(). ({path.suffix} files usually "
                "hold pickles, which latentlab never loads, because unpickling runs code.)"
            )
        raise ModelFileError(f"{path} is not a folder; pass the folder written by model.save().")
    cls, config, doc = read_config(path)
    model = build_checked(cls, config, f"{path}/config.json")
    file = path / "model.safetensors"
    tensors, _ = read_safetensors(file)
    optional = tuple(getattr(model, "optional_tensors", ()))
    check_tensors(model.state_dict(), tensors, str(file), optional)
    model.load_state_dict(tensors, strict=not any(k not in tensors for k in optional))
    model.scaler = Scaler.from_dict(_read_json(path / "scaler.json"), expected_shape=config.input_shape)
    metrics_file = path / "metrics.json"
    if metrics_file.is_file():
        metrics = _read_json(metrics_file)
        if isinstance(metrics, dict):
            history = metrics.pop("history", [])
            model.history = list(history) if isinstance(history, list) else []
            model.metrics = metrics
    model.train_config = train_config_from_dict(doc.get("train_config"))
    model.eval()
    return model


def train_config_from_dict(tc: Any):
    """The saved :class:`~latentlab.training.TrainConfig`, or None when absent or invalid."""
    if not isinstance(tc, dict):
        return None
    from ..training.trainer import TrainConfig

    try:
        return TrainConfig.from_kwargs(**tc)
    except (ConfigError, TypeError, ValueError):
        return None


def _estimate_size(config) -> float:
    """Rough count of values the config's networks hold (used when a meta build is impossible)."""
    d = math.prod(config.input_shape)
    widths = [d, *config.hidden, config.latent_dim]
    return float(sum(a * b for a, b in zip(widths[:-1], widths[1:])) * 2 + d * 4)
