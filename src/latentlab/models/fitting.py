"""The one fit path: every way of fitting a model (arrays, streams, masked data) goes through :func:`fit_model`.

A *fit input* says how its data give a sample shape, a fitted scaler and
model-space training data; :func:`fit_model` does the rest in one order:
checkpoint, shape, scaler, build, weights, trainer, statistics. The fronts
(:meth:`~latentlab.models.api.ModelAPI.fit`, ``fit_source``, the
scikit-learn estimators, the imputer) only choose an input and options.

Nothing about fitting stays on the model but what describes the result
(:class:`FitReport`): the optimizer and the trainer are dropped when
``fit`` returns.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..data.scaling import Scaler
from ..data.tensors import TensorData
from ..data.validation import as_float_array, check_finite, check_shape, warn_absurd_rows, warn_constant
from ..errors import DataError
from ..training.device import seed_everything
from ..training.options import TrainConfig
from ..training.trainer import Trainer
from .resume import adopt_checkpoint


@dataclass
class FitReport:
    """What the last ``fit`` did, beyond the per-epoch ``history``."""

    epochs_run: int = 0
    best_epoch: int | None = None
    stopped_on_nan: bool = False
    statistics: dict = field(default_factory=dict)  # what fitting the prior and the diagnostics reported


def check_bernoulli_range(config, scaled: np.ndarray) -> None:
    """A Bernoulli likelihood scores values in [0, 1]: refuse training data that leaves it after scaling."""
    if config.likelihood != "bernoulli" or scaled.size == 0:
        return
    lo, hi = float(np.nanmin(scaled)), float(np.nanmax(scaled))
    if lo < -1e-4 or hi > 1 + 1e-4:
        raise DataError(
            f"likelihood='bernoulli' models values in [0, 1], but the scaled training data span [{lo:.3g}, {hi:.3g}] "
            f"(scaling={config.scaling!r}); use scaling='minmax' or likelihood='gaussian'."
        )


class ArrayInput:
    """In-memory arrays: ``X``, labels ``y``, optional ``validation_data`` and an observed-entries ``mask``."""

    def __init__(self, X, y=None, validation_data=None, mask: np.ndarray | None = None, allow_nan: bool = False):
        self.arr = as_float_array(X, name="X", min_samples=2, allow_nan=allow_nan)
        warn_constant(self.arr)
        self.y, self.validation_data, self.mask, self.allow_nan = y, validation_data, mask, allow_nan

    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.arr.shape[1:])

    def check(self, model) -> None:
        self.arr = check_shape(self.arr, model.config.input_shape, name="X")

    def fit_scaler(self, model) -> Scaler:
        shape = model.config.input_shape
        warn_absurd_rows(self.arr, model.config.scaling, stacklevel=4)  # the user's call of fit
        return Scaler(model.config.scaling).fit(self.arr.reshape(self.arr.shape[0], *shape))

    def data(self, model, tc: TrainConfig):
        arr = self.arr
        labels = model.label_tensor(self.y, arr.shape[0]) if (self.y is not None and model.config.n_classes > 0) else None
        if model.config.n_classes > 0 and labels is None:
            raise DataError("this model is conditional: pass labels y to fit.")
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = model.scaler.transform(arr)
        check_scaled_finite(scaled, arr, "X")
        check_bernoulli_range(model.config, scaled)
        mask = None if self.mask is None else torch.from_numpy(np.asarray(self.mask, dtype=np.float32))
        train = TensorData(torch.from_numpy(scaled), labels, mask)
        val = None
        if self.validation_data is not None:
            vd = self.validation_data
            vx, vy = vd if isinstance(vd, tuple) else (vd, None)
            varr = as_float_array(vx, name="validation X", allow_nan=self.allow_nan)
            varr = check_shape(varr, model.config.input_shape, name="validation X")
            vlab = model.label_tensor(vy, varr.shape[0]) if model.config.n_classes > 0 else None
            with np.errstate(over="ignore", invalid="ignore"):
                vscaled = model.scaler.transform(varr)
            check_scaled_finite(vscaled, varr, "validation X")
            val = TensorData(torch.from_numpy(vscaled), vlab)
        return train, val

    def statistics_rows(self, train) -> TensorData:
        return TensorData(train.x, train.y)


def check_scaled_finite(scaled: np.ndarray, raw: np.ndarray, name: str) -> None:
    """Refuse training rows that overflow float32 once scaled (NaN where the raw value was NaN is padding)."""
    bad = ~np.isfinite(scaled) & ~np.isnan(raw)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(
            f"{name} row {row} (and {int(bad.any(axis=tuple(range(1, bad.ndim))).sum()) - 1} more) overflows float32 "
            "once scaled: its values are absurdly far from the rest. Remove such rows before fitting."
        )


class StreamInput:
    """A :class:`~latentlab.data.streaming.Source` read a block at a time (data bigger than memory)."""

    def __init__(self, source):
        from ..data.streaming import Source, open_source

        self.source = source if isinstance(source, Source) else open_source(source)

    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.source.shape)

    def check(self, model) -> None:
        if math.prod(self.source.shape) != math.prod(model.config.input_shape):
            raise DataError(
                f"the source's samples have shape {self.source.shape}; this model expects {model.config.input_shape}."
            )
        if model.config.n_classes > 0 and not self.source.has_labels:
            raise DataError("this model is conditional: the source must carry labels (label_column or labels=).")

    def fit_scaler(self, model) -> Scaler:
        from ..data.streaming import default_block_rows

        shape = tuple(model.config.input_shape)
        scaler = Scaler(model.config.scaling)
        for x, _ in self.source.stream(default_block_rows(shape)):
            check_finite(x, name="the source")
            scaler.partial_fit(x.reshape(len(x), *shape))
        return scaler

    def data(self, model, tc: TrainConfig):
        from ..data.streaming import StreamingData

        shape = tuple(model.config.input_shape)

        def transform(x):
            scaled = model.scaler.transform(x.reshape(len(x), *shape))
            check_bernoulli_range(model.config, scaled)
            return scaled

        train = StreamingData(self.source, transform, "train", tc.validation_split)
        val = StreamingData(self.source, transform, "val", tc.validation_split)
        return train, (val if len(val) else None)

    def statistics_rows(self, train) -> TensorData:
        """At most 20,000 evenly spaced training rows (64 MB), read a block at a time."""
        cap = max(256, min(20000, (1 << 24) // math.prod(self.source.shape)))
        step, seen, picked = max(1, -(-len(train) // cap)), 0, []
        for x, y in train.batches(train.block_rows):
            idx = torch.arange((-seen) % step, len(x), step)
            picked.append((x[idx], None if y is None else y[idx]))
            seen += len(x)
        ys = None if picked[0][1] is None else torch.cat([p[1] for p in picked])
        return TensorData(torch.cat([p[0] for p in picked]), ys)


def fit_model(model, data, tc: TrainConfig, callbacks=None, resume=None):
    """Fit ``model`` on a fit input ``data`` (:class:`ArrayInput`, :class:`StreamInput`); returns the model."""
    ckpt = None if resume is None else adopt_checkpoint(model, resume, tc)
    if model.config.input_shape is None:
        model.config = model.config.replace(input_shape=data.sample_shape())
    data.check(model)
    if model.scaler is None:
        model.scaler = data.fit_scaler(model)
    fresh = not model.built
    if fresh:
        seed_everything(tc.seed)
        model.build()
    if ckpt is not None:
        model.load_state_dict(ckpt.model_state)
    train, val = data.data(model, tc)
    rows = data.statistics_rows(train)  # model-space rows: the scaler is fixed, so training leaves them as they are
    if fresh and ckpt is None:
        model.initialise_from_data(rows)
    trainer = Trainer(model, tc, callbacks)
    if ckpt is not None:
        trainer.load_state_dict(ckpt.trainer_state)
    try:
        model.history = list(model.history) + trainer.fit(train, val)
        model.train_config = tc
        report = FitReport(len(model.history), trainer.best_epoch, trainer.stopped_on_nan)
        report.statistics = model.fit_statistics(rows)
    except BaseException:  # Ctrl-C or a failure mid-fit: the model says so instead of looking fitted
        model.fit_interrupted = True
        raise
    model.fit_report = report
    model.fit_interrupted = False
    return model


def fit_batch(tc: TrainConfig, n: int) -> TrainConfig:
    """``tc`` with its batch no larger than the rows left for training after ``validation_split``.

    Mirrors the trainer's split: with too few rows to hold any out, all of them train.
    """
    n_val = int(round(n * tc.validation_split))
    n_train = n if (tc.validation_split <= 0 or n_val < 1 or n - n_val < 1) else n - n_val
    if tc.batch_size <= n_train:
        return tc
    return dataclasses.replace(tc, batch_size=max(1, n_train))


def train_config(epochs: int | None, batch_size: int | None, options: dict[str, Any]) -> TrainConfig:
    """``TrainConfig`` from ``fit``'s keyword arguments (``None`` keeps the default)."""
    given = {"epochs": epochs, "batch_size": batch_size}
    return TrainConfig.from_kwargs(**options, **{k: v for k, v in given.items() if v is not None})


__all__ = ["fit_model", "ArrayInput", "StreamInput", "FitReport", "train_config", "fit_batch", "check_bernoulli_range"]
