"""One small module per family; importing this package registers them all."""

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
