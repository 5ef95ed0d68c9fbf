"""ONNX export refuses what its graph could not refuse at run time, and what is not a model family."""

from __future__ import annotations

import numpy as np
import pytest

import latentlab
from latentlab.apps.onnx_export import ONNX_RANGE, export_onnx
from latentlab.errors import ConfigError, DataError, DataTypeError

pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def near_max():
    """An autoencoder whose first feature lies near float32's largest value: its fitted offset is 3.3e38."""
    rng = np.random.default_rng(0)
    X = rng.random((64, 4)).astype(np.float32)
    X[:, 0] = 3.3e38 + rng.random(64).astype(np.float32) * 1e37
    return latentlab.Autoencoder(latent_dim=2, hidden=(8,), scaling="minmax").fit(X, epochs=1, verbose=False), X


def test_a_model_whose_scaling_overflows_is_not_exported(near_max, tmp_path):
    model, X = near_max
    with pytest.raises(DataError, match="overflow float32"):  # what PyTorch does with such outputs
        model.decode(model.encode(X[:4]) * 1000)
    for part in ("decoder", "both", "encoder"):
        with pytest.raises(ConfigError, match=r"overflows float32 for 1 feature\(s\) \(the first: index 0"):
            export_onnx(model, tmp_path / "out", part=part)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # a real export: about 5 seconds
def test_the_range_check_leaves_ordinary_models_alone(digits, tmp_path):
    ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,), scaling="standard").fit(digits[0][:200], epochs=1,
                                                                                 verbose=False)
    reach = np.abs(ae.scaler.offset_.astype(np.float64)) + ONNX_RANGE * np.abs(ae.scaler.scale_.astype(np.float64))
    assert reach.max() < 1e6
    written = export_onnx(ae, tmp_path / "d.onnx", part="decoder")
    assert written["decoder"].is_file()


@pytest.mark.parametrize("what", ["codec", "estimator", "string"])
def test_what_is_not_a_model_family_is_named(what, tmp_path):
    if what == "codec":
        obj, match = latentlab.ImageCodec(channels=4, latent_channels=4, stages=1, lambdas=(0.01,)), "ImageCodec"
    elif what == "estimator":
        obj, match = latentlab.AutoencoderTransformer(), r"export_onnx\(estimator.model_, path\)"
    else:
        obj, match = "model", "type str"
    with pytest.raises(DataTypeError, match=match):
        export_onnx(obj, tmp_path)


def test_a_path_that_is_a_file_is_refused_before_export(digits, tmp_path):
    ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(digits[0][:100], epochs=1, verbose=False)
    (tmp_path / "x.bin").write_text("x")
    with pytest.raises(ConfigError, match=r"x\.bin is a file; give a folder"):
        export_onnx(ae, tmp_path / "x.bin")
