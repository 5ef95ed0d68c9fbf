"""What a run folder tells a viewer about its data: image shape, a map of training codes, example inputs.

The explorer and the figures read this instead of guessing from the number
of features. :meth:`~latentlab.models.api.ModelAPI.attach_view` computes it
from data the caller names; :func:`~latentlab.models.io.save_model` writes
it beside the model (``view.json`` + ``view.safetensors``) and
:func:`~latentlab.models.io.load_model` reads it back. A model without one
still serves: the map is empty and inputs are shown as values, not images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as safetensors_save

from .._files import atomic_write_bytes, atomic_write_json
from ..errors import ConfigError, ModelFileError
from ..storage import read_json, read_safetensors

MAX_POINTS = 100_000


@dataclass
class RunView:
    """Image shape of one sample, codes of some training samples with labels, and example inputs."""

    image_shape: tuple[int, ...] | None = None  # (H, W) or (C, H, W) of one sample, if it is an image
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # (N, L) codes
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (N,), -1 where unknown
    examples: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # (M, D) held-out inputs
    example_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (M,)

    def check(self, input_shape: tuple[int, ...], latent_dim: int) -> RunView:
        """Refuse a view that does not fit the model, naming what is wrong."""
        d = math.prod(input_shape)
        if self.image_shape is not None:
            shape = tuple(int(s) for s in self.image_shape)
            if len(shape) not in (2, 3) or math.prod(shape) != d or min(shape) < 1:
                raise ConfigError(f"image_shape={shape} does not hold one sample of {d} values; give (H, W) or (C, H, W).")
            self.image_shape = shape
        if len(self.points) and (self.points.ndim != 2 or self.points.shape[1] != latent_dim):
            raise ConfigError(f"map points have shape {self.points.shape}; codes are (n, {latent_dim}).")
        if len(self.labels) != len(self.points) or len(self.example_labels) != len(self.examples):
            raise ConfigError("there must be one label per map point and per example.")
        if len(self.examples) and self.examples.reshape(len(self.examples), -1).shape[1] != d:
            raise ConfigError(f"examples must hold {d} values each, like the model's inputs.")
        if len(self.points) > MAX_POINTS or len(self.examples) > MAX_POINTS:
            raise ConfigError(f"a view holds at most {MAX_POINTS} points and examples.")
        return self


def save_view(view: RunView, path: Path) -> None:
    tensors = {
        "points": torch.from_numpy(np.ascontiguousarray(view.points, np.float32)),
        "labels": torch.from_numpy(np.ascontiguousarray(view.labels, np.int64)),
        "examples": torch.from_numpy(np.ascontiguousarray(view.examples.reshape(len(view.examples), int(np.prod(view.examples.shape[1:]))), np.float32)),
        "example_labels": torch.from_numpy(np.ascontiguousarray(view.example_labels, np.int64)),
    }
    atomic_write_bytes(path / "view.safetensors", safetensors_save(tensors, metadata={"format": "latentlab-view"}))
    atomic_write_json(path / "view.json", {"image_shape": None if view.image_shape is None else list(view.image_shape)})


def load_view(path: Path, input_shape: tuple[int, ...], latent_dim: int) -> RunView | None:
    """The view saved in run folder ``path``, or None when it has none (folders of earlier versions)."""
    if not (path / "view.json").is_file():
        return None
    doc = read_json(path / "view.json")
    tensors, _ = read_safetensors(path / "view.safetensors")
    try:
        shape = doc.get("image_shape") if isinstance(doc, dict) else None
        view = RunView(
            None if shape is None else tuple(int(s) for s in shape),
            tensors["points"].numpy(), tensors["labels"].numpy(),
            tensors["examples"].numpy(), tensors["example_labels"].numpy(),
        )
        return view.check(tuple(input_shape), latent_dim)
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise ModelFileError(f"{path}/view.* is corrupt ({exc}); save the model again or delete the view files.") from None


__all__ = ["RunView", "save_view", "load_view"]
