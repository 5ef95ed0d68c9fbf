"""Evaluation of a fitted model on data: metrics, and figures in a run folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._files import atomic_write_json


def reconstruction_metrics(model, X: np.ndarray, y: np.ndarray | None = None) -> dict[str, float]:
    """MSE (mean over features) and, for data in [0, 1], BCE and PSNR."""
    yy = y if model.config.n_classes > 0 else None
    R = model.reconstruct(X, yy)
    X = np.asarray(X, dtype=np.float32).reshape(R.shape)
    mse = float(np.mean((R - X) ** 2))
    out = {"mse": mse}
    if X.min() >= 0 and X.max() <= 1:
        Rc = np.clip(R, 1e-6, 1 - 1e-6)
        out["bce"] = float(-np.mean(X * np.log(Rc) + (1 - X) * np.log(1 - Rc)))
        out["psnr"] = float(10 * np.log10(1.0 / max(mse, 1e-12)))
    return out


def linear_probe(model, X: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    """Accuracy of a logistic regression on the codes (75/25 stratified split of ``X``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Z = model.encode(X, y if model.config.n_classes > 0 else None)
    y = np.asarray(y).astype(int)
    Ztr, Zte, ytr, yte = train_test_split(Z, y, test_size=0.25, random_state=seed, stratify=y)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(Ztr, ytr)
    return float(probe.score(Zte, yte))


def evaluate_run(
    model,
    X: np.ndarray,
    y: np.ndarray | None,
    out: Path,
    *,
    anomaly_labels: np.ndarray | None = None,
    k: int = 100,
    figures: bool = True,
    seed: int = 0,
    data: dict | None = None,
    factors: np.ndarray | None = None,
) -> dict[str, float]:
    """Metrics on ``X`` written to ``out/evaluation.json`` and ``out/report.md`` (and returned).

    The report holds reconstruction MSE, BCE and PSNR; the ELBO and the
    ``k``-sample importance-sampled NLL for models with a posterior density
    (nats per sample, in the data's units; see ``model.log_likelihood``) and
    their active units;
    the accuracy of a linear probe on the codes, and the adjusted Rand index
    and NMI of k-means on the codes (as many clusters as classes), when
    labels ``y`` exist; ROC-AUC and average precision of the
    reconstruction-error anomaly score when ``anomaly_labels`` (1 = anomaly)
    are given; and the standard figures.

    With ``factors`` (the ground-truth factor indices of ``X``, one row per
    sample, e.g. ``load_shapes(...).factors``) the report adds the
    disentanglement metrics of :mod:`latentlab.apps.disentanglement` (MIG,
    DCI, the FactorVAE score, SAP) and a latent traversal figure.

    ``data`` says which data ``X`` is (``{"split": 'held-out' | 'training' |
    'other' | 'unknown', "description": ...}``, see
    :func:`latentlab.apps.datasplit.evaluation_data`); the report and
    ``evaluation.json`` name it.
    """
    from .likelihood import elbo, has_density, importance_nll
    from .report import write_report

    out = Path(out)
    yy = y if model.config.n_classes > 0 else None
    metrics: dict[str, float] = reconstruction_metrics(model, X, y)
    if has_density(model):
        metrics["elbo"] = float(elbo(model, X, yy, n_samples=k, seed=seed).mean())
        metrics["nll_is"] = float(importance_nll(model, X, yy, k=k, seed=seed).mean())
        metrics["nll_k"] = int(k)
        if "active_units" in model.metrics:  # measured on the training data at fit time
            metrics["active_units"] = int(model.metrics["active_units"])
    if y is not None and len(np.unique(y)) > 1 and np.min(np.bincount(np.asarray(y).astype(int))[np.unique(y)]) >= 2:
        metrics["linear_probe_accuracy"] = linear_probe(model, X, y, seed)
        metrics.update(code_clustering(model, X, y, seed))
    if anomaly_labels is not None:
        from .anomaly import ScoreModel, anomaly_metrics

        scores = ScoreModel(model, "reconstruction").fit(X).score(X)
        metrics.update({f"anomaly_{k_}": v for k_, v in anomaly_metrics(anomaly_labels, scores).items()})
    if factors is not None:
        metrics.update(factor_metrics(model, X, factors, seed, yy))
    paths = {}
    if figures:
        from .figures import write_figures

        paths = write_figures(model, X, y, out, seed=seed)
        if factors is not None and model.config.n_classes == 0:
            from . import plots
            from .traversal import latent_traversal

            fig = latent_traversal(model, X[0], X=X)
            paths["latent_traversal"] = plots.save(fig, out / "latent_traversal.png")
    atomic_write_json(out / "evaluation.json", {**({"data": data} if data else {}), **metrics})
    write_report(model, metrics, paths, out / "report.md", data=data)
    return metrics


def code_clustering(model, X: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, float]:
    """ARI and NMI of k-means on the codes, with as many clusters as there are classes in ``y``."""
    from .clustering import cluster_codes, cluster_scores

    k = len(np.unique(y))
    if k < 2 or k > len(X):
        return {}
    clusters = cluster_codes(model, X, n_clusters=k, method="kmeans", y=y, seed=seed)
    scores = cluster_scores(y, clusters.labels)
    return {"cluster_ari": scores["ari"], "cluster_nmi": scores["nmi"], "cluster_k": int(k)}


def factor_metrics(model, X: np.ndarray, factors: np.ndarray, seed: int = 0, y=None) -> dict[str, float]:
    """Disentanglement metrics of the model's codes of ``X`` against the factors that made ``X``."""
    from ..errors import DataError
    from .disentanglement import disentanglement_metrics

    factors = np.asarray(factors)
    if factors.ndim == 1:
        factors = factors[:, None]
    if len(factors) != len(X):
        raise DataError(f"factors have {len(factors)} rows but {len(X)} samples are scored; pass one row per sample.")
    Z = model.encode(X, y)
    return disentanglement_metrics(Z, factors, seed=seed)
