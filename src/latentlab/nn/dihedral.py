"""Self-ensembles over the dihedral group: a photo transposed and flipped, each copy processed, turned back, averaged."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

#: The dihedral turns each ``ensemble`` size uses: (transpose, flip rows, flip columns), the identity first.
ENSEMBLES = {
    1: ((False, False, False),),
    2: ((False, False, False), (True, False, False)),
    4: ((False, False, False), (False, True, True), (True, False, False), (True, True, True)),
    8: tuple((t, a, b) for t in (False, True) for a in (False, True) for b in (False, True)),
}


def check_ensemble(ensemble) -> None:
    """Refuse an ``ensemble`` size other than 1, 2, 4 or 8 with a message that names them."""
    if isinstance(ensemble, bool) or not isinstance(ensemble, (int, np.integer)) or int(ensemble) not in ENSEMBLES:
        raise ConfigError(f"ensemble must be 1, 2, 4 or 8 (copies of the photo averaged), got {ensemble!r}.")


def dihedral(x, turn: tuple[bool, bool, bool], inverse: bool = False):
    """``x (C, H, W)`` (a tensor or an array) transposed and/or flipped by ``turn``; ``inverse`` undoes it.

    The inverse flips first, then transposes.
    """
    transpose, rows, cols = turn
    dims = [d for d, on in ((-2, rows), (-1, cols)) if on]
    flip = (lambda a: np.flip(a, dims)) if isinstance(x, np.ndarray) else (lambda a: a.flip(dims))
    if not inverse:
        if transpose:
            x = x.swapaxes(-1, -2)
        return flip(x) if dims else x
    x = flip(x) if dims else x
    return x.swapaxes(-1, -2) if transpose else x


def averaged_over_turns(fn, x, ensemble: int):
    """The mean of ``fn`` over the first ``ensemble`` turns of ``x (C, H, W)``, each output turned back.

    ``x`` is a tensor or a NumPy array; ``fn`` gets and gives the same kind.
    """
    check_ensemble(ensemble)
    if int(ensemble) == 1:
        return fn(x)
    out = None
    for turn in ENSEMBLES[int(ensemble)]:
        y = dihedral(fn(dihedral(x, turn)), turn, inverse=True)
        if out is None:  # a copy of its own: y may be a turned view of fn's output
            out = np.array(y) if isinstance(y, np.ndarray) else y.clone()
        else:
            out += y
    out /= ensemble
    return out


__all__ = ["ENSEMBLES", "averaged_over_turns", "check_ensemble", "dihedral"]
