"""Callbacks: features are added here, never by editing the training loop."""

from __future__ import annotations

import math
import sys

from tqdm.auto import tqdm

from .state import snapshot


class Callback:
    """Hooks the trainer calls; each gets the trainer, which holds the model.

    A model may add its own callbacks through a ``training_callbacks()``
    method (a VQ-VAE's dead-code restarts, for one), so that what a family
    needs during training never goes into the loop itself.
    """

    def on_train_begin(self, trainer) -> None: ...

    def on_batch_end(self, trainer, batch, out) -> None:
        """After each optimizer step, with the batch and the model's ``LossOutput``."""

    def on_epoch_end(self, trainer, epoch: int, logs: dict[str, float]) -> None: ...

    def on_train_end(self, trainer) -> None: ...


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    With ``restore_best`` the weights of the best epoch are put back at the end.
    """

    def __init__(
        self, monitor: str = "val_loss", patience: int = 20, min_delta: float = 0.0, restore_best: bool = True
    ):
        self.monitor, self.patience, self.min_delta, self.restore_best = monitor, patience, min_delta, restore_best

    def on_train_begin(self, trainer) -> None:
        self.best = math.inf
        self.best_epoch = -1
        self.best_state = None
        self.wait = 0

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        value = logs.get(self.monitor, logs.get("loss"))
        if value is None or not math.isfinite(value):
            return
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_state = snapshot(trainer.model)
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                trainer.stop_training = True

    def state_dict(self) -> dict:
        """What a checkpoint keeps so that a resumed run stops where this one would have."""
        keys = ("best", "best_epoch", "wait", "best_state")
        return {k: getattr(self, k) for k in keys}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.wait, self.best_state = int(state["wait"]), state["best_state"]

    def on_train_end(self, trainer) -> None:
        if self.restore_best and self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)
            trainer.best_epoch = self.best_epoch


def gaussian_nll_constant(model) -> tuple[float, float, int] | None:
    """``(constant in nats, sigma, features)`` when ``model`` reconstructs with a fixed-variance Gaussian NLL.

    Then ``reconstruction = ||x - mu||² / (2 sigma²) + constant`` with
    ``constant = D (log sigma + log(2 pi) / 2)`` (720 nats for 784 pixels),
    and the squared error can be read back from the logged value. Masked
    sequences (a varying feature count) give None.
    """
    c = getattr(model, "config", None)
    if c is None or getattr(c, "likelihood", None) != "gaussian" or getattr(c, "variance", None) != "fixed":
        return None
    if getattr(c, "architecture", None) == "seq" or not getattr(c, "input_shape", None):
        return None
    d = math.prod(c.input_shape)
    return d * (math.log(c.sigma) + 0.5 * math.log(2 * math.pi)), float(c.sigma), d


def readable_logs(logs: dict[str, float], model=None) -> dict[str, float]:
    """The epoch's logs as the progress bar shows them.

    A fixed-variance Gaussian reconstruction NLL is shown as ``mse``, the
    mean squared error per feature in the scaled units, instead of a number
    dominated by its constant (an autoencoder's "724" on 784 pixels is an
    MSE of 0.01); a loss that is only that reconstruction is not shown twice.
    What is optimised and logged in the history does not change.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> m = SimpleNamespace(config=SimpleNamespace(likelihood="gaussian", variance="fixed", sigma=1.0,
    ...                                            architecture="mlp", input_shape=(784,)))
    >>> nll = 0.5 * 784 * 0.01 + 784 * 0.5 * math.log(2 * math.pi)  # an MSE of 0.01
    >>> {k: round(v, 4) for k, v in readable_logs({"loss": nll, "reconstruction": nll}, m).items()}
    {'mse': 0.01}
    """
    gauss = gaussian_nll_constant(model)
    shown = {}
    for key, value in logs.items():
        if key == "epoch":
            continue
        prefix, base = ("val_", key[4:]) if key.startswith("val_") else ("", key)
        if gauss is not None and base == "reconstruction":
            const, sigma, d = gauss
            shown[prefix + "mse"] = 2 * sigma**2 * (value - const) / d
        elif gauss is not None and base == "loss" and logs.get(prefix + "reconstruction") == value:
            continue
        else:
            shown[key] = value
    return shown


class ProgressBar(Callback):
    """A tqdm bar over epochs showing the loss and its parts (:func:`readable_logs`).

    In a terminal it redraws every epoch and vanishes when training ends. In
    a log file (stderr is not a terminal) it redraws at most every
    ``log_interval`` seconds and leaves its last state, so a long run does not
    fill CI logs with one line per epoch.
    """

    def __init__(self, log_interval: float = 10.0):
        self.log_interval = log_interval

    def on_train_begin(self, trainer) -> None:
        tty = getattr(sys.stderr, "isatty", lambda: False)()
        self.bar = tqdm(
            total=trainer.config.epochs - trainer.start_epoch,
            desc=type(trainer.model).__name__,
            leave=not tty,
            mininterval=0 if tty else self.log_interval,
            file=sys.stderr,
        )

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        shown = readable_logs(logs, trainer.model)
        self.bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)
        self.bar.update(1)

    def on_train_end(self, trainer) -> None:
        self.bar.close()
