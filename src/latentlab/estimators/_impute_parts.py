"""The parts of :class:`~latentlab.AutoencoderImputer` beside its autoencoder.

- :func:`imputer_sizes`: the network that ``'auto'`` stands for;
- the classical imputers stacked with the autoencoder (``partners``): a
  chained Bayesian ridge imputer (MICE), a k-nearest-neighbours fill and a
  chained extra-trees imputer (MissForest-style), all scikit-learn's;
- :func:`stack_weights`: how much each imputer counts for, learned on
  observed training cells hidden from every imputer.

Each partner keeps the rows it was fitted on (and its seed), which is what a
saved imputer stores to fit the same partner again: scikit-learn's imputers have
no file format of their own, and nothing is ever unpickled.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

#: About this many optimiser steps of 64 rows for any table: on the tuning half of ``benchmarks/impute.py``, 2,000
#: steps of two wider layers (and the range clip) took the mean RMSE from 0.135 to 0.112 against 600 steps of one
#: layer; 4,000 steps gained 0.3% more (docs/daily-use.md).
TARGET_STEPS, MIN_EPOCHS, MAX_EPOCHS = 2000, 10, 200
PARTNERS = ("linear", "knn", "trees")
#: Named partner sets of the ``partners`` parameter; 'auto' is 'linear+knn+trees' up to ``WIDE`` features, else
#: 'linear+knn'.
PARTNER_SETS = {"auto": None, "linear+knn+trees": ("linear", "knn", "trees"), "linear+knn": ("linear", "knn"),
                "linear": ("linear",), "knn": ("knn",), "trees": ("trees",), "none": ()}
WIDE = 100
#: What 'auto' stood for in folders saved before the trees partner (up to ``WIDE`` columns) and, on wider tables,
#: before the linear partner joined the k-NN one: such folders load as they were fitted.
LEGACY_AUTO = {"narrow": (("linear", "knn"),), "wide": (("knn",),)}
LINEAR_ITER, NEAREST, NEIGHBOURS = 10, 40, 5
#: The trees partner: MissForest (Stekhoven and Bühlmann) with fewer trees and rounds than its 100 and 10, for time.
#: Chosen on the tuning half of ``benchmarks/impute.py``: with it the stack's mean RMSE rank went from 2.00 to 1.58
#: (missing at random) and from 2.33 to 2.08 (not at random), at about 2-3 times the CPU seconds.
FOREST_TREES, FOREST_ITER, FOREST_LEAF = 20, 5, 2


def partner_names(partners: str, n_features: int) -> tuple[str, ...]:
    """The partners a ``partners`` setting stands for on a table of ``n_features`` columns.

    Examples
    --------
    >>> partner_names("auto", 30), partner_names("auto", 784), partner_names("none", 30)
    (('linear', 'knn', 'trees'), ('linear', 'knn'), ())
    """
    if partners == "auto":
        return ("linear", "knn", "trees") if n_features <= WIDE else ("linear", "knn")
    return PARTNER_SETS[partners]


def legacy_auto(n_features: int) -> tuple[tuple[str, ...], ...]:
    """The partner sets 'auto' once stood for on a table of ``n_features`` columns (see :data:`LEGACY_AUTO`)."""
    return LEGACY_AUTO["narrow" if n_features <= WIDE else "wide"]


def imputer_sizes(n_samples: int, n_features: int) -> dict:
    """The sizes ``'auto'`` stands for, from the shape of the training data.

    - ``hidden`` = two layers of ``w`` units, ``w`` the power of two at or
      above ``4 * n_features`` clipped to [64, 512];
    - ``latent_dim`` = ``w // 4``: the masking noise, not a narrow
      bottleneck, is what keeps the network from copying its input;
    - ``epochs`` = enough for about 2,000 optimiser steps of 64 rows, clipped
      to [10, 200].

    Examples
    --------
    >>> imputer_sizes(1400, 27)
    {'latent_dim': 32, 'hidden': (128, 128), 'epochs': 91}
    >>> imputer_sizes(50_000, 784)
    {'latent_dim': 128, 'hidden': (512, 512), 'epochs': 10}
    """
    n, d = int(n_samples), int(n_features)
    width = int(min(512, max(64, 2 ** math.ceil(math.log2(max(4 * d, 1))))))
    steps_per_epoch = max(1, math.ceil(n / 64))
    epochs = int(min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps_per_epoch))))
    return {"latent_dim": width // 4, "hidden": (width, width), "epochs": epochs}


def make_partner(name: str, n_features: int, seed: int):
    """The unfitted classical imputer ``name`` (one of :data:`PARTNERS`), single-threaded and seeded."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer

    nearest = NEAREST if n_features > NEAREST else None
    if name == "knn":
        return KNNImputer(n_neighbors=NEIGHBOURS, keep_empty_features=True)
    if name == "trees":
        from sklearn.ensemble import ExtraTreesRegressor

        forest = ExtraTreesRegressor(n_estimators=FOREST_TREES, min_samples_leaf=FOREST_LEAF, random_state=seed, n_jobs=1)
        return IterativeImputer(forest, max_iter=FOREST_ITER, n_nearest_features=nearest, random_state=seed,
                                keep_empty_features=True)
    if name != "linear":
        raise ValueError(f"unknown partner {name!r}; choose from {PARTNERS}")
    from sklearn.linear_model import BayesianRidge

    return IterativeImputer(BayesianRidge(), max_iter=LINEAR_ITER, n_nearest_features=nearest, random_state=seed,
                            keep_empty_features=True)


class Partner:
    """A classical imputer fitted on ``rows`` (NaN = missing), kept with its rows and seed to be grown again."""

    def __init__(self, name: str, rows: np.ndarray, seed: int):
        self.name, self.rows, self.seed = name, rows, int(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the chained imputer's early-stopping warning
            self.imputer = make_partner(name, rows.shape[1], self.seed).fit(rows)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.imputer.transform(X), dtype=np.float64)


def held_out_cells(observed: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A mask of about ``fraction`` of the observed cells, never the last two observed cells of a column."""
    held = observed & (rng.random(observed.shape) < fraction)
    keep = observed.sum(0) - held.sum(0)
    for j in np.flatnonzero(keep < 2):  # give a thin column its cells back
        held[:, j] = False
    return held


def stack_weights(fills: np.ndarray, truth: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 of the ``K`` imputers whose values for held-out cells are ``fills``.

    ``fills`` ``(cells, K)`` holds each imputer's value for cells whose true
    values are ``truth``; ``scale`` is the spread of each cell's column, so
    that every column counts alike whatever its units. The weights minimise
    the squared scaled error (non-negative least squares, then scaled to sum
    to 1); equal weights when that gives none.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(200)
    >>> good, bad = truth + 0.01 * rng.standard_normal(200), rng.random(200)
    >>> w = stack_weights(np.column_stack([good, bad]), truth, np.ones(200))
    >>> bool(w[0] > 0.95), round(float(w.sum()), 12)
    (True, 1.0)
    """
    from scipy.optimize import nnls

    k = fills.shape[1]
    if len(truth) == 0:
        return np.full(k, 1.0 / k)
    w, _ = nnls(fills / scale[:, None], truth / scale)
    return w / w.sum() if w.sum() > 0 else np.full(k, 1.0 / k)


__all__ = ["imputer_sizes", "partner_names", "make_partner", "Partner", "held_out_cells", "stack_weights",
           "PARTNERS", "PARTNER_SETS", "LEGACY_AUTO", "legacy_auto"]
