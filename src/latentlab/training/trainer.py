"""The trainer: one loop for every family.

It knows devices, precision, seeds, schedules and (with torchrun) processes;
it knows nothing about families. A model only has to provide
``loss(batch) -> LossOutput`` (a total and a dict of named parts).

Speed comes from removing overhead rather than from tricks: in-memory data
lives on the device as one tensor that is shuffled once per epoch and cut
into contiguous views (no DataLoader, no per-sample indexing, no collate),
the optimizer is Adam's fused kernel, loss parts are summed on the device and
read back once per epoch, and ``torch.compile`` is one option away.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from ..data.tensors import Batch, TensorData
from ..errors import DataError, TrainingError
from . import distributed
from .callbacks import Callback, EarlyStopping, ProgressBar
from .checkpoint import restore_trainer_state
from .device import resolve_amp, resolve_device, seed_everything
from .logs import CSVLogger, TensorBoardLogger
from .options import LossOutput, TrainConfig, auto_epochs
from .state import copy_state, set_training, snapshot


def _as_batch(item, device) -> Batch:
    if isinstance(item, Batch):
        b = item
    elif isinstance(item, (tuple, list)):
        b = Batch(*item)
    else:
        b = Batch(item)

    def move(t):
        if t is None:
            return None
        if device.type == "cuda" and t.device.type == "cpu" and not t.is_pinned():
            t = t.pin_memory()  # so that the copy below overlaps with compute
        return t.to(device, non_blocking=True)

    return Batch(move(b.x).float(), move(b.y), move(b.mask))


class Trainer:
    """Trains any latentlab model.

    Examples
    --------
    >>> import latentlab, torch
    >>> model = latentlab.Autoencoder(input_shape=(4,), latent_dim=2, hidden=(8,))
    >>> t = Trainer(model, TrainConfig(epochs=2, batch_size=8, verbose=False, validation_split=0))
    >>> history = t.fit(TensorData(torch.rand(32, 4)))
    >>> len(history)
    2
    """

    def __init__(self, model, config: TrainConfig | None = None, callbacks: list[Callback] | None = None):
        self.model = model
        self.config = config or TrainConfig()
        self.device = distributed.init_distributed(resolve_device(self.config.device))
        self.shard = (distributed.rank(), distributed.world_size())  # (rank, world) under torchrun
        self.amp = resolve_amp(self.config.amp, self.device, model)  # 'auto': only where bf16 is faster
        self.ddp = None
        self.epoch = 0
        self.callbacks: list[Callback] = list(callbacks or [])
        if self.config.patience is not None or self.config.restore_best:
            self.callbacks.insert(
                0, EarlyStopping(patience=self.config.patience, restore_best=self.config.restore_best)
            )
        if self.config.verbose and distributed.is_main_process():
            self.callbacks.append(ProgressBar())
        self.callbacks.extend(getattr(model, "training_callbacks", list)())  # what the model needs while training
        if self.config.csv_log is not None:
            self.callbacks.append(CSVLogger(self.config.csv_log))
        if self.config.log_dir is not None:
            self.callbacks.append(TensorBoardLogger(self.config.log_dir))
        self.history: list[dict[str, float]] = []
        self.start_epoch = 0
        self.stop_training = False
        self.best_epoch: int | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler = None
        self.generator: torch.Generator | None = None  # shuffling; saved in checkpoints
        self.stopped_on_nan = False
        self._pending_state: dict[str, Any] | None = None  # set by load_state_dict, applied in fit

    # ----------------------------------------------------------------- set-up
    def _make_optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        cls = torch.optim.AdamW if c.weight_decay > 0 else torch.optim.Adam
        params = [p for p in self.model.parameters() if p.requires_grad]
        try:
            return cls(params, lr=c.lr, weight_decay=c.weight_decay, fused=True)
        except (RuntimeError, TypeError, ValueError):
            return cls(params, lr=c.lr, weight_decay=c.weight_decay, foreach=True)

    def _make_scheduler(self):
        c = self.config
        if c.lr_schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=c.epochs, eta_min=c.lr * 0.01)
        if c.lr_schedule == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, factor=0.5, patience=5)
        return None

    def _split(self, data: TensorData) -> tuple[TensorData, TensorData | None]:
        frac = self.config.validation_split
        n = len(data)
        n_val = int(round(n * frac))
        if frac <= 0 or n_val < 1 or n - n_val < 1:
            return data, None
        g = torch.Generator().manual_seed(self.config.seed if self.config.seed is not None else 0)
        perm = torch.randperm(n, generator=g)
        return data.subset(perm[n_val:]), data.subset(perm[:n_val])

    def _loss_fn(self):
        eager = self.model.loss
        if self.ddp is not None:  # the loss runs through DDP's forward so that gradients are averaged
            ddp = self.ddp

            def eager(batch):
                total, parts = ddp(batch)
                return LossOutput(total, parts)

        if not self.config.compile:
            return eager
        try:
            mode = None if self.config.compile_mode == "default" else self.config.compile_mode
            compiled = torch.compile(eager, mode=mode)
        except Exception as exc:  # pragma: no cover - depends on the platform
            warnings.warn(f"torch.compile is unavailable ({exc}); training eagerly.", stacklevel=3)
            return eager
        state = {"fn": compiled}

        def call(batch):
            try:
                return state["fn"](batch)
            except Exception as exc:  # compilation errors surface on the first call
                if state["fn"] is eager:
                    raise
                warnings.warn(f"torch.compile failed ({type(exc).__name__}); training eagerly.", stacklevel=2)
                state["fn"] = eager
                return eager(batch)

        return call

    # ------------------------------------------------------------------- loop
    def fit(self, train, val=None) -> list[dict[str, float]]:
        """Train on ``train`` (a :class:`TensorData` or a torch ``Dataset``).

        ``val`` is a held-out set of the same kind; without it
        ``validation_split`` of ``train`` is held out.
        """
        c = self.config
        seed_everything(c.seed)
        self.model.to(self.device)
        if isinstance(train, TensorData) and val is None:
            train, val = self._split(train)
        if len(train) < c.batch_size:
            raise DataError(
                f"only {len(train)} training sample(s), fewer than one batch (batch_size={c.batch_size}); "
                "lower batch_size or pass more data."
            )
        if c.epochs is None:  # early stopping ends training; the cap is 10,000 steps' worth (auto_epochs)
            try:
                n_rows = len(train)
            except TypeError:  # an iterable dataset of unknown length
                n_rows = 10_000 * c.batch_size
            c = self.config = dataclasses.replace(c, epochs=auto_epochs(n_rows, c.batch_size, self.shard[1]))
        train_src = self._source(train, shuffle=True)
        val_src = None if val is None else self._source(val, shuffle=False)
        if self.optimizer is None:
            self.optimizer = self._make_optimizer()
            self.scheduler = self._make_scheduler()
        if self.shard[1] > 1 and self.ddp is None:
            self.ddp = distributed.wrap_ddp(self.model, self.device)  # broadcasts rank 0's weights
        loss_fn = self._loss_fn()
        gen = self.generator = torch.Generator().manual_seed(c.seed if c.seed is not None else int(time.time()))
        for cb in self.callbacks:
            cb.on_train_begin(self)
        last_good = snapshot(self.model)
        self.stop_training = False
        if self._pending_state is not None:  # resuming: optimizer, scheduler, RNGs, callbacks as they were
            restore_trainer_state(self, self._pending_state)
            self._pending_state = None
        for epoch in range(self.start_epoch, c.epochs):
            t0 = time.perf_counter()
            self.epoch = epoch
            logs = {"epoch": epoch, **self._run_epoch(train_src, loss_fn, gen)}
            if not math.isfinite(logs["loss"]):
                self.model.load_state_dict(last_good)
                if not self.history:  # nothing good to keep: say so rather than return a random model
                    raise TrainingError(
                        f"the loss became {logs['loss']} in the first epoch; no weights are worth keeping. "
                        "Lower lr, set grad_clip, check the data for extreme values, or use nan_policy='skip'."
                    )
                warnings.warn(
                    f"training stopped at epoch {epoch}: the loss became {logs['loss']}; the last good weights "
                    "were restored. Lower lr, set grad_clip, or check the data scale.",
                    stacklevel=2,
                )
                self.stop_training = True
                self.stopped_on_nan = True
                break
            if val_src is not None:
                logs.update({f"val_{k}": v for k, v in self.evaluate(val_src).items()})
            logs["lr"] = self.optimizer.param_groups[0]["lr"]
            logs["time"] = time.perf_counter() - t0
            self.history.append(logs)
            self._step_scheduler(logs)
            copy_state(last_good, self.model)
            self.start_epoch = epoch + 1
            for cb in self.callbacks:
                cb.on_epoch_end(self, epoch, logs)
            if self.stop_training:
                break
        for cb in self.callbacks:
            cb.on_train_end(self)
        self.model.eval()
        return self.history

    def _source(self, data, shuffle: bool):
        if isinstance(data, TensorData):
            return data.to(self.device)
        if hasattr(data, "batches"):  # a streaming source: it batches and shards itself
            return data
        if isinstance(data, (Dataset, DataLoader)) or hasattr(data, "__iter__"):
            if isinstance(data, Dataset):
                sampler = None
                if self.shard[1] > 1 and not isinstance(data, torch.utils.data.IterableDataset):
                    seed = self.config.seed or 0
                    sampler = torch.utils.data.DistributedSampler(data, shuffle=shuffle, seed=seed, drop_last=shuffle)
                return DataLoader(
                    data,
                    batch_size=self.config.batch_size,
                    shuffle=shuffle and sampler is None,
                    sampler=sampler,
                    pin_memory=self.device.type == "cuda",
                )
            return data
        raise DataError(f"cannot train on {type(data).__name__}; pass arrays, tensors or a torch Dataset.")

    def _batches(self, src, batch_size: int, gen) -> Iterator[Batch]:
        if isinstance(src, TensorData):
            yield from src.batches(batch_size, gen, self.shard)
        elif hasattr(src, "batches"):
            for item in src.batches(batch_size, gen, self.shard):
                yield _as_batch(item, self.device)
        else:
            sampler = getattr(src, "sampler", None)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(self.epoch)
            for item in src:
                yield _as_batch(item, self.device)

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _run_epoch(self, src, loss_fn, gen) -> dict[str, float]:
        c = self.config
        set_training(self.model, True)
        sums: dict[str, torch.Tensor] = {}
        n = 0
        on_batch = [cb.on_batch_end for cb in self.callbacks if _overrides(cb, "on_batch_end")]
        steps = 0
        for batch in self._batches(src, c.batch_size, gen):
            with self._autocast():
                out = loss_fn(batch)
            if self.ddp is not None:  # every rank must run backward; all skip the step together
                self.optimizer.zero_grad(set_to_none=True)
                out.total.backward()
                if c.nan_policy == "skip" and not distributed.all_finite(out.total):
                    continue
            else:
                if c.nan_policy == "skip" and not torch.isfinite(out.total):
                    continue
                self.optimizer.zero_grad(set_to_none=True)
                out.total.backward()
            if c.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
            self.optimizer.step()
            steps += 1
            if steps % FLUSH_EVERY == 0 and self.device.type == "cpu":
                flush_subnormal_state(self.optimizer)
            for hook in on_batch:
                hook(self, batch, out)
            bs = len(batch)
            n += bs
            _accumulate(sums, "loss", out.total, bs)
            for k, v in out.parts.items():
                _accumulate(sums, k, v, bs)
        return _mean_over_ranks(sums, n)

    @torch.no_grad()
    def evaluate(self, src) -> dict[str, float]:
        """Mean loss and parts over ``src`` in eval mode."""
        was_training = self.model.training
        set_training(self.model, False)
        sums: dict[str, torch.Tensor] = {}
        n = 0
        for batch in self._batches(src, max(self.config.batch_size, 1024), None):
            with self._autocast():
                out = self.model.loss(batch)
            bs = len(batch)
            n += bs
            _accumulate(sums, "loss", out.total, bs)
            for k, v in out.parts.items():
                _accumulate(sums, k, v, bs)
        set_training(self.model, was_training)
        return _mean_over_ranks(sums, n)

    # ------------------------------------------------------------ resuming
    def state_dict(self) -> dict[str, Any]:
        """Optimizer, scheduler, epoch, history, RNG and callback state (no model weights)."""
        from .checkpoint import trainer_state

        return trainer_state(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (see :mod:`latentlab.training.checkpoint`) at the next :meth:`fit`."""
        self.start_epoch = int(state["epoch"])
        self.history = list(state["history"])
        self._pending_state = state

    def _step_scheduler(self, logs) -> None:
        if self.scheduler is None:
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(logs.get("val_loss", logs["loss"]))
        else:
            self.scheduler.step()


# Adam's first moment of a weight whose gradient is exactly zero (a dead ReLU unit, an input that is
# always 0) decays by beta1 each step into float32's subnormal range and then sticks at the smallest
# subnormal (0.9 x 2^-149 rounds back to 2^-149). On x86 CPUs every subnormal operand costs a microcode
# assist: after two epochs of the MNIST-shaped VAE, 445k of its 1.08M first moments were subnormal and
# each step ran at 60-70% of a fresh model's speed, in any Adam loop. torch.set_flush_denormal does not
# reach the intra-op worker threads, so the trainer zeroes subnormal optimizer state every FLUSH_EVERY
# steps instead: what flush-to-zero hardware would do, and no change to any update (a moment of 1e-40
# moves a weight by ~1e-35 * lr).
FLUSH_EVERY = 50


@torch.no_grad()
def flush_subnormal_state(optimizer: torch.optim.Optimizer) -> None:
    """Set the subnormal floating-point values of ``optimizer``'s state tensors to zero, in place.

    Examples
    --------
    >>> p = torch.nn.Parameter(torch.zeros(3))
    >>> opt = torch.optim.Adam([p])
    >>> opt.state[p]["exp_avg"] = torch.tensor([1e-40, 1e-3, -1e-42])
    >>> flush_subnormal_state(opt); opt.state[p]["exp_avg"].tolist()
    [0.0, 0.0010000000474974513, 0.0]
    """
    for state in optimizer.state.values():
        for value in state.values():
            if torch.is_tensor(value) and value.is_floating_point() and value.dim() > 0:
                value.masked_fill_(value.abs() < torch.finfo(value.dtype).tiny, 0.0)


def _overrides(cb, name: str) -> bool:
    """Whether callback ``cb`` does something in hook ``name`` (the per-batch hook costs a call per step)."""
    fn = getattr(type(cb), name, None)
    return fn is not None and fn is not getattr(Callback, name)


def _mean_over_ranks(sums: dict[str, torch.Tensor], n: int) -> dict[str, float]:
    """Per-sample means of the summed metrics, pooled over every rank's samples."""
    if distributed.is_distributed():  # one all_reduce of [n, sum_1, ..., sum_k]
        keys = sorted(sums)
        dev = next(iter(sums.values())).device if sums else torch.device("cpu")
        dev = dev if dev.type == "cuda" else torch.device("cpu")  # gloo reduces CPU tensors
        packed = torch.stack([torch.tensor(float(n), device=dev)] + [sums[k].to(dev) for k in keys])
        packed = distributed.all_reduce_sum(packed).tolist()
        n, sums = int(packed[0]), dict(zip(keys, packed[1:]))
    if n == 0:
        return {"loss": math.nan}
    return {k: float(v) / n for k, v in sums.items()}


def _accumulate(sums: dict[str, torch.Tensor], key: str, value: torch.Tensor, weight: int) -> None:
    v = value.detach().float() * weight
    sums[key] = sums[key] + v if key in sums else v
