"""Training to a budget of process CPU seconds rather than a number of epochs.

On a shared machine wall-clock time measures the neighbours; the process's
CPU time (:func:`time.process_time`, all its threads) measures the work.
:class:`CPUBudget` anneals the learning rate on a cosine over the fraction of
the budget spent, and stops training at the end of the epoch in which the
budget runs out (keep epochs short for a tight stop).
"""

from __future__ import annotations

import math
import time

from .callbacks import Callback


class CPUBudget(Callback):
    """Cosine learning rate over ``seconds`` of process CPU time, then stop.

    Use it with ``lr_schedule='none'`` and more epochs than the budget allows;
    ``used`` holds the CPU seconds spent when training ends.

    Examples
    --------
    >>> b = CPUBudget(10.0, warmup=0.0)
    >>> b.factor(0.0), round(b.factor(0.5), 3), b.factor(1.0)
    (1.0, 0.5, 0.0)
    """

    def __init__(self, seconds: float, warmup: float = 0.02, final: float = 0.0):
        self.seconds, self.warmup, self.final = float(seconds), float(warmup), float(final)
        self.used = 0.0

    def factor(self, frac: float) -> float:
        """Multiplier of the base learning rate after ``frac`` of the budget."""
        frac = min(max(frac, 0.0), 1.0)
        if self.warmup and frac < self.warmup:
            return max(frac / self.warmup, 0.01)
        f = (frac - self.warmup) / (1 - self.warmup) if self.warmup else frac
        return self.final + (1 - self.final) * 0.5 * (1 + math.cos(math.pi * f))

    def on_train_begin(self, trainer) -> None:
        self.start = time.process_time()
        self.base = [g["lr"] for g in trainer.optimizer.param_groups]

    def on_batch_end(self, trainer, batch, out) -> None:
        self.used = time.process_time() - self.start
        k = self.factor(self.used / self.seconds)
        for g, lr in zip(trainer.optimizer.param_groups, self.base):
            g["lr"] = lr * k

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.used = time.process_time() - self.start
        if self.used >= self.seconds:
            trainer.stop_training = True

    def on_train_end(self, trainer) -> None:
        self.used = time.process_time() - self.start


__all__ = ["CPUBudget"]
