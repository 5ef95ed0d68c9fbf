"""Devices and precision: 'auto' picks cuda, mps, cpu; bf16 autocast; torch.compile falls back cleanly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.errors import ConfigError
from latentlab.training import distributed
from latentlab.training.device import resolve_device
from latentlab.training.trainer import TensorData, _as_batch

FAST = dict(verbose=False, seed=0, lr_schedule="none", patience=None)


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device(None) == torch.device("cuda")


def test_unavailable_or_unknown_devices_are_clear_errors(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="not a device name"):
        resolve_device("gpu-please")


@pytest.mark.slow
def test_bf16_autocast_trains(digits):
    X_train, X_test, _, _ = digits
    plain = latentlab.Autoencoder(latent_dim=4, hidden=(32,)).fit(X_train, epochs=4, amp=False, **FAST)
    mixed = latentlab.Autoencoder(latent_dim=4, hidden=(32,)).fit(X_train, epochs=4, amp=True, **FAST)
    assert np.isfinite([h["loss"] for h in mixed.history]).all()
    assert mixed.history[-1]["loss"] < mixed.history[0]["loss"]
    assert mixed.history != plain.history  # autocast really ran in bf16
    assert all(p.dtype == torch.float32 for p in mixed.parameters())  # master weights stay float32


def test_compile_failure_falls_back_to_eager_with_a_warning(digits, monkeypatch):
    X_train = digits[0]

    def broken_compile(fn, **kw):
        def call(*a, **k):
            raise RuntimeError("no compiler here")

        return call

    monkeypatch.setattr(torch, "compile", broken_compile)
    with pytest.warns(UserWarning, match="torch.compile failed"):
        model = latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(X_train, epochs=2, compile=True, **FAST)
    assert len(model.history) == 2 and np.isfinite(model.history[-1]["loss"])


def test_compile_unavailable_falls_back(digits, monkeypatch):
    def missing(fn, **kw):
        raise RuntimeError("dynamo is not supported on this Python")

    monkeypatch.setattr(torch, "compile", missing)
    with pytest.warns(UserWarning, match="unavailable"):
        model = latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(digits[0], epochs=1, compile=True, **FAST)
    assert len(model.history) == 1


def test_host_data_moves_without_copies_on_cpu():
    x = torch.rand(8, 3)
    assert TensorData(x).to(torch.device("cpu")).x is x  # already there: no copy
    b = _as_batch((x.double(), torch.arange(8)), torch.device("cpu"))
    assert b.x.dtype == torch.float32 and b.y.tolist() == list(range(8))


def test_distributed_backend_choice_refuses_other_devices(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="gloo.*nccl"):
        distributed.init_distributed(torch.device("mps"))
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert distributed.init_distributed(torch.device("cpu")) == torch.device("cpu")
