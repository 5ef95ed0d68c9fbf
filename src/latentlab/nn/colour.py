"""An orthonormal opponent colour space, so that a grey denoiser can clean colour photos.

White Gaussian noise of standard deviation ``s`` on each of R, G and B stays
white Gaussian noise of standard deviation ``s`` on each channel of any
orthonormal transform of them, while the photo's content concentrates in the
first channel (the mean of R, G and B) and the other two are smooth. The
transform here is the orthonormal one of Dabov et al.'s CBM3D, each channel
then mapped onto [0, 1] by a fixed scale and shift (which scales its noise by
the same factor: a blind grey denoiser handles that level as any other).
"""

from __future__ import annotations

import numpy as np

_S3, _S2, _S6 = np.sqrt(3.0), np.sqrt(2.0), np.sqrt(6.0)
#: rows: luminance (R + G + B)/sqrt(3), red-blue (R - B)/sqrt(2), green-magenta (R - 2G + B)/sqrt(6)
OPPONENT = np.array([[1 / _S3, 1 / _S3, 1 / _S3], [1 / _S2, 0.0, -1 / _S2], [1 / _S6, -2 / _S6, 1 / _S6]])
# Each channel's range for RGB in [0, 1] is mapped onto [0, 1]: scale, then shift.
_SCALE = np.array([1 / _S3, 1 / _S2, _S6 / 4])
_SHIFT = np.array([0.0, 0.5, 0.5])


def to_opponent(rgb: np.ndarray) -> np.ndarray:
    """``(3, H, W)`` RGB on [0, 1] -> the three opponent channels, each on [0, 1] (float32).

    Examples
    --------
    >>> x = np.random.default_rng(0).random((3, 4, 5)).astype(np.float32)
    >>> bool(np.allclose(from_opponent(to_opponent(x)), x, atol=1e-6))
    True
    >>> [round(float(v), 4) for v in noise_scale()]
    [0.5774, 0.7071, 0.6124]
    """
    flat = np.tensordot(OPPONENT, rgb.astype(np.float64), axes=(1, 0))
    return (flat * _SCALE[:, None, None] + _SHIFT[:, None, None]).astype(np.float32)


def from_opponent(opp: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_opponent` (float32 RGB, not clipped)."""
    flat = (opp.astype(np.float64) - _SHIFT[:, None, None]) / _SCALE[:, None, None]
    return np.tensordot(OPPONENT.T, flat, axes=(1, 0)).astype(np.float32)


def noise_scale() -> np.ndarray:
    """The factor by which each opponent channel scales the noise of the RGB channels."""
    return _SCALE.copy()


__all__ = ["OPPONENT", "to_opponent", "from_opponent", "noise_scale"]
