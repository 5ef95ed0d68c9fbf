"""Sequence data: real series shipped with statsmodels cut into windows, a synthetic generator, padding.

Sequences are ``(n, T, F)`` float32 arrays in which NaN marks padding (and,
before a sequence's last real step, missing values); see
:mod:`latentlab.models.seq`.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError

SERIES = ("sunspots", "co2", "elnino", "macro")


def load_series(name: str = "sunspots") -> np.ndarray:
    """One real series from statsmodels' bundled data sets, shape ``(time, features)``.

    'sunspots': yearly sunspot counts 1700-2008 (1 feature); 'co2': weekly
    Mauna Loa CO2 1958-2001 (1 feature, 59 missing weeks left as NaN);
    'elnino': monthly Pacific sea-surface temperature 1950-2010 (1 feature);
    'macro': quarterly US growth rates 1959-2009 (4 features: 100 x log
    differences of real GDP, consumption, investment, government spending).

    Examples
    --------
    >>> load_series("macro").shape
    (202, 4)
    """
    from statsmodels import datasets

    if name == "sunspots":
        values = datasets.sunspots.load_pandas().data[["SUNACTIVITY"]].to_numpy()
    elif name == "co2":
        values = datasets.co2.load_pandas().data[["co2"]].to_numpy()
    elif name == "elnino":
        values = datasets.elnino.load_pandas().data.iloc[:, 1:].to_numpy().reshape(-1, 1)
    elif name == "macro":
        df = datasets.macrodata.load_pandas().data[["realgdp", "realcons", "realinv", "realgovt"]]
        values = 100 * np.diff(np.log(df.to_numpy()), axis=0)
    else:
        raise DataError(f"unknown series {name!r}; pick one of {list(SERIES)}.")
    return values.astype(np.float32)


def windows(series: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Cut a ``(time, features)`` series into ``(n, window, features)`` overlapping windows.

    Examples
    --------
    >>> windows(np.arange(10.0).reshape(-1, 1), 4, stride=3)[:, :, 0].tolist()
    [[0.0, 1.0, 2.0, 3.0], [3.0, 4.0, 5.0, 6.0], [6.0, 7.0, 8.0, 9.0]]
    """
    series = np.asarray(series, dtype=np.float32)
    if series.ndim == 1:
        series = series[:, None]
    if window < 1 or stride < 1 or window > len(series):
        raise DataError(f"window={window}, stride={stride} do not fit a series of {len(series)} steps.")
    starts = np.arange(0, len(series) - window + 1, stride)
    return np.stack([series[s : s + window] for s in starts])


def load_sequences(
    name: str = "sunspots", window: int = 24, stride: int = 1, min_length: int | None = None, seed: int = 0
) -> np.ndarray:
    """Windows of a real series (:func:`load_series`), optionally of random lengths.

    With ``min_length``, each window keeps a random length in
    ``[min_length, window]`` and the rest is NaN padding.

    Examples
    --------
    >>> X = load_sequences("sunspots", window=16, stride=4, min_length=8)
    >>> X.shape, bool(np.isnan(X[:, -1]).any())
    ((74, 16, 1), True)
    """
    X = windows(load_series(name), window, stride)
    if min_length is not None:
        X = _random_lengths(X, min_length, np.random.default_rng(seed))
    return X


def make_sequences(
    n: int = 256,
    length: int = 32,
    n_features: int = 2,
    min_length: int | None = None,
    noise: float = 0.05,
    seed: int = 0,
) -> np.ndarray:
    """Synthetic multivariate sequences: noisy sinusoids with random frequency, phase and amplitude.

    Feature ``j`` of a sequence is ``a sin(w t + phi + j pi / 3)``; with
    ``min_length`` lengths are random in ``[min_length, length]`` (NaN padded).

    Examples
    --------
    >>> make_sequences(8, length=10, n_features=3, min_length=5, seed=1).shape
    (8, 10, 3)
    """
    rng = np.random.default_rng(seed)
    t = np.arange(length)[None, :, None]  # (1, T, 1)
    freq = rng.uniform(0.2, 0.8, (n, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    amp = rng.uniform(0.5, 1.5, (n, 1, 1))
    shift = np.arange(n_features)[None, None, :] * np.pi / 3  # (1, 1, F)
    X = amp * np.sin(freq * t + phase + shift) + noise * rng.standard_normal((n, length, n_features))
    X = X.astype(np.float32)
    if min_length is not None:
        X = _random_lengths(X, min_length, rng)
    return X


def _random_lengths(X: np.ndarray, min_length: int, rng: np.random.Generator) -> np.ndarray:
    if not 1 <= min_length <= X.shape[1]:
        raise DataError(f"min_length={min_length} must be between 1 and the window length {X.shape[1]}.")
    X = X.copy()
    lengths = rng.integers(min_length, X.shape[1] + 1, X.shape[0])
    X[np.arange(X.shape[1])[None, :] >= lengths[:, None]] = np.nan
    return X


def pad_sequences(sequences, length: int | None = None) -> np.ndarray:
    """Stack ``(T_i, F)`` (or ``(T_i,)``) arrays into one ``(n, T, F)`` array padded with NaN.

    Examples
    --------
    >>> pad_sequences([np.ones((2, 1)), np.ones((3, 1))])[:, :, 0].tolist()
    [[1.0, 1.0, nan], [1.0, 1.0, 1.0]]
    """
    seqs = [np.asarray(s, dtype=np.float32) for s in sequences]
    if not seqs:
        raise DataError("no sequences given; pass a non-empty list of (time, features) arrays.")
    seqs = [s[:, None] if s.ndim == 1 else s for s in seqs]
    widths = {s.shape[1:] for s in seqs}
    if len(widths) != 1 or any(s.ndim != 2 for s in seqs):
        raise DataError(f"sequences must all be (time, features) with the same features; got shapes {sorted(widths)}.")
    longest = max(len(s) for s in seqs)
    length = longest if length is None else length
    if longest > length:
        raise DataError(f"a sequence has {longest} steps, more than length={length}.")
    out = np.full((len(seqs), length, seqs[0].shape[1]), np.nan, dtype=np.float32)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out
