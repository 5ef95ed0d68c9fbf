"""``SeriesAnomalyDetector``: anomaly scores for every step of a long series, in batch or as points arrive.

The detector resolves the window and the normalisation, fits its members
(:data:`.members.MEMBERS`) on the training windows, and lets the scorer
(:class:`.scorer.Scorer`) learn how to make their errors comparable; the
saved folder is written and read by ``_files``, the stream is
:class:`.stream.SeriesStream`.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator

from ...apps import periods
from ...apps import timeseries as ts
from ...config import SIZE, Param
from ...errors import DataError
from .._base import COMMON_PARAMS, AutoencoderEstimatorMixin, EstimatorNotFittedError
from . import _files, _inputs, members
from .autoencoder import choose_normalisation
from .member import weight
from .scorer import Scorer, combine_channels
from .stream import SeriesStream


class SeriesAnomalyDetector(AutoencoderEstimatorMixin, BaseEstimator):
    """Anomaly detection on one long series (or a few channels) with an autoencoder on its windows.

    The series is scaled per channel (training mean and standard deviation)
    and cut into windows of ``window`` steps (stride 1). Members score each
    window (:mod:`latentlab.estimators.series.members`); by default four: an
    autoencoder trained on centred windows (their shape, ``ae_normalisation``),
    the Mahalanobis member (``mahalanobis_weight``: how unlikely the whole
    window is under a Gaussian of the training windows at ``normalisation``,
    so a level or a course the series never had counts), the polynomial member
    (``poly_weight``: what a straight line, ``poly_degree``, leaves of the
    window) and the spread member (``spread_weight``: how unusual the window's
    variability is, a stuck sensor's flat-line above all); PCA on windows
    (``pca_weight``) and a small LSTM autoencoder (``recurrent_weight``) can be
    added. Each member's squared point errors are divided by their training
    mean at the same position of the window and channel; a point's value is
    half that plus half its channel's mean in the window, and the members are
    added after standardising each by the mean and standard deviation of its
    training step scores (:mod:`~latentlab.estimators.series.scorer`). The
    score of a step is the mean of those values over the windows that cover
    it, averaged over channels. A window's score is the mean over its points.
    See docs/timeseries.md; :meth:`update` runs a
    :class:`~latentlab.estimators.series.stream.SeriesStream`.

    Parameters
    ----------
    window : int or None, default=None
        Window length; None takes whole periods of the training series (its
        strongest clear autocorrelation peak up to 300 steps; with a pandas
        ``DatetimeIndex``, a period near an hour, a day or a week is that one:
        288 steps for a day of 5-minute data), repeated to at least 64 steps,
        else 125 (TSB-AD's window without a period); repeats and the 125 stop
        at a sixteenth of the series (a short series keeps short windows). See
        :func:`latentlab.apps.timeseries.context_window`.
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
    pca_weight : float >= 0, default=0.0
        Weight of the PCA member (reconstruction error of the components).
    pca_variance : float in (0, 1), default=0.9
        The PCA member keeps the fewest components explaining this share of
        the variance of the training windows.
    recurrent_weight : float >= 0, default=0.0
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
    mahalanobis_weight, poly_weight : float >= 0, default=1.0
        Weights of the Mahalanobis and the polynomial members; 0 leaves one out.
    poly_degree : int >= 0, default=1
        Degree of the polynomial member's fit (0: the window's mean).
    contamination : float in (0, 0.5), default=0.01
        The threshold is the ``1 - contamination`` quantile of the training
        steps' scores.
    family, latent_dim, architecture, hidden, epochs, batch_size, lr, model_params, train_params, random_state, verbose :
        As in :class:`~latentlab.AutoencoderTransformer`: any registered
        family ('ae' with ``architecture='mlp'`` by default, 'conv' for a 1-D
        convolutional autoencoder over the window, 'seq_ae' or 'seq_vae').
        ``epochs`` is 30. The defaults were chosen on the tuning part of
        ``benchmarks/tsbad.py`` (see docs/timeseries.md).

    Attributes
    ----------
    window_ : int
    normalisation_ : str
        The normalisation of the PCA member ('auto' resolved).
    ae_normalisation_ : str
        The normalisation of the autoencoder's windows.
    scorer_ : Scorer
        The members in their order, each with its weight and the scaling
        learned from the training series (``scorer_.entries``).
    model_ : LatentModel
        The autoencoder member's network; ``history_`` its training history.
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
        Step scores of the training series (the Mahalanobis member's part as
        windows it was not fitted on get it; see ``Scorer.fit``).
    n_features_in_ : int
        Number of channels.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> t = np.arange(600)
    >>> x = np.sin(2 * np.pi * t / 20) + 0.05 * np.random.default_rng(0).standard_normal(600)
    >>> det = latentlab.SeriesAnomalyDetector(epochs=2, hidden=(8,))
    >>> det = det.fit(x[:400])  # small and short for a quick example; the defaults are tuned
    >>> det.window_  # the period: repeats toward 64 steps stop at a sixteenth of these 400 steps
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
        "mahalanobis_weight": Param(float, low=0),
        "poly_weight": Param(float, low=0),
        "poly_degree": Param(int, low=0, high=SIZE.high),
    }
    saved_format = _files.FORMAT

    def __init__(
        self,
        window: int | None = None,
        normalisation: str = "auto",
        contamination: float = 0.01,
        ae_normalisation: str | None = "centre",
        pca_weight: float = 0.0,
        pca_variance: float = 0.9,
        recurrent_weight: float = 0.0,
        recurrent_hidden: int = 32,
        recurrent_epochs: int | None = None,
        spread_weight: float = 0.5,
        mahalanobis_weight: float = 1.0,
        poly_weight: float = 1.0,
        poly_degree: int = 1,
        family: str = "ae",
        latent_dim: int = 8,
        architecture: str = "mlp",
        hidden: tuple[int, ...] = (64, 64),
        epochs: int = 30,
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
        self.mahalanobis_weight = mahalanobis_weight
        self.poly_weight = poly_weight
        self.poly_degree = poly_degree
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
        """``(T, F)`` float64 values and the index to put on outputs (None for arrays); see ``_inputs``."""
        return _inputs.values(self, series, reset=reset)

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        """Values in training standard deviations from the training mean, clipped at ``_inputs.SCALED_LIMIT``."""
        return _inputs.scaled(x, self.center_, self.scale_)

    def _model_config(self, n_features: int) -> dict:
        """The autoencoder member's network (see :class:`.autoencoder.AutoencoderMember`)."""
        cfg = super()._model_config(n_features)
        if self.family.startswith("seq"):
            cfg["architecture"] = "seq"
        elif self.architecture == "conv":
            cfg["image_shape"] = (n_features, int(self.window_), 1)  # a 1-D conv over time, channels as channels
        return {"scaling": "none", **cfg}

    # ------------------------------------------------------------------ fit
    def fit(self, series, y=None):
        """Train on ``series`` (``(T,)``, ``(T, F)``, a pandas Series or DataFrame), assumed mostly normal.

        A pandas ``DatetimeIndex`` gives the sampling interval to the choice of the window (see ``window``).
        """
        self._check_params()
        x, index = self._values(series, reset=True)
        center, scale = ts.channel_moments(x)  # finite for any finite values, 1e-300 or 1e300
        _inputs.check_channels(self, x, scale)
        self.center_, self.scale_ = center, scale
        xs = self._scaled(x)
        step = periods.sampling_interval(index)
        self.window_ = int(self.window) if self.window is not None else ts.context_window(xs, step=step)
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
            how, self.normalisation_scores_ = choose_normalisation(self, W)
        self.normalisation_ = how
        self.ae_normalisation_ = self.ae_normalisation or how
        fitted = []
        for cls in members.MEMBERS:  # in their order: each fitted before the next is built
            member = cls.build(self)
            if member is not None and member.fit(W):
                fitted.append((member, weight(cls, self)))
        self.scorer_, self.decision_scores_ = Scorer.fit(fitted, W, len(xs))
        auto = self.scorer_.member("autoencoder")
        self.model_ = None if auto is None else auto.model
        self.history_ = [] if auto is None else list(auto.model.history)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all NaN: refused just below
            self.threshold_ = float(np.nanquantile(self.decision_scores_, 1.0 - float(self.contamination)))
        scaling = [v for e in self.scorer_.entries for v in (e.center, e.scale)]
        if not np.isfinite(self.threshold_) or not np.isfinite(scaling).all():
            raise DataError("the training series leaves no step with a score (too few observed points in its "
                            "windows); pass a denser series or a longer window=.")
        self.reset_stream()
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "scorer_"):
            raise EstimatorNotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate arguments first."
            )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "scorer_")

    # ------------------------------------------------------------------ members
    def _member(self, name: str, attribute: str, absent=None):
        self._check_fitted()
        member = self.scorer_.member(name)
        return absent if member is None else getattr(member, attribute)

    n_components_ = property(lambda self: self._member("pca", "n_components", 0),
                             doc="Components of the PCA member (0 when it is left out).")
    recurrent_ = property(lambda self: self._member("recurrent", "model"),
                          doc="The recurrent member's network (None when it is left out).")
    spread_mean_ = property(lambda self: self._member("spread", "mean"),
                            doc="The spread member's mean training log spread per channel (None when left out).")
    spread_scale_ = property(lambda self: self._member("spread", "scale"),
                             doc="Its standard deviation per channel (None when the spread member is left out).")

    # ------------------------------------------------------------------ scores
    def _step_scores(self, xs: np.ndarray) -> np.ndarray:
        E = self.scorer_.errors(ts.sliding_windows(xs, self.window_))
        return ts.step_means(E, 0, len(xs))  # (T, F)

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
        return self._wrap(combine_channels(self._step_scores(xs)), index, "score")

    def window_scores(self, series):
        """Mean of each window's point values ``(T - window + 1,)`` (see the class), indexed by its first step."""
        xs, index = self._prepare(series)
        E = self.scorer_.errors(ts.sliding_windows(xs, self.window_))
        return self._wrap(ts.window_error_means(E), None if index is None else index[: len(E)], "window_score")

    def predict(self, series):
        """Per-step labels: 1 where the score exceeds ``threshold_``, else 0."""
        s = self.anomaly_score(series)
        out = (np.nan_to_num(np.asarray(s, dtype=np.float64), nan=-np.inf) > self.threshold_).astype(int)
        return self._wrap(out, getattr(s, "index", None), "anomaly")

    # ------------------------------------------------------------------ streaming
    def reset_stream(self) -> None:
        """Start a new stream: the next :meth:`update` is the series' first point."""
        self._stream = SeriesStream(self)

    def update(self, points) -> np.ndarray:
        """Score new points as they arrive; returns the scores of the steps that became final.

        A step's score is final once every window that covers it has arrived,
        ``window - 1`` points later; :meth:`flush` returns the rest at the end.
        The scores equal those of :meth:`anomaly_score` on the whole series.
        For several streams at once, use :class:`.stream.SeriesStream`.
        """
        if getattr(self, "_stream", None) is None:
            self.reset_stream()
        return self._stream.update(points)

    def flush(self) -> np.ndarray:
        """End the stream: the scores of its last ``window - 1`` steps (covered by fewer windows)."""
        if getattr(self, "_stream", None) is None:
            self.reset_stream()
        return self._stream.flush()

    # ------------------------------------------------------------------ files
    @classmethod
    def _upgrade_document(cls, doc: dict) -> dict:
        return _files.upgrade_document(doc)

    def _saved_state(self) -> tuple[dict, dict, dict]:
        return _files.saved_state(self)

    def _restore_state(self, scalars: dict, arrays: dict, models: dict) -> None:
        _files.restore_state(self, scalars, arrays, models)
