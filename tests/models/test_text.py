"""The text families: tokenizer, masked categorical loss, learning, files, conditioning, bad input, command line."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
import torch

import latentlab
from latentlab.data.text import EOS_ID, PAD_ID, UNK_ID, TextTokenizer, load_texts, token_array
from latentlab.errors import ConfigError, DataError, DataTypeError, ModelFileError
from latentlab.models.likelihood import Categorical

SMALL = dict(latent_dim=4, hidden=(48,), embed_dim=24, vocab_size=300, max_tokens=40)


@pytest.fixture(scope="module")
def corpus():
    texts, y = latentlab.load_text_corpus()
    order = np.random.default_rng(0).permutation(len(texts))
    short = [i for i in order if len(texts[i]) <= 70]  # short sentences keep the tests quick
    pick = lambda idx: ([texts[i] for i in idx], y[idx])  # noqa: E731
    return pick(short[:300]), pick(short[300:360])


@pytest.fixture(scope="module")
def fitted(corpus):
    torch.manual_seed(0)
    (tx, ty), _ = corpus
    vae = latentlab.TextVAE(**SMALL, kl_anneal_epochs=3, word_dropout=0.25)
    with _quiet():  # a tiny model may warn of collapse; the tests below check what it learned
        vae.fit(tx, ty, epochs=12, batch_size=32, lr=1e-2, patience=None, verbose=False)
    return vae


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


# ------------------------------------------------------------------ tokenizer
@pytest.mark.parametrize("kind", ["bpe", "char"])
def test_tokenizer_round_trip(corpus, kind):
    (tx, _), (vx, _) = corpus
    tok = TextTokenizer.train(tx, kind, vocab_size=400)
    extra = ["Ünïcode, tabs\tand  double  spaces survive.", "x"]  # bytes never seen in training
    for text, ids in zip(vx + extra, tok.encode(vx + extra)):
        assert UNK_ID not in ids
        assert tok.decode(ids) == text
    again = TextTokenizer.from_bytes(tok.to_bytes(), kind)
    assert again.encode(vx) == tok.encode(vx)
    if kind == "char":
        assert tok.vocab_size == 260  # 256 bytes and 4 special tokens
        assert len(tok.encode(["abc"])[0]) == 3


def test_token_array_pads_and_cuts():
    tok = TextTokenizer.train(["one two three", "four"], "char")
    arr = token_array(tok, ["one", "one two three"], 6)
    assert arr.shape == (2, 6)
    assert arr[0].tolist()[3:] == [EOS_ID, PAD_ID, PAD_ID]
    assert arr[1, -1] == EOS_ID and PAD_ID not in arr[1]  # cut, keeping the end token
    assert tok.decode(arr[1]) == "one t"


# ------------------------------------------------------------------ the loss
def test_categorical_loss_known_value_and_padding_ignored():
    v = 7
    logits = torch.randn(2, 5, v)
    x = torch.tensor([[4.0, 5.0, 3.0, 0.0, 0.0], [6.0, 3.0, 0.0, 0.0, 0.0]])
    mask = (x != PAD_ID).float()
    nll = Categorical().nll(logits, x, mask)
    logp = torch.log_softmax(logits, -1)
    expected = torch.stack([-(logp[0, 0, 4] + logp[0, 1, 5] + logp[0, 2, 3]), -(logp[1, 0, 6] + logp[1, 1, 3])])
    assert torch.allclose(nll, expected, atol=1e-5)
    changed = logits.clone()
    changed[0, 3:] = 100 * torch.randn(2, v)  # what the decoder says at padded positions does not count
    changed[1, 2:] = -50.0
    assert torch.allclose(Categorical().nll(changed, x, mask), nll, atol=1e-5)
    uniform = Categorical().nll(torch.zeros(2, 5, v), x, mask)
    assert torch.allclose(uniform, torch.tensor([3 * math.log(v), 2 * math.log(v)]))


@pytest.mark.slow
def test_model_nll_ignores_padding_length(fitted):
    """The same text padded to two lengths gets the same code and the same NLL."""
    vae = fitted.eval()
    ids = torch.from_numpy(vae.token_ids(["The value is returned."]).astype(np.float32))
    longer = torch.cat([ids, torch.zeros(1, 9)], dim=1)
    y = torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        z = vae.posterior(ids, y).mean
        assert torch.allclose(vae.posterior(longer, y).mean, z, atol=1e-6)
        a = vae.decoded_nll(z, latentlab.data.tensors.Batch(ids, y))
        b = vae.decoded_nll(z, latentlab.data.tensors.Batch(longer, y))
    assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.slow
def test_word_dropout_replaces_tokens_only_in_training(fitted):
    vae = fitted
    x = torch.from_numpy(vae.token_ids(["The value is returned and the loop ends."] * 200).astype(np.float32))
    vae.train()
    try:
        inputs = vae.decoder_inputs(x)
    finally:
        vae.eval()
    real = (x[:, :-1] != PAD_ID).sum().item()
    dropped = (inputs == UNK_ID).float().sum().item() / real
    assert abs(dropped - vae.config.word_dropout) < 0.03
    assert (inputs[:, 0] == 2).all() and ((inputs[:, 1:] == PAD_ID) == (x[:, :-1] == PAD_ID)).all()
    assert (vae.decoder_inputs(x) != UNK_ID).all()  # evaluation: no dropout


# ------------------------------------------------------------------ learning
@pytest.mark.slow
def test_it_learns_beats_unigram_on_held_out(corpus, fitted):
    (tx, _), (vx, vy) = corpus
    vae = fitted
    ids = [row[row != PAD_ID].tolist() for row in vae.token_ids(tx)]
    counts = Counter(t for row in ids for t in row)
    total, v = sum(counts.values()), vae.config.vocab_size
    held = [row[row != PAD_ID].tolist() for row in vae.token_ids(vx)]
    unigram = -sum(math.log((counts[t] + 1) / (total + v)) for row in held for t in row)  # add-one smoothed
    ll = vae.log_likelihood(vx, vy, k=10)
    n_tok = vae.token_counts(vx).sum()
    assert n_tok == sum(len(r) for r in held)
    assert -ll.sum() / n_tok < 0.92 * unigram / n_tok  # 0.86 when this was written
    assert vae.history[-1]["val_loss"] < vae.history[0]["val_loss"]
    assert vae.perplexity(vx, vy, k=10) == pytest.approx(math.exp(-ll.sum() / n_tok), rel=1e-6)
    assert "active_units" in vae.metrics


@pytest.mark.slow
def test_outputs_are_texts_and_conditioning(fitted, corpus):
    (tx, ty), _ = corpus
    vae = fitted
    assert vae.config.n_classes == 2 and vae.config.vocab_size == vae.tokenizer.vocab_size
    s = vae.sample(4, y=1, seed=3)
    assert len(s) == 4 and all(isinstance(t, str) for t in s)
    assert vae.sample(4, y=1, seed=3) == s
    assert len(set(vae.sample(6, y=0, seed=0, temperature=1.0))) > 1
    rec = vae.reconstruct(tx[:3], ty[:3])
    assert len(rec) == 3 and all(isinstance(t, str) for t in rec)
    path = vae.interpolate(tx[0], tx[1], steps=5, y=0)
    assert len(path) == 5 and all(isinstance(t, str) for t in path)
    assert vae.encode(tx[:3], ty[:3]).shape == (3, 4)
    with pytest.raises(DataError, match="conditional"):
        vae.sample(2)


@pytest.mark.slow
def test_save_load_identical(tmp_path, fitted, corpus):
    (tx, ty), _ = corpus
    fitted.save(tmp_path / "run")
    assert (tmp_path / "run" / "tokenizer.json").is_file()
    again = latentlab.load(tmp_path / "run")
    assert isinstance(again, latentlab.TextVAE)
    assert again.sample(5, y=0, seed=7) == fitted.sample(5, y=0, seed=7)
    assert again.sample(5, y=1, seed=7, temperature=0.8) == fitted.sample(5, y=1, seed=7, temperature=0.8)
    np.testing.assert_array_equal(again.encode(tx[:5], ty[:5]), fitted.encode(tx[:5], ty[:5]))
    np.testing.assert_array_equal(again.log_likelihood(tx[:3], ty[:3], k=4), fitted.log_likelihood(tx[:3], ty[:3], k=4))


@pytest.mark.slow
def test_text_autoencoder_learns_and_round_trips(tmp_path, corpus):
    (tx, _), (vx, _) = corpus
    torch.manual_seed(0)
    ae = latentlab.TextAutoencoder(**SMALL).fit(tx[:200], epochs=3, batch_size=32, lr=5e-3, verbose=False)
    assert ae.history[-1]["val_loss"] < ae.history[0]["val_loss"]
    ae.save(tmp_path / "ae")
    again = latentlab.load(tmp_path / "ae")
    assert again.sample(3, seed=1) == ae.sample(3, seed=1)
    assert again.reconstruct(vx[:3]) == ae.reconstruct(vx[:3])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "texts, error, match",
    [
        (["a fine text", ""], DataError, r"X\[1\] is empty"),
        (["a fine text", "   "], DataError, "empty"),
        (["a fine text", 3], DataTypeError, "not a string"),
        (["a fine text", None], DataTypeError, "not a string"),
        ("one string", DataTypeError, "one string"),
        (["only one"], DataError, "at least 2"),
        (5, DataTypeError, "list of strings"),
    ],
)
def test_bad_texts(texts, error, match):
    with pytest.raises(error, match=match):
        latentlab.TextVAE(**SMALL).fit(texts, epochs=1, verbose=False)


def test_empty_vocabulary_refused():
    with pytest.raises(DataError, match="empty"):
        TextTokenizer.train(["", "  "])


@pytest.mark.slow
def test_bad_inputs_to_a_fitted_model(fitted):
    with pytest.raises(DataTypeError, match="not a string"):
        fitted.encode(["fine", 1.5], [0, 0])
    with pytest.raises(DataError, match="empty"):
        fitted.reconstruct([""], [0])
    with pytest.raises(ConfigError, match="temperature"):
        fitted.sample(2, y=0, temperature=-1.0)
    with pytest.raises(ConfigError, match="codes"):
        fitted.decode(np.zeros((2, 3)), [0, 0])
    with pytest.raises(ConfigError, match="one text"):
        fitted.interpolate(["a"], "b", y=0)


def test_bad_configs():
    with pytest.raises(ConfigError, match="word_dropout"):
        latentlab.TextVAE(word_dropout=1.5)
    with pytest.raises(ConfigError, match="tokenizer"):
        latentlab.TextVAE(tokenizer="words")
    with pytest.raises(ConfigError, match="categorical"):
        latentlab.VAE(likelihood="categorical")
    with pytest.raises(ConfigError, match="vamp"):
        latentlab.TextVAE(prior="vamp")


def test_loaders(tmp_path):
    txt = tmp_path / "t.txt"
    txt.write_text("first line\n\nsecond line\n", encoding="utf-8")
    assert load_texts(txt) == (["first line", "second line"], None)
    csv = tmp_path / "t.csv"
    csv.write_text('text,mood\n"hello, world",happy\nbye,sad\nhi,happy\n', encoding="utf-8")
    texts, y = load_texts(csv, label_column="mood")
    assert texts == ["hello, world", "bye", "hi"] and y.tolist() == [0, 1, 0]
    with pytest.raises(DataError, match="no label column"):
        load_texts(csv, label_column="colour")
    with pytest.raises(DataError, match="no text column"):
        load_texts(csv, text_column="body")
    (tmp_path / "e.csv").write_text("text,mood\n,happy\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        load_texts(tmp_path / "e.csv")
    (tmp_path / "blank.txt").write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataError, match="no text"):
        load_texts(tmp_path / "blank.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(DataError, match="UTF-8"):
        load_texts(tmp_path / "bin.txt")
    with pytest.raises(DataError, match="does not exist"):
        load_texts(tmp_path / "missing.txt")
    with pytest.raises(DataError, match="labels"):
        load_texts(txt, label_column="mood")


@pytest.mark.slow
def test_corrupt_or_missing_tokenizer_file(tmp_path, fitted):
    fitted.save(tmp_path / "run")
    tok = tmp_path / "run" / "tokenizer.json"
    tok.write_text("{not json")
    with pytest.raises(ModelFileError, match="not a tokenizer"):
        latentlab.load(tmp_path / "run")
    doc = json.loads(fitted.tokenizer.to_bytes())
    doc["added_tokens"] = []
    doc["model"]["vocab"] = {k: v for k, v in doc["model"]["vocab"].items() if v > 3}
    tok.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="reserve"):
        latentlab.load(tmp_path / "run")
    tok.unlink()
    with pytest.raises(ModelFileError, match="missing"):
        latentlab.load(tmp_path / "run")


# ------------------------------------------------------------------ command line
@pytest.mark.slow
def test_cli_train_sample_interpolate(tmp_path, corpus, capsys):
    from latentlab.cli import main

    (tx, _), _ = corpus
    data = tmp_path / "texts.txt"
    data.write_text("\n".join(tx[:120]) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    opts = ["--latent-dim", "4", "--hidden", "32", "--embed-dim", "16", "--vocab-size", "280", "--epochs", "2"]
    assert main(["train", "--family", "text_vae", "--data", str(data), "--out", str(out), *opts, "--verbose", "false"]) == 0
    assert "trained text_vae on 120 texts" in capsys.readouterr().out
    assert main(["sample", str(out), "-n", "4", "--seed", "1"]) == 0
    lines = capsys.readouterr().out.split("\n")[:-1]
    assert lines == [" ".join(t.splitlines()) for t in latentlab.load(out).sample(4, seed=1)]
    assert main(["interpolate", str(out), "--from", tx[0], "--to", tx[1], "--steps", "3"]) == 0
    assert len(capsys.readouterr().out.split("\n")[:-1]) == 3
    assert main(["interpolate", str(out), "--from", tx[0]]) == 2
    assert "--to" in capsys.readouterr().err
