"""Mixed precision: bf16 autocast where it pays ('auto'), float32 everywhere else, same losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.errors import ConfigError
from latentlab.training import TrainConfig, Trainer
from latentlab.training import device as device_mod
from latentlab.training.trainer import TensorData

CPU = torch.device("cpu")


def test_amp_values_are_checked():
    assert TrainConfig().amp == "auto"
    for ok in (True, False, "auto"):
        TrainConfig(amp=ok)
    for bad in ("yes", "bf16", 1.5, None):
        with pytest.raises(ConfigError, match="amp"):
            TrainConfig(amp=bad)


def test_auto_needs_units_and_wide_layers(monkeypatch):
    wide = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.Linear(512, 16))
    narrow = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.Linear(128, 2))
    assert device_mod.widest_layer(wide) == 784 * 512
    monkeypatch.setattr(device_mod, "cpu_has_bf16_units", lambda: True)
    assert device_mod.resolve_amp("auto", CPU, wide) is True
    assert device_mod.resolve_amp("auto", CPU, narrow) is False
    monkeypatch.setattr(device_mod, "cpu_has_bf16_units", lambda: False)  # a CPU without the units falls back
    assert device_mod.resolve_amp("auto", CPU, wide) is False
    assert device_mod.resolve_amp(True, CPU, narrow) is True  # an explicit choice is kept
    assert device_mod.resolve_amp("auto", torch.device("meta"), wide) is False


def test_auto_training_without_units_is_float32(monkeypatch):
    monkeypatch.setattr(device_mod, "cpu_has_bf16_units", lambda: False)
    model = latentlab.Autoencoder(input_shape=(784,), latent_dim=4, hidden=(512,))
    seen = []
    X = torch.rand(64, 784)
    for layer in model.modules():
        if isinstance(layer, torch.nn.Linear):
            layer.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    t = Trainer(model, TrainConfig(epochs=1, batch_size=32, verbose=False, validation_split=0, device="cpu"))
    t.fit(TensorData(X))
    assert t.amp is False and torch.bfloat16 not in seen


def test_amp_runs_matrix_multiplies_in_bf16():
    model = latentlab.Autoencoder(input_shape=(16,), latent_dim=2, hidden=(8,))
    dtypes = []
    for layer in model.modules():
        if isinstance(layer, torch.nn.Linear):
            layer.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype) if m.training else None)
    t = Trainer(model, TrainConfig(epochs=1, batch_size=16, verbose=False, validation_split=0, amp=True, device="cpu"))
    t.fit(TensorData(torch.rand(32, 16)))
    assert t.amp is True and dtypes and set(dtypes) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the weights stay float32


@pytest.mark.slow
def test_bf16_training_reaches_the_float32_loss(digits):
    X_train, X_test = digits[0], digits[1]
    errors = {}
    for amp in (False, True):
        model = latentlab.Autoencoder(latent_dim=8, hidden=(256, 128))
        model.fit(X_train, epochs=25, amp=amp, verbose=False, patience=None, validation_split=0.0, seed=0)
        errors[amp] = float(np.mean((model.reconstruct(X_test) - X_test) ** 2))
    baseline = float(np.mean((X_test - X_train.mean(0)) ** 2))
    assert errors[False] < 0.5 * baseline  # both learned something worth comparing
    assert errors[True] == pytest.approx(errors[False], rel=0.05), errors
