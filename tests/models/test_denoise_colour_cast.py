"""Colour photos come out of the shipped denoiser without a cast, clipped 8-bit-style input included (issue 37).

The shipped grey model cleans colour through an orthonormal opponent space
(:mod:`latentlab.nn.colour`). A cast is a bias of one channel's mean against
the clean photo's. Noisy input clipped to [0, 1] (what an 8-bit file holds)
carries a bias of its own near black and white, because the mean of clipped
noise is not zero (the note in docs/pretrained.md): the model keeps that bias
(it cannot know the pixels were clipped) but must add none of its own, and
the same patch kept as floats comes out unbiased.

Measured (sigma 25, six noise seeds): the mid-tone crops' channel bias at most
1.1 grey levels of 255, and at most 0.54 from the clipped input's own; the flat
patches' clipped channels within 0.8 of the clipped noise's expected mean.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import latentlab

SIGMA = 25 / 255
LEVEL = 255.0  # biases are in grey levels of an 8-bit photo


@pytest.fixture(scope="module")
def shipped():
    return latentlab.ImageDenoiser.pretrained()


def channel_bias(image, clean) -> np.ndarray:
    """Per-channel mean of ``image - clean``, ``(3,)``, in grey levels of 255."""
    return (np.asarray(image, np.float64) - clean).reshape(3, -1).mean(1) * LEVEL


def noisy(clean, seed: int, clip: bool = True) -> np.ndarray:
    x = clean + np.random.default_rng(seed).standard_normal(clean.shape).astype(np.float32) * SIGMA
    return np.clip(x, 0.0, 1.0) if clip else x


def clipped_noise_bias(x: float, s: float = SIGMA) -> float:
    """``E[clip(x + n, 0, 1)] - x`` for ``n ~ N(0, s^2)``, in grey levels: the bias clipping alone gives."""
    Phi = lambda t: 0.5 * (1 + math.erf(t / math.sqrt(2)))  # noqa: E731
    phi = lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    a, b = -x / s, (1 - x) / s
    return (x * (Phi(b) - Phi(a)) + s * (phi(a) - phi(b)) + (1 - Phi(b)) - x) * LEVEL


@pytest.mark.parametrize("name, rows, cols", [
    ("immunohistochemistry", slice(192, 320), slice(192, 320)),  # stained tissue: pale, a strong colour
    ("stereo_motorcycle", slice(186, 314), slice(306, 434)),  # a red machine in mid tones
])
def test_a_noisy_clipped_colour_photo_comes_back_without_a_cast(shipped, name, rows, cols):
    from latentlab.data.photos import skimage_photos

    clean = skimage_photos([name], mode="RGB")[name][:, rows, cols]  # (3, 128, 128) on [0, 1]
    x = noisy(clean, seed=0)
    out = shipped.denoise(x, check_noise=False)
    bias = channel_bias(out, clean)
    assert np.abs(bias).max() < 2.0, f"{name}: channel bias {np.round(bias, 2)} grey levels"
    own = bias - channel_bias(x, clean)  # what the model adds to the clipped input's bias
    assert np.abs(own).max() < 1.0, f"{name}: the model shifts the channels by {np.round(own, 2)} grey levels"
    assert np.mean((out - clean) ** 2) < np.mean((x - clean) ** 2) / 4  # and it did denoise


@pytest.mark.parametrize("colour", [(250, 128, 5), (3, 200, 252)])
def test_a_flat_colour_near_black_and_white_keeps_only_the_clippings_bias(shipped, colour):
    clean = np.broadcast_to(np.array(colour, np.float32)[:, None, None] / LEVEL, (3, 96, 96)).copy()
    expected = np.array([clipped_noise_bias(c / LEVEL) for c in colour])  # about +-8 at 5 and 250, 0 at 128
    assert np.abs(expected).max() > 7  # the clipping's bias is large next to the bounds below
    clipped = channel_bias(shipped.denoise(noisy(clean, seed=0), check_noise=False), clean)
    np.testing.assert_allclose(clipped, expected, atol=1.5, err_msg=f"{colour}: bias {np.round(clipped, 2)}")
    as_floats = channel_bias(shipped.denoise(noisy(clean, seed=0, clip=False), check_noise=False), clean)
    assert np.abs(as_floats).max() < 1.5, f"{colour} kept as floats: channel bias {np.round(as_floats, 2)}"
