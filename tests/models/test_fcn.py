"""architecture='fcn': a feature-map code for ae, vae and vqvae; any image size; the conv path's defaults and layout."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import latentlab
from latentlab.config import CONV_HIDDEN
from latentlab.errors import ConfigError, DataError
from latentlab.models.images import decode_image, decode_maps, encode_image, latent_maps, reconstruct_image
from latentlab.nn.tiling import pad_to_multiple

torch.set_num_threads(1)
FAMILIES = {
    "ae": dict(latent_dim=16),
    "vae": dict(latent_dim=16, likelihood="gaussian"),
    "vqvae": dict(latent_dim=16, code_dim=4, codebook_size=32),
}


@pytest.fixture(scope="module")
def fcn_models(digits):
    X_train = digits[0]
    out = {}
    for family, opts in FAMILIES.items():
        m = latentlab.create(family, architecture="fcn", hidden=(16, 32), **opts)
        with warnings.catch_warnings():  # a short fit: the test checks what it learned
            warnings.simplefilter("ignore", latentlab.PosteriorCollapseWarning)
            out[family] = m.fit(X_train, epochs=30 if family == "vae" else 15, verbose=False, seed=0)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_fcn_families_learn_digits(fcn_models, digits, family):
    X_train, X_test = digits[0], digits[1]
    model = fcn_models[family]
    assert model.encode(X_test[:3]).shape == (3, 16)  # a 4-channel 2x2 map, flattened position by position
    mse = float(((model.reconstruct(X_test) - X_test) ** 2).mean())
    baseline = float(((X_train.mean(0) - X_test) ** 2).mean())  # the mean image
    assert mse < 0.95 * baseline, (mse, baseline)


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_fcn_save_load_identical(fcn_models, digits, tmp_path, family):
    model = fcn_models[family]
    model.save(tmp_path / family)
    back = latentlab.load(tmp_path / family)
    assert back.config.architecture == "fcn"
    np.testing.assert_array_equal(back.encode(digits[1][:20]), model.encode(digits[1][:20]))
    np.testing.assert_array_equal(back.reconstruct(digits[1][:20]), model.reconstruct(digits[1][:20]))


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_flat_code_is_the_latent_map_position_by_position(fcn_models, digits, family):
    model = fcn_models[family]
    x = model.to_model_space(digits[1][:4]).reshape(4, 1, 8, 8)
    with torch.no_grad():
        maps = latent_maps(model, x)  # (4, 4, 2, 2): the VAE's mean, the VQ-VAE's snapped vectors
        flat = model.posterior(x.reshape(4, -1)).mean
    assert maps.shape == (4, 4, 2, 2)
    torch.testing.assert_close(maps.permute(0, 2, 3, 1).reshape(4, -1), flat)
    if family == "vae":  # a spatial Gaussian: one mean and one variance per position and channel
        q = model.posterior(x.reshape(4, -1))
        assert q.logvar.shape == (4, 16) and q.kl().shape == (4,)


def _blobs(n, size, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    return np.stack([
        np.exp(-((yy - rng.random()) ** 2 + (xx - rng.random()) ** 2) / 0.05)[None] for _ in range(n)
    ]).astype(np.float32)


@pytest.mark.slow
def test_any_image_size_through_an_fcn_autoencoder():
    X = _blobs(200, 16)
    ae = latentlab.Autoencoder(architecture="fcn", hidden=(8, 16), latent_dim=4 * 16, scaling="none", noise="none")
    ae.fit(X, epochs=10, batch_size=32, lr=5e-3, verbose=False, seed=0)
    big = _blobs(1, 50, seed=3)[0, :, :, :37]  # 50 x 37: not a multiple of 4
    z = encode_image(ae, big)
    assert z.shape == (4, 13, 10)
    rec = decode_image(ae, z, size=(50, 37))
    assert rec.shape == (1, 50, 37)
    tiled = reconstruct_image(ae, big, tile=32)  # many tiles
    with torch.no_grad():
        xp, _ = pad_to_multiple(torch.from_numpy(big)[None], 4)
        whole = decode_maps(ae, latent_maps(ae, xp))[0, :, :50, :37].numpy()
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    np.testing.assert_allclose(rec, whole, atol=1e-5)
    assert float(((whole - big) ** 2).mean()) < float(((X.mean() - big) ** 2).mean())


def test_fcn_bad_configs_and_inputs(digits):
    with pytest.raises(ConfigError, match="multiple of 4"):
        latentlab.Autoencoder(architecture="fcn", hidden=(8, 16), latent_dim=6, input_shape=(64,))
    with pytest.raises(ConfigError, match="no labels"):
        latentlab.create("cvae", architecture="fcn", hidden=(8, 16), latent_dim=8, n_classes=10, input_shape=(64,))
    ae = latentlab.Autoencoder(architecture="fcn", hidden=(8,), latent_dim=16, noise="none")
    ae.fit(digits[0][:200], epochs=1, verbose=False)
    with pytest.raises(ConfigError, match="scaling='none'"):
        encode_image(ae, np.zeros((20, 20), np.float32))
    mlp = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(digits[0][:200], epochs=1, verbose=False)
    with pytest.raises(ConfigError, match="architecture='fcn'"):
        reconstruct_image(mlp, np.zeros((20, 20), np.float32))
    X = _blobs(64, 8)
    ok = latentlab.Autoencoder(architecture="fcn", hidden=(8,), latent_dim=16, scaling="none").fit(
        X, epochs=1, batch_size=16, verbose=False)
    with pytest.raises(DataError, match="channel"):
        encode_image(ok, np.zeros((3, 20, 20), np.float32))
    with pytest.raises(DataError, match="latent has shape"):
        decode_image(ok, np.zeros((5, 4, 4), np.float32))


def test_conv_defaults_are_channel_counts_and_channels_last_is_refused():
    ae = latentlab.Autoencoder(architecture="conv")
    assert ae.config.hidden == CONV_HIDDEN  # not the MLP's (512, 256, 128)
    assert latentlab.Autoencoder(architecture="conv", hidden=(8,)).config.hidden == (8,)
    assert latentlab.Autoencoder().config.hidden == (512, 256, 128)
    X = np.random.default_rng(0).random((16, 12, 12, 3)).astype(np.float32)
    with pytest.raises(ConfigError, match="channels-last"):
        latentlab.Autoencoder(architecture="conv", hidden=(4,)).fit(X, epochs=1, batch_size=8, verbose=False)
    ok = latentlab.Autoencoder(architecture="conv", hidden=(4,)).fit(
        X.transpose(0, 3, 1, 2), epochs=1, batch_size=8, verbose=False, validation_split=0)
    assert ok.encoder.image_shape == (3, 12, 12)
