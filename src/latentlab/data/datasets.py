"""Embedded data sets and array files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError, DataTypeError
from .validation import input_file


def load_digits(split: bool = False, random_state: int = 0, test_size: float = 0.25):
    """scikit-learn's 8x8 digits, pixels scaled by 1/16 to [0, 1] (ships with scikit-learn).

    Returns ``(X, y)``, or ``(X_train, X_test, y_train, y_test)`` with ``split=True``
    (``train_test_split(test_size=0.25, random_state=0)`` by default).

    Examples
    --------
    >>> X, y = load_digits()
    >>> X.shape, float(X.max())
    ((1797, 64), 1.0)
    """
    from sklearn.datasets import load_digits as _load

    d = _load()
    X = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    if not split:
        return X, y
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, random_state=random_state)


def read_table(path: str | Path, label_column: str | None = None):
    """Read ``.npy`` or CSV into a float32 array (and labels if ``label_column`` is given).

    CSV with a header row is read by pandas; non-numeric columns get a clear error.
    """
    path = input_file(path, "a .npy or .csv file (or 'digits')")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False, mmap_mode="r")
        except ValueError as exc:
            raise DataError(f"{path} is not a plain numeric .npy file ({exc}); object arrays are refused.") from None
        if arr.dtype.kind not in "iufb":  # complex numbers would silently lose their imaginary part
            raise DataTypeError(f"{path} holds {arr.dtype} values; pass real numbers (split complex data into real and imaginary parts).")
        return np.asarray(arr, dtype=np.float32), None
    if suffix in (".csv", ".txt", ".tsv"):
        import pandas as pd

        sep = "\t" if suffix == ".tsv" else ","
        try:
            df = pd.read_csv(path, sep=sep)
        except (ValueError, pd.errors.ParserError) as exc:
            raise DataError(f"{path} could not be parsed as CSV ({exc}).") from None
        y = None
        if label_column is not None:
            if label_column not in df.columns:
                raise DataError(f"{path} has no column {label_column!r}; columns are {list(df.columns)[:10]}.")
            y = df.pop(label_column).to_numpy()
        bad = [c for c in df.columns if df[c].dtype.kind not in "iufb"]
        if bad:
            raise DataTypeError(
                f"{path} has non-numeric column(s) {bad[:5]}; drop them or name the label column with --label-column."
            )
        return df.to_numpy(dtype=np.float32), y
    raise DataError(f"{path}: unsupported file type {suffix!r}; use .npy or .csv.")


def load_data(spec: str, label_column: str | None = None):
    """``'digits'`` (embedded), a series name ('sunspots', 'co2', 'elnino', 'macro': windows of
    :func:`~latentlab.data.sequences.load_sequences`), or a path to ``.npy`` / ``.csv``; returns ``(X, y or None)``."""
    if spec == "digits":
        return load_digits()
    from .sequences import SERIES, load_sequences

    if spec in SERIES:  # real series cut into windows of 24 steps: (n, 24, features)
        return load_sequences(spec), None
    from .loaders import LOADERS

    if spec in LOADERS:  # 'mnist', 'fashion-mnist', 'kmnist', 'cifar10' from the cache (LATENTLAB_DATA)
        return LOADERS[spec]("train")
    return read_table(spec, label_column)
