"""The NumPy-facing, Keras-like API every family shares.

``fit`` takes arrays or tensors in the user's own units; the fitted scaler
maps them into the model's space and back, so ``encode``/``decode``/
``reconstruct`` always speak the user's units and shapes.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch

from ..data.scaling import Scaler
from ..data.validation import as_float_array, check_labels, check_shape, check_training_range, warn_constant
from ..errors import ConfigError, DataError, NotFittedError
from ..training.device import seed_everything
from ..training.trainer import TensorData, TrainConfig, Trainer

INFERENCE_BATCH = 4096


def _generator(seed: int | None, generator: torch.Generator | None) -> torch.Generator | None:
    if generator is not None:
        return generator
    if seed is not None:
        return torch.Generator().manual_seed(int(seed))
    return None


def _check_bernoulli_range(config, scaled: np.ndarray) -> None:
    """A Bernoulli likelihood scores values in [0, 1]: refuse training data that leaves it after scaling."""
    if config.likelihood != "bernoulli" or scaled.size == 0:
        return
    lo, hi = float(np.nanmin(scaled)), float(np.nanmax(scaled))
    if lo < -1e-4 or hi > 1 + 1e-4:
        raise DataError(
            f"likelihood='bernoulli' models values in [0, 1], but the scaled training data span [{lo:.3g}, {hi:.3g}] "
            f"(scaling={config.scaling!r}); use scaling='minmax' or likelihood='gaussian'."
        )


def _train_config(epochs: int | None, batch_size: int | None, options: dict[str, Any]) -> TrainConfig:
    """``TrainConfig`` from ``fit``'s keyword arguments (``None`` keeps the default)."""
    given = {"epochs": epochs, "batch_size": batch_size}
    return TrainConfig.from_kwargs(**options, **{k: v for k, v in given.items() if v is not None})


class ModelAPI:
    """Mixin with fit / encode / decode / reconstruct / predict / sample / interpolate / save."""

    #: Families whose inputs may hold NaN (padding of sequences) set this to True.
    allows_nan: bool = False

    def _init_api_state(self) -> None:
        self.scaler: Scaler | None = None
        self.history: list[dict[str, float]] = []
        self.train_config: TrainConfig | None = None
        self.metrics: dict[str, Any] = {}

    # ----------------------------------------------------------------- data
    @property
    def device(self) -> torch.device:
        buf = self._buffers.get("code_mean")  # one dict lookup; parameters() walks every submodule
        if buf is not None:
            return buf.device
        for t in self.parameters():
            return t.device
        return torch.device("cpu")

    def _check_fitted(self) -> None:
        if not self.built or self.scaler is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X) or latentlab.load(dir).")

    def _to_model_space(self, X, name: str = "X", allow_nan: bool = False) -> torch.Tensor:
        arr = as_float_array(X, name=name, allow_nan=allow_nan)
        arr = check_shape(arr, self.config.input_shape, name=name)
        scaled = self.scaler.transform(arr)
        check_training_range(scaled, self.scaler.kind, name=name)
        return torch.from_numpy(scaled)

    def _to_user_space(self, t: torch.Tensor) -> np.ndarray:
        return self.scaler.inverse_transform(t.detach().float().cpu().numpy())

    def _labels(self, y, n: int, required: bool = False) -> torch.Tensor | None:
        if y is None:
            if required or self.config.n_classes > 0:
                raise DataError("this model is conditional: pass labels y (ints in 0..n_classes-1).")
            return None
        return torch.from_numpy(check_labels(y, n, n_classes=self.config.n_classes or None))

    def _batched(self, fn, *tensors: torch.Tensor | None) -> torch.Tensor:
        if self.training:  # eval() walks every submodule; skip it on the hot inference path
            self.eval()
        dev = self.device
        n = tensors[0].shape[0]
        with torch.inference_mode():
            if n <= INFERENCE_BATCH:  # one chunk: no slicing, no cat (the common interactive case)
                out = fn(*[None if t is None else t.to(dev) for t in tensors]).float().cpu()
            else:
                outs = []
                for i in range(0, n, INFERENCE_BATCH):
                    part = [None if t is None else t[i : i + INFERENCE_BATCH].to(dev) for t in tensors]
                    outs.append(fn(*part).float().cpu())
                out = torch.cat(outs)
        if not np.isfinite(out.numpy()).all():  # never hand back a silent NaN
            raise DataError(
                "the model produced NaN or inf; the inputs lie too far outside the training range "
                "(or the weights are corrupt). Pass data on the training scale, or refit."
            )
        return out

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X,
        y=None,
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        validation_data=None,
        callbacks=None,
        resume=None,
        **train_options: Any,
    ):
        """Fit the scaler and the networks on ``X`` (and labels ``y``).

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape)
        y : array-like of int, optional
            Labels; required by conditional models, ignored by the others.
        epochs, batch_size : int, optional
            Override :class:`~latentlab.training.TrainConfig` defaults.
        validation_data : array-like or (X_val, y_val), optional
            Held-out set for early stopping; without it
            ``validation_split`` of ``X`` is held out.
        **train_options
            Any other :class:`~latentlab.training.TrainConfig` field
            (``lr``, ``patience``, ``seed``, ``device``, ``verbose``...).
        resume : path, optional
            A checkpoint written by :class:`~latentlab.training.checkpoint.Checkpoint`:
            training continues from it (weights, scaler, optimizer, epoch,
            random state) as if it had never stopped. The model must have
            been built with the same options.

        Returns
        -------
        self
            ``self.history`` holds one dict per epoch.
        """
        from ..data.streaming import Source

        if isinstance(X, Source):  # data bigger than memory: read in chunks
            return self.fit_source(X, epochs=epochs, batch_size=batch_size, callbacks=callbacks, **train_options)
        tc = _train_config(epochs, batch_size, train_options)
        arr = as_float_array(X, name="X", min_samples=2, allow_nan=self.allows_nan)
        warn_constant(arr)
        ckpt = None if resume is None else self._adopt_checkpoint(resume, tc)
        if self.config.input_shape is None:
            self.config = self.config.replace(input_shape=tuple(int(s) for s in arr.shape[1:]))
        arr = check_shape(arr, self.config.input_shape, name="X")
        labels = self._labels(y, arr.shape[0]) if (y is not None and self.config.n_classes > 0) else None
        if self.config.n_classes > 0 and labels is None:
            raise DataError("this model is conditional: pass labels y to fit.")
        if self.scaler is None:
            self.scaler = Scaler(self.config.scaling).fit(arr.reshape(arr.shape[0], *self.config.input_shape))
        if not self.built:
            seed_everything(tc.seed)
            self.build()
        if ckpt is not None:
            self.load_state_dict(ckpt.model_state)
        scaled = self.scaler.transform(arr)
        _check_bernoulli_range(self.config, scaled)
        train = TensorData(torch.from_numpy(scaled), labels)
        val = None
        if validation_data is not None:
            vx, vy = validation_data if isinstance(validation_data, tuple) else (validation_data, None)
            varr = as_float_array(vx, name="validation X", allow_nan=self.allows_nan)
            varr = check_shape(varr, self.config.input_shape, name="validation X")
            vlab = self._labels(vy, varr.shape[0]) if self.config.n_classes > 0 else None
            val = TensorData(torch.from_numpy(self.scaler.transform(varr)), vlab)
        trainer = Trainer(self, tc, callbacks)
        if ckpt is not None:
            trainer.load_state_dict(ckpt.trainer_state)
        self.history = list(self.history) + trainer.fit(train, val)
        self.train_config = tc
        self.trainer_ = trainer
        self.on_fit_end(train)
        return self

    def _adopt_checkpoint(self, path, tc: TrainConfig):
        """Read a checkpoint to resume from; take its config and scaler if they fit this model."""
        from ..training.checkpoint import load_checkpoint

        state = load_checkpoint(path)
        mine = self.config
        if mine.input_shape is None:
            mine = mine.replace(input_shape=state.config.input_shape)
        if state.model_class is not type(self) or mine != state.config:
            theirs, ours = state.config.to_dict(), mine.to_dict()
            diff = {k: (ours.get(k), v) for k, v in theirs.items() if ours.get(k) != v}
            raise ConfigError(
                f"{path} was written by a {state.model_class.__name__} that differs from this "
                f"{type(self).__name__} in {diff} (this model, checkpoint); build it with the same options."
            )
        ours = tc.to_dict()
        keys = ("batch_size", "lr", "weight_decay", "seed", "validation_split", "lr_schedule")
        changed = [k for k in keys if state.train_config.get(k) != ours[k]]
        if changed:
            warnings.warn(f"resuming with different training options {changed}; the run will differ.", stacklevel=3)
        self.config, self.scaler, self.history = state.config, state.scaler, []
        return state

    def fit_source(self, source, *, epochs: int | None = None, batch_size: int | None = None, callbacks=None,
                   resume=None, **train_options: Any):
        """Fit on data bigger than memory: a path or a :class:`~latentlab.data.streaming.Source`.

        The scaler is fitted in one streamed pass, then each epoch reads the
        source a block at a time (see :class:`~latentlab.data.streaming.StreamingData`),
        so peak memory depends on the block size, not on the file size.
        ``validation_split`` holds out evenly spaced rows. The code prior of
        deterministic models is fitted on at most 20,000 evenly spaced rows (64 MB).
        ``resume`` continues from a checkpoint exactly as in :meth:`fit`; the
        checkpoint's scaler is kept, so the scaling pass over the source is skipped.

        Examples
        --------
        >>> import numpy as np, tempfile, os, latentlab
        >>> f = os.path.join(tempfile.mkdtemp(), "x.npy")
        >>> np.save(f, np.random.default_rng(0).random((300, 8)).astype("float32"))
        >>> ae = latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit_source(f, epochs=2, verbose=False)
        >>> ae.encode(np.load(f)[:3]).shape
        (3, 2)
        """
        from ..data.streaming import Source, StreamingData, default_block_rows, open_source
        from ..data.validation import check_finite

        source = source if isinstance(source, Source) else open_source(source)
        tc = _train_config(epochs, batch_size, train_options)
        ckpt = None if resume is None else self._adopt_checkpoint(resume, tc)
        if self.config.input_shape is None:
            self.config = self.config.replace(input_shape=tuple(source.shape))
        if math.prod(source.shape) != math.prod(self.config.input_shape):
            raise DataError(f"the source's samples have shape {source.shape}; this model expects {self.config.input_shape}.")
        if self.config.n_classes > 0 and not source.has_labels:
            raise DataError("this model is conditional: the source must carry labels (label_column or labels=).")
        shape = tuple(self.config.input_shape)
        if self.scaler is None:
            scaler = Scaler(self.config.scaling)
            for x, _ in source.stream(default_block_rows(shape)):
                check_finite(x, name="the source")
                scaler.partial_fit(x.reshape(len(x), *shape))
            self.scaler = scaler
        if not self.built:
            seed_everything(tc.seed)
            self.build()
        if ckpt is not None:
            self.load_state_dict(ckpt.model_state)

        def transform(x):
            scaled = self.scaler.transform(x.reshape(len(x), *shape))
            _check_bernoulli_range(self.config, scaled)
            return scaled

        train = StreamingData(source, transform, "train", tc.validation_split)
        val = StreamingData(source, transform, "val", tc.validation_split)
        trainer = Trainer(self, tc, callbacks)
        if ckpt is not None:
            trainer.load_state_dict(ckpt.trainer_state)
        self.history = list(self.history) + trainer.fit(train, val if len(val) else None)
        self.train_config, self.trainer_ = tc, trainer
        cap = max(256, min(20000, (1 << 24) // math.prod(shape)))  # at most 64 MB of rows
        step, seen, picked = max(1, -(-len(train) // cap)), 0, []
        for x, y in train.batches(train.block_rows):  # evenly spaced rows, a block at a time
            idx = torch.arange((-seen) % step, len(x), step)
            picked.append((x[idx], None if y is None else y[idx]))
            seen += len(x)
        ys = None if picked[0][1] is None else torch.cat([p[1] for p in picked])
        self.on_fit_end(TensorData(torch.cat([p[0] for p in picked]), ys))
        return self

    def on_fit_end(self, train: TensorData) -> None:
        """After training: fit the code prior of deterministic models."""
        z = self._batched(lambda x, y: self.posterior(x, y).mean, train.x, train.y)
        self.fit_code_prior(z.to(self.code_mean.device))

    # ------------------------------------------------------------ inference
    def encode(self, X, y=None) -> np.ndarray:
        """Deterministic codes (the posterior mean), shape ``(n, latent_dim)``."""
        self._check_fitted()
        x = self._to_model_space(X)
        return self._batched(lambda a, b: self.posterior(a, b).mean, x, self._labels(y, x.shape[0])).numpy()

    transform = encode

    def decode(self, Z, y=None) -> np.ndarray:
        """Decoder means of codes ``Z`` in the user's units, shape ``(n, *input_shape)``."""
        self._check_fitted()
        z = as_float_array(Z, name="Z")
        if z.ndim != 2 or z.shape[1] != self.config.latent_dim:
            raise DataError(f"Z has shape {z.shape}; codes must be (n, {self.config.latent_dim}).")
        zt = torch.from_numpy(z)
        return self._to_user_space(self._batched(self.decode_mean, zt, self._labels(y, z.shape[0])))

    def reconstruct(self, X, y=None) -> np.ndarray:
        """Encode then decode deterministically; same shape and units as ``X``."""
        self._check_fitted()
        x = self._to_model_space(X)
        return self._to_user_space(self._batched(self.forward, x, self._labels(y, x.shape[0])))

    def predict(self, X, y=None) -> np.ndarray:
        """Keras-style alias of :meth:`reconstruct`."""
        return self.reconstruct(X, y)

    def denoise(self, X_noisy, y=None) -> np.ndarray:
        """Reconstruct noisy inputs (meaningful for a model trained with ``noise``)."""
        return self.reconstruct(X_noisy, y)

    def sample(
        self, n: int, y=None, *, seed: int | None = None, generator: torch.Generator | None = None
    ) -> np.ndarray:
        """Decode ``n`` codes drawn from the prior (class ``y`` for conditional models).

        Reproducible with ``seed`` or an explicit ``torch.Generator``.
        """
        self._check_fitted()
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"n={n!r} must be a positive integer.")
        z = self.prior_sample(int(n), _generator(seed, generator))
        if y is not None and np.ndim(y) == 0:
            y = np.full(int(n), int(y))
        return self._to_user_space(self._batched(self.decode_mean, z, self._labels(y, int(n))))

    def interpolate(self, a, b, steps: int = 10, method: str = "linear", y=None) -> np.ndarray:
        """Decode ``steps`` points on the path between the codes of samples ``a`` and ``b``.

        ``method`` is 'linear' or 'slerp' (spherical).
        """
        from ..apps.interpolation import interpolate_codes

        a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
        ya = None if y is None else np.full(2, int(y))
        codes = self.encode(np.stack([a.reshape(self.config.input_shape), b.reshape(self.config.input_shape)]), ya)
        path = interpolate_codes(codes[0], codes[1], steps, method)
        return self.decode(path, None if y is None else np.full(steps, int(y)))

    # ---------------------------------------------------------------- files
    def save(self, path, metrics: dict[str, Any] | None = None) -> None:
        """Write ``config.json``, ``model.safetensors``, ``scaler.json`` and ``metrics.json``."""
        from .io import save_model

        save_model(self, path, metrics)

    @classmethod
    def load(cls, path):
        """Rebuild a model saved by :meth:`save` (no unpickling)."""
        from .io import load_model

        model = load_model(path)
        if not isinstance(model, cls):
            raise ConfigError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}.")
        return model
