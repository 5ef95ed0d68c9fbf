"""``save(..., weights='float16')``: half the file, the weights rounded to half precision, loaded back as float32."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import latentlab
from latentlab.errors import ConfigError, ModelFileError


@pytest.fixture(scope="module")
def model():
    X = np.random.default_rng(0).random((64, 12)).astype(np.float32)
    return latentlab.create("ae", latent_dim=3, hidden=(32,)).fit(X, epochs=2, verbose=False, seed=0), X


def test_half_weights_halve_the_file_and_load_as_the_rounded_float32_model(model, tmp_path):
    m, X = model
    m.save(tmp_path / "full")
    m.save(tmp_path / "half", weights="float16")
    full, half = (tmp_path / d / "model.safetensors" for d in ("full", "half"))
    assert half.stat().st_size < 0.6 * full.stat().st_size
    assert {v.dtype for v in load_file(half).values()} == {torch.float16}
    again = latentlab.load(tmp_path / "half")
    assert all(v.dtype == torch.float32 for v in again.state_dict().values())
    for k, v in m.state_dict().items():  # exactly the float32 weights rounded to half precision and back
        assert torch.equal(again.state_dict()[k], v.half().float()), k
    out, ref = again.reconstruct(X), m.reconstruct(X)
    assert 0 < np.abs(out - ref).max() < 1e-2
    np.testing.assert_array_equal(latentlab.load(tmp_path / "half").reconstruct(X), out)  # loads the same each time


def test_half_weights_are_refused_without_the_configs_word_for_them_and_bad_choices_are_named(model, tmp_path):
    m, _ = model
    with pytest.raises(ConfigError, match=r"weights='bf16'.*float32.*float16"):
        m.save(tmp_path / "x", weights="bf16")
    m.save(tmp_path / "half", weights="float16")
    cfg = tmp_path / "half" / "config.json"
    doc = json.loads(cfg.read_text())
    assert doc["weights"] == "float16"
    cfg.write_text(json.dumps({k: v for k, v in doc.items() if k != "weights"}))  # the same half tensors, unnamed
    with pytest.raises(ModelFileError, match=r"dtype torch.float16, expected torch.float32"):
        latentlab.load(tmp_path / "half")
    cfg.write_text(json.dumps({**doc, "weights": "int4"}))
    with pytest.raises(ModelFileError, match=r"stored as 'int4'"):
        latentlab.load(tmp_path / "half")


def test_a_half_precision_save_writes_the_same_bytes_each_time(model, tmp_path):
    """The shipped models are named by their files' SHA-256, so a save must not vary from run to run."""
    m, _ = model
    m.save(tmp_path / "a", weights="float16")
    m.save(tmp_path / "b", weights="float16")
    m.save(tmp_path / "c")
    for f in ("model.safetensors", "config.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert "weights" not in json.loads((tmp_path / "c" / "config.json").read_text())  # float32 files as before


def test_weights_beyond_half_precision_are_refused_at_save(model, tmp_path):
    m, _ = model
    clone = latentlab.create("ae", latent_dim=3, hidden=(32,)).fit(model[1], epochs=1, verbose=False, seed=0)
    with torch.no_grad():
        next(clone.parameters()).view(-1)[0] = 1e6
    with pytest.raises(ModelFileError, match=r"beyond float16's range.*weights='float32'"):
        clone.save(tmp_path / "big", weights="float16")
    assert not (tmp_path / "big").exists()
