"""What the members with a network share: the windows in the network's layout, training with masked gaps, and
point errors of a fitted network."""

from __future__ import annotations

import warnings

import numpy as np

from ...apps import timeseries as ts
from ...errors import DataWarning
from ...models.fitting import ArrayInput, fit_model
from ...training.options import TrainConfig


def layout(Z: np.ndarray, seq: bool) -> np.ndarray:
    """Normalised windows ``(n, w, F)`` in a network's input layout, missing points at 0 (masked): the
    sequence layout ``(n, w, F)`` when ``seq``, else flat ``(n, F * w)``, channel by channel."""
    Z = np.nan_to_num(Z).astype(np.float32)
    if seq:
        return Z
    return np.ascontiguousarray(Z.transpose(0, 2, 1)).reshape(len(Z), -1)  # (n, F * w)


def train(model, Z: np.ndarray, opts: dict, seq: bool):
    """Train ``model`` on normalised windows ``Z`` ``(n, w, F)``; missing points are masked out of the loss."""
    observed = np.isfinite(Z)
    X = layout(Z, seq)
    if observed.all() or model.allows_nan:
        model.fit(X if observed.all() else Z.astype(np.float32), **opts)
    else:
        mask = layout(observed.astype(np.float64), seq)
        from ...data.scaling import Scaler

        model.config = model.config.replace(input_shape=tuple(X.shape[1:]))
        model.scaler = Scaler(model.config.scaling).fit(X)
        fit_model(model, ArrayInput(X, mask=mask), TrainConfig.from_kwargs(**opts))
    model.row_invariant = True  # a window's error never depends on the windows it is scored with
    return model


def point_errors(model, W: np.ndarray, how: str, seq: bool) -> np.ndarray:
    """Squared errors ``(n, w, F)`` of ``model``'s reconstruction of windows ``W`` normalised ``how``; NaN
    where a point is missing."""
    Z = ts.normalise_windows(W, how)
    if len(Z) == 0:
        return np.zeros((0, *W.shape[1:]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # anomalies lie outside the training range on purpose
        R = model.reconstruct(layout(Z, seq)).astype(np.float64)
    n, w, f = Z.shape
    R = R.reshape(n, w, f) if R.ndim == 3 else R.reshape(n, f, w).transpose(0, 2, 1)  # seq | flat (F, w)
    return (R - Z) ** 2  # NaN stays NaN


def restored_model(models: dict, name: str, window: int, n_features: int):
    """The fitted network ``models[name]``, checked to take windows of ``window`` steps of ``n_features``."""
    from .._persist import check_model_inputs

    if name not in models:
        raise ValueError(f"it holds no model folder {name!r}")
    model = models[name]
    check_model_inputs(model, window * n_features, name)
    return model
