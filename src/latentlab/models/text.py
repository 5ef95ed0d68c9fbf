"""Sentence VAE and sentence autoencoder: texts in, texts out.

Bowman et al., "Generating sentences from a continuous space", CoNLL 2016:
an LSTM encoder to a Gaussian posterior, an LSTM language-model decoder that
sees the code at every step, a categorical likelihood over tokens, and two
remedies against the posterior collapse that an autoregressive decoder
invites: KL annealing and **word dropout** (``word_dropout``: during
training each input token of the decoder is replaced by ``[UNK]`` with this
probability, so the decoder must lean on the code). Every remedy of
:mod:`latentlab.models.variational` applies (``kl_anneal='cyclical'``, Fu et
al. 2019; ``free_bits``, Kingma et al. 2016), as do the priors and
``n_classes`` conditioning of :class:`~latentlab.models.vae.VAE`.

Texts are tokenised by a byte-level BPE (or character) tokenizer from
Hugging Face ``tokenizers``, trained on the first ``fit``'s texts and saved
as ``tokenizer.json`` in the model folder (:mod:`latentlab.data.text`). A
model holds texts of up to ``input_shape[0] - 1`` tokens (the longest
training text, at most ``max_tokens - 1``); longer ones are cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import check_choice, check_positive_int, register
from ..data.scaling import Scaler
from ..data.tensors import Batch
from ..data.text import BOS_ID, EOS_ID, PAD_ID, TOKENIZERS, UNK_ID, TextTokenizer, check_texts, token_array
from ..data.validation import check_labels
from ..errors import ConfigError, ModelFileError
from .ae import AEConfig, Autoencoder
from .api import make_generator
from .bounds import bounds
from .interpolation import interpolate_codes
from .text_decoding import Decoding, decode_tokens
from .vae import VAE, VAEConfig

TOKENIZER_FILE = "tokenizer.json"
NEVER_EMITTED = (PAD_ID, UNK_ID, BOS_ID)  # tokens a decoder never writes
#: Texts one call of sample / decode / reconstruct / interpolate may produce: each is decoded a token at a
#: time, so 100,000 take minutes. For more, call again (with one torch.Generator, the draws go on).
MAX_TEXTS = 100_000
TEXT_STEP = 1 << 24  # logits computed at once by the likelihood bounds (about 64 MB)


@dataclass(frozen=True)
class _TextFields:
    """Fields every text family adds.

    ``hidden[0]`` is the width of the LSTM (or GRU, ``cell``) state and
    ``embed_dim`` that of the token embeddings; ``tokenizer`` is 'bpe'
    (byte-level BPE of ``vocab_size`` tokens) or 'char' (bytes); texts are
    cut at ``max_tokens - 1`` tokens; ``word_dropout`` is the fraction of
    the decoder's input tokens replaced by [UNK] in training (Bowman et al.).
    The defaults are those of ``benchmarks/text.py``, chosen on its
    validation split (``docs/text.md``): there word dropout 0.25 cost 8% of
    NLL against 0 at the same KL, as free bits already keep the code in use;
    free bits 0.35 kept the VAE's NLL level with the language model's with
    4.7 nats of KL a sentence (0.25 fell below 3 nats, 0.5 cost 1.8% of NLL).
    """

    architecture: str = "text"
    likelihood: str = "categorical"
    scaling: str = "none"
    noise: str = "none"
    noise_level: float = 0.0
    hidden: tuple[int, ...] = (128,)
    latent_dim: int = 16
    cell: str = "lstm"
    embed_dim: int = 64
    tokenizer: str = "bpe"
    vocab_size: int = 500
    max_tokens: int = 64
    word_dropout: float = 0.0
    tokenizer_sha256: str | None = None  # of the weights' tokenizer.json: set by fit and save, checked by load

    def validate(self) -> None:
        super().validate()  # type: ignore[misc]
        check_choice("cell", self.cell, ("lstm", "gru"))
        check_choice("tokenizer", self.tokenizer, TOKENIZERS)
        check_positive_int("embed_dim", self.embed_dim)
        check_positive_int("vocab_size", self.vocab_size)
        check_positive_int("max_tokens", self.max_tokens)
        if self.architecture != "text" or self.likelihood != "categorical" or self.scaling != "none":
            raise ConfigError("text families need architecture='text', likelihood='categorical' and scaling='none'.")
        if len(self.hidden) != 1:
            raise ConfigError(f"hidden={self.hidden} must hold one width (the recurrent state), e.g. (256,).")
        if self.vocab_size < 8 or self.max_tokens < 2:
            raise ConfigError("vocab_size must be at least 8 and max_tokens at least 2.")
        if not isinstance(self.word_dropout, (int, float)) or not 0 <= self.word_dropout < 1:
            raise ConfigError(f"word_dropout={self.word_dropout!r} must be a fraction in [0, 1).")
        if self.noise != "none":
            raise ConfigError("text families corrupt by word_dropout, not noise; leave noise='none'.")
        if getattr(self, "prior", "standard") == "vamp":
            raise ConfigError("prior='vamp' needs pseudo-inputs in the data's space; use 'standard' or 'mog' for text.")


@dataclass(frozen=True)
class TextAEConfig(_TextFields, AEConfig):
    """Config of :class:`TextAutoencoder`."""

    family = "text_ae"


@dataclass(frozen=True)
class TextVAEConfig(_TextFields, VAEConfig):
    """Config of :class:`TextVAE`; see ``docs/text.md`` for how the defaults were chosen."""

    family = "text_vae"
    kl_anneal: str = "linear"
    kl_anneal_epochs: int = 10
    free_bits: float = 0.35


class TextMixin:
    """Texts in and out for the text families (put it first in the bases)."""

    is_text = True  # what the command line and the explorer ask, instead of a family name

    def _init_api_state(self) -> None:
        super()._init_api_state()  # type: ignore[misc]
        self.tokenizer: TextTokenizer | None = None

    # ------------------------------------------------------------ tokens
    def token_ids(self, texts, name: str = "texts") -> np.ndarray:
        """``(n, T)`` int64 ids of ``texts``: tokens, [EOS], [PAD]...; texts longer than ``T - 1`` tokens are cut."""
        return token_array(self.tokenizer, check_texts(texts, name), self.config.input_shape[0])

    def to_model_space(self, X, name: str = "texts", allow_nan: bool = False) -> torch.Tensor:
        self.check_fitted()
        return torch.from_numpy(self.token_ids(X, name).astype(np.float32))

    def texts_of(self, ids) -> list[str]:
        """Decode rows of token ids to strings (up to each row's first [EOS])."""
        return [self.tokenizer.decode(row) for row in np.asarray(ids, dtype=np.int64)]

    def check_fitted(self) -> None:
        super().check_fitted()  # type: ignore[misc]
        if self.tokenizer is None:
            raise ModelFileError("this text model has no tokenizer; fit it, or load the folder it was saved to.")

    # --------------------------------------------------------------- fit
    def fit(self, X, y=None, *, validation_data=None, **kwargs):
        """Fit the tokenizer (first time only) and the networks on texts ``X`` (and integer labels ``y``).

        ``validation_data`` is a list of texts or ``(texts, labels)``; the
        other options are those of :meth:`LatentModel.fit`.
        """
        texts = check_texts(X, "X", min_texts=2)
        c = self.config
        if self.tokenizer is None:
            if kwargs.get("resume") is not None:
                raise ConfigError("resume a text model after loading it (the checkpoint holds no tokenizer).")
            self.tokenizer = TextTokenizer.train(texts, c.tokenizer, c.vocab_size)
        if c.input_shape is None:
            longest = max(len(t) for t in self.tokenizer.encode(texts)) + 1  # + [EOS]
            c = c.replace(vocab_size=self.tokenizer.vocab_size, input_shape=(min(longest, c.max_tokens),))
        if y is not None and c.n_classes == 0:  # labelled texts: a conditional model, as the CVAE infers it
            labels = check_labels(y, len(texts))
            c = c.replace(n_classes=int(labels.max()) + 1)
        self.config = c = c.replace(tokenizer_sha256=self.tokenizer.sha256())  # binds the tokenizer to the weights
        ids = token_array(self.tokenizer, texts, c.input_shape[0]).astype(np.float32)
        if self.scaler is None:
            self.scaler = Scaler("none").fit(ids)  # ids are not scaled; the scaler keeps the common model files
        if validation_data is not None:
            vx, vy = validation_data if isinstance(validation_data, tuple) else (validation_data, None)
            validation_data = (self.token_ids(vx, "validation texts").astype(np.float32), vy)
        return super().fit(ids, y, validation_data=validation_data, **kwargs)  # type: ignore[misc]

    # ------------------------------------------------------------ networks
    def decoder_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """[BOS] then the tokens (the last dropped), with word dropout in training mode, ``(B, T)``."""
        ids = x.long()
        inputs = torch.cat([torch.full_like(ids[:, :1], BOS_ID), ids[:, :-1]], dim=1)
        p = self.config.word_dropout
        if self.training and p > 0:
            drop = (torch.rand(inputs.shape, device=inputs.device) < p) & (inputs != PAD_ID) & (inputs != BOS_ID)
            inputs = inputs.masked_fill(drop, UNK_ID)
        return inputs

    def code_with_labels(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        extra = self.labels(y, z.shape[0])
        return z if extra is None else torch.cat([z, extra], dim=1)

    def decoded_nll(self, z: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Per-text NLL of the tokens and [EOS] given codes ``z`` (teacher forcing; padding masked out), ``(B,)``."""
        logits = self.decoder(self.code_with_labels(z, batch.y), self.decoder_inputs(batch.x))  # (B, T, V)
        return self.likelihood.nll(logits, batch.x, (batch.x != PAD_ID).to(logits.dtype))

    def decode_params(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.generate(z, y).float()  # greedy token ids: what "the decoder's output" is for a text

    def decode_mean(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode_params(z, y)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None, opts: Decoding | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Token ids ``(B, T)`` decoded from codes by ``opts`` (:class:`Decoding`, default: greedy with the
        repetition guard); [PAD] after [EOS]. Label ``guidance`` contrasts each label with the others."""
        opts = Decoding() if opts is None else opts
        code, others = self.code_with_labels(z, y), None
        if opts.guidance > 0:
            n = self.config.n_classes
            others = torch.stack([self.code_with_labels(z, (y + m) % n) for m in range(1, n)])  # (K-1, B, C)
        return decode_tokens(self.decoder, code, self.config.input_shape[0], opts, NEVER_EMITTED, BOS_ID, EOS_ID,
                             PAD_ID, generator, others)

    # ------------------------------------------------------------ texts out
    def decode(self, Z, y=None, *, seed: int | None = None, **decoding) -> list[str]:
        """The texts decoded from codes ``Z`` ``(n, latent_dim)``, by the options of :class:`Decoding`.

        Greedy by default, with the repetition guard (``no_repeat_ngram=4``); ``temperature > 0``
        samples each token (reproducibly with ``seed``), among the ``top_p`` nucleus; ``beam > 1``
        runs a beam search (the most probable text the beam finds, scored by the sum of its tokens'
        log-probabilities); ``guidance`` w > 0 (a conditional model) scores each token by
        ``(1 + w) log p(t | z, y) - w mean log p(t | z, other labels)``, so the text leans further to
        its label ``y``; ``no_repeat_ngram=0, repetition_penalty=1`` turn the guard off.
        """
        self.check_fitted()
        opts = Decoding.of(decoding)
        z = np.asarray(Z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.config.latent_dim or not np.isfinite(z).all():
            raise ConfigError(f"Z has shape {z.shape}; codes must be finite, shaped (n, {self.config.latent_dim}).")
        return self._texts(torch.from_numpy(z), y, opts, make_generator(seed, None))

    def _texts(self, z: torch.Tensor, y, opts: Decoding, generator) -> list[str]:
        if opts.guidance > 0 and (self.config.n_classes < 2 or y is None or opts.sampled):
            raise ConfigError("guidance contrasts labels: it needs a conditional model, labels y, and temperature=0.")
        check_text_count(len(z), "decode")
        if y is not None and np.ndim(y) == 0:
            y = np.full(len(z), int(y))
        labels = self.label_tensor(y, len(z))
        ids = self.run_batched(lambda a, b: self.generate(a, b, opts, generator).float(), z, labels)
        return self.texts_of(ids.numpy())

    def reconstruct(self, X, y=None, *, seed: int | None = None, **decoding) -> list[str]:
        """Each text encoded to its posterior mean and decoded (greedily by default; options of :class:`Decoding`)."""
        return self.decode(self.encode(X, y), y, seed=seed, **decoding)

    def sample(self, n: int, y=None, *, seed: int | None = None, generator: torch.Generator | None = None,
               **decoding) -> list[str]:
        """``n`` texts decoded from prior draws (label ``y`` for a conditional model), greedily by default.

        The options are those of :class:`Decoding` (see :meth:`decode`): ``temperature > 0`` samples token by
        token (with ``top_p``), ``beam > 1`` decodes each draw by beam search, ``guidance > 0`` leans each
        text to its label. At most :data:`MAX_TEXTS` texts a call: for more, call it again with the same
        ``generator``.
        """
        self.check_fitted()
        opts = Decoding.of(decoding)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"n={n!r} must be a positive integer.")
        check_text_count(n, "sample")  # before the codes are drawn: sample(10**9) would need 64 GB for them alone
        g = make_generator(seed, generator)
        return self._texts(self.prior_sample(int(n), g), y, opts, g)

    def interpolate(self, a: str, b: str, steps: int = 10, method: str = "linear", y=None, *,
                    seed: int | None = None, **decoding) -> list[str]:
        """The texts decoded at ``steps`` points between the codes of ``a`` and ``b`` (``steps`` at most
        :data:`MAX_TEXTS`), greedily by default; the options are those of :class:`Decoding` (``seed`` for
        ``temperature > 0``: one generator draws along the whole path)."""
        for name, t in (("a", a), ("b", b)):
            if not isinstance(t, str):
                raise ConfigError(f"{name} must be one text (a string), got {type(t).__name__}.")
        Decoding.of(decoding)  # bad options are refused before anything is encoded
        if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
            check_text_count(steps, "interpolate", "steps")
        labels = None if y is None else np.full(2, int(y))
        codes = self.encode([a, b], labels)
        path = interpolate_codes(codes[0], codes[1], steps, method)
        return self.decode(path, None if y is None else np.full(len(path), int(y)), seed=seed, **decoding)

    def token_counts(self, texts) -> np.ndarray:
        """Tokens each text is scored on (its tokens within the model's length, and [EOS])."""
        return (self.token_ids(texts) != PAD_ID).sum(1)

    # ---------------------------------------------------------------- files
    def extra_files(self) -> dict[str, bytes]:  # the tokenizer's SHA-256 goes into config.json, written after it
        self.config = self.config.replace(tokenizer_sha256=self.tokenizer.sha256())
        return {TOKENIZER_FILE: self.tokenizer.to_bytes()}

    def read_extra_files(self, path) -> None:
        file = Path(path) / TOKENIZER_FILE
        if not file.is_file():
            raise ModelFileError(f"{file} is missing; a text model folder holds its tokenizer.")
        tok = TextTokenizer.from_bytes(file.read_bytes(), self.config.tokenizer, str(file), self.config.tokenizer_sha256)
        if tok.vocab_size != self.config.vocab_size:
            raise ModelFileError(f"{file} has {tok.vocab_size} tokens; config.json says {self.config.vocab_size}.")
        self.tokenizer = tok


def check_text_count(n: int, what: str, name: str = "n") -> None:
    """Refuse a call that would decode more than :data:`MAX_TEXTS` texts, before anything is computed."""
    if int(n) > MAX_TEXTS:
        raise ConfigError(
            f"{what}({name}={int(n):,}) asks for more than {MAX_TEXTS:,} texts a call (MAX_TEXTS; each is decoded "
            "a token at a time). Ask in batches: call it again for each part (sample with one torch.Generator, "
            "generator=g, keeps drawing new codes)."
        )


@register
class TextAutoencoder(TextMixin, Autoencoder):
    """Deterministic sentence autoencoder (LSTM or GRU), with word dropout; samples from a Gaussian fitted to its codes.

    Examples
    --------
    >>> import latentlab
    >>> texts = ["the cat sat.", "a dog ran.", "the dog sat.", "a cat ran."] * 10
    >>> ae = latentlab.TextAutoencoder(latent_dim=4, hidden=(32,), embed_dim=16, vocab_size=270)
    >>> ae = ae.fit(texts, epochs=2, verbose=False)
    >>> ae.encode(texts[:2]).shape, type(ae.reconstruct(texts[:1])[0]).__name__
    ((2, 4), 'str')
    """

    config_class = TextAEConfig


@register
class TextVAE(TextMixin, VAE):
    """Bowman-style sentence VAE: texts in, sampled, interpolated, scored and conditioned texts out.

    Examples
    --------
    >>> import latentlab
    >>> texts = ["the cat sat.", "a dog ran.", "the dog sat.", "a cat ran."] * 10
    >>> vae = latentlab.TextVAE(latent_dim=4, hidden=(32,), embed_dim=16, vocab_size=270)
    >>> vae = vae.fit(texts, epochs=2, verbose=False)
    >>> len(vae.sample(3, seed=0)), vae.log_likelihood(texts[:2], k=5).shape
    (3, (2,))
    """

    config_class = TextVAEConfig

    def log_likelihood(self, X, y=None, *, k: int = 100, seed: int = 0) -> np.ndarray:
        """Importance-sampled ``log p(text)`` in nats with ``k`` draws from q (a lower bound, tight as k grows).

        ``k`` is at most :data:`~latentlab.models.bounds.MAX_IMPORTANCE_SAMPLES`; the draws are decoded
        about 64 MB of logits at a time, so memory does not grow with ``k``.
        """
        return bounds(self, X, y, k=k, seed=seed, draw_values=self._logits_per_draw(), step_values=TEXT_STEP)[0]

    def elbo(self, X, y=None, *, n_samples: int = 1, seed: int = 0) -> np.ndarray:
        return bounds(self, X, y, k=n_samples, seed=seed, draw_values=self._logits_per_draw(), step_values=TEXT_STEP,
                      what="n_samples")[1]

    def _logits_per_draw(self) -> int:
        self.check_fitted()
        return self.config.input_shape[0] * self.config.vocab_size  # (T, V) logits of one text's draw

    def perplexity(self, X, y=None, *, k: int = 100, seed: int = 0) -> float:
        """``exp`` of the importance-sampled NLL per token ([EOS] counted) over all of ``X``."""
        ll = self.log_likelihood(X, y, k=k, seed=seed)
        return float(np.exp(-ll.sum() / self.token_counts(X).sum()))


__all__ = ["TextVAE", "TextAutoencoder", "TextVAEConfig", "TextAEConfig", "MAX_TEXTS", "Decoding"]
