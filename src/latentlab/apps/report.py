"""The evaluation report: metrics and figures of a run as one Markdown file."""

from __future__ import annotations

from pathlib import Path

from .._files import atomic_write_bytes

_NAMES = {
    "mse": "reconstruction MSE (per feature)",
    "bce": "reconstruction BCE (per feature)",
    "psnr": "PSNR (dB)",
    "elbo": "ELBO (nats per sample)",
    "nll_is": "importance-sampled NLL (nats per sample)",
    "nll_k": "importance samples K",
    "linear_probe_accuracy": "linear-probe accuracy on the codes",
    "cluster_ari": "k-means on the codes: adjusted Rand index",
    "cluster_nmi": "k-means on the codes: normalised mutual information",
    "cluster_k": "k-means clusters (one per class)",
    "anomaly_roc_auc": "anomaly ROC-AUC (reconstruction error)",
    "anomaly_average_precision": "anomaly average precision",
    "mig": "MIG (mutual information gap)",
    "dci_disentanglement": "DCI disentanglement",
    "dci_completeness": "DCI completeness",
    "dci_informativeness": "DCI informativeness (held-out accuracy)",
    "factorvae_score": "FactorVAE score",
    "sap": "SAP score",
    "nll_per_token": "importance-sampled NLL (nats per token, [EOS] counted)",
    "nll_per_text": "importance-sampled NLL (nats per text)",
    "bits_per_char": "importance-sampled NLL (bits per character)",
    "elbo_per_token": "ELBO (nats per token)",
    "kl_per_text": "KL(q(z|x) || p(z)) (nats per text)",
    "exact_match": "texts reconstructed exactly",
}


_SPLITS = {
    "held-out": "held-out data (not used in training)",
    "training": "training data (optimistic)",
    "other": "other data (not the run's training data)",
    "unknown": "data of unknown relation to training",
}


def render_report(model, metrics: dict, figures: dict[str, Path], base: Path | None = None,
                  data: dict | None = None) -> str:
    """Markdown text of the report; figure links are relative to ``base``; ``data`` names what was scored.

    Examples
    --------
    >>> class M:
    ...     family = "ae"
    ...     class config:
    ...         latent_dim = 2
    >>> print(render_report(M(), {"mse": 0.01}, {}).splitlines()[0])
    # Evaluation report: ae, latent 2
    """
    lines = [f"# Evaluation report: {model.family}, latent {model.config.latent_dim}", ""]
    if data:
        split = data.get("split", "unknown")
        lines += [f"**Scored on {_SPLITS.get(split, split)}**: {data.get('description', '')}.", ""]
    lines += ["| metric | value |", "|---|---|"]
    for key, value in metrics.items():
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        lines.append(f"| {_NAMES.get(key, key)} | {text} |")
    if "nll_is" in metrics and "elbo" in metrics:
        lines += [
            "",
            f"The importance-sampled NLL (K={metrics.get('nll_k')}) bounds -log p(x) more tightly than -ELBO.",
        ]
    if figures:
        lines += ["", "## Figures", ""]
        for name, path in figures.items():
            rel = Path(path).name if base is None else Path(path).relative_to(base)
            lines += [f"### {name.replace('_', ' ')}", "", f"![{name}]({rel})", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(model, metrics: dict, figures: dict[str, Path], path: str | Path, data: dict | None = None) -> Path:
    """Write :func:`render_report` to ``path`` (atomically)."""
    path = Path(path)
    atomic_write_bytes(path, render_report(model, metrics, figures, path.parent, data).encode())
    return path
