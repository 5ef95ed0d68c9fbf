"""Token-sequence encoder and autoregressive decoder (``architecture='text'``).

Token ids are ``(B, T)``: each text's tokens, then ``[EOS]``, then ``[PAD]``
(id 0). The encoder embeds them, packs the batch by length (so padding never
reaches the code) and maps the last state to ``out_dim``. The decoder is a
language model conditioned on the code: the code sets the initial state and
is fed again at every step beside the previous token's embedding (Bowman et
al., "Generating sentences from a continuous space", CoNLL 2016). With a
code of width 0 it is a plain LSTM/GRU language model.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError
from .recurrent import CELLS, last_state

PAD_ID = 0


class TextEncoder(nn.Module):
    """Embedding and RNN over the tokens, the last state (and labels) mapped to ``out_dim``.

    Examples
    --------
    >>> enc = TextEncoder(50, 8, 16, 4)
    >>> enc(torch.tensor([[5, 6, 3, 0], [7, 3, 0, 0]])).shape
    torch.Size([2, 4])
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden: int, out_dim: int, in_extra: int = 0,
                 cell: str = "lstm"):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.rnn = CELLS[cell](embed_dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden + in_extra, out_dim)

    def forward(self, ids: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        ids = ids.long()  # (B, T)
        h = last_state(self.rnn, self.embed(ids), (ids != PAD_ID).sum(1))  # (B, H)
        if extra is not None:
            h = torch.cat([h, extra], dim=1)
        return self.head(h)  # (B, out_dim)


class TextDecoder(nn.Module):
    """Autoregressive decoder: logits of each next token given the code and the tokens before it.

    Examples
    --------
    >>> dec = TextDecoder(4, 50, 8, 16)
    >>> dec(torch.zeros(2, 4), torch.tensor([[2, 5, 6], [2, 7, 0]])).shape
    torch.Size([2, 3, 50])
    """

    def __init__(self, code_dim: int, vocab_size: int, embed_dim: int, hidden: int, cell: str = "lstm"):
        super().__init__()
        self.cell, self.hidden = cell, hidden
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        n_states = 2 if cell == "lstm" else 1
        self.init = nn.Linear(code_dim, n_states * hidden)  # with code_dim 0: a learned start state
        self.rnn = CELLS[cell](embed_dim + code_dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def start(self, z: torch.Tensor):
        """The initial recurrent state for codes ``z`` ``(B, code_dim)``."""
        h = torch.tanh(self.init(z)).unsqueeze(0)  # (1, B, states * H)
        if self.cell == "lstm":
            return tuple(s.contiguous() for s in h.chunk(2, dim=-1))
        return h

    def step(self, z: torch.Tensor, ids: torch.Tensor, state):
        """Logits ``(B, S, V)`` after the input tokens ``ids`` ``(B, S)`` from ``state``, and the new state."""
        e = self.embed(ids.long())  # (B, S, E)
        inp = torch.cat([e, z.unsqueeze(1).expand(-1, e.shape[1], -1)], dim=2)  # (B, S, E + L)
        out, state = self.rnn(inp, state)  # (B, S, H)
        return self.out(out), state

    def forward(self, z: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: ``ids`` ``(B, T)`` are the decoder's inputs ([BOS] then the tokens)."""
        return self.step(z, ids, self.start(z))[0]  # (B, T, V)


def beam_search(decoder: TextDecoder, code: torch.Tensor, beam: int, length: int, banned=(), bos: int = 2,
                eos: int = 3, contrast: torch.Tensor | None = None,
                guidance: float = 0.0, adjust=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The most probable texts under ``decoder`` given ``code`` ``(B, C)`` found by a beam of width ``beam``.

    A hypothesis is scored by the sum of its tokens' log-probabilities, its
    end token included; tokens in ``banned`` are never emitted, and the end
    is forced at the last of ``length`` positions. A finished hypothesis
    keeps its score and is padded with [PAD]. With ``beam=1`` this is
    greedy decoding; with a beam as wide as the number of hypotheses it is
    exhaustive search. Returns the token ids ``(B, length)`` ([PAD] after
    the end) and their log-probabilities ``(B,)``.

    With ``contrast`` codes ``(M, B, C)`` (the same codes with other labels)
    and ``guidance`` w > 0, each step scores tokens by
    ``(1 + w) log p(t | code) - w mean_m log p(t | contrast_m)``: tokens that
    the code's own label makes likelier than the other labels do are
    favoured (contrastive guidance, as classifier-free guidance does for
    diffusion models). The returned scores are then these guided scores.

    ``adjust(scores, history)``, if given, rewrites each step's token scores
    ``(B*beam, V)`` given the tokens each hypothesis holds so far
    ``(B*beam, i)`` (a repetition guard); it runs after ``banned``.

    Examples
    --------
    >>> dec = TextDecoder(4, 10, 8, 16)
    >>> ids, logp = beam_search(dec, torch.zeros(2, 4), beam=3, length=5, banned=(0, 1, 2))
    >>> ids.shape, logp.shape, bool((ids[:, -1] == 0).logical_or(ids[:, -1] == 3).all())
    (torch.Size([2, 5]), torch.Size([2]), True)
    """
    b, k = code.shape[0], int(beam)
    groups = 1 if contrast is None or guidance == 0 else 1 + contrast.shape[0]
    codes = code if groups == 1 else torch.cat([code, *contrast], 0)  # (G*B, C): the code, then its contrasts
    code_k = codes.repeat_interleave(k, 0)  # (G*B*k, C): hypothesis j of text i in group g is row (g*B + i)*k + j
    state = decoder.start(code_k)
    tok = torch.full((groups * b * k, 1), bos, dtype=torch.long, device=code.device)
    scores = torch.full((b, k), -math.inf, device=code.device)
    scores[:, 0] = 0.0  # one live hypothesis to start with
    seqs = torch.full((b, k, length), PAD_ID, dtype=torch.long, device=code.device)
    done = torch.zeros(b, k, dtype=torch.bool, device=code.device)
    rows = torch.arange(b, device=code.device).unsqueeze(1) * k  # (B, 1)
    for i in range(length):
        logits, state = decoder.step(code_k, tok, state)
        logp = torch.log_softmax(logits[:, -1].float(), -1)  # (G*B*k, V)
        v = logp.shape[-1]
        logp = logp.view(groups, b, k, v)
        logp = logp[0] if groups == 1 else (1 + guidance) * logp[0] - guidance * logp[1:].mean(0)  # (B, k, V)
        if banned:
            logp[..., list(banned)] = -math.inf
        if adjust is not None:
            logp = adjust(logp.reshape(b * k, v), seqs[:, :, :i].reshape(b * k, i)).view(b, k, v)
        if i == length - 1:  # the last position holds the end
            end = logp[..., eos].clone()
            logp = torch.full_like(logp, -math.inf)
            logp[..., eos] = end
        finished = torch.full_like(logp, -math.inf)
        finished[..., PAD_ID] = 0.0  # a finished hypothesis goes on as [PAD], at no cost
        logp = torch.where(done.unsqueeze(-1), finished, logp)
        top, idx = (scores.unsqueeze(-1) + logp).view(b, k * v).topk(k, dim=1)  # (B, k)
        src, nxt = idx // v, idx % v
        scores = top
        seqs = seqs.gather(1, src.unsqueeze(-1).expand(-1, -1, length)).clone()
        seqs[:, :, i] = nxt
        done = done.gather(1, src) | (nxt == eos)
        pick = (src + rows).view(-1)  # the parent rows of the kept hypotheses
        pick = torch.cat([pick + g * b * k for g in range(groups)])  # ... in every group
        state = tuple(s[:, pick] for s in state) if isinstance(state, tuple) else state[:, pick]
        tok = nxt.view(-1, 1).repeat(groups, 1)
        if bool(done.all()):
            break
    best = scores.argmax(1)  # (B,)
    pick = torch.arange(b, device=code.device)
    return seqs[pick, best], scores[pick, best]


def build_text_pair(config, out_dim: int, in_extra: int = 0, latent_extra: int = 0):
    """Encoder and decoder for ``architecture='text'`` from a text config.

    ``config.hidden[0]`` is the width of the recurrent state, ``config.embed_dim``
    the width of the token embeddings, ``config.vocab_size`` the number of tokens.
    """
    if config.cell not in CELLS:
        raise ConfigError(f"cell={config.cell!r} is not one of {sorted(CELLS)}.")
    v, e, h = config.vocab_size, config.embed_dim, config.hidden[0]
    enc = TextEncoder(v, e, h, out_dim, in_extra, config.cell)
    dec = TextDecoder(config.latent_dim + latent_extra, v, e, h, config.cell)
    return enc, dec


__all__ = ["TextEncoder", "TextDecoder", "beam_search", "build_text_pair"]
