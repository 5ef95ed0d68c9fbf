"""One model-agnostic trainer with callbacks."""

from .callbacks import Callback, EarlyStopping, ProgressBar
from .checkpoint import Checkpoint, load_checkpoint
from .device import resolve_device, seed_everything
from .trainer import TrainConfig, Trainer

__all__ = ["Trainer", "TrainConfig", "Callback", "EarlyStopping", "ProgressBar", "Checkpoint", "load_checkpoint", "resolve_device", "seed_everything"]
