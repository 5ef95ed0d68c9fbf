"""argparse options generated from the config dataclasses and the estimators' ``param_specs``."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any

from ..config import Param, get_family
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


def _bool_or_word(text: str):
    """A field typed ``bool | str`` (``amp``): true/false, or a word such as 'auto'."""
    try:
        return _parse_bool(text)
    except argparse.ArgumentTypeError:
        return text


def _none_or(t):
    def parse(text: str):
        return None if text.lower() == "none" else t(text)

    parse.__name__ = t.__name__
    return parse


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


# What a None default means, for the options whose None is not plain "off".
NONE_MEANS = {
    "epochs": "none: train until early stopping, capped at 10,000 steps' worth (150 to 1000 epochs)",
    "grad_clip": "none: no gradient clipping",
}


def _shown(value: Any) -> str:
    """A default as one would type it: tuples as space-separated numbers."""
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def add_dataclass_options(group, cls, exclude: set[str] = frozenset(), seen: set[str] | None = None) -> list:
    """Add ``--field-name`` for each field of dataclass ``cls`` (defaults suppressed); return the actions."""
    hints = typing.get_type_hints(cls)
    seen = set() if seen is None else seen
    actions = []
    for f in dataclasses.fields(cls):
        if f.name in exclude or f.name in seen:
            continue
        seen.add(f.name)
        base, is_tuple = _kind(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        parse = _parse_bool if base is bool else _none_or(base)
        if str(f.type).replace(" ", "") == "bool|str":
            parse = _bool_or_word
        default = _default(f)
        shown = NONE_MEANS.get(f.name, "none") if default is None else _shown(default)
        kwargs: dict[str, Any] = dict(dest=f.name, default=argparse.SUPPRESS, help=f"(default: {shown})")
        if is_tuple:
            kwargs.update(nargs="+", type=int, metavar="N")
        else:
            kwargs.update(type=parse, metavar=base.__name__.upper())
        actions.append(group.add_argument(flag, **kwargs))
    return actions


def model_config_classes() -> list[type]:
    from ..config import families

    return [get_family(name).config_class for name in families()]


def add_model_options(parser, family: str = "vae") -> None:
    """Add every family's config fields once; their help gives ``family``'s defaults (see :func:`show_family_defaults`)."""
    group = parser.add_argument_group("model options (fields of the family's config)")
    seen: set[str] = set()
    for cls in model_config_classes():
        for action in add_dataclass_options(group, cls, exclude={"input_shape", "tokenizer_sha256"}, seen=seen):
            action.model_field = action.dest
    show_family_defaults(parser, family)


def family_default_help(name: str, family: str) -> str:
    """Help text of model option ``name`` for ``family``: its default there, or the families that use it.

    Examples
    --------
    >>> family_default_help("beta", "vae")
    '(default for vae: 1.0)'
    >>> family_default_help("codebook_size", "ae")
    '(not used by ae; used by vqvae)'
    """
    from ..config import families

    own = {f.name: f for f in dataclasses.fields(get_family(family).config_class)}
    if name in own:
        return f"(default for {family}: {_shown(_default(own[name]))})"
    users = [n for n in families() if name in {f.name for f in dataclasses.fields(get_family(n).config_class)}]
    return f"(not used by {family}; used by {', '.join(users)})"


def show_family_defaults(parser, family: str) -> None:
    """Rewrite the help of the model options added by :func:`add_model_options` for ``family``.

    Unknown family names leave the help as it is (training refuses them with a clear error).
    """
    from ..config import families

    if family not in families():
        return
    for action in parser._actions:
        name = getattr(action, "model_field", None)
        if name is not None:
            action.help = family_default_help(name, family)


def add_train_options(parser) -> None:
    from ..training.trainer import TrainConfig

    # --log-dir and --csv-log are the train command's own (its TensorBoard logger also shows reconstructions)
    add_dataclass_options(parser.add_argument_group("training options"), TrainConfig, exclude=LOGGING)


LOGGING = frozenset({"log_dir", "csv_log"})


def pick(args: argparse.Namespace, cls) -> dict[str, Any]:
    """The options in ``args`` that belong to dataclass ``cls`` (the training logs are built as callbacks)."""
    names = {f.name for f in dataclasses.fields(cls)} - LOGGING
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


class _CheckedValue(argparse.Action):
    """Stores a :class:`~latentlab.config.Param`'s parsed and checked value.

    A bad value raises the :class:`~latentlab.ConfigError` that the estimator
    would raise, with its message; :func:`latentlab.cli.main` reports it and
    returns 2, as it does for a bad config value.
    """

    def __init__(self, *args, spec: Param, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = spec

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, self.spec.parse(self.dest, values))


def _metavar(spec: Param) -> str:
    """``{a,b,none}`` for choices, else the kind and the words it also takes: ``INT|auto``."""
    words = ["none" if w is None else str(w) for w in spec.also]
    if spec.choices:
        return "{" + ",".join([*spec.choices, *words]) + "}"
    return "|".join([{int: "INT", float: "FLOAT", str: "STR", bool: "BOOL", tuple: "N"}[spec.kind], *words])


def add_param_options(group, specs: dict[str, Param], defaults: dict[str, Any], helps: dict[str, str] | None = None):
    """``--name`` for each parameter in ``specs`` (dicts left out), parsed and checked by its :class:`Param`.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="demo")
    >>> _ = add_param_options(parser, {"n_models": Param(int, low=1, also=("auto",))}, {"n_models": "auto"})
    >>> parser.parse_args(["--n-models", "3"]).n_models
    3
    """
    helps = helps or {}
    actions = []
    for name, spec in specs.items():
        if spec.kind is dict:
            continue
        default = defaults[name]
        shown = "auto, from the data's size" if default == "auto" else _shown(default)
        help_text = helps.get(name, f"{spec.describe()} (default: {shown})")
        flag = "--" + name.replace("_", "-")
        nargs = "+" if spec.kind is tuple else None
        action = group.add_argument(flag, dest=name, action=_CheckedValue, spec=spec, default=default, nargs=nargs,
                                    metavar=_metavar(spec), help=help_text.replace("%", "%%"))
        actions.append(action)
    return actions
