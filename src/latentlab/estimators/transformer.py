"""``AutoencoderTransformer``: an autoencoder as a drop-in replacement for PCA."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

from ._base import COMMON_PARAMS, AutoencoderEstimatorMixin, as_codes, check_array


class AutoencoderTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, AutoencoderEstimatorMixin, BaseEstimator
):
    """Reduce dimension with any latentlab family, the way ``PCA`` does.

    ``transform`` returns the deterministic code (the posterior mean) and
    ``inverse_transform`` the decoder's mean, both in the user's units, so the
    estimator fits in a :class:`~sklearn.pipeline.Pipeline` or a
    :class:`~sklearn.model_selection.GridSearchCV` wherever ``PCA`` does;
    the family and the architecture are parameters like any other.

    Parameters
    ----------
    family : str, default='ae'
        Any registered family (``latentlab.families()``).
    latent_dim : int, default=2
        Size of the code (``n_components`` in PCA's words).
    architecture : {'mlp', 'conv', 'seq'}, default='mlp'
    hidden : tuple of int, default=(128, 64)
        Widths of the encoder's layers; the decoder mirrors them.
    epochs, batch_size, lr :
        Training length, mini-batch size and Adam's learning rate.
    model_params : dict, optional
        Other fields of the family's config (``beta``, ``noise``, ``likelihood``...).
    train_params : dict, optional
        Other :class:`~latentlab.TrainConfig` fields (``patience``, ``device``...).
    random_state : int or None, default=0
        Seed of initialisation and shuffling; the same seed gives the same model.
    verbose : bool, default=False

    Attributes
    ----------
    model_ : LatentModel
        The trained model (save it with ``model_.save(dir)``).
    history_ : list of dict
        Loss parts per epoch.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had column names.

    Examples
    --------
    >>> import latentlab
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = latentlab.load_digits()
    >>> ae = latentlab.AutoencoderTransformer(latent_dim=4, hidden=(32,), epochs=3)
    >>> pipe = make_pipeline(ae, LogisticRegression()).fit(X, y)
    >>> ae.transform(X[:2]).shape
    (2, 4)
    >>> list(ae.get_feature_names_out())
    ['autoencodertransformer0', 'autoencodertransformer1', 'autoencodertransformer2', 'autoencodertransformer3']
    """

    param_specs = COMMON_PARAMS

    def __init__(
        self,
        family: str = "ae",
        latent_dim: int = 2,
        architecture: str = "mlp",
        hidden: tuple[int, ...] = (128, 64),
        epochs: int = 100,
        batch_size: int = 64,
        lr: float = 2e-3,
        model_params: dict | None = None,
        train_params: dict | None = None,
        random_state: int | None = 0,
        verbose: bool = False,
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

    def fit(self, X, y=None):
        """Train on ``X`` of shape (n_samples, n_features); ``y`` is ignored."""
        self._check_params()
        X = check_array(self, X, reset=True)
        self.model_ = self._fit_model(X)
        self.history_ = list(self.model_.history)
        self._n_features_out = int(self.latent_dim)
        return self

    def transform(self, X) -> np.ndarray:
        """Codes (posterior means), shape (n_samples, latent_dim)."""
        self._check_fitted()
        X = check_array(self, X, reset=False)
        return self.model_.encode(X.astype(np.float32)).astype(np.float64)

    def inverse_transform(self, X) -> np.ndarray:
        """Decode codes back to the input space, shape (n_samples, n_features_in_)."""
        self._check_fitted()
        Z = as_codes(X, int(self.latent_dim))
        return self.model_.decode(Z).reshape(Z.shape[0], -1).astype(np.float64)

    # ------------------------------------------------------------------ files
    saved_format = "latentlab-transformer"

    def _saved_state(self):
        return {}, {}, {"model": self.model_}

    def _restore_state(self, scalars: dict, arrays: dict, models: dict) -> None:
        from ._persist import check_model_inputs

        check_model_inputs(models["model"], self.n_features_in_)
        self.model_ = models["model"]
        self.history_ = list(self.model_.history)
        self._n_features_out = int(self.latent_dim)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        tags.non_deterministic = False
        return tags
