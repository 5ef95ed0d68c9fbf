"""Help texts that say what the defaults mean (issue 37)."""

from __future__ import annotations

import re

from latentlab.cli import main


def _help(capsys, command: str) -> str:
    try:
        main([command, "--help"])
    except SystemExit as exc:  # argparse's --help exits 0; `train --help` returns after its family's defaults
        assert exc.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines: compare words


def test_detect_series_auto_normalisation_names_the_dickey_fuller_test(capsys):
    text = _help(capsys, "detect-series")
    assert "from the data's size" not in text
    assert re.search(r"auto \(default: centre when an augmented Dickey-Fuller test", text)
    assert "heldout" in text and "fewer false alarms" in text


def test_train_epochs_says_what_none_means(capsys):
    text = _help(capsys, "train")
    assert "(default: None)" not in text
    assert "--epochs INT (default: none: train until early stopping" in text
    assert "--grad-clip FLOAT (default: none: no gradient clipping)" in text


def test_train_denoiser_options_are_documented_with_defaults(capsys):
    text = _help(capsys, "train-denoiser")
    for option, default in [("--epochs N", "30"), ("--patch-size PX", "48"), ("--patches-per-epoch N", "2048"),
                            ("--seed SEED", "0")]:
        assert re.search(re.escape(option) + r" [^()]*\(default " + default + r"\)", text), option
    assert "VERBOSE" not in text
