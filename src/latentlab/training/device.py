"""Devices and seeds: the only place that knows what hardware there is."""

from __future__ import annotations

import random

import numpy as np
import torch

from ..errors import ConfigError


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``'auto'`` picks cuda, then mps, then cpu; anything else is checked.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device={device!r} is not a device name; use 'auto', 'cpu', 'cuda' or 'mps'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' was asked for but CUDA is not available; use device='auto'.")
    return dev


def seed_everything(seed: int | None) -> None:
    """Seed Python, NumPy and torch so that a run can be repeated exactly."""
    if seed is None:
        return
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
