"""Text: the embedded sentence corpus, text-file loaders, checks, and a trained tokenizer.

- :func:`load_text_corpus` returns about 1,400 English sentences taken from
  the documentation topics that ship with Python (``pydoc_data.topics``, so
  nothing is downloaded), each labelled with the group of its topic
  (:data:`TOPIC_GROUPS`): 'statements' (syntax and execution: ``if``,
  ``try``, ``import``, the execution model...) or 'objects' (types, the data
  model, operators and expressions).
- :func:`load_texts` reads a text file with one text per line, or a CSV file
  with a text column and an optional label column.
- :class:`TextTokenizer` wraps a Hugging Face ``tokenizers`` byte-level BPE
  (or byte-level characters, ``kind='char'``) trained on the training texts;
  it is saved as ``tokenizer.json`` in the model folder. Every byte is in its
  alphabet, so any text round-trips exactly and nothing maps to ``[UNK]``;
  the special tokens' strings (``[PAD]``, ``[EOS]``...) written in a text are
  read as plain characters, never as the special tokens.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np

from ..errors import DataError, DataTypeError, ModelFileError
from .validation import input_file

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
SPECIALS = (PAD, UNK, BOS, EOS)  # ids 0..3
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(4)
TOKENIZERS = ("bpe", "char")
MAX_TOKENIZER_BYTES = 50_000_000

#: The label of each ``pydoc_data`` topic in the embedded corpus: 0 'statements', 1 'objects' (the rest).
STATEMENT_TOPICS = frozenset(
    "assert assignment async augassign await break class compound context-managers continue debugger del "
    "dynamic-features else exceptions execmodel for function global if import lambda naming nonlocal pass "
    "raise return try while with yield".split()
)
TOPIC_GROUPS = ("statements", "objects")


def _sentences(text: str) -> list[str]:
    """Prose sentences of one documentation topic (grammar, code and examples left out)."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.split("\n") if ln.strip() and not re.fullmatch(r"\s*[*=\-~^]{3,}\s*", ln)]
        para = " ".join(ln.strip() for ln in lines)
        if not para or ">>>" in para or "::=" in para:
            continue
        para = re.sub(r"^[*\-] ", "", para)
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"*])", para):
            s = s.strip()
            prose = sum(c.isalpha() or c == " " for c in s) / max(1, len(s))
            if 4 <= len(s.split()) <= 24 and s[-1] in ".?!" and s.isascii() and prose > 0.85 and s[0].isupper():
                out.append(s)
    return out


def load_text_corpus() -> tuple[list[str], np.ndarray]:
    """The embedded corpus: ``(sentences, labels)``, labels 0 'statements' / 1 'objects' (:data:`TOPIC_GROUPS`).

    The sentences are unique, in the order of their topics' names; a
    sentence found in several topics keeps the first. The same Python
    version always gives the same corpus.

    Examples
    --------
    >>> texts, y = load_text_corpus()
    >>> len(texts) > 1000, sorted(set(y.tolist()))
    (True, [0, 1])
    """
    from pydoc_data import topics

    seen: dict[str, int] = {}
    for name in sorted(topics.topics):
        for s in _sentences(topics.topics[name]):
            seen.setdefault(s, 0 if name in STATEMENT_TOPICS else 1)
    return list(seen), np.array(list(seen.values()), dtype=np.int64)


def check_texts(texts, name: str = "texts", min_texts: int = 1) -> list[str]:
    """``texts`` as a list of non-empty strings, or a clear error naming the first bad one."""
    if isinstance(texts, (str, bytes)):
        raise DataTypeError(f"{name} is one string; pass a list of strings, e.g. [{texts[:20]!r}].")
    if isinstance(texts, np.ndarray):
        texts = texts.tolist()
    try:
        items = list(texts)
    except TypeError:
        raise DataTypeError(f"{name} must be a list of strings, got {type(texts).__name__}.") from None
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise DataTypeError(f"{name}[{i}] is a {type(t).__name__} ({t!r:.40}), not a string; pass text only.")
        if not t.strip():
            raise DataError(f"{name}[{i}] is empty (or only whitespace); drop empty texts before fitting.")
    if len(items) < min_texts:
        raise DataError(f"{name} holds {len(items)} text(s); at least {min_texts} are needed.")
    return items


def load_texts(path, text_column: str | None = None, label_column: str | None = None):
    """``(texts, labels or None)`` from a ``.txt`` file (one text per line) or a ``.csv`` file.

    A CSV file needs a ``text_column`` (default: the column named 'text', or
    the only one); ``label_column`` is optional and its values become
    integers 0..K-1 in sorted order. Blank lines of a text file are skipped.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "reviews.csv").write_text("text,label\\ngreat film,pos\\ndull plot,neg\\n", encoding="utf-8")
    >>> load_texts(folder / "reviews.csv", label_column="label")
    (['great film', 'dull plot'], array([1, 0]))
    >>> _ = (folder / "lines.txt").write_text("first line\\n\\nsecond line\\n", encoding="utf-8")
    >>> load_texts(folder / "lines.txt")
    (['first line', 'second line'], None)
    """
    path = input_file(path, "a .txt file (one text per line) or a .csv file")
    if path.suffix.lower() == ".csv":
        import pandas as pd

        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DataError(f"{path} is not a readable CSV file ({exc}).") from None
        column = text_column or ("text" if "text" in df.columns else (df.columns[0] if len(df.columns) == 1 else None))
        if column is None or column not in df.columns:
            raise DataError(f"{path} has no text column {text_column or 'text'!r}; columns are {list(df.columns)}.")
        texts = check_texts(df[column].tolist(), name=f"{path} column {column!r}")
        if label_column is None:
            return texts, None
        if label_column not in df.columns:
            raise DataError(f"{path} has no label column {label_column!r}; columns are {list(df.columns)}.")
        _, labels = np.unique(df[label_column].to_numpy(), return_inverse=True)
        return texts, labels.astype(np.int64)
    if label_column is not None:
        raise DataError(f"{path} is a plain text file, which holds no labels; use a CSV file for --label-column.")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save it as UTF-8, one text per line.") from None
    texts = [ln.strip() for ln in lines if ln.strip()]
    if not texts:
        raise DataError(f"{path} holds no text; write one text per line.")
    return texts, None


class TextTokenizer:
    """A byte-level BPE (or character) tokenizer from Hugging Face ``tokenizers``, with ids 0..3 reserved.

    Examples
    --------
    >>> tok = TextTokenizer.train(["the cat sat", "the dog sat"], vocab_size=280)
    >>> tok.decode(tok.encode(["the cat sat"])[0])
    'the cat sat'
    """

    def __init__(self, tokenizer, kind: str):
        # A literal "[EOS]" or "[PAD]" in a user's text is text: it is split into bytes like any other word,
        # never matched as the special token (which would end or blank the text when decoded).
        tokenizer.encode_special_tokens = True
        self.tokenizer, self.kind = tokenizer, kind

    @classmethod
    def train(cls, texts, kind: str = "bpe", vocab_size: int = 1000) -> TextTokenizer:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        texts = check_texts(texts)
        tok = Tokenizer(models.BPE(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
        size = vocab_size if kind == "bpe" else len(alphabet) + len(SPECIALS)  # 'char': bytes, no merges
        trainer = trainers.BpeTrainer(
            vocab_size=size, special_tokens=list(SPECIALS), initial_alphabet=alphabet, show_progress=False
        )
        tok.train_from_iterator(texts, trainer=trainer)
        out = cls(tok, kind)
        if out.vocab_size <= len(SPECIALS):
            raise DataError("the tokenizer learned an empty vocabulary; the texts hold no characters to learn.")
        return out

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, texts) -> list[list[int]]:
        """Token ids of each text (no [BOS]/[EOS])."""
        texts = check_texts(texts)
        return [e.ids for e in _unpanicked(lambda: self.tokenizer.encode_batch(texts))]

    def decode(self, ids) -> str:
        """The text of token ids; decoding stops at the first [EOS], and special tokens are dropped."""
        ids = [int(i) for i in ids]
        if EOS_ID in ids:
            ids = ids[: ids.index(EOS_ID)]
        kept = [i for i in ids if i >= len(SPECIALS)]
        return _unpanicked(lambda: self.tokenizer.decode(kept))

    def to_bytes(self) -> bytes:
        return self.tokenizer.to_str().encode()

    def sha256(self) -> str:
        """:func:`tokenizer_sha256` of :meth:`to_bytes`: what a text model's config records."""
        return tokenizer_sha256(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, kind: str, where: str = "tokenizer.json", sha256: str | None = None
                   ) -> TextTokenizer:
        """Read a ``tokenizer.json``; ``sha256``: the digest the weights' config records (None: not checked).

        The file's shape is checked (what :meth:`train` writes), the library
        parses it, its special ids are checked, then the digest; every failure
        is a :class:`~latentlab.ModelFileError`, a panic of the library included.
        """
        from tokenizers import Tokenizer

        if len(data) > MAX_TOKENIZER_BYTES:
            raise ModelFileError(f"{where} is {len(data)} bytes (limit {MAX_TOKENIZER_BYTES}); refusing to read it.")
        try:
            text = data.decode()
            _check_shape(json.loads(text), where)
            tok = _unpanicked(lambda: Tokenizer.from_str(text))
        except ModelFileError:
            raise
        except RecursionError:
            raise ModelFileError(f"{where} is nested absurdly deep; it is not a tokenizer file.") from None
        except Exception as exc:  # bad UTF-8 or JSON, or the library's own parse errors (a plain Exception)
            raise ModelFileError(f"{where} is not a tokenizer file ({str(exc)[:120]}).") from None
        specials = [tok.token_to_id(s) for s in SPECIALS]
        if specials != list(range(len(SPECIALS))):
            raise ModelFileError(f"{where} does not reserve ids 0..3 for {list(SPECIALS)}; it is foreign or corrupt.")
        if sha256 is not None and tokenizer_sha256(data) != sha256:  # also refuses a recorded non-string
            raise ModelFileError(
                f"{where} does not belong to these weights: config.json records the tokenizer's SHA-256 as "
                f"{str(sha256)[:16]}..., the file's is {tokenizer_sha256(data)[:16]}...; a tokenizer of another model, or "
                "an edited one, maps texts to the wrong ids. Put back the tokenizer.json saved with this model."
            )
        return cls(tok, kind)


def tokenizer_sha256(data: bytes) -> str:
    """The hex SHA-256 of a ``tokenizer.json``'s bytes: what a text model's config records to bind it to its weights.

    Examples
    --------
    >>> tokenizer_sha256(b"{}")[:12]
    '44136fa355b3'
    """
    return hashlib.sha256(data).hexdigest()


# What a tokenizer written by TextTokenizer.train holds. Anything else changes how texts become ids without a
# sign (another normaliser, random BPE dropout, truncation), or panics inside the library on use.
_NONE_FIELDS = ("normalizer", "post_processor", "truncation", "padding")


def _check_shape(doc, where: str) -> None:
    """Refuse a tokenizer.json that ``TextTokenizer.train`` cannot have written, before the library parses it."""
    if not isinstance(doc, dict):
        raise ModelFileError(f"{where} is not a tokenizer file (it holds no JSON object).")
    def kind(v) -> str:
        return str(v.get("type", "?"))[:40] if isinstance(v, dict) else repr(v)[:40]

    model = doc.get("model")
    found = [f"{k} {kind(doc[k])}" for k in _NONE_FIELDS if doc.get(k) is not None]
    found += [f"{k} {kind(doc.get(k))}" for k in ("pre_tokenizer", "decoder") if kind(doc.get(k)) != "ByteLevel"]
    if kind(model) != "BPE":
        found.append(f"model {kind(model)}")
    elif model.get("dropout") is not None:
        found.append(f"BPE dropout {model['dropout']!r}")
    if found:
        raise ModelFileError(
            f"{where} is not a tokenizer latentlab writes (byte-level BPE with nothing else); it has "
            f"{', '.join(found)}. It is foreign or was edited: put back the tokenizer.json saved with the model."
        )


def _unpanicked(call):
    """``call()``, with a panic of the tokenizers library (a ``BaseException`` that ``except Exception`` misses)
    turned into :class:`ModelFileError`."""
    try:
        return call()
    except Exception:
        raise
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":  # pyo3_runtime.PanicException cannot be imported by name
            raise
        raise ModelFileError(
            f"the tokenizer crashed ({str(exc)[:120]}); its tokenizer.json is foreign or corrupt: put back the one "
            "saved with the model."
        ) from None


def token_array(tokenizer: TextTokenizer, texts, length: int) -> np.ndarray:
    """``(n, length)`` int64 ids: each text's tokens then [EOS], then [PAD]; longer texts are cut (keeping [EOS])."""
    ids = tokenizer.encode(texts)
    out = np.full((len(ids), length), PAD_ID, dtype=np.int64)
    for i, row in enumerate(ids):
        row = row[: length - 1] + [EOS_ID]
        out[i, : len(row)] = row
    return out


__all__ = [
    "load_text_corpus",
    "load_texts",
    "check_texts",
    "TextTokenizer",
    "token_array",
    "tokenizer_sha256",
    "TOPIC_GROUPS",
    "TOKENIZERS",
    "PAD_ID",
    "UNK_ID",
    "BOS_ID",
    "EOS_ID",
]
