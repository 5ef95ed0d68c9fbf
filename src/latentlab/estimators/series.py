"""``SeriesAnomalyDetector``: anomaly scores for every step of a long series, in batch or as points arrive."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator

from ..apps import timeseries as ts
from ..config import SIZE, Param
from ..errors import DataError
from ..models.fitting import ArrayInput, fit_model
from ..training.options import TrainConfig
from ._base import COMMON_PARAMS, AutoencoderEstimatorMixin
from ._series_files import SeriesFilesMixin
from ._series_members import SPREAD_MIN_WINDOW, SeriesMembersMixin
from ._stream import SeriesStreamMixin

#: The least share of a channel's training steps that must be observed: sparser channels leave most windows
#: empty (no spread, no shape to learn), and their scores and threshold would be NaN.
MIN_OBSERVED = 0.25
#: Scaled values are clipped at this many training standard deviations: a point further out is an anomaly
#: either way, and the models' float32 arithmetic must stay finite (a 1e300 spike would overflow it).
SCALED_LIMIT = 1e6


class SeriesAnomalyDetector(SeriesFilesMixin, SeriesMembersMixin, SeriesStreamMixin, AutoencoderEstimatorMixin,
                            BaseEstimator):
    """Anomaly detection on one long series (or a few channels) with an autoencoder on its windows.

    The series is scaled per channel (training mean and standard deviation)
    and cut into windows of ``window`` steps (stride 1). Four members score
    each window: an autoencoder trained on centred windows (their shape,
    ``ae_normalisation``), PCA on windows at ``normalisation`` (by default
    raw, so the level counts, unless the series drifts), with ``pca_weight``,
    a small LSTM autoencoder on the autoencoder's windows, with
    ``recurrent_weight``, and the spread member, with ``spread_weight``: how
    unusual the window's variability is against the training windows, which
    finds what reconstruction misses, a stuck sensor's flat-line above all.
    Each member's squared point errors are divided by their training mean at
    the same position of the window and channel (window edges reconstruct
    worse); a point's value is half that plus half its channel's mean in the
    window, and the members are added after standardising each by the mean
    and standard deviation of its training step scores. The score of a step
    is the mean of those values over the windows that cover it, averaged over
    channels, so an anomaly scores at the steps where it is and the inside of
    a long event is not missed. A window's score is the mean over its points.
    See :mod:`latentlab.apps.timeseries` and docs/timeseries.md.

    Parameters
    ----------
    window : int or None, default=None
        Window length; None takes the dominant period of the training series
        (the highest autocorrelation peak), else 16, within ``[4, 128]``.
    normalisation : {'auto', 'raw', 'centre', 'standard', 'heldout'}, default='auto'
        Windows of the PCA member (and of the autoencoder when
        ``ae_normalisation=None``). 'raw' keeps the level, 'centre' removes
        each window's mean (robust to level drift), 'standard' also divides
        by its spread. 'auto' takes 'centre' when a channel of the training
        series keeps a unit root
        (:func:`latentlab.apps.timeseries.level_drifts`), else 'raw'.
        'heldout' fits autoencoders on 'raw' and 'centre' windows of the first
        75% of the training windows and keeps the one that raises fewer false
        alarms (scores above the 99th percentile of its own training scores)
        on the last 25%.
    ae_normalisation : {'raw', 'centre', 'standard'} or None, default='centre'
        Windows of the autoencoder; None uses ``normalisation``'s choice.
    pca_weight : float >= 0, default=1.0
        Weight of the PCA member in the score; 0 scores with the autoencoder alone.
    pca_variance : float in (0, 1), default=0.9
        The PCA member keeps the fewest components explaining this share of
        the variance of the training windows.
    recurrent_weight : float >= 0, default=1.0
        Weight of the recurrent member: a ``seq_ae`` with one LSTM layer of
        ``recurrent_hidden`` units and ``latent_dim`` codes, on the
        autoencoder's windows (Adam at 1e-3, batches of 64, at least 30
        epochs and 1,000 updates). 0 leaves it out.
    recurrent_hidden : int, default=32
        Width of the recurrent member's LSTM.
    recurrent_epochs : int or None, default=None
        Epochs of the recurrent member; None takes the rule above.
    spread_weight : float >= 0, default=0.5
        Weight of the spread member. A window's spread is the standard
        deviation of its first differences, per channel; its error is the
        squared z-score of the log spread against the training windows,
        given evenly to the points of a window flatter than normal and, in a
        wilder one, by each point's part in the differences (so a spike
        scores at its own steps). 0 leaves it out; windows shorter than 3
        steps have no spread, and then it is left out too.
    contamination : float in (0, 0.5), default=0.01
        The threshold is the ``1 - contamination`` quantile of the training
        steps' scores.
    family, latent_dim, architecture, hidden, epochs, batch_size, lr, model_params, train_params, random_state, verbose :
        As in :class:`~latentlab.AutoencoderTransformer`: any registered
        family ('ae' with ``architecture='mlp'`` by default, 'conv' for a 1-D
        convolutional autoencoder over the window, 'seq_ae' or 'seq_vae').
        The defaults were chosen on the development series of
        ``benchmarks/timeseries.py`` (see docs/timeseries.md).

    Attributes
    ----------
    window_ : int
    normalisation_ : str
        The normalisation of the PCA member ('auto' resolved).
    ae_normalisation_ : str
        The normalisation of the autoencoder's windows.
    n_components_ : int
        Components of the PCA member (0 when ``pca_weight=0``).
    recurrent_ : model or None
        The recurrent member (None when ``recurrent_weight=0``).
    spread_mean_, spread_scale_ : ndarray of shape (n_features,) or None
        Mean and standard deviation of the training windows' log spread per
        channel (None when the spread member is left out).
    threshold_ : float
        Step scores above it are anomalies (``predict`` gives 1).
    decision_scores_ : ndarray of shape (n_steps,)
        Step scores of the training series.
    n_features_in_ : int
        Number of channels.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> t = np.arange(600)
    >>> x = np.sin(2 * np.pi * t / 20) + 0.05 * np.random.default_rng(0).standard_normal(600)
    >>> det = latentlab.SeriesAnomalyDetector(epochs=2, hidden=(8,), recurrent_epochs=2, recurrent_hidden=8)
    >>> det = det.fit(x[:400])  # small and short for a quick example; the defaults are tuned
    >>> det.window_  # the period of the series
    20
    >>> y = x[400:].copy(); y[100] += 3.0  # a spike
    >>> det.anomaly_score(y).shape  # a score per step
    (200,)
    >>> set(det.predict(y).tolist()) <= {0, 1}  # 1 marks an anomaly
    True
    """

    param_specs = {
        **COMMON_PARAMS,
        "architecture": Param(str, choices=("mlp", "conv", "seq")),
        "window": Param(int, low=2, high=SIZE.high, also=(None,)),
        "normalisation": Param(str, choices=("auto", "heldout", *ts.NORMALISATIONS)),
        "contamination": Param(float, low=0, high=0.5, closed="neither"),
        "ae_normalisation": Param(str, choices=tuple(ts.NORMALISATIONS), also=(None,)),
        "pca_weight": Param(float, low=0),
        "pca_variance": Param(float, low=0, high=1, closed="neither"),
        "recurrent_weight": Param(float, low=0),
        "recurrent_hidden": SIZE,
        "recurrent_epochs": Param(int, low=1, high=SIZE.high, also=(None,)),
        "spread_weight": Param(float, low=0),
    }

    def __init__(
        self,
        window: int | None = None,
        normalisation: str = "auto",
        contamination: float = 0.01,
        ae_normalisation: str | None = "centre",
        pca_weight: float = 1.0,
        pca_variance: float = 0.9,
        recurrent_weight: float = 1.0,
        recurrent_hidden: int = 32,
        recurrent_epochs: int | None = None,
        spread_weight: float = 0.5,
        family: str = "ae",
        latent_dim: int = 8,
        architecture: str = "mlp",
        hidden: tuple[int, ...] = (64, 64),
        epochs: int = 120,
        batch_size: int = 64,
        lr: float = 2e-3,
        model_params: dict | None = None,
        train_params: dict | None = None,
        random_state: int | None = 0,
        verbose: bool = False,
    ):
        self.window = window
        self.normalisation = normalisation
        self.contamination = contamination
        self.ae_normalisation = ae_normalisation
        self.pca_weight = pca_weight
        self.pca_variance = pca_variance
        self.recurrent_weight = recurrent_weight
        self.recurrent_hidden = recurrent_hidden
        self.recurrent_epochs = recurrent_epochs
        self.spread_weight = spread_weight
        self.family = family
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.model_params = model_params
        self.train_params = train_params
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ input
    def _values(self, series, *, reset: bool) -> tuple[np.ndarray, object]:
        """``(T, F)`` float64 values and the index to put on outputs (None for arrays)."""
        index = None
        names = None
        if hasattr(series, "index") and hasattr(series, "to_numpy"):
            index = series.index
            if not (index.is_monotonic_increasing and index.is_unique):
                what = "duplicated" if not index.is_unique else "out of order"
                raise DataError(f"the series' timestamps are {what}; sort the rows by time and drop duplicates.")
            names = list(series.columns) if hasattr(series, "columns") else [series.name]
        x = ts.as_series_array(series)
        if reset:
            self.n_features_in_ = x.shape[1]
            if names is not None and all(isinstance(n, str) for n in names):
                self.feature_names_in_ = np.asarray(names, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif x.shape[1] != self.n_features_in_:
            raise DataError(
                f"the series has {x.shape[1]} channel(s); this detector was fitted on {self.n_features_in_}. "
                "Pass the same channels, in the same order."
            )
        return x, index

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        """Values in training standard deviations from the training mean, clipped at ``SCALED_LIMIT``."""
        with np.errstate(over="ignore", invalid="ignore"):
            xs = (x - self.center_) / self.scale_
            far = np.isinf(xs)  # x - center overflowed (values near 1e308 of both signs): divide first
            if far.any():
                xs = np.where(far, x / self.scale_ - self.center_ / self.scale_, xs)
        return np.clip(xs, -SCALED_LIMIT, SCALED_LIMIT)  # NaN stays NaN

    # ------------------------------------------------------------------ model
    def _layout(self, Z: np.ndarray, seq: bool = False) -> np.ndarray:
        """Normalised windows ``(n, w, F)`` in the model's input layout (``seq``: the sequence layout of the
        recurrent member), missing points at 0 (masked)."""
        Z = np.nan_to_num(Z).astype(np.float32)
        if seq or self.architecture == "seq" or self.family.startswith("seq"):
            return Z
        return np.ascontiguousarray(Z.transpose(0, 2, 1)).reshape(len(Z), -1)  # (n, F * w)

    def _model_config(self, n_features: int) -> dict:
        cfg = super()._model_config(n_features)
        if self.family.startswith("seq"):
            cfg["architecture"] = "seq"
        elif self.architecture == "conv":
            cfg["image_shape"] = (n_features, int(self.window_), 1)  # a 1-D conv over time, channels as channels
        return {"scaling": "none", **cfg}

    def _fit_windows(self, Z: np.ndarray, model=None, opts: dict | None = None, seq: bool = False):
        """Train one model (by default the autoencoder member) on normalised windows ``Z`` (n, w, F);
        missing points are masked out of the loss."""
        model = self._build(Z.shape[2]) if model is None else model
        opts = self._train_options(len(Z)) if opts is None else opts
        observed = np.isfinite(Z)
        X = self._layout(Z, seq)
        if observed.all() or model.allows_nan:
            model.fit(X if observed.all() else Z.astype(np.float32), **opts)
        else:
            mask = self._layout(observed.astype(np.float64), seq)
            from ..data.scaling import Scaler

            model.config = model.config.replace(input_shape=tuple(X.shape[1:]))
            model.scaler = Scaler(model.config.scaling).fit(X)
            fit_model(model, ArrayInput(X, mask=mask), TrainConfig.from_kwargs(**opts))
        model.row_invariant = True  # a window's error never depends on the windows it is scored with
        return model

    # ------------------------------------------------------------------ fit
    def fit(self, series, y=None):
        """Train on ``series`` (``(T,)``, ``(T, F)``, a pandas Series or DataFrame), assumed mostly normal."""
        self._check_params()
        x, _ = self._values(series, reset=True)
        center, scale = ts.channel_moments(x)  # finite for any finite values, 1e-300 or 1e300
        for j in range(x.shape[1]):
            name = self.feature_names_in_[j] if hasattr(self, "feature_names_in_") else j
            seen = int(np.isfinite(x[:, j]).sum())
            if not seen:
                raise DataError(f"channel {name!r} is all missing (NaN); drop it or pass data for it.")
            if seen < MIN_OBSERVED * len(x):
                raise DataError(
                    f"channel {name!r} is observed at {seen} of {len(x)} steps ({seen / len(x):.1%}); the detector "
                    f"needs at least {MIN_OBSERVED:.0%} of each channel's training steps observed to learn its "
                    "windows. Drop the channel, or fit on a stretch where it was recorded."
                )
            if scale[j] <= 1e-12 * np.nanmax(np.abs(x[:, j])):  # relative: a series of 1e-250s varies too
                raise DataError(f"channel {name!r} is constant; there is nothing to learn from it. Drop it.")
        self.center_, self.scale_ = center, scale
        xs = self._scaled(x)
        self.window_ = int(self.window) if self.window is not None else ts.choose_window(xs)
        if len(x) < 2 * self.window_:
            raise DataError(
                f"the series has {len(x)} steps, fewer than twice the window of {self.window_}; "
                "pass a longer series or a smaller window=."
            )
        W = ts.sliding_windows(xs, self.window_)
        how = self.normalisation
        if how == "auto":
            how = "centre" if ts.level_drifts(xs) else "raw"
        elif how == "heldout":
            how = self._choose_normalisation(W)
        self.normalisation_ = how
        self.ae_normalisation_ = self.ae_normalisation or how
        Z = ts.normalise_windows(W, self.ae_normalisation_)  # the autoencoder's windows, and the recurrent member's
        self.model_ = self._fit_windows(Z)
        self.history_ = list(self.model_.history)
        self.n_components_ = 0
        if self.pca_weight > 0:
            self._fit_pca(W)
        self.recurrent_ = None
        if self.recurrent_weight > 0:
            self.recurrent_ = self._fit_recurrent(Z)
        self.spread_mean_ = self.spread_scale_ = None
        if self.spread_weight > 0 and self.window_ >= SPREAD_MIN_WINDOW:
            self._fit_spread(W)  # left out (None) when no training window has two observed differences
        self.position_scale_, self.member_center_, self.member_scale_ = [], [], []
        member_errors = self._member_errors(W)  # reconstructed once: for the standardisation and the scores
        for E in member_errors:  # each member's standardisation, from its training step scores
            ref = self._position_scale(E)
            s = self._combine(ts.step_means(self._mix(E, ref), 0, len(xs)))
            self.position_scale_.append(ref)
            self.member_center_.append(float(np.nanmean(s)))
            self.member_scale_.append(max(float(np.nanstd(s)), 1e-12))
        self.decision_scores_ = self._combine(ts.step_means(self._standardised_sum(member_errors), 0, len(xs)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all NaN: refused just below
            self.threshold_ = float(np.nanquantile(self.decision_scores_, 1.0 - float(self.contamination)))
        if not np.isfinite(self.threshold_) or not np.isfinite(self.member_center_ + self.member_scale_).all():
            raise DataError("the training series leaves no step with a score (too few observed points in its "
                            "windows); pass a denser series or a longer window=.")
        self.reset_stream()
        return self

    # ------------------------------------------------------------------ scores
    def _step_scores(self, xs: np.ndarray) -> np.ndarray:
        E = self._errors(ts.sliding_windows(xs, self.window_))
        return ts.step_means(E, 0, len(xs))  # (T, F)

    def _combine(self, per: np.ndarray) -> np.ndarray:
        """Channel scores ``(T, F)`` -> step scores: their mean over the channels that were observed."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(per, axis=1)

    def _prepare(self, series) -> tuple[np.ndarray, object]:
        self._check_fitted()
        x, index = self._values(series, reset=False)
        if len(x) < self.window_:
            raise DataError(f"the series has {len(x)} steps, fewer than the window of {self.window_}; pass a longer one.")
        return self._scaled(x), index

    @staticmethod
    def _wrap(values, index, name: str, columns=None):
        if index is None:
            return values
        import pandas as pd

        if values.ndim == 2:
            return pd.DataFrame(values, index=index, columns=columns)
        return pd.Series(values, index=index, name=name)

    def channel_scores(self, series):
        """Per-step, per-channel scores ``(T, F)``: which channel is anomalous."""
        xs, index = self._prepare(series)
        cols = list(self.feature_names_in_) if hasattr(self, "feature_names_in_") else None
        return self._wrap(self._step_scores(xs), index, "score", cols)

    def anomaly_score(self, series):
        """Per-step anomaly scores ``(T,)``, larger = more anomalous; NaN at steps with every value missing."""
        xs, index = self._prepare(series)
        return self._wrap(self._combine(self._step_scores(xs)), index, "score")

    def window_scores(self, series):
        """Mean of each window's point values ``(T - window + 1,)`` (see the class), indexed by its first step."""
        xs, index = self._prepare(series)
        E = self._errors(ts.sliding_windows(xs, self.window_))
        return self._wrap(ts.window_error_means(E), None if index is None else index[: len(E)], "window_score")

    def predict(self, series):
        """Per-step labels: 1 where the score exceeds ``threshold_``, else 0."""
        s = self.anomaly_score(series)
        out = (np.nan_to_num(np.asarray(s, dtype=np.float64), nan=-np.inf) > self.threshold_).astype(int)
        return self._wrap(out, getattr(s, "index", None), "anomaly")
