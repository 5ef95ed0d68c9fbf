"""``AutoencoderImputer``: fill missing values with a denoising autoencoder, stacked with classical imputers."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from ..config import SIZE, Param
from ..data.scaling import Scaler
from ..errors import DataError
from ..models.fitting import ArrayInput, fit_model
from ..training.options import TrainConfig
from ._base import COMMON_PARAMS, AutoencoderEstimatorMixin, check_array
from ._impute_parts import PARTNER_SETS, Partner, held_out_cells, imputer_sizes, partner_names, stack_weights

#: Above this many training rows, the partners are fitted on a seeded subsample of this many rows.
MAX_PARTNER_ROWS = 10_000


class AutoencoderImputer(TransformerMixin, AutoencoderEstimatorMixin, BaseEstimator):
    """Impute NaNs with a denoising autoencoder trained on incomplete data, stacked with classical imputers.

    The autoencoder sees the data standardised, with missing entries at the
    column mean (0 after scaling), and two things teach it to fill in:

    - a *masked loss*: missing entries are left out of the reconstruction
      likelihood (``Batch.mask``), so the model is never asked to reproduce
      the placeholder;
    - *masking noise*: a further fraction ``mask_rate`` of the observed
      entries is hidden from the encoder at each step while the loss still
      scores them, so the model learns to predict hidden values from the rest.

    ``transform`` refines the missing entries through the decoder: start from
    the column means, reconstruct, put the decoder's values into the missing
    entries only, and repeat ``max_iter`` times.

    With ``partners`` (by default, up to 100 columns, a chained Bayesian ridge
    imputer (MICE), a 5-nearest-neighbours fill and a chained extra-trees
    imputer (MissForest-style), all scikit-learn's; MICE and the k-NN fill on
    wider tables), each imputer fills the gaps on its own and
    the fills are averaged with weights learned on the training data: before
    fitting, ``held_out`` of the observed training cells are hidden from every
    imputer, and the weights are the non-negative least-squares fit of the
    imputers' values for those cells to their true values (each column divided
    by its spread; scaled to sum to 1). The partners are then fitted again on
    every cell; the autoencoder keeps the training it had without the hidden
    cells. The weights are in ``weights_``; ``partners='none'`` leaves the
    autoencoder alone. On the tuning half of ``benchmarks/impute.py`` (ADBench
    tables and MNIST-like images, 20% of the cells missing at random or not)
    these defaults rank first by RMSE when cells are missing at random and
    second, behind a MissForest-style imputer, when not (``docs/daily-use.md``).

    Every fill stays within its column's observed training range (a column
    that never varies in training is filled with its constant), and observed
    entries are never changed. A column with no observed value in the training
    data is refused (:class:`~latentlab.DataError` naming it): there is nothing
    to learn its values from. scikit-learn's ``SimpleImputer`` drops such
    columns with a warning, which changes the output's width under the user's
    feet; leaving them NaN would hand the NaNs to the next step. Dropping them
    is the user's call, made once, before ``fit``.

    Training runs every epoch on every sample (no validation split, no early
    stopping) unless ``train_params`` says otherwise: the validation loss
    measures plain reconstruction, not filling in, so it stops too soon.

    Parameters
    ----------
    latent_dim, hidden, epochs : int, tuple or 'auto', default='auto'
        Sizes of the autoencoder; ``'auto'`` follows
        :func:`~latentlab.estimators._impute_parts.imputer_sizes` (two hidden
        layers of 64 to 512 units, about 2,000 optimiser steps).
    mask_rate : float in [0, 1), default=0.3
        Fraction of entries hidden by the masking noise while training.
    max_iter : int, default=2
        Refinement passes through the decoder.
    partners : {'auto', 'linear+knn+trees', 'linear+knn', 'linear', 'knn', 'trees', 'none'}, default='auto'
        The classical imputers stacked with the autoencoder: ``'linear'``
        (``IterativeImputer(BayesianRidge(), max_iter=10)``, each column from
        its 40 most correlated columns on wider tables), ``'knn'``
        (``KNNImputer(n_neighbors=5)``), ``'trees'``
        (``IterativeImputer(ExtraTreesRegressor(n_estimators=20,
        min_samples_leaf=2), max_iter=5)``, the same 40 columns); ``'auto'`` is
        ``'linear+knn+trees'`` up to 100 columns and ``'linear+knn'`` above. Above 10,000 training rows they are
        fitted on a seeded subsample of 10,000 rows.
    held_out : float in (0, 0.5), default=0.1
        Fraction of the observed training cells hidden to learn the weights.
    family, architecture, batch_size, lr, model_params, train_params, random_state, verbose :
        As in :class:`~latentlab.AutoencoderTransformer`.

    Attributes
    ----------
    model_ : LatentModel
    history_ : list of dict
    sizes_ : dict
        The ``latent_dim``, ``hidden`` and ``epochs`` used.
    n_iter_ : int
        Refinement passes ``transform`` makes (``max_iter``).
    statistics_ : ndarray of shape (n_features,)
        Column means of the training data (the autoencoder's starting fill).
    data_min_, data_max_ : ndarray of shape (n_features,)
        Each column's observed training range; every fill lies within it.
    components_ : tuple of str
        ``'autoencoder'`` and the partners, in the order of ``weights_``' columns.
    weights_ : ndarray of shape (n_components,)
        The weights of the components' fills (non-negative, summing to 1).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X, _ = latentlab.load_digits()
    >>> X_missing = X.copy(); X_missing[::3, 10] = np.nan
    >>> imp = latentlab.AutoencoderImputer(epochs=3, partners="knn").fit(X_missing)
    >>> bool(np.isnan(imp.transform(X_missing)).any())
    False
    >>> imp.components_, imp.weights_.shape  # the weights of the autoencoder's and the k-NN fills
    (('autoencoder', 'knn'), (2,))
    """

    param_specs = {
        **COMMON_PARAMS,
        "latent_dim": Param(int, low=1, high=SIZE.high, also=("auto",)),
        "hidden": Param(tuple, low=1, high=SIZE.high, also=("auto",)),
        "epochs": Param(int, low=1, high=SIZE.high, also=("auto",)),
        "mask_rate": Param(float, low=0, high=1, closed="left"),
        "max_iter": SIZE,
        "partners": Param(str, choices=tuple(PARTNER_SETS)),
        "held_out": Param(float, low=0, high=0.5, closed="neither"),
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
        mask_rate: float = 0.3,
        max_iter: int = 2,
        partners: str = "auto",
        held_out: float = 0.1,
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
        self.partners = partners
        self.held_out = held_out

    def _model_config(self, n_features: int) -> dict:
        cfg = dict(latent_dim=self.sizes_["latent_dim"], architecture=self.architecture, hidden=self.sizes_["hidden"])
        cfg = {"scaling": "standard", "likelihood": "gaussian", **cfg, **(self.model_params or {})}
        if self.mask_rate > 0:
            cfg.setdefault("noise", "masking")
            cfg.setdefault("noise_level", float(self.mask_rate))
        return cfg

    def _resolve_sizes(self, n: int, d: int) -> dict[str, Any]:
        auto = imputer_sizes(n, d)
        given = {"latent_dim": self.latent_dim, "hidden": self.hidden, "epochs": self.epochs}
        sizes = {k: (auto[k] if isinstance(v, str) else v) for k, v in given.items()}
        return {"latent_dim": int(sizes["latent_dim"]), "hidden": tuple(int(h) for h in sizes["hidden"]),
                "epochs": int(sizes["epochs"])}

    def fit(self, X, y=None):
        """Train on ``X``, which may hold NaNs (missing entries)."""
        self._check_params()
        X = check_array(self, X, reset=True, allow_nan=True).astype(np.float64)
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
        # Its own stream (not default_rng(seed), which a user may have drawn the gaps with).
        rng = np.random.default_rng(None if self.random_state is None else [int(self.random_state), 1])
        partner_seed = int(self.random_state) if self.random_state is not None else int(rng.integers(2**31 - 1))
        names = partner_names(self.partners, d)
        held = held_out_cells(observed, float(self.held_out), rng) if names else np.zeros_like(observed)
        X_seen = np.where(held, np.nan, X)  # what the autoencoder is trained on, and the partners first fitted on
        self.sizes_ = self._resolve_sizes(n, d)
        self.statistics_ = np.nanmean(X, axis=0)
        self.data_min_, self.data_max_ = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
        self.model_ = self._fit_autoencoder(X, X_seen, observed & ~held)
        self.history_ = list(self.model_.history)
        self.n_iter_ = int(self.max_iter)
        self.components_ = ("autoencoder", *names)
        rows = np.arange(n)
        if n > MAX_PARTNER_ROWS:
            rows = np.sort(rng.choice(n, size=MAX_PARTNER_ROWS, replace=False))
        self.weights_ = np.full(len(self.components_), 1.0 / len(self.components_))  # no held-out cell: equal
        if held.any():
            # The weights: every imputer fills cells it never saw; then the partners are fitted on every cell.
            self.partners_ = [Partner(name, X_seen[rows], partner_seed) for name in names]
            gappy = np.flatnonzero(held.any(axis=1))
            cells = np.nonzero(held[gappy])
            fills = [f[cells] for f in self._component_fills(X_seen[gappy], observed[gappy] & ~held[gappy])]
            spread = np.nanstd(X, axis=0)
            scale = np.where(spread > 0, spread, 1.0)[cells[1]]
            self.weights_ = stack_weights(np.column_stack(fills), X[gappy][cells], scale)
        self.partners_ = [Partner(name, X[rows], partner_seed) for name in names]
        return self

    def _fit_autoencoder(self, X: np.ndarray, X_seen: np.ndarray, seen: np.ndarray):
        # Validation loss scores plain reconstruction, not filling in: early stopping on it
        # stops too soon, so by default every sample trains for every epoch.
        defaults = {"validation_split": 0.0, "patience": None, "restore_best": False}
        opts = {**self._train_options(len(X_seen), epochs=self.sizes_["epochs"]),
                **{k: v for k, v in defaults.items() if k not in (self.train_params or {})}}
        model = self._build(X_seen.shape[1])  # built by the fit path, after seeding
        model.scaler = Scaler(model.config.scaling).fit(X)  # NaN-aware statistics of every observed cell
        filled = np.where(seen, X_seen, self.statistics_[None, :]).astype(np.float32)
        fit_model(model, ArrayInput(filled, mask=seen), TrainConfig.from_kwargs(**opts))
        model.row_invariant = True  # a row's filled values never depend on the rows it shares a call with
        return model

    def _autoencoder_fill(self, X: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """The decoder's values after ``n_iter_`` passes from the column means (scaled back), float64."""
        model = self.model_
        start = np.where(observed, X, self.statistics_[None, :]).astype(np.float32)
        x = torch.from_numpy(model.scaler.transform(start))
        miss = torch.from_numpy(~observed)
        for _ in range(self.n_iter_):
            r = model.run_batched(model.forward, x)  # (N, D) decoder means, scaled space
            x = torch.where(miss, r, x)
        return model.scaler.inverse_transform(x.numpy()).astype(np.float64)

    def _component_fills(self, X: np.ndarray, observed: np.ndarray) -> list[np.ndarray]:
        """Each component's fill of ``X`` (every row holding a gap), ``(N, D)`` each, float64."""
        return [self._autoencoder_fill(X, observed)] + [p(X) for p in self.partners_]

    def transform(self, X) -> np.ndarray:
        """``X`` with every NaN replaced; observed entries are returned unchanged."""
        self._check_fitted()
        X = check_array(self, X, reset=False, allow_nan=True).astype(np.float64)
        observed = ~np.isnan(X)
        rows = np.flatnonzero(~observed.all(axis=1))
        if len(rows) == 0:
            return X
        Xr, obs = X[rows], observed[rows]
        mixed = sum(w * f for w, f in zip(self.weights_, self._component_fills(Xr, obs), strict=True))  # (R, D)
        mixed = np.clip(mixed, self.data_min_, self.data_max_)
        out = X.copy()
        out[rows] = np.where(obs, Xr, mixed)
        return out

    # ------------------------------------------------------------------ files
    saved_format = "latentlab-imputer"

    def _saved_state(self):
        from ._impute_files import saved_state

        return saved_state(self)

    def _restore_state(self, scalars: dict, arrays: dict, models: dict) -> None:
        from ._impute_files import restore_state

        restore_state(self, scalars, arrays, models)

    @classmethod
    def _upgrade_document(cls, doc: dict) -> dict:
        from ._impute_files import upgrade_document

        return upgrade_document(doc)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags
