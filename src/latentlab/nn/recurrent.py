"""Recurrent (LSTM or GRU) encoder and decoder for variable-length sequences.

Samples are ``(T, F)``: ``T`` time steps of ``F`` features (a flat ``(T,)``
input is read as ``T`` steps of one feature). Padding is marked by NaN: a
sample's length is one past its last time step holding any finite value, and
NaN entries before it are missing values. The encoder zero-fills NaNs and
packs each batch by length, so its code never depends on what follows the
last real step. The decoder repeats the code at every step (a "repeat
vector" decoder, no teacher forcing) and emits all ``T`` steps; the loss
masks what lies beyond each length.

Srivastava et al., "Unsupervised learning of video representations using
LSTMs", ICML 2015; Bowman et al., "Generating sentences from a continuous
space", CoNLL 2016 (the sequence VAE).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..errors import ConfigError

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


def sequence_shape(input_shape) -> tuple[int, int]:
    """``(T, F)`` of one sample: ``(T, F)`` as is, ``(T,)`` as one feature.

    Examples
    --------
    >>> sequence_shape((24,)), sequence_shape((24, 3))
    ((24, 1), (24, 3))
    """
    shape = tuple(input_shape or ())
    if len(shape) == 1:
        return shape[0], 1
    if len(shape) == 2:
        return shape  # type: ignore[return-value]
    raise ConfigError(
        f"a sequence model needs samples of shape (time, features); got input_shape {shape}. "
        "Pass X of shape (n_sequences, time, features)."
    )


def last_state(rnn: nn.Module, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The top layer's state ``(B, H)`` after each sequence's own last step (padding beyond it is skipped).

    ``inputs`` is ``(B, T, F)``, batch first; ``lengths`` the real steps of each
    (0 counts as 1).
    """
    packed = pack_padded_sequence(inputs, lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False)
    _, last = rnn(packed)
    return (last[0] if isinstance(last, tuple) else last)[-1]  # an LSTM returns (h, c)


def sequence_lengths(x: torch.Tensor) -> torch.Tensor:
    """One past the last time step with any finite value, per sample, ``(B,)``.

    Examples
    --------
    >>> nan = float("nan")
    >>> sequence_lengths(torch.tensor([[[1.0], [2.0], [nan]], [[nan], [3.0], [nan]]])).tolist()
    [2, 2]
    """
    observed = torch.isfinite(x).any(-1)  # (B, T)
    steps = torch.arange(1, x.shape[1] + 1, device=x.device)
    return (observed * steps).amax(1)


class _Stack(nn.Module):
    """RNN layers of possibly different widths, run one after another on a packed batch."""

    def __init__(self, cell: str, in_dim: int, widths) -> None:
        super().__init__()
        rnn = CELLS[cell]
        dims = [in_dim, *widths]
        self.layers = nn.ModuleList(rnn(a, b, batch_first=True) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, seq):
        last = None
        for layer in self.layers:
            seq, last = layer(seq)
        return seq, last


class RecurrentEncoder(nn.Module):
    """Packs a NaN-padded batch, runs the RNN stack, maps the last state to ``out_dim``.

    Examples
    --------
    >>> enc = RecurrentEncoder((10, 3), "gru", (16,), 4)
    >>> x = torch.randn(2, 10, 3); x[0, 6:] = float("nan")
    >>> enc(x).shape
    torch.Size([2, 4])
    """

    def __init__(self, input_shape, cell: str, hidden, out_dim: int, in_extra: int = 0):
        super().__init__()
        self.steps, self.features = sequence_shape(input_shape)
        self.rnn = _Stack(cell, self.features, hidden)
        self.head = nn.Linear(hidden[-1] + in_extra, out_dim)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        x = x.reshape(x.shape[0], self.steps, self.features)  # (B, T, F)
        h = last_state(self.rnn, torch.nan_to_num(x, nan=0.0), sequence_lengths(x))  # (B, H)
        if extra is not None:
            h = torch.cat([h, extra], dim=1)
        return self.head(h)  # (B, out_dim)


class RecurrentDecoder(nn.Module):
    """Feeds the code at every step through the RNN stack, one linear read-out per step.

    Examples
    --------
    >>> RecurrentDecoder(4, "lstm", (16,), (10, 3))(torch.zeros(2, 4)).shape
    torch.Size([2, 10, 3])
    """

    def __init__(self, latent_dim: int, cell: str, hidden, output_shape):
        super().__init__()
        self.steps, self.features = sequence_shape(output_shape)
        self.rnn = _Stack(cell, latent_dim, hidden)
        self.head = nn.Linear(hidden[-1], self.features)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        seq = z.unsqueeze(1).expand(-1, self.steps, -1).contiguous()  # (B, T, L)
        out, _ = self.rnn(seq)  # (B, T, H)
        return self.head(out)  # (B, T, F)


def build_recurrent_pair(config, out_dim: int, in_extra: int = 0, latent_extra: int = 0):
    """Encoder and decoder for ``architecture='seq'``.

    ``config.hidden`` gives the widths of the stacked recurrent layers
    (encoder order; the decoder mirrors them) and ``config.cell`` picks
    'lstm' or 'gru' (default 'gru' for configs without that field).
    """
    cell = getattr(config, "cell", "gru")
    if cell not in CELLS:
        raise ConfigError(f"cell={cell!r} is not one of {sorted(CELLS)}.")
    enc = RecurrentEncoder(config.input_shape, cell, config.hidden, out_dim, in_extra)
    dec = RecurrentDecoder(config.latent_dim + latent_extra, cell, config.hidden[::-1], config.input_shape)
    return enc, dec

