"""``AutoencoderOutlierDetector``: anomaly scores from reconstruction error, latent density and a classical detector."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, OutlierMixin

from ..config import SIZE, Param
from ..models.api import INVARIANT_CHUNK, fixed_chunks
from ._base import COMMON_PARAMS, AutoencoderEstimatorMixin, check_array
from ._outlier_parts import PREPROCESSINGS, Forest, KnnDistance, fit_rows, make_preprocessor, standardise

# About this many optimiser steps for any table size (300 and 600 gave the same mean ROC-AUC on the
# development splits, 0.8120 and 0.8125, at half the time; docs/tabular_anomaly.md).
TARGET_STEPS, MAX_EPOCHS = 300, 50
#: Above this many training rows, the column transform, the autoencoders and the classical detector are fitted on a
#: seeded subsample of this many rows (a fit on 100,000 x 30 went from 164 to about 36 CPU s); the training scores,
#: threshold and labels still cover every row. Tables of at most this many rows are fitted on all of them, as before.
MAX_FIT_ROWS = 15_000


def tabular_sizes(n_samples: int, n_features: int) -> dict[str, Any]:
    """The sizes ``'auto'`` stands for, from the shape of the training data.

    - ``latent_dim`` = ``ceil(n_features / 4)``, clipped to [2, 16];
    - ``hidden`` = one layer of ``w`` units, ``w`` the power of two at or above
      ``2 * n_features`` clipped to [16, 128]; a second layer of ``w // 2``
      from 2,000 rows on;
    - ``epochs`` = enough for about 300 optimiser steps of 64 rows, clipped to
      [10, 50] (small tables take many short epochs, large ones few);
    - ``n_models`` = 1 below 2,000 rows, else 2.

    Examples
    --------
    >>> tabular_sizes(300, 30)
    {'latent_dim': 8, 'hidden': (64,), 'epochs': 50, 'n_models': 1}
    >>> tabular_sizes(5000, 64)
    {'latent_dim': 16, 'hidden': (128, 64), 'epochs': 10, 'n_models': 2}
    """
    n, d = int(n_samples), int(n_features)
    width = int(min(128, max(16, 2 ** math.ceil(math.log2(max(2 * d, 1))))))
    steps_per_epoch = max(1, math.ceil(0.9 * n / 64))
    return {
        "latent_dim": int(min(16, max(2, math.ceil(d / 4)))),
        "hidden": (width,) if n < 2000 else (width, width // 2),
        "epochs": int(min(MAX_EPOCHS, max(10, math.ceil(TARGET_STEPS / steps_per_epoch)))),
        "n_models": 1 if n < 2000 else 2,
    }


class AutoencoderOutlierDetector(OutlierMixin, AutoencoderEstimatorMixin, BaseEstimator):
    """Outlier detection with autoencoders, sized to the data, and a classical detector beside them.

    ``X`` is first transformed column by column (``preprocessing``: min-max
    scaling by default; a robust, power or quantile transform for skewed
    columns). The anomaly score of a sample then adds up standardised parts:

    - its reconstruction error, summed over features; with
      ``error_weighting='inverse'`` each feature's squared error is divided by
      its mean on the training data, so that a column the autoencoders cannot
      reconstruct even for normal rows does not drown the others;
    - with ``scoring='combined'`` (or ``'latent'``, alone), the mean distance of its code to the
      ``n_neighbors`` nearest training codes (a k-NN estimate of the latent
      density), weighted by ``latent_weight``;
    - with ``classical='knn+iforest'`` (the default) or ``'knn'``, the mean
      distance to the ``n_neighbors`` nearest training rows in the
      transformed input space, weighted by ``classical_weight`` (with
      ``classical='iforest'``, an IsolationForest score in its place);
    - with ``classical='knn+iforest'``, also an IsolationForest score
      (``isolation``), at the weight of the reconstruction part.

    The autoencoder parts are averaged over ``n_models`` autoencoders trained
    from different seeds. Each part is standardised by its median and spread
    on the training data (a training row's own copy is left out of the k-NN
    parts). Scores are deterministic: codes are posterior means, never random
    draws, and every row is computed in fixed-size chunks, so it does not
    depend on the rows it shares a call with.

    ``latent_dim``, ``hidden``, ``epochs`` and ``n_models`` default to
    ``'auto'``: sizes that follow the number of rows and features (the rule is
    :func:`tabular_sizes`; a 300 x 30 table gets one autoencoder of 64 hidden
    units and fits and scores in about 0.3 s of CPU time). The defaults were chosen on
    ADBench's tuning half together with the development splits of
    ``benchmarks/tabular_anomaly.py`` (``benchmarks/reports/adbench.md``,
    "Second round"): the input-space k-NN part carries most of the strength
    where anomalies sit between clusters; the isolation part repairs where it
    fails, anomalies with extreme values in a few columns (32_shuttle: 0.84 to
    0.97 ROC-AUC); the reconstruction part adds to both.

    Above ``MAX_FIT_ROWS`` (15,000) training rows, the column transform, the
    autoencoders and the classical detector are fitted on that many rows drawn
    by ``numpy.random.default_rng(random_state)``, which bounds the time and
    memory of a fit (100,000 x 30: about 35 CPU s on one thread, against 164 s
    on every row); ``decision_scores_``, ``threshold_`` and ``labels_`` still
    cover every row, and ``n_fit_rows_`` says how many were fitted on. A k-NN
    index of more than 10,000 rows is searched by brute force, in fixed-size
    chunks, instead of a k-d tree (see ``docs/tabular_anomaly.md``).

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
    scoring : {'reconstruction', 'combined', 'latent'}, default='reconstruction'
        Which autoencoder parts make up the score: reconstruction error,
        its sum with the latent part, or the latent part alone.
    n_models : int or 'auto', default='auto'
        Size of the seed ensemble (seeds ``random_state``, ``random_state + 1``...).
    n_neighbors : int, default=5
        Neighbours of the k-NN parts (latent and input space).
    latent_weight : float, default=1.0
        Weight of the latent part against the reconstruction part.
    preprocessing : {'minmax', 'standard', 'robust', 'power', 'quantile'}, default='minmax'
        Column transform fitted on the training data: min-max scaling to
        [0, 1], mean/std, median/IQR (robust to outlying training values),
        Yeo-Johnson power transform or normal quantiles (both against skewed
        columns).
    error_weighting : {'none', 'inverse'}, default='none'
        Per-feature weights of the reconstruction error.
    classical : {'knn+iforest', 'knn', 'iforest', 'none'}, default='knn+iforest'
        The classical detectors added to the autoencoder parts: k-NN distance
        with an isolation forest beside it, one of them, or none.
    classical_weight : float, default=4.0
        The weight of the k-NN part (of the isolation forest with
        ``classical='iforest'``) against the reconstruction part; the
        isolation part of ``'knn+iforest'`` has the reconstruction's weight, 1.
    latent_dim, hidden, epochs : int, tuple or 'auto', default='auto'
        Sizes of the autoencoders; ``'auto'`` follows :func:`tabular_sizes`.
    family, architecture, batch_size, lr, model_params, train_params, random_state, verbose :
        As in :class:`~latentlab.AutoencoderTransformer`.

    Attributes
    ----------
    model_ : LatentModel
        The first model of the ensemble; ``models_`` holds them all.
    sizes_ : dict
        The ``latent_dim``, ``hidden``, ``epochs`` and ``n_models`` used.
    preprocessor_ : scikit-learn transformer
        The fitted column transform.
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
    n_fit_rows_ : int
        The rows the parts were fitted on: every training row up to
        ``MAX_FIT_ROWS``, else ``MAX_FIT_ROWS``.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X, _ = latentlab.load_digits()
    >>> det = latentlab.AutoencoderOutlierDetector(epochs=2).fit(X[:500])  # 2 epochs: a quick example
    >>> det.sizes_  # the sizes left at 'auto' follow the data's shape
    {'latent_dim': 16, 'hidden': (128,), 'epochs': 2, 'n_models': 1}
    >>> sorted(set(det.predict(X).tolist()))  # +1 inlier, -1 outlier
    [-1, 1]
    >>> bool(np.mean(det.labels_) <= 0.11)  # the threshold flags ``contamination`` of the training rows
    True
    """

    param_specs = {
        **COMMON_PARAMS,
        "latent_dim": Param(int, low=1, high=SIZE.high, also=("auto",)),
        "hidden": Param(tuple, low=1, high=SIZE.high, also=("auto",)),
        "epochs": Param(int, low=1, high=SIZE.high, also=("auto",)),
        "contamination": Param(float, low=0, high=0.5, closed="right"),
        "scoring": Param(str, choices=("reconstruction", "combined", "latent")),
        "n_models": Param(int, low=1, high=SIZE.high, also=("auto",)),
        "n_neighbors": SIZE,
        "latent_weight": Param(float, low=0),
        "preprocessing": Param(str, choices=PREPROCESSINGS),
        "error_weighting": Param(str, choices=("none", "inverse")),
        "classical": Param(str, choices=("knn+iforest", "knn", "iforest", "none")),
        "classical_weight": Param(float, low=0),
    }

    def __init__(
        self,
        family: str = "ae",
        latent_dim: int | str = "auto",
        architecture: str = "mlp",
        hidden: tuple[int, ...] | str = "auto",
        epochs: int | str = "auto",
        batch_size: int = 64,
        lr: float = 2e-3,
        model_params: dict | None = None,
        train_params: dict | None = None,
        random_state: int | None = 0,
        verbose: bool = False,
        contamination: float = 0.1,
        scoring: str = "reconstruction",
        n_models: int | str = "auto",
        n_neighbors: int = 5,
        latent_weight: float = 1.0,
        preprocessing: str = "minmax",
        error_weighting: str = "none",
        classical: str = "knn+iforest",
        classical_weight: float = 4.0,
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
        self.preprocessing = preprocessing
        self.error_weighting = error_weighting
        self.classical = classical
        self.classical_weight = classical_weight

    # ------------------------------------------------------------------ sizes
    def _resolve_sizes(self, n_samples: int, n_features: int) -> dict[str, Any]:
        auto = tabular_sizes(n_samples, n_features)
        given = {"latent_dim": self.latent_dim, "hidden": self.hidden, "epochs": self.epochs, "n_models": self.n_models}
        sizes = {k: (auto[k] if isinstance(v, str) else v) for k, v in given.items()}
        sizes["hidden"] = tuple(int(h) for h in sizes["hidden"])
        return {k: (int(v) if k != "hidden" else v) for k, v in sizes.items()}

    def _model_config(self, n_features: int) -> dict[str, Any]:
        cfg = dict(latent_dim=self.sizes_["latent_dim"], architecture=self.architecture, hidden=self.sizes_["hidden"])
        cfg["scaling"] = "none"  # the column transform has already scaled the data
        cfg.update(self.model_params or {})
        return cfg

    def _train_options(self, n_samples: int) -> dict[str, Any]:
        return super()._train_options(n_samples, epochs=self.sizes_["epochs"])

    # -------------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Train the ensemble on ``X`` (assumed mostly normal) and set the threshold."""
        self._check_params()
        X = check_array(self, X, reset=True)
        X_all, X = X, fit_rows(X, MAX_FIT_ROWS, self.random_state)  # X: every row, or a subsample above the cap
        n, d = X.shape
        self.n_fit_rows_ = n
        self.sizes_ = self._resolve_sizes(n, d)
        self.preprocessor_ = make_preprocessor(self.preprocessing, n, self.random_state).fit(X)
        Xp = self._transform(X)
        self.models_ = [self._fit_model(Xp, seed_offset=i) for i in range(self.sizes_["n_models"])]
        self.model_ = self.models_[0]
        self.history_ = list(self.model_.history)
        self.classical_ = self.isolation_ = None
        if self.classical in ("knn", "knn+iforest"):
            self.classical_ = KnnDistance(Xp, self.n_neighbors)
        elif self.classical == "iforest":
            self.classical_ = Forest(Xp, self.random_state)
        if self.classical == "knn+iforest":
            self.isolation_ = Forest(Xp, self.random_state)
        parts = self._raw_parts(Xp, fitting=True, classical=X_all is X)
        if X_all is not X:  # scores of every training row (a subsample row's own copy is left out, as in fitting)
            parts = self._raw_parts(self._transform(X_all))
        self.part_stats_ = {name: standardise(v) for name, v in parts.items()}
        self.decision_scores_ = self._combine(parts)
        self.threshold_ = float(np.quantile(self.decision_scores_, 1.0 - float(self.contamination)))
        self.offset_ = -self.threshold_
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        lo, hi = float(self.decision_scores_.min()), float(self.decision_scores_.max())
        self._proba_range = (lo, hi if hi > lo else lo + 1.0)
        return self

    def _transform(self, X: np.ndarray) -> np.ndarray:
        """The column transform, as float32 (each value on its own: row-invariant), clipped at +-1e6 as
        infinities are: a value that far out is an outlier either way, and float32 would make 1e300 inf."""
        with np.errstate(over="ignore", invalid="ignore"):
            Xp = self.preprocessor_.transform(X)
        return np.clip(np.nan_to_num(Xp, nan=0.0), -1e6, 1e6).astype(np.float32)

    # ---------------------------------------------------------------- scoring
    @torch.no_grad()
    def _codes_and_errors(self, model, Xp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Codes and per-feature squared errors (model space) in fixed chunks, in float32."""
        model.eval()
        x = model.to_model_space(Xp)  # (N, D)

        def parts(xb):  # (C, D)
            z = model.posterior(xb).mean  # (C, L)
            return z, (model.decode_mean(z) - xb) ** 2  # (C, L), (C, D)

        with torch.inference_mode():
            codes, errs = fixed_chunks(parts, [x], chunk=INVARIANT_CHUNK)
        return codes.numpy(), errs.reshape(len(x), -1).numpy()

    def _raw_parts(self, Xp: np.ndarray, fitting: bool = False, classical: bool = True) -> dict[str, np.ndarray]:
        """Unstandardised parts; ``fitting`` also records the per-model k-NN indexes and error weights
        (``classical=False`` leaves the classical part out: a subsampled fit scores every row afterwards)."""
        if fitting:
            self.latent_index_, self.error_weights_ = [], []
        rec, lat = [], []
        for i, model in enumerate(self.models_):
            Z, E = self._codes_and_errors(model, Xp)
            if fitting:
                w = np.ones(E.shape[1])
                if self.error_weighting == "inverse":
                    mean_err = E.mean(0).astype(np.float64)
                    w = 1.0 / (mean_err + 0.05 * mean_err.mean() + 1e-12)
                    w = w / w.mean()
                self.error_weights_.append(w)
                if self.scoring != "reconstruction":
                    self.latent_index_.append(KnnDistance(Z, self.n_neighbors))
            if self.scoring != "latent":
                rec.append(E.astype(np.float64) @ self.error_weights_[i])
            if self.scoring != "reconstruction":
                lat.append(self.latent_index_[i](Z))
        parts: dict[str, np.ndarray] = {}
        if rec:
            parts["reconstruction"] = np.mean(rec, axis=0)
        if lat:
            parts["latent"] = np.mean(lat, axis=0)
        if self.classical_ is not None and classical:  # a k-NN distance or an isolation forest's score
            parts["classical"] = self.classical_(Xp)
        if getattr(self, "isolation_", None) is not None and classical:
            parts["isolation"] = self.isolation_(Xp)
        return parts

    def _combine(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        weights = {"reconstruction": 1.0, "latent": float(self.latent_weight), "classical": float(self.classical_weight),
                   "isolation": 1.0}
        if self.scoring == "latent":
            weights["latent"] = 1.0
        total = np.zeros(len(next(iter(parts.values()))))
        for name, v in parts.items():
            med, spread = self.part_stats_[name]
            total += weights[name] * (v - med) / spread
        return total

    def _anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        return self._combine(self._raw_parts(self._transform(X)))

    def score_samples(self, X) -> np.ndarray:
        """Opposite of the anomaly score: the lower, the more abnormal."""
        self._check_fitted()
        X = check_array(self, X, reset=False)
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

    # ------------------------------------------------------------------ files
    saved_format = "latentlab-outlier-detector"

    def _saved_state(self):
        from ._outlier_files import saved_state

        return saved_state(self)

    def _restore_state(self, scalars: dict, arrays: dict, models: dict) -> None:
        from ._outlier_files import restore_state

        restore_state(self, scalars, arrays, models)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
