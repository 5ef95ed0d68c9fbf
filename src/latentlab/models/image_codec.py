"""A learned transform codec for photographs: analysis transform, quantiser, factorised entropy model, synthesis.

The network (Ballé et al. 2017/2018, "factorized prior")::

    x (B, 1, H, W) in [0, 1] --g_a--> y (B, M, H/2^k, W/2^k) --x gain[q]--> quantise --x inverse_gain[q]--> g_s --> x_hat

One model serves several rates (Cui et al., "Asymmetric gained deep image
compression with continuous rate adaptation", CVPR 2021): quality ``q`` has
its own per-channel ``gain`` (applied before quantisation), ``inverse_gain``
(after) and factorised density, and its own weight ``lambdas[q]`` of the
distortion in the loss ``bits per pixel + lambda * 255^2 * MSE``. Every
training batch mixes the qualities, so one training covers all of them.

Quantisation in training is "mixed" (Minnen and Singh, "Channel-wise
autoregressive entropy models for learned image compression", 2020): the rate
is taken on the latent plus uniform noise, while the synthesis sees the
rounded latent through a straight-through gradient, as it will when coding.

The codec works on one grey plane; colour photographs are coded as their
luma and chroma planes (see :mod:`latentlab.apps.image_codec`). The bytes
format and the entropy coder are in that module; this one is the network,
its loss, training, and the model folder (``config.json`` + ``model.safetensors``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import check_positive_int
from ..data.patches import PatchSampler
from ..data.tensors import Batch, TensorData
from ..errors import ConfigError, DataError, ModelFileError, NotFittedError
from ..nn.entropy import FactorizedDensity
from ..nn.gdn import analysis_transform, synthesis_transform
from ..nn.hyperprior import gaussian_likelihood, hyper_analysis, hyper_synthesis
from ..registry import check_format, read_saved
from ..storage import check_tensors, read_json, read_safetensors
from ..training.options import LossOutput, TrainConfig
from ..training.trainer import Trainer
from .io import write_model_folder

FORMAT = "latentlab-image-codec"
FORMAT_VERSION = 2  # 2: the hyperprior option (a factorised codec is still written as version 1, which it is)
READS = (1, 2)
FILES = {"config.json", "model.safetensors", "metrics.json"}
#: The distortion weights of CompressAI's factorised-prior models 2..7 (MSE on [0, 1] scaled by 255^2).
DEFAULT_LAMBDAS = (0.0035, 0.0067, 0.013, 0.025, 0.0483, 0.0932)
MAX_CHANNELS = 1024
MAX_STAGES = 6
MAX_QUALITIES = 16
SPEED = 10.0  # how much faster than the transforms the gains and the density learn
ENTROPY = ("factorized", "hyperprior")
QUANTISATION = ("mixed", "hard")


@dataclass(frozen=True)
class ImageCodecConfig:
    """What an :class:`ImageCodecModel` is.

    Parameters
    ----------
    channels : int
        Width of the hidden layers of the analysis and synthesis transforms.
    latent_channels : int
        Channels of the latent that is entropy-coded.
    stages : int
        Stride-2 stages: the latent is ``2^stages`` times smaller than the image in each side.
    lambdas : tuple of float
        Distortion weight of each quality, lowest rate first; quality ``q`` is ``lambdas[q]``.
    entropy : {'factorized', 'hyperprior'}
        The entropy model of the latent: one learned density per channel (Ballé 2017), or a zero-mean
        Gaussian whose scale a second latent codes (the scale hyperprior, Ballé 2018; see
        :mod:`latentlab.nn.hyperprior`).
    hyper_channels : int
        Channels of the hyperprior's latent and networks (``entropy='hyperprior'`` only).
    """

    channels: int = 64
    latent_channels: int = 96
    stages: int = 4
    lambdas: tuple[float, ...] = DEFAULT_LAMBDAS
    entropy: str = "factorized"
    hyper_channels: int = 64

    def __post_init__(self) -> None:
        if isinstance(self.lambdas, list):
            object.__setattr__(self, "lambdas", tuple(self.lambdas))
        for name, top in (("channels", MAX_CHANNELS), ("latent_channels", MAX_CHANNELS), ("stages", MAX_STAGES)):
            check_positive_int(name, getattr(self, name))
            if getattr(self, name) > top:
                raise ConfigError(f"{name}={getattr(self, name)} is above {top}; pick a smaller network.")
        if self.entropy not in ENTROPY:
            raise ConfigError(f"entropy={self.entropy!r} is not one of {ENTROPY}.")
        check_positive_int("hyper_channels", self.hyper_channels)
        if self.hyper_channels > MAX_CHANNELS:
            raise ConfigError(f"hyper_channels={self.hyper_channels} is above {MAX_CHANNELS}; pick a smaller network.")
        lam = self.lambdas
        if not isinstance(lam, tuple) or not 1 <= len(lam) <= MAX_QUALITIES:
            raise ConfigError(f"lambdas must be 1 to {MAX_QUALITIES} numbers (one per quality), got {lam!r}.")
        for v in lam:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"lambdas must be finite numbers > 0, got {lam!r}.")
        if list(lam) != sorted(lam):
            raise ConfigError(f"lambdas must increase (quality 0 is the lowest rate), got {lam!r}.")

    @property
    def qualities(self) -> int:
        return len(self.lambdas)

    @property
    def hyper(self) -> bool:
        return self.entropy == "hyperprior"

    @property
    def multiple(self) -> int:
        """Image sides are padded to a multiple of this (the hyperprior halves the latent twice more)."""
        return 2 ** (self.stages + 2 * self.hyper)

    @property
    def format_version(self) -> int:
        return 2 if self.hyper else 1

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lambdas"] = list(self.lambdas)
        if not self.hyper:  # a factorised codec's folder stays what version 1 wrote
            del d["entropy"], d["hyper_channels"]
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "config") -> ImageCodecConfig:
        if not isinstance(d, dict):
            raise ModelFileError(f"{where}: the codec config must be a JSON object.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ModelFileError(f"{where}: unknown codec config field(s) {unknown}; known: {sorted(known)}.")
        try:
            return cls(**d)
        except (ConfigError, TypeError) as exc:
            raise ModelFileError(f"{where} is invalid: {exc}") from None


def _rounded(t: torch.Tensor) -> torch.Tensor:
    """``round(t)`` with the gradient of the identity (straight through)."""
    return t + (torch.round(t) - t).detach()


#: The weights of ``ImageCodecModel`` that hold one block of rows per quality (lowest rate first).
PER_QUALITY = ("log_gain", "log_inverse_gain", "density.")


def lower_quality_rows(name: str, t: torch.Tensor, coded_channels: int) -> torch.Tensor:
    """``t`` (the weight ``name``, or its optimiser state) with a copy of the lowest quality's rows in front.

    The gains have one row per quality, the factorised density ``coded_channels`` per quality; other weights
    are shared by the qualities and returned as they are. See :meth:`ImageCodecModel.with_lower_quality`.
    """
    if not name.startswith(PER_QUALITY):
        return t
    rows = coded_channels if name.startswith("density.") else 1
    return torch.cat([t[:rows], t])


class ImageCodecModel(nn.Module):
    """The network, its rate-distortion loss, its training and its folder; coding is in the subclass
    :class:`latentlab.ImageCodec`.
    """

    def __init__(self, config: ImageCodecConfig | None = None, **kwargs):
        super().__init__()
        if config is None:
            config = ImageCodecConfig(**kwargs)
        elif kwargs:
            raise ConfigError("pass either a config or keyword options, not both.")
        self.config = c = config
        q, m = c.qualities, c.latent_channels
        self.analysis = analysis_transform(1, c.channels, m, c.stages)
        self.synthesis = synthesis_transform(m, c.channels, 1, c.stages)
        # Start the gains apart: a larger lambda wants a finer quantiser (a larger gain), about sqrt(lambda).
        # Gains and density are stored divided by SPEED (see FactorizedDensity): they learn that much faster.
        start = torch.tensor([0.5 * math.log(v / c.lambdas[-1]) for v in c.lambdas]).reshape(q, 1).expand(q, m)
        self.log_gain = nn.Parameter(start.clone() / SPEED)
        self.log_inverse_gain = nn.Parameter(-start.clone() / SPEED)
        # The factorised density codes y (or, with the hyperprior, z): channel q * D + c is channel c at quality q.
        self.density = FactorizedDensity(q * self.coded_channels, speed=SPEED)
        if c.hyper:
            self.hyper_analysis = hyper_analysis(m, c.hyper_channels)
            self.hyper_synthesis = hyper_synthesis(c.hyper_channels, m)
        self.quantisation = "mixed"  # 'hard' for the last part of a soft-then-hard training (see loss)
        self.history: list[dict[str, float]] = []
        self.metrics: dict[str, Any] = {}
        self.train_config: TrainConfig | None = None
        self.fitted = False

    # ------------------------------------------------------------ pieces
    @property
    def coded_channels(self) -> int:
        """Channels the factorised density codes: those of y, or those of z with the hyperprior."""
        return self.config.hyper_channels if self.config.hyper else self.config.latent_channels

    def hyper_latent(self, y: torch.Tensor) -> torch.Tensor:
        """The hyperprior's latent ``z (B, N, h/4, w/4)`` of a gained latent ``y``."""
        return self.hyper_analysis(torch.abs(y))

    def scales(self, z_hat: torch.Tensor) -> torch.Tensor:
        """The Gaussian scales ``(B, M, h, w)`` of the latent, from the quantised hyper-latent (float32)."""
        return self.hyper_synthesis(z_hat).float()

    def latent(self, x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        """Gained latent ``(B, M, h, w)`` of grey planes ``x (B, 1, H, W)`` in [0, 1], one quality per plane."""
        return self.analysis(x - 0.5) * torch.exp(SPEED * self.log_gain[quality])[:, :, None, None]

    def reconstruct_from(self, symbols: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        """Planes ``(B, 1, H, W)`` from the quantised latent ``(B, M, h, w)``."""
        scaled = symbols * torch.exp(SPEED * self.log_inverse_gain[quality])[:, :, None, None]
        return self.synthesis(scaled) + 0.5

    def likelihood(self, y: torch.Tensor, quality: int) -> torch.Tensor:
        """Bin probabilities of the latent ``y (B, M, h, w)`` of planes all coded at ``quality``."""
        return self.density.likelihood(y, start=quality * self.coded_channels)

    # -------------------------------------------------------------- loss
    def loss(self, batch: Batch) -> LossOutput:
        """``bits per pixel + lambda_q * 255^2 * MSE``, averaged over a batch whose patches take turns at the qualities."""
        x = batch.x.float()  # (B, 1, P, P)
        b = x.shape[0]
        Q = self.config.qualities
        offset = int(torch.randint(Q, (1,)))
        quality = (torch.arange(b, device=x.device) + offset) % Q  # (B,)
        y = self.latent(x, quality)  # (B, M, h, w)
        x_hat = self.reconstruct_from(_rounded(y), quality)  # the synthesis sees what decoding will
        coded = y  # what the factorised density codes: y, or z with the hyperprior
        pixels = x.shape[2] * x.shape[3]
        rate = torch.zeros(b, device=x.device)
        if self.config.hyper:
            coded = self.hyper_latent(y)  # (B, N, h/4, w/4)
            scales = self.scales(_rounded(coded))  # (B, M, h, w), as the decoder will compute them
            with torch.autocast(x.device.type, enabled=False):
                lik = gaussian_likelihood(self._quantised(y).float(), scales)
                rate = -torch.log2(lik).flatten(1).sum(1) / pixels
        noisy = self._quantised(coded)
        with torch.autocast(x.device.type, enabled=False):  # the density's logits need float32
            for q in range(Q):
                pick = quality == q
                if pick.any():
                    lik = self.likelihood(noisy[pick].float(), q)
                    rate = rate.index_add(0, pick.nonzero()[:, 0], -torch.log2(lik).flatten(1).sum(1) / pixels)
        mse = ((x_hat.float() - x) ** 2).flatten(1).mean(1)  # (B,)
        lam = torch.tensor(self.config.lambdas, device=x.device)[quality]
        total = (rate + lam * 255**2 * mse).mean()
        return LossOutput(total, {"bpp": rate.mean().detach(), "mse": mse.mean().detach()})

    def _quantised(self, t: torch.Tensor) -> torch.Tensor:
        """What the rate is taken on: ``t`` plus uniform noise ('mixed'), or rounded ('hard', straight through).

        Soft then hard (Guo, Zhang, Feng and Chen, "Soft then hard: rethinking the quantization in neural image
        compression", ICML 2021): a training ends with the analysis frozen and the rate of the rounded values,
        which is what coding will spend.
        """
        if self.quantisation == "hard":
            return _rounded(t)
        return t + torch.empty_like(t).uniform_(-0.5, 0.5)

    # ----------------------------------------------------------- training
    def fit(self, images, *, validation=None, callbacks=None, patch_size: int = 96, patches_per_epoch: int = 2560,
            **train_options: Any):
        """Train on photos: a folder, paths or arrays of any sizes (colour ones are trained on as their luma),
        drawn as random ``patch_size`` patches, ``patches_per_epoch`` an epoch; or on ready patches: a
        ``(N, 1, P, P)`` array in [0, 1] or a source with ``batches()`` such as a
        :class:`~latentlab.data.patches.PatchSampler`. ``validation`` takes the same kinds.
        ``train_options`` are :class:`~latentlab.training.TrainConfig` fields (``epochs``, ``lr``, ``amp``...);
        the defaults here are those of ``benchmarks/train_image_codec.py`` but for the epochs.

        Returns ``self``.
        """
        options = {"patience": None, "restore_best": False, "validation_split": 0.0, "lr": 8e-4, "batch_size": 8,
                   "grad_clip": 1.0}
        tc = TrainConfig.from_kwargs(**{**options, **train_options})
        train = self._patches(images, patch_size, patches_per_epoch, fixed=False)
        val = None if validation is None else self._patches(validation, patch_size, 64, fixed=True)
        trainer = Trainer(self, tc, callbacks)
        self.history = list(self.history) + trainer.fit(train, val)
        self.train_config = tc
        self.fitted = True
        self.to("cpu").eval()
        return self

    @staticmethod
    def _patches(data, patch_size: int, count: int, fixed: bool):
        if hasattr(data, "batches"):
            return data
        if torch.is_tensor(data) or (isinstance(data, np.ndarray) and data.ndim == 4):
            t = torch.as_tensor(data, dtype=torch.float32)
            if t.ndim != 4 or t.shape[1] != 1:
                raise DataError(f"patches must be (N, 1, P, P) grey values in [0, 1], got shape {tuple(t.shape)}.")
            return TensorData(t)
        return PatchSampler(data, patch_size, count, mode="L", fixed=fixed, seed=1 if fixed else 0)

    # ---------------------------------------------------------- qualities
    def with_lower_quality(self, lam: float) -> ImageCodecModel:
        """A new codec with one more quality, below the lowest: distortion weight ``lam < lambdas[0]``.

        The new quality is quality 0 (1 when coding) and every old quality ``q`` becomes ``q + 1``, its weights
        copied exactly, so it codes a photo as before (to other bytes only in their model id). The new
        quality's gains start on the straight line through the two lowest qualities' log-gains against
        ``log(lambda)``, extended down to ``log(lam)`` (one step further down when ``lam`` keeps the lambdas'
        spacing; with a single quality, the gains scale by ``sqrt(lam / lambdas[0])``, as the initial gains are
        spread); its learned density (the factorised prior, which with ``entropy='hyperprior'`` is that of the
        hyper-latent, the Gaussian of the latent having no weights of its own) starts as a copy of the lowest
        quality's. Train it on (``benchmarks/recipes/codec.py --recipe image-codec-grey-7q``) before use.
        This codec is left as it is; the history and ``fitted`` carry over, the metrics (of this codec) do not.
        """
        c = self.config
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or not lam > 0:
            raise ConfigError(f"lam={lam!r} must be a finite number > 0 (the new quality's distortion weight).")
        if not lam < c.lambdas[0]:
            raise ConfigError(f"lam={lam!r} must be below the lowest quality's lambda {c.lambdas[0]!r}: the new "
                              "quality is the lowest rate. Pick a smaller lam.")
        if c.qualities >= MAX_QUALITIES:
            raise ConfigError(f"this codec already has {c.qualities} qualities, the most one holds (MAX_QUALITIES="
                              f"{MAX_QUALITIES}); start from a codec with fewer.")
        config = ImageCodecConfig(**{**asdict(c), "lambdas": (float(lam), *c.lambdas)})
        state = {k: v.detach().clone() for k, v in self.state_dict().items()}
        for name, value in state.items():
            state[name] = lower_quality_rows(name, value, self.coded_channels)
        if c.qualities > 1:  # the line through the two lowest log-gains, against log(lambda), at log(lam)
            span = math.log(c.lambdas[1] / c.lambdas[0])
            t = math.log(c.lambdas[0] / lam) / span if span > 0 else 1.0  # equal lambdas: one step further down
        for name in ("log_gain", "log_inverse_gain"):
            g = getattr(self, name).detach()
            if c.qualities > 1:
                state[name][0] = g[0] + t * (g[0] - g[1])
            else:  # stored divided by SPEED, as the gains are
                sign = 1 if name == "log_gain" else -1
                state[name][0] = g[0] + sign * 0.5 * math.log(lam / c.lambdas[0]) / SPEED
        with torch.random.fork_rng(devices=[]):  # building the new network draws no numbers from the caller's stream
            new = type(self)(config)
        new.load_state_dict(state)
        new.to(device=self.log_gain.device, dtype=self.log_gain.dtype)
        new.quantisation, new.history, new.train_config = self.quantisation, list(self.history), self.train_config
        new.fitted = self.fitted
        return new.train(self.training)

    def check_fitted(self) -> None:
        if not self.fitted:
            raise NotFittedError(f"this {type(self).__name__} is not trained; call fit(...) or {type(self).__name__}.load(dir).")

    # -------------------------------------------------------------- files
    def save(self, path, metrics: dict[str, Any] | None = None) -> Path:
        """Write the folder ``path`` (``config.json``, ``model.safetensors``, ``metrics.json``) in one atomic step."""
        self.check_fitted()
        self.metrics = {**self.metrics, **(metrics or {})}
        return write_model_folder(path, self, fmt=FORMAT, fmt_version=self.config.format_version, config=self.config.to_dict(),
                                  train_config=self.train_config, metrics={"history": self.history, **self.metrics},
                                  names=FILES, what="codec")

    @classmethod
    def load(cls, path):
        """Rebuild a codec saved by :meth:`save` (nothing is unpickled; every file is checked first)."""
        path, doc = read_saved(path, "codec.save()")
        check_format(path, doc, FORMAT, cls.__name__)  # another kind of folder: say what opens it
        if doc.get("format_version") not in READS:
            raise ModelFileError(f"{path} uses codec format version {doc.get('format_version')!r}; this reads {READS}.")
        config = ImageCodecConfig.from_dict(doc.get("config"), f"{path}/config.json")
        if config.format_version != doc.get("format_version"):
            raise ModelFileError(f"{path}/config.json: a {config.entropy} codec is format version "
                                 f"{config.format_version}, not {doc.get('format_version')!r}; the folder is corrupt.")
        model = cls(config)
        tensors, _ = read_safetensors(path / "model.safetensors")
        check_tensors(model.state_dict(), tensors, str(path / "model.safetensors"))
        model.load_state_dict(tensors)
        metrics = read_json(path / "metrics.json") if (path / "metrics.json").is_file() else {}
        if isinstance(metrics, dict):
            history = metrics.pop("history", [])
            model.history = list(history) if isinstance(history, list) else []
            model.metrics = metrics
        tc = doc.get("train_config")
        if isinstance(tc, dict):
            try:
                model.train_config = TrainConfig.from_kwargs(**tc)
            except (ConfigError, TypeError, ValueError):
                model.train_config = None
        model.fitted = True
        return model.eval()


__all__ = ["ImageCodecConfig", "ImageCodecModel", "DEFAULT_LAMBDAS", "lower_quality_rows"]
