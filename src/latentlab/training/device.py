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


# bf16 autocast pays on a CPU with bf16 matrix units only when the matrix multiplies are big enough to
# outweigh the casts around them: a 784x512 layer trains ~1.4x faster under autocast, a digits net
# (64x128) slower. 'auto' turns it on from this many weights in the widest layer.
AMP_MIN_LAYER_WEIGHTS = 100_000


def cpu_has_bf16_units() -> bool:
    """Whether this CPU has bfloat16 matrix units (AMX tiles or AVX-512 BF16)."""
    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        fn = getattr(cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:  # pragma: no cover - a torch build without the probe
            continue
    return False


def widest_layer(model: torch.nn.Module) -> int:
    """The number of weights of the model's largest matrix-multiply layer (linear, conv, recurrent)."""
    best = 0
    for name, p in model.named_parameters():
        if p.dim() >= 2 and "embed" not in name:
            best = max(best, p.numel())
    return best


def resolve_amp(amp: bool | str, device: torch.device, model: torch.nn.Module | None = None) -> bool:
    """Whether to train under bf16 autocast: ``amp`` as given, or for ``'auto'`` where it is faster.

    ``'auto'`` turns autocast on for CUDA devices that support bf16, and on CPUs with bf16 matrix
    units (:func:`cpu_has_bf16_units`) when the widest layer has at least
    :data:`AMP_MIN_LAYER_WEIGHTS` weights; everywhere else it trains in float32.

    Examples
    --------
    >>> resolve_amp(False, torch.device("cpu")), resolve_amp(True, torch.device("cpu"))
    (False, True)
    >>> resolve_amp("auto", torch.device("cpu"), torch.nn.Linear(64, 32))  # too small to gain
    False
    """
    if amp is True or amp is False:
        return amp
    if amp != "auto":
        raise ConfigError(f"amp={amp!r} must be True, False or 'auto'.")
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu" or not cpu_has_bf16_units():
        return False
    return model is not None and widest_layer(model) >= AMP_MIN_LAYER_WEIGHTS


def seed_everything(seed: int | None) -> None:
    """Seed Python, NumPy and torch so that a run can be repeated exactly."""
    if seed is None:
        return
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
