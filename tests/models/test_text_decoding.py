"""Text decoding options: n-gram blocking, the repetition penalty, top-p, seeded sampling, and the models'
methods that take them (issue 37: samples and interpolations that repeat a token to the end)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import latentlab
from latentlab.data.text import BOS_ID, EOS_ID, PAD_ID
from latentlab.errors import ConfigError
from latentlab.models.interpolation import interpolate_codes
from latentlab.models.text_decoding import (
    NO_REPEAT_NGRAM,
    Decoding,
    banned_ngrams,
    decode_tokens,
    nucleus,
    penalise_repeats,
)
from latentlab.nn.text import TextDecoder, beam_search

NEVER = (0, 1, 2)


# ------------------------------------------------------------------ known values
def test_ngram_block_forbids_exactly_the_tokens_that_would_repeat_an_ngram():
    history = torch.tensor([[1, 2, 3, 1, 2, 4, 1, 2],  # "1 2" was followed by 3 and by 4
                            [5, 5, 5, 6, 7, 8, 9, 4]])  # nothing ends in "9 4" before
    assert banned_ngrams(history, 3, 10).nonzero().tolist() == [[0, 3], [0, 4]]
    assert banned_ngrams(history, 2, 10).nonzero().tolist() == [[0, 3], [0, 4]]  # "2" was followed by 3 and 4
    assert banned_ngrams(history, 1, 10)[1].nonzero().flatten().tolist() == [4, 5, 6, 7, 8, 9]  # every token seen
    assert not banned_ngrams(history, 4, 10).any()  # "4 1 2" never came before
    assert not banned_ngrams(history[:, :2], 3, 10).any()  # two tokens hold no 3-gram yet
    assert banned_ngrams(torch.tensor([[5, 5, 5]]), 3, 10).nonzero().tolist() == [[0, 5]]
    scores = torch.arange(10.0).repeat(2, 1)
    guarded = Decoding(no_repeat_ngram=3).guard(scores, history)
    assert torch.isinf(guarded).nonzero().tolist() == [[0, 3], [0, 4]]
    assert torch.equal(guarded[1], scores[1])  # the rest untouched
    assert torch.equal(Decoding(no_repeat_ngram=0).guard(scores, history), scores)


def test_repetition_penalty_divides_positive_and_multiplies_negative_scores_once():
    scores = torch.tensor([[2.0, -1.0, 3.0, 0.0, -4.0]])
    history = torch.tensor([[0, 1, 1, 1, 3]])  # token 1 three times: penalised once
    assert penalise_repeats(scores, history, 2.0).tolist() == [[1.0, -2.0, 3.0, 0.0, -4.0]]
    out = Decoding(repetition_penalty=1.25, no_repeat_ngram=0).guard(scores, history)
    assert out[0].tolist() == pytest.approx([1.6, -1.25, 3.0, 0.0, -4.0])
    assert torch.equal(penalise_repeats(scores, history[:, :0], 2.0), scores)


@pytest.mark.parametrize(("p", "kept"), [(0.3, [1]), (0.5, [1]), (0.6, [1, 3]), (0.75, [1, 3]), (0.76, [0, 1, 3]),
                                         (0.875, [0, 1, 3]), (1.0, [0, 1, 2, 3, 4])])
def test_top_p_keeps_the_smallest_set_of_tokens_whose_probability_reaches_p(p, kept):
    probs = torch.tensor([[0.125, 0.5, 0.0625, 0.25, 0.0625]], dtype=torch.float64)  # sums of powers of 2: exact
    out = nucleus(probs.log(), p)
    assert torch.isfinite(out[0]).nonzero().flatten().tolist() == kept
    assert torch.equal(out[0, kept], probs.log()[0, kept])  # the kept scores are left as they were


def test_top_p_matches_a_brute_force_nucleus(rng):
    scores = torch.from_numpy(rng.normal(size=(50, 12)) * 2)
    for p in (0.1, 0.5, 0.9, 0.99):
        out = nucleus(scores, p)
        for row, got in zip(scores, out):
            probs = torch.softmax(row, -1)
            order = probs.argsort(descending=True).tolist()
            k = next(i for i in range(1, 13) if probs[order[:i]].sum() >= p - 1e-12)
            assert sorted(torch.isfinite(got).nonzero().flatten().tolist()) == sorted(order[:k])


def test_bad_options_are_refused_naming_them():
    for kwargs, match in [({"top_p": 0.0}, "top_p=0.0"), ({"top_p": 1.5}, "top_p"), ({"top_p": 0.9}, "temperature > 0"),
                          ({"no_repeat_ngram": -1}, "no_repeat_ngram=-1"), ({"no_repeat_ngram": 2.5}, "integer"),
                          ({"repetition_penalty": 0.5}, "repetition_penalty=0.5"), ({"temperature": -1}, "temperature"),
                          ({"beam": 2, "temperature": 1.0}, "beam search"), ({"beam": 0}, "beam=0")]:
        with pytest.raises(ConfigError, match=match):
            Decoding(**kwargs)
    with pytest.raises(ConfigError, match=r"unknown decoding option\(s\) \['top_k'\].*'top_p'"):
        Decoding.of({"top_k": 5})


# ------------------------------------------------------------------ a decoder rigged to loop
@pytest.fixture
def looping():
    """A decoder whose scores ignore everything: token 5 first, then 6, 7, 8, 9, 4; the end all but never."""
    torch.manual_seed(0)
    dec = TextDecoder(2, 10, 4, 8).eval()
    with torch.no_grad():
        dec.out.weight.zero_()
        dec.out.bias.copy_(torch.tensor([0.0, 0.0, 0.0, -1e4, 1.0, 10.0, 9.0, 8.0, 7.0, 6.0]))
    return dec


def _run(dec, opts, b=2, length=12, generator=None):
    return decode_tokens(dec, torch.zeros(b, 2), length, opts, NEVER, BOS_ID, EOS_ID, PAD_ID, generator).tolist()


def test_without_the_guard_greedy_decoding_repeats_a_token_to_the_end(looping):
    assert _run(looping, Decoding(no_repeat_ngram=0))[0] == [5] * 11 + [EOS_ID]


def test_the_guard_stops_the_loop(looping):
    assert _run(looping, Decoding(no_repeat_ngram=1))[0] == [5, 6, 7, 8, 9, 4, EOS_ID] + [PAD_ID] * 5
    assert _run(looping, Decoding(no_repeat_ngram=2), length=6)[0] == [5, 5, 6, 5, 7, EOS_ID]
    out = _run(looping, Decoding(), length=30)[0]
    assert out[:NO_REPEAT_NGRAM] == [5] * NO_REPEAT_NGRAM and out[NO_REPEAT_NGRAM] != 5  # four, then it moves on
    ids = out[: out.index(EOS_ID)]
    grams = [tuple(ids[i : i + NO_REPEAT_NGRAM]) for i in range(len(ids) - NO_REPEAT_NGRAM + 1)]
    assert len(grams) == len(set(grams)) > 10


def test_the_guard_applies_within_a_beam(looping):
    loop, _ = beam_search(looping, torch.zeros(2, 2), 3, 10, NEVER)
    assert loop[0].tolist() == [5] * 9 + [EOS_ID]
    ids, _ = beam_search(looping, torch.zeros(2, 2), 3, 10, NEVER, adjust=Decoding(no_repeat_ngram=1).guard)
    for row in ids.tolist():  # each of the six tokens once (in some order: their scores do not depend on it)
        assert sorted(row[:6]) == [4, 5, 6, 7, 8, 9] and row[6:] == [EOS_ID, PAD_ID, PAD_ID, PAD_ID]


def test_a_seeded_sample_is_reproducible_and_top_p_narrows_it(looping):
    opts = Decoding(temperature=3.0, no_repeat_ngram=0)
    first = _run(looping, opts, b=20, generator=torch.Generator().manual_seed(7))
    assert first == _run(looping, opts, b=20, generator=torch.Generator().manual_seed(7))
    assert first != _run(looping, opts, b=20, generator=torch.Generator().manual_seed(8))
    narrow = _run(looping, Decoding(temperature=3.0, top_p=0.5, no_repeat_ngram=0), b=20,
                  generator=torch.Generator().manual_seed(7))
    # at temperature 3, token 5 holds 0.34 of the mass and 6 0.25: p=0.5 keeps exactly those two
    assert {t for row in narrow for t in row[:-1]} == {5, 6}
    assert len({t for row in first for t in row[:-1]}) > 2


# ------------------------------------------------------------------ the models' methods
@pytest.fixture(scope="module")
def vae():
    texts = ["the cat sat.", "a dog ran.", "the dog sat.", "a cat ran."] * 10
    torch.manual_seed(0)
    with warnings.catch_warnings():  # two epochs may leave the code unused: the tests below check decoding only
        warnings.simplefilter("ignore")
        return latentlab.TextVAE(latent_dim=4, hidden=(32,), embed_dim=16, vocab_size=270).fit(
            texts, epochs=2, verbose=False)


@pytest.mark.slow
def test_model_methods_take_the_decoding_options(vae):
    opts = dict(temperature=1.5, top_p=0.9, no_repeat_ngram=2, repetition_penalty=1.2)
    s = vae.sample(6, seed=3, **opts)
    assert s == vae.sample(6, seed=3, **opts) and len(s) == 6
    z = vae.encode(["the cat sat.", "a dog ran."])
    assert vae.decode(z, seed=1, **opts) == vae.decode(z, seed=1, **opts)
    path = vae.interpolate("the cat sat.", "a dog ran.", steps=4, seed=2, **opts)
    codes = interpolate_codes(z[0], z[1], 4, "linear")
    assert path == vae.decode(codes, seed=2, **opts)
    assert vae.reconstruct(["the cat sat."], seed=0, **opts) == vae.decode(z[:1], seed=0, **opts)
    assert vae.interpolate("the cat sat.", "a dog ran.", steps=3) == vae.decode(
        interpolate_codes(z[0], z[1], 3, "linear"), no_repeat_ngram=NO_REPEAT_NGRAM)
    for call in (lambda: vae.interpolate("a", "b", top_k=3), lambda: vae.sample(2, top_p=0.5),
                 lambda: vae.reconstruct(["a"], no_repeat_ngram=-2)):
        with pytest.raises(ConfigError):
            call()


@pytest.mark.slow
def test_guarded_model_output_never_repeats_an_ngram(vae):
    z = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32) * 3
    ids = vae.generate(torch.from_numpy(z), None, Decoding(no_repeat_ngram=2)).tolist()
    for row in ids:
        text = row[: row.index(EOS_ID)] if EOS_ID in row else row
        grams = list(zip(text, text[1:]))
        assert len(grams) == len(set(grams))
    beam = vae.generate(torch.from_numpy(z), None, Decoding(beam=3, no_repeat_ngram=2)).tolist()
    for row in beam:
        text = row[: row.index(EOS_ID)] if EOS_ID in row else row
        assert len(list(zip(text, text[1:]))) == len(set(zip(text, text[1:])))
