"""A quality added below a codec's lowest (ImageCodecModel.with_lower_quality): the old qualities unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from latentlab import ImageCodec
from latentlab.data.patches import PatchSampler
from latentlab.data.photos import skimage_photos
from latentlab.errors import ConfigError, DataError
from latentlab.models.image_codec import MAX_QUALITIES, SPEED

TINY = dict(channels=8, latent_channels=8, stages=2, lambdas=(0.004, 0.01, 0.03))
HYPER = dict(TINY, entropy="hyperprior", hyper_channels=4)


def _untrained(**options) -> ImageCodec:
    torch.manual_seed(0)
    codec = ImageCodec(**options)
    with torch.no_grad():  # gains and densities that differ per quality, as a trained codec's do
        codec.log_gain.add_(torch.randn_like(codec.log_gain) * 0.02)
        codec.log_inverse_gain.add_(torch.randn_like(codec.log_inverse_gain) * 0.02)
        for p in codec.density.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    codec.fitted = True
    return codec.eval()


def _photo(h=40, w=56) -> np.ndarray:
    img = np.cumsum(np.cumsum(np.random.default_rng(3).standard_normal((h, w)), 0), 1)
    return np.rint((img - img.min()) / np.ptp(img) * 255).astype(np.uint8)


@pytest.mark.parametrize("options", [TINY, HYPER], ids=["factorized", "hyperprior"])
def test_the_old_qualities_are_bit_identical_one_index_up(options):
    codec = _untrained(**options)
    lower = codec.with_lower_quality(0.002)
    assert lower.config.lambdas == (0.002, *options["lambdas"]) and lower.config.entropy == codec.config.entropy
    assert type(lower) is ImageCodec and lower.fitted and codec.config.qualities == 3  # the codec itself unchanged
    img = _photo()
    x = torch.from_numpy(img / np.float32(255))[None, None].float()
    with torch.no_grad():
        for q in range(codec.config.qualities):
            old, new = torch.tensor([q]), torch.tensor([q + 1])
            y = codec.latent(x, old)
            assert torch.equal(y, lower.latent(x, new))
            assert torch.equal(codec.reconstruct_from(torch.round(y), old), lower.reconstruct_from(torch.round(y), new))
            coded = y[:, : codec.coded_channels]  # values for the factorised density (of y, or of z)
            assert torch.equal(codec.likelihood(coded, q), lower.likelihood(coded, q + 1))
    for q in range(1, codec.config.qualities + 1):
        blob, again = codec.compress(img, quality=q), lower.compress(img, quality=q + 1)
        assert len(blob) == len(again) and codec.ideal_bits(img, q) == lower.ideal_bits(img, q + 1)
        assert np.array_equal(codec.decompress(blob), lower.decompress(again))
        lo, pmfs, _ = codec.tables(q)
        lo2, pmfs2, _ = lower.tables(q + 1)
        assert np.array_equal(lo, lo2) and all(np.array_equal(a, b) for a, b in zip(pmfs, pmfs2))


def test_the_new_quality_starts_from_the_two_lowest():
    codec = _untrained(**TINY)
    state = torch.random.get_rng_state()
    lower = codec.with_lower_quality(0.0016)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's random stream is left as it was
    g0, g1 = SPEED * codec.log_gain[0].detach().double(), SPEED * codec.log_gain[1].detach().double()
    t = math.log(0.0016 / 0.004) / math.log(0.004 / 0.01)  # 1: one step further down, as here
    assert t == pytest.approx(1.0)
    np.testing.assert_allclose(SPEED * lower.log_gain[0].detach().double(), g0 + t * (g0 - g1), rtol=1e-5, atol=1e-6)
    i0, i1 = SPEED * codec.log_inverse_gain[0].detach().double(), SPEED * codec.log_inverse_gain[1].detach().double()
    np.testing.assert_allclose(SPEED * lower.log_inverse_gain[0].detach().double(), i0 + t * (i0 - i1), rtol=1e-5,
                               atol=1e-6)
    assert bool((lower.log_gain[0] < codec.log_gain[0]).all())  # a coarser quantiser: a lower rate
    m = codec.coded_channels
    for old, new in zip(codec.density.parameters(), lower.density.parameters()):
        assert torch.equal(new[:m], old[:m]) and torch.equal(new[m:], old)  # quality 0's density is quality 1's
    tied = _untrained(**dict(TINY, lambdas=(0.01, 0.01))).with_lower_quality(0.005)  # no line: one step down
    np.testing.assert_allclose(tied.log_gain[0].detach(), (2 * tied.log_gain[1] - tied.log_gain[2]).detach(), atol=1e-6)
    one = _untrained(**dict(TINY, lambdas=(0.01,))).with_lower_quality(0.0025)  # one quality: sqrt(lam ratio)
    assert one.config.lambdas == (0.0025, 0.01)
    np.testing.assert_allclose(SPEED * (one.log_gain[0] - one.log_gain[1]).detach(), math.log(0.5), rtol=1e-5)


def test_a_bad_lambda_or_too_many_qualities_is_refused_clearly():
    codec = _untrained(**TINY)
    for lam in (0.004, 0.005, 1.0):
        with pytest.raises(ConfigError, match=r"below the lowest quality's lambda 0\.004.*smaller lam"):
            codec.with_lower_quality(lam)
    for lam in (0.0, -1e-3, float("nan"), float("inf"), True, "0.001", None):
        with pytest.raises(ConfigError, match="finite number > 0"):
            codec.with_lower_quality(lam)
    full = _untrained(**dict(TINY, lambdas=tuple(0.01 * 1.1**i for i in range(MAX_QUALITIES))))
    with pytest.raises(ConfigError, match=f"already has {MAX_QUALITIES} qualities.*MAX_QUALITIES"):
        full.with_lower_quality(0.001)
    assert codec.config.qualities == 3  # nothing changed by the refusals


def test_bytes_of_the_old_codec_are_refused_by_the_new_one():
    codec = _untrained(**TINY)
    lower = codec.with_lower_quality(0.002)
    blob = codec.compress(_photo(), quality=1)
    with pytest.raises(DataError, match="different model"):
        lower.decompress(blob)  # the model id covers the weights: the new codec's bytes are its own


@pytest.fixture(scope="module")
def trained():
    """A tiny codec trained briefly on brick patches, then given a lower quality trained a little more."""
    brick = skimage_photos(["brick"], mode="L")["brick"]
    torch.manual_seed(0)
    codec = ImageCodec(channels=8, latent_channels=8, stages=2, lambdas=(0.005, 0.02))
    sampler = PatchSampler([brick], patch_size=32, patches_per_epoch=256, seed=0)
    codec.fit(sampler, epochs=2, batch_size=8, lr=3e-3, verbose=False, device="cpu", seed=0)
    lower = codec.with_lower_quality(0.0012)
    return codec, lower.fit(sampler, epochs=1, batch_size=8, lr=1e-3, verbose=False, device="cpu", seed=0)


@pytest.mark.slow
def test_the_new_quality_codes_to_fewer_bytes_and_every_quality_round_trips(trained, tmp_path):
    codec, lower = trained
    img = (skimage_photos(["coins"], mode="L")["coins"][0, :64, :80] * 255).round().astype(np.uint8)  # held out
    sizes = [len(lower.compress(img, quality=q)) for q in (1, 2, 3)]
    assert sizes[0] < sizes[1] < sizes[2] and sizes[0] < len(codec.compress(img, quality=1))
    lower.save(tmp_path / "m")
    again = ImageCodec.load(tmp_path / "m")
    assert again.config.lambdas == (0.0012, 0.005, 0.02)
    for q in (1, 2, 3):
        blob = lower.compress(img, quality=q)
        out = again.decompress(blob)  # the decoder rebuilds the encoder's tables from the saved weights
        assert out.shape == img.shape and np.array_equal(out, lower.decompress(blob))
        assert again.compress(img, quality=q) == blob
        assert 10 * np.log10(255**2 / np.mean((out.astype(float) - img) ** 2)) > 15
