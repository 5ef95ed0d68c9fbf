"""Shared encoders and decoders: any widths, activations, image sizes and channels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.errors import ConfigError
from latentlab.nn import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder


@pytest.mark.parametrize("hidden", [(7,), (64, 32, 16), (300, 5)])
@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu", "leaky_relu"])
def test_mlp_any_widths_and_activations(hidden, activation):
    enc = MLPEncoder((3, 4), hidden, 6, activation)
    dec = MLPDecoder(6, hidden[::-1], (3, 4), activation)
    x = torch.randn(5, 3, 4)
    assert dec(enc(x)).shape == (5, 3, 4)
    widths = [m.out_features for m in enc.net if isinstance(m, torch.nn.Linear)]
    assert widths == [*hidden, 6]


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (2, 7, 13), (1, 1, 1)])
@pytest.mark.parametrize("channels", [(8,), (8, 16), (4, 8, 16)])
def test_conv_round_trips_any_image_size(shape, channels):
    enc = ConvEncoder(shape, channels, 5)
    dec = ConvDecoder(5, channels[::-1], shape)
    x = torch.randn(2, *shape)
    assert enc(x).shape == (2, 5)
    assert dec(enc(x)).shape == (2, *shape)


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(64,), (1, 8, 8), (3, 32, 32)])
def test_conv_model_fits_flat_and_image_layouts(shape):
    X = np.random.default_rng(0).random((40, *shape)).astype(np.float32)
    model = latentlab.Autoencoder(architecture="conv", hidden=(4, 8), latent_dim=3)
    model.fit(X, epochs=2, batch_size=16, verbose=False)
    assert model.reconstruct(X[:3]).shape == (3, *shape)


def test_conv_refuses_non_image_shape():
    with pytest.raises(ConfigError, match="image_shape"):
        latentlab.Autoencoder(architecture="conv", input_shape=(10,))
