"""The scorer: each member's point errors made comparable, mixed over its window, and added up, weighted.

A member's squared point errors are divided by their training mean at the
same position of the window and channel (window edges reconstruct worse),
and a point's value is ``POINT_WEIGHT`` of that plus the rest of its
channel's mean in the window (:func:`mix`): a step's score then also counts
the windows it sits in, which lifts the inside of long events. Each member's
values are standardised by the mean and standard deviation of its training
step scores, weighted, and added. Everything the scorer learns about a
member lives in that member's :class:`Entry`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ...apps import timeseries as ts
from .member import Member

POINT_WEIGHT = 0.5  # of a point's own error in its value, against its window's mean error (chosen on validation)


def position_scale(E: np.ndarray) -> np.ndarray:
    """Mean training error at each window position and channel ``(w, F)`` of errors ``(n, w, F)``, floored
    away from 0 (a position that never errs would divide by 0).

    Examples
    --------
    >>> position_scale(np.array([[[1.0], [3.0]], [[3.0], [5.0]]]))[:, 0].tolist()
    [2.0, 4.0]
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmean(E, axis=0)
    floor = max(1e-12, 1e-6 * float(np.nanmean(ref))) if np.isfinite(ref).any() else 1e-12
    return np.maximum(np.nan_to_num(ref, nan=floor), floor)


def mix(E: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Point errors ``(n, w, F)`` over ``scale`` ``(w, F)``, then ``POINT_WEIGHT`` of each point's own value
    plus the rest of its channel's mean in the window; missing stays missing."""
    E = E / scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a channel missing in a whole window
        own = np.nanmean(E, axis=1, keepdims=True)  # (n, 1, F): each channel's mean in the window
    return POINT_WEIGHT * E + (1 - POINT_WEIGHT) * own


def combine_channels(per: np.ndarray) -> np.ndarray:
    """Channel scores ``(T, F)`` -> step scores ``(T,)``: their mean over the channels that were observed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(per, axis=1)


@dataclass
class Entry:
    """A member in the mix: its ``weight``, its training errors' ``position_scale`` ``(w, F)``, and the
    ``center`` and ``scale`` (mean, standard deviation) of its training step scores."""

    member: Member
    weight: float
    position_scale: np.ndarray
    center: float
    scale: float

    def standardised(self, E: np.ndarray) -> np.ndarray:
        """The member's raw point errors ``E`` mixed, standardised and weighted."""
        return self.weight * (mix(E, self.position_scale) - self.center) / self.scale


class Scorer:
    """The weighted sum of the standardised members (:class:`Entry`, in the order of the members)."""

    def __init__(self, entries: list[Entry]):
        self.entries = list(entries)

    @classmethod
    def fit(cls, members: list[tuple[Member, float]], W: np.ndarray, n_steps: int) -> tuple[Scorer, np.ndarray]:
        """Learn each ``(member, weight)``'s scaling from the training windows ``W`` of a series of
        ``n_steps``; returns the scorer and the training step scores ``(n_steps,)``, which set the threshold.

        A member with a ``training_errors`` method gives the training scores its errors of the training
        windows as windows it was not fitted on (the Mahalanobis member's): the threshold is then the one new
        normal data meet; the scaling still comes from its errors as they are.
        """
        errors = [member.errors(W) for member, _ in members]  # reconstructed once: for the scaling and the scores
        entries = []
        for (member, weight), E in zip(members, errors):
            ref = position_scale(E)
            s = combine_channels(ts.step_means(mix(E, ref), 0, n_steps))
            entries.append(Entry(member, weight, ref, float(np.nanmean(s)), max(float(np.nanstd(s)), 1e-12)))
        scorer = cls(entries)
        held = [member.training_errors(W) if hasattr(member, "training_errors") else E
                for (member, _), E in zip(members, errors)]
        return scorer, combine_channels(ts.step_means(scorer.mixed(held), 0, n_steps))

    def errors(self, W: np.ndarray) -> np.ndarray:
        """The point values ``(n, w, F)`` of windows ``W``: every member's, standardised, weighted, added."""
        return self.mixed([entry.member.errors(W) for entry in self.entries])

    def mixed(self, member_errors: list[np.ndarray]) -> np.ndarray:
        """:meth:`errors` from the members' raw point errors, in the order of the entries."""
        total = None
        for entry, E in zip(self.entries, member_errors):
            part = entry.standardised(E)
            total = part if total is None else total + part
        return total

    @property
    def weights(self) -> list[float]:
        return [entry.weight for entry in self.entries]

    def member(self, name: str) -> Member | None:
        """The member named ``name``, or None when the detector has none."""
        return next((entry.member for entry in self.entries if entry.member.name == name), None)
