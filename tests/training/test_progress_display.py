"""The progress bar shows a fixed-variance Gaussian reconstruction as an MSE, not an NLL with its constant (issue 37)."""

from __future__ import annotations

import math
import re

import numpy as np

import latentlab
from latentlab.training.callbacks import readable_logs


def test_autoencoder_bar_shows_mse_not_the_constant(capsys):
    X = np.random.default_rng(0).random((64, 784)).astype(np.float32)
    ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=2, verbose=True, seed=0)
    err = capsys.readouterr().err
    shown = dict(re.findall(r"(\w+)=(-?[\d.e+-]+)", err))
    assert "mse" in shown and "loss" not in shown and "reconstruction" not in shown, err
    assert 0 < float(shown["mse"]) < 1  # min-max scaled pixels: a squared error per feature, not ~720 nats
    const = 784 * 0.5 * math.log(2 * math.pi)
    assert ae.history[-1]["loss"] > const  # the optimised objective and its history are unchanged


def test_other_likelihoods_and_parts_are_shown_as_logged():
    vae = latentlab.VAE(latent_dim=2, likelihood="bernoulli")
    logs = {"epoch": 3, "loss": 40.0, "reconstruction": 35.0, "kl": 5.0}
    assert readable_logs(logs, vae) == {"loss": 40.0, "reconstruction": 35.0, "kl": 5.0}
    assert readable_logs(logs, None) == {"loss": 40.0, "reconstruction": 35.0, "kl": 5.0}


def test_a_gaussian_vae_keeps_its_loss_and_shows_the_mse_part():
    vae = latentlab.VAE(latent_dim=2, likelihood="gaussian", variance="fixed")
    vae.config = vae.config.__class__(**{**vae.config.__dict__, "input_shape": (4,)})
    const = 4 * 0.5 * math.log(2 * math.pi)
    shown = readable_logs({"loss": const + 3.0, "reconstruction": const + 0.2, "val_reconstruction": const + 0.4}, vae)
    assert shown["loss"] == const + 3.0
    assert math.isclose(shown["mse"], 0.1) and math.isclose(shown["val_mse"], 0.2)
