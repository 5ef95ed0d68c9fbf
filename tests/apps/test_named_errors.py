"""Errors that used to come from deep inside the arithmetic or name the wrong problem (issue 35's list)."""

from __future__ import annotations

import numpy as np
import pytest

import latentlab
from latentlab.data.datasets import load_data
from latentlab.data.text import load_texts
from latentlab.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def denoiser():
    photo = np.random.default_rng(0).random((48, 40)).astype("float32")
    den = latentlab.ImageDenoiser(hidden=(8, 16), depth=1)
    return den.fit([photo], noise_level=0.1, patch_size=16, patches_per_epoch=16, epochs=1, verbose=False)


@pytest.mark.parametrize("batch", [0, -1, 1.5, True])
def test_denoise_batch_is_checked(denoiser, batch):
    with pytest.raises(ConfigError, match="batch"):
        denoiser.denoise(np.zeros((16, 16), np.float32), batch=batch)


def test_codec_compress_takes_the_layout_its_error_names():
    codec = latentlab.ImageCodec(channels=8, latent_channels=8, stages=2, lambdas=(0.01, 0.05))
    codec.fitted = True  # untrained weights code and decode just as exactly
    ambiguous = np.zeros((3, 5, 3), np.uint8)
    with pytest.raises(DataError, match="layout="):
        codec.compress(ambiguous, 1)
    # the same array read both ways: 3 rows of 5 colour pixels, or 5 rows of 3 (decompress gives (H, W, C))
    assert codec.decompress(codec.compress(ambiguous, 1, layout="hwc")).shape == (3, 5, 3)
    assert codec.decompress(codec.compress(ambiguous, 1, layout="chw")).shape == (5, 3, 3)


@pytest.mark.parametrize("reader", [load_texts, load_data])
def test_a_folder_is_called_a_folder(tmp_path, reader):
    with pytest.raises(DataError, match="is a folder"):
        reader(tmp_path)
