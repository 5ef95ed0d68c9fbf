"""The spread member: how unusual a window's variability is, which finds what reconstruction misses.

A window's spread is the standard deviation of its first differences (in
training standard deviations), per channel, plus ``EPS`` before the log, so
that a flat window (a stuck sensor) is finite and far below normal. The
member's error is the squared z-score of the log spread against the training
windows, given evenly to the points of a window flatter than normal and, in
a wilder one, by each point's part in the differences (so a spike scores at
its own steps).
"""

from __future__ import annotations

import warnings

import numpy as np

from .._persist import take
from .member import MemberState

EPS = 1e-3
MIN_SCALE = 0.05  # floor of the training windows' log-spread standard deviation: a near-constant spread
MIN_WINDOW = 3  # a window needs two differences to have a spread


def log_spread(W: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
    """``(n, F)``: log of each window's spread per channel (see ``EPS``); NaN with fewer than two observed
    differences. ``d``: the windows' first differences, when the caller has them."""
    d = np.diff(W, axis=1) if d is None else d
    ok = np.isfinite(d).sum(axis=1) >= 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.nanstd(np.where(ok[:, None, :], d, 0.0), axis=1)
    return np.where(ok, np.log(spread + EPS), np.nan)


class SpreadMember:
    """The windows' log spread against its training ``mean`` and ``scale`` per channel.

    Examples
    --------
    >>> member = SpreadMember(mean=np.array([np.log(1.0 + EPS)]), scale=np.array([0.5]))  # normal: spread 1
    >>> flat = np.zeros((1, 4, 1))  # a stuck sensor: every point gets z**2, z = (log(EPS) - log(1 + EPS)) / 0.5
    >>> round(float(member.errors(flat)[0, 0, 0]), 4), round(float(((np.log(EPS) - np.log(1 + EPS)) / 0.5) ** 2), 4)
    (190.9236, 190.9236)
    """

    name = "spread"
    weight_param = "spread_weight"

    def __init__(self, mean: np.ndarray | None = None, scale: np.ndarray | None = None):
        self.mean, self.scale = mean, scale

    @classmethod
    def build(cls, detector) -> SpreadMember | None:
        if float(detector.spread_weight) <= 0 or detector.window_ < MIN_WINDOW:
            return None  # windows of 2 steps have one difference: no spread
        return cls()

    def fit(self, W: np.ndarray) -> bool:
        """The mean and standard deviation of the training windows' log spread; False (left out) when no
        training window has two observed differences."""
        f = log_spread(W)
        if not np.isfinite(f).any():
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a channel with no window of two differences
            mean, scale = np.nanmean(f, axis=0), np.nanstd(f, axis=0)
        self.mean = np.nan_to_num(mean).astype(np.float64)
        self.scale = np.maximum(np.nan_to_num(scale, nan=1.0), MIN_SCALE).astype(np.float64)
        return True

    def errors(self, W: np.ndarray) -> np.ndarray:
        """The squared z-score ``z`` of the window's log spread, spread over its points so that their mean is
        ``z**2``: evenly in a window flatter than normal (``z <= 0``), else in proportion to the squared
        deviations of the two differences each point takes part in."""
        d = np.diff(W, axis=1)
        z = ((log_spread(W, d) - self.mean) / self.scale)[:, None, :]  # (n, 1, F)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dev = np.nan_to_num((d - np.nanmean(d, axis=1, keepdims=True)) ** 2)  # (n, w - 1, F)
        part = np.zeros(W.shape)
        part[:, :-1] += dev
        part[:, 1:] += dev
        total = part.sum(axis=1, keepdims=True)
        share = np.where(total > 0, part / np.where(total > 0, total, 1.0) * W.shape[1], 1.0)
        return np.where(z > 0, share, 1.0) * z**2

    def state(self) -> MemberState:
        return MemberState(arrays={"mean": self.mean, "scale": self.scale})

    @classmethod
    def restore(cls, state: MemberState, detector) -> SpreadMember:
        F = detector.n_features_in_
        mean, scale = take(state.arrays, "mean", (F,), np.float64), take(state.arrays, "scale", (F,), np.float64)
        if not np.all(scale > 0):
            raise ValueError(f"the spread arrays are not finite arrays of shape {(F,)} with a positive scale")
        return cls(mean, scale)
