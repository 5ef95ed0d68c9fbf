"""Cheap copies of a model's weights and its train/eval mode, for the training loop's per-epoch bookkeeping.

On a small model these costs are of the order of an optimiser step, and the
loop pays them every epoch, so they avoid Python-level deep copies.
"""

from __future__ import annotations

import torch


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of ``model``'s state dict (what ``copy.deepcopy(model.state_dict())`` gives)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def copy_state(into: dict[str, torch.Tensor], model: torch.nn.Module) -> None:
    """Overwrite the snapshot ``into`` with ``model``'s current state, in place where shapes agree."""
    for k, v in model.state_dict().items():
        held = into.get(k)
        if held is not None and held.shape == v.shape and held.dtype == v.dtype and held.device == v.device:
            held.copy_(v.detach())
        else:
            into[k] = v.detach().clone()


def set_training(model: torch.nn.Module, mode: bool) -> None:
    """``model.train(mode)``, skipped when every submodule is in that mode already."""
    if any(m.training != mode for m in model.modules()):
        model.train(mode)
