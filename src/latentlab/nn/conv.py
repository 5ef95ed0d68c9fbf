"""Convolutional encoder and decoder for images of any size and channel count.

Each encoder stage is a stride-2 3x3 convolution, so a side of ``s`` pixels
becomes ``ceil(s / 2)``. The decoder records those sizes and picks each
transposed convolution's ``output_padding`` so that it lands exactly on the
input size again: 8x8, 28x28, 32x32x3 or 37x53x5 all round-trip.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError
from .mlp import activation_layer


def conv_image_shape(config) -> tuple[int, int, int]:
    """The ``(C, H, W)`` view of each sample for a conv model.

    Taken from ``config.image_shape`` when set, else from ``input_shape``:
    3-D is used as is, 2-D gets one channel, a flat square length ``s*s``
    becomes ``(1, s, s)``.
    """
    if config.image_shape is not None:
        shape = tuple(config.image_shape)
        if config.input_shape is not None and math.prod(shape) != math.prod(config.input_shape):
            raise ConfigError(f"image_shape {shape} does not hold input_shape {config.input_shape}.")
        return shape  # type: ignore[return-value]
    shape = tuple(config.input_shape or ())
    if len(shape) == 3:
        if shape[-1] in (1, 3, 4) and shape[0] not in (1, 2, 3, 4):
            raise ConfigError(
                f"input_shape {shape} looks channels-last (H, W, C); conv models read (C, H, W). "
                "Pass X.transpose(0, 3, 1, 2), or image_shape=(C, H, W) if it really is channels-first."
            )
        return shape  # type: ignore[return-value]
    if len(shape) == 2:
        return (1, *shape)  # type: ignore[return-value]
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        if side * side == shape[0]:
            return (1, side, side)
    raise ConfigError(
        f"a conv model needs images; input_shape {shape} is not (C, H, W), (H, W) or a square length. "
        "Pass image_shape=(C, H, W)."
    )


def _down(s: int) -> int:
    return (s + 1) // 2


class ConvEncoder(nn.Module):
    """Stride-2 conv stages with ``channels``, then a linear map to ``out_dim``.

    Examples
    --------
    >>> ConvEncoder((3, 32, 32), (16, 32), 8)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 8])
    """

    def __init__(self, image_shape, channels, out_dim: int, activation: str = "relu", in_extra: int = 0):
        super().__init__()
        c, h, w = image_shape
        self.image_shape = tuple(image_shape)
        layers: list[nn.Module] = []
        for ch in channels:
            layers += [nn.Conv2d(c, ch, 3, stride=2, padding=1), activation_layer(activation)]
            c, h, w = ch, _down(h), _down(w)
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c * h * w + in_extra, out_dim)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        x = x.reshape(x.shape[0], *self.image_shape)  # (B, C, H, W)
        h = self.body(x).flatten(1)  # (B, C' * H' * W')
        if extra is not None:
            h = torch.cat([h, extra], dim=1)
        return self.head(h)  # (B, out_dim)


class ConvDecoder(nn.Module):
    """Linear map from the code, then stride-2 transposed convs back to ``image_shape``.

    ``channels`` are in decoder order (widest first). The output keeps the
    flat or image layout of ``output_shape`` given to the model via reshape
    by the caller.

    Examples
    --------
    >>> ConvDecoder(8, (32, 16), (1, 28, 28))(torch.zeros(2, 8)).shape
    torch.Size([2, 1, 28, 28])
    """

    def __init__(self, latent_dim: int, channels, image_shape, activation: str = "relu"):
        super().__init__()
        c_out, h, w = image_shape
        self.image_shape = tuple(image_shape)
        sizes = [(h, w)]
        for _ in channels:
            sizes.append((_down(sizes[-1][0]), _down(sizes[-1][1])))
        # sizes[i] is the map size before encoder stage i; decoder walks back.
        self.start = (channels[0], *sizes[-1])
        self.head = nn.Linear(latent_dim, math.prod(self.start))
        layers: list[nn.Module] = [activation_layer(activation)]
        chans = list(channels)
        for i in range(len(chans)):
            target = sizes[len(chans) - 1 - i]
            c_in = chans[i]
            c_next = chans[i + 1] if i + 1 < len(chans) else chans[-1]
            pad = (1 - target[0] % 2, 1 - target[1] % 2)
            layers += [
                nn.ConvTranspose2d(c_in, c_next, 3, stride=2, padding=1, output_padding=pad),
                activation_layer(activation),
            ]
        layers.append(nn.Conv2d(chans[-1], c_out, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.head(z).reshape(z.shape[0], *self.start)  # (B, C, H', W')
        return self.body(h)  # (B, C_out, H, W)
