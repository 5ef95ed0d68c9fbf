"""Text models on the command line: array data sets and array outputs are refused, texts are written as text."""

from __future__ import annotations

import pytest

import latentlab
from latentlab.cli import main

TEXTS = ["the cat sat on the mat.", "a dog ran in the park.", "the dog sat.", "a cat ran home."] * 6


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "run"
    vae = latentlab.TextVAE(latent_dim=2, hidden=(16,), embed_dim=8, vocab_size=270)
    vae.fit(TEXTS, epochs=1, verbose=False, seed=0).save(path)
    return path


def _fails(capsys, argv, match):
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert match in err, err


def test_text_families_refuse_the_digits_data_set(run, tmp_path, capsys):
    _fails(capsys, ["train", "--family", "text_vae", "--data", "digits", "--epochs", "1", "--out", tmp_path / "r"],
           "--data digits is an array data set")
    _fails(capsys, ["train", "--family", "text_ae", "--epochs", "1", "--out", tmp_path / "r"],  # digits by default
           "give a text model a .txt file")
    _fails(capsys, ["evaluate", run, "--data", "digits", "--out", tmp_path / "e"], "--data digits is an array")
    assert not (tmp_path / "r").exists() and not (tmp_path / "e").exists()


def test_sample_and_interpolate_write_texts_to_a_txt_file_or_refuse(run, tmp_path, capsys):
    for argv in (["sample", run, "-n", "3"], ["interpolate", run, "--from", "a cat", "--to", "a dog", "--steps", "3"]):
        _fails(capsys, [*argv, "--out", tmp_path / "s.png"], "a text model's output is texts")
        assert not (tmp_path / "s.png").exists()
        assert main([str(a) for a in argv] + ["--out", str(tmp_path / "s.txt")]) == 0
        assert "one a line" in capsys.readouterr().out
        assert len((tmp_path / "s.txt").read_text(encoding="utf-8").splitlines()) == 3


def test_generate_on_a_text_model_points_to_sample(run, tmp_path, capsys):
    _fails(capsys, ["generate", run, "-n", "3", "--out", tmp_path / "g.npy"], "is a text model: its samples are texts")
    assert not (tmp_path / "g.npy").exists()
