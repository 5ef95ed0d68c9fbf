"""Which data a run trained on, and which it did not: the split ``train`` records and ``evaluate`` honours.

``latentlab train --data SPEC`` holds out part of the data and writes how in
the run's ``metrics.json`` (``"data_split"``); ``latentlab evaluate RUN
--data SPEC`` then scores the held-out part, never the training rows unless
asked (``--on-training-data``), and says in its report which data it scored.

What is held out by default:

- ``digits``: 25% (``train_test_split(test_size=0.25, random_state=0)``, the
  split of ``latentlab.load_digits(split=True)``);
- ``mnist``, ``fashion-mnist``, ``kmnist``, ``cifar10``: their official test sets;
- files and series: nothing, unless ``--test-fraction`` is given (the same
  seeded shuffle split).

The record also holds a fingerprint (SHA-256) of the loaded array, so a copy
of the training file under another name is still recognised as training data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.datasets import load_data
from ..errors import ConfigError

SPLIT_SEED = 0
DEFAULT_TEST_FRACTION = {"digits": 0.25}


def fingerprint(X: np.ndarray) -> str:
    """SHA-256 of the array's shape and float32 values (NaN-safe), as hex.

    Examples
    --------
    >>> fingerprint(np.zeros((2, 3))) == fingerprint(np.zeros((2, 3), dtype=np.float32))
    True
    >>> fingerprint(np.zeros((2, 3))) == fingerprint(np.zeros((3, 2)))
    False
    """
    arr = np.ascontiguousarray(np.asarray(X, dtype=np.float32))
    h = hashlib.sha256(str(arr.shape).encode())
    h.update(arr.tobytes())
    return h.hexdigest()


@dataclass
class TrainingSplit:
    """The training part of a data set, its held-out part (or None) and the record saved with the run."""

    X: np.ndarray
    y: np.ndarray | None
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    record: dict[str, Any]


def _official_test(spec: str):
    from ..data.loaders import LOADERS

    return LOADERS[spec]("test") if spec in LOADERS else None


def _split(X, y, fraction: float, seed: int):
    from sklearn.model_selection import train_test_split

    if y is None:
        Xtr, Xte = train_test_split(X, test_size=fraction, random_state=seed)
        return Xtr, None, Xte, None
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=fraction, random_state=seed)
    return Xtr, ytr, Xte, yte


def training_split(spec: str, label_column: str | None = None, test_fraction: float | None = None) -> TrainingSplit:
    """Load ``spec`` as :func:`~latentlab.data.datasets.load_data` does and hold out its test part.

    ``test_fraction`` None keeps the default for ``spec`` (see the module);
    0 trains on everything.

    Examples
    --------
    >>> s = training_split("digits")
    >>> len(s.X), len(s.X_test), s.record["held_out"]
    (1347, 450, 'fraction')
    """
    from ..data.loaders import LOADERS

    if test_fraction is not None and not 0 <= test_fraction < 1:
        raise ConfigError(f"--test-fraction {test_fraction} must be in [0, 1): the share of the data held out.")
    X, y = load_data(spec, label_column)
    record: dict[str, Any] = {"data": spec, "n_samples": int(len(X)), "fingerprint": fingerprint(X)}
    if test_fraction is None and spec in LOADERS:
        Xte, yte = _official_test(spec)
        record.update(held_out="official test set", n_train=int(len(X)), n_test=int(len(Xte)))
        return TrainingSplit(X, y, Xte, yte, record)
    fraction = DEFAULT_TEST_FRACTION.get(spec, 0.0) if test_fraction is None else float(test_fraction)
    if fraction == 0:
        record.update(held_out=None, n_train=int(len(X)), n_test=0)
        return TrainingSplit(X, y, None, None, record)
    if round(len(X) * fraction) < 1 or len(X) - round(len(X) * fraction) < 2:
        raise ConfigError(f"--test-fraction {fraction} of {len(X)} samples leaves no test or training part.")
    Xtr, ytr, Xte, yte = _split(X, y, fraction, SPLIT_SEED)
    record.update(held_out="fraction", test_fraction=fraction, seed=SPLIT_SEED, n_train=int(len(Xtr)),
                  n_test=int(len(Xte)))
    return TrainingSplit(Xtr, ytr, Xte, yte, record)


def streamed_record(spec: str) -> dict[str, Any]:
    """The record of a run trained on a streamed source: all of it, nothing held out."""
    return {"data": spec, "held_out": None, "streamed": True}


def _same_data(record: dict[str, Any], spec: str, X: np.ndarray) -> bool:
    if "fingerprint" in record:
        return record["fingerprint"] == fingerprint(X)
    trained = record.get("data")
    if trained == spec:
        return True
    try:
        return Path(trained).resolve() == Path(spec).resolve()
    except (TypeError, OSError):
        return False


def evaluation_data(
    record: dict[str, Any] | None, spec: str, label_column: str | None = None, on_training_data: bool = False,
    run: str = "the run",
) -> tuple[np.ndarray, np.ndarray | None, str, str]:
    """``(X, y, split, description)`` that ``evaluate`` should score for a run with split ``record``.

    ``split`` is 'held-out', 'training', 'other' (not the run's training data)
    or 'unknown' (the run keeps no record); ``description`` says the same in a
    sentence for the report.

    Raises
    ------
    ConfigError
        When ``spec`` is the run's training data, nothing of it was held out,
        and ``on_training_data`` is False.
    """
    from ..data.loaders import LOADERS

    X, y = load_data(spec, label_column)
    n = len(X)
    if record is None:
        return X, y, "unknown", (
            f"all {n} samples of {spec}. This run does not record what it was trained on; if that was {spec}, "
            "these scores include training samples and are optimistic"
        )
    if not _same_data(record, spec, X):
        return X, y, "other", f"all {n} samples of {spec}, which is not the data this run was trained on"
    held = record.get("held_out")
    if on_training_data:
        if held == "fraction":
            X, y, _, _ = _split(X, y, record["test_fraction"], record.get("seed", SPLIT_SEED))
        return X, y, "training", (
            f"{len(X)} samples of {spec} that the model was fitted on (--on-training-data); "
            "scores on them are optimistic"
        )
    if held == "official test set" and spec in LOADERS:
        Xte, yte = _official_test(spec)
        return Xte, yte, "held-out", f"the {len(Xte)} samples of the {spec} test set, not used in training"
    if held == "fraction":
        _, _, Xte, yte = _split(X, y, record["test_fraction"], record.get("seed", SPLIT_SEED))
        pct = f"{100 * record['test_fraction']:.3g}%"
        return Xte, yte, "held-out", (
            f"{len(Xte)} samples of {spec} ({pct}, seed {record.get('seed', SPLIT_SEED)}) "
            "that training never saw"
        )
    raise ConfigError(
        f"{run} was trained on all {n} samples of {spec}, so none are held out to score. Evaluate on other data, "
        "retrain with --test-fraction 0.2, or pass --on-training-data to score the training data (optimistic)."
    )


__all__ = ["training_split", "evaluation_data", "streamed_record", "fingerprint", "TrainingSplit"]
