"""The autoencoder member: the detector's own network (any family), trained on its windows' shapes.

Its windows are normalised as ``ae_normalisation`` says (by default
centred: each window's mean removed, so it learns the shape and not the
level); its point errors are the squared errors of its reconstruction. The
detector's ``normalisation='heldout'`` is chosen here too
(:func:`choose_normalisation`).
"""

from __future__ import annotations

import numpy as np

from ...apps import timeseries as ts
from . import _networks as nets
from .member import MemberState, text

AUTO_HOLDOUT = 0.25  # the later part of the training windows that judges the normalisation ('heldout')
LAYOUTS = ("flat", "sequence")  # the network's input: (n, F * w) or (n, w, F)


class AutoencoderMember:
    """The detector's autoencoder on windows normalised ``normalisation``.

    Parameters
    ----------
    normalisation : {'raw', 'centre', 'standard'}
    sequence : bool
        Whether the network takes windows as sequences ``(n, w, F)`` (a ``seq`` architecture or family)
        rather than flat ``(n, F * w)``.
    model : LatentModel, optional
        The fitted network (when restored).
    new_model, options : callable, optional
        For :meth:`fit`: the detector's network for ``F`` channels, and its trainer options for ``n``
        windows (dropped once fitted).
    """

    name = "autoencoder"
    weight_param = None

    def __init__(self, normalisation: str, sequence: bool, model=None, new_model=None, options=None):
        self.normalisation = normalisation
        self.sequence = sequence
        self.model = model
        self._fitting = (new_model, options)

    @classmethod
    def build(cls, detector, normalisation: str | None = None) -> AutoencoderMember:
        sequence = detector.architecture == "seq" or detector.family.startswith("seq")
        return cls(normalisation or detector.ae_normalisation_, sequence,
                   new_model=detector._build, options=detector._train_options)

    def fit(self, W: np.ndarray) -> bool:
        new_model, options = self._fitting
        Z = ts.normalise_windows(W, self.normalisation)
        self.model = nets.train(new_model(Z.shape[2]), Z, options(len(Z)), self.sequence)
        self._fitting = (None, None)  # the detector's methods are not the member's state
        return True

    def errors(self, W: np.ndarray) -> np.ndarray:
        return nets.point_errors(self.model, W, self.normalisation, self.sequence)

    def state(self) -> MemberState:
        config = {"normalisation": self.normalisation, "layout": LAYOUTS[int(self.sequence)]}
        return MemberState(config=config, models={"model": self.model})

    @classmethod
    def restore(cls, state: MemberState, detector) -> AutoencoderMember:
        how = text(state.config, "normalisation", ts.NORMALISATIONS)
        sequence = text(state.config, "layout", LAYOUTS) == "sequence"
        model = nets.restored_model(state.models, "model", detector.window_, detector.n_features_in_)
        return cls(how, sequence, model=model)


def choose_normalisation(detector, W: np.ndarray) -> tuple[str, dict[str, float]]:
    """'raw' or 'centre' for ``normalisation='heldout'``: autoencoders fitted on each kind of the first 75% of
    the training windows ``W``; the one with fewer false alarms (windows above the 99th percentile of its own
    training windows' errors) on the last 25% wins. Returns it and the false-alarm rates."""
    n = len(W)
    n_hold = int(round(n * AUTO_HOLDOUT))
    n_fit = n - n_hold - detector.window_  # a gap of one window: held-out windows share no step with fitted ones
    rates: dict[str, float] = {}
    if n_hold < 8 or n_fit < 16:
        return "centre", rates
    for how in ("raw", "centre"):
        member = AutoencoderMember.build(detector, how)
        member.fit(W[:n_fit])
        fitted = ts.window_error_means(member.errors(W[:n_fit]))
        held = ts.window_error_means(member.errors(W[n - n_hold :]))
        rates[how] = float(np.mean(held > np.nanquantile(fitted, 0.99)))
    return ("raw" if rates["raw"] <= rates["centre"] else "centre"), rates
