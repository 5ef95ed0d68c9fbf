"""Anomaly scores of one fitted model: reconstruction error and latent k-NN density.

Both parts are deterministic (codes are posterior means). Each is
standardised by its median and standard deviation on the training data, so
that they can be added and averaged over an ensemble.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import NearestNeighbors

from ..data.validation import as_float_array, check_shape
from ..errors import ConfigError, DataError
from ..models.api import INVARIANT_CHUNK, fixed_chunks

SCORINGS = ("combined", "reconstruction", "latent")


def _scaled64(model, X: np.ndarray) -> torch.Tensor:
    """``X`` in the model's scaled space, float64, shaped ``(N, *input_shape)``."""
    checked = check_shape(as_float_array(X, name="X"), model.config.input_shape, name="X")  # clear errors first
    X = np.asarray(X, dtype=np.float64).reshape(checked.shape)
    sc = model.scaler
    return torch.from_numpy((X - sc.offset_.astype(np.float64)) / sc.scale_.astype(np.float64))


@torch.no_grad()
def codes_and_errors(model64, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior-mean codes and squared reconstruction errors (summed over features, scaled space).

    ``model64`` is a float64 copy of a fitted model (see :func:`float64_copy`):
    double precision, and chunks of a fixed size, make each sample's score
    independent of the rows it is computed with.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((100, 8)).astype("float32")
    >>> ae = latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(X, epochs=2, verbose=False)
    >>> Z, err = codes_and_errors(float64_copy(ae), X)
    >>> Z.shape, err.shape
    ((100, 2), (100,))
    """
    x = _scaled64(model64, X)

    def parts(xb):  # (C, *input_shape)
        z = model64.posterior(xb).mean  # (C, L)
        r = model64.decode_mean(z)  # (C, *input_shape)
        return z.reshape(len(xb), -1), ((r - xb) ** 2).reshape(len(xb), -1).sum(1)

    # Fixed-size chunks: a sample's score does not depend on the rows it is scored with.
    codes, errs = fixed_chunks(parts, [x], chunk=INVARIANT_CHUNK)
    return codes.numpy(), errs.numpy()


def float64_copy(model):
    """A double-precision, eval-mode copy of a fitted model, for scoring."""
    return copy.deepcopy(model).double().eval()


class ScoreModel:
    """Anomaly scores (large = abnormal) of one fitted model.

    Parameters
    ----------
    model : LatentModel
        A fitted model of any family.
    scoring : {'combined', 'reconstruction', 'latent'}
        Reconstruction error, latent k-NN distance, or their sum.
    n_neighbors : int
        Neighbours of the latent density estimate.
    latent_weight : float
        Weight of the standardised latent part in the 'combined' sum.
    """

    def __init__(self, model, scoring: str = "combined", n_neighbors: int = 5, latent_weight: float = 1.0):
        if scoring not in SCORINGS:
            raise ConfigError(f"scoring={scoring!r} is not one of {list(SCORINGS)}.")
        self.model, self.scoring, self.n_neighbors = model, scoring, int(n_neighbors)
        self.latent_weight = float(latent_weight)

    def _parts(self, X: np.ndarray) -> dict[str, np.ndarray]:
        Z, err = codes_and_errors(self.model64_, X)
        out = {}
        if self.scoring in ("combined", "reconstruction"):
            out["reconstruction"] = err
        if self.scoring in ("combined", "latent"):
            out["latent"] = self._knn_distance(Z)
        return out

    def _knn_distance(self, Z: np.ndarray) -> np.ndarray:
        """Mean distance to the ``k`` nearest training codes, a sample's own copy left out.

        A training sample would otherwise count itself at distance 0 and look
        more normal than any new sample, which would bias the threshold.
        """
        k = self.index_.n_neighbors - 1
        dist, _ = self.index_.kneighbors(Z)  # (N, k + 1), ascending
        own = dist[:, 0] <= 1e-12  # an exact copy of a training code: drop it
        return np.where(own, dist[:, 1:].mean(1), dist[:, :k].mean(1))

    def fit(self, X: np.ndarray) -> ScoreModel:
        """Index the training codes and record each part's median and spread."""
        self.model64_ = float64_copy(self.model)
        if self.scoring != "reconstruction":
            Z, _ = codes_and_errors(self.model64_, X)
            self.index_ = NearestNeighbors(n_neighbors=min(self.n_neighbors + 1, len(Z))).fit(Z)
        self.stats_ = {}
        for name, v in self._parts(X).items():
            spread = float(v.std())
            self.stats_[name] = (float(np.median(v)), spread if spread > 1e-12 else 1.0)
        return self

    def score(self, X: np.ndarray) -> np.ndarray:
        """Standardised anomaly score per sample (weighted sum of the parts)."""
        total = np.zeros(len(X))
        for name, v in self._parts(X).items():
            med, spread = self.stats_[name]
            weight = self.latent_weight if (name == "latent" and self.scoring == "combined") else 1.0
            total += weight * (v - med) / spread
        return total


def anomaly_metrics(is_anomaly, scores) -> dict[str, float]:
    """ROC-AUC and average precision of anomaly ``scores`` (large = abnormal) against 0/1 labels.

    Examples
    --------
    >>> anomaly_metrics([0, 0, 1], [0.1, 0.2, 0.9])
    {'roc_auc': 1.0, 'average_precision': 1.0}
    """
    y = np.asarray(is_anomaly).astype(int).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise DataError(f"{y.shape[0]} labels but {s.shape[0]} scores; pass one label per sample.")
    if len(np.unique(y)) != 2:
        raise DataError("anomaly labels need both classes (0 = normal, 1 = anomaly) to compute ROC-AUC.")
    return {"roc_auc": float(roc_auc_score(y, s)), "average_precision": float(average_precision_score(y, s))}
