"""How a model is trained (not what it is): :class:`TrainConfig`, and what a family's ``loss`` returns."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch

from ..config import check_choice, check_nonneg_float, check_positive_int
from ..errors import ConfigError

SCHEDULES = ("none", "cosine", "plateau")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
NAN_POLICIES = ("stop", "skip")


@dataclass(frozen=True)
class TrainConfig:
    """Everything about how a model is trained (not what it is).

    Parameters
    ----------
    epochs, batch_size, lr, weight_decay :
        The usual; the optimizer is Adam (AdamW when ``weight_decay > 0``).
        ``epochs=None`` (the default) lets early stopping end training: the
        cap is enough epochs for 10,000 optimizer steps, at least 150 and at
        most 1000 (527 for the 1,212 training rows of digits at batch 64;
        150 from about 4,300 rows at batch 64). See :func:`auto_epochs`.
    validation_split : float
        Fraction of the training data held out for validation when no
        ``validation_data`` is given (0 disables it).
    patience : int or None
        Early stopping on validation loss; ``None`` trains every epoch.
        The best epoch's weights are restored when ``restore_best``.
    lr_schedule : {'none', 'cosine', 'plateau'}
    grad_clip : float or None
        Clip the gradient norm to this value.
    seed : int or None
        Makes initialisation, shuffling and sampling reproducible.
    device : str
        ``'auto'`` (cuda, then mps, then cpu) or a torch device name.
    compile : bool
        Run the loss (forward and backward) through ``torch.compile``; falls
        back to eager with a warning where compilation fails.
    compile_mode : str
        ``torch.compile`` mode. The default, 'max-autotune-no-cudagraphs',
        lets Inductor pick the fastest matrix-multiply kernels for the
        model's shapes (a few seconds more at start-up); 'default' compiles
        faster.
    amp : bool or 'auto'
        bf16 autocast (weights stay float32). ``'auto'`` (the default) turns
        it on only where it is faster: CUDA devices with bf16, and CPUs with
        bf16 matrix units (AMX or AVX-512 BF16) when the widest layer has at
        least 100,000 weights (a 784x512 layer; not the digits nets). See
        :func:`~latentlab.training.device.resolve_amp` and docs/performance.md.
    nan_policy : {'stop', 'skip'}
        On a non-finite loss: stop and restore the last good weights, or skip
        that step.
    verbose : bool
        Show a progress bar with the loss parts.
    log_dir : str or None
        Write TensorBoard scalars (every loss part, lr, epoch time) here
        (:class:`~latentlab.training.logs.TensorBoardLogger`; needs ``tensorboard``).
    csv_log : str or None
        Write one CSV row per epoch here (:class:`~latentlab.training.logs.CSVLogger`).

    Examples
    --------
    >>> tc = TrainConfig(epochs=5, batch_size=32, lr=1e-3, verbose=False)
    >>> tc.epochs, tc.to_dict()["lr_schedule"]
    (5, 'cosine')
    >>> TrainConfig(validation_split=1.5)
    Traceback (most recent call last):
    ...
    latentlab.errors.ConfigError: validation_split=1.5 must be in [0, 1).

    The same fields are keyword arguments of every model's ``fit``, e.g.
    ``model.fit(X, epochs=5, lr=1e-3)``.
    """

    epochs: int | None = None
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    validation_split: float = 0.1
    patience: int | None = 30
    restore_best: bool = True
    lr_schedule: str = "cosine"
    grad_clip: float | None = None
    seed: int | None = 0
    device: str = "auto"
    compile: bool = False
    compile_mode: str = "max-autotune-no-cudagraphs"
    amp: bool | str = "auto"
    nan_policy: str = "stop"
    verbose: bool = True
    log_dir: str | None = None
    csv_log: str | None = None

    def __post_init__(self) -> None:
        if self.epochs is not None:
            check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_nonneg_float("lr", self.lr)
        if self.lr == 0:
            raise ConfigError("lr must be > 0.")
        check_nonneg_float("weight_decay", self.weight_decay)
        if not isinstance(self.validation_split, (int, float)) or not 0 <= self.validation_split < 1:
            raise ConfigError(f"validation_split={self.validation_split!r} must be in [0, 1).")
        if self.patience is not None:
            check_positive_int("patience", self.patience)
        if self.grad_clip is not None:
            check_nonneg_float("grad_clip", self.grad_clip)
        check_choice("lr_schedule", self.lr_schedule, SCHEDULES)
        check_choice("compile_mode", self.compile_mode, COMPILE_MODES)
        check_choice("nan_policy", self.nan_policy, NAN_POLICIES)
        if self.amp is not True and self.amp is not False and self.amp != "auto":
            raise ConfigError(f"amp={self.amp!r} must be True, False or 'auto'.")
        for name in ("log_dir", "csv_log"):
            value = getattr(self, name)
            if value is not None:
                if not isinstance(value, (str, os.PathLike)) or not str(value):
                    raise ConfigError(f"{name}={value!r} must be a path (a string) or None.")
                object.__setattr__(self, name, os.fspath(value))  # JSON-ready in saved configs

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ConfigError(f"unknown training option(s) {unknown}; known: {sorted(known)}.")
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LossOutput:
    """What ``model.loss`` returns: the total to minimise and its named parts."""

    total: torch.Tensor
    parts: dict[str, torch.Tensor]


def auto_epochs(n_train: int, batch_size: int, world: int = 1) -> int:
    """The epoch cap when ``epochs=None``: 10,000 steps' worth, clipped to [150, 1000].

    On small data 150 epochs are a few thousand steps, and the validation
    loss of a VAE on digits still falls there; the cap is set so that early
    stopping, not the cap, ends training.

    Examples
    --------
    >>> auto_epochs(1212, 64), auto_epochs(100, 64), auto_epochs(60000, 128)
    (527, 1000, 150)
    """
    steps = max(1, -(-max(1, n_train // world) // batch_size))
    return int(min(1000, max(150, -(-10_000 // steps))))


__all__ = ["auto_epochs", "TrainConfig", "LossOutput", "SCHEDULES", "COMPILE_MODES", "NAN_POLICIES"]
