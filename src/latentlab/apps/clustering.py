"""Clustering on the codes: k-means or a Gaussian mixture fitted to ``model.encode(X)``.

Codes are clustered as they are: a VAE's KL term already puts its useful
dimensions on the prior's unit scale, and standardising would blow its
collapsed, near-constant dimensions up into noise (``standardize=True`` does it
anyway, for a plain AE whose dimensions differ in scale). Both methods are seeded. With true
labels, :func:`cluster_scores` gives the adjusted Rand index (ARI: 0 for a
random partition, 1 for the true one) and the normalised mutual information
(NMI, in [0, 1]); neither cares how the clusters are numbered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

METHODS = ("kmeans", "gmm")


@dataclass
class CodeClusters:
    """Result of :func:`cluster_codes`: one cluster per sample, and the fitted scikit-learn objects."""

    labels: np.ndarray  # (n,) cluster index of each sample
    n_clusters: int
    method: str
    estimator: object  # the fitted KMeans or GaussianMixture
    scaler: object | None  # the StandardScaler applied to the codes first, if any

    def predict(self, Z: np.ndarray) -> np.ndarray:
        """Cluster of new codes ``Z`` (from the same model's ``encode``)."""
        Z = np.asarray(Z, dtype=np.float64)
        return self.estimator.predict(Z if self.scaler is None else self.scaler.transform(Z))


def cluster(Z: np.ndarray, n_clusters: int, method: str = "kmeans", seed: int = 0,
            standardize: bool = False) -> CodeClusters:
    """Cluster the rows of ``Z`` (codes, or any features) with k-means or a full-covariance Gaussian mixture.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Z = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2))])
    >>> c = cluster(Z, 2)
    >>> sorted(np.bincount(c.labels).tolist())
    [20, 20]
    """
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture
    from sklearn.preprocessing import StandardScaler

    if method not in METHODS:
        raise ConfigError(f"method={method!r} is not one of {list(METHODS)}.")
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2:
        raise ConfigError(f"codes must be a 2-D array (n, dims); got shape {Z.shape}.")
    if not isinstance(n_clusters, (int, np.integer)) or not 1 <= n_clusters <= len(Z):
        raise ConfigError(f"n_clusters={n_clusters!r} must be an integer from 1 to the number of samples ({len(Z)}).")
    scaler = StandardScaler().fit(Z) if standardize else None
    Zs = Z if scaler is None else scaler.transform(Z)
    if method == "kmeans":
        est = KMeans(n_clusters=int(n_clusters), n_init=10, random_state=seed).fit(Zs)
        labels = est.labels_
    else:
        est = GaussianMixture(n_components=int(n_clusters), covariance_type="full", n_init=10, random_state=seed)
        labels = est.fit_predict(Zs)
    return CodeClusters(np.asarray(labels, dtype=np.int64), int(n_clusters), method, est, scaler)


def cluster_codes(model, X, n_clusters: int = 10, method: str = "kmeans", y=None, seed: int = 0,
                  standardize: bool = False) -> CodeClusters:
    """Cluster the codes ``model.encode(X)`` (a conditional model encodes with its labels ``y``).

    Examples
    --------
    >>> import latentlab
    >>> X, y = latentlab.load_digits()
    >>> ae = latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(X[:300], epochs=2, verbose=False)
    >>> c = cluster_codes(ae, X[:300], n_clusters=10)
    >>> c.labels.shape, c.method
    ((300,), 'kmeans')
    """
    Z = model.encode(X, y if model.config.n_classes > 0 else None)
    return cluster(Z, n_clusters, method, seed, standardize)


def cluster_scores(labels_true, labels_pred) -> dict[str, float]:
    """Adjusted Rand index and normalised mutual information of a clustering against true labels.

    Examples
    --------
    >>> cluster_scores([0, 0, 1, 1], [1, 1, 0, 0])
    {'ari': 1.0, 'nmi': 1.0}
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    t, p = np.asarray(labels_true).ravel(), np.asarray(labels_pred).ravel()
    if t.shape != p.shape:
        raise ConfigError(f"{t.size} true labels for {p.size} clustered samples; give one per sample.")
    return {"ari": float(adjusted_rand_score(t, p)), "nmi": float(normalized_mutual_info_score(t, p))}


__all__ = ["cluster", "cluster_codes", "cluster_scores", "CodeClusters", "METHODS"]
