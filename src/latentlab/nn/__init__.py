"""Building blocks: one encoder/decoder pair per architecture, shared by every family.

The torch modules load on first use (PEP 562), so the numpy-only ones (:mod:`.colour`, :mod:`.tiling`,
:mod:`.dihedral`) import without torch: the shipped denoiser's onnxruntime path uses them.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:  # what the lazy names are, for type checkers and the API reference
    from .conv import ConvDecoder, ConvEncoder, conv_image_shape
    from .mlp import MLPDecoder, MLPEncoder, activation_layer, build_mlp

_LAZY = {"ConvDecoder": "conv", "ConvEncoder": "conv", "conv_image_shape": "conv", "MLPDecoder": "mlp",
         "MLPEncoder": "mlp", "activation_layer": "mlp", "build_mlp": "mlp"}

__all__ = [
    "MLPEncoder",
    "MLPDecoder",
    "ConvEncoder",
    "ConvDecoder",
    "build_mlp",
    "activation_layer",
    "conv_image_shape",
    "build_pair",
]


def build_pair(config, out_dim: int, in_extra: int = 0, latent_extra: int = 0):
    """Build the (encoder, decoder) pair named by ``config.architecture``.

    Parameters
    ----------
    config : ModelConfig
        Gives the architecture, input shape, widths and activation.
    out_dim : int
        Width of the encoder's output (``latent_dim`` for a deterministic
        code, ``2 * latent_dim`` for a Gaussian posterior).
    in_extra : int
        Extra inputs concatenated to the encoder's features (labels of a
        conditional model).
    latent_extra : int
        Extra inputs concatenated to the code before decoding.
    """
    from ..errors import ConfigError
    from .conv import ConvDecoder, ConvEncoder, conv_image_shape
    from .mlp import MLPDecoder, MLPEncoder

    if config.architecture == "mlp":
        enc = MLPEncoder(config.input_shape, config.hidden, out_dim, config.activation, in_extra)
        out_shape = tuple(config.input_shape)
        if config.likelihood == "gaussian" and config.variance == "decoder":
            out_shape = (2, *out_shape)  # a mean and a log standard deviation per feature
        dec = MLPDecoder(config.latent_dim + latent_extra, config.hidden[::-1], out_shape, config.activation)
        return enc, dec
    if config.architecture == "conv":
        image_shape = conv_image_shape(config)
        enc = ConvEncoder(image_shape, config.hidden, out_dim, config.activation, in_extra)
        dec = ConvDecoder(config.latent_dim + latent_extra, config.hidden[::-1], image_shape, config.activation)
        return enc, dec
    if config.architecture == "fcn":
        from .fcn import build_fcn_pair

        return build_fcn_pair(config, conv_image_shape(config), out_dim, in_extra, latent_extra)
    if config.architecture == "seq":
        from .recurrent import build_recurrent_pair

        return build_recurrent_pair(config, out_dim, in_extra, latent_extra)
    if config.architecture == "text":
        from .text import build_text_pair

        return build_text_pair(config, out_dim, in_extra, latent_extra)
    raise ConfigError(f"unknown architecture {config.architecture!r}")


__getattr__ = lazy_getattr(__name__, _LAZY)
