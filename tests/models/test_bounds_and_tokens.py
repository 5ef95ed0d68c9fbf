"""Special-token strings in user text round-trip; absurd sizes are refused before anything is allocated or built.

The size tests replace the code that would do the work with a function that
fails the test, so a missing check fails at once instead of hanging.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import latentlab
from latentlab.data.text import TextTokenizer
from latentlab.errors import ConfigError, ModelFileError
from latentlab.models import bounds as bounds_module
from latentlab.models import denoiser as denoiser_module
from latentlab.models.bounds import MAX_IMPORTANCE_SAMPLES, bounds
from latentlab.models.interpolation import MAX_STEPS, interpolate_codes
from latentlab.models.text import MAX_TEXTS

TEXTS = ["the cat sat on the mat.", "a dog ran in the park.", "the dog sat.", "a cat ran home."] * 6
LITERALS = ["see [EOS] here", "a [PAD] b", "[BOS][UNK] x", "[EOS]", "x[EOS][EOS]y", "[eos] <s> </s>"]


def _forbidden(what):
    def fail(*args, **kwargs):
        raise AssertionError(f"{what} ran: the size was not checked first")

    return fail


@pytest.fixture(scope="module")
def text_vae(tmp_path_factory):
    vae = latentlab.TextVAE(latent_dim=2, hidden=(16,), embed_dim=8, vocab_size=270)
    vae.fit(TEXTS, epochs=1, verbose=False, seed=0)
    return vae


# ------------------------------------------------------------------ special tokens
@pytest.mark.parametrize("kind", ["bpe", "char"])
def test_special_token_strings_in_a_text_round_trip(kind):
    tok = TextTokenizer.train(TEXTS, kind=kind, vocab_size=280)
    for text in LITERALS:
        ids = tok.encode([text])[0]
        assert not set(ids) & {0, 1, 2, 3}, f"{text!r} was read as special tokens {ids}"
        assert tok.decode(ids) == text
    back = TextTokenizer.from_bytes(tok.to_bytes(), kind)  # the same after a save and load
    assert [back.decode(back.encode([t])[0]) for t in LITERALS] == LITERALS


def test_a_text_model_reads_a_literal_eos_as_text(text_vae, tmp_path):
    ids = text_vae.token_ids(["see [EOS] here"])[0]
    assert list(ids).count(3) == 1  # the one [EOS] the model appends, not the literal
    text_vae.save(tmp_path / "m")
    back = latentlab.load(tmp_path / "m")
    assert back.texts_of(back.token_ids(["see [EOS] here"]))[0].startswith("see [EOS]")


# ------------------------------------------------------------------ text sizes
def test_text_sample_over_the_limit_is_refused_before_codes_are_drawn(text_vae, monkeypatch):
    monkeypatch.setattr(text_vae, "prior_sample", _forbidden("prior_sample"))
    with pytest.raises(ConfigError, match=rf"more than {MAX_TEXTS:,} texts a call.*batches"):
        text_vae.sample(10**9)


def test_text_sample_at_the_limit_is_allowed(text_vae, monkeypatch):
    calls = []
    monkeypatch.setattr(text_vae, "_texts", lambda z, *a, **k: calls.append(len(z)) or [])
    text_vae.sample(MAX_TEXTS, seed=0)
    assert calls == [MAX_TEXTS]


def test_text_interpolate_and_decode_over_the_limit_are_refused_first(text_vae, monkeypatch):
    monkeypatch.setattr(text_vae, "encode", _forbidden("encode"))
    with pytest.raises(ConfigError, match="steps="):
        text_vae.interpolate("a cat", "a dog", steps=10**7)
    monkeypatch.setattr(text_vae, "generate", _forbidden("generate"))
    with pytest.raises(ConfigError, match=f"more than {MAX_TEXTS:,}"):
        text_vae.decode(np.zeros((MAX_TEXTS + 1, 2), np.float32))


def test_log_likelihood_with_absurd_k_is_refused_before_any_draw(text_vae, monkeypatch):
    monkeypatch.setattr(bounds_module, "log_weights", _forbidden("log_weights"))
    with pytest.raises(ConfigError, match=rf"k=10,000,000 is more than {MAX_IMPORTANCE_SAMPLES:,}.*batches"):
        text_vae.log_likelihood(TEXTS[:1], k=10**7)
    with pytest.raises(ConfigError, match="n_samples=10,000,000"):
        text_vae.elbo(TEXTS[:1], n_samples=10**7)


def test_draws_split_into_steps_give_the_same_bound(text_vae):
    whole = bounds(text_vae, TEXTS[:3], k=40, seed=3, batch=1)  # a text's 40 draws in one go
    steps = bounds(text_vae, TEXTS[:3], k=40, seed=3, batch=1, step_values=7 * 270 * text_vae.config.input_shape[0],
                   draw_values=270 * text_vae.config.input_shape[0])  # 7 draws a step: 6 steps a text
    np.testing.assert_allclose(steps[0], whole[0], rtol=1e-5)
    np.testing.assert_allclose(steps[1], whole[1], rtol=1e-5)


def test_large_k_is_decoded_in_steps(digits, monkeypatch):
    vae = latentlab.VAE(latent_dim=2, hidden=(8,)).fit(digits[0][:200], epochs=1, verbose=False, seed=0)
    sizes = []
    real = bounds_module.log_weights
    monkeypatch.setattr(bounds_module, "log_weights", lambda m, x, y, k, g: sizes.append(k) or real(m, x, y, k, g))
    ll = vae.log_likelihood(digits[0][:1], k=20_000)
    assert np.isfinite(ll).all() and sum(sizes) == 20_000 and len(sizes) > 1 and max(sizes) * 64 <= bounds_module.STEP_VALUES


# ------------------------------------------------------------------ interpolation
def test_interpolation_paths_over_the_limit_are_refused_before_encoding(digits, monkeypatch):
    with pytest.raises(ConfigError, match=rf"more than {MAX_STEPS:,} points.*batches"):
        interpolate_codes(np.zeros(2), np.ones(2), MAX_STEPS + 1)  # one over: cheap even if the check were gone
    ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(digits[0][:100], epochs=1, verbose=False)
    monkeypatch.setattr(ae, "encode", _forbidden("encode"))
    with pytest.raises(ConfigError, match=f"steps={MAX_STEPS + 1:,} is more than"):  # 6.4 M values: under the
        ae.interpolate(digits[0][0], digits[0][1], steps=MAX_STEPS + 1)  # output limit, over the path's


# ------------------------------------------------------------------ denoiser configs
@pytest.mark.parametrize("change", [{"depth": 1_000_000}, {"hidden": [8] * 40}])
def test_a_denoiser_config_asking_for_absurd_depth_is_refused_before_building(tmp_path, monkeypatch, change):
    den = latentlab.ImageDenoiser(hidden=(4, 8), depth=1)
    den.fit([np.random.default_rng(0).random((24, 24)).astype(np.float32)], noise_level=0.1, patch_size=8,
            patches_per_epoch=16, epochs=1, verbose=False)
    den.save(tmp_path / "den")
    shutil.copytree(tmp_path / "den", tmp_path / "bad")
    doc = json.loads((tmp_path / "bad" / "config.json").read_text())
    doc["config"].update(change)
    (tmp_path / "bad" / "config.json").write_text(json.dumps(doc))
    monkeypatch.setattr(denoiser_module, "UNet", _forbidden("UNet"))
    with pytest.raises(ModelFileError, match="MAX_DEPTH, MAX_STAGES"):
        latentlab.load(tmp_path / "bad")


def test_denoiser_sizes_are_checked_when_built_too():
    with pytest.raises(ConfigError, match=f"depth={denoiser_module.MAX_DEPTH} convolutions"):
        latentlab.ImageDenoiser(depth=10**6)
    den = latentlab.ImageDenoiser(hidden=(10**6,))
    with pytest.raises(ConfigError, match="MAX_MODEL_VALUES"):
        den.fit([np.zeros((20, 20), np.float32)], noise_level=0.1, patch_size=16, epochs=1, verbose=False)
