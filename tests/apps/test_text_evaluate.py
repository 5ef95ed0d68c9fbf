"""`latentlab evaluate` on a text model: the held-out split, NLL per token, bits per character, KL, active units."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import latentlab
from latentlab.apps.text_evaluation import split_texts, text_evaluation_data, text_metrics, text_split_record
from latentlab.cli import main
from latentlab.errors import ConfigError

OPTS = ["--latent-dim", "4", "--hidden", "32", "--embed-dim", "16", "--vocab-size", "280", "--epochs", "3"]


@pytest.fixture(scope="module")
def texts():
    all_texts, _ = latentlab.load_text_corpus()
    return [t for t in all_texts if len(t) <= 60][:150]


def test_split_record_finds_the_same_held_out_texts(texts):
    record = text_split_record("texts.txt", texts, 0.2)
    tr, _, te, _ = split_texts(texts, None, 0.2)
    assert (record["n_train"], record["n_test"]) == (len(tr), len(te)) == (120, 30)
    got, _, split, _ = text_evaluation_data(record, "copy.txt", list(texts), None)  # the same texts, renamed
    assert split == "held-out" and got == te and not set(got) & set(tr)
    _, _, split, _ = text_evaluation_data(record, "other.txt", texts[:50], None)
    assert split == "other"
    with pytest.raises(ConfigError, match="--test-fraction"):
        text_evaluation_data(text_split_record("texts.txt", texts, None), "texts.txt", texts, None)


@pytest.mark.slow
def test_cli_evaluate_text_model_on_its_held_out_texts(tmp_path, texts, capsys):
    data = tmp_path / "texts.txt"
    data.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    with warnings.catch_warnings():  # three epochs of a tiny model may warn of collapse
        warnings.simplefilter("ignore")
        assert main(["train", "--family", "text_vae", "--data", str(data), "--out", str(out), "--test-fraction", "0.2",
                     *OPTS, "--verbose", "false"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), "--data", str(data), "--k", "5"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "evaluation.json").read_text())
    assert printed["split"] == saved["data"]["split"] == "held-out" and saved["n_texts"] == 30
    model = latentlab.load(out)
    _, _, held, _ = split_texts(texts, None, 0.2)
    ll = model.log_likelihood(held, k=5)  # the same seed, the same draws
    n_tok = int(model.token_counts(held).sum())
    assert saved["nll_per_token"] == pytest.approx(-ll.sum() / n_tok, rel=1e-6)
    assert saved["bits_per_char"] == pytest.approx(-ll.sum() / sum(len(t) + 1 for t in held) / math.log(2), rel=1e-6)
    assert saved["perplexity"] == pytest.approx(math.exp(saved["nll_per_token"]), rel=1e-6)
    assert 0 < saved["nll_per_token"] < math.log(model.config.vocab_size) + 1  # better than near-uniform tokens
    assert saved["kl_per_text"] >= 0 and 0 <= saved["active_units"] <= 4 and 0 <= saved["exact_match"] <= 1
    assert "held-out" in (out / "report.md").read_text()
    assert main(["sample", str(out), "-n", "3", "--seed", "2", "--beam", "2"]) == 0
    assert capsys.readouterr().out.split("\n")[:-1] == [" ".join(t.splitlines()) for t in model.sample(3, seed=2, beam=2)]
    assert main(["sample", str(out), "-n", "3", "--guidance", "0.5"]) == 2  # guidance needs labels
    assert "guidance" in capsys.readouterr().err
    # the training texts only on request, and then said so
    assert main(["evaluate", str(out), "--data", str(data), "--k", "2", "--on-training-data", "--out",
                 str(tmp_path / "ev")]) == 0
    assert json.loads(capsys.readouterr().out)["n_texts"] == 120
    # a run trained on all of a file has nothing held out of it
    full = tmp_path / "full"
    assert main(["train", "--family", "text_ae", "--data", str(data), "--out", str(full), *OPTS[:-2], "--epochs", "1",
                 "--verbose", "false"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(full), "--data", str(data)]) == 2
    assert "--test-fraction" in capsys.readouterr().err


def test_text_metrics_of_an_autoencoder_have_no_likelihood(texts):
    ae = latentlab.TextAutoencoder(latent_dim=4, hidden=(32,), embed_dim=16, vocab_size=280)
    ae.fit(texts[:60], epochs=1, verbose=False)
    m = text_metrics(ae, texts[60:70], beam=2)
    assert m["n_texts"] == 10 and m["decoding_beam"] == 2 and "nll_per_token" not in m
    assert np.isfinite(m["exact_match"])
