"""The ``latentlab`` command line, built on the public API.

Each command group lives in its own module with a ``register(subparsers)``
function; options for models and training are generated from the config
dataclasses (see :mod:`latentlab.cli.options`), so there is no second list
of options to keep in sync.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import LatentlabError

# Modules that add sub-commands, in the order they appear in --help.
COMMAND_MODULES = ("core", "jobs", "web", "export", "series", "image_codec", "photos", "images")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command`` given, the other sub-commands may skip their options.

    A module whose options are costly to build (``detect`` and ``impute`` read
    them from the scikit-learn estimators, a second of imports) adds only the
    name and help of those sub-commands unless one of them is the ``command``.
    """
    parser = argparse.ArgumentParser(
        prog="latentlab",
        description="Autoencoders for compression, features, denoising, anomalies, generation and imputation.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub, command)
    return parser


def _command(argv: list[str]) -> str | None:
    """The sub-command named in ``argv`` (its first word not starting with '-'), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command(argv))
    try:
        args = parser.parse_args(argv)
    except LatentlabError as exc:  # an option's value refused by its declaration (cli.options.add_param_options)
        print(f"latentlab {_command(argv)}: error: {exc}", file=sys.stderr)
        return 2
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except LatentlabError as exc:
        print(f"latentlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
