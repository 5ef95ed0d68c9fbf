"""latentlab: the whole autoencoder family, and the jobs it does, in one toolkit.

>>> import latentlab
>>> X, y = latentlab.load_digits()
>>> vae = latentlab.VAE(latent_dim=2).fit(X, epochs=2, verbose=False)
>>> vae.encode(X[:3]).shape
(3, 2)
"""

from ._version import __version__  # noqa: F401
from .errors import (  # noqa: F401  (no heavy imports: the error types are always at hand)
    ConfigError,
    DataError,
    DataTypeError,
    DataWarning,
    LatentlabError,
    ModelFileError,
    NotFittedError,
    PosteriorCollapseWarning,
    TrainingError,
)

# Everything else loads on first use (PEP 562): torch alone takes about a second to import, and
# scikit-learn (with SciPy and pandas) another, so `import latentlab` and the command line's --help
# stay quick, and a user pays only for what they touch.
_LAZY = {
    "compress": "latentlab.apps.compression",
    "decompress": "latentlab.apps.compression",
    "ImageCodec": "latentlab.apps.image_codec",
    "families": "latentlab.registry",
    "get_family": "latentlab.registry",
    "load_digits": "latentlab.data.datasets",
    "load_sequences": "latentlab.data.sequences",
    "make_sequences": "latentlab.data.sequences",
    "pad_sequences": "latentlab.data.sequences",
    "load_shapes": "latentlab.data.shapes",
    "load_photos": "latentlab.data.photos",
    "PatchSampler": "latentlab.data.patches",
    "ImageDenoiser": "latentlab.models.denoiser",
    "load_dsprites": "latentlab.data.shapes",
    "VAE": "latentlab.models",
    "VQVAE": "latentlab.models",
    "WAE": "latentlab.models",
    "Autoencoder": "latentlab.models",
    "BetaTCVAE": "latentlab.models",
    "FactorVAE": "latentlab.models",
    "DIPVAE": "latentlab.models",
    "ConditionalVAE": "latentlab.models",
    "ContractiveAutoencoder": "latentlab.models",
    "LatentModel": "latentlab.models",
    "SequenceAutoencoder": "latentlab.models",
    "SequenceVAE": "latentlab.models",
    "SparseAutoencoder": "latentlab.models",
    "TextVAE": "latentlab.models",
    "TextAutoencoder": "latentlab.models",
    "load_text_corpus": "latentlab.data.text",
    "load_texts": "latentlab.data.text",
    "load": "latentlab.registry",  # any saved object, opened by the format its config.json names
    "TrainConfig": "latentlab.training",
    "Trainer": "latentlab.training",
    "AutoencoderImputer": "latentlab.estimators",
    "AutoencoderOutlierDetector": "latentlab.estimators",
    "AutoencoderTransformer": "latentlab.estimators",
    "SeriesAnomalyDetector": "latentlab.estimators",
    "ImageAnomalyDetector": "latentlab.estimators.images",
}


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'latentlab' has no attribute {name!r}")
    import importlib

    module, attr = (target, name) if isinstance(target, str) else target
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def create(family: str, **config):
    """Build a model of the named family, e.g. ``create('vae', latent_dim=2)``.

    Examples
    --------
    >>> import latentlab
    >>> vae = latentlab.create("vae", latent_dim=2)
    >>> type(vae).__name__, vae.config.latent_dim
    ('VAE', 2)
    """
    from .registry import get_family

    return get_family(family)(**config)


__all__ = [
    "__version__",
    "Autoencoder",
    "VAE",
    "SparseAutoencoder",
    "ContractiveAutoencoder",
    "ConditionalVAE",
    "WAE",
    "VQVAE",
    "SequenceAutoencoder",
    "SequenceVAE",
    "LatentModel",
    "TextVAE",
    "TextAutoencoder",
    "load_text_corpus",
    "load_texts",
    "Trainer",
    "TrainConfig",
    "create",
    "AutoencoderTransformer",
    "AutoencoderOutlierDetector",
    "AutoencoderImputer",
    "SeriesAnomalyDetector",
    "compress",
    "decompress",
    "ImageCodec",
    "load",
    "load_digits",
    "load_shapes",
    "load_dsprites",
    "BetaTCVAE",
    "FactorVAE",
    "DIPVAE",
    "load_sequences",
    "make_sequences",
    "pad_sequences",
    "families",
    "get_family",
    "LatentlabError",
    "DataError",
    "DataTypeError",
    "DataWarning",
    "ConfigError",
    "ModelFileError",
    "NotFittedError",
    "TrainingError",
    "PosteriorCollapseWarning",
    "ImageDenoiser",
    "PatchSampler",
    "load_photos",
]
