"""The parts of :class:`~latentlab.AutoencoderOutlierDetector` beside its autoencoders.

The column transform fitted on the training data, and the classical
detectors scored beside the autoencoders. Each classical detector keeps the
rows it was fitted on, which is what a saved detector stores to rebuild it
(a k-d tree and an isolation forest have no file format of their own).
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import MinMaxScaler, PowerTransformer, QuantileTransformer, RobustScaler, StandardScaler

PREPROCESSINGS = ("standard", "robust", "power", "quantile", "minmax")


def make_preprocessor(kind: str, n_samples: int, seed: int | None):
    """The unfitted column transform named ``kind`` (one of :data:`PREPROCESSINGS`)."""
    if kind == "standard":
        return StandardScaler()
    if kind == "robust":
        return RobustScaler()
    if kind == "power":
        return PowerTransformer(method="yeo-johnson", standardize=True)
    if kind == "quantile":
        return QuantileTransformer(n_quantiles=min(1000, n_samples), output_distribution="normal", random_state=seed)
    return MinMaxScaler()


def standardise(v: np.ndarray) -> tuple[float, float]:
    """Median and spread (standard deviation, 1 when there is none) of a part's training scores."""
    spread = float(v.std())
    return float(np.median(v)), spread if spread > 1e-12 else 1.0


class KnnDistance:
    """Mean distance to the ``k`` nearest training rows; a training row's own copy is left out.

    A k-d tree computes each query's distances on its own, so a row's score
    does not depend on the rows it is scored with.
    """

    def __init__(self, X: np.ndarray, k: int):
        self.rows = X  # what a saved detector stores to build the same tree again
        self.k = int(min(k, len(X) - 1))
        self.index = NearestNeighbors(n_neighbors=self.k + 1, algorithm="kd_tree").fit(X)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        dist, _ = self.index.kneighbors(X)  # (N, k + 1), ascending
        own = dist[:, 0] <= 1e-12  # an exact copy of a training row: drop it
        return np.where(own, dist[:, 1:].mean(1), dist[:, : self.k].mean(1))


class Forest:
    """An isolation forest's anomaly scores (large = abnormal).

    ``seed`` None draws one from NumPy's global generator, as scikit-learn
    would; the seed and the rows are kept, and grow the same trees again
    when a saved detector is loaded.
    """

    def __init__(self, X: np.ndarray, seed: int | None):
        self.rows = X
        self.seed = int(np.random.randint(2**31 - 1)) if seed is None else int(seed)
        self.forest = IsolationForest(random_state=self.seed).fit(X)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return -self.forest.score_samples(X)


__all__ = ["PREPROCESSINGS", "make_preprocessor", "standardise", "KnnDistance", "Forest"]
