"""Fully connected encoder and decoder of any widths and activation."""

from __future__ import annotations

import math

import torch
from torch import nn

_ACT = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def activation_layer(name: str) -> nn.Module:
    """A fresh activation module by name (see ``config.ACTIVATIONS``)."""
    return _ACT[name]()


def build_mlp(sizes: list[int], activation: str) -> nn.Sequential:
    """Linear layers of ``sizes`` with ``activation`` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation_layer(activation))
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """Flatten each sample and map it through ``hidden`` widths to ``out_dim``.

    Examples
    --------
    >>> enc = MLPEncoder((64,), (32, 16), 4, "relu")
    >>> enc(torch.zeros(5, 64)).shape
    torch.Size([5, 4])
    """

    def __init__(self, input_shape, hidden, out_dim: int, activation: str = "relu", in_extra: int = 0):
        super().__init__()
        self.in_features = math.prod(input_shape)
        self.net = build_mlp([self.in_features + in_extra, *hidden, out_dim], activation)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        h = x.reshape(x.shape[0], -1)  # (B, D)
        if extra is not None:
            h = torch.cat([h, extra], dim=1)  # (B, D + E)
        return self.net(h)  # (B, out_dim)


class MLPDecoder(nn.Module):
    """Map a code through ``hidden`` widths to a sample of ``output_shape``.

    The output is the likelihood's raw parameter (logits for Bernoulli, the
    mean for Gaussian); the model's likelihood applies the output activation.

    Examples
    --------
    >>> dec = MLPDecoder(2, (16, 32), (64,), "relu")
    >>> dec(torch.zeros(5, 2)).shape
    torch.Size([5, 64])
    """

    def __init__(self, latent_dim: int, hidden, output_shape, activation: str = "relu"):
        super().__init__()
        self.output_shape = tuple(output_shape)
        self.net = build_mlp([latent_dim, *hidden, math.prod(output_shape)], activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).reshape(z.shape[0], *self.output_shape)  # (B, *output_shape)
