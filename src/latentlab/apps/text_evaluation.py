"""Evaluation of a text model on texts: held-out NLL per token and bits per character, KL, active units, exact matches.

What ``latentlab evaluate RUN --data texts.txt`` scores for a text model
(``model.is_text``), and which texts: :func:`text_evaluation_data` honours
the split ``latentlab train`` recorded (``--test-fraction``), as
:func:`latentlab.apps.datasplit.evaluation_data` does for arrays, and
:func:`evaluate_text_run` writes ``evaluation.json`` and ``report.md``.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._files import atomic_write_json
from ..errors import ConfigError

SPLIT_SEED = 0


def text_fingerprint(texts: list[str]) -> str:
    """SHA-256 of the texts in order (each followed by a NUL byte), as hex.

    Examples
    --------
    >>> text_fingerprint(["a", "b"]) == text_fingerprint(["a", "b"]), text_fingerprint(["a", "b"]) == text_fingerprint(["ab"])
    (True, False)
    """
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8") + b"\0")
    return h.hexdigest()


def split_texts(texts: list[str], y: np.ndarray | None, fraction: float, seed: int = SPLIT_SEED):
    """``(train texts, train labels, held-out texts, held-out labels)``: a seeded shuffle split of ``fraction``.

    Examples
    --------
    >>> tr, _, te, _ = split_texts([f"text {i}" for i in range(10)], None, 0.2)
    >>> len(tr), len(te), sorted(tr + te) == sorted(f"text {i}" for i in range(10))
    (8, 2, True)
    """
    n = len(texts)
    n_test = int(round(n * fraction))
    if not 0 < fraction < 1 or n_test < 1 or n - n_test < 2:
        raise ConfigError(f"--test-fraction {fraction} of {len(texts)} texts leaves no test or training part.")
    order = np.random.default_rng(seed).permutation(n)
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    pick = lambda idx: [texts[i] for i in idx]  # noqa: E731
    yy = None if y is None else np.asarray(y)
    return pick(train), None if yy is None else yy[train], pick(test), None if yy is None else yy[test]


def text_split_record(spec: str, texts: list[str], fraction: float | None) -> dict[str, Any]:
    """What ``train`` saves in ``metrics.json`` (``"data_split"``) for a text run trained on ``texts`` of ``spec``."""
    record: dict[str, Any] = {"data": spec, "n_samples": len(texts), "fingerprint": text_fingerprint(texts)}
    if not fraction:
        record.update(held_out=None, n_train=len(texts), n_test=0)
    else:
        n_test = int(round(len(texts) * fraction))
        record.update(held_out="fraction", test_fraction=float(fraction), seed=SPLIT_SEED,
                      n_train=len(texts) - n_test, n_test=n_test)
    return record


def text_evaluation_data(record: dict | None, spec: str, texts: list[str], y: np.ndarray | None,
                         on_training_data: bool = False, run: str = "the run"):
    """``(texts, labels, split, description)`` that ``evaluate`` scores for a text run with split ``record``.

    ``split`` is 'held-out', 'training', 'other' or 'unknown', as for arrays.

    Raises
    ------
    ConfigError
        When ``texts`` are the run's training texts, none were held out, and ``on_training_data`` is False.
    """
    n = len(texts)
    if record is None:
        return texts, y, "unknown", (
            f"all {n} texts of {spec}. This run does not record what it was trained on; if that was {spec}, "
            "these scores include training texts and are optimistic"
        )
    same = record.get("fingerprint") == text_fingerprint(texts) if "fingerprint" in record else record.get("data") == spec
    if not same:
        return texts, y, "other", f"all {n} texts of {spec}, which are not the texts this run was trained on"
    held = record.get("held_out")
    if held == "fraction":
        tr, ytr, te, yte = split_texts(texts, y, record["test_fraction"], record.get("seed", SPLIT_SEED))
        if on_training_data:
            return tr, ytr, "training", (
                f"the {len(tr)} texts of {spec} that the model was fitted on (--on-training-data); "
                "scores on them are optimistic"
            )
        pct = f"{100 * record['test_fraction']:.3g}%"
        return te, yte, "held-out", f"{len(te)} texts of {spec} ({pct}, seed {record.get('seed', SPLIT_SEED)}) that training never saw"
    if on_training_data:
        return texts, y, "training", (
            f"all {n} texts of {spec}, which the model was fitted on (--on-training-data); scores on them are optimistic"
        )
    raise ConfigError(
        f"{run} was trained on all {n} texts of {spec}, so none are held out to score. Evaluate on another text file, "
        "retrain with --test-fraction 0.2, or pass --on-training-data to score the training texts (optimistic)."
    )


def text_metrics(model, texts: list[str], y: np.ndarray | None = None, *, k: int = 100, seed: int = 0,
                 beam: int = 1) -> dict[str, float]:
    """Scores of a text model on ``texts``.

    - ``exact_match``: the share of texts reconstructed exactly (posterior
      mean, decoded greedily or by a beam of ``beam``);
    - for a model with a posterior density (``TextVAE``): the
      importance-sampled NLL with ``k`` draws (an upper bound on the true
      NLL) per text, per token (``[EOS]`` counted) and in bits per character
      (one end-of-text character per text), the perplexity, the ELBO per
      token, KL(q(z|x) || p(z)) per text (closed form for the standard
      prior, else a single-draw estimate) and the active units of these texts.
    """
    from ..models.bounds import has_density
    from ..models.prior import StandardNormal
    from ..models.variational import active_units

    yy = y if model.config.n_classes > 0 else None
    n_tok = int(model.token_counts(texts).sum())
    n_chr = int(sum(len(t) + 1 for t in texts))
    recon = model.reconstruct(texts, yy, beam=beam)
    out: dict[str, float] = {
        "n_texts": len(texts), "n_tokens": n_tok, "n_characters": n_chr,
        "exact_match": float(np.mean([a == b for a, b in zip(recon, texts)])), "decoding_beam": int(beam),
    }
    if not has_density(model):
        return out
    ll = model.log_likelihood(texts, yy, k=k, seed=seed)
    elbo = model.elbo(texts, yy, n_samples=1, seed=seed)
    nll = float(-ll.sum())
    x = model.to_model_space(texts)
    labels = model.label_tensor(yy, x.shape[0])
    with torch.no_grad():
        model.eval()
        q = model.posterior(x, labels)
        if isinstance(model.prior, StandardNormal):
            kl = float(q.kl().mean())
        else:  # a learned prior: a Monte-Carlo estimate over 10 draws
            g = torch.Generator(device=model.device).manual_seed(int(seed))
            z = torch.stack([q.sample(g) for _ in range(10)])
            kl = float((q.log_prob(z) - model.prior.log_prob(z)).mean())
        n_active, _ = active_units(q.mean)
    out.update({
        "nll_per_text": nll / len(texts), "nll_per_token": nll / n_tok, "bits_per_char": nll / n_chr / math.log(2),
        "perplexity": math.exp(nll / n_tok), "elbo_per_token": float(elbo.sum()) / n_tok, "nll_k": int(k),
        "kl_per_text": kl, "active_units": int(n_active), "latent_dim": int(model.config.latent_dim),
    })
    return out


def evaluate_text_run(model, texts: list[str], y: np.ndarray | None, out: str | Path, *, k: int = 100,
                      seed: int = 0, beam: int = 1, data: dict | None = None) -> dict[str, float]:
    """:func:`text_metrics` written to ``out/evaluation.json`` and ``out/report.md`` (and returned)."""
    from .report import write_report

    out = Path(out)
    metrics = text_metrics(model, texts, y, k=k, seed=seed, beam=beam)
    atomic_write_json(out / "evaluation.json", {**({"data": data} if data else {}), **metrics})
    write_report(model, metrics, {}, out / "report.md", data=data)
    return metrics


__all__ = ["text_metrics", "evaluate_text_run", "text_evaluation_data", "text_split_record", "split_texts",
           "text_fingerprint"]
