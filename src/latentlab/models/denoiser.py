"""A photo denoiser: a fully convolutional U-Net trained on random patches, applied to whole photos in tiles.

The network predicts the noise and subtracts it (residual learning, Zhang et
al., "Beyond a Gaussian denoiser" (DnCNN), IEEE TIP 2017) through a U-Net
(Ronneberger et al., 2015) of stride-2 stages (:class:`latentlab.nn.fcn.UNet`).
Training draws random patches of the photos (:class:`~latentlab.data.patches.PatchSampler`)
and corrupts them with Gaussian noise of the given standard deviation (the
family's ``corrupt``, on pixel values in [0, 1]); the loss is the mean
squared error to the clean patch. It goes through the library's one fit path
and trainer, and is saved and loaded like every model (``config.json`` +
``model.safetensors``).

At inference any size goes through: the photo is padded to a multiple of
``2^k`` and cut into overlapping tiles whose outputs are blended
(:func:`latentlab.nn.tiling.tiled_apply`); with the default margin (the
network's receptive-field radius) the result equals whole-image inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import ModelConfig, check_positive_int, register
from ..data.patches import PatchSampler
from ..data.photos import open_photos
from ..data.scaling import Scaler
from ..data.tensors import Batch, TensorData
from ..errors import ConfigError, DataError
from ..nn.dihedral import check_ensemble
from ..nn.fcn import UNet
from ..registry import MAX_MODEL_VALUES
from ..training.options import LossOutput
from .base import LatentModel
from .denoising import TILE, denoise_photo, denoise_tiles
from .fitting import fit_model, train_config
from .posterior import Deterministic
from .prior import StandardNormal

# Sizes a config may ask for, checked before anything is built (a config.json asking for a million layers
# would otherwise hang load): 3x3 convolutions a stage, and stride-2 stages (each doubles the padding multiple).
MAX_DEPTH = 64
MAX_STAGES = 8


@dataclass(frozen=True)
class DenoiserConfig(ModelConfig):
    """Config of :class:`ImageDenoiser`: its fields are the constructor's keyword arguments.

    Parameters
    ----------
    hidden : tuple of int
        Channels of the stride-2 stages (the first is also the full-size stem's); at most ``MAX_STAGES`` (8).
    depth : int
        3x3 convolutions after each down- and up-sampling; at most ``MAX_DEPTH`` (64).
    residual : bool
        Predict the noise and subtract it (True), or the clean image.
    noise_level : float
        Standard deviation of the Gaussian noise it is trained to remove, on [0, 1] pixels (25/255 by default);
        for a blind model, the level of the fixed validation noise.
    max_noise_level : float
        0 (default): one noise level. Above 0: a blind model, trained on noise whose standard deviation is
        drawn uniformly from 0 to this for every patch (as DnCNN-B), so one model serves every level in it.

    Notes
    -----
    The defaults were set from a throughput measurement on the CPU (not tuned
    on test photos); ``benchmarks/photos.py`` and docs/photos.md give what
    they reach in 300 CPU seconds of training. The code an ImageDenoiser
    encodes to is its deepest feature map, averaged: ``latent_dim`` always
    follows ``hidden[-1]``. It works on [0, 1] pixels with Gaussian noise
    (``scaling='none'``, ``noise='gaussian'``), takes no labels, and its
    ``input_shape`` (set by ``fit``) is ``(channels, patch, patch)`` with 1
    or 3 channels.

    Examples
    --------
    >>> from latentlab.models.denoiser import DenoiserConfig
    >>> cfg = DenoiserConfig(hidden=(16, 32), depth=1)
    >>> cfg.family, cfg.latent_dim, round(cfg.noise_level * 255)
    ('image_denoiser', 32, 25)
    """

    family = "image_denoiser"
    architecture: str = "fcn"
    hidden: tuple[int, ...] = (32, 64, 128)
    latent_dim: int = 128  # always hidden[-1]
    activation: str = "relu"
    scaling: str = "none"
    noise: str = "gaussian"
    noise_level: float = 25 / 255
    depth: int = 2
    residual: bool = True
    max_noise_level: float = 0.0

    def validate(self) -> None:
        super().validate()
        check_positive_int("depth", self.depth)
        if not 0 <= self.max_noise_level < 1:
            raise ConfigError(f"max_noise_level={self.max_noise_level!r} must be 0 (one level) or a standard "
                              "deviation on [0, 1] pixels below 1 (e.g. 55/255).")
        if self.depth > MAX_DEPTH or len(self.hidden) > MAX_STAGES:
            raise ConfigError(
                f"depth={self.depth} and {len(self.hidden)} stages (hidden={tuple(self.hidden)[:10]}): an ImageDenoiser "
                f"has at most depth={MAX_DEPTH} convolutions a stage and {MAX_STAGES} stages (MAX_DEPTH, MAX_STAGES)."
            )
        if self.latent_dim != self.hidden[-1]:  # the features encode() gives: the deepest map, averaged
            object.__setattr__(self, "latent_dim", self.hidden[-1])
        if self.architecture != "fcn":
            raise ConfigError("an ImageDenoiser is fully convolutional: architecture must be 'fcn'.")
        if self.scaling != "none" or self.noise != "gaussian":
            raise ConfigError("an ImageDenoiser works on [0, 1] pixels with Gaussian noise: scaling='none', noise='gaussian'.")
        if self.n_classes:
            raise ConfigError("an ImageDenoiser takes no labels (n_classes=0).")
        if not isinstance(self.residual, bool):
            raise ConfigError(f"residual={self.residual!r} must be true or false.")
        if self.input_shape is not None and (len(self.input_shape) != 3 or self.input_shape[0] not in (1, 3)):
            raise ConfigError(f"input_shape {self.input_shape} must be (channels, patch, patch) with 1 or 3 channels.")


class PatchInput:
    """A fit input of random photo patches (see :mod:`latentlab.models.fitting`)."""

    def __init__(self, sampler: PatchSampler, validation: int):
        self.sampler, self.validation = sampler, validation

    def sample_shape(self) -> tuple[int, ...]:
        return self.sampler.shape

    def check(self, model) -> None:
        if tuple(model.config.input_shape) != self.sampler.shape:
            raise DataError(
                f"the photos give patches of shape {self.sampler.shape}; this model was built for "
                f"{tuple(model.config.input_shape)} (channels, patch, patch): pass mode={'L' if model.channels == 1 else 'RGB'!r}."
            )

    def fit_scaler(self, model) -> Scaler:
        return Scaler("none").fit(next(iter(self.sampler.with_options(fixed=True).batches(8)))[0].numpy())

    def data(self, model, tc):
        val = None
        if self.validation:
            val = self.sampler.with_options(patches_per_epoch=self.validation, fixed=True, augment=False, seed=10_007)
        return self.sampler, val

    def statistics_rows(self, train) -> TensorData:
        return TensorData(next(iter(train.with_options(fixed=True).batches(64)))[0])


@register
class ImageDenoiser(LatentModel):
    """Removes Gaussian noise from grey or RGB photos of any size.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> photos = [np.random.default_rng(0).random((48, 40)).astype("float32")]
    >>> den = latentlab.ImageDenoiser(hidden=(8, 16), depth=1).fit(
    ...     photos, noise_level=0.1, patch_size=16, patches_per_epoch=32, epochs=1, verbose=False)
    >>> den.denoise(np.zeros((30, 21), np.float32)).shape
    (30, 21)
    """

    config_class = DenoiserConfig
    codec = "none"

    @property
    def channels(self) -> int:
        return int(self.config.input_shape[0])

    def build(self) -> None:
        c = self.config
        n_values = 0
        if torch.empty(0).device.type != "meta":  # fit: count first (load's build_checked counts on meta itself)
            with torch.device("meta"):
                n_values = sum(t.numel() for t in UNet(c.input_shape[0], c.hidden, c.depth, c.activation, c.residual)
                               .state_dict().values())
        if n_values > MAX_MODEL_VALUES:
            raise ConfigError(f"hidden={c.hidden} and depth={c.depth} make a network of {n_values:.3g} values, more "
                              f"than {MAX_MODEL_VALUES:.3g} (latentlab.registry.MAX_MODEL_VALUES); use fewer channels.")
        self.net = UNet(c.input_shape[0], c.hidden, c.depth, c.activation, c.residual)
        self.net.to(memory_format=torch.channels_last)  # oneDNN's fast layout for convolutions on the CPU
        self.prior = self.build_prior()
        self.built = True

    def build_prior(self):
        return StandardNormal(self.config.hidden[-1])

    # ------------------------------------------------------------- networks
    def forward(self, x: torch.Tensor, y=None) -> torch.Tensor:
        """Denoised ``(B, C, H, W)`` images (any H, W)."""
        return self.net(x.contiguous(memory_format=torch.channels_last))

    def posterior(self, x: torch.Tensor, y=None) -> Deterministic:
        """The deepest feature map, averaged over positions: ``(B, hidden[-1])`` features of each patch."""
        from ..nn.tiling import pad_to_multiple

        feats = self.net.encoder.features(pad_to_multiple(x, self.net.factor)[0])
        return Deterministic(feats[-1].mean(dim=(-2, -1)))

    def decode_params(self, z, y=None):
        raise ConfigError("an ImageDenoiser's skips carry the detail: it cannot decode from a code alone; use denoise().")

    def decode_mean(self, z, y=None):
        return self.decode_params(z, y)

    def loss(self, batch: Batch) -> LossOutput:
        if self.training and self.config.max_noise_level > 0:  # blind: a level drawn for every patch
            sigma = self.config.max_noise_level * torch.rand(len(batch.x), 1, 1, 1, device=batch.x.device)
            noisy = batch.x + sigma * torch.randn_like(batch.x)
        elif self.training:
            noisy = self.corrupt(batch.x)  # (B, C, p, p) + sigma * N(0, 1)
        else:  # validation: the same noise every epoch, so the scores compare
            g = torch.Generator().manual_seed(len(batch))
            noise = torch.randn(batch.x.shape, generator=g).to(batch.x.device)
            noisy = batch.x + self.config.noise_level * noise
        mse = (self(noisy).float() - batch.x).pow(2).mean()
        return LossOutput(mse, {"mse": mse})

    def initialise_from_data(self, rows) -> None:
        """Nothing is set from data: the loss is a plain mean squared error."""

    def fit_statistics(self, rows) -> dict:
        return {}

    # ------------------------------------------------------------------ fit
    def fit(self, images, y=None, *, init: str | None = None, noise_level: float | None = None, patch_size: int = 48,
            patches_per_epoch: int = 4096, validation_patches: int = 512, mode: str | None = None,
            augment: bool = True, epochs: int | None = None, batch_size: int | None = None,
            callbacks=None, **train_options) -> ImageDenoiser:
        """Train on random patches of ``images`` (a folder, paths, or arrays of any sizes).

        Parameters
        ----------
        init : {'pretrained'} or None
            ``'pretrained'``: start from the shipped blind grey model (:meth:`pretrained`) and fine-tune it on
            these photos (its network replaces this one's; grey photos only). With ``noise_level`` it is then
            specialised to that level; without, it stays blind over its range.
        noise_level : float, optional
            Noise standard deviation on [0, 1] pixels (``sigma / 255`` for 8-bit); default the config's.
        patch_size, patches_per_epoch : int
            Side of the training patches and how many one epoch draws.
        validation_patches : int
            Fixed patches (the same each epoch) scored for early stopping and the best epoch.
        mode : {'L', 'RGB'} or None
            Grey or colour (default: what the photos are; a built model keeps its channel count).
        **train_options
            :class:`~latentlab.training.TrainConfig` fields (``lr``, ``amp``, ``seed``...).
        """
        if y is not None:
            raise DataError("an ImageDenoiser takes no labels; pass images only.")
        if init is not None:
            self._start_from_pretrained(init, noise_level, patch_size)
            noise_level = None  # set above
        if noise_level is not None:
            if isinstance(noise_level, bool) or not isinstance(noise_level, (int, float)) or not 0 < noise_level < 1:
                raise DataError(f"noise_level={noise_level!r} is a standard deviation on [0, 1] pixels (e.g. 25/255).")
            if self.built and abs(noise_level - self.config.noise_level) > 1e-12:
                raise DataError(f"this model was built for noise_level={self.config.noise_level:.4g}; build a new one.")
            self.config = self.config.replace(noise_level=float(noise_level))
        if self.built:
            mode = "L" if self.channels == 1 else "RGB"
        photos = open_photos(images, mode)
        sampler = PatchSampler(photos, patch_size, patches_per_epoch, augment=augment)
        options = {"validation_split": 0.0, "patience": None, **train_options}
        tc = train_config(epochs if epochs is not None else 30, batch_size or 16, options)
        return fit_model(self, PatchInput(sampler, validation_patches), tc, callbacks)

    def _start_from_pretrained(self, init, noise_level, patch_size: int) -> None:
        if init != "pretrained":
            raise DataError(f"init={init!r}: the one starting point offered is init='pretrained' (or None).")
        if self.built:
            raise DataError("init='pretrained' starts a new model: call it on latentlab.ImageDenoiser(), not on a "
                            "model that is already built or trained.")
        base = type(self).pretrained()
        config = base.config.replace(input_shape=(base.channels, patch_size, patch_size))
        if noise_level is not None:
            if isinstance(noise_level, bool) or not isinstance(noise_level, (int, float)) or not 0 < noise_level < 1:
                raise DataError(f"noise_level={noise_level!r} is a standard deviation on [0, 1] pixels (e.g. 25/255).")
            config = config.replace(noise_level=float(noise_level), max_noise_level=0.0)
        self.config = config
        self.build()
        self.load_state_dict(base.state_dict())

    @classmethod
    def pretrained(cls, name: str = "denoiser-grey") -> ImageDenoiser:
        """The shipped blind grey denoiser: no training needed, noise levels 0 to 55 (on 0..255).

        The weights are package data, trained by ``benchmarks/recipes/denoiser.py`` on the 400 grey photos of
        "Train400"; their SHA-256 is checked before they are read (the model card is ``docs/pretrained.md``).
        Colour photos go through it channel by channel in an opponent colour space (:mod:`latentlab.nn.colour`).
        """
        from .pretrained import pretrained_folder

        return cls.load(pretrained_folder(name))

    # ------------------------------------------------------------ inference
    def denoise(self, image, *, tile: int = TILE, batch: int = 1, layout: str = "auto",
                check_noise: bool = True, ensemble: int = 1) -> np.ndarray:
        """The denoised photo, in the layout given: ``(H, W)``, ``(C, H, W)`` or ``(H, W, C)``, float32 in [0, 1].

        ``image`` is an array (uint8, uint16, or floats on [0, 1]; noisy floats
        may leave [0, 1] a little) or an image file. Memory is bounded by the
        tile: a 4000x3000 RGB photo needs well under 1 GB.

        The model removes noise of the level it was trained for. With
        ``check_noise`` (and PyWavelets installed: the ``photos`` extra) the photo's own noise level
        is estimated (:func:`~latentlab.data.photos.estimate_noise_level`) and a
        :class:`~latentlab.errors.DataWarning` says so when it is under half or
        over 1.5 times that level: a noisier photo keeps noise, a cleaner one is
        smoothed more than it needs.

        ``ensemble`` (1, 2, 4 or 8): average that many flipped and transposed copies, turned back (about
        0.1 dB more PSNR at 8 for the shipped denoiser, 8 times the time; ``docs/pretrained.md``).
        """
        self.check_fitted()
        check_ensemble(ensemble)
        return denoise_photo(
            image, lambda x: self.denoise_tensor(torch.from_numpy(x), tile=tile, batch=batch, ensemble=ensemble).numpy(),
            channels=self.channels, noise_level=self.config.noise_level, max_noise_level=self.config.max_noise_level,
            layout=layout, check_noise=check_noise)

    def denoise_tensor(self, x: torch.Tensor, *, tile: int = TILE, batch: int = 1, ensemble: int = 1) -> torch.Tensor:
        """Denoise one ``(C, H, W)`` float tensor tile by tile (no clipping); ``ensemble``: see :meth:`denoise`."""
        self.check_fitted()
        if self.training:
            self.eval()
        with torch.inference_mode():
            out = denoise_tiles(self, x.to(self.device), radius=self.net.radius, factor=self.net.factor, tile=tile,
                                batch=batch, ensemble=ensemble)
        if not torch.isfinite(out).all():
            raise DataError("the denoiser produced NaN or inf (corrupt weights?); refit or reload it.")
        return out.cpu()


__all__ = ["ImageDenoiser", "DenoiserConfig", "PatchInput"]
