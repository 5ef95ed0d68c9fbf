"""The scoring members of :class:`~latentlab.estimators.series.SeriesAnomalyDetector` beside its autoencoder.

PCA on the windows, the recurrent member, the per-position scaling of point
errors and the mix of a point's own error with its window's mean.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..apps import timeseries as ts

POINT_WEIGHT = 0.5  # of a point's own error in its score, against its window's mean error
PCA_CHUNK = 256  # rows per PCA product, the last chunk padded: a window's error never depends on its neighbours
#: Training of the recurrent member: the budget of the hand-written LSTM baseline of benchmarks/timeseries.py
#: (the estimator's usual 120 epochs gave a short series a few hundred updates, too few on the development series).
RECURRENT_LR, RECURRENT_BATCH, RECURRENT_MIN_EPOCHS, RECURRENT_MIN_STEPS = 1e-3, 64, 30, 1000


class SeriesMembersMixin:
    """``_mix``, ``_position_scale`` and the PCA member; the detector provides ``normalisation_`` and ``pca_variance``."""

    @staticmethod
    def _mix(E: np.ndarray, position_scale: np.ndarray) -> np.ndarray:
        """Point errors over their training mean at the same window position and channel, then half each
        point's own value, half its window's mean: a step's score then also counts the windows it sits in,
        which lifts the inside of long events (chosen on the validation series)."""
        E = E / position_scale
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a channel missing in a whole window
            own = np.nanmean(E, axis=1, keepdims=True)  # (n, 1, F): each channel's mean in the window
        return POINT_WEIGHT * E + (1 - POINT_WEIGHT) * own

    def _pca_errors(self, W: np.ndarray) -> np.ndarray:
        """Point-wise squared errors of the PCA member; NaN where a point is missing.

        Products run on fixed chunks of ``PCA_CHUNK`` rows, so a window's
        error is the same whichever windows it is scored with (streaming).
        """
        Z = ts.normalise_windows(W, self.normalisation_)
        n = len(Z)
        X = np.nan_to_num(Z).reshape(n, -1)
        R = np.empty_like(X)
        for i in range(0, n, PCA_CHUNK):
            part = X[i : i + PCA_CHUNK]
            m = len(part)
            if m < PCA_CHUNK:
                part = np.concatenate([part, np.zeros((PCA_CHUNK - m, X.shape[1]))])
            codes = (part - self.pca_mean_) @ self.pca_components_.T
            R[i : i + m] = (codes @ self.pca_components_ + self.pca_mean_)[:m]
        return (R.reshape(Z.shape) - Z) ** 2  # NaN stays NaN

    def _fit_recurrent(self, Z: np.ndarray):
        """The recurrent member: an LSTM ``seq_ae`` trained on the normalised windows ``Z`` (n, w, F)."""
        import latentlab

        n = len(Z)
        model = latentlab.create(
            "seq_ae", latent_dim=int(self.latent_dim), hidden=(int(self.recurrent_hidden),), cell="lstm",
            scaling="none",
        )
        batch = max(1, min(RECURRENT_BATCH, n))
        epochs = self.recurrent_epochs
        if epochs is None:  # at least 30 epochs and 1,000 updates: short series get more epochs
            epochs = max(RECURRENT_MIN_EPOCHS, -(-RECURRENT_MIN_STEPS // -(-n // batch)))
        opts = dict(
            epochs=int(epochs), lr=RECURRENT_LR, batch_size=batch, validation_split=0.0, patience=None,
            restore_best=False, lr_schedule="none", seed=self.random_state, verbose=bool(self.verbose),
        )
        return self._fit_windows(Z, model=model, opts=opts, seq=True)

    def _fit_pca(self, W: np.ndarray) -> None:
        from sklearn.decomposition import PCA

        Z = ts.normalise_windows(W, self.normalisation_)
        pca = PCA(n_components=float(self.pca_variance), svd_solver="full").fit(np.nan_to_num(Z).reshape(len(Z), -1))
        # C order, as read back from the file: the same layout gives the same bits after a load
        self.pca_mean_ = np.ascontiguousarray(pca.mean_, dtype=np.float64)
        self.pca_components_ = np.ascontiguousarray(pca.components_, dtype=np.float64)
        self.n_components_ = int(pca.n_components_)

    @staticmethod
    def _position_scale(E: np.ndarray) -> np.ndarray:
        """Mean training error at each window position and channel ``(w, F)``, floored away from 0."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = np.nanmean(E, axis=0)
        floor = max(1e-12, 1e-6 * float(np.nanmean(ref))) if np.isfinite(ref).any() else 1e-12
        return np.maximum(np.nan_to_num(ref, nan=floor), floor)
