"""Input scaling fitted on training data and saved with the model.

Statistics are per feature (per pixel). Constant features get a unit range,
so they never divide by zero. Fitting can be streamed with ``partial_fit``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, ModelFileError, NotFittedError


class Scaler:
    """Min-max (to [0, 1]), standard (zero mean, unit variance) or no scaling.

    Examples
    --------
    >>> s = Scaler("minmax").fit(np.array([[0.0, 1.0], [2.0, 1.0]]))
    >>> s.transform(np.array([[1.0, 1.0]])).tolist()
    [[0.5, 0.0]]
    """

    def __init__(self, kind: str = "minmax"):
        if kind not in ("minmax", "standard", "none"):
            raise ConfigError(f"scaling={kind!r} is not one of ['minmax', 'standard', 'none'].")
        self.kind = kind
        self.offset_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self._n = 0
        self._stats: dict[str, np.ndarray] = {}

    # ---------------------------------------------------------------- fitting
    def partial_fit(self, X: np.ndarray) -> Scaler:
        """Update the statistics with one chunk (rows along axis 0)."""
        X = np.asarray(X, dtype=np.float64)
        n = X.shape[0]
        if n == 0:
            return self
        lo, hi = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
        mean = np.nanmean(X, axis=0)
        m2 = np.nansum((X - mean) ** 2, axis=0)
        if self._n == 0:
            self._stats = {"min": lo, "max": hi, "mean": mean, "m2": m2}
        else:
            s = self._stats
            tot = self._n + n
            delta = mean - s["mean"]
            s["m2"] = s["m2"] + m2 + delta**2 * self._n * n / tot
            s["mean"] = s["mean"] + delta * n / tot
            s["min"], s["max"] = np.fmin(s["min"], lo), np.fmax(s["max"], hi)
        self._n += n
        self._finalise()
        return self

    def fit(self, X: np.ndarray) -> Scaler:
        self._n = 0
        return self.partial_fit(X)

    def _finalise(self) -> None:
        s = self._stats
        if self.kind == "minmax":
            offset, scale = s["min"], s["max"] - s["min"]
        elif self.kind == "standard":
            offset, scale = s["mean"], np.sqrt(s["m2"] / max(self._n, 1))
        else:
            offset, scale = np.zeros_like(s["min"]), np.ones_like(s["min"])
        scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
        offset = np.where(np.isfinite(offset), offset, 0.0)
        self.offset_, self.scale_ = offset.astype(np.float32), scale.astype(np.float32)

    # -------------------------------------------------------------- transform
    def _check(self) -> None:
        if self.offset_ is None:
            raise NotFittedError("the scaler is not fitted; call fit first.")

    def transform(self, X: np.ndarray) -> np.ndarray:
        self._check()
        return ((X - self.offset_) / self.scale_).astype(np.float32)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        self._check()
        return (X * self.scale_ + self.offset_).astype(np.float32)

    @property
    def fitted(self) -> bool:
        return self.offset_ is not None

    # -------------------------------------------------------------------- I/O
    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {
            "kind": self.kind,
            "shape": list(self.offset_.shape),
            "offset": self.offset_.ravel().tolist(),
            "scale": self.scale_.ravel().tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected_shape: tuple[int, ...] | None = None) -> Scaler:
        try:
            s = cls(data["kind"])
            shape = tuple(int(v) for v in data["shape"])
            s.offset_ = np.asarray(data["offset"], dtype=np.float32).reshape(shape)
            s.scale_ = np.asarray(data["scale"], dtype=np.float32).reshape(shape)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"scaler.json is malformed ({exc}); re-save the model.") from None
        if expected_shape is not None and shape != tuple(expected_shape):
            raise ModelFileError(f"scaler.json has shape {shape} but the model expects {tuple(expected_shape)}.")
        if not (np.isfinite(s.offset_).all() and np.isfinite(s.scale_).all()) or (s.scale_ <= 0).any():
            raise ModelFileError("scaler.json holds non-finite or non-positive scales; re-save the model.")
        return s
