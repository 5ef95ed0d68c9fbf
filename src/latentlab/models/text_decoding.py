"""How the text families turn codes into tokens: greedy, sampled (temperature, top-p) or by a beam, with a
repetition guard.

An autoregressive decoder that is barely trained, or that gets little from its code, falls into loops:
once it has written a token, that token makes itself likelier, and greedy decoding writes it to the end
("CPU CPU CPU ..."). Two guards, both on by default (see :data:`NO_REPEAT_NGRAM` and
:data:`REPETITION_PENALTY` for the values and why):

- **n-gram blocking** (``no_repeat_ngram=n``; Paulus et al., "A deep reinforced model for abstractive
  summarization", ICLR 2018): a token that would complete an n-gram already in the text is never
  written. ``n=1`` forbids every token already written; 0 turns the block off.
- **a repetition penalty** (``repetition_penalty=r``; Keskar et al., "CTRL", 2019, as Hugging Face
  ``transformers`` applies it): the score ``s`` of each token already in the text becomes ``s / r`` where
  ``s > 0`` and ``s * r`` where ``s <= 0``, so it falls either way. 1 turns it off.

Sampling (``temperature > 0``) can also cut the long tail: **top-p** (nucleus) sampling (Holtzman et al.,
"The curious case of neural text degeneration", ICLR 2020) keeps the smallest set of most probable
tokens whose probability reaches ``top_p`` and samples among them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch

from ..errors import ConfigError
from ..nn.text import beam_search

#: Default n-gram block: a token that would repeat a 4-gram already in the text is not written. Four, not
#: the usual three: of the embedded corpus's sentences (BPE of 500 tokens), 26% repeat a 3-gram of tokens
#: and 17% a 4-gram (quotes and markup around names), and the block must leave real sentences writable;
#: a loop of one token stops after four (see ``docs/text.md``).
NO_REPEAT_NGRAM = 4
#: Default repetition penalty: off (1.0). A penalty on every token already written also pushes down the
#: tokens a sentence must repeat (" the", quotes); in the measurement of ``docs/text.md`` the 4-gram block
#: alone removed the loops. CTRL's 1.2 is the usual choice when a user wants one.
REPETITION_PENALTY = 1.0
MAX_BEAM = 256


@dataclass(frozen=True)
class Decoding:
    """The decoding options of :meth:`TextVAE.decode <latentlab.models.text.TextMixin.decode>` and the
    methods that decode (``sample``, ``reconstruct``, ``interpolate``), checked when built.

    Parameters
    ----------
    temperature : float
        0 decodes greedily (the most probable token at each step); > 0 samples each token from the
        softmax of the scores divided by it.
    top_p : float
        Sampling only: keep the smallest set of most probable tokens whose probability reaches
        ``top_p`` (1 keeps all).
    beam : int
        Beam width (1: none); beam search decodes the most probable text, so it needs ``temperature=0``.
    guidance : float
        Conditional models: lean each text to its label (see :func:`latentlab.nn.text.beam_search`).
    no_repeat_ngram : int
        Never complete an n-gram of this many tokens already in the text (0: off).
    repetition_penalty : float
        Divide (positive) or multiply (negative) the scores of tokens already in the text by it (1: off).

    Examples
    --------
    >>> Decoding(temperature=0.8, top_p=0.9).sampled, Decoding().no_repeat_ngram
    (True, 4)
    """

    temperature: float = 0.0
    top_p: float = 1.0
    beam: int = 1
    guidance: float = 0.0
    no_repeat_ngram: int = NO_REPEAT_NGRAM
    repetition_penalty: float = REPETITION_PENALTY

    def __post_init__(self) -> None:
        t, p, r, g = self.temperature, self.top_p, self.repetition_penalty, self.guidance
        if not _number(t) or t < 0:
            raise ConfigError(f"temperature={t!r} must be a finite number >= 0 (0 decodes greedily).")
        if not _number(p) or not 0 < p <= 1:
            raise ConfigError(f"top_p={p!r} must be a fraction in (0, 1] (1 keeps every token).")
        if p < 1 and t == 0:
            raise ConfigError(f"top_p={p} applies to sampling: give temperature > 0 with it (greedy decoding "
                              "always writes the most probable token).")
        if not _integer(self.beam) or not 1 <= self.beam <= MAX_BEAM:
            raise ConfigError(f"beam={self.beam!r} must be an integer from 1 (greedy) to {MAX_BEAM}.")
        if self.beam > 1 and t > 0:
            raise ConfigError("beam search decodes the most probable text; use beam > 1 with temperature=0, "
                              "or temperature > 0 with beam=1.")
        if not _number(g) or g < 0:
            raise ConfigError(f"guidance={g!r} must be a finite number >= 0 (0: none).")
        if not _integer(self.no_repeat_ngram) or self.no_repeat_ngram < 0:
            raise ConfigError(f"no_repeat_ngram={self.no_repeat_ngram!r} must be an integer >= 0 (0: no block; "
                              f"default {NO_REPEAT_NGRAM}).")
        if not _number(r) or r < 1:
            raise ConfigError(f"repetition_penalty={r!r} must be a finite number >= 1 (1: none; 1.2 is CTRL's).")

    @classmethod
    def of(cls, options: dict) -> Decoding:
        """The options named in ``options`` (the keyword arguments of a decoding method), the rest default."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ConfigError(f"unknown decoding option(s) {unknown}; the options are {known}.")
        return cls(**options)

    @property
    def sampled(self) -> bool:
        return self.temperature > 0

    def guard(self, scores: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """``scores`` ``(B, V)`` with the repetition penalty and the n-gram block applied, given the tokens
        ``history`` ``(B, i)`` written so far."""
        if self.repetition_penalty != 1:
            scores = penalise_repeats(scores, history, self.repetition_penalty)
        if self.no_repeat_ngram:
            scores = scores.masked_fill(banned_ngrams(history, self.no_repeat_ngram, scores.shape[-1]), -math.inf)
        return scores


def _number(v) -> bool:
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool) and math.isfinite(v)


def _integer(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def banned_ngrams(history: torch.Tensor, n: int, vocab_size: int) -> torch.Tensor:
    """``(B, V)`` True where a token would complete an ``n``-gram that row of ``history`` ``(B, i)`` holds.

    Examples
    --------
    >>> h = torch.tensor([[5, 6, 7, 5, 6]])  # "5 6" was followed by 7: writing 7 again would repeat "5 6 7"
    >>> banned_ngrams(h, 3, 9).nonzero().tolist()
    [[0, 7]]
    """
    b, i = history.shape
    banned = torch.zeros(b, vocab_size, dtype=torch.bool, device=history.device)
    if n < 1 or i < n:  # the text holds no n-gram yet
        return banned
    grams = history.unfold(1, n, 1)  # (B, i-n+1, n): every n-gram written
    prefix = history[:, i - n + 1:]  # (B, n-1): what a new token would extend
    match = (grams[:, :, :-1] == prefix.unsqueeze(1)).all(-1)  # (B, i-n+1)
    hits = torch.zeros(b, vocab_size, device=history.device).scatter_add_(1, grams[:, :, -1], match.float())
    return hits > 0


def penalise_repeats(scores: torch.Tensor, history: torch.Tensor, penalty: float) -> torch.Tensor:
    """``scores`` ``(B, V)`` with those of the tokens in ``history`` ``(B, i)`` divided by ``penalty`` where
    positive and multiplied by it otherwise (CTRL's rule: once per token, however often it was written).

    Examples
    --------
    >>> penalise_repeats(torch.tensor([[2.0, -1.0, 3.0]]), torch.tensor([[0, 1, 1]]), 2.0).tolist()
    [[1.0, -2.0, 3.0]]
    """
    if history.shape[1] == 0:
        return scores
    seen = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, history, True)
    return torch.where(seen, torch.where(scores > 0, scores / penalty, scores * penalty), scores)


def nucleus(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """``scores`` ``(B, V)`` with -inf outside the smallest set of most probable tokens whose softmax
    probability reaches ``top_p`` (the most probable token is always kept).

    Examples
    --------
    >>> probs = torch.tensor([[0.5, 0.25, 0.125, 0.125]], dtype=torch.float64)
    >>> nucleus(probs.log(), 0.75).isfinite().tolist()  # 0.5 + 0.25 reaches 0.75
    [[True, True, False, False]]
    """
    if top_p >= 1:
        return scores
    ordered, order = scores.sort(-1, descending=True)
    probs = torch.softmax(ordered, -1)
    before = probs.cumsum(-1) - probs  # mass of the more probable tokens
    drop = before >= top_p
    drop[..., 0] = False
    return scores.masked_fill(drop.scatter(-1, order, drop), -math.inf)


@torch.no_grad()
def decode_tokens(decoder, code: torch.Tensor, length: int, opts: Decoding, never: tuple[int, ...], bos: int,
                  eos: int, pad: int, generator: torch.Generator | None = None,
                  contrast: torch.Tensor | None = None) -> torch.Tensor:
    """Token ids ``(B, length)`` decoded from codes ``code`` ``(B, C)`` by ``opts``: [PAD] after [EOS].

    Tokens in ``never`` are never written and the end is forced at the last position. A beam (or label
    ``guidance`` with ``contrast`` codes ``(M, B, C)``) runs :func:`latentlab.nn.text.beam_search` with the
    repetition guard; otherwise each step takes the most probable token, or samples one (``temperature``,
    ``top_p``) with ``generator``.
    """
    if opts.guidance > 0 or opts.beam > 1:
        return beam_search(decoder, code, opts.beam, length, never, bos, eos, contrast, opts.guidance,
                           adjust=opts.guard)[0]
    b, dev = code.shape[0], code.device
    state = decoder.start(code)
    tok = torch.full((b, 1), bos, dtype=torch.long, device=dev)
    out = torch.full((b, length), pad, dtype=torch.long, device=dev)
    done = torch.zeros(b, dtype=torch.bool, device=dev)
    for i in range(length):
        logits, state = decoder.step(code, tok, state)
        scores = logits[:, -1].float()  # (B, V)
        scores[:, list(never)] = -math.inf
        scores = opts.guard(scores, out[:, :i])
        if i == length - 1:  # the last position holds the end
            nxt = torch.full((b,), eos, dtype=torch.long, device=dev)
        elif not opts.sampled:
            nxt = scores.argmax(-1)
        else:
            probs = torch.softmax(nucleus(scores / opts.temperature, opts.top_p), -1)
            nxt = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1).to(dev)
        nxt = nxt.masked_fill(done, pad)
        out[:, i] = nxt
        done |= nxt == eos
        if bool(done.all()):
            break
        tok = nxt.unsqueeze(1)
    return out


__all__ = ["Decoding", "banned_ngrams", "penalise_repeats", "nucleus", "decode_tokens", "NO_REPEAT_NGRAM",
           "REPETITION_PENALTY"]
