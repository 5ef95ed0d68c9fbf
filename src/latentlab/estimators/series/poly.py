"""The polynomial member: what is left of a window once a low-degree polynomial is fitted to it.

Each window (per channel) is fitted by least squares with a polynomial of
degree ``poly_degree`` in time, the window's own smooth course (its level
and, from degree 1, its trend); the squared residual of each point is its
error. What a smooth curve cannot follow is left: a spike, a burst of noise,
a jump inside the window, a cycle broken. The scorer then divides the errors
by their training mean at each window position, so the member learns how
rough the series normally is. It needs no training of its own, and a level
that drifts does not move it.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._persist import number
from .member import MemberState


def basis(window: int, degree: int) -> np.ndarray:
    """``(window, degree + 1)``: orthonormal columns spanning the polynomials of up to ``degree`` over
    ``window`` evenly spaced steps.

    Examples
    --------
    >>> Q = basis(5, 1)
    >>> bool(np.allclose(Q.T @ Q, np.eye(2)))
    True
    """
    t = np.linspace(-1.0, 1.0, window)
    Q, _ = np.linalg.qr(np.vander(t, degree + 1, increasing=True))
    return Q


class PolynomialMember:
    """Squared residuals of each window's least-squares polynomial of degree ``degree``.

    A missing point is left out of the fit (it takes the fitted value, so it adds no residual) and its
    error is NaN.

    Examples
    --------
    >>> member = PolynomialMember(1)
    >>> member.fit(np.zeros((1, 5, 1)))
    True
    >>> member.errors(np.array([[[0.0], [1.0], [2.0], [3.0], [4.0]]]))[0, :, 0].round(12).tolist()  # a line
    [0.0, 0.0, 0.0, 0.0, 0.0]
    >>> member.errors(np.array([[[0.0], [0.0], [5.0], [0.0], [0.0]]]))[0, :, 0].round(12).tolist()  # a spike
    [1.0, 1.0, 16.0, 1.0, 1.0]
    """

    name = "poly"
    weight_param = "poly_weight"

    def __init__(self, degree: int = 1):
        self.degree = int(degree)
        self.projection = None

    @classmethod
    def build(cls, detector) -> PolynomialMember | None:
        if float(detector.poly_weight) <= 0 or detector.window_ < detector.poly_degree + 2:
            return None  # a window of degree + 1 points is fitted exactly: nothing is left
        return cls(int(detector.poly_degree))

    def fit(self, W: np.ndarray) -> bool:
        """Nothing to learn but the window's polynomials (the scorer learns the usual residuals)."""
        Q = basis(W.shape[1], self.degree)
        self.projection = np.ascontiguousarray(Q @ Q.T)
        return True

    def errors(self, W: np.ndarray) -> np.ndarray:
        missing = ~np.isfinite(W)
        X = W
        if missing.any():  # iterate: a missing point takes the fitted value, which leaves it no residual
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                X = np.where(missing, np.nan_to_num(np.nanmean(W, axis=1, keepdims=True)), W)
            for _ in range(20):
                X = np.where(missing, np.matmul(self.projection, X), W)
        R = X - np.matmul(self.projection, X)
        E = R**2
        E[missing] = np.nan
        return E

    def state(self) -> MemberState:
        return MemberState(config={"degree": self.degree})

    @classmethod
    def restore(cls, state: MemberState, detector) -> PolynomialMember:
        degree = number(state.config, "degree", int, low=0)
        if detector.window_ < degree + 2:
            raise ValueError(f"degree {degree} leaves nothing of windows of {detector.window_} steps")
        member = cls(degree)
        member.fit(np.zeros((1, detector.window_, 1)))
        return member
