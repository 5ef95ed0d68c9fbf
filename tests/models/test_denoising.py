"""Denoising: the three corruptions, a clean target, and a denoising AE that beats a plain one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.errors import ConfigError
from latentlab.training.trainer import Batch


def model(noise, level):
    return latentlab.Autoencoder(input_shape=(4000,), latent_dim=2, hidden=(4,), noise=noise, noise_level=level)


def test_gaussian_corruption_has_the_asked_sigma():
    m = model("gaussian", 0.3).train()
    x = torch.full((5, 4000), 0.5)
    diff = m.corrupt(x) - x
    assert float(diff.std()) == pytest.approx(0.3, rel=0.03) and abs(float(diff.mean())) < 0.01


def test_masking_zeroes_the_asked_fraction():
    m = model("masking", 0.25).train()
    out = m.corrupt(torch.full((5, 4000), 0.7))
    assert float((out == 0).float().mean()) == pytest.approx(0.25, abs=0.02)
    assert torch.unique(out).tolist() == pytest.approx([0.0, 0.7])


def test_salt_and_pepper_sets_extremes():
    m = model("salt_pepper", 0.2).train()
    out = m.corrupt(torch.full((5, 4000), 0.5))
    changed = out != 0.5
    assert float(changed.float().mean()) == pytest.approx(0.2, abs=0.02)
    assert set(torch.unique(out[changed]).tolist()) == {0.0, 1.0}
    assert float((out[changed] == 1).float().mean()) == pytest.approx(0.5, abs=0.05)


def test_no_corruption_at_inference():
    m = model("gaussian", 0.5).eval()
    x = torch.rand(3, 4000)
    assert torch.equal(m.corrupt(x), x)


def test_the_target_stays_clean():
    torch.manual_seed(0)
    m = latentlab.Autoencoder(input_shape=(6,), latent_dim=2, hidden=(4,), noise="masking", noise_level=1.0).train()
    x = torch.rand(8, 6)
    with torch.no_grad():
        got = m.loss(Batch(x)).total
        zeros_code = m.encoder(torch.zeros_like(x))  # every input fully masked ...
        want = m.likelihood.nll(m.decode_params(zeros_code), x).mean()  # ... but scored against x
    assert float(got) == pytest.approx(float(want), rel=1e-6)


def test_noise_level_must_be_a_fraction():
    with pytest.raises(ConfigError, match="fraction"):
        latentlab.Autoencoder(noise="masking", noise_level=1.5)


@pytest.fixture(scope="module")
def trained(digits):
    Xtr = digits[0]
    opts = dict(latent_dim=16, hidden=(128,), activation="relu", scaling="none")  # noise sigma in pixel units
    plain = latentlab.Autoencoder(noise="none", **opts).fit(Xtr, epochs=30, verbose=False, seed=0, patience=None)
    dae = latentlab.Autoencoder(noise="gaussian", noise_level=0.3, **opts).fit(
        Xtr, epochs=30, verbose=False, seed=0, patience=None
    )
    return plain, dae


@pytest.mark.slow
def test_denoising_ae_beats_the_noisy_input_and_a_plain_ae(trained, digits):
    Xte = digits[1]
    plain, dae = trained
    noisy = (Xte + 0.3 * np.random.default_rng(1).standard_normal(Xte.shape)).astype(np.float32)
    mse_noisy = float(((noisy - Xte) ** 2).mean())
    mse_dae = float(((dae.denoise(noisy) - Xte) ** 2).mean())
    mse_plain = float(((plain.denoise(noisy) - Xte) ** 2).mean())
    assert mse_dae < mse_noisy and mse_dae < mse_plain
    assert mse_dae < 0.5 * mse_noisy


@pytest.mark.slow
def test_denoising_model_saves_its_noise(trained, digits, tmp_path):
    dae = trained[1]
    dae.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    assert (back.config.noise, back.config.noise_level) == ("gaussian", 0.3)
    np.testing.assert_array_equal(back.denoise(digits[1]), dae.denoise(digits[1]))
