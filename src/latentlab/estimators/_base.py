"""What the three scikit-learn estimators share: parameters, validation, building and training.

The estimators are thin: ``__init__`` only stores its arguments; ``fit``
validates ``X``, builds a model with :func:`latentlab.create` (any registered
family) and trains it with the library's trainer.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from ..errors import DataError, DataTypeError, NotFittedError

# Parameters every estimator takes (and that ``get_params`` reports).
COMMON_CONSTRAINTS: dict[str, list] = {
    "family": [str],
    "latent_dim": [Interval(Integral, 1, None, closed="left")],
    "architecture": [StrOptions({"mlp", "conv", "seq", "fcn"})],
    "hidden": [tuple, list],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "model_params": [dict, None],
    "train_params": [dict, None],
    "random_state": [Interval(Integral, 0, None, closed="left"), None],
    "verbose": ["boolean"],
}


def check_array(estimator, X, *, reset: bool, allow_nan: bool = False) -> np.ndarray:
    """scikit-learn's ``validate_data`` (features count and names), re-raised as latentlab errors.

    The messages stay scikit-learn's, which users and its test suite know;
    the classes become :class:`~latentlab.DataError` / :class:`~latentlab.DataTypeError`
    (still ``ValueError`` / ``TypeError``).
    """
    try:
        return validate_data(
            estimator,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan" if allow_nan else True,
            ensure_min_samples=2 if reset else 1,
        )
    except DataError:
        raise
    except ValueError as exc:
        raise DataError(str(exc)) from None
    except TypeError as exc:
        raise DataTypeError(str(exc)) from None


class EstimatorNotFittedError(NotFittedError, SklearnNotFittedError):
    """An estimator used before ``fit``: both latentlab's and scikit-learn's ``NotFittedError``."""


def as_codes(Z, latent_dim: int) -> np.ndarray:
    """Codes as a float32 ``(n, latent_dim)`` array, or a clear error."""
    from ..data.validation import as_float_array

    Z = as_float_array(Z, name="codes")
    if Z.ndim != 2 or Z.shape[1] != latent_dim:
        raise DataError(f"codes have shape {Z.shape}; inverse_transform expects (n_samples, {latent_dim}).")
    return Z


class AutoencoderEstimatorMixin:
    """Builds and trains ``model_`` from the shared parameters."""

    def _model_config(self, n_features: int) -> dict[str, Any]:
        cfg = dict(latent_dim=int(self.latent_dim), architecture=self.architecture, hidden=tuple(self.hidden))
        cfg.update(self.model_params or {})
        return cfg

    def _train_options(self, n_samples: int, epochs: int | None = None) -> dict[str, Any]:
        """Trainer options; ``epochs`` overrides ``self.epochs`` (a size resolved from the data)."""
        opts: dict[str, Any] = dict(
            epochs=int(self.epochs if epochs is None else epochs), lr=float(self.lr), verbose=bool(self.verbose),
            seed=self.random_state,
        )
        opts.update(self.train_params or {})
        split = float(opts.get("validation_split", 0.1))
        n_train = n_samples - int(round(n_samples * split))
        if n_train < 8 or n_samples * split < 1:
            opts["validation_split"] = 0.0  # too few samples to hold any out
            n_train = n_samples
        # A batch never exceeds the data: tiny data sets still train.
        opts["batch_size"] = max(1, min(int(opts.get("batch_size", self.batch_size)), n_train))
        return opts

    def _build(self, n_features: int):
        import latentlab

        return latentlab.create(self.family, **self._model_config(n_features))

    def _fit_model(self, X: np.ndarray, seed_offset: int = 0):
        """Build and train one model; ``seed_offset`` shifts ``random_state`` (ensemble members)."""
        model = self._build(X.shape[1])
        opts = self._train_options(X.shape[0])
        if opts.get("seed") is not None:
            opts["seed"] = int(opts["seed"]) + seed_offset
        model.fit(X.astype(np.float32), **opts)
        model.row_invariant = True  # a sample's output never depends on the rows it shares a call with
        return model

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise EstimatorNotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate arguments first."
            )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")
