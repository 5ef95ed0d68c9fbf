"""Saving and loading the estimators: a folder of JSON, safetensors and model folders; nothing is pickled.

A saved estimator is a folder::

    config.json          format, versions, the constructor's parameters (``get_params``),
                         the fitted scalars and the config of each inner model
    arrays.safetensors   the fitted arrays (training scores, column statistics, ...)
    model/, model_1/...  the inner fitted models, each a model folder that latentlab.load also opens

An estimator says what its fitted state is in two methods: ``_saved_state()``
returns ``(scalars, arrays, models)`` and ``_restore_state(scalars, arrays,
models)`` puts them back, checking each value (a ``KeyError``, ``TypeError``
or ``ValueError`` there becomes :class:`~latentlab.ModelFileError`). This
module does the rest: the atomic write, the parameters, the checks of every
file. Pickling an estimator keeps working as scikit-learn users expect; these
folders are for loading where a pickle must not be trusted.
"""

from __future__ import annotations

import inspect
import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_folder, atomic_write_bytes, atomic_write_json
from .._version import __version__
from ..errors import ConfigError, ModelFileError
from ..models.io import load_model
from ..registry import check_format, read_saved
from ..storage import read_safetensors
from ..training.checkpoint import pack, unpack

FORMAT_VERSION = 1
ARRAYS = "arrays.safetensors"
MODEL_FOLDER = re.compile(r"^(model(_[1-9][0-9]{0,3})?|recurrent)$")  # the only names an inner model may have
_DAMAGED = (KeyError, TypeError, ValueError, IndexError, OverflowError)


def save_estimator(est, path) -> Path:
    """Write fitted ``est`` to folder ``path`` in one atomic step; returns the path."""
    import sklearn
    from safetensors.numpy import save as save_arrays

    est._check_fitted()
    scalars, arrays, models = est._saved_state()
    for name, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ModelFileError(f"the fitted array {name!r} holds NaN or inf; refusing to save it. Fit again.")
    names = getattr(est, "feature_names_in_", None)
    doc = {
        "format": est.saved_format,
        "format_version": FORMAT_VERSION,
        "latentlab_version": __version__,
        "sklearn_version": sklearn.__version__,
        "estimator": type(est).__name__,
        "params": _jsonable(est.get_params(deep=False), f"{type(est).__name__}'s parameters"),
        "n_features_in": int(est.n_features_in_),
        "feature_names_in": None if names is None else [str(n) for n in names],
        "state": _jsonable(scalars, f"{type(est).__name__}'s fitted state"),
        "models": {name: model.config.to_dict() for name, model in models.items()},
    }
    blob = save_arrays({k: np.ascontiguousarray(v) for k, v in arrays.items()}, metadata={"format": est.saved_format})
    path = Path(path)
    owned = {"config.json", ARRAYS, *models}
    if path.is_dir():  # inner models of an earlier save that this one does not have
        owned |= {p.name for p in path.iterdir() if MODEL_FOLDER.match(p.name)}

    def write(folder: Path) -> None:
        for name, model in models.items():
            model.save(folder / name)
        atomic_write_bytes(folder / ARRAYS, blob)
        atomic_write_json(folder / "config.json", doc)

    try:
        return atomic_folder(path, write, owned)
    except FileExistsError as exc:
        raise ModelFileError(str(exc)) from None


def load_estimator(cls, path):
    """Rebuild an estimator of class ``cls`` that :func:`save_estimator` wrote to ``path``, checking every file."""
    path, doc = read_saved(path, f"{cls.__name__}.save()")
    check_format(path, doc, cls.saved_format, cls.__name__)
    doc = cls._upgrade_document(doc)
    file = path / "config.json"
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path} uses format version {doc.get('format_version')!r}; this latentlab reads "
                             f"{FORMAT_VERSION}.")
    try:
        est = cls(**params_from_document(cls, doc.get("params")))
        if hasattr(est, "_check_params"):
            est._check_params()
        n_features = doc["n_features_in"]
        if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
            raise ValueError(f"n_features_in is {n_features!r}, not a positive integer")
        names = doc.get("feature_names_in")
        if names is not None and (not isinstance(names, list) or len(names) != n_features
                                  or not all(isinstance(n, str) for n in names)):
            raise ValueError(f"feature_names_in is not a list of {n_features} strings")
        scalars = unpack(doc.get("state", {}), {})
        recorded = doc.get("models")
        if not isinstance(scalars, dict) or not isinstance(recorded, dict):
            raise TypeError("state and models must be JSON objects")
        bad = [name for name in recorded if not MODEL_FOLDER.match(str(name))]
        if bad:
            raise ValueError(f"it names inner models {bad[:3]}, which no estimator writes")
    except (ModelFileError, ConfigError, *_DAMAGED) as exc:
        raise ModelFileError(f"{file} is damaged ({exc}); save the estimator again.") from None
    arrays = read_arrays(path / ARRAYS)
    models = {}
    for name, config in recorded.items():
        model = load_model(path / name)
        if config is not None and _normal(model.config.to_dict()) != _normal(config):
            raise ModelFileError(f"{path / name} is not the model {file} names (their configs differ); the folder "
                                 "was edited or mixed with another. Save the estimator again.")
        model.row_invariant = True  # a sample's output never depends on the rows it shares a call with
        models[name] = model
    est.n_features_in_ = n_features
    if names is not None:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    try:
        est._restore_state(scalars, arrays, models)
    except ModelFileError:
        raise
    except _DAMAGED as exc:
        raise ModelFileError(f"{path} is damaged ({exc}); save the estimator again.") from None
    return est


def read_arrays(file: Path) -> dict[str, np.ndarray]:
    """The arrays of ``file`` (safetensors), each finite, or :class:`ModelFileError`."""
    if not file.is_file():
        raise ModelFileError(f"{file} is missing; the saved folder is incomplete. Save the estimator again.")
    tensors, _ = read_safetensors(file)
    arrays = {k: v.numpy() for k, v in tensors.items()}
    for k, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ModelFileError(f"{file}: array {k!r} holds NaN or inf; the file is corrupt.")
    return arrays


def take(arrays: dict[str, np.ndarray], name: str, shape: tuple, dtype=None) -> np.ndarray:
    """``arrays[name]`` with shape ``shape`` (``None`` matches any size), or ``ValueError`` naming the problem."""
    if name not in arrays:
        raise ValueError(f"{ARRAYS} has no array {name!r}")
    a = arrays[name]
    if a.ndim != len(shape) or any(want is not None and got != want for got, want in zip(a.shape, shape)):
        raise ValueError(f"array {name!r} has shape {a.shape}, expected {shape}")
    return a if dtype is None else a.astype(dtype, copy=False)


def number(scalars: dict, name: str, kind: type = float, low: float | None = None) -> Any:
    """``scalars[name]`` as a finite ``kind`` (``int`` or ``float``) at least ``low``, or ``ValueError``."""
    v = scalars[name]
    ok = not isinstance(v, bool) and isinstance(v, (int, float) if kind is float else int) and np.isfinite(v)
    if not ok or (low is not None and v < low):
        raise ValueError(f"{name} is {v!r}, not a finite {kind.__name__}" + ("" if low is None else f" >= {low}"))
    return kind(v)


def numbers(value: Any, length: int | None, name: str, kind: type = float, low: float | None = None) -> tuple:
    """A list of ``length`` (any when None) finite numbers as a tuple of ``kind``, or ``ValueError``."""
    if not isinstance(value, (list, tuple)) or (length is not None and len(value) != length) or not value:
        raise ValueError(f"{name} is {value!r}, not a list of {length or 'some'} numbers")
    return tuple(number({f"{name}[{i}]": v}, f"{name}[{i}]", kind, low) for i, v in enumerate(value))


def check_model_inputs(model, n_features: int, name: str = "model") -> None:
    """An inner model must take the estimator's ``n_features`` values per sample."""
    if int(np.prod(model.config.input_shape)) != n_features:
        raise ValueError(f"the {name} takes samples of shape {tuple(model.config.input_shape)}, not the "
                         f"{n_features} features the estimator was fitted on")


# ----------------------------------------------------------- parameters
def params_from_document(cls, saved: Any) -> dict[str, Any]:
    """The constructor's keyword arguments from a saved ``params`` object; missing ones take their defaults."""
    params = unpack(saved, {})
    if not isinstance(params, dict):
        raise TypeError("params must be a JSON object")
    signature = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(params) - set(signature) - {"self"})
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for {cls.__name__}")
    for name, value in params.items():  # folders of earlier versions wrote tuples as lists
        if isinstance(value, list) and isinstance(signature[name].default, tuple):
            params[name] = tuple(value)
    return params


def _jsonable(obj: Any, what: str) -> Any:
    tensors: dict = {}
    try:
        doc = pack(obj, tensors)
    except TypeError as exc:
        raise ConfigError(f"{what} cannot be saved ({exc}); a saved folder holds numbers, strings, lists and "
                          "dicts only.") from None
    if tensors:
        raise ConfigError(f"{what} hold tensors; a saved folder's parameters hold numbers, strings, lists and dicts.")
    return doc


def _normal(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


# ------------------------------------------------ scikit-learn transformers
def sklearn_state(obj, prefix: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The fitted state of a scikit-learn transformer: JSON scalars and arrays (named ``prefix + attribute``).

    Nested estimators (a ``PowerTransformer``'s standard scaler) are
    described the same way, under their attribute's name.
    """
    from sklearn.base import BaseEstimator

    params = set(obj.get_params(deep=False))
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for name, value in vars(obj).items():
        if name in params or name.startswith("_sklearn"):
            continue
        if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
            arrays[prefix + name] = np.ascontiguousarray(value)
        elif isinstance(value, BaseEstimator):
            inner, inner_arrays = sklearn_state(value, f"{prefix}{name}.")
            scalars[name] = {"estimator": inner}
            arrays.update(inner_arrays)
        elif isinstance(value, np.generic):
            scalars[name] = value.item()
        elif value is None or isinstance(value, (bool, int, float, str)):
            scalars[name] = value
        else:
            raise ConfigError(f"the fitted {type(obj).__name__} holds {name} ({type(value).__name__}), which a "
                              "saved folder cannot carry.")
    return scalars, arrays


def restore_sklearn_state(probe, scalars: dict, arrays: dict[str, np.ndarray], prefix: str):
    """Put a saved :func:`sklearn_state` onto ``probe`` and return it.

    ``probe`` is a transformer of the same class and parameters, fitted on
    stand-in data of the right width: the saved state must hold exactly the
    attributes it holds, each of the same type, dtype and shape, so a file
    written by another scikit-learn that names them differently is refused
    here rather than failing later.
    """
    want, want_arrays = sklearn_state(probe, prefix)
    got_arrays = {k for k in arrays if k.startswith(prefix) and "." not in k[len(prefix):]}
    mine = {k for k in want_arrays if "." not in k[len(prefix):]}
    if set(scalars) != set(want) or got_arrays != mine:
        raise ValueError(f"the saved {type(probe).__name__} does not hold the attributes this scikit-learn uses "
                         f"({sorted(set(want) | {k[len(prefix):] for k in mine})}); refit the estimator")
    for name in mine:
        a, b = arrays[name], want_arrays[name]
        if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
            raise ValueError(f"{name} has shape {a.shape} ({a.dtype}), expected {b.shape} ({b.dtype})")
        setattr(probe, name[len(prefix):], a.copy())  # its own dtype: a float32 fit keeps float32 statistics
    for name, value in scalars.items():
        mine_value = want[name]
        if isinstance(mine_value, dict):
            if not isinstance(value, dict) or not isinstance(value.get("estimator"), dict):
                raise ValueError(f"{name} is not a saved estimator")
            restore_sklearn_state(getattr(probe, name), value["estimator"], arrays, f"{prefix}{name}.")
        elif type(value) is not type(mine_value):
            raise ValueError(f"{name} is {value!r}, expected a {type(mine_value).__name__}")
        else:
            setattr(probe, name, value)
    return probe


def fit_probe(transformer, n_features: int):
    """``transformer`` fitted on stand-in data of ``n_features`` columns (see :func:`restore_sklearn_state`)."""
    rows = max(16, int(transformer.get_params().get("n_quantiles", 0) or 0))
    X = np.random.default_rng(0).standard_normal((rows, n_features))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transformer.fit(X)


__all__ = ["save_estimator", "load_estimator", "take", "number", "numbers", "sklearn_state", "restore_sklearn_state", "fit_probe"]
