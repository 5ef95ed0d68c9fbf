"""Frozen, typed model configs and the family registry.

Each family has one config dataclass (a subclass of :class:`ModelConfig`),
validated when built and round-tripped through JSON. The checks
(:func:`check_choice`, :func:`check_positive_int`, :func:`check_nonneg_float`)
are public: every config in the library, training's included, uses them.
They are :class:`Param` declarations, the same ones the scikit-learn
estimators declare for their parameters (``param_specs``, checked by
:func:`check_params` at the start of ``fit``) and the command line reads for
its options, so each bad value gets one message wherever it is given.
The registry that maps the ``family`` name in ``config.json`` to the model
class lives in :mod:`latentlab.registry` and is re-exported here.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
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


@dataclass(frozen=True)
class Param:
    """How one parameter is checked, declared once and read by the configs, the estimators and the CLI.

    Parameters
    ----------
    kind : type
        ``int``, ``float`` (any finite real), ``str``, ``bool``, ``tuple``
        (a non-empty tuple or list of integers within the bounds, such as
        layer widths) or ``dict``.
    low, high : float or None
        Bounds of a number (of each element of a tuple); None for none.
    closed : {'both', 'left', 'right', 'neither'}
        Which bounds belong to the range.
    choices : tuple
        The values a ``str`` may take; empty for any string.
    also : tuple
        Other values taken as they are, such as ``'auto'`` or ``None``.

    Examples
    --------
    >>> Param(float, low=0, high=0.5, closed="right").describe()
    'a finite number in (0, 0.5]'
    >>> Param(int, low=1, also=("auto",)).check("epochs", 0)
    Traceback (most recent call last):
    ...
    latentlab.errors.ConfigError: epochs=0 must be an integer >= 1, or 'auto'.
    >>> Param(str, choices=("knn", "none")).parse("classical", "knn")
    'knn'
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"
    choices: tuple = ()
    also: tuple = ()

    def describe(self) -> str:
        """What the value must be, in words (the end of the error message)."""
        if self.kind is int or self.kind is float or self.kind is tuple:
            what = {int: "an integer", float: "a finite number", tuple: "a non-empty tuple of integers"}[self.kind]
            what += self._range()
        else:
            what = {bool: "True or False", str: "a string", dict: "a dict"}[self.kind]
        return what + "".join(f", or {v!r}" for v in self.also)

    def _range(self) -> str:
        lo, hi = self.low, self.high
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        if lo is not None and hi is not None:
            if left and right:
                return f" between {lo} and {hi}"
            return f" in {'[' if left else '('}{lo}, {hi}{']' if right else ')'}"
        if lo is not None:
            return f" {'>=' if left else '>'} {lo}"
        if hi is not None:
            return f" {'<=' if right else '<'} {hi}"
        return ""

    def _number_ok(self, v: Any, kind: type) -> bool:
        if _is_bool(v) or not isinstance(v, numbers.Integral if kind is int else numbers.Real):
            return False
        if not math.isfinite(v):
            return False
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.low is not None and (v < self.low or (v == self.low and not left)):
            return False
        return self.high is None or not (v > self.high or (v == self.high and not right))

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` passes :meth:`check`."""
        if any(value is v or (isinstance(value, str) and value == v) for v in self.also):
            return True
        if self.choices:
            return isinstance(value, str) and value in self.choices
        if self.kind is tuple:
            return isinstance(value, (tuple, list)) and len(value) > 0 and all(self._number_ok(v, int) for v in value)
        if self.kind in (int, float):
            return self._number_ok(value, self.kind)
        if self.kind is bool:
            return _is_bool(value)
        return isinstance(value, self.kind)

    def check(self, name: str, value: Any) -> None:
        """Raise :class:`~latentlab.ConfigError` naming ``name``, the value and what it must be."""
        if self.accepts(value):
            return
        if self.choices:
            options = [*self.choices, *self.also]
            raise ConfigError(f"{name}={value!r} is not one of {options}; pick one of those.")
        raise ConfigError(f"{name}={value!r} must be {self.describe()}.")

    def parse(self, name: str, text: str | list[str]) -> Any:
        """A command-line value (a list of words for a tuple): converted to ``kind``, then checked.

        Words in ``also`` are taken as they are, and 'none' stands for None when
        None is allowed. A word that does not convert is checked as it is, so
        the message is the one the estimator and the config give.
        """
        words = list(text) if isinstance(text, (list, tuple)) else [text]
        if len(words) == 1 and words[0] in self.also:
            value: Any = words[0]
        elif len(words) == 1 and words[0].lower() == "none" and None in self.also:
            value = None
        elif self.kind is tuple:
            value = tuple(_convert(int, w) for w in words)
        else:
            value = _convert(self.kind, words[0])
        self.check(name, value)
        return value


def _is_bool(value: Any) -> bool:
    """Python's or NumPy's bool (neither counts as a number here)."""
    return isinstance(value, bool) or (type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"))


def _convert(kind: type, text: str) -> Any:
    """``text`` as ``kind`` when it reads as one, else ``text`` itself (which the check then refuses)."""
    if kind is bool:
        return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text.lower(), text)
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            return text
    return text


def check_params(params: dict[str, Any], specs: dict[str, Param]) -> None:
    """Check each value of ``params`` against its :class:`Param` in ``specs``; the first bad one raises.

    Examples
    --------
    >>> check_params({"lr": 0.0}, {"lr": Param(float, low=0, closed="neither")})
    Traceback (most recent call last):
    ...
    latentlab.errors.ConfigError: lr=0.0 must be a finite number > 0.
    """
    for name, spec in specs.items():
        if name in params:
            spec.check(name, params[name])


# The checks every config uses: one Param each, so their messages are the estimators' and the CLI's.
SIZE = Param(int, low=1, high=MAX_DIM)
COUNT = Param(int, low=0, high=MAX_DIM)
NONNEG = Param(float, low=0)


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """``value`` is one of ``choices``, or :class:`~latentlab.ConfigError`."""
    if value not in choices:  # a choice may be other than a string (True, None): compared as it is
        Param(str, choices=tuple(choices)).check(name, value)


def check_positive_int(name: str, value: Any, *, allow_zero: bool = False) -> None:
    """An integer between 1 (0 with ``allow_zero``) and ``MAX_DIM``, or :class:`~latentlab.ConfigError`."""
    (COUNT if allow_zero else SIZE).check(name, value)


def check_nonneg_float(name: str, value: Any) -> None:
    """A finite number >= 0, or :class:`~latentlab.ConfigError`."""
    NONNEG.check(name, value)


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


__all__ = ["ModelConfig", "Param", "check_params", "check_choice", "check_positive_int", "check_nonneg_float", "register", "get_family", "families", "field"]
