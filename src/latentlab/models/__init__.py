"""One small module per family, loaded on first use (PEP 562).

``from latentlab.models import VAE`` imports only ``latentlab.models.vae`` (and torch): the torch-free modules
here (``pretrained``, ``denoising``) stay quick to import for the command line. Saved folders name their family,
which the registry (:mod:`latentlab.registry`) finds through the installed entry points.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:  # what the lazy names are, for type checkers and the API reference
    from .ae import AEConfig, Autoencoder
    from .base import LatentModel
    from .btcvae import BetaTCVAE, BTCVAEConfig
    from .contractive import ContractiveAutoencoder, ContractiveConfig
    from .cvae import ConditionalVAE, CVAEConfig
    from .denoiser import DenoiserConfig, ImageDenoiser
    from .dipvae import DIPVAE, DIPVAEConfig
    from .factorvae import FactorVAE, FactorVAEConfig
    from .io import load_model, save_model
    from .seq import SeqAEConfig, SequenceAutoencoder, SequenceVAE, SeqVAEConfig
    from .sparse import SparseAutoencoder, SparseConfig
    from .text import TextAEConfig, TextAutoencoder, TextVAE, TextVAEConfig
    from .vae import VAE, VAEConfig
    from .vqvae import VQVAE, VQVAEConfig
    from .wae import WAE, WAEConfig

_LAZY = {
    "AEConfig": "ae",
    "Autoencoder": "ae",
    "LatentModel": "base",
    "BetaTCVAE": "btcvae",
    "BTCVAEConfig": "btcvae",
    "ContractiveAutoencoder": "contractive",
    "ContractiveConfig": "contractive",
    "ConditionalVAE": "cvae",
    "CVAEConfig": "cvae",
    "DenoiserConfig": "denoiser",
    "ImageDenoiser": "denoiser",
    "DIPVAE": "dipvae",
    "DIPVAEConfig": "dipvae",
    "FactorVAE": "factorvae",
    "FactorVAEConfig": "factorvae",
    "load_model": "io",
    "save_model": "io",
    "SeqAEConfig": "seq",
    "SequenceAutoencoder": "seq",
    "SequenceVAE": "seq",
    "SeqVAEConfig": "seq",
    "SparseAutoencoder": "sparse",
    "SparseConfig": "sparse",
    "TextAEConfig": "text",
    "TextAutoencoder": "text",
    "TextVAE": "text",
    "TextVAEConfig": "text",
    "VAE": "vae",
    "VAEConfig": "vae",
    "VQVAE": "vqvae",
    "VQVAEConfig": "vqvae",
    "WAE": "wae",
    "WAEConfig": "wae",
}

__all__ = [
    "LatentModel",
    "Autoencoder",
    "AEConfig",
    "VAE",
    "VAEConfig",
    "SparseAutoencoder",
    "SparseConfig",
    "ContractiveAutoencoder",
    "ContractiveConfig",
    "ConditionalVAE",
    "CVAEConfig",
    "WAE",
    "WAEConfig",
    "VQVAE",
    "VQVAEConfig",
    "SequenceAutoencoder",
    "SeqAEConfig",
    "SequenceVAE",
    "SeqVAEConfig",
    "TextVAE",
    "TextVAEConfig",
    "TextAutoencoder",
    "TextAEConfig",
    "BetaTCVAE",
    "BTCVAEConfig",
    "FactorVAE",
    "FactorVAEConfig",
    "DIPVAE",
    "DIPVAEConfig",
    "load_model",
    "save_model",
    "ImageDenoiser",
    "DenoiserConfig",
]


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
