"""The library's documented exceptions.

Every error raised on bad input is one of these. Each subclasses the builtin
that scikit-learn and NumPy users already catch (``ValueError``,
``TypeError``, ``RuntimeError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class LatentlabError(Exception):
    """Base class of every error latentlab raises on purpose.

    Examples
    --------
    >>> import latentlab
    >>> try:
    ...     latentlab.create("no-such-family")
    ... except latentlab.LatentlabError as e:
    ...     print(type(e).__name__)
    ConfigError
    """


class DataError(LatentlabError, ValueError):
    """The data given is unusable: NaN, wrong shape, empty, too few samples...

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.array([[np.nan, 1.0]] * 8)
    >>> try:
    ...     latentlab.Autoencoder(latent_dim=2).fit(X, epochs=1, verbose=False)
    ... except latentlab.DataError as e:
    ...     print(str(e)[:20])
    X contains 8 NaN and
    >>> issubclass(latentlab.DataError, latentlab.LatentlabError), issubclass(latentlab.DataError, ValueError)
    (True, True)
    """


class DataTypeError(LatentlabError, TypeError):
    """The data is of a type latentlab cannot read (strings, objects...).

    Examples
    --------
    >>> import latentlab
    >>> try:
    ...     latentlab.Autoencoder(latent_dim=2).fit([["a", "b"]] * 8, epochs=1, verbose=False)
    ... except latentlab.DataTypeError as e:
    ...     print(str(e)[:26])
    X holds non-numeric values
    >>> issubclass(latentlab.DataTypeError, latentlab.LatentlabError), issubclass(latentlab.DataTypeError, TypeError)
    (True, True)
    """


class ConfigError(LatentlabError, ValueError):
    """A configuration value or name is invalid (unknown family, size <= 0...).

    Examples
    --------
    >>> import latentlab
    >>> try:
    ...     latentlab.VAE(latent_dim=0)
    ... except latentlab.ConfigError as e:
    ...     print(e)
    latent_dim=0 must be an integer between 1 and 1000000.
    >>> issubclass(latentlab.ConfigError, latentlab.LatentlabError), issubclass(latentlab.ConfigError, ValueError)
    (True, True)
    """


class ModelFileError(LatentlabError, ValueError):
    """A saved model folder is missing, corrupt, foreign or unsafe to load.

    Examples
    --------
    >>> import latentlab
    >>> try:
    ...     latentlab.load("no/such/folder")
    ... except latentlab.ModelFileError as e:
    ...     print(str(e)[:30])
    no/such/folder does not exist,
    >>> issubclass(latentlab.ModelFileError, latentlab.LatentlabError), issubclass(latentlab.ModelFileError, ValueError)
    (True, True)
    """


class TrainingError(LatentlabError, RuntimeError):
    """Training could not go on (for example a NaN or inf loss).

    Examples
    --------
    It is raised when the loss is not finite in the very first epoch, so that
    no weights are worth keeping; ``except RuntimeError`` catches it too.

    >>> import latentlab
    >>> try:
    ...     raise latentlab.TrainingError("the loss became nan in the first epoch")
    ... except RuntimeError as e:
    ...     print(type(e).__name__, isinstance(e, latentlab.LatentlabError))
    TrainingError True
    """


class NotFittedError(LatentlabError, AttributeError):
    """The model is used before ``fit`` (or ``load``).

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> try:
    ...     latentlab.Autoencoder(latent_dim=2).encode(np.zeros((1, 4)))
    ... except latentlab.NotFittedError as e:
    ...     print(e)
    this Autoencoder is not fitted yet; call fit(X) or latentlab.load(dir).
    >>> issubclass(latentlab.NotFittedError, latentlab.LatentlabError), issubclass(latentlab.NotFittedError, AttributeError)
    (True, True)
    """


class DataWarning(UserWarning):
    """Data that can be used but is probably a mistake (far outside the training range, all constant).

    Examples
    --------
    >>> import warnings, numpy as np, latentlab
    >>> X = np.ones((16, 3), dtype="float32")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = latentlab.Autoencoder(latent_dim=2, hidden=(4,)).fit(X, epochs=1, verbose=False)
    >>> any(issubclass(w.category, latentlab.DataWarning) for w in caught)
    True
    >>> issubclass(latentlab.DataWarning, UserWarning)
    True
    """


class PosteriorCollapseWarning(UserWarning):
    """A variational model whose latent dimensions carry (almost) no information about the input.

    Examples
    --------
    Turn it into an error to stop a pipeline on a collapsed model:

    >>> import warnings, latentlab
    >>> issubclass(latentlab.PosteriorCollapseWarning, UserWarning)
    True
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", latentlab.PosteriorCollapseWarning)
    ...     try:
    ...         warnings.warn("2 of 4 latent dimensions collapsed", latentlab.PosteriorCollapseWarning)
    ...     except latentlab.PosteriorCollapseWarning as w:
    ...         print(w)
    2 of 4 latent dimensions collapsed
    """


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
