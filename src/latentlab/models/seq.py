"""Sequence autoencoder and sequence VAE for variable-length multivariate sequences.

Data are ``(n, T, F)`` arrays (``(n, T)`` for one feature) in which **NaN
marks padding**: a sequence ends after its last time step holding any finite
value, and NaN entries before that are missing values. Ragged lists of
``(T_i, F)`` arrays are padded for you (see
:func:`latentlab.data.sequences.pad_sequences`), as are arrays shorter than
the model's ``T``. Every step and value that is absent is masked out of the
likelihood, and the encoder packs each batch by length, so the loss does not
depend on pad values. A :class:`~latentlab.training.trainer.Batch` may also
carry an explicit ``mask`` (1 = observed, shape ``(B, T)`` or ``(B, T, F)``):
entries it marks 0 are treated exactly like NaN.

Scaling is per feature, shared by all time steps. Reconstructions put NaN
back beyond each input's length. ``decode`` emits all ``T`` steps. ``sample``
draws each sample's length from the lengths of the training sequences (kept
in the model file as counts per length) and NaN-pads beyond it, so generated
data look like the training data; ``lengths=`` sets them instead.

Sutskever et al., "Sequence to sequence learning with neural networks",
NIPS 2014; Srivastava et al., ICML 2015; Bowman et al., CoNLL 2016.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import check_choice, register
from ..data.scaling import Scaler
from ..data.sequences import pad_sequences
from ..data.tensors import Batch
from ..data.validation import as_float_array, check_shape, check_training_range
from ..errors import ConfigError, DataError
from ..nn.recurrent import CELLS, sequence_lengths, sequence_shape
from ..training.options import LossOutput
from .ae import AEConfig, Autoencoder
from .api import make_generator
from .vae import VAE, VAEConfig


@dataclass(frozen=True)
class _SequenceFields:
    """Fields every sequence family adds: the recurrent cell, and seq defaults."""

    architecture: str = "seq"
    hidden: tuple[int, ...] = (64,)
    scaling: str = "standard"
    likelihood: str = "gaussian"
    latent_dim: int = 8
    cell: str = "gru"
    activation: str = "relu"
    noise: str = "none"
    noise_level: float = 0.0

    def validate(self) -> None:
        super().validate()  # type: ignore[misc]
        check_choice("cell", self.cell, tuple(CELLS))
        if self.architecture != "seq":
            raise ConfigError(f"sequence families need architecture='seq', got {self.architecture!r}.")


@dataclass(frozen=True)
class SeqAEConfig(_SequenceFields, AEConfig):
    """Config of :class:`SequenceAutoencoder`: ``cell`` is 'lstm' or 'gru'; ``hidden`` the RNN widths."""

    family = "seq_ae"


@dataclass(frozen=True)
class SeqVAEConfig(_SequenceFields, VAEConfig):
    """Config of :class:`SequenceVAE`: as :class:`SeqAEConfig` plus ``beta``."""

    family = "seq_vae"


class SequenceMixin:
    """NaN-as-padding handling shared by the sequence families (put it first in the bases)."""

    allows_nan = True

    def optional_tensors(self) -> tuple[str, ...]:
        return (*super().optional_tensors(), "length_counts")  # files from before lengths were kept: whole window

    def _sequences(self, X, name: str = "X") -> np.ndarray:
        """``X`` as a NaN-padded float32 array of ``(n, *input_shape)``."""
        shape = self.config.input_shape
        if isinstance(X, (list, tuple)) and X and np.ndim(X[0]) >= 1 and len({np.shape(s) for s in X}) > 1:
            X = pad_sequences(X, length=None if shape is None else shape[0])
        arr = as_float_array(X, name=name, allow_nan=True)
        if arr.ndim > 3:
            raise DataError(f"{name} has shape {arr.shape}; sequences are (n, time, features) or (n, time).")
        if shape is not None and arr.ndim == len(shape) + 1 and arr.shape[1] < shape[0]:
            pad = np.full((arr.shape[0], shape[0] - arr.shape[1], *arr.shape[2:]), np.nan, dtype=np.float32)
            arr = np.concatenate([arr, pad], axis=1)  # shorter sequences: pad to the model's T
        if shape is not None and arr.ndim >= 2 and arr.shape[1] > shape[0]:
            raise DataError(f"{name} has {arr.shape[1]} time steps; this model was fitted on at most {shape[0]}.")
        return arr

    def fit(self, X, y=None, **kwargs):
        """Fit on NaN-padded sequences ``(n, T, F)``; see :meth:`LatentModel.fit`."""
        arr = self._sequences(X)
        if self.scaler is None:
            self.scaler = _feature_scaler(self.config.scaling, arr)
        return super().fit(arr, y, **kwargs)

    def to_model_space(self, X, name: str = "X", allow_nan: bool = True) -> torch.Tensor:
        arr = check_shape(self._sequences(X, name), self.config.input_shape, name=name)
        scaled = self.scaler.transform(arr)
        check_training_range(np.nan_to_num(scaled), self.scaler.kind, name=name)  # NaN is padding
        return torch.from_numpy(scaled)

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(torch.isnan(x), x, super().corrupt(x))  # padding stays padding

    def loss(self, batch: Batch) -> LossOutput:
        if batch.mask is not None:  # explicit mask: absent entries become NaN, like padding
            mask = batch.mask.bool()
            mask = mask.unsqueeze(-1).expand_as(batch.x) if mask.dim() < batch.x.dim() else mask
            batch = Batch(torch.where(mask, batch.x, torch.nan), batch.y, None)
        return super().loss(batch)

    def reconstruction(self, params: torch.Tensor, batch: Batch) -> torch.Tensor:
        observed = torch.isfinite(batch.x)
        return self.likelihood.nll(params, torch.nan_to_num(batch.x), observed.to(params.dtype))

    def build_extra(self) -> None:
        super().build_extra()
        t, _ = sequence_shape(self.config.input_shape)
        # How many training sequences had each length 1..T: what ``sample`` draws lengths from.
        self.register_buffer("length_counts", torch.zeros(t))

    def fit_statistics(self, rows) -> dict:
        report = super().fit_statistics(rows)
        t, f = sequence_shape(self.config.input_shape)
        lengths = sequence_lengths(rows.x.reshape(len(rows.x), t, f)).clamp(1, t)
        self.length_counts.copy_(torch.bincount(lengths - 1, minlength=t)[:t].to(self.length_counts))
        return report

    def sample(self, n: int, y=None, *, seed: int | None = None, generator: torch.Generator | None = None,
               lengths=None) -> np.ndarray:
        """``n`` sequences decoded from the prior, NaN beyond each one's length.

        ``lengths`` is None (draw each from the training sequences' lengths),
        ``"full"`` (all ``T`` steps), an int, or one int per sample, in
        ``1..T``. Reproducible with ``seed`` or ``generator``, lengths included.
        """
        g = make_generator(seed, generator)
        out = super().sample(n, y, generator=g)
        t, _ = sequence_shape(self.config.input_shape)
        if isinstance(lengths, str):
            if lengths != "full":
                raise ConfigError(f"lengths={lengths!r}: pass None, 'full', an int or one int per sample.")
            return out
        if lengths is None:
            counts = self.length_counts.detach().cpu().double()
            if counts.sum() <= 0:  # fitted before lengths were kept: the whole window
                return out
            lengths = (torch.multinomial(counts, len(out), replacement=True, generator=g) + 1).numpy()
        lengths = np.broadcast_to(np.asarray(lengths), (len(out),)) if np.ndim(lengths) == 0 else np.asarray(lengths)
        if lengths.shape != (len(out),) or lengths.dtype.kind not in "iu" or lengths.min() < 1 or lengths.max() > t:
            raise ConfigError(f"lengths must be None, 'full', or {len(out)} ints in 1..{t}; got {lengths!r}.")
        out[np.arange(t)[None, :] >= lengths[:, None]] = np.nan
        return out

    def reconstruct(self, X, y=None) -> np.ndarray:
        """Reconstructions of the sequences ``X``, NaN beyond each one's length."""
        out = super().reconstruct(X, y)  # (n, *input_shape)
        arr = self._sequences(X)
        t, f = sequence_shape(self.config.input_shape)
        lengths = sequence_lengths(torch.from_numpy(arr.reshape(arr.shape[0], t, f))).numpy()
        out[np.arange(t)[None, :] >= lengths[:, None]] = np.nan
        return out


def _feature_scaler(kind: str, arr: np.ndarray) -> Scaler:
    """A scaler fitted per feature over all time steps, laid out as one sample."""
    n_features = arr.shape[2] if arr.ndim == 3 else 1
    scaler = Scaler(kind).fit(arr.reshape(-1, n_features))
    scaler.offset_ = np.ascontiguousarray(np.broadcast_to(scaler.offset_, (arr.shape[1], n_features)).reshape(arr.shape[1:]))
    scaler.scale_ = np.ascontiguousarray(np.broadcast_to(scaler.scale_, (arr.shape[1], n_features)).reshape(arr.shape[1:]))
    return scaler


@register
class SequenceAutoencoder(SequenceMixin, Autoencoder):
    """LSTM or GRU sequence-to-sequence autoencoder with padding masked out of the loss.

    Examples
    --------
    >>> import latentlab
    >>> X = latentlab.make_sequences(100, length=12, n_features=2, min_length=6, seed=0)
    >>> ae = latentlab.SequenceAutoencoder(latent_dim=4, hidden=(16,)).fit(X, epochs=2, verbose=False)
    >>> ae.encode(X[:3]).shape, ae.reconstruct(X[:3]).shape
    ((3, 4), (3, 12, 2))
    """

    config_class = SeqAEConfig


@register
class SequenceVAE(SequenceMixin, VAE):
    """Sequence VAE: recurrent encoder to a Gaussian posterior, recurrent decoder.

    Examples
    --------
    >>> import latentlab
    >>> X = latentlab.make_sequences(100, length=12, n_features=2, seed=0)
    >>> vae = latentlab.SequenceVAE(latent_dim=4, hidden=(16,), cell="lstm").fit(X, epochs=2, verbose=False)
    >>> vae.sample(2, seed=0).shape
    (2, 12, 2)
    """

    config_class = SeqVAEConfig
