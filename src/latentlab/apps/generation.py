"""Generation helpers on top of ``model.sample`` / ``model.decode``."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError


def latent_plane(
    model, n: int = 15, span: tuple[float, float] = (-2.5, 2.5), base: np.ndarray | None = None
) -> np.ndarray:
    """``n*n`` codes on a grid over the first two latent dims (others from ``base`` or 0).

    Rows go from high z2 (top) to low z2, columns from low z1 to high z1.
    """
    if n < 1:
        raise ConfigError("n must be >= 1.")
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
