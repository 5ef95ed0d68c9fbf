"""Model folders: ``config.json`` + ``model.safetensors`` + ``scaler.json`` + ``metrics.json``.

Loading never unpickles. Every file is checked before it is trusted: the
config against its family's schema, the size of the networks it describes
(built first on torch's ``meta`` device, which allocates nothing), the
tensors' names, dtypes and shapes against those networks, and pickles or zip
archives posing as weights are refused by their first bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as safetensors_save

from .._files import atomic_folder, atomic_write_bytes, atomic_write_json
from .._version import __version__
from ..data.scaling import Scaler
from ..errors import ConfigError, ModelFileError
from ..registry import (  # noqa: F401  (re-exported)
    MAX_MODEL_VALUES,
    build_checked,
    check_format,
    config_from_dict,
    count_values,
    read_saved,
    with_article,
)
from ..storage import (  # noqa: F401  (re-exported)
    PICKLE_SUFFIXES,
    check_finite_state,
    check_tensors,
    parse_json,
    read_json,
    read_safetensors,
    sniff_weights,
    state_crc,
)
from ..training.options import TrainConfig
from .view import load_view, save_view

FORMAT = "latentlab-model"
FORMAT_VERSION = 1


MODEL_FILES = {"config.json", "model.safetensors", "scaler.json", "metrics.json", "view.json", "view.safetensors",
               "tokenizer.json"}


#: How ``model.safetensors`` may store float32 weights (``save(..., weights=)``); ``config.json`` names it (``"weights"``).
WEIGHT_STORAGE = ("float32", "float16")


def write_model_folder(path, module, *, fmt: str, fmt_version: int, config: dict, train_config, metrics: dict,
                       names: set[str], write_more=None, what: str = "model", weights: str = "float32") -> Path:
    """Write a model folder in one atomic step: ``model.safetensors``, ``metrics.json``, then ``config.json``.

    The weights of ``module`` are checked finite and serialised first; the
    files go to a new folder beside ``path`` that is swapped in
    (:func:`latentlab._files.atomic_folder`), so a kill at any moment leaves the
    complete old model or the complete new one. Files of the folder outside
    ``names`` are kept. ``write_more(folder)`` writes a format's other files
    before ``config.json``, which is written last.

    ``weights='float16'`` stores the float32 tensors rounded to half precision
    (half the file; ``config.json`` names the storage, and loading turns them
    back into float32); a value beyond float16's range is refused.
    """
    if weights not in WEIGHT_STORAGE:
        raise ConfigError(f"weights={weights!r}: the weights are stored as one of {WEIGHT_STORAGE}.")
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    check_finite_state(state, what=what)
    if weights == "float16":
        state = {k: v.half() if v.dtype == torch.float32 else v for k, v in state.items()}
        big = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if big:
            raise ModelFileError(f"the {what}'s tensor {big[0]!r} holds values beyond float16's range (65504); "
                                 "save it with weights='float32'.")
    # One metadata key: safetensors writes a dict of several in an order that changes from process to process,
    # and the shipped models are identified by their files' SHA-256. The storage is named in config.json.
    blob = safetensors_save(state, metadata={"format": fmt})
    doc = {
        "format": fmt,
        "format_version": fmt_version,
        "latentlab_version": __version__,
        "config": config,
        "train_config": None if train_config is None else train_config.to_dict(),
    }
    if weights != "float32":
        doc["weights"] = weights

    def write(folder: Path) -> None:
        atomic_write_bytes(folder / "model.safetensors", blob)
        atomic_write_json(folder / "metrics.json", metrics)
        if write_more is not None:
            write_more(folder)
        atomic_write_json(folder / "config.json", doc)

    try:
        return atomic_folder(Path(path), write, names)
    except FileExistsError as exc:
        raise ModelFileError(str(exc)) from None


def save_model(model, path, metrics: dict[str, Any] | None = None, *, weights: str = "float32") -> Path:
    """Save ``model`` to folder ``path`` in one atomic step (:func:`write_model_folder`).

    Other files in the folder (a checkpoint, figures) are kept. ``weights``: ``'float32'`` or ``'float16'``
    (half the file, the weights rounded to half precision; they load as float32).
    """
    model.check_fitted()
    path = Path(path)
    merged = {**model.metrics, **(metrics or {})}
    extra = model.extra_files()  # a text model's tokenizer
    scaler = model.scaler.to_dict()

    def write_more(folder: Path) -> None:
        atomic_write_json(folder / "scaler.json", scaler)
        if model.view is not None:
            save_view(model.view, folder)
        for name, data in extra.items():
            atomic_write_bytes(folder / name, data)

    write_model_folder(path, model, fmt=FORMAT, fmt_version=FORMAT_VERSION, config=model.config.to_dict(),
                       train_config=model.train_config, metrics={"history": model.history, **merged},
                       names=MODEL_FILES, write_more=write_more, weights=weights)
    model.metrics = merged
    return path


def read_config(path, expected: type | None = None) -> Any:
    """Validate ``config.json`` and return ``(model class, config, document)``.

    ``expected``: the class the caller wants (``VAE.load``); a folder that
    holds another kind of object, or a model of another family, is refused
    with a message that says what opens it.
    """
    path, doc = read_saved(path, "model.save()")
    check_format(path, doc, FORMAT, "model")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses format version {doc.get('format_version')!r}; this latentlab reads {FORMAT_VERSION}."
        )
    cls, config = config_from_dict(doc.get("config"), f"{path}/config.json")
    if expected is not None and not issubclass(cls, expected):
        raise ModelFileError(f"{path} holds a latentlab model of family {config.family!r} ({cls.__name__}), not "
                             f"{with_article(expected.__name__)}; open it with latentlab.load or {cls.__name__}.load.")
    return cls, config, doc


def load_model(path, expected: type | None = None):
    """Rebuild the model saved in folder ``path`` without unpickling anything.

    ``expected``: the model class (or a base of it) the caller wants; a
    folder holding anything else is refused before a network is built.

    Raises
    ------
    ModelFileError
        Missing, corrupt, foreign, pickled or mismatched files, with the reason.
    """
    path = Path(path)
    cls, config, doc = read_config(path, expected)
    model = build_checked(cls, config, f"{path}/config.json")
    file = path / "model.safetensors"
    stored = doc.get("weights", "float32")
    if stored not in WEIGHT_STORAGE:
        raise ModelFileError(f"{path}/config.json says the weights are stored as {stored!r}; this latentlab reads "
                             f"{WEIGHT_STORAGE}. Upgrade latentlab, or save the model again.")
    raw, _ = read_safetensors(file)
    if stored == "float16":  # rounded to half precision by save(..., weights='float16')
        raw = {k: v.float() if v.dtype == torch.float16 else v for k, v in raw.items()}
    tensors = model.upgrade_state(raw)  # names written by earlier versions
    optional = model.optional_tensors()
    check_tensors(model.state_dict(), tensors, str(file), optional)
    model.load_state_dict(tensors, strict=not any(k not in tensors for k in optional))
    if tensors is not raw:  # blobs made with this file name the model by the CRC of the tensors as written
        model.compat_ids = (state_crc(model.state_dict()), state_crc(raw))
    model.scaler = Scaler.from_dict(read_json(path / "scaler.json"), expected_shape=config.input_shape)
    metrics_file = path / "metrics.json"
    if metrics_file.is_file():
        metrics = read_json(metrics_file)
        if isinstance(metrics, dict):
            history = metrics.pop("history", [])
            model.history = list(history) if isinstance(history, list) else []
            model.metrics = metrics
    model.train_config = train_config_from_dict(doc.get("train_config"))
    model.view = load_view(path, config.input_shape, config.latent_dim)
    model.read_extra_files(path)
    model.eval()
    return model


def train_config_from_dict(tc: Any):
    """The saved :class:`~latentlab.training.TrainConfig`, or None when absent or invalid."""
    if not isinstance(tc, dict):
        return None
    try:
        return TrainConfig.from_kwargs(**tc)
    except (ConfigError, TypeError, ValueError):
        return None
