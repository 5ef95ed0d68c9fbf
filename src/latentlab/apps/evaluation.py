"""Evaluation of a fitted model on data: metrics, and figures in a run folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._files import atomic_write_json


def reconstruction_metrics(model, X: np.ndarray, y: np.ndarray | None = None) -> dict[str, float]:
    """MSE (mean over features) and, for data in [0, 1], BCE and PSNR."""
    yy = y if model.config.n_classes > 0 else None
    R = model.reconstruct(X, yy)
    X = np.asarray(X, dtype=np.float32).reshape(R.shape)
    mse = float(np.mean((R - X) ** 2))
    out = {"mse": mse}
    if X.min() >= 0 and X.max() <= 1:
        Rc = np.clip(R, 1e-6, 1 - 1e-6)
        out["bce"] = float(-np.mean(X * np.log(Rc) + (1 - X) * np.log(1 - Rc)))
        out["psnr"] = float(10 * np.log10(1.0 / max(mse, 1e-12)))
    return out


def evaluate_run(model, X: np.ndarray, y: np.ndarray | None, out: Path) -> dict[str, float]:
    """Metrics on ``X`` written to ``out/evaluation.json`` (and returned)."""
    metrics = reconstruction_metrics(model, X, y)
    atomic_write_json(Path(out) / "evaluation.json", metrics)
    return metrics
