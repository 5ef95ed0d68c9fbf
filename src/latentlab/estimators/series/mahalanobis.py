"""The Mahalanobis member: how unlikely a whole window is under a Gaussian fitted to the training windows.

The training windows (normalised as the detector's ``normalisation``, by
default raw, so the level counts) give a mean and a covariance; a window's
distance is its squared Mahalanobis distance from them, ``(z - m)' S^-1 (z -
m)``: every direction of change is measured against how much the training
windows vary along it, so a small move where they never move (a flat stretch
in a noisy series, a level the series never held) counts as much as a large
one where they always do. The PCA member keeps the directions of large
variance and sees only what falls outside them; this one weighs them all.
The covariance is shrunk (``SHRINK``) so that directions of almost no
training variance do not blow up. The distance, divided by the window's
size, is the mean error of its points: the member judges windows, not
points, but a channel gets its part of the distance (the whitened window,
``whitening @ (z - m)``, is split by channel), so that ``channel_scores``
still tell which channel moved.
"""

from __future__ import annotations

import numpy as np

from ...apps import timeseries as ts
from .._persist import take
from .member import MemberState, text
from .pca import CHUNK

SHRINK = 1e-3  # of the mean eigenvalue of the training covariance, added to each of its eigenvalues
FOLDS = 5  # contiguous blocks of the training windows, each scored by a Gaussian fitted on the others


class MahalanobisMember:
    """Squared Mahalanobis distance of windows normalised ``normalisation`` from the training windows.

    Attributes (once fitted): ``mean`` ``(w * F,)`` and ``whitening`` ``(w * F, w * F)``, symmetric (ZCA), so
    that a window's distance is ``|u|**2`` with ``u = (z - mean) @ whitening``; each point of channel ``f``
    gets the mean of ``u**2`` over that channel's steps.

    Examples
    --------
    >>> member = MahalanobisMember("raw", mean=np.zeros(2), whitening=np.diag([1.0, 0.5]))  # variances 1 and 4
    >>> member.errors(np.array([[[1.0], [2.0]]]))[0, :, 0].tolist()  # distance 1 + 1 = 2, half to each point
    [1.0, 1.0]
    """

    name = "mahalanobis"
    weight_param = "mahalanobis_weight"

    def __init__(self, normalisation: str, mean: np.ndarray | None = None, whitening: np.ndarray | None = None):
        self.normalisation = normalisation
        self.mean, self.whitening = mean, whitening

    @classmethod
    def build(cls, detector) -> MahalanobisMember | None:
        if float(detector.mahalanobis_weight) <= 0:
            return None
        return cls(detector.normalisation_)

    def fit(self, W: np.ndarray) -> bool:
        """The mean and the whitening of the training windows (missing points at the window's mean)."""
        self.mean, self.whitening = self._gaussian(self._flat(W))
        return True

    @staticmethod
    def _gaussian(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = np.ascontiguousarray(X.mean(axis=0))
        Xc = X - mean
        values, vectors = np.linalg.eigh(Xc.T @ Xc / len(X))
        values = np.maximum(values, 0.0) + SHRINK * max(float(np.maximum(values, 0.0).mean()), 1e-12)
        return mean, np.ascontiguousarray((vectors / np.sqrt(values)) @ vectors.T)

    def training_errors(self, W: np.ndarray) -> np.ndarray:
        """The errors of the training windows ``W`` as windows it was not fitted on get them: each of ``FOLDS``
        contiguous blocks scored by a Gaussian of the other blocks, less the windows that share a step with it
        (when enough are left).

        A Gaussian is closer to the windows it was fitted on than to new ones (more so the more steps a window
        has), and a step's score averages many windows, so a threshold set on the training windows' own
        errors would flag much of new normal data; the scorer sets it on these.
        """
        n, w = len(W), W.shape[1]
        size = -(-n // FOLDS)
        if n < 2 * FOLDS:
            return self.errors(W)
        gap = w - 1 if n - size - 2 * (w - 1) >= size else 0  # few windows: the blocks' neighbours stay in
        X = self._flat(W)
        E = np.empty(W.shape)
        fitted = self.mean, self.whitening
        for start in range(0, n, size):
            stop = min(n, start + size)
            keep = np.r_[0 : max(0, start - gap), min(n, stop + gap) : n]  # no step shared with the block
            self.mean, self.whitening = self._gaussian(X[keep])
            E[start:stop] = self.errors(W[start:stop])
        self.mean, self.whitening = fitted
        return E

    def _flat(self, W: np.ndarray) -> np.ndarray:
        Z = ts.normalise_windows(W, self.normalisation)
        return np.nan_to_num(Z).reshape(len(Z), -1)

    def errors(self, W: np.ndarray) -> np.ndarray:
        """Each channel's part of the window's squared distance over its ``w`` steps, at each of them; NaN where
        a point is missing. Products run on fixed chunks of ``CHUNK`` rows (streaming gives the batch's bits)."""
        X = self._flat(W)
        n = len(X)
        U = np.empty_like(X)
        for i in range(0, n, CHUNK):
            part = X[i : i + CHUNK]
            m = len(part)
            if m < CHUNK:
                part = np.concatenate([part, np.zeros((CHUNK - m, X.shape[1]))])
            U[i : i + m] = ((part - self.mean) @ self.whitening)[:m]
        per = (U**2).reshape(W.shape).mean(axis=1, keepdims=True)  # (n, 1, F): their mean is the distance / wF
        E = np.broadcast_to(per, W.shape).copy()
        E[~np.isfinite(W)] = np.nan
        return E

    def state(self) -> MemberState:
        return MemberState(config={"normalisation": self.normalisation},
                           arrays={"mean": self.mean, "whitening": self.whitening})

    @classmethod
    def restore(cls, state: MemberState, detector) -> MahalanobisMember:
        width = detector.window_ * detector.n_features_in_
        return cls(text(state.config, "normalisation", ts.NORMALISATIONS),
                   take(state.arrays, "mean", (width,), np.float64),
                   take(state.arrays, "whitening", (width, width), np.float64))
