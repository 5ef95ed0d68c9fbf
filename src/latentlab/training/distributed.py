"""Many processes through ``torchrun``: PyTorch DDP, nothing home-made.

``torchrun --nproc_per_node N -m latentlab train ...`` starts N copies of the
command; torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the
rendezvous address in the environment. The trainer calls
:func:`init_distributed` and, when the world has more than one process,
wraps the model in :class:`~torch.nn.parallel.DistributedDataParallel`
(gloo on CPU, nccl on GPU), feeds each rank a disjoint shard of every
epoch, and averages the epoch metrics over ranks.

Anything that writes files (checkpoints, logs, figures, the saved model)
asks :func:`is_main_process` first, so only rank 0 writes.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn

from ..data.tensors import shard_slice  # noqa: F401  (re-exported)
from ..errors import ConfigError


def env_world_size() -> int:
    """The world size torchrun announced (1 when not launched by torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's global rank (0 when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """Number of processes training together (1 when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def is_main_process() -> bool:
    """True on the one process that writes files (rank 0, or the only process).

    Examples
    --------
    >>> is_main_process()
    True
    """
    return rank() == 0


def init_distributed(device: torch.device) -> torch.device:
    """Join torchrun's process group if there is one; return this rank's device.

    Does nothing for a single process. The backend is nccl for CUDA and gloo
    otherwise; each CUDA process uses the GPU numbered by ``LOCAL_RANK``.

    Examples
    --------
    >>> init_distributed(torch.device("cpu"))  # not under torchrun: unchanged
    device(type='cpu')
    """
    if env_world_size() <= 1 or not dist.is_available():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise ConfigError(f"distributed training runs on CPU (gloo) or CUDA (nccl), not {device.type!r}.")
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, device_id=device if device.type == "cuda" else None)
    return device


def cleanup() -> None:
    """Leave the process group (call once at the end of a torchrun job)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if is_distributed():
        dist.barrier()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over ranks in place and return it (no-op when not distributed)."""
    if is_distributed():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_finite(value: torch.Tensor) -> bool:
    """Whether ``value`` is finite on every rank (one collective when distributed)."""
    ok = torch.isfinite(value.detach()).all().to(torch.float32).reshape(1)
    if is_distributed():
        dist.all_reduce(ok, op=dist.ReduceOp.MIN)
    return bool(ok.item())


class LossModule(nn.Module):
    """Adapter whose ``forward`` is the family's ``loss``, so DDP can wrap it.

    DDP synchronises gradients through hooks armed by its own ``forward``;
    routing ``model.loss(batch)`` through this module keeps the family
    unaware of DDP.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch):
        out = self.model.loss(batch)
        return out.total, out.parts


def wrap_ddp(model: nn.Module, device: torch.device) -> nn.Module:
    """``DistributedDataParallel(LossModule(model))``; rank 0's weights are broadcast to all.

    ``static_graph`` lets a family leave the same parameters out of every
    step (a codebook updated by moving averages) without DDP's per-step
    search for unused parameters.
    """
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(LossModule(model), device_ids=ids, static_graph=True)
