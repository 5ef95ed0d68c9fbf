"""One small module per family; importing this package registers them all."""

from .ae import AEConfig, Autoencoder
from .base import LatentModel
from .io import load_model, save_model
from .vae import VAE, VAEConfig

__all__ = ["LatentModel", "Autoencoder", "AEConfig", "VAE", "VAEConfig", "load_model", "save_model"]
