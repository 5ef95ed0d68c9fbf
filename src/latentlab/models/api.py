"""The NumPy-facing, Keras-like API every family shares.

``fit`` takes arrays or tensors in the user's own units; the fitted scaler
maps them into the model's space and back, so ``encode``/``decode``/
``reconstruct`` always speak the user's units and shapes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..data.scaling import Scaler
from ..data.validation import as_float_array, check_labels, check_shape, check_training_range
from ..errors import ConfigError, DataError, NotFittedError
from ..training.options import TrainConfig
from .fitting import ArrayInput, FitReport, StreamInput, fit_batch, fit_model, train_config
from .interpolation import check_steps, interpolate_codes
from .view import RunView

INFERENCE_BATCH = 4096
INVARIANT_CHUNK = 256


def fixed_chunks(fn, tensors: list, chunk: int = INVARIANT_CHUNK):
    """``fn(*tensors)`` computed ``chunk`` rows at a time, the last chunk padded: each row's result is then
    the same whatever rows share the call (the matrix products always have the same shape).

    ``fn`` may return a tensor or a tuple of tensors (row-aligned).
    """
    n = tensors[0].shape[0]
    outs = []
    for i in range(0, max(n, 1), chunk):
        part = []
        for t in tensors:
            if t is None:
                part.append(None)
                continue
            piece = t[i : i + chunk]
            if len(piece) < chunk:
                piece = torch.cat([piece, piece.new_zeros(chunk - len(piece), *piece.shape[1:])])
            part.append(piece)
        res = fn(*part)
        m = min(chunk, n - i)
        outs.append(tuple(r[:m] for r in res) if isinstance(res, tuple) else res[:m])
    if isinstance(outs[0], tuple):
        return tuple(torch.cat([o[j] for o in outs]) for j in range(len(outs[0])))
    return torch.cat(outs)


# What one call of sample / interpolate / decode may produce: 1 GB of float32 (ask in parts for more).
MAX_OUTPUT_VALUES = 250_000_000


def make_generator(seed: int | None, generator: torch.Generator | None) -> torch.Generator | None:
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise ConfigError(f"generator must be a torch.Generator, got {type(generator).__name__}.")
        return generator
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ConfigError(f"seed={seed!r} must be an integer.")
        if not -(2**63) <= int(seed) < 2**64:
            raise ConfigError(f"seed={seed} is outside the generator's range [-2**63, 2**64); pick a smaller seed.")
        return torch.Generator().manual_seed(int(seed))
    return None


def check_output_size(n: int, sample_shape, what: str) -> None:
    """Refuse a request whose output could not be allocated, before anything is computed."""
    values = int(n) * math.prod(int(s) for s in sample_shape)
    if values > MAX_OUTPUT_VALUES:
        raise ConfigError(
            f"{what} would produce {values:,} values ({values * 4 / 1e9:.1f} GB of float32), more than "
            f"{MAX_OUTPUT_VALUES:,}; ask for fewer at a time."
        )


class ModelAPI:
    """Mixin with fit / encode / decode / reconstruct / predict / sample / interpolate / save."""

    #: Families whose inputs may hold NaN (padding of sequences) set this to True.
    allows_nan: bool = False

    def _init_api_state(self) -> None:
        self.scaler: Scaler | None = None
        self.history: list[dict[str, float]] = []
        self.train_config: TrainConfig | None = None
        self.fit_report: FitReport | None = None
        self.metrics: dict[str, Any] = {}
        self.compat_ids: tuple[int, int] | None = None  # set by load for files of an earlier version
        self.view: RunView | None = None  # what a viewer needs to know about the data (see attach_view)
        self.row_invariant = False  # see run_batched
        self.fit_interrupted = False  # set while a fit runs; stays set if it is interrupted

    # ----------------------------------------------------------------- data
    @property
    def device(self) -> torch.device:
        return self._buffers["_anchor"].device  # one dict lookup; parameters() walks every submodule

    def check_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless the model is built and its scaler fitted."""
        if self.fit_interrupted:
            raise NotFittedError(
                f"the last fit of this {type(self).__name__} was interrupted, so its weights and prior are not a "
                "finished fit; fit it again, or resume from a checkpoint (fit(..., resume=path))."
            )
        if not self.built or self.scaler is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X) or latentlab.load(dir).")

    def to_model_space(self, X, name: str = "X", allow_nan: bool = False) -> torch.Tensor:
        """User data -> the scaled float32 tensor the networks see, ``(n, *input_shape)``."""
        arr = as_float_array(X, name=name, allow_nan=allow_nan)
        arr = check_shape(arr, self.config.input_shape, name=name)
        scaled = self.scaler.transform(arr)
        check_training_range(scaled, self.scaler.kind, name=name)
        return torch.from_numpy(scaled)

    def to_user_space(self, t: torch.Tensor) -> np.ndarray:
        """Inverse of :meth:`to_model_space`: model-space values in the user's units, as NumPy."""
        arr = t.detach().float().cpu().numpy()
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, in words
            out = self.scaler.inverse_transform(arr)
        if not np.isfinite(out).all() and not np.isfinite(out[~np.isnan(arr)]).all():  # NaN is sequence padding
            raise DataError(
                "the outputs overflow float32 once scaled back to your units (the fitted scale is absurdly large: "
                "an extreme value in the training data?). Check the training data for outliers, or use scaling='robust'."
            )
        return out

    def label_tensor(self, y, n: int, required: bool = False) -> torch.Tensor | None:
        """Checked integer labels as a tensor (None for an unconditional model given none)."""
        if y is None:
            if required or self.config.n_classes > 0:
                raise DataError("this model is conditional: pass labels y (ints in 0..n_classes-1).")
            return None
        return torch.from_numpy(check_labels(y, n, n_classes=self.config.n_classes or None))

    def run_batched(self, fn, *tensors: torch.Tensor | None) -> torch.Tensor:
        """``fn`` over model-space tensors in eval mode, in chunks of ``INFERENCE_BATCH`` rows, on the CPU after.

        With ``row_invariant`` set, every chunk has exactly ``INVARIANT_CHUNK``
        rows (the last one padded with zeros), so a row's result does not
        depend on which rows share the call: float32 matrix products change in
        their last bits with the number of rows. The estimators set it.
        """
        if self.training:  # eval() walks every submodule; skip it on the hot inference path
            self.eval()
        dev = self.device
        n = tensors[0].shape[0]
        with torch.inference_mode():
            if self.row_invariant:
                out = fixed_chunks(fn, [None if t is None else t.to(dev) for t in tensors]).float().cpu()
            elif n <= INFERENCE_BATCH:  # one chunk: no slicing, no cat (the common interactive case)
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
        tc = train_config(epochs, batch_size, train_options)
        data = ArrayInput(X, y, validation_data, allow_nan=self.allows_nan)
        if batch_size is None and "batch_size" not in train_options:  # the default batch shrinks to short data
            tc = fit_batch(tc, data.arr.shape[0])
        return fit_model(self, data, tc, callbacks, resume)

    def fit_source(self, source, *, epochs: int | None = None, batch_size: int | None = None, callbacks=None,
                   resume=None, **train_options: Any):
        """Fit on data bigger than memory: a path or a :class:`~latentlab.data.streaming.Source`.

        The scaler is fitted in one streamed pass, then each epoch reads the
        source a block at a time (see :class:`~latentlab.data.streaming.StreamingData`),
        so peak memory depends on the block size, not on the file size.
        ``validation_split`` holds out evenly spaced rows. A prior fitted to the
        codes is fitted on at most 20,000 evenly spaced rows (64 MB).
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
        tc = train_config(epochs, batch_size, train_options)
        return fit_model(self, StreamInput(source), tc, callbacks, resume)

    # ------------------------------------------------------------ inference
    def encode(self, X, y=None) -> np.ndarray:
        """Deterministic codes (the posterior mean), shape ``(n, latent_dim)``."""
        self.check_fitted()
        x = self.to_model_space(X)
        return self.run_batched(lambda a, b: self.posterior(a, b).mean, x, self.label_tensor(y, x.shape[0])).numpy()

    transform = encode

    def decode(self, Z, y=None) -> np.ndarray:
        """Decoder means of codes ``Z`` in the user's units, shape ``(n, *input_shape)``."""
        self.check_fitted()
        z = as_float_array(Z, name="Z")
        if z.ndim != 2 or z.shape[1] != self.config.latent_dim:
            raise DataError(f"Z has shape {z.shape}; codes must be (n, {self.config.latent_dim}).")
        zt = torch.from_numpy(z)
        return self.to_user_space(self.run_batched(self.decode_mean, zt, self.label_tensor(y, z.shape[0])))

    def reconstruct(self, X, y=None) -> np.ndarray:
        """Encode then decode deterministically; same shape and units as ``X``."""
        self.check_fitted()
        x = self.to_model_space(X)
        return self.to_user_space(self.run_batched(self.forward, x, self.label_tensor(y, x.shape[0])))

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
        self.check_fitted()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"n={n!r} must be a positive integer.")
        check_output_size(n, self.config.input_shape, f"sample(n={n})")
        gen = make_generator(seed, generator)
        if y is not None and np.ndim(y) == 0:
            y = np.full(int(n), y)  # checked as labels below: 1.5 or 'a' are refused, not truncated
        labels = self.label_tensor(y, int(n))
        z = self.prior_sample(int(n), gen)
        return self.to_user_space(self.run_batched(self.decode_mean, z, labels))

    def interpolate(self, a, b, steps: int = 10, method: str = "linear", y=None) -> np.ndarray:
        """Decode ``steps`` points on the path between the codes of samples ``a`` and ``b``.

        ``method`` is 'linear' or 'slerp' (spherical).
        """
        self.check_fitted()
        shape = tuple(self.config.input_shape)
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
            raise ConfigError(f"steps={steps!r} must be an integer >= 2.")
        check_output_size(steps, shape, f"interpolate(steps={steps})")
        check_steps(steps)  # at most MAX_STEPS points, before the ends are encoded
        ends = []
        for name, v in (("a", a), ("b", b)):
            given = np.shape(v)
            v = as_float_array(np.asarray(v).reshape(1, -1), name=name, min_samples=1)
            if v.size != math.prod(shape):
                raise DataError(
                    f"{name} has shape {given} ({v.size} values); interpolate takes one sample each, of shape "
                    f"{shape}."
                )
            ends.append(v.reshape(shape))
        ya = None if y is None else np.full(2, y)
        codes = self.encode(np.stack(ends), ya)
        path = interpolate_codes(codes[0], codes[1], steps, method)
        return self.decode(path, None if y is None else np.full(int(steps), y))

    def attach_view(self, X=None, y=None, *, image_shape=None, examples=None, example_labels=None):
        """Record what a viewer needs: the codes of ``X`` (with labels ``y``) for the map, the image
        shape of one sample, and a few example inputs. :meth:`save` writes it with the model.

        Returns ``self``.

        Examples
        --------
        >>> import latentlab
        >>> X, y = latentlab.load_digits()
        >>> ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, verbose=False)
        >>> ae.attach_view(X[:100], y[:100], image_shape=(8, 8)).view.points.shape
        (100, 2)
        """
        self.check_fitted()
        n = 0 if X is None else len(X)
        points = np.zeros((0, self.config.latent_dim), np.float32)
        if n:
            points = self.encode(X, y if self.config.n_classes else None).astype(np.float32)
        labels = np.full(n, -1, np.int64) if y is None else np.asarray(y, np.int64).reshape(-1)
        d = math.prod(self.config.input_shape)
        ex = np.zeros((0, d), np.float32) if examples is None else as_float_array(examples, name="examples")
        ex = ex.reshape(len(ex), -1) if len(ex) else ex.reshape(0, d)
        ex_labels = np.full(len(ex), -1, np.int64) if example_labels is None else np.asarray(example_labels, np.int64)
        view = RunView(image_shape, points, labels, ex, ex_labels.reshape(-1))
        self.view = view.check(tuple(self.config.input_shape), self.config.latent_dim)
        return self

    # ---------------------------------------------------------------- files
    def save(self, path, metrics: dict[str, Any] | None = None, *, weights: str = "float32") -> None:
        """Write ``config.json``, ``model.safetensors``, ``scaler.json`` and ``metrics.json``.

        ``weights='float16'`` halves ``model.safetensors`` by storing the weights rounded to half precision
        (loaded back as float32; outputs then differ from the float32 model's in about the fourth digit).
        """
        from .io import save_model

        save_model(self, path, metrics, weights=weights)

    @classmethod
    def load(cls, path):
        """Rebuild a model of this class saved by :meth:`save` (no unpickling).

        A folder holding another kind of object (an estimator, a codec) or a
        model of another family is a :class:`~latentlab.ModelFileError` that
        says what opens it; :func:`latentlab.load` opens any of them.
        """
        from .io import load_model

        return load_model(path, expected=cls)
