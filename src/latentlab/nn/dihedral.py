"""Self-ensembles over the dihedral group: a photo transposed and flipped, each copy processed, turned back, averaged."""

from __future__ import annotations

import numpy as np
import torch

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


def dihedral(x: torch.Tensor, turn: tuple[bool, bool, bool], inverse: bool = False) -> torch.Tensor:
    """``x (C, H, W)`` transposed and/or flipped by ``turn``; ``inverse`` undoes it (flips first, then transpose)."""
    transpose, rows, cols = turn
    dims = [d for d, on in ((-2, rows), (-1, cols)) if on]
    if not inverse:
        if transpose:
            x = x.transpose(-1, -2)
        return x.flip(dims) if dims else x
    x = x.flip(dims) if dims else x
    return x.transpose(-1, -2) if transpose else x


def averaged_over_turns(fn, x: torch.Tensor, ensemble: int) -> torch.Tensor:
    """The mean of ``fn`` over the first ``ensemble`` turns of ``x (C, H, W)``, each output turned back."""
    check_ensemble(ensemble)
    out = None
    for turn in ENSEMBLES[int(ensemble)]:
        y = dihedral(fn(dihedral(x, turn)), turn, inverse=True)
        out = y if out is None else out.add_(y)
    return out.div_(ensemble) if ensemble > 1 else out


__all__ = ["ENSEMBLES", "averaged_over_turns", "check_ensemble", "dihedral"]
