"""``AutoencoderOutlierDetector``: anomaly scores from reconstruction error and latent density."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..apps.anomaly import ScoreModel
from ._base import COMMON_CONSTRAINTS, AutoencoderEstimatorMixin, check_array


class AutoencoderOutlierDetector(OutlierMixin, AutoencoderEstimatorMixin, BaseEstimator):
    """Outlier detection with an ensemble of autoencoders.

    The anomaly score of a sample combines, over ``n_models`` autoencoders
    trained from different seeds, its reconstruction error (squared error in
    the model's scaled space) and, with ``scoring='combined'``, the mean
    distance of its code to the ``n_neighbors`` nearest training codes (a
    k-NN estimate of the latent density; a training sample's own code is left
    out). Each part is standardised by its median and spread on the training
    data, and the latent part is weighted by ``latent_weight`` before they are
    added. The defaults were chosen on the digits benchmark in
    ``benchmarks/anomaly.py``. Scores are
    deterministic: codes are posterior means, never random draws.

    It follows scikit-learn's outlier contract (``score_samples`` and
    ``decision_function`` are large for normal samples; ``predict`` gives +1
    for inliers and -1 for outliers; ``offset_``) and also exposes PyOD's
    names: ``decision_scores_`` (training anomaly scores, large = abnormal),
    ``threshold_``, ``labels_`` (0 / 1) and ``predict_proba``. The threshold
    is the ``1 - contamination`` quantile of the scores of the data given to
    ``fit``; it never sees test data.

    Parameters
    ----------
    contamination : float in (0, 0.5], default=0.1
        Expected fraction of outliers in the training data; sets the threshold.
    scoring : {'combined', 'reconstruction', 'latent'}, default='combined'
        Which parts make up the score.
    n_models : int, default=3
        Size of the seed ensemble (seeds ``random_state``, ``random_state + 1``...).
    n_neighbors : int, default=5
        Neighbours of the latent k-NN density.
    latent_weight : float, default=2.0
        Weight of the latent part against the reconstruction part.
    family, latent_dim, architecture, hidden, epochs, batch_size, lr, model_params, train_params, random_state, verbose :
        As in :class:`~latentlab.AutoencoderTransformer`.

    Attributes
    ----------
    model_ : LatentModel
        The first model of the ensemble; ``models_`` holds them all.
    history_ : list of dict
        Training history of ``model_``.
    offset_ : float
        ``decision_function = score_samples - offset_``.
    decision_scores_ : ndarray of shape (n_samples,)
        Anomaly scores of the training data (``-score_samples``).
    threshold_ : float
        ``-offset_``: anomaly scores above it are outliers.
    labels_ : ndarray of int
        0 for training inliers, 1 for training outliers.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X, _ = latentlab.load_digits()
    >>> det = latentlab.AutoencoderOutlierDetector(n_models=1, epochs=3, hidden=(32,), latent_dim=4).fit(X[:500])
    >>> det.predict(X[:5]).tolist()  # +1 inlier, -1 outlier
    [1, 1, 1, 1, 1]
    >>> bool(np.mean(det.labels_) <= 0.11)
    True
    """

    _parameter_constraints: dict = {
        **COMMON_CONSTRAINTS,
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "scoring": [StrOptions({"combined", "reconstruction", "latent"})],
        "n_models": [Interval(Integral, 1, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "latent_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        family: str = "ae",
        latent_dim: int = 16,
        architecture: str = "mlp",
        hidden: tuple[int, ...] = (128, 64),
        epochs: int = 100,
        batch_size: int = 64,
        lr: float = 2e-3,
        model_params: dict | None = None,
        train_params: dict | None = None,
        random_state: int | None = 0,
        verbose: bool = False,
        contamination: float = 0.1,
        scoring: str = "combined",
        n_models: int = 3,
        n_neighbors: int = 5,
        latent_weight: float = 2.0,
    ):
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
        self.contamination = contamination
        self.scoring = scoring
        self.n_models = n_models
        self.n_neighbors = n_neighbors
        self.latent_weight = latent_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the ensemble on ``X`` (assumed mostly normal) and set the threshold."""
        X = check_array(self, X, reset=True).astype(np.float32)
        self.models_ = []
        self.scorers_ = []
        for i in range(int(self.n_models)):
            model = self._fit_model(X, seed_offset=i)
            self.models_.append(model)
            self.scorers_.append(ScoreModel(model, self.scoring, self.n_neighbors, self.latent_weight).fit(X))
        self.model_ = self.models_[0]
        self.history_ = list(self.model_.history)
        self.decision_scores_ = self._anomaly_scores(X)
        self.threshold_ = float(np.quantile(self.decision_scores_, 1.0 - float(self.contamination)))
        self.offset_ = -self.threshold_
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        lo, hi = float(self.decision_scores_.min()), float(self.decision_scores_.max())
        self._proba_range = (lo, hi if hi > lo else lo + 1.0)
        return self

    def _anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        return np.mean([s.score(X) for s in self.scorers_], axis=0).astype(np.float64)

    def score_samples(self, X) -> np.ndarray:
        """Opposite of the anomaly score: the lower, the more abnormal."""
        self._check_fitted()
        X = check_array(self, X, reset=False).astype(np.float32)
        return -self._anomaly_scores(X)

    def decision_function(self, X) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """+1 for inliers, -1 for outliers."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def predict_proba(self, X) -> np.ndarray:
        """PyOD's 'linear' outlier probability: columns (inlier, outlier), from min-max scaled training scores."""
        scores = -self.score_samples(X)  # checks that it is fitted
        lo, hi = self._proba_range
        p = np.clip((scores - lo) / (hi - lo), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
