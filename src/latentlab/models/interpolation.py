"""Linear and spherical interpolation between codes."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

#: Points one interpolation path may have. A path is for looking at; for a denser one, interpolate
#: between points of a coarser path, part by part.
MAX_STEPS = 100_000


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points ``(1 - t) a + t b`` for each ``t``; shape ``(len(t), L)``."""
    t = np.asarray(t, dtype=np.float64)[:, None]
    return ((1 - t) * a[None] + t * b[None]).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation (Shoemake 1985; White, "Sampling generative networks", 2016).

    Falls back to linear when ``a`` and ``b`` are (anti)parallel or zero.

    Examples
    --------
    >>> [round(float(v), 4) for v in slerp(np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.5]))[0]]
    [0.7071, 0.7071]
    """
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a64), np.linalg.norm(b64)
    if na < 1e-12 or nb < 1e-12:
        return lerp(a, b, t)
    cos = np.clip(a64 @ b64 / (na * nb), -1.0, 1.0)
    omega = np.arccos(cos)
    if np.sin(omega) < 1e-6:
        return lerp(a, b, t)
    t = np.asarray(t, dtype=np.float64)[:, None]
    out = (np.sin((1 - t) * omega) * a64 + np.sin(t * omega) * b64) / np.sin(omega)
    return out.astype(np.float32)


def interpolate_codes(a, b, steps: int = 10, method: str = "linear") -> np.ndarray:
    """``steps`` codes from ``a`` to ``b`` inclusive, by 'linear' or 'slerp' (also called 'spherical').

    ``steps`` is 2 to :data:`MAX_STEPS`, checked before anything is allocated.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ConfigError(f"steps={steps!r} must be an integer >= 2.")
    check_steps(steps)
    fns = {"linear": lerp, "slerp": slerp, "spherical": slerp}
    if method not in fns:
        raise ConfigError(f"method={method!r} is not one of {sorted(fns)}.")
    t = np.linspace(0.0, 1.0, int(steps))
    return fns[method](np.asarray(a, np.float32).ravel(), np.asarray(b, np.float32).ravel(), t)


def check_steps(steps: int) -> None:
    """Refuse a path of more than :data:`MAX_STEPS` points, with the way to get a denser one."""
    if int(steps) > MAX_STEPS:
        raise ConfigError(
            f"steps={int(steps):,} is more than {MAX_STEPS:,} points a path (MAX_STEPS); for a denser path, "
            "interpolate in batches: between neighbouring points of a coarser path, one part at a time."
        )
