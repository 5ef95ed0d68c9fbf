"""The PCA member: principal components of the windows (by default raw, so the level counts).

A centred autoencoder judges the shape of a window; a level shift that keeps
the shape is normal to it. PCA on windows at the detector's
``normalisation`` (raw unless the series drifts) finds it. The member keeps
the fewest components that explain ``pca_variance`` of the training
windows' variance; its point errors are the squared errors of the
projection back.
"""

from __future__ import annotations

import numpy as np

from ...apps import timeseries as ts
from .._persist import number, take
from .member import MemberState, text

CHUNK = 256  # rows per product, the last chunk padded: a window's error never depends on its neighbours


class PCAMember:
    """PCA of windows normalised ``normalisation``, keeping ``variance`` of their variance.

    Examples
    --------
    >>> W = np.array([[[0.0], [1.0]], [[1.0], [2.0]], [[2.0], [3.0]]])  # 3 windows on the line y = x + 1
    >>> member = PCAMember("raw", 0.9)
    >>> member.fit(W), member.n_components
    (True, 1)
    >>> member.errors(np.array([[[0.0], [1.0]], [[0.0], [0.0]]]))[:, :, 0].round(6).tolist()  # on it | off by 1/2
    [[0.0, 0.0], [0.25, 0.25]]
    """

    name = "pca"
    weight_param = "pca_weight"

    def __init__(self, normalisation: str, variance: float = 0.9):
        self.normalisation = normalisation
        self.variance = variance

    @classmethod
    def build(cls, detector) -> PCAMember | None:
        if float(detector.pca_weight) <= 0:
            return None
        return cls(detector.normalisation_, float(detector.pca_variance))

    def fit(self, W: np.ndarray) -> bool:
        from sklearn.decomposition import PCA

        Z = ts.normalise_windows(W, self.normalisation)
        pca = PCA(n_components=float(self.variance), svd_solver="full").fit(np.nan_to_num(Z).reshape(len(Z), -1))
        # C order, as read back from the file: the same layout gives the same bits after a load
        self.mean = np.ascontiguousarray(pca.mean_, dtype=np.float64)
        self.components = np.ascontiguousarray(pca.components_, dtype=np.float64)
        self.n_components = int(pca.n_components_)
        return True

    def errors(self, W: np.ndarray) -> np.ndarray:
        """Point-wise squared errors; NaN where a point is missing. Products run on fixed chunks of ``CHUNK``
        rows, so a window's error is the same whichever windows it is scored with (streaming)."""
        Z = ts.normalise_windows(W, self.normalisation)
        n = len(Z)
        X = np.nan_to_num(Z).reshape(n, -1)
        R = np.empty_like(X)
        for i in range(0, n, CHUNK):
            part = X[i : i + CHUNK]
            m = len(part)
            if m < CHUNK:
                part = np.concatenate([part, np.zeros((CHUNK - m, X.shape[1]))])
            codes = (part - self.mean) @ self.components.T
            R[i : i + m] = (codes @ self.components + self.mean)[:m]
        return (R.reshape(Z.shape) - Z) ** 2  # NaN stays NaN

    def state(self) -> MemberState:
        config = {"normalisation": self.normalisation, "n_components": self.n_components}
        return MemberState(config=config, arrays={"mean": self.mean, "components": self.components})

    @classmethod
    def restore(cls, state: MemberState, detector) -> PCAMember:
        member = cls(text(state.config, "normalisation", ts.NORMALISATIONS), float(detector.pca_variance))
        member.n_components = number(state.config, "n_components", int, low=1)
        width = detector.window_ * detector.n_features_in_
        member.mean = take(state.arrays, "mean", (width,), np.float64)
        member.components = take(state.arrays, "components", (member.n_components, width), np.float64)
        return member
