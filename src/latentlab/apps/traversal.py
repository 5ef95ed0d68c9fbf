"""Latent traversal: each code dimension swept in turn while the others are held at one input's code.

The standard figure of the disentanglement literature (Higgins et al.,
"beta-VAE", ICLR 2017): row ``d`` decodes ``z`` with ``z_d`` replaced by
evenly spaced values and every other dimension as the input's posterior
mean, so a disentangled model shows one factor (position, scale, ...)
changing along each row, and a collapsed dimension a row of identical images.
"""

from __future__ import annotations

import numpy as np

from . import plots


def traversal_codes(model, x: np.ndarray, steps: int = 9, span: float = 2.5, dims=None) -> np.ndarray:
    """``(len(dims), steps, latent_dim)`` codes: row d sweeps ``z_d`` over ``[-span, span]`` around ``x``'s code.

    The sweep is absolute (the prior's units), so each row covers the same
    range; ``dims`` defaults to every dimension.

    Examples
    --------
    >>> import latentlab
    >>> rows = np.random.default_rng(0).random((64, 4)).astype(np.float32)
    >>> m = latentlab.VAE(latent_dim=3, hidden=(8,)).fit(rows, epochs=1, verbose=False)
    >>> codes = traversal_codes(m, np.zeros(4, np.float32), steps=5, dims=[0, 2])
    >>> codes.shape, codes[1, :, 2].tolist()
    ((2, 5, 3), [-2.5, -1.25, 0.0, 1.25, 2.5])
    """
    base = model.encode(np.asarray(x, dtype=np.float32)[None])[0]  # (L,)
    dims = list(range(len(base))) if dims is None else [int(d) for d in dims]
    values = np.linspace(-span, span, steps, dtype=np.float32)
    codes = np.repeat(base[None, None], len(dims), 0).repeat(steps, 1)  # (D, S, L)
    for r, d in enumerate(dims):
        codes[r, :, d] = values
    return codes


def order_by_activity(model, X: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Dimensions from the most to the least varying posterior mean over ``X``, and those variances."""
    var = model.encode(X).var(0)
    return [int(d) for d in np.argsort(-var, kind="stable")], var


def latent_traversal(model, x: np.ndarray, steps: int = 9, span: float = 2.5, X: np.ndarray | None = None,
                     max_dims: int = 10):
    """The traversal figure of one input ``x``: a row per latent dimension, ``steps`` columns.

    With data ``X`` the rows are ordered from the most active dimension down
    (variance of the posterior mean over ``X``, shown in the row label) and
    only the ``max_dims`` most active are drawn.

    Examples
    --------
    >>> import latentlab
    >>> rows = np.random.default_rng(0).random((64, 16)).astype(np.float32)
    >>> m = latentlab.VAE(latent_dim=3, hidden=(8,)).fit(rows, epochs=1, verbose=False)
    >>> fig = latent_traversal(m, np.zeros(16, np.float32), steps=4)
    >>> len([a for a in fig.axes if a.images]), fig._suptitle.get_text()[:16]
    (12, 'vae: latent trav')
    >>> plots.plt.close(fig)
    """
    if X is not None:
        dims, var = order_by_activity(model, X)
        dims = dims[:max_dims]
        labels = [f"z{d + 1} (var {var[d]:.2g})" for d in dims]
    else:
        dims = list(range(min(model.config.latent_dim, max_dims)))
        labels = [f"z{d + 1}" for d in dims]
    codes = traversal_codes(model, x, steps, span, dims)
    rows = [(label, model.decode(c)) for label, c in zip(labels, codes)]
    cols = [f"{v:+.2g}" for v in np.linspace(-span, span, steps)]
    title = f"{model.family}: latent traversal, each row sweeps one dimension; the others stay at one input's code"
    return plots._rows_of_images(rows, title, col_titles=cols, scale=0.7)


__all__ = ["latent_traversal", "traversal_codes", "order_by_activity"]
