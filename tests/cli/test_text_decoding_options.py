"""`sample` and `interpolate` pass the text decoding options (top-p, the repetition guard...) to the model."""

from __future__ import annotations

import re
import warnings

import pytest

import latentlab
from latentlab.cli import main
from latentlab.models.text_decoding import NO_REPEAT_NGRAM

TEXTS = ["the cat sat on the mat.", "a dog ran in the park.", "the dog sat.", "a cat ran home."] * 6
OPTIONS = {"--temperature": "1.5", "--top-p": "0.8", "--no-repeat-ngram": "2", "--repetition-penalty": "1.3"}
AS_PYTHON = dict(temperature=1.5, top_p=0.8, no_repeat_ngram=2, repetition_penalty=1.3)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "run"
    vae = latentlab.TextVAE(latent_dim=2, hidden=(16,), embed_dim=8, vocab_size=270)
    with warnings.catch_warnings():  # one epoch leaves the code unused: only the decoding options matter here
        warnings.simplefilter("ignore")
        vae.fit(TEXTS, epochs=1, verbose=False, seed=0).save(path)
    return path


def _help(capsys, command: str) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("command", ["sample", "interpolate"])
def test_help_lists_the_decoding_options_with_the_library_defaults(capsys, command):
    text = _help(capsys, command)
    for flag in ("--temperature T", "--top-p P", "--beam K", "--guidance W", "--repetition-penalty R", "--seed"):
        assert flag in text, flag
    assert re.search(rf"--no-repeat-ngram N .*\(default {NO_REPEAT_NGRAM}; 0: no block\)", text)


@pytest.mark.slow
def test_sample_and_interpolate_pass_the_options_through(run, capsys):
    model = latentlab.load(run)
    flags = [x for kv in OPTIONS.items() for x in kv]
    assert main(["sample", str(run), "-n", "5", "--seed", "4", *flags]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [" ".join(t.splitlines()) for t in model.sample(5, seed=4, **AS_PYTHON)]
    assert printed != [" ".join(t.splitlines()) for t in model.sample(5, seed=4, temperature=1.5)]
    assert main(["interpolate", str(run), "--from", TEXTS[0], "--to", TEXTS[1], "--steps", "4", "--seed", "2",
                 *flags]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [" ".join(t.splitlines()) for t in model.interpolate(TEXTS[0], TEXTS[1], 4, seed=2,
                                                                               **AS_PYTHON)]
    assert main(["interpolate", str(run), "--from", TEXTS[0], "--to", TEXTS[1], "--steps", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == model.interpolate(TEXTS[0], TEXTS[1], 3)  # left out: the defaults


@pytest.mark.slow
def test_bad_decoding_options_are_refused_by_name(run, capsys):
    assert main(["sample", str(run), "-n", "2", "--top-p", "0.5"]) == 2
    assert "top_p=0.5 applies to sampling" in capsys.readouterr().err
    assert main(["interpolate", str(run), "--from", "a", "--to", "b", "--no-repeat-ngram", "-1"]) == 2
    assert "no_repeat_ngram=-1" in capsys.readouterr().err
