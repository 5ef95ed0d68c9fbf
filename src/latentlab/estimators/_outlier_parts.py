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


def fit_rows(X: np.ndarray, cap: int, seed: int | None) -> np.ndarray:
    """``X`` itself when it has at most ``cap`` rows, else ``cap`` of its rows drawn without replacement by
    ``numpy.random.default_rng(seed)``, in their original order (what a big table's detector is fitted on).

    Examples
    --------
    >>> X = np.arange(10.0)[:, None]
    >>> fit_rows(X, 20, 0) is X
    True
    >>> fit_rows(X, 4, 0).ravel().tolist()
    [2.0, 4.0, 5.0, 7.0]
    """
    if len(X) <= cap:
        return X
    rows = np.sort(np.random.default_rng(seed).choice(len(X), size=int(cap), replace=False))
    return X[rows]


def standardise(v: np.ndarray) -> tuple[float, float]:
    """Median and spread (standard deviation, 1 when there is none) of a part's training scores."""
    spread = float(v.std())
    return float(np.median(v)), spread if spread > 1e-12 else 1.0


#: An index of more rows than this is searched by brute force (fixed-size matrix products, then exact distances
#: of the candidates) instead of a k-d tree, which is many times slower on tens of thousands of rows of tens of
#: features. Only a detector fitted on more than 10,000 rows has such an index (``MAX_FIT_ROWS``).
TREE_ROWS = 10_000
#: Candidates beyond the k + 1 nearest by the matrix-product distances whose exact distances are computed.
SPARE = 8


class KnnDistance:
    """Mean distance to the ``k`` nearest training rows; a training row's own copy is left out.

    A k-d tree computes each query's distances on its own, so a row's score
    does not depend on the rows it is scored with. Above :data:`TREE_ROWS`
    rows the search is by brute force, ``INVARIANT_CHUNK`` queries at a time
    (the last chunk padded), which keeps that property: squared distances by
    matrix products of one fixed shape pick ``k + 1 + SPARE`` candidates, whose
    distances are then computed exactly, one pair at a time.
    """

    def __init__(self, X: np.ndarray, k: int):
        self.rows = X  # what a saved detector stores to build the same tree again
        self.k = int(min(k, len(X) - 1))
        self.brute = len(X) > TREE_ROWS
        if self.brute:
            import torch

            self._index = torch.from_numpy(np.asarray(X, dtype=np.float64))  # (M, D)
            self._norms = (self._index**2).sum(1)  # (M,)
        else:
            self.index = NearestNeighbors(n_neighbors=self.k + 1, algorithm="kd_tree").fit(X)

    def _nearest(self, X: np.ndarray) -> np.ndarray:
        """Ascending distances to the ``k + 1`` nearest rows, by brute force: ``(N, k + 1)``."""
        import torch

        from ..models.api import fixed_chunks

        index, norms, m = self._index, self._norms, self.k + 1 + SPARE

        def chunk(x):  # (C, D)
            d2 = (x**2).sum(1, keepdim=True) - 2.0 * x @ index.T + norms  # (C, M), approximate
            cand = torch.topk(d2, m, dim=1, largest=False).indices  # (C, m)
            exact = ((x[:, None, :] - index[cand]) ** 2).sum(-1).sqrt()  # (C, m), one pair at a time
            return torch.sort(exact, dim=1).values[:, : self.k + 1]

        with torch.inference_mode():
            return fixed_chunks(chunk, [torch.from_numpy(np.asarray(X, dtype=np.float64))]).numpy()

    def __call__(self, X: np.ndarray) -> np.ndarray:
        if self.brute:
            dist = self._nearest(X)
        else:
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


__all__ = ["PREPROCESSINGS", "fit_rows", "make_preprocessor", "standardise", "KnnDistance", "Forest"]
