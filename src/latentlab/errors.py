"""The library's documented exceptions.

Every error raised on bad input is one of these. Each subclasses the builtin
that scikit-learn and NumPy users already catch (``ValueError``,
``TypeError``, ``RuntimeError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class LatentlabError(Exception):
    """Base class of every error latentlab raises on purpose."""


class DataError(LatentlabError, ValueError):
    """The data given is unusable: NaN, wrong shape, empty, too few samples..."""


class DataTypeError(LatentlabError, TypeError):
    """The data is of a type latentlab cannot read (strings, objects...)."""


class ConfigError(LatentlabError, ValueError):
    """A configuration value or name is invalid (unknown family, size <= 0...)."""


class ModelFileError(LatentlabError, ValueError):
    """A saved model folder is missing, corrupt, foreign or unsafe to load."""


class TrainingError(LatentlabError, RuntimeError):
    """Training could not go on (for example a NaN or inf loss)."""


class NotFittedError(LatentlabError, AttributeError):
    """The model is used before ``fit`` (or ``load``)."""


class DataWarning(UserWarning):
    """Data that can be used but is probably a mistake (far outside the training range, all constant)."""


class PosteriorCollapseWarning(UserWarning):
    """A variational model whose latent dimensions carry (almost) no information about the input."""


__all__ = [
    "LatentlabError",
    "DataError",
    "DataTypeError",
    "ConfigError",
    "ModelFileError",
    "TrainingError",
    "NotFittedError",
    "DataWarning",
    "PosteriorCollapseWarning",
]
