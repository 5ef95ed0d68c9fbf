"""The command line, end to end on digits: train, evaluate, sample, info, demo, --help."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import latentlab
from latentlab.cli import main


@pytest.mark.slow
def test_train_evaluate_sample_info(tmp_path, capsys):
    run = tmp_path / "run"
    rc = main(
        [
            "train",
            "--family",
            "ae",
            "--data",
            "digits",
            "--latent-dim",
            "3",
            "--hidden",
            "32",
            "--epochs",
            "3",
            "--verbose",
            "false",
            "--out",
            str(run),
        ]
    )
    assert rc == 0
    model = latentlab.load(run)
    assert model.config.latent_dim == 3 and model.config.hidden == (32,)
    assert len(model.history) == 3
    assert main(["evaluate", str(run), "--data", "digits"]) == 0
    metrics = json.loads(capsys.readouterr().out.split("saved to")[-1].split("\n", 1)[1])
    assert 0 < metrics["mse"] < 0.2
    assert main(["sample", str(run), "-n", "5", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (5, 64)
    assert main(["info"]) == 0
    assert "vae" in capsys.readouterr().out


def test_train_reads_csv_with_a_label_column(tmp_path):
    X, y = latentlab.load_digits()
    import pandas as pd

    df = pd.DataFrame(X[:300], columns=[f"p{i}" for i in range(64)])
    df["digit"] = y[:300]
    df.to_csv(tmp_path / "d.csv", index=False)
    rc = main(
        [
            "train",
            "--family",
            "vae",
            "--data",
            str(tmp_path / "d.csv"),
            "--label-column",
            "digit",
            "--beta",
            "2",
            "--epochs",
            "2",
            "--verbose",
            "false",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert rc == 0
    assert latentlab.load(tmp_path / "r").config.beta == 2.0


def test_options_of_another_family_are_refused(tmp_path, capsys):
    rc = main(["train", "--family", "ae", "--beta", "2", "--epochs", "1", "--out", str(tmp_path / "r")])
    assert rc == 2
    assert "--beta" in capsys.readouterr().err


def test_unknown_family_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--family", "nope", "--out", str(tmp_path / "r")]) == 2
    assert "unknown family 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_writes_model_metrics_and_figures(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--epochs", "3", "--quiet"]) == 0
    names = {p.name for p in (tmp_path / "demo").iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "metrics.json",
        "reconstructions.png",
        "latent_scatter.png",
        "latent_grid.png",
        "samples.png",
        "interpolation.png",
        "loss_curves.png",
    } <= names
    assert latentlab.load(tmp_path / "demo").config.latent_dim == 2


@pytest.mark.slow
@pytest.mark.parametrize("command", ["train", "evaluate", "sample", "info", "demo"])
def test_every_command_has_help(command):
    out = subprocess.run([sys.executable, "-m", "latentlab", command, "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage" in out.stdout


@pytest.mark.slow
def test_help_imports_scikit_learn_only_for_the_commands_that_need_it():
    probe = (
        "import sys\n"
        "from latentlab.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('SKLEARN', 'sklearn' in sys.modules)\n"
    )
    train = subprocess.run([sys.executable, "-c", probe, "train", "--help"], capture_output=True, text=True)
    assert "--latent-dim" in train.stdout and "SKLEARN False" in train.stdout
    detect = subprocess.run([sys.executable, "-c", probe, "detect", "--help"], capture_output=True, text=True)
    assert "--contamination" in detect.stdout and "SKLEARN True" in detect.stdout
    top = subprocess.run([sys.executable, "-m", "latentlab", "--help"], capture_output=True, text=True)
    assert "detect" in top.stdout and "impute" in top.stdout
