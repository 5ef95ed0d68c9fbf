"""The member contract of :class:`~latentlab.estimators.series.SeriesAnomalyDetector`: one way to judge windows.

A member learns what the training windows look like and gives every point of
a window an error, larger where the window is less like them. The detector's
scorer (:mod:`.scorer`) scales each member's errors by its training errors
and adds the members up, weighted.

To add a member: write a class that meets :class:`Member` in a module of its
own in this package and name the class in :data:`.members.MEMBERS`. Its
weight is the detector parameter ``weight_param`` names (one more
constructor parameter of the detector), or 1 when it names none. A member
with a network saves it as a model folder of the detector's folder, under a
name the saved-folder checks accept (``model``, ``model_1`` ... or
``recurrent``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np


@dataclass
class MemberState:
    """A fitted member as a saved folder holds it.

    Attributes
    ----------
    config : dict
        Numbers, strings, lists and dicts (written to ``config.json``).
    arrays : dict of str to ndarray
        Finite arrays (written to ``arrays.safetensors``, their names prefixed with the member's).
    models : dict of str to LatentModel
        Fitted networks, each saved as a model folder of that name.
    """

    config: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Member(Protocol):
    """What the detector asks of a member.

    ``W`` is always the scaled series cut into windows, ``(n, window,
    n_features)``, NaN where a value is missing; a member normalises them as
    it likes. Its point errors have the shape of ``W``, are NaN where a value
    is missing, and depend only on the window they belong to (never on the
    windows scored with it: streaming gives the same scores as a batch).
    """

    #: The member's name in :data:`.members.MEMBERS`'s order and in saved folders.
    name: ClassVar[str]
    #: The detector parameter that weighs the member in the score; None: weight 1, always used.
    weight_param: ClassVar[str | None]

    @classmethod
    def build(cls, detector) -> Member | None:
        """An unfitted member set up from the detector's parameters and what its ``fit`` resolved so far
        (``window_``, ``n_features_in_``, ``normalisation_``, ``ae_normalisation_``), or None when the
        parameters leave it out (a weight of 0)."""

    def fit(self, W: np.ndarray) -> bool:
        """Learn from the training windows; False when they give it nothing to judge (it is left out)."""

    def errors(self, W: np.ndarray) -> np.ndarray:
        """Point errors ``(n, window, n_features)`` of windows ``W``, >= 0, NaN where a value is missing."""

    def state(self) -> MemberState:
        """The fitted member as a saved folder holds it."""

    @classmethod
    def restore(cls, state: MemberState, detector) -> Member:
        """The member :meth:`state` described, each value checked (``KeyError``, ``TypeError`` or
        ``ValueError`` naming the problem); ``detector`` has its parameters, ``window_`` and
        ``n_features_in_``."""


def weight(member: type[Member] | Member, detector) -> float:
    """The weight of ``member`` in ``detector``'s score: its ``weight_param``, else 1."""
    return 1.0 if member.weight_param is None else float(getattr(detector, member.weight_param))


def text(config: dict, key: str, choices: tuple[str, ...]) -> str:
    """``config[key]``, one of ``choices``, or ``ValueError``."""
    value = config[key]
    if value not in choices:
        raise ValueError(f"{key} is {value!r}, not one of {choices}")
    return value
