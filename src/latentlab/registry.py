"""The family registry: the ``family`` name in ``config.json`` -> the model class.

Model classes register themselves with :func:`register` when their module is
imported (importing :mod:`latentlab` imports every family), so nothing here
imports a family and nothing in the library switches on class names. A model
file is rebuilt through :func:`config_from_dict` and :func:`build_checked`,
which refuse unknown families, invalid fields and absurd sizes before any
memory is allocated.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from .errors import ConfigError, LatentlabError, ModelFileError

# A model file describing more values than this (800 MB of float32) is refused before
# anything is allocated; raise it here for a genuinely larger model.
MAX_MODEL_VALUES = 200_000_000

_REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make a model class loadable by its config's family name."""
    name = cls.config_class.family
    known = _REGISTRY.get(name)
    if known is not None and known is not cls:
        if _source(known) == _source(cls) and known.__qualname__ == cls.__qualname__:
            return cls  # the same file imported a second time (e.g. by a doctest runner); keep the first
        raise ConfigError(f"family {name!r} registered twice: by {known.__module__} and {cls.__module__}")
    _REGISTRY[name] = cls
    return cls


def _source(cls: type) -> str | None:
    return getattr(sys.modules.get(cls.__module__), "__file__", None)


def _load_builtin() -> None:
    """Import the built-in families, which register themselves as their modules load.

    ``import latentlab`` loads nothing heavy, so the registry fills on its first lookup, the
    way plugins listed by entry points would; the import is by name so that this bottom layer
    keeps no import arrow up to the models.
    """
    if "latentlab.models" not in sys.modules:
        import importlib

        importlib.import_module("latentlab.models")


def get_family(name: str) -> type:
    """The model class registered under ``name``."""
    _load_builtin()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown family {name!r}; available: {sorted(_REGISTRY)}.") from None


def families() -> list[str]:
    """Names of every registered family."""
    _load_builtin()
    return sorted(_REGISTRY)


def config_from_dict(cfg: Any, where: str):
    """Validate a config dict against its family's schema: ``(model class, config)``."""
    if not isinstance(cfg, dict) or not isinstance(cfg.get("family"), str):
        raise ModelFileError(f"{where} has no config.family.")
    try:
        cls = get_family(cfg["family"])
        config = cls.config_class.from_dict(cfg)
    except ConfigError as exc:
        raise ModelFileError(f"{where} is invalid: {exc}") from None
    except (TypeError, ValueError, OverflowError) as exc:  # a field the schema check let through
        raise ModelFileError(f"{where} is invalid: {exc}") from None
    if config.input_shape is None:
        raise ModelFileError(f"{where} has no input_shape; the model was never fitted.")
    return cls, config


def count_values(cls, config) -> int:
    """Number of values in ``cls(config)``'s state, counted on the ``meta`` device (nothing is allocated).

    Examples
    --------
    >>> from latentlab.models.ae import Autoencoder, AEConfig
    >>> count_values(Autoencoder, AEConfig(input_shape=(4,), latent_dim=2, hidden=(3,)))
    53
    """
    import torch

    with torch.device("meta"):
        probe = cls(config)
    return int(sum(t.numel() for t in probe.state_dict().values()))


def build_checked(cls, config, where: str):
    """Build ``cls(config)`` after counting its values on the ``meta`` device (memory-bomb guard)."""
    try:
        n_values = count_values(cls, config)
    except LatentlabError as exc:
        raise ModelFileError(f"{where} is invalid: {exc}") from None
    except Exception:  # a family that cannot be built on meta: fall back to an estimate
        n_values = _estimate_size(config)
    if n_values > MAX_MODEL_VALUES:
        raise ModelFileError(
            f"{where} describes a model of about {n_values:.3g} values (limit {MAX_MODEL_VALUES:.3g}); "
            "refusing to build it. The file is corrupt or hostile."
        )
    try:
        return cls(config)
    except LatentlabError as exc:
        raise ModelFileError(f"{where} is invalid: {exc}") from None


def _estimate_size(config) -> float:
    """Rough count of values the config's networks hold (used when a meta build is impossible)."""
    d = math.prod(config.input_shape)
    widths = [d, *config.hidden, config.latent_dim]
    return float(sum(a * b for a, b in zip(widths[:-1], widths[1:])) * 2 + d * 4)


__all__ = ["register", "get_family", "families", "config_from_dict", "count_values", "build_checked", "MAX_MODEL_VALUES"]
