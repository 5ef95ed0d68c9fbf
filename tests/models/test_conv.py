"""Convolutional AE and VAE on 8x8 digits, 28x28 and 32x32 RGB images."""

from __future__ import annotations

import numpy as np
import pytest

import latentlab
from latentlab.errors import ConfigError


def blobs(n, shape, seed=0):
    """Images of one soft bright disc at a random place, in [0, 1]."""
    c, h, w = shape
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0.25, 0.75, (2, n, 1, 1)) * np.array([h, w]).reshape(2, 1, 1, 1)
    img = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.12 * h) ** 2))  # (n, H, W)
    colour = rng.uniform(0.3, 1.0, (n, c, 1, 1))
    return (img[:, None] * colour).astype(np.float32)  # (n, C, H, W)


@pytest.fixture(scope="module")
def conv_models(digits):
    Xtr = digits[0]
    ae = latentlab.Autoencoder(architecture="conv", latent_dim=8, hidden=(16,), activation="relu", noise="none").fit(
        Xtr, epochs=10, lr=5e-3, verbose=False, seed=0, patience=None
    )
    vae = latentlab.VAE(architecture="conv", latent_dim=8, hidden=(32,)).fit(
        Xtr, epochs=20, lr=5e-3, verbose=False, seed=0, patience=None
    )
    return ae, vae


@pytest.mark.slow
@pytest.mark.parametrize("which", [0, 1])
def test_conv_learns_8x8_digits(conv_models, digits, which):
    Xtr, Xte = digits[0], digits[1]
    model = conv_models[which]
    assert model.history[-1]["val_loss"] < model.history[0]["val_loss"]
    baseline = float(((Xtr.mean(0) - Xte) ** 2).mean())
    assert float(((model.reconstruct(Xte) - Xte) ** 2).mean()) < 0.6 * baseline
    assert model.encoder.image_shape == (1, 8, 8)


@pytest.mark.slow
@pytest.mark.parametrize("which", [0, 1])
def test_conv_save_load_identical(conv_models, digits, tmp_path, which):
    model = conv_models[which]
    model.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    assert back.config.architecture == "conv"
    np.testing.assert_array_equal(back.encode(digits[1]), model.encode(digits[1]))
    np.testing.assert_array_equal(back.reconstruct(digits[1]), model.reconstruct(digits[1]))
    np.testing.assert_array_equal(back.sample(4, seed=0), model.sample(4, seed=0))


@pytest.mark.slow
@pytest.mark.parametrize(
    "family, shape, given",
    [("ae", (1, 28, 28), (28, 28)), ("vae", (3, 32, 32), (3, 32, 32)), ("ae", (3, 32, 32), (3, 32, 32))],
)
def test_conv_on_larger_images(family, shape, given):
    X = blobs(160, shape).reshape(160, *given)
    opts = {"likelihood": "gaussian"} if family == "vae" else {}
    model = latentlab.create(family, architecture="conv", latent_dim=4, hidden=(8, 16), noise="none", **opts)
    model.fit(X, epochs=12, batch_size=32, lr=5e-3, verbose=False, seed=0, patience=None)
    assert model.encoder.image_shape == shape
    rec = model.reconstruct(X[:5])
    assert rec.shape == X[:5].shape and np.isfinite(rec).all()
    assert model.history[-1]["loss"] < model.history[0]["loss"]
    assert model.sample(2, seed=0).shape == (2, *given)


def test_flat_rgb_needs_image_shape():
    X = blobs(8, (3, 4, 4)).reshape(8, -1)  # 48 values: not a square
    with pytest.raises(ConfigError, match="image_shape"):
        latentlab.Autoencoder(architecture="conv").fit(X, epochs=1, verbose=False, batch_size=4)
    model = latentlab.Autoencoder(architecture="conv", image_shape=(3, 4, 4), hidden=(4,))
    model.fit(X, epochs=1, batch_size=4, verbose=False, validation_split=0)
    assert model.reconstruct(X).shape == (8, 48)
