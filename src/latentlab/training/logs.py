"""Training logs as files: a CSV row per epoch, and TensorBoard scalars (and images).

Both are :class:`~latentlab.training.callbacks.Callback` objects, so they work
with every family and every way of fitting::

    model.fit(X, callbacks=[CSVLogger("runs/a/log.csv"), TensorBoardLogger("runs/a/tb")])

Under ``torchrun`` only rank 0 writes (the logged metrics are already averaged
over all processes). A resumed run (``resume=``) keeps the rows of the epochs
before the checkpoint and carries on after them.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from .._files import atomic_write_bytes
from ..errors import ConfigError, DataError, DataTypeError, DataWarning
from . import distributed
from .callbacks import Callback

IMAGES_LOGGED = 8  # inputs (and their reconstructions) in a logged picture


def _check_target(path: Path, what: str, folder: bool) -> None:
    """Refuse, before training, a log path that cannot be written: a folder for a file, a file for a
    folder, or a path under an existing file."""
    if folder and path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} is a file; give a folder for the event files.")
    if not folder and path.is_dir():
        raise ConfigError(f"{what} {path} is a folder; give a file name such as {path / 'log.csv'}.")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{what} {path}: {parent} is a file, so nothing can be written under it.")
            break


class CSVLogger(Callback):
    """Write every key of the epoch logs (loss, its parts, ``val_*``, lr, time) as one CSV row per epoch.

    The whole file is rewritten atomically after each epoch, so a reader (or a
    crash) never sees half a row, and a key that first appears in a later
    epoch gets its own column (empty in the earlier rows).

    Parameters
    ----------
    path : path
        The CSV file to write; its folder is created.

    Examples
    --------
    >>> import tempfile, os, numpy as np, latentlab
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> X = np.random.default_rng(0).random((128, 8)).astype("float32")
    >>> _ = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=3, verbose=False,
    ...                                                         callbacks=[CSVLogger(path)])
    >>> rows = open(path).read().splitlines()
    >>> rows[0].split(",")[:2], len(rows)
    (['epoch', 'loss'], 4)
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        _check_target(self.path, "CSVLogger path", folder=False)
        self.rows: list[dict[str, float]] = []

    def on_train_begin(self, trainer) -> None:
        self.rows = []
        start = int(getattr(trainer, "start_epoch", 0) or 0)
        if start > 0 and self.path.is_file():  # resuming: keep what the earlier run logged
            with self.path.open(newline="") as fh:
                self.rows = [r for r in csv.DictReader(fh) if _epoch(r.get("epoch")) < start]

    def on_epoch_end(self, trainer, epoch: int, logs: dict[str, float]) -> None:
        self.rows.append(dict(logs))
        if distributed.is_main_process():
            self._write()

    def _write(self) -> None:
        columns: list[str] = []
        for row in self.rows:
            columns += [k for k in row if k not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_bytes(self.path, buf.getvalue().encode())


def _epoch(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.inf


def _summary_writer():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ImportError(
            "TensorBoardLogger needs the tensorboard package: pip install tensorboard "
            "(or pip install 'latentlab[tensorboard]')."
        ) from None
    return SummaryWriter


class TensorBoardLogger(Callback):
    """TensorBoard scalars for every key of the epoch logs, and optionally reconstructions.

    Tags: ``train/<part>`` for the loss and each of its parts (reconstruction,
    kl, ...), ``val/<part>`` for the validation set, ``lr`` and
    ``time/epoch_seconds``; the step is the epoch. With ``images`` (a few
    inputs, in the data's units, shaped like the training samples) every
    ``image_every`` epochs a picture of those inputs (top) over their
    reconstructions (bottom) is logged as ``reconstructions``. View with
    ``tensorboard --logdir LOG_DIR``.

    Parameters
    ----------
    log_dir : path
        Folder for the event files (created).
    images : array-like, optional
        Up to 8 inputs whose reconstructions are logged, shaped like the
        training samples. Pictures are made of images ``(N, 1 or 3, H, W)``
        and of flat square images ``(N, side * side)``; other data (tables,
        sequences) give a :class:`~latentlab.errors.DataWarning` when
        training starts, and no picture.
    image_every : int
        Epochs between two image logs (the last epoch is always logged).
    labels : array-like, optional
        The labels of ``images``, for conditional models (required there).

    Raises
    ------
    ImportError
        When tensorboard is not installed (the message says ``pip install tensorboard``).
    ConfigError
        For a ``log_dir`` that is a file (or lies under one), or ``image_every`` < 1.
    DataError, DataTypeError
        For ``images`` that are not numbers or are empty; when training starts, for images
        whose sample shape is not the model's, NaN or inf images (except for sequence
        models, whose padding is NaN), or a conditional model given no ``labels``.
    """

    def __init__(self, log_dir: str | os.PathLike, images=None, image_every: int = 5, labels=None):
        self.log_dir = Path(log_dir)
        _check_target(self.log_dir, "TensorBoardLogger log_dir", folder=True)
        if isinstance(image_every, bool) or not isinstance(image_every, int) or image_every < 1:
            raise ConfigError(f"image_every={image_every!r} must be a positive integer (epochs between pictures).")
        self.images, self.labels = _check_images(images), labels
        self.image_every = image_every
        self._writer_class = _summary_writer()  # fail at construction, before any training time is spent
        self.writer = None

    def on_train_begin(self, trainer) -> None:
        if self.images is not None:  # before any epoch is spent: a mismatch would fail (or vanish) later
            self.images = _fit_images(trainer.model, self.images, self.labels)
        if distributed.is_main_process():
            self.writer = self._writer_class(log_dir=str(self.log_dir))
        self.last_epoch = int(getattr(getattr(trainer, "config", None), "epochs", 0) or 0) - 1

    def on_epoch_end(self, trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.writer is None:
            return
        for key, value in logs.items():
            if key == "epoch" or not isinstance(value, (int, float)):
                continue
            self.writer.add_scalar(_tag(key), float(value), global_step=epoch)
        if self.images is not None and (epoch % self.image_every == 0 or epoch == self.last_epoch):
            picture = _reconstruction_picture(trainer.model, self.images, self.labels)
            if picture is not None:
                self.writer.add_image("reconstructions", picture, global_step=epoch, dataformats="HW")
        self.writer.flush()

    def on_train_end(self, trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _tag(key: str) -> str:
    """'loss' -> 'train/loss', 'val_kl' -> 'val/kl', 'time' -> 'time/epoch_seconds', 'lr' stays."""
    if key == "lr":
        return "lr"
    if key == "time":
        return "time/epoch_seconds"
    if key.startswith("val_"):
        return "val/" + key[4:]
    return "train/" + key


def _check_images(images):
    """``images`` as a float32 array of up to 8 samples (None stays None), or a clear error."""
    import numpy as np

    if images is None:
        return None
    try:
        X = np.asarray(images)
    except ValueError as exc:  # ragged
        raise DataError(f"images cannot be read as one array ({exc}); pass samples of one shape.") from None
    if X.dtype.kind not in "biuf":
        raise DataTypeError(f"images have dtype {X.dtype}; pass numbers shaped like the training samples.")
    if X.ndim < 2 or len(X) == 0:
        raise DataError(f"images have shape {X.shape}; pass a few samples, shaped (n, *sample_shape).")
    return X[:IMAGES_LOGGED].astype(np.float32)


def _fit_images(model, X, labels):
    """The images checked against the model being trained: None (with a warning) when they make no picture."""
    import warnings

    import numpy as np

    shape = tuple(getattr(model.config, "input_shape", None) or ())
    if shape and X.shape[1:] != shape:
        raise DataError(
            f"TensorBoardLogger images have shape {X.shape[1:]} a sample, but the model reads {shape}: "
            "pass rows of the training data."
        )
    if not getattr(model, "allows_nan", False) and not np.isfinite(X).all():
        raise DataError("TensorBoardLogger images hold NaN or inf values; pass rows of the training data.")
    if getattr(model.config, "n_classes", 0) > 0 and (labels is None or len(np.asarray(labels)) < len(X)):
        raise DataError(
            f"this {type(model).__name__} is conditional: give TensorBoardLogger labels=... for its {len(X)} images."
        )
    if _picture_layout(X) is None:
        warnings.warn(
            f"TensorBoardLogger images of shape {X.shape[1:]} a sample are not pictures (a picture is (1 or 3, H, W), "
            "or a flat square image); no reconstructions will be logged. Leave images=None for tables and sequences.",
            DataWarning,
            stacklevel=2,
        )
        return None
    return X


def _picture_layout(X) -> str | None:
    """'chw' for ``(N, 1|3, H, W)``, 'flat' for square images as rows, None for anything else."""
    side = int(round(math.sqrt(X[0].size)))
    if X.ndim == 4 and X.shape[1] in (1, 3):
        return "chw"
    if X.ndim == 2 and side * side == X.shape[1]:
        return "flat"
    return None


def _reconstruction_picture(model, images, labels=None):
    """(H, W) grey picture in [0, 1]: inputs on top, reconstructions below; None for non-image data."""
    import numpy as np

    X = np.asarray(images, dtype=np.float32)[:IMAGES_LOGGED]
    layout = _picture_layout(X)
    if layout is None:
        return None  # sequences and tables have no picture
    conditional = getattr(model.config, "n_classes", 0) > 0
    if conditional and labels is None:
        return None
    R = np.asarray(model.reconstruct(X, None if not conditional else np.asarray(labels)[:IMAGES_LOGGED]), dtype=np.float32)
    R = R.reshape(X.shape)
    if layout == "chw":  # (N, C, H, W): the first channel
        X, R = X[:, 0], R[:, 0]
    else:
        side = int(round(math.sqrt(X.shape[1])))
        X, R = X.reshape(-1, side, side), R.reshape(-1, side, side)
    lo, hi = float(np.nanmin(X)), float(np.nanmax(X))
    scale = (hi - lo) or 1.0
    top, bottom = np.concatenate(list(X), axis=1), np.concatenate(list(R), axis=1)
    gap = np.ones((1, top.shape[1]), dtype=np.float32) * hi
    return np.clip((np.concatenate([top, gap, bottom]) - lo) / scale, 0, 1)


__all__ = ["CSVLogger", "TensorBoardLogger"]
