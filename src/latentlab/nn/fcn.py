"""A fully convolutional encoder and decoder: the code is a feature map, so any image size goes through.

Each of the ``k = len(channels)`` encoder stages halves the sides with a
stride-2 3x3 convolution and refines with ``depth`` 3x3 convolutions; a 1x1
convolution gives the ``C x H/2^k x W/2^k`` latent. The decoder mirrors it
with 4x4 stride-2 transposed convolutions. Sides must be multiples of
``2^k``: :func:`latentlab.nn.tiling.pad_to_multiple` pads, the caller crops.

With ``skips=True`` it is a U-Net (Ronneberger et al., 2015): decoder stages
add the encoder's feature map of the same size, which a denoiser wants and a
compressing autoencoder must not have (the code would not be a bottleneck).
With ``residual=True`` the network predicts the noise and returns
``input - noise`` (Zhang et al., "Beyond a Gaussian denoiser: residual
learning of deep CNN for image denoising" (DnCNN), IEEE TIP 2017).

Examples
--------
>>> enc = FCNEncoder(3, (16, 32), latent_channels=4)
>>> enc(torch.zeros(2, 3, 40, 24)).shape
torch.Size([2, 4, 10, 6])
>>> FCNDecoder(4, (16, 32), out_channels=3)(torch.zeros(2, 4, 10, 6)).shape
torch.Size([2, 3, 40, 24])
"""

from __future__ import annotations

import torch
from torch import nn

from .mlp import activation_layer


def _conv(c_in: int, c_out: int, activation: str, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), activation_layer(activation)]


class FCNEncoder(nn.Module):
    """A stem at full size, then ``len(channels)`` stride-2 stages; a 1x1 convolution to ``latent_channels``.

    ``forward(x)`` gives the latent ``(B, latent_channels, H/2^k, W/2^k)``;
    ``features(x)`` also gives the feature map at each size (for skips).
    """

    def __init__(self, in_channels: int, channels, latent_channels: int | None = None, depth: int = 1,
                 activation: str = "relu"):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        self.channels, self.depth, self.factor = channels, depth, 2 ** len(channels)
        self.stem = nn.Sequential(*_conv(in_channels, channels[0], activation))
        stages = []
        prev = channels[0]
        for ch in channels:
            layers = _conv(prev, ch, activation, stride=2)
            for _ in range(depth):
                layers += _conv(ch, ch, activation)
            stages.append(nn.Sequential(*layers))
            prev = ch
        self.stages = nn.ModuleList(stages)
        self.to_latent = nn.Conv2d(prev, latent_channels, 1) if latent_channels else nn.Identity()

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps at sizes 1, 1/2, ..., 1/2^k (the last is before the 1x1 latent map)."""
        feats = [self.stem(x)]  # (B, c0, H, W)
        for stage in self.stages:
            feats.append(stage(feats[-1]))  # (B, c_i, H / 2^i, W / 2^i)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_latent(self.features(x)[-1])  # (B, C, H / 2^k, W / 2^k)


class FCNDecoder(nn.Module):
    """Mirror of :class:`FCNEncoder`: ``channels`` in encoder order; skips are added when given."""

    def __init__(self, latent_channels: int | None, channels, out_channels: int, depth: int = 1,
                 activation: str = "relu"):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        self.factor = 2 ** len(channels)
        top = channels[-1]
        self.from_latent = (
            nn.Sequential(nn.Conv2d(latent_channels, top, 1), activation_layer(activation)) if latent_channels
            else nn.Identity()
        )
        stages = []
        widths = list(channels[::-1]) + [channels[0]]  # c_k, ..., c_1, c_0 (the stem's width)
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers: list[nn.Module] = [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1),
                                       activation_layer(activation)]
            for _ in range(depth):
                layers += _conv(c_out, c_out, activation)
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.head = nn.Conv2d(channels[0], out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor, skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        h = self.from_latent(z)  # (B, c_k, h, w)
        for i, stage in enumerate(self.stages):
            if skips is None:
                h = stage(h)
            else:  # the up-sampling, plus the encoder's map of that size, then the refinements
                up, rest = stage[:2], stage[2:]
                h = rest(up(h) + skips[-2 - i])
        return self.head(h)  # (B, out_channels, H, W)


class UNet(nn.Module):
    """Encoder and decoder joined by skips at every size; ``residual`` predicts the noise.

    Examples
    --------
    >>> net = UNet(1, (16, 32), depth=1)
    >>> net(torch.zeros(1, 1, 36, 20)).shape
    torch.Size([1, 1, 36, 20])
    """

    def __init__(self, in_channels: int, channels=(32, 64, 128), depth: int = 2, activation: str = "relu",
                 residual: bool = True):
        super().__init__()
        self.encoder = FCNEncoder(in_channels, channels, None, depth, activation)
        self.decoder = FCNDecoder(None, channels, in_channels, depth, activation)
        self.residual, self.factor = residual, self.encoder.factor
        self.radius = receptive_radius(len(tuple(channels)), depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .tiling import pad_to_multiple

        xp, (h, w) = pad_to_multiple(x, self.factor)  # (B, C, H', W') with H', W' multiples of 2^k
        feats = self.encoder.features(xp)
        out = self.decoder(feats[-1], feats)[..., :h, :w]
        return x - out if self.residual else out


def receptive_radius(stages: int, depth: int) -> int:
    """Pixels of context each side that an output pixel of the encoder-decoder pair depends on (an upper bound).

    Examples
    --------
    >>> receptive_radius(2, 1)
    20
    """
    r = 1  # the stem
    for i in range(stages):  # down: the stride-2 conv at jump 2^i, then depth convs at 2^(i+1)
        r += 2**i + depth * 2 ** (i + 1)
    for i in range(stages, 0, -1):  # up: the 4x4 transposed conv reaches one coarse pixel, then depth convs
        r += 2**i + depth * 2 ** (i - 1)
    return r + 1  # the head


class FlatCodeEncoder(nn.Module):
    """:class:`FCNEncoder` whose ``C x h x w`` map (``parts`` of them: a VAE's mean and log-variance) is flattened.

    The flat order is ``(part, h, w, C)``: position-major, so that groups of
    ``C`` values are the code vectors of single positions (a VQ-VAE's spatial
    codebook) and ``chunk(2, -1)`` splits a VAE's mean from its log-variance.
    ``maps(x)`` gives the latent of any size of image, ``(B, parts * C, h, w)``.
    """

    def __init__(self, image_shape, channels, latent_channels: int, parts: int = 1, depth: int = 1,
                 activation: str = "relu"):
        super().__init__()
        self.image_shape, self.parts, self.latent_channels = tuple(image_shape), parts, latent_channels
        self.net = FCNEncoder(image_shape[0], channels, parts * latent_channels, depth, activation)
        self.factor = self.net.factor

    def maps(self, x: torch.Tensor) -> torch.Tensor:
        from .tiling import pad_to_multiple

        return self.net(pad_to_multiple(x, self.factor)[0])  # (B, parts * C, h, w)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        m = self.maps(x.reshape(x.shape[0], *self.image_shape))
        b, _, h, w = m.shape
        m = m.reshape(b, self.parts, self.latent_channels, h, w).permute(0, 1, 3, 4, 2)  # (B, parts, h, w, C)
        return m.reshape(b, -1)


class FlatCodeDecoder(nn.Module):
    """:class:`FCNDecoder` from a flat ``(h, w, C)`` code back to ``image_shape`` (cropped from the padded size)."""

    def __init__(self, image_shape, channels, latent_channels: int, depth: int = 1, activation: str = "relu"):
        super().__init__()
        self.image_shape, self.latent_channels = tuple(image_shape), latent_channels
        self.net = FCNDecoder(latent_channels, channels, image_shape[0], depth, activation)
        self.factor = self.net.factor
        self.grid = latent_grid(image_shape, len(tuple(channels)))

    def from_maps(self, z: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Decode a latent map ``(B, C, h, w)``; ``size`` crops to the image's ``(H, W)``."""
        out = self.net(z)  # (B, C_out, h * 2^k, w * 2^k)
        return out if size is None else out[..., : size[0], : size[1]]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h, w = self.grid
        zm = z.reshape(z.shape[0], h, w, self.latent_channels).permute(0, 3, 1, 2)  # (B, C, h, w)
        return self.from_maps(zm, self.image_shape[1:])


def latent_grid(image_shape, stages: int) -> tuple[int, int]:
    """``(h, w)`` of the latent map of an image: its sides padded to multiples of ``2^k``, divided by ``2^k``.

    Examples
    --------
    >>> latent_grid((1, 28, 28), 2), latent_grid((3, 32, 48), 3)
    ((7, 7), (4, 6))
    """
    f = 2**stages
    return -(-image_shape[1] // f), -(-image_shape[2] // f)


def build_fcn_pair(config, image_shape, out_dim: int, in_extra: int = 0, latent_extra: int = 0):
    """The (encoder, decoder) of ``architecture='fcn'``: ``latent_dim`` counts the map's ``C * h * w`` values."""
    from ..errors import ConfigError

    if in_extra or latent_extra:
        raise ConfigError("architecture='fcn' takes no labels (conditional models); use 'conv' or 'mlp'.")
    h, w = latent_grid(image_shape, len(config.hidden))
    if config.latent_dim % (h * w):
        raise ConfigError(
            f"architecture='fcn': images {image_shape[1]}x{image_shape[2]} give a {h}x{w} latent map "
            f"after {len(config.hidden)} stride-2 stages, so latent_dim={config.latent_dim} must be a multiple of "
            f"{h * w} (latent_dim = channels x {h} x {w}), e.g. {4 * h * w} for 4 channels."
        )
    c = config.latent_dim // (h * w)
    parts = out_dim // config.latent_dim
    depth = getattr(config, "depth", 1)
    enc = FlatCodeEncoder(image_shape, config.hidden, c, parts, depth, config.activation)
    dec = FlatCodeDecoder(image_shape, config.hidden, c, depth, config.activation)
    return enc, dec


__all__ = ["FCNEncoder", "FCNDecoder", "UNet", "FlatCodeEncoder", "FlatCodeDecoder", "build_fcn_pair",
           "latent_grid", "receptive_radius"]
