"""A text model's tokenizer.json is bound to its weights by a SHA-256 in config.json, and a hostile one is an error."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

import latentlab
from latentlab.data import text as text_data
from latentlab.data.text import TextTokenizer
from latentlab.errors import ModelFileError

TEXTS = ["the cat sat on the mat.", "a dog ran in the park.", "the dog sat.", "a cat ran home."] * 6
OTHER = ["zebras graze quietly.", "quiet zebras graze.", "green hills roll.", "hills roll on."] * 6


def _fit(texts, tokenizer="bpe"):
    m = latentlab.TextAutoencoder(latent_dim=2, hidden=(16,), embed_dim=8, vocab_size=270, tokenizer=tokenizer)
    return m.fit(texts, epochs=1, verbose=False, seed=0)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Two models with BPE tokenizers of the same size learned on different texts, saved side by side."""
    root = tmp_path_factory.mktemp("tok")
    a, b = _fit(TEXTS), _fit(OTHER)
    a.save(root / "a")
    b.save(root / "b")
    return root, a, b


@pytest.fixture
def run(saved, tmp_path):
    root, a, _ = saved
    shutil.copytree(root / "a", tmp_path / "a")
    return tmp_path / "a", a


def _config(folder):
    return json.loads((folder / "config.json").read_text())


def test_config_records_the_tokenizers_sha256(saved):
    root, a, _ = saved
    digest = hashlib.sha256((root / "a" / "tokenizer.json").read_bytes()).hexdigest()
    assert _config(root / "a")["config"]["tokenizer_sha256"] == digest == a.config.tokenizer_sha256
    back = latentlab.load(root / "a")
    assert back.config.tokenizer_sha256 == digest
    assert back.reconstruct(TEXTS[:2]) == a.reconstruct(TEXTS[:2])


def test_another_models_tokenizer_of_the_same_size_is_refused(saved, run):
    root, _, b = saved
    folder, a = run
    assert a.tokenizer.vocab_size == b.tokenizer.vocab_size  # the size check alone would pass it
    shutil.copy(root / "b" / "tokenizer.json", folder / "tokenizer.json")
    with pytest.raises(ModelFileError, match="tokenizer.json does not belong to these weights"):
        latentlab.load(folder)


def _edit_tokenizer(folder, edit):
    doc = json.loads((folder / "tokenizer.json").read_text())
    edit(doc)
    (folder / "tokenizer.json").write_text(json.dumps(doc))


def _permute(doc):
    vocab = doc["model"]["vocab"]
    first, second = sorted(vocab, key=vocab.get)[10:12]
    vocab[first], vocab[second] = vocab[second], vocab[first]


def test_permuted_ids_are_refused(run):
    folder, _ = run
    _edit_tokenizer(folder, _permute)
    TextTokenizer.from_bytes((folder / "tokenizer.json").read_bytes(), "bpe")  # a valid tokenizer on its own
    with pytest.raises(ModelFileError, match="does not belong to these weights"):
        latentlab.load(folder)


def test_another_normaliser_is_refused_even_without_a_recorded_hash(run):
    folder, _ = run
    _edit_tokenizer(folder, lambda d: d.update(normalizer={"type": "Lowercase"}))
    with pytest.raises(ModelFileError, match="normalizer Lowercase"):
        latentlab.load(folder)
    doc = _config(folder)
    del doc["config"]["tokenizer_sha256"]  # as an earlier version wrote it
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="not a tokenizer latentlab writes"):
        latentlab.load(folder)


def test_folders_without_the_hash_still_load_and_get_it_when_saved_again(run, tmp_path):
    folder, a = run
    doc = _config(folder)
    del doc["config"]["tokenizer_sha256"]
    (folder / "config.json").write_text(json.dumps(doc))
    old = latentlab.load(folder)
    assert old.config.tokenizer_sha256 is None
    assert old.reconstruct(TEXTS[:3]) == a.reconstruct(TEXTS[:3])
    old.save(tmp_path / "again")
    assert _config(tmp_path / "again")["config"]["tokenizer_sha256"] == a.config.tokenizer_sha256
    _edit_tokenizer(tmp_path / "again", _permute)
    with pytest.raises(ModelFileError, match="does not belong"):
        latentlab.load(tmp_path / "again")


@pytest.mark.parametrize("value", [5, ["x"], "xyz", "0" * 64])
def test_an_edited_recorded_hash_is_refused(run, value):
    folder, _ = run
    doc = _config(folder)
    doc["config"]["tokenizer_sha256"] = value
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="does not belong to these weights"):
        latentlab.load(folder)


def test_a_hash_given_by_hand_is_replaced_by_the_real_one():
    m = latentlab.TextAutoencoder(latent_dim=2, hidden=(16,), embed_dim=8, vocab_size=270, tokenizer_sha256="0" * 64)
    m.fit(TEXTS, epochs=1, verbose=False, seed=0)
    assert m.config.tokenizer_sha256 == hashlib.sha256(m.tokenizer.to_bytes()).hexdigest()


# ------------------------------------------------------------------ panics of the tokenizers library
PANICS = {  # each of these made the library panic (a BaseException) when parsed or used
    "precompiled normaliser": lambda d: d.update(normalizer={"type": "Precompiled", "precompiled_charsmap": "AAAA"}),
    "zero-length pre-tokenizer": lambda d: d.update(pre_tokenizer={"type": "FixedLength", "length": 0}),
    "stride beyond truncation": lambda d: d.update(
        truncation={"direction": "Right", "max_length": 2, "strategy": "LongestFirst", "stride": 5}),
    "template of a missing token": lambda d: d.update(post_processor={
        "type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[X]", "type_id": 0}}], "pair": [],
        "special_tokens": {}}),
}


@pytest.mark.parametrize("name", list(PANICS))
def test_a_tampered_tokenizer_is_a_latentlab_error_not_a_panic(run, name):
    folder, _ = run
    _edit_tokenizer(folder, PANICS[name])
    with pytest.raises(ModelFileError):
        latentlab.load(folder)


@pytest.mark.parametrize("name", list(PANICS))
def test_panics_are_caught_where_the_tokenizer_is_parsed_and_used(run, monkeypatch, name):
    """Past the shape check (switched off here), a panic still comes out as a ModelFileError."""
    folder, a = run
    monkeypatch.setattr(text_data, "_check_shape", lambda doc, where: None)
    doc = json.loads(a.tokenizer.to_bytes())
    PANICS[name](doc)
    try:
        tok = TextTokenizer.from_bytes(json.dumps(doc).encode(), "bpe")
    except ModelFileError as exc:
        assert "crashed" in str(exc) or "not a tokenizer" in str(exc)
        return
    with pytest.raises(ModelFileError, match="crashed"):
        tok.encode(["the cat sat on the mat."])
