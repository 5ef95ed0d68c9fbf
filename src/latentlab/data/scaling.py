"""Input scaling fitted on training data and saved with the model.

Statistics are per feature (per pixel). Constant features get a unit range,
so they never divide by zero. Fitting can be streamed with ``partial_fit``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, ModelFileError, NotFittedError

# Robust scaling computes its quantiles on at most this many rows (a seeded reservoir of a stream).
ROBUST_ROWS = 20_000


class Scaler:
    """Min-max (to [0, 1]), standard (zero mean, unit variance), robust or no scaling.

    'robust' centres each feature on its median and divides by its
    interquartile range (scikit-learn's ``RobustScaler``), so that a few
    extreme rows do not set the scale; a feature whose quartiles coincide
    (mostly one value) uses its 1-99% range, then its full range. The
    quantiles come from at most ``ROBUST_ROWS`` rows (a seeded reservoir when
    the data are streamed).

    Examples
    --------
    >>> s = Scaler("minmax").fit(np.array([[0.0, 1.0], [2.0, 1.0]]))
    >>> s.transform(np.array([[1.0, 1.0]])).tolist()
    [[0.5, 0.0]]
    """

    def __init__(self, kind: str = "minmax"):
        if kind not in ("minmax", "standard", "robust", "none"):
            raise ConfigError(f"scaling={kind!r} is not one of ['minmax', 'standard', 'robust', 'none'].")
        self.kind = kind
        self.offset_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self._n = 0
        self._stats: dict[str, np.ndarray] = {}
        self._reservoir: np.ndarray | None = None  # robust scaling: the rows its quantiles come from
        self._rng = np.random.default_rng(0)

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
        if self.kind == "robust":
            self._keep_rows(X)
        self._n += n
        self._finalise()
        return self

    def _keep_rows(self, X: np.ndarray) -> None:
        """Reservoir sampling (Algorithm R, vectorised per chunk) of up to ``ROBUST_ROWS`` rows."""
        X = X.astype(np.float32)
        if self._reservoir is None:
            self._reservoir = X[:ROBUST_ROWS].copy()
            rest, seen = X[ROBUST_ROWS:], min(len(X), ROBUST_ROWS)
        else:
            rest, seen = X, self._n
        if len(self._reservoir) < ROBUST_ROWS and len(rest):
            take = ROBUST_ROWS - len(self._reservoir)
            self._reservoir = np.concatenate([self._reservoir, rest[:take]])
            rest, seen = rest[take:], seen + min(take, len(rest))
        if len(rest):
            slots = self._rng.integers(0, seen + np.arange(1, len(rest) + 1))
            keep = slots < ROBUST_ROWS
            self._reservoir[slots[keep]] = rest[keep]

    def fit(self, X: np.ndarray) -> Scaler:
        self._n = 0
        self._reservoir = None
        self._rng = np.random.default_rng(0)
        return self.partial_fit(X)

    def _finalise(self) -> None:
        s = self._stats
        if self.kind == "minmax":
            offset, scale = s["min"], s["max"] - s["min"]
        elif self.kind == "standard":
            offset, scale = s["mean"], np.sqrt(s["m2"] / max(self._n, 1))
        elif self.kind == "robust":
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN feature (imputation) stays NaN
                q = np.nanpercentile(self._reservoir.astype(np.float64), [1, 25, 50, 75, 99], axis=0)
            offset, scale = q[2], q[3] - q[1]
            scale = np.where(scale > 1e-12, scale, q[4] - q[0])
            scale = np.where(scale > 1e-12, scale, s["max"] - s["min"])
        else:
            offset, scale = np.zeros_like(s["min"]), np.ones_like(s["min"])
        scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
        scale = np.minimum(scale, np.finfo(np.float32).max)  # a range of +-3e38 overflows float32 by itself
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
        identity = self.kind == "none"  # offset 0 and scale 1 everywhere: the shape says it all
        return {
            "kind": self.kind,
            "shape": list(self.offset_.shape),
            "offset": [] if identity else self.offset_.ravel().tolist(),
            "scale": [] if identity else self.scale_.ravel().tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected_shape: tuple[int, ...] | None = None) -> Scaler:
        try:
            s = cls(data["kind"])
            shape = tuple(int(v) for v in data["shape"])
            identity = s.kind == "none" and data["offset"] == [] and data["scale"] == []
            if identity:
                if any(n < 1 for n in shape):
                    raise ValueError(f"shape {shape} has a side below 1")
                s.offset_ = np.broadcast_to(np.float32(0), shape)  # no copy: a hostile shape costs nothing
                s.scale_ = np.broadcast_to(np.float32(1), shape)
            else:  # also files written before identity scalers were stored by their shape alone
                s.offset_ = np.asarray(data["offset"], dtype=np.float32).reshape(shape)
                s.scale_ = np.asarray(data["scale"], dtype=np.float32).reshape(shape)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"scaler.json is malformed ({exc}); re-save the model.") from None
        if expected_shape is not None and shape != tuple(expected_shape):
            raise ModelFileError(f"scaler.json has shape {shape} but the model expects {tuple(expected_shape)}.")
        if identity:
            return s  # stored by its shape alone
        if not (np.isfinite(s.offset_).all() and np.isfinite(s.scale_).all()) or (s.scale_ <= 0).any():
            raise ModelFileError("scaler.json holds non-finite or non-positive scales; re-save the model.")
        return s
