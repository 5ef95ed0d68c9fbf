"""Frozen, typed model configs and the family registry.

Each family has one config dataclass (a subclass of :class:`ModelConfig`),
validated when built and round-tripped through JSON. The checks
(:func:`check_choice`, :func:`check_positive_int`, :func:`check_nonneg_float`)
are public: every config in the library, training's included, uses them.
The registry that maps the ``family`` name in ``config.json`` to the model
class lives in :mod:`latentlab.registry` and is re-exported here.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from .errors import ConfigError
from .registry import families, get_family, register  # noqa: F401  (re-exported: the registry sits below the configs)

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid")
ARCHITECTURES = ("mlp", "conv", "seq", "fcn", "text")
# Channels of the conv and fcn stages when ``hidden`` is not given: the families' defaults are MLP widths,
# which as channel counts ((512, 256, 128)) made a conv model 40 times slower than the MLP on 8x8 digits.
CONV_HIDDEN = (32, 64)
LIKELIHOODS = ("gaussian", "bernoulli", "categorical")
VARIANCES = ("fixed", "global", "per_feature", "decoder")
SCALINGS = ("minmax", "standard", "robust", "none")
NOISES = ("none", "gaussian", "masking", "salt_pepper")

# A model larger than this many parameters is refused when a config is read:
# it protects ``load`` against memory bombs planted in config.json.
MAX_PARAMETERS = 2_000_000_000
MAX_DIM = 1_000_000


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {list(choices)}; pick one of those.")


def check_positive_int(name: str, value: Any, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool)
    low = 0 if allow_zero else 1
    if not ok or value < low or value > MAX_DIM:
        raise ConfigError(f"{name}={value!r} must be an integer between {low} and {MAX_DIM}; give a sensible size.")


def check_nonneg_float(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name}={value!r} must be a finite number >= 0.")


@dataclass(frozen=True)
class ModelConfig:
    """Fields shared by every family.

    Parameters
    ----------
    input_shape : tuple of int or None
        Shape of one sample as the user gives it, e.g. ``(64,)`` or ``(3, 32, 32)``.
        ``None`` until the first ``fit`` infers it.
    latent_dim : int
        Size of the code.
    architecture : {'mlp', 'conv', 'seq'}
        Which shared encoder/decoder pair to build.
    hidden : tuple of int
        Widths of the MLP layers, or channels of the conv layers (encoder
        order; the decoder mirrors them).
    activation : str
        Hidden activation.
    likelihood : {'gaussian', 'bernoulli'}
        Output distribution; it also fixes the output activation
        (identity for Gaussian, sigmoid for Bernoulli).
    variance : {'fixed', 'global', 'per_feature'}
        Gaussian likelihood only: fixed ``sigma``, one learned variance, one
        learned variance per feature (pixel), or a variance per feature that
        the decoder predicts for each code ('decoder', MLP only).
    sigma : float
        Standard deviation of the fixed Gaussian likelihood, and the initial
        value of the learned ones when given; left at 1, a learned variance
        starts at the training data's own (in the model's space).
    scaling : {'minmax', 'standard', 'robust', 'none'}
        Input scaling fitted on the training data and saved with the model.
        'robust' (median and interquartile range) keeps a few extreme rows
        from setting the scale; fitting warns when such rows are present.
    noise, noise_level :
        Denoising: corruption applied to the inputs during training only,
        while the target stays clean ('gaussian' sigma, 'masking' fraction,
        'salt_pepper' fraction).
    image_shape : tuple of int or None
        Conv only: ``(C, H, W)`` view of each sample; inferred when None.
    n_classes : int
        Number of labels a conditional model sees (0 for unconditional).
    """

    family: ClassVar[str] = "base"

    input_shape: tuple[int, ...] | None = None
    latent_dim: int = 2
    architecture: str = "mlp"
    hidden: tuple[int, ...] = (256, 128)
    activation: str = "relu"
    likelihood: str = "gaussian"
    variance: str = "fixed"
    sigma: float = 1.0
    scaling: str = "minmax"
    noise: str = "none"
    noise_level: float = 0.0
    image_shape: tuple[int, ...] | None = None
    n_classes: int = 0

    def __post_init__(self) -> None:
        # Accept lists (from JSON) but store tuples so the config stays hashable.
        for name in ("input_shape", "hidden", "image_shape"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field."""
        check_positive_int("latent_dim", self.latent_dim)
        check_choice("architecture", self.architecture, ARCHITECTURES)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("likelihood", self.likelihood, LIKELIHOODS)
        check_choice("variance", self.variance, VARIANCES)
        check_choice("scaling", self.scaling, SCALINGS)
        check_choice("noise", self.noise, NOISES)
        check_nonneg_float("noise_level", self.noise_level)
        check_nonneg_float("sigma", self.sigma)
        if self.sigma == 0:
            raise ConfigError("sigma must be > 0.")
        if self.likelihood == "bernoulli" and self.scaling in ("standard", "robust"):
            raise ConfigError(
                f"likelihood='bernoulli' models values in [0, 1], but scaling={self.scaling!r} gives negative ones; "
                "use scaling='minmax' or likelihood='gaussian'."
            )
        if self.variance == "decoder" and self.likelihood == "gaussian" and self.architecture != "mlp":
            raise ConfigError("variance='decoder' needs architecture='mlp'; use variance='per_feature' with conv or seq.")
        if (self.likelihood == "categorical") != (self.architecture == "text"):
            raise ConfigError(
                "likelihood='categorical' (over token ids) goes with architecture='text' and the reverse; "
                "for texts use latentlab.TextVAE or latentlab.TextAutoencoder."
            )
        if self.noise in ("masking", "salt_pepper") and self.noise_level > 1:
            raise ConfigError(f"noise_level={self.noise_level} is a fraction for {self.noise!r} noise; use 0..1.")
        if not isinstance(self.hidden, tuple) or len(self.hidden) == 0:
            raise ConfigError("hidden must be a non-empty tuple of layer sizes, e.g. (256, 128).")
        for i, h in enumerate(self.hidden):
            check_positive_int(f"hidden[{i}]", h)
        check_positive_int("n_classes", self.n_classes, allow_zero=True)
        for name in ("input_shape", "image_shape"):
            shape = getattr(self, name)
            if shape is None:
                continue
            if not isinstance(shape, tuple) or len(shape) == 0:
                raise ConfigError(f"{name} must be a non-empty tuple of ints, got {shape!r}.")
            for i, s in enumerate(shape):
                check_positive_int(f"{name}[{i}]", s)
            if math.prod(shape) > MAX_DIM * 10:
                raise ConfigError(f"{name}={shape} is absurdly large ({math.prod(shape)} values per sample).")
        if self.image_shape is not None and len(self.image_shape) != 3:
            raise ConfigError("image_shape must be (channels, height, width).")

    # ------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, with the ``family`` name."""
        out: dict[str, Any] = {"family": self.family}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build from :meth:`to_dict` output; unknown fields are refused."""
        if not isinstance(data, dict):
            raise ConfigError(f"a config must be a JSON object, got {type(data).__name__}.")
        data = dict(data)
        family = data.pop("family", cls.family)
        if family != cls.family:
            raise ConfigError(f"config is for family {family!r}, not {cls.family!r}.")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(
                f"unknown config field(s) {unknown} for family {cls.family!r}; known fields: {sorted(known)}."
            )
        hints = typing.get_type_hints(cls)
        for name, value in data.items():
            _check_json_type(name, value, hints[name])
        return cls(**data)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _check_json_type(name: str, value: Any, hint: Any) -> None:
    """Reject values whose JSON type cannot be what the field expects."""
    text = str(hint)
    if value is None:
        if "None" not in text:
            raise ConfigError(f"config field {name!r} may not be null.")
        return
    if "tuple" in text:
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(f"config field {name!r} must be a list of integers, got {value!r}.")
    elif hint is int or text == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"config field {name!r} must be an integer, got {value!r}.")
    elif hint is float or text == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"config field {name!r} must be a number, got {value!r}.")
    elif hint is str or text == "str":
        if not isinstance(value, str):
            raise ConfigError(f"config field {name!r} must be a string, got {value!r}.")
    elif hint is bool or text == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"config field {name!r} must be true or false, got {value!r}.")


__all__ = ["ModelConfig", "check_choice", "check_positive_int", "check_nonneg_float", "register", "get_family", "families", "field"]
