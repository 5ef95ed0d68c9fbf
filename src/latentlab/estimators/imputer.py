"""``AutoencoderImputer``: fill missing values through a denoising autoencoder."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from ..config import SIZE, Param
from ..data.scaling import Scaler
from ..errors import DataError
from ..models.fitting import ArrayInput, fit_model
from ..training.options import TrainConfig
from ._base import COMMON_PARAMS, AutoencoderEstimatorMixin, check_array


class AutoencoderImputer(TransformerMixin, AutoencoderEstimatorMixin, BaseEstimator):
    """Impute NaNs with an autoencoder trained on incomplete data.

    Training sees the data standardised, with missing entries at the column
    mean (0 after scaling), and two things teach the model to fill in:

    - a *masked loss*: missing entries are left out of the reconstruction
      likelihood (``Batch.mask``), so the model is never asked to reproduce
      the placeholder;
    - *masking noise*: a further fraction ``mask_rate`` of the observed
      entries is hidden from the encoder at each step while the loss still
      scores them, so the model learns to predict hidden values from the rest.

    A column with no observed value in the training data is refused
    (:class:`~latentlab.DataError` naming it): there is nothing to learn its
    values from. scikit-learn's ``SimpleImputer`` drops such columns with a
    warning, which changes the output's width under the user's feet; leaving
    them NaN would hand the NaNs to the next step. Dropping them is the
    user's call, made once, before ``fit``.

    ``transform`` then refines the missing entries iteratively: start from the
    column means, reconstruct, put the decoder's values into the missing
    entries only, and repeat ``max_iter`` times. Observed entries are never
    changed.

    Training runs every epoch on every sample (no validation split, no early
    stopping) unless ``train_params`` says otherwise: the validation loss
    measures plain reconstruction, not filling in, so it stops too soon.

    Parameters
    ----------
    mask_rate : float in [0, 1), default=0.3
        Fraction of entries hidden by the masking noise while training.
    max_iter : int, default=2
        Refinement passes through the decoder. On held-out digits with 20%
        missing, 2 passes give an RMSE about 2.5% below 1 pass, and more
        passes drift the other way (5 passes: about 3% above 1 pass): the model
        was trained to fill in from column-mean placeholders, which later
        passes replace with its own guesses.
    family, latent_dim, architecture, hidden, epochs, batch_size, lr, model_params, train_params, random_state, verbose :
        As in :class:`~latentlab.AutoencoderTransformer`.

    Attributes
    ----------
    model_ : LatentModel
    history_ : list of dict
    n_iter_ : int
        Refinement passes ``transform`` makes (``max_iter``).
    statistics_ : ndarray of shape (n_features,)
        Column means of the training data (the starting fill).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X, _ = latentlab.load_digits()
    >>> X_missing = X.copy(); X_missing[::3, 10] = np.nan
    >>> imp = latentlab.AutoencoderImputer(epochs=3, hidden=(32,)).fit(X_missing)
    >>> bool(np.isnan(imp.transform(X_missing)).any())
    False
    """

    param_specs = {
        **COMMON_PARAMS,
        "mask_rate": Param(float, low=0, high=1, closed="left"),
        "max_iter": SIZE,
    }

    def __init__(
        self,
        family: str = "ae",
        latent_dim: int = 32,
        architecture: str = "mlp",
        hidden: tuple[int, ...] = (512, 256),
        epochs: int = 200,
        batch_size: int = 64,
        lr: float = 2e-3,
        model_params: dict | None = None,
        train_params: dict | None = None,
        random_state: int | None = 0,
        verbose: bool = False,
        mask_rate: float = 0.3,
        max_iter: int = 2,
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
        self.mask_rate = mask_rate
        self.max_iter = max_iter

    def _model_config(self, n_features: int) -> dict:
        cfg = super()._model_config(n_features)
        cfg = {"scaling": "standard", "likelihood": "gaussian", **cfg}
        if self.mask_rate > 0:
            cfg.setdefault("noise", "masking")
            cfg.setdefault("noise_level", float(self.mask_rate))
        return cfg

    def fit(self, X, y=None):
        """Train on ``X``, which may hold NaNs (missing entries)."""
        self._check_params()
        X = check_array(self, X, reset=True, allow_nan=True).astype(np.float32)
        observed = ~np.isnan(X)
        n, d = X.shape
        empty = np.flatnonzero(~observed.any(axis=0))
        if len(empty):  # nothing to learn a column's values from: any fill would be invented
            names = getattr(self, "feature_names_in_", None)
            cols = [str(names[j]) if names is not None else int(j) for j in empty]
            raise DataError(
                f"{len(empty)} of {d} column(s) hold no observed value (all NaN): {cols[:10]}"
                f"{' ...' if len(cols) > 10 else ''}; an imputer can only invent values for them. Drop those "
                "columns before fitting (and before transform), or pass data where they were recorded."
            )
        # Validation loss scores plain reconstruction, not filling in: early stopping on it
        # stops too soon, so by default every sample trains for every epoch.
        defaults = {"validation_split": 0.0, "patience": None, "restore_best": False}
        opts = {**self._train_options(n), **{k: v for k, v in defaults.items() if k not in (self.train_params or {})}}
        model = self._build(d)  # built by the fit path, after seeding
        model.scaler = Scaler(model.config.scaling).fit(X)  # NaN-aware statistics
        counts = observed.sum(0)
        self.statistics_ = np.where(observed, X, 0).sum(0, dtype=np.float64) / np.maximum(counts, 1)
        filled = np.where(observed, X, self.statistics_[None, :].astype(np.float32))
        fit_model(model, ArrayInput(filled, mask=observed), TrainConfig.from_kwargs(**opts))
        model.row_invariant = True  # a row's filled values never depend on the rows it shares a call with
        self.model_ = model
        self.history_ = list(model.history)
        self.n_iter_ = int(self.max_iter)
        return self

    def _start(self, model, X: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """Scaled data with each missing entry at its column mean."""
        filled = np.where(observed, X, self.statistics_[None, :].astype(np.float32))
        return model.scaler.transform(filled)

    def transform(self, X) -> np.ndarray:
        """``X`` with every NaN replaced; observed entries are returned unchanged."""
        self._check_fitted()
        X = check_array(self, X, reset=False, allow_nan=True).astype(np.float32)
        observed = ~np.isnan(X)
        model = self.model_
        x = torch.from_numpy(self._start(model, X, observed))
        miss = torch.from_numpy(~observed)
        if miss.any():
            for _ in range(self.n_iter_):
                r = model.run_batched(model.forward, x)  # (N, D) decoder means, scaled space
                x = torch.where(miss, r, x)
        out = model.scaler.inverse_transform(x.numpy())
        return np.where(observed, X, out).astype(np.float64)

    # ------------------------------------------------------------------ files
    saved_format = "latentlab-imputer"

    def _saved_state(self):
        return {"n_iter": self.n_iter_}, {"statistics": self.statistics_}, {"model": self.model_}

    def _restore_state(self, scalars: dict, arrays: dict, models: dict) -> None:
        from ._persist import check_model_inputs, number, take

        check_model_inputs(models["model"], self.n_features_in_)
        self.statistics_ = take(arrays, "statistics", (self.n_features_in_,), np.float64)
        self.n_iter_ = number(scalars, "n_iter", int, low=1)
        self.model_ = models["model"]
        self.history_ = list(self.model_.history)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags
