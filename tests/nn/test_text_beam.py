"""Beam search of the text decoders: greedy at beam 1, exhaustive search with a beam as wide as the hypotheses."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

import latentlab
from latentlab.errors import ConfigError
from latentlab.nn.text import TextDecoder, beam_search

BANNED = (0, 1, 2)  # [PAD] [UNK] [BOS]
EOS = 3


def _logp(dec: TextDecoder, code: torch.Tensor, seq: list[int]) -> float:
    """The log-probability of one text (its tokens then [EOS]) under the decoder, by teacher forcing."""
    inputs = torch.tensor([[2] + seq[:-1]])
    logp = torch.log_softmax(dec(code, inputs)[0].float(), -1)
    return float(sum(logp[i, t] for i, t in enumerate(seq)))


def _exhaustive(dec: TextDecoder, code: torch.Tensor, tokens: list[int], length: int):
    best, best_lp = None, -np.inf
    for n in range(length):  # n tokens, then [EOS]: at most `length` positions
        for body in itertools.product(tokens, repeat=n):
            seq = [*body, EOS]
            lp = _logp(dec, code, seq)
            if lp > best_lp:
                best, best_lp = seq, lp
    return best, best_lp


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_wide_beam_is_exhaustive_search(cell):
    torch.manual_seed(0)
    vocab, length = 7, 4  # tokens 3..6: [EOS] and three words; 1 + 3 + 9 + 27 texts
    dec = TextDecoder(3, vocab, 5, 8, cell).eval()
    with torch.no_grad():
        dec.out.weight.mul_(4.0)  # peaked distributions, so greedy and exhaustive search disagree somewhere
        codes = torch.randn(6, 3)
        ids, scores = beam_search(dec, codes, beam=64, length=length, banned=BANNED, eos=EOS)
        greedy, greedy_scores = beam_search(dec, codes, beam=1, length=length, banned=BANNED, eos=EOS)
        found_better = False
        for i in range(len(codes)):
            seq, lp = _exhaustive(dec, codes[i : i + 1], [3, 4, 5, 6], length)
            row = ids[i].tolist()
            assert row[: len(seq)] == seq and all(t == 0 for t in row[len(seq):])
            assert scores[i].item() == pytest.approx(lp, abs=1e-4)
            assert scores[i].item() >= greedy_scores[i].item() - 1e-5
            g = [t for t in greedy[i].tolist() if t != 0]
            assert greedy_scores[i].item() == pytest.approx(_logp(dec, codes[i : i + 1], g), abs=1e-4)
            found_better |= scores[i].item() > greedy_scores[i].item() + 1e-4
    assert found_better  # the test's decoder is one where the search matters


@pytest.fixture(scope="module")
def small_vae():
    texts = ["the cat sat.", "a dog ran.", "the dog sat.", "a cat ran.", "the cat ran far."] * 8
    torch.manual_seed(0)
    vae = latentlab.TextVAE(latent_dim=4, hidden=(32,), embed_dim=16, vocab_size=270)
    with warnings.catch_warnings():  # three epochs may leave the code unused; decoding is what is tested here
        warnings.simplefilter("ignore")
        vae.fit(texts, [0, 1, 0, 1, 0] * 8, epochs=3, verbose=False)
    return vae, texts


def test_beam_one_is_greedy_and_wider_beams_decode_texts(small_vae):
    vae, texts = small_vae
    z = np.random.default_rng(0).standard_normal((8, 4)).astype("float32")
    y = np.array([0, 1] * 4)
    assert vae.decode(z, y, beam=1) == vae.decode(z, y)
    wide = vae.decode(z, y, beam=4)
    assert len(wide) == 8 and all(isinstance(t, str) for t in wide)
    assert len(vae.reconstruct(texts[:3], y[:3], beam=3)) == 3
    assert vae.sample(3, y=1, seed=0, beam=2) == vae.sample(3, y=1, seed=0, beam=2)
    assert len(vae.interpolate(texts[0], texts[1], steps=3, y=0, beam=2)) == 3


def test_beam_scores_beat_or_match_greedy_on_a_model(small_vae):
    vae, _ = small_vae
    z = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    code = vae.code_with_labels(z, torch.zeros(16, dtype=torch.long))
    with torch.no_grad():
        _, greedy = beam_search(vae.decoder, code, 1, vae.config.input_shape[0], BANNED)
        _, beam = beam_search(vae.decoder, code, 8, vae.config.input_shape[0], BANNED)
    assert float(beam.mean()) >= float(greedy.mean())


@pytest.mark.parametrize("kwargs", [dict(beam=0), dict(beam=2.5), dict(beam=True), dict(beam=2, temperature=0.5)])
def test_bad_beam_is_a_clear_error(small_vae, kwargs):
    vae, _ = small_vae
    with pytest.raises(ConfigError, match="beam"):
        vae.sample(2, y=0, seed=0, **kwargs)


def test_guidance_scores_known_value_and_leans_to_the_label():
    torch.manual_seed(1)
    dec = TextDecoder(3, 7, 5, 8).eval()
    code = torch.tensor([[0.3, 1.0, 0.0]])  # a code and the one-hot label 0 ...
    other = torch.tensor([[[0.3, 0.0, 1.0]]])  # ... contrasted with label 1
    with torch.no_grad():
        ids, score = beam_search(dec, code, 1, 1, BANNED, contrast=other, guidance=2.0)  # one position: the end
        lp = torch.log_softmax(dec(code, torch.tensor([[2]]))[0, 0], -1)
        lq = torch.log_softmax(dec(other[0], torch.tensor([[2]]))[0, 0], -1)
        assert ids.tolist() == [[EOS]]
        assert score.item() == pytest.approx((3 * lp[EOS] - 2 * lq[EOS]).item(), abs=1e-5)
        plain = beam_search(dec, code, 2, 4, BANNED, contrast=other, guidance=0.0)
        assert torch.equal(plain[0], beam_search(dec, code, 2, 4, BANNED)[0])  # guidance 0 is no guidance


def test_guided_samples_and_bad_guidance(small_vae):
    vae, _ = small_vae
    guided = vae.sample(6, y=1, seed=0, beam=2, guidance=1.0)
    assert len(guided) == 6 and guided == vae.sample(6, y=1, seed=0, beam=2, guidance=1.0)
    assert vae.sample(4, y=0, seed=0, guidance=0.0) == vae.sample(4, y=0, seed=0)
    for bad in (dict(guidance=-1.0), dict(guidance=float("nan")), dict(guidance=1.0, temperature=0.5)):
        with pytest.raises(ConfigError, match="guidance"):
            vae.sample(2, y=0, seed=0, **bad)
