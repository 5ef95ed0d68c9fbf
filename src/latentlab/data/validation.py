"""Input checks shared by the model API, the estimators, the CLI and the server.

Every check raises a :mod:`latentlab.errors` exception that names the
problem and the fix, before anything reaches torch.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import DataError, DataTypeError, DataWarning

# How far outside the training data a value may lie before a warning, in the
# scaler's own units: training ranges for 'minmax', standard deviations for 'standard'.
FAR_RANGES = {"minmax": 10.0, "standard": 20.0}


def input_file(path, expect: str, *, missing: str | None = None) -> Path:
    """``path`` as a :class:`~pathlib.Path` of an existing file, or a :class:`DataError` that says what it is.

    A folder is called a folder and a missing path missing, each followed by
    ``pass {expect}`` (``missing`` replaces that advice for a missing path).

    Examples
    --------
    >>> import tempfile
    >>> input_file(tempfile.mkdtemp(), "a CSV file")
    Traceback (most recent call last):
    ...
    latentlab.errors.DataError: ... is a folder; pass a CSV file.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder; pass {expect}.")
    if not path.is_file():
        raise DataError(f"{path} does not exist; {missing or f'pass {expect}'}.")
    return path


def as_float_array(X, *, name: str = "X", allow_nan: bool = False, min_samples: int = 1) -> np.ndarray:
    """Return ``X`` as a float32 NumPy array, or raise a clear error.

    Accepts NumPy arrays, nested lists, pandas frames and torch tensors.
    Integer, boolean, float16 and float64 inputs are converted to float32.

    Examples
    --------
    >>> as_float_array([[1, 2], [3, 4]]).dtype
    dtype('float32')
    """
    if X is None:
        raise DataError(f"{name} is None; pass an array of shape (n_samples, n_features).")
    if hasattr(X, "detach") and hasattr(X, "cpu"):  # torch tensor
        if X.is_complex():  # .float() would drop the imaginary part without a word
            raise DataTypeError(f"{name} is complex; pass real numbers (e.g. torch.abs or split real/imag parts).")
        X = X.detach().cpu().float().numpy()
    elif isinstance(X, np.ma.MaskedArray):  # np.asarray would drop the mask: masked entries become NaN (missing)
        X = X.astype(np.float64).filled(np.nan) if X.dtype.kind != "c" else X.data
    elif hasattr(X, "to_numpy"):  # pandas
        X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name} could not be read as an array ({exc}); pass equal-length rows of numbers.") from None
    if arr.dtype.kind in "OUSV" or arr.dtype.kind == "M":
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError):
            raise DataTypeError(
                f"{name} holds non-numeric values (dtype {arr.dtype}); convert or drop text columns before passing it."
            ) from None
    if arr.dtype.kind == "c":
        raise DataTypeError(f"{name} is complex; pass real numbers (e.g. np.abs or split real/imag parts).")
    if arr.ndim == 0:
        raise DataError(f"{name} is a scalar; pass an array of shape (n_samples, n_features).")
    if arr.ndim == 1:
        raise DataError(
            f"{name} is 1-D with shape {arr.shape}; pass shape (n_samples, n_features): "
            "use X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample."
        )
    if arr.shape[0] == 0 or arr.size == 0:
        raise DataError(f"{name} is empty (shape {arr.shape}); pass at least {min_samples} sample(s).")
    if arr.shape[0] < min_samples:
        raise DataError(f"{name} has {arr.shape[0]} sample(s); at least {min_samples} are needed.")
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 4:
        big = np.abs(arr[np.isfinite(arr)]).max(initial=0.0)
        if big > np.finfo(np.float32).max:
            raise DataError(f"{name} has values up to {big:.3g}, beyond float32's range; rescale it first.")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not allow_nan:
        check_finite(arr, name=name)
    elif np.isinf(arr).any():
        raise DataError(f"{name} contains inf; replace infinities with NaN (missing) or finite values.")
    return arr


def check_finite(arr: np.ndarray, *, name: str = "X") -> None:
    """Raise :class:`DataError` when ``arr`` has NaN or inf, saying where."""
    bad = ~np.isfinite(arr)
    if bad.any():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(bad.sum()) - n_nan
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{name} contains {n_nan} NaN and {n_inf} inf value(s) (first at index {first}); "
            "remove or impute them first (latentlab.AutoencoderImputer fills NaNs)."
        )


def check_shape(arr: np.ndarray, input_shape: tuple[int, ...], *, name: str = "X") -> np.ndarray:
    """Reshape ``arr`` to ``(N, *input_shape)``, accepting a flat layout too."""
    want = tuple(input_shape)
    if tuple(arr.shape[1:]) == want:
        return arr
    if arr.ndim >= 2 and int(np.prod(arr.shape[1:])) == int(np.prod(want)) and (arr.ndim == 2 or len(want) == 1):
        return arr.reshape(arr.shape[0], *want)
    raise DataError(
        f"{name} has shape {arr.shape} but the model expects (n_samples, {', '.join(map(str, want))}) "
        f"({int(np.prod(want))} features); pass data laid out like the training data."
    )


def check_labels(y, n_samples: int, *, n_classes: int | None = None, name: str = "y") -> np.ndarray:
    """Integer labels of length ``n_samples`` (and below ``n_classes`` when given)."""
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    arr = np.asarray(y)
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.ndim == 2 and arr.shape[1] == 1 else arr
    if arr.ndim != 1:
        raise DataError(f"{name} must be 1-D labels, got shape {arr.shape}.")
    if arr.shape[0] != n_samples:
        raise DataError(f"{name} has {arr.shape[0]} labels but X has {n_samples} samples; pass one label per sample.")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
            raise DataError(f"{name} must hold integer class labels; got non-integer values.")
    elif arr.dtype.kind not in "iub":
        raise DataTypeError(f"{name} must hold integer class labels 0..K-1; encode them with LabelEncoder first.")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise DataError(f"{name} has negative labels; use 0..K-1.")
    if n_classes is not None and arr.size and arr.max() >= n_classes:
        raise DataError(f"{name} has label {arr.max()} but the model knows {n_classes} classes (0..{n_classes - 1}).")
    return arr


def check_training_range(scaled: np.ndarray, kind: str, *, name: str = "X") -> None:
    """Warn when scaled data lies far outside the training data; refuse data that overflows.

    ``scaled`` is the input after the model's fitted scaler. With 'minmax'
    scaling the training data spans [0, 1] and a value more than 10 training
    ranges outside it warns; with 'standard' scaling, more than 20 standard
    deviations from the training mean. Far values are allowed (anomaly
    detection feeds them on purpose) but the outputs may be meaningless.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     check_training_range(np.array([[0.5, 40.0]], dtype=np.float32), "minmax")
    >>> "outside the training range" in str(w[0].message)
    True
    """
    if not np.isfinite(scaled).all():
        raise DataError(
            f"{name} holds values so far outside the training range that they overflow float32 after scaling; "
            "pass data on the scale the model was trained on."
        )
    far = FAR_RANGES.get(kind)
    if far is None or scaled.size == 0:
        return
    lo, hi = (-far, 1.0 + far) if kind == "minmax" else (-far, far)
    n_far = int(np.count_nonzero((scaled < lo) | (scaled > hi)))
    if n_far:
        unit = "training ranges" if kind == "minmax" else "standard deviations"
        warnings.warn(
            f"{name} has {n_far} value(s) more than {far:g} {unit} outside the training range; "
            "outputs for them are extrapolation. Check the units, or refit on data that covers them.",
            DataWarning,
            stacklevel=4,  # the user's call of encode/reconstruct/...
        )


# A training value this many times its feature's bulk spread outside the bulk is "absurd": with
# min-max or standard scaling it sets the scale and squashes every other value to a constant.
ABSURD_SPREADS = 1e4
# A feature whose bulk spans less than this fraction of the data's overall scale is near-constant: its own spread
# says nothing about outliers, and its rows are judged against the overall scale instead.
NEAR_CONSTANT = 1e-5


def warn_absurd_rows(arr: np.ndarray, kind: str, *, name: str = "X", stacklevel: int = 2) -> None:
    """Warn when a few training values lie absurdly far outside the bulk of their feature.

    The bulk of a feature is its 1-99% quantile range (computed on at most
    10,000 rows, from observed values, never interpolated between them); a
    feature whose bulk is a single value or spans less than ``NEAR_CONSTANT``
    of the data's overall scale (a pixel that is almost always 0) is no
    evidence of outlier rows, so it is measured against that overall scale
    (the 99th percentile of all absolute values). A value more
    than ``ABSURD_SPREADS`` times that spread outside the bulk (one row of
    1e38 in [0, 1] data) would set a min-max or standard scale and leave the
    model nothing to learn from the other rows, so fitting says so and names
    the remedies. 'robust' and 'none' scaling are not affected and not checked.

    Examples
    --------
    >>> import warnings
    >>> X = np.random.default_rng(0).random((200, 3)); X[7, 1] = 1e38
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_absurd_rows(X, "minmax")
    >>> "1 row(s)" in str(w[0].message) and "remove them" in str(w[0].message)
    True
    """
    if kind not in ("minmax", "standard"):
        return
    flat = np.asarray(arr).reshape(len(arr), -1)
    if flat.shape[0] < 20:
        return
    step = max(1, flat.shape[0] // 10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN features
        sample = flat[::step].astype(np.float64)
        # Observed values, not interpolated ones: between the 0s and the rare lit values of a sparse pixel,
        # interpolation makes a "spread" of a hundredth of a grey level, and every lit row an outlier.
        q = np.stack(
            [np.nanpercentile(sample, 1, axis=0, method="lower"), np.nanpercentile(sample, 99, axis=0, method="higher")]
        )
        spread = q[1] - q[0]
        pooled = np.nanpercentile(np.abs(sample), 99)
    scale = pooled if np.isfinite(pooled) and pooled > 0 else 1.0
    reference = np.where(spread > NEAR_CONSTANT * scale, spread, scale)
    limit = ABSURD_SPREADS * reference
    with np.errstate(invalid="ignore", over="ignore"):
        far = (flat < q[0] - limit) | (flat > q[1] + limit)
    rows = np.flatnonzero(far.any(axis=1))
    if rows.size:
        feature = int(np.flatnonzero(far[rows[0]])[0])
        warnings.warn(
            f"{name} has {rows.size} row(s) with values more than {ABSURD_SPREADS:g} times the bulk's spread outside "
            f"it (row {int(rows[0])}, feature {feature}: {flat[rows[0], feature]:.3g}). With scaling={kind!r} they "
            "set the scale and squash every other row: remove them before fitting (scaling='robust' copes with "
            "skewed columns, not with values like these).",
            DataWarning,
            stacklevel=stacklevel + 1,
        )


def warn_constant(arr: np.ndarray, *, name: str = "X") -> None:
    """Warn when every feature of ``arr`` is constant: there is nothing to learn.

    Some constant features are fine (the scaler gives them a unit range, so
    nothing divides by zero); all of them is almost certainly a mistake.
    """
    flat = arr.reshape(arr.shape[0], -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (imputation) are not constant
        constant = flat.shape[0] > 1 and bool(np.all(np.nanmax(flat, axis=0) == np.nanmin(flat, axis=0)))
    if constant:
        warnings.warn(
            f"every feature of {name} is constant; the model can only learn that constant. "
            "Check that the right columns were passed.",
            DataWarning,
            stacklevel=3,
        )
