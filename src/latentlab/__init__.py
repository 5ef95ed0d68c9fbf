"""latentlab: the whole autoencoder family, and the jobs it does, in one toolkit.

>>> import latentlab
>>> X, y = latentlab.load_digits()
>>> vae = latentlab.VAE(latent_dim=2).fit(X, epochs=2, verbose=False)
>>> vae.encode(X[:3]).shape
(3, 2)
"""

from ._version import __version__  # noqa: E402, F401
from .apps.compression import compress, decompress  # noqa: E402
from .config import families, get_family  # noqa: E402
from .data.datasets import load_digits  # noqa: E402
from .data.sequences import load_sequences, make_sequences, pad_sequences  # noqa: E402
from .data.text import load_text_corpus, load_texts  # noqa: E402
from .errors import (  # noqa: E402
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
from .models import (  # noqa: E402
    VAE,
    VQVAE,
    WAE,
    Autoencoder,
    ConditionalVAE,
    ContractiveAutoencoder,
    LatentModel,
    SequenceAutoencoder,
    SequenceVAE,
    SparseAutoencoder,
)
from .models.io import load_model as load  # noqa: E402
from .models.text import TextAutoencoder, TextVAE  # noqa: E402
from .training import TrainConfig, Trainer  # noqa: E402

# scikit-learn (with SciPy and pandas) takes over a second to import: the estimators load on first use,
# so `import latentlab` and the command line's --help stay quick for those who never touch them.
_LAZY = {
    "AutoencoderImputer": "latentlab.estimators",
    "AutoencoderOutlierDetector": "latentlab.estimators",
    "AutoencoderTransformer": "latentlab.estimators",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'latentlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def create(family: str, **config):
    """Build a model of the named family, e.g. ``create('vae', latent_dim=2)``."""
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
    "compress",
    "decompress",
    "load",
    "load_digits",
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
]
