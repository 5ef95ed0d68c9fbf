"""What the three scikit-learn estimators share: parameters, validation, building and training.

The estimators are thin: ``__init__`` only stores its arguments; ``fit``
validates ``X``, builds a model with :func:`latentlab.create` (any registered
family) and trains it with the library's trainer.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import validate_data

from ..config import SIZE, Param, check_params
from ..errors import DataError, DataTypeError, NotFittedError

# Parameters every estimator takes (and that ``get_params`` reports), declared as the configs declare theirs:
# ``fit`` checks them with :func:`latentlab.config.check_params`, the command line builds its options from them.
COMMON_PARAMS: dict[str, Param] = {
    "family": Param(str),
    "latent_dim": SIZE,
    "architecture": Param(str, choices=("mlp", "conv", "seq", "fcn")),
    "hidden": Param(tuple, low=1, high=SIZE.high),
    "epochs": SIZE,
    "batch_size": SIZE,
    "lr": Param(float, low=0, closed="neither"),
    "model_params": Param(dict, also=(None,)),
    "train_params": Param(dict, also=(None,)),
    "random_state": Param(int, low=0, also=(None,)),
    "verbose": Param(bool),
}


def check_array(estimator, X, *, reset: bool, allow_nan: bool = False) -> np.ndarray:
    """scikit-learn's ``validate_data`` (features count and names), re-raised as latentlab errors.

    The messages start as scikit-learn's, which users and its test suite know,
    and name the column at fault (:func:`column_problem`); the classes become
    :class:`~latentlab.DataError` / :class:`~latentlab.DataTypeError` (still
    ``ValueError`` / ``TypeError``).
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
        raise DataError(_with_column(str(exc), X)) from None
    except TypeError as exc:
        raise DataTypeError(_with_column(str(exc), X)) from None


def _columns(X) -> list[tuple[str, Any]]:
    """``(label, values)`` of each column of a 2-D table: a DataFrame's names, else ``column j``."""
    names = getattr(X, "columns", None)
    if names is not None and hasattr(X, "iloc"):
        return [(f"column {name!r} (index {j})", X.iloc[:, j].to_numpy()) for j, name in enumerate(names)]
    arr = np.asarray(X, dtype=object)
    if arr.ndim != 2:
        return []
    return [(f"column {j}", arr[:, j]) for j in range(arr.shape[1])]


def column_problem(X, kind: str = "text") -> str | None:
    """In words, the first column of ``X`` holding text (``kind='text'``), or the columns holding NaN
    (``'nan'``) or infinity (``'inf'``); None when there is none.

    Examples
    --------
    >>> column_problem([[1.0, "setosa"], [2.0, "virginica"]])
    "column 1 holds text such as 'setosa': encode it as numbers (scikit-learn's OneHotEncoder or OrdinalEncoder) or drop it."
    >>> column_problem([[1.0, float("nan")], [2.0, 3.0]], "nan")
    'NaN in column 1: fill the gaps first (latentlab.AutoencoderImputer, or SimpleImputer in a Pipeline) or drop those rows.'
    """
    try:
        columns = _columns(X)
    except (TypeError, ValueError):  # ragged rows and the like: scikit-learn's message says it
        return None
    bad = []
    for label, values in columns:
        try:
            numbers = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            text = next((v for v in values if isinstance(v, str | bytes) and not _is_number(v)), None)
            what = f"text such as {text!r}" if text is not None else "values that are not numbers"
            return f"{label} holds {what}: encode it as numbers (scikit-learn's OneHotEncoder or OrdinalEncoder) or drop it."
        if (np.isnan(numbers) if kind == "nan" else ~np.isfinite(numbers) & ~np.isnan(numbers)).any():
            bad.append(label)
    if not bad or kind == "text":
        return None
    more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    if kind == "inf":
        return f"infinity or a value too large in {', '.join(bad[:3])}{more}: check the units, or drop those rows."
    return (f"NaN in {', '.join(bad[:3])}{more}: fill the gaps first (latentlab.AutoencoderImputer, "
            "or SimpleImputer in a Pipeline) or drop those rows.")


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _with_column(message: str, X) -> str:
    """scikit-learn's ``message`` for ``X``: its first sentence, then the column at fault when one can be named."""
    kind = "nan" if "contains NaN" in message else "inf" if "contains infinity" in message else "text"
    text = "convert" in message or "must be a string" in message
    where = column_problem(X, kind) if text or kind != "text" else None
    if where is None:
        return message
    return f"{message.splitlines()[0]} {where}"


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
    """Checks the parameters, and builds and trains ``model_`` from the shared ones."""

    param_specs: ClassVar[dict[str, Param]] = COMMON_PARAMS

    def _check_params(self) -> None:
        """The first step of ``fit``: each parameter against ``param_specs``, or :class:`~latentlab.ConfigError`."""
        check_params(self.get_params(deep=False), self.param_specs)

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
        from ..registry import get_family

        return get_family(self.family)(**self._model_config(n_features))

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

    # ------------------------------------------------------------------ files
    #: The ``format`` its saved folder's ``config.json`` names (``latentlab.load`` opens it by that name).
    saved_format: ClassVar[str] = ""

    def save(self, path):
        """Write the fitted estimator to folder ``path`` in one atomic step; nothing is pickled.

        The folder holds ``config.json`` (the parameters and the fitted
        scalars), ``arrays.safetensors`` (the fitted arrays) and the inner
        models' folders. Open it with ``type(self).load(path)`` or
        :func:`latentlab.load`. Other files in the folder are kept.

        Examples
        --------
        >>> import tempfile, latentlab
        >>> X, _ = latentlab.load_digits()
        >>> ae = latentlab.AutoencoderTransformer(latent_dim=2, hidden=(8,), epochs=1).fit(X[:100])
        >>> folder = ae.save(tempfile.mkdtemp() + "/ae")
        >>> bool((latentlab.load(folder).transform(X[:3]) == ae.transform(X[:3])).all())
        True
        """
        from ._persist import save_estimator

        return save_estimator(self, path)

    @classmethod
    def load(cls, path):
        """Rebuild an estimator that :meth:`save` wrote to ``path``, checking every file first.

        Raises
        ------
        ModelFileError
            A missing, corrupt or foreign folder, or one that holds another kind of object (then the message
            says what opens it).
        """
        from ._persist import load_estimator

        return load_estimator(cls, path)

    @classmethod
    def _upgrade_document(cls, doc: dict) -> dict:
        """``config.json`` as this version writes it, from one an earlier version wrote (here: unchanged)."""
        return doc

    def _saved_state(self):
        """``(scalars, arrays, models)``: the fitted state that :meth:`save` writes (see ``_persist``)."""
        raise NotImplementedError

    def _restore_state(self, scalars: dict, arrays: dict, models: dict) -> None:
        """Put back, checking each value, what :meth:`_saved_state` returned."""
        raise NotImplementedError
