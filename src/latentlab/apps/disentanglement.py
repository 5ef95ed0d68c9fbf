"""Disentanglement metrics: how well single code dimensions capture single ground-truth factors.

Each takes codes ``(n, latent_dim)`` (a model's posterior means) and the
factor indices ``(n, K)`` that made the data (:func:`latentlab.load_shapes`),
and follows the published definition as disentanglement_lib implements it
(Locatello et al., "Challenging common assumptions in the unsupervised
learning of disentangled representations", ICML 2019):

- :func:`mig` - Mutual Information Gap (Chen et al., "Isolating sources of
  disentanglement in VAEs", NeurIPS 2018): per factor, the gap between the
  two code dimensions most informative about it, over the factor's entropy.
  Codes are binned in 20 equal-width bins per dimension.
- :func:`dci` - Disentanglement, Completeness, Informativeness (Eastwood &
  Williams, "A framework for the quantitative evaluation of disentangled
  representations", ICLR 2018), from the feature importances of one
  gradient-boosted tree classifier per factor (or a lasso per factor).
- :func:`factorvae_score` - (Kim & Mnih, "Disentangling by factorising",
  ICML 2018): accuracy of a majority-vote classifier that names the fixed
  factor from the code dimension of least (normalised) variance within a
  group of samples sharing that factor's value. Chance is ``1 / K``.
- :func:`sap` - Separated Attribute Predictability (Kumar, Sattigeri &
  Balakrishnan, "Variational inference of disentangled latent concepts from
  unlabeled observations", ICLR 2018): per factor, the gap between the two
  code dimensions that predict it best, alone (R^2 of a linear fit, or the
  held-out accuracy of a linear SVM on one dimension for categorical factors).

All four are near 1 for codes equal to the factors and near 0 (chance for
the FactorVAE score) for codes unrelated to them.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError

N_BINS = 20


def _check(codes, factors) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(codes, dtype=np.float64)
    f = np.asarray(factors)
    if z.ndim != 2 or f.ndim != 2:
        raise DataError(f"codes and factors must be 2-D (n, dims) arrays, got shapes {z.shape} and {f.shape}.")
    if len(z) != len(f):
        raise DataError(f"codes have {len(z)} rows but factors {len(f)}; pass one factor row per code.")
    if len(z) < 10:
        raise DataError(f"only {len(z)} samples; disentanglement metrics need at least 10 (a few thousand is usual).")
    if not np.isfinite(z).all():
        raise DataError("codes contain NaN or inf; encode finite inputs.")
    if f.dtype.kind not in "iub":
        if not np.isfinite(f.astype(np.float64)).all() or not np.all(f == np.round(f)):
            raise DataError("factors must be integer indices of each factor's value (e.g. ShapesData.factors).")
    return z, f.astype(np.int64)


def discretize(codes: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Each code dimension cut into ``n_bins`` equal-width bins over its range (disentanglement_lib's histogram)."""
    out = np.zeros(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        col = codes[:, j]
        edges = np.histogram_bin_edges(col, bins=n_bins)
        out[:, j] = np.digitize(col, edges[1:-1])
    return out


def mutual_information(codes: np.ndarray, factors: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """``(latent_dim, K)`` mutual information, in nats, between binned code dimensions and factors."""
    from sklearn.metrics import mutual_info_score

    zb = discretize(codes, n_bins)
    return np.array([[mutual_info_score(f, z) for f in factors.T] for z in zb.T])


def _entropy(f: np.ndarray) -> float:
    from sklearn.metrics import mutual_info_score

    return float(mutual_info_score(f, f))


def mig(codes, factors, n_bins: int = N_BINS) -> float:
    """Mutual Information Gap in [0, 1], averaged over the factors that vary.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.integers(0, 8, (2000, 3))
    >>> bool(mig(f + 0.1 * rng.random((2000, 3)), f) > 0.95)
    True
    >>> bool(mig(rng.random((2000, 3)), f) < 0.05)
    True
    """
    z, f = _check(codes, factors)
    if z.shape[1] < 2:
        raise DataError("MIG compares the two best code dimensions; the code needs at least 2.")
    m = mutual_information(z, f, n_bins)  # (L, K)
    h = np.array([_entropy(col) for col in f.T])
    keep = h > 0
    top = np.sort(m, axis=0)[::-1]
    return float(np.mean((top[0, keep] - top[1, keep]) / h[keep]))


def _importance_matrix(z_tr, f_tr, z_te, f_te, model: str, seed: int, n_estimators: int = 30):
    """``(L, K)`` importances and the mean held-out accuracy (or R^2 for the lasso)."""
    from sklearn.preprocessing import StandardScaler

    L, K = z_tr.shape[1], f_tr.shape[1]
    imp = np.zeros((L, K))
    scores = []
    if model == "lasso":
        from sklearn.linear_model import LassoCV

        scaler = StandardScaler().fit(z_tr)
        a, b = scaler.transform(z_tr), scaler.transform(z_te)
        for k in range(K):
            y_tr, y_te = f_tr[:, k].astype(np.float64), f_te[:, k].astype(np.float64)
            s = y_tr.std() or 1.0
            reg = LassoCV(cv=3, random_state=seed).fit(a, (y_tr - y_tr.mean()) / s)
            imp[:, k] = np.abs(reg.coef_)
            scores.append(max(0.0, reg.score(b, (y_te - y_tr.mean()) / s)))
        return imp, float(np.mean(scores))
    if model != "gbt":
        raise DataError(f"model={model!r} is not one of ['gbt', 'lasso'].")
    from sklearn.ensemble import GradientBoostingClassifier

    for k in range(K):
        clf = GradientBoostingClassifier(n_estimators=n_estimators, random_state=seed).fit(z_tr, f_tr[:, k])
        imp[:, k] = np.abs(clf.feature_importances_)
        scores.append(clf.score(z_te, f_te[:, k]))
    return imp, float(np.mean(scores))


def _entropy_base(p: np.ndarray, base: int) -> np.ndarray:
    """Entropy (log base ``base``) of each column of a non-negative matrix, normalised to sum 1."""
    p = p / np.maximum(p.sum(0, keepdims=True), 1e-11)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(p > 0, np.log(p), 0.0)
    return -(p * logs).sum(0) / np.log(base)


def dci(
    codes, factors, *, model: str = "gbt", train_fraction: float = 0.8, seed: int = 0, n_estimators: int = 30
) -> dict[str, float]:
    """Disentanglement, completeness and informativeness in [0, 1].

    ``model='gbt'`` fits one gradient-boosted tree classifier per factor
    (disentanglement_lib's choice, there with scikit-learn's default of 100
    stages; 30 here by default, for speed; informativeness is their mean
    held-out accuracy); ``'lasso'`` one cross-validated lasso regression per factor
    (informativeness is the mean held-out R^2).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.integers(0, 4, (200, 3))
    >>> d = dci(f + 0.1 * rng.random((200, 3)), f, n_estimators=10)
    >>> d["disentanglement"] > 0.9, d["completeness"] > 0.9, d["informativeness"] > 0.9
    (True, True, True)
    """
    z, f = _check(codes, factors)
    keep = [k for k in range(f.shape[1]) if len(np.unique(f[:, k])) > 1]
    f = f[:, keep]
    perm = np.random.default_rng(seed).permutation(len(z))
    n_tr = int(round(train_fraction * len(z)))
    tr, te = perm[:n_tr], perm[n_tr:]
    if n_tr < 5 or len(te) < 5:
        raise DataError(f"train_fraction={train_fraction} leaves too few samples on one side; use 0.5 to 0.9.")
    imp, info = _importance_matrix(z[tr], f[tr], z[te], f[te], model, seed, n_estimators)  # (L, K)
    L, K = imp.shape
    # Disentanglement: each code dimension's importance spread over the factors, weighted by its share.
    per_code = 1.0 - _entropy_base(imp.T, K) if K > 1 else np.ones(L)
    weight = imp.sum(1) / max(imp.sum(), 1e-11)
    # Completeness: each factor's importance spread over the code dimensions.
    per_factor = 1.0 - _entropy_base(imp, L) if L > 1 else np.ones(K)
    return {
        "disentanglement": float(np.sum(per_code * weight)),
        "completeness": float(np.mean(per_factor)),
        "informativeness": info,
    }


def factorvae_score(
    codes, factors, *, n_votes: int = 800, group_size: int = 64, seed: int = 0, min_variance: float = 0.01
) -> float:
    """The FactorVAE score: accuracy of the majority-vote classifier on held-out votes (chance ``1 / K``).

    Kim & Mnih sample a batch with one factor fixed from the generator; on
    a finite data set the group is drawn (with replacement) from the
    samples that share a randomly chosen value of that factor. Codes are
    divided by their standard deviation over the data, and dimensions whose
    variance over the data is below ``min_variance`` (collapsed ones: the
    active-unit threshold of :mod:`latentlab.models.variational`) never
    vote, as in the paper. Half the votes train the classifier, the other
    half score it.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.integers(0, 6, (3000, 3))
    >>> factorvae_score(f + 0.01 * rng.random((3000, 3)), f)
    1.0
    """
    z, f = _check(codes, factors)
    rng = np.random.default_rng(seed)
    scale = z.std(0)
    active = scale**2 > min_variance
    if not active.any():
        return 0.0
    zn = z[:, active] / scale[active]
    varying = [k for k in range(f.shape[1]) if len(np.unique(f[:, k])) > 1]
    if not varying:
        raise DataError("every factor is constant; the FactorVAE score needs factors that vary.")
    votes = np.zeros((2, n_votes), dtype=np.int64)  # (dimension, factor)
    by_value = {k: {v: np.flatnonzero(f[:, k] == v) for v in np.unique(f[:, k])} for k in varying}
    for i in range(n_votes):
        k = varying[rng.integers(len(varying))]
        values = list(by_value[k])
        rows = by_value[k][values[rng.integers(len(values))]]
        group = zn[rng.choice(rows, group_size, replace=True)]
        votes[:, i] = (int(np.argmin(group.var(0))), k)
    half = n_votes // 2
    n_dims = int(active.sum())
    table = np.zeros((n_dims, f.shape[1]), dtype=np.int64)
    np.add.at(table, (votes[0, :half], votes[1, :half]), 1)
    guess = table.argmax(1)  # each dimension names the factor it voted for most
    return float(np.mean(guess[votes[0, half:]] == votes[1, half:]))


def sap(codes, factors, *, continuous: bool = True, train_fraction: float = 0.8, seed: int = 0) -> float:
    """Separated Attribute Predictability: mean over factors of the gap between the two best single dimensions.

    ``continuous=True`` scores each (dimension, factor) pair by the R^2 of a
    linear fit (the squared correlation), for ordered factors such as scale
    or position; ``continuous=False`` by the held-out accuracy of a linear
    SVM on that one dimension (disentanglement_lib's choice for categorical
    factors).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.integers(0, 8, (2000, 3))
    >>> round(sap(f + 0.01 * rng.random((2000, 3)), f), 2)
    1.0
    """
    z, f = _check(codes, factors)
    if z.shape[1] < 2:
        raise DataError("SAP compares the two best code dimensions; the code needs at least 2.")
    keep = [k for k in range(f.shape[1]) if len(np.unique(f[:, k])) > 1]
    f = f[:, keep]
    L, K = z.shape[1], f.shape[1]
    S = np.zeros((L, K))
    if continuous:
        zc = z - z.mean(0)
        fc = f - f.mean(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = zc.T @ fc / len(z)
            r = cov / np.outer(zc.std(0), fc.std(0))
        S = np.nan_to_num(r**2)
    else:
        from sklearn.svm import LinearSVC

        perm = np.random.default_rng(seed).permutation(len(z))
        n_tr = int(round(train_fraction * len(z)))
        tr, te = perm[:n_tr], perm[n_tr:]
        for j in range(L):
            for k in range(K):
                clf = LinearSVC(C=0.01, class_weight="balanced").fit(z[tr, j : j + 1], f[tr, k])
                S[j, k] = clf.score(z[te, j : j + 1], f[te, k])
    top = np.sort(S, axis=0)[::-1]
    return float(np.mean(top[0] - top[1]))


def disentanglement_metrics(codes, factors, *, seed: int = 0, dci_model: str = "gbt") -> dict[str, float]:
    """MIG, DCI (three figures), the FactorVAE score and SAP of ``codes`` against ``factors``, in one dict.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.integers(0, 4, (500, 2))
    >>> sorted(disentanglement_metrics(f + 0.1 * rng.random((500, 2)), f))
    ['dci_completeness', 'dci_disentanglement', 'dci_informativeness', 'factorvae_score', 'mig', 'sap']
    """
    z, f = _check(codes, factors)
    d = dci(z, f, model=dci_model, seed=seed)
    return {
        "mig": mig(z, f),
        "dci_disentanglement": d["disentanglement"],
        "dci_completeness": d["completeness"],
        "dci_informativeness": d["informativeness"],
        "factorvae_score": factorvae_score(z, f, seed=seed),
        "sap": sap(z, f),
    }


__all__ = ["mig", "dci", "factorvae_score", "sap", "disentanglement_metrics", "mutual_information", "discretize"]
