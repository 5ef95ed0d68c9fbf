"""Likelihood bounds as jobs: the ELBO and the importance-sampled NLL, in nats per sample, in the data's units.

Thin fronts on :mod:`latentlab.models.bounds` (the same figures as
``model.elbo(X)`` and ``-model.log_likelihood(X, k=...)``), kept for the
evaluation report and for scripts written against them.
"""

from __future__ import annotations

import numpy as np

from ..models.bounds import bounds, has_density

__all__ = ["has_density", "elbo", "importance_nll"]


def elbo(model, X, y=None, *, n_samples: int = 1, seed: int = 0, batch: int | None = None) -> np.ndarray:
    """Per-sample ELBO, a Monte-Carlo average over ``n_samples`` draws of ``log p(x|z) + log p(z) - log q(z|x)``.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 8)).astype("float32")
    >>> vae = latentlab.VAE(latent_dim=2, hidden=(16,)).fit(X, epochs=2, verbose=False)
    >>> e = elbo(vae, X, n_samples=4)
    >>> e.shape, bool((e < 0).all())
    ((200,), True)
    """
    return bounds(model, X, y, k=n_samples, seed=seed, batch=batch)[1]


def importance_nll(model, X, y=None, *, k: int = 100, seed: int = 0, batch: int | None = None) -> np.ndarray:
    """Per-sample negative log-likelihood estimate from ``k`` importance samples (an upper bound on -log p(x)).

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 8)).astype("float32")
    >>> vae = latentlab.VAE(latent_dim=2, hidden=(16,)).fit(X, epochs=2, verbose=False)
    >>> bool(importance_nll(vae, X, k=50).mean() < -elbo(vae, X, n_samples=50).mean())
    True
    """
    return -bounds(model, X, y, k=k, seed=seed, batch=batch)[0]
