"""argparse options generated from the config dataclasses."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any

from ..config import get_family
from ..errors import ConfigError


def _kind(hint: Any) -> tuple[type, bool]:
    """(base type, is_tuple) for a dataclass field's type hint."""
    text = str(hint)
    if "tuple" in text:
        return int, True
    for t in (bool, int, float, str):
        if hint is t or text in (t.__name__, f"{t.__name__} | None", f"typing.Optional[{t.__name__}]"):
            return t, False
    if "float" in text:
        return float, False
    if "int" in text:
        return int, False
    return str, False


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _none_or(t):
    def parse(text: str):
        return None if text.lower() == "none" else t(text)

    parse.__name__ = t.__name__
    return parse


def add_dataclass_options(group, cls, exclude: set[str] = frozenset(), seen: set[str] | None = None) -> None:
    """Add ``--field-name`` for each field of dataclass ``cls`` (defaults suppressed)."""
    hints = typing.get_type_hints(cls)
    seen = set() if seen is None else seen
    for f in dataclasses.fields(cls):
        if f.name in exclude or f.name in seen:
            continue
        seen.add(f.name)
        base, is_tuple = _kind(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else None
        parse = _parse_bool if base is bool else _none_or(base)
        kwargs: dict[str, Any] = dict(dest=f.name, default=argparse.SUPPRESS, help=f"(default: {default})")
        if is_tuple:
            kwargs.update(nargs="+", type=int, metavar="N")
        else:
            kwargs.update(type=parse, metavar=base.__name__.upper())
        group.add_argument(flag, **kwargs)


def model_config_classes() -> list[type]:
    from ..config import families

    return [get_family(name).config_class for name in families()]


def add_model_options(parser) -> None:
    group = parser.add_argument_group("model options (fields of the family's config)")
    seen: set[str] = set()
    for cls in model_config_classes():
        add_dataclass_options(group, cls, exclude={"input_shape"}, seen=seen)


def add_train_options(parser) -> None:
    from ..training.trainer import TrainConfig

    add_dataclass_options(parser.add_argument_group("training options"), TrainConfig)


def pick(args: argparse.Namespace, cls) -> dict[str, Any]:
    """The options in ``args`` that belong to dataclass ``cls``."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names}


def model_options_for(args: argparse.Namespace, family: str) -> dict[str, Any]:
    """Model options given on the command line, refused if the family lacks them."""
    cls = get_family(family).config_class
    given = set()
    for other in model_config_classes():
        given |= set(pick(args, other))
    own = pick(args, cls)
    foreign = sorted(given - set(own))
    if foreign:
        raise ConfigError(
            f"option(s) {['--' + f.replace('_', '-') for f in foreign]} do not apply to family {family!r}."
        )
    return {k: tuple(v) if isinstance(v, list) else v for k, v in own.items()}
