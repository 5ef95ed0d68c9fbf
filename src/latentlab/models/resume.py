"""Resuming a fit: the model a checkpoint describes, rebuilt through the family registry and checked.

The trainer writes and reads its checkpoints without knowing any family
(:mod:`latentlab.training.checkpoint` returns the model's config as a JSON
object and its weights by name). Rebuilding the model is done here, beside
the fit path (:func:`latentlab.models.fitting.fit_model`), its one caller:
the config is validated against its family's schema, the networks are
counted on the ``meta`` device before anything is allocated, and the
weights' names, dtypes and shapes must be those of the networks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data.scaling import Scaler
from ..errors import ConfigError, ModelFileError
from ..registry import build_checked, config_from_dict
from ..storage import check_tensors
from ..training.checkpoint import TrainerProgress, load_checkpoint
from ..training.options import TrainConfig


@dataclass
class CheckpointState(TrainerProgress):
    """A checkpoint whose model was rebuilt and checked: what :func:`read_resume` returns."""

    model_class: type
    config: Any
    scaler: Any
    train_config: dict[str, Any]
    model_state: dict[str, torch.Tensor]
    trainer_state: dict[str, Any]

    def build_model(self):
        """The model as it was at the checkpoint (weights, scaler, history)."""
        model = self.model_class(self.config)
        model.load_state_dict(self.model_state)
        model.scaler = self.scaler
        model.history = self.history
        model.eval()
        return model


def read_resume(path) -> CheckpointState:
    """Read the checkpoint at ``path`` (a file, or a run folder holding one) and rebuild what it describes.

    Raises
    ------
    ModelFileError
        Missing, pickled, foreign or corrupt files; a config no family accepts, or one describing an absurdly
        large model; weights that do not fit it.

    Examples
    --------
    >>> import numpy as np, tempfile, os, latentlab
    >>> from latentlab.training import Checkpoint
    >>> X = np.random.default_rng(0).random((64, 4)).astype("float32")
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> _ = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=2, verbose=False, callbacks=[Checkpoint(path)])
    >>> state = read_resume(path)
    >>> state.model_class.__name__, state.epoch, state.build_model().encode(X[:3]).shape
    ('Autoencoder', 2, (3, 2))
    """
    if not Path(path).exists():  # not "the model folder is incomplete": there is no folder, and no file
        raise ModelFileError(f"the checkpoint {path} does not exist; pass resume= a file written by the Checkpoint "
                             "callback (or the run folder holding it).")
    file = load_checkpoint(path)
    where = f"{path} (config)"
    cls, config = config_from_dict(file.config, where)
    model = build_checked(cls, config, where)
    weights = model.upgrade_state(file.model_state)  # names written by earlier versions
    check_tensors(model.state_dict(), weights, str(path))
    scaler = None if file.scaler is None else Scaler.from_dict(file.scaler, expected_shape=config.input_shape)
    return CheckpointState(cls, config, scaler, file.train_config, weights, file.trainer_state)


def adopt_checkpoint(model, path, tc: TrainConfig) -> CheckpointState:
    """Read a checkpoint to resume from; take its config and scaler if they fit this model."""
    state = read_resume(path)
    mine = model.config
    if mine.input_shape is None:
        mine = mine.replace(input_shape=state.config.input_shape)
    if state.model_class is not type(model) or mine != state.config:
        theirs, ours = state.config.to_dict(), mine.to_dict()
        diff = {k: (ours.get(k), v) for k, v in theirs.items() if ours.get(k) != v}
        raise ConfigError(
            f"{path} was written by a {state.model_class.__name__} that differs from this "
            f"{type(model).__name__} in {diff} (this model, checkpoint); build it with the same options."
        )
    ours = tc.to_dict()
    keys = ("batch_size", "lr", "weight_decay", "seed", "validation_split", "lr_schedule")
    changed = [k for k in keys if state.train_config.get(k) != ours[k]]
    if changed:
        warnings.warn(f"resuming with different training options {changed}; the run will differ.", stacklevel=4)
    model.config, model.scaler, model.history = state.config, state.scaler, []
    return state


__all__ = ["CheckpointState", "read_resume", "adopt_checkpoint"]
