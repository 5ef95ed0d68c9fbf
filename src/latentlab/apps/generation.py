"""Generation helpers on top of ``model.sample`` / ``model.decode``."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

MAX_GRID = 300  # points a side of a decoded latent grid: 90,000 samples


def latent_plane(
    model, n: int = 15, span: tuple[float, float] = (-2.5, 2.5), base: np.ndarray | None = None
) -> np.ndarray:
    """``n*n`` codes on a grid over the first two latent dims (others from ``base`` or 0).

    Rows go from high z2 (top) to low z2, columns from low z1 to high z1.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_GRID:
        raise ConfigError(
            f"n={n!r}: n must be >= 1 and at most {MAX_GRID} points a side ({MAX_GRID**2:,} decoded samples)."
        )
    L = model.config.latent_dim
    lin = np.linspace(span[0], span[1], n, dtype=np.float32)
    z1, z2 = np.meshgrid(lin, lin[::-1])
    codes = (
        np.zeros((n * n, L), dtype=np.float32) if base is None else np.tile(np.asarray(base, np.float32), (n * n, 1))
    )
    codes[:, 0] = z1.ravel()
    if L > 1:
        codes[:, 1] = z2.ravel()
    return codes


def decode_grid(model, n: int = 15, span: tuple[float, float] = (-2.5, 2.5), base: np.ndarray | None = None):
    """Decode the ``n x n`` codes of :func:`latent_plane`; shape ``(n*n, *input_shape)``, row-major.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 8)).astype("float32")
    >>> vae = latentlab.VAE(latent_dim=2, hidden=(16,)).fit(X, epochs=2, verbose=False)
    >>> decode_grid(vae, n=3).shape
    (9, 8)
    """
    return model.decode(latent_plane(model, n, span, base))


def sample_prior(model, n: int, *, seed: int | None = 0, generator=None, label: int | None = None) -> np.ndarray:
    """``n`` samples decoded from the prior; ``label`` picks the class of a conditional model.

    The same ``seed`` (or a generator in the same state) gives the same samples.
    """
    if label is not None and model.config.n_classes == 0:
        raise ConfigError("label= needs a conditional model (n_classes > 0); this one is unconditional.")
    return model.sample(n, y=label, seed=seed if generator is None else None, generator=generator)


def class_mean_codes(model, X: np.ndarray, y: np.ndarray) -> dict[int, np.ndarray]:
    """Mean code (posterior mean) of each class in ``y``."""
    y = np.asarray(y).astype(int)
    Z = model.encode(X, y if model.config.n_classes > 0 else None)
    return {int(c): Z[y == c].mean(0) for c in np.unique(y)}


def latent_arithmetic(
    model, X: np.ndarray, y: np.ndarray, a: int, b: int, base: np.ndarray, scale: float = 1.0
) -> np.ndarray:
    """Decode ``code(base) + scale * (mean code of class a - mean code of class b)``.

    ``base`` is one sample or a batch; the result has one decoded sample per base sample.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X, y = latentlab.load_digits()
    >>> ae = latentlab.Autoencoder(latent_dim=4, hidden=(32,)).fit(X[:300], epochs=2, verbose=False)
    >>> latent_arithmetic(ae, X[:300], y[:300], a=1, b=7, base=X[:2]).shape
    (2, 64)
    """
    means = class_mean_codes(model, X, y)
    for c in (a, b):
        if c not in means:
            raise ConfigError(f"class {c} does not occur in y; pick classes from {sorted(means)}.")
    base = np.asarray(base, dtype=np.float32)
    if base.ndim == len(model.config.input_shape):
        base = base[None]
    if model.config.n_classes > 0:
        raise ConfigError("latent arithmetic takes an unconditional model; a conditional one sees labels instead.")
    Z = model.encode(base) + float(scale) * (means[a] - means[b])[None, :]
    return model.decode(Z.astype(np.float32))
