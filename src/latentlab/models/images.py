"""Fully convolutional models on images of any size: latent maps, decoding, tiled reconstruction.

A model built with ``architecture='fcn'`` (ae, denoising ae, vae, vqvae)
trains on images of one size, but its networks are convolutions only, so
any ``H x W`` goes through: the image is padded to a multiple of ``2^k``, the
code is a ``C x ceil(H/2^k) x ceil(W/2^k)`` map, and the decoder's output is
cropped back. The code of a VAE is its posterior mean; a VQ-VAE's is snapped
to the nearest codebook vectors, position by position (groups of
``code_dim`` channels).

Pixels are used as they are, so these functions need a model fitted with
``scaling='none'`` (on [0, 1] images): a per-pixel scaler has no meaning
at another size.

Examples
--------
>>> import numpy as np, latentlab
>>> X = np.random.default_rng(0).random((100, 1, 16, 16)).astype("float32")
>>> ae = latentlab.Autoencoder(architecture="fcn", hidden=(8, 16), latent_dim=64, scaling="none")
>>> ae = ae.fit(X, epochs=1, batch_size=32, verbose=False)
>>> encode_image(ae, np.zeros((1, 40, 30), np.float32)).shape
(4, 10, 8)
>>> reconstruct_image(ae, np.zeros((1, 40, 30), np.float32)).shape
(1, 40, 30)
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.photos import as_photo
from ..errors import ConfigError, DataError
from ..nn.tiling import tiled_apply


def _check(model) -> None:
    model.check_fitted()
    if model.config.architecture != "fcn" or not hasattr(model.encoder, "maps"):
        raise ConfigError(f"{type(model).__name__} is not fully convolutional; build it with architecture='fcn'.")
    if model.config.scaling != "none":
        raise ConfigError(
            f"this model was fitted with scaling={model.config.scaling!r}, which is per pixel of one image size; "
            "fit it with scaling='none' on [0, 1] images to use it on other sizes."
        )


def _image(model, image) -> torch.Tensor:
    x = as_photo(image, name="image")
    c = model.encoder.image_shape[0]
    if x.shape[0] != c:
        raise DataError(f"the image has {x.shape[0]} channel(s); this model was trained on {c}.")
    return torch.from_numpy(x)


def latent_maps(model, x: torch.Tensor) -> torch.Tensor:
    """The deterministic code of model-space images ``(B, C, H, W)``: a map ``(B, C_lat, h, w)``."""
    m = model.encoder.maps(x)  # (B, parts * C, h, w)
    c = model.encoder.latent_channels
    m = m[:, :c]  # a VAE's posterior mean (its log-variance follows)
    codebook = getattr(model, "codebook", None)
    if codebook is not None:  # a VQ-VAE: each position's groups of code_dim channels snap to the codebook
        b, _, h, w = m.shape
        d = codebook.shape[1]
        v = m.permute(0, 2, 3, 1).reshape(-1, d)  # (B * h * w * C / d, d)
        v = codebook[torch.cdist(v, codebook).argmin(1)]
        m = v.reshape(b, h, w, c).permute(0, 3, 1, 2)
    return m


def decode_maps(model, z: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Decoder means of latent maps ``(B, C_lat, h, w)``, cropped to ``size``."""
    return model.likelihood.mean(model.decoder.from_maps(z, size))


def encode_image(model, image) -> np.ndarray:
    """The latent map ``(C_lat, h, w)`` of one image ``(C, H, W)`` (or ``(H, W)``, ``(H, W, C)``) of any size."""
    _check(model)
    x = _image(model, image).to(model.device)
    model.eval()
    with torch.inference_mode():
        return latent_maps(model, x[None])[0].float().cpu().numpy()


def decode_image(model, latent, size: tuple[int, int] | None = None) -> np.ndarray:
    """The image ``(C, H, W)`` decoded from a latent map ``(C_lat, h, w)``; ``size`` crops to ``(H, W)``."""
    _check(model)
    z = torch.as_tensor(np.asarray(latent, dtype=np.float32))
    if z.ndim != 3 or z.shape[0] != model.encoder.latent_channels or not torch.isfinite(z).all():
        raise DataError(
            f"latent has shape {tuple(z.shape)}; pass one finite map (C_lat={model.encoder.latent_channels}, h, w)."
        )
    model.eval()
    with torch.inference_mode():
        return decode_maps(model, z[None].to(model.device), size)[0].float().cpu().numpy()


def reconstruct_image(model, image, *, tile: int = 512, batch: int = 1) -> np.ndarray:
    """Encode and decode one image of any size, tile by tile (bounded memory; equal to the whole-image result)."""
    from ..nn.fcn import receptive_radius

    _check(model)
    x = _image(model, image)
    k, f = len(model.config.hidden), model.encoder.factor
    r = receptive_radius(k, getattr(model.config, "depth", 1)) + f  # the code's stride adds up to one step
    model.eval()

    def fn(t):
        return decode_maps(model, latent_maps(model, t), t.shape[-2:])

    with torch.inference_mode():
        out = tiled_apply(fn, x.to(model.device), tile=max(tile, 2 * r + 3 * f), overlap=2 * r + f, margin=r,
                          multiple=f, batch=batch)
    return out.cpu().numpy()


__all__ = ["encode_image", "decode_image", "reconstruct_image", "latent_maps", "decode_maps"]
