"""What every variational family shares beyond its networks: KL schedules, free bits, collapse diagnosis.

- **KL annealing** (``kl_anneal``): the KL weight rises linearly from 0 to
  ``beta`` over ``kl_anneal_epochs`` epochs (Bowman et al., "Generating
  sentences from a continuous space", CoNLL 2016), or does so in each of
  ``kl_cycles`` cycles of that length, rising over the first half of each
  (Fu et al., "Cyclical annealing schedule", NAACL 2019). A callback the
  model hands to the trainer sets it at each epoch; validation always scores
  the full objective.
- **Free bits** (``free_bits`` = lambda nats): the KL of each latent
  dimension, averaged over the batch, counts at least lambda (Kingma et al.,
  "Improved variational inference with inverse autoregressive flow", NIPS
  2016), so the optimiser gains nothing by closing a dimension below it.
- **Active units** (Burda, Grosse & Salakhutdinov, ICLR 2016): a dimension
  is active when the variance over the data of its posterior mean exceeds
  0.01. It is measured after every fit, kept in ``model.metrics``, and a
  :class:`~latentlab.errors.PosteriorCollapseWarning` names the remedies
  when none, or far fewer than ``latent_dim``, are active.
"""

from __future__ import annotations

import sys
import warnings

import torch

from ..errors import PosteriorCollapseWarning
from ..training.callbacks import Callback

ACTIVE_THRESHOLD = 0.01
ANNEALING = ("none", "linear", "cyclical")


def kl_weight(kind: str, epoch: int, period: int, cycles: int) -> float:
    """The KL weight (a fraction of ``beta``) during epoch ``epoch`` (0-based).

    Examples
    --------
    >>> [kl_weight("linear", e, 4, 1) for e in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    >>> [kl_weight("cyclical", e, 4, 2) for e in range(9)]
    [0.0, 0.5, 1.0, 1.0, 0.0, 0.5, 1.0, 1.0, 1.0]
    """
    if kind == "linear":
        return min(1.0, (epoch + 1) / period)
    if kind == "cyclical":
        if epoch >= period * cycles:
            return 1.0
        t = (epoch % period) / period  # position in the cycle, in [0, 1)
        return min(1.0, t / 0.5)
    return 1.0


class KLAnnealing(Callback):
    """Sets ``model.kl_scale`` for each epoch from the model's ``kl_anneal`` schedule."""

    def __init__(self, model):
        self.model = model

    def _set(self, epoch: int) -> float:
        c = self.model.config
        w = kl_weight(c.kl_anneal, epoch, c.kl_anneal_epochs, c.kl_cycles)
        self.model.kl_scale.fill_(w)
        return w

    def on_train_begin(self, trainer) -> None:
        self._set(trainer.start_epoch)  # a resumed run picks up the schedule where it was

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        logs["kl_weight"] = float(self.model.kl_scale)  # the weight this epoch trained with
        self._set(epoch + 1)

    def on_train_end(self, trainer) -> None:
        self.model.kl_scale.fill_(1.0)


def active_units(means: torch.Tensor, threshold: float = ACTIVE_THRESHOLD) -> tuple[int, list[float]]:
    """Number of dimensions whose posterior mean varies over the data by more than ``threshold``, and the variances.

    Examples
    --------
    >>> active_units(torch.tensor([[0.0, 1.0], [0.0, -1.0], [0.001, 0.5]]))[0]
    1
    """
    var = means.double().var(0, unbiased=False) if len(means) > 1 else torch.zeros(means.shape[1], dtype=torch.float64)
    return int((var > threshold).sum()), [float(v) for v in var]


def diagnose_collapse(model, means: torch.Tensor) -> dict:
    """Measure the active units of ``model`` on posterior means ``means``; warn when the posterior collapsed."""
    n_active, variances = active_units(means)
    latent = model.config.latent_dim
    model.metrics["active_units"] = n_active
    tc = model.train_config
    if tc is not None and tc.verbose:
        print(f"{type(model).__name__}: {n_active} of {latent} latent dimensions active", file=sys.stderr)
    if n_active == 0 or (latent >= 4 and n_active < latent / 4):
        hint = []
        c = model.config
        if c.likelihood == "gaussian" and c.variance == "fixed":
            hint.append("variance='per_feature' (a fixed sigma=1 drowns the reconstruction term)")
        if c.kl_anneal == "none":
            hint.append("kl_anneal='linear'")
        if c.free_bits == 0:
            hint.append("free_bits=0.5")
        if c.beta > 1:
            hint.append(f"a smaller beta than {c.beta:g}")
        warnings.warn(
            f"posterior collapse: only {n_active} of {latent} latent dimensions carry information about the input "
            f"(posterior-mean variance > {ACTIVE_THRESHOLD}). Try " + (", ".join(hint) or "a larger model or more epochs") + ".",
            PosteriorCollapseWarning,
            stacklevel=5,
        )
    return {"active_units": n_active, "active_unit_variances": variances}


__all__ = ["kl_weight", "KLAnnealing", "active_units", "diagnose_collapse", "ANNEALING", "ACTIVE_THRESHOLD"]
