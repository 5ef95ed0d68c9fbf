"""The scoring members of :class:`~latentlab.estimators.series.SeriesAnomalyDetector` beside its autoencoder.

PCA on the windows, the recurrent member, the spread member, the per-position
scaling of point errors and the mix of a point's own error with its window's
mean.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..apps import timeseries as ts
from ..errors import DataWarning

POINT_WEIGHT = 0.5  # of a point's own error in its score, against its window's mean error
PCA_CHUNK = 256  # rows per PCA product, the last chunk padded: a window's error never depends on its neighbours
#: Training of the recurrent member: the budget of the hand-written LSTM baseline of benchmarks/timeseries.py
#: (the estimator's usual 120 epochs gave a short series a few hundred updates, too few on the development series).
RECURRENT_LR, RECURRENT_BATCH, RECURRENT_MIN_EPOCHS, RECURRENT_MIN_STEPS = 1e-3, 64, 30, 1000
#: The spread member: a window's spread is the standard deviation of its first differences (in training standard
#: deviations), plus SPREAD_EPS before the log, so that a flat window (a stuck sensor) is finite and far below normal.
SPREAD_EPS = 1e-3
SPREAD_MIN_SCALE = 0.05  # floor of the training windows' log-spread standard deviation: a near-constant spread
SPREAD_MIN_WINDOW = 3  # a window needs two differences to have a spread


AUTO_HOLDOUT = 0.25  # the later part of the training windows that judges the normalisation


class SeriesMembersMixin:
    """The members, their errors and their sum (``_members``, ``_errors``), ``_mix``, ``_position_scale``;
    the detector provides the fitted models and parameters and ``_layout``."""

    def _members(self) -> list[tuple[float, object]]:
        """``(weight, errors)`` of each member used, in the order of their standardisation: the autoencoder,
        PCA, the recurrent one, the spread one; ``errors(W)`` gives its raw point errors ``(n, w, F)``."""
        out = [(1.0, lambda W: self._point_errors(self.model_, W, self.ae_normalisation_))]
        if self.n_components_ > 0:
            out.append((float(self.pca_weight), self._pca_errors))
        if self.recurrent_ is not None:
            out.append((float(self.recurrent_weight),
                        lambda W: self._point_errors(self.recurrent_, W, self.ae_normalisation_, seq=True)))
        if self.spread_mean_ is not None:
            out.append((float(self.spread_weight), self._spread_errors))
        return out

    def _member_errors(self, W: np.ndarray) -> list[np.ndarray]:
        """Raw point errors ``(n, w, F)`` of each member used."""
        return [errors(W) for _, errors in self._members()]

    def _member_weights(self) -> list[float]:
        """The weights of the members of :meth:`_member_errors`, in its order."""
        return [weight for weight, _ in self._members()]

    def _errors(self, W: np.ndarray) -> np.ndarray:
        """The members' mixed point values, each standardised by its training step scores, weighted, added."""
        return self._standardised_sum(self._member_errors(W))

    def _standardised_sum(self, member_errors: list[np.ndarray]) -> np.ndarray:
        """:meth:`_errors` from the members' raw point errors (in the order of :meth:`_members`)."""
        total = None
        for k, (weight, E) in enumerate(zip(self._member_weights(), member_errors)):
            part = weight * (self._mix(E, self.position_scale_[k]) - self.member_center_[k]) / self.member_scale_[k]
            total = part if total is None else total + part
        return total

    def _choose_normalisation(self, W: np.ndarray) -> str:
        """'raw' or 'centre': the fewer false alarms on the later, held-out training windows."""
        n = len(W)
        n_hold = int(round(n * AUTO_HOLDOUT))
        n_fit = n - n_hold - self.window_  # a gap of one window: held-out windows share no step with fitted ones
        self.normalisation_scores_ = {}
        if n_hold < 8 or n_fit < 16:
            return "centre"
        for how in ("raw", "centre"):
            model = self._fit_windows(ts.normalise_windows(W[:n_fit], how))
            fitted = ts.window_error_means(self._point_errors(model, W[:n_fit], how))
            held = ts.window_error_means(self._point_errors(model, W[n - n_hold :], how))
            self.normalisation_scores_[how] = float(np.mean(held > np.nanquantile(fitted, 0.99)))
        rates = self.normalisation_scores_
        return "raw" if rates["raw"] <= rates["centre"] else "centre"

    def _point_errors(self, model, W: np.ndarray, how: str, seq: bool = False) -> np.ndarray:
        """Point-wise squared errors ``(n, w, F)`` of scaled windows ``W``; NaN where a point is missing."""
        Z = ts.normalise_windows(W, how)
        if len(Z) == 0:
            return np.zeros((0, *W.shape[1:]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # anomalies lie outside the training range on purpose
            R = model.reconstruct(self._layout(Z, seq)).astype(np.float64)
        n, w, f = Z.shape
        R = R.reshape(n, w, f) if R.ndim == 3 else R.reshape(n, f, w).transpose(0, 2, 1)  # seq | flat (F, w)
        return (R - Z) ** 2  # NaN stays NaN

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
        from ..registry import get_family

        n = len(Z)
        model = get_family("seq_ae")(
            latent_dim=int(self.latent_dim), hidden=(int(self.recurrent_hidden),), cell="lstm", scaling="none",
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
    def _log_spread(W: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
        """``(n, F)``: log of each window's spread per channel (see ``SPREAD_EPS``); NaN with fewer than two
        observed differences. ``d``: the windows' first differences, when the caller has them."""
        d = np.diff(W, axis=1) if d is None else d
        ok = np.isfinite(d).sum(axis=1) >= 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = np.nanstd(np.where(ok[:, None, :], d, 0.0), axis=1)
        return np.where(ok, np.log(spread + SPREAD_EPS), np.nan)

    def _fit_spread(self, W: np.ndarray) -> None:
        """The spread member's reference: the mean and standard deviation of the training windows' log spread
        (left out, None, when no training window has a spread)."""
        f = self._log_spread(W)
        if not np.isfinite(f).any():  # no window with two observed differences: the member has nothing to judge
            self.spread_mean_ = self.spread_scale_ = None
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a channel with no window of two differences
            mean, scale = np.nanmean(f, axis=0), np.nanstd(f, axis=0)
        self.spread_mean_ = np.nan_to_num(mean).astype(np.float64)
        self.spread_scale_ = np.maximum(np.nan_to_num(scale, nan=1.0), SPREAD_MIN_SCALE).astype(np.float64)

    def _spread_errors(self, W: np.ndarray) -> np.ndarray:
        """The spread member's point errors ``(n, w, F)``: the squared z-score ``z`` of the window's log spread
        against the training windows, spread over its points so that their mean is ``z**2``.

        A window flatter than normal (``z <= 0``: a stuck sensor) gives every point the same share. A window
        wilder than normal gives each point a share in proportion to the squared deviations of the two
        differences it takes part in, so a spike scores at its own steps, not across its whole window.
        """
        d = np.diff(W, axis=1)
        z = ((self._log_spread(W, d) - self.spread_mean_) / self.spread_scale_)[:, None, :]  # (n, 1, F)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dev = np.nan_to_num((d - np.nanmean(d, axis=1, keepdims=True)) ** 2)  # (n, w - 1, F)
        part = np.zeros(W.shape)
        part[:, :-1] += dev
        part[:, 1:] += dev
        total = part.sum(axis=1, keepdims=True)
        share = np.where(total > 0, part / np.where(total > 0, total, 1.0) * W.shape[1], 1.0)
        return np.where(z > 0, share, 1.0) * z**2

    @staticmethod
    def _position_scale(E: np.ndarray) -> np.ndarray:
        """Mean training error at each window position and channel ``(w, F)``, floored away from 0."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = np.nanmean(E, axis=0)
        floor = max(1e-12, 1e-6 * float(np.nanmean(ref))) if np.isfinite(ref).any() else 1e-12
        return np.maximum(np.nan_to_num(ref, nan=floor), floor)
