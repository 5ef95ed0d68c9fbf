"""`evaluate` scores data the run did not train on, and says which data it scored."""

from __future__ import annotations

import json

import numpy as np
import pytest

import latentlab
from latentlab.apps.datasplit import evaluation_data, training_split
from latentlab.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("honest") / "run"
    argv = ["train", "--family", "ae", "--hidden", "32", "--latent-dim", "4", "--epochs", "8", "--verbose", "false",
            "--out", str(out)]
    assert main(argv) == 0
    return out


def _evaluate(capsys, *argv):
    assert main(["evaluate", *argv, "--k", "2"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


@pytest.mark.slow
def test_train_records_the_split_and_holds_out_a_quarter_of_digits(run):
    record = json.loads((run / "metrics.json").read_text())["data_split"]
    assert record["data"] == "digits" and record["held_out"] == "fraction"
    assert (record["n_train"], record["n_test"]) == (1347, 450)
    X_train, X_test, _, _ = latentlab.load_digits(split=True)  # the split the Python API documents
    split = training_split("digits")
    np.testing.assert_array_equal(split.X, X_train)
    np.testing.assert_array_equal(split.X_test, X_test)


@pytest.mark.slow
def test_evaluate_digits_scores_the_held_out_part_and_says_so(run, capsys):
    metrics_file = json.loads((run / "metrics.json").read_text())
    held, err = _evaluate(capsys, str(run), "--data", "digits", "--out", str(run / "held"))
    assert held["mse"] == pytest.approx(metrics_file["test_mse"], rel=1e-5)
    assert held["mse"] != pytest.approx(metrics_file["train_mse"], rel=1e-3)  # not the training MSE
    assert "450 samples of digits" in err
    report = (run / "held" / "report.md").read_text()
    assert "Scored on held-out data" in report and "450 samples of digits" in report
    assert json.loads((run / "held" / "evaluation.json").read_text())["data"]["split"] == "held-out"

    train, err = _evaluate(capsys, str(run), "--data", "digits", "--on-training-data", "--out", str(run / "train"))
    assert train["mse"] == pytest.approx(metrics_file["train_mse"], rel=1e-5)
    assert train["mse"] < held["mse"]  # the optimistic number is the one on training rows
    assert "training data (optimistic)" in (run / "train" / "report.md").read_text()
    assert "1347 samples" in err


@pytest.mark.slow
def test_a_file_trained_on_in_full_needs_the_flag(tmp_path, capsys):
    X, _ = latentlab.load_digits()
    np.save(tmp_path / "x.npy", X[:400])
    np.save(tmp_path / "copy.npy", X[:400])  # the same rows under another name are still training data
    run = tmp_path / "run"
    assert main(["train", "--family", "ae", "--hidden", "8", "--epochs", "1", "--verbose", "false",
                 "--data", str(tmp_path / "x.npy"), "--out", str(run)]) == 0
    capsys.readouterr()
    for data in ("x.npy", "copy.npy"):
        assert main(["evaluate", str(run), "--data", str(tmp_path / data)]) == 2
        assert "none are held out" in capsys.readouterr().err
    other, err = _evaluate(capsys, str(run), "--data", "digits", "--out", str(tmp_path / "o"))
    assert "not the data this run was trained on" in err


@pytest.mark.slow
def test_test_fraction_holds_out_part_of_a_file(tmp_path, capsys):
    X, _ = latentlab.load_digits()
    np.save(tmp_path / "x.npy", X[:400])
    run = tmp_path / "run"
    assert main(["train", "--family", "ae", "--hidden", "8", "--epochs", "1", "--verbose", "false",
                 "--data", str(tmp_path / "x.npy"), "--test-fraction", "0.2", "--out", str(run)]) == 0
    capsys.readouterr()
    metrics, err = _evaluate(capsys, str(run), "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "e"))
    assert "80 samples" in err
    assert main(["train", "--family", "ae", "--data", "digits", "--test-fraction", "1.5", "--out", str(run)]) == 2


def test_runs_without_a_record_are_scored_whole_with_a_warning_in_the_report(digits, tmp_path):
    X, y = latentlab.load_digits()
    X_, y_, split, text = evaluation_data(None, "digits")
    assert split == "unknown" and len(X_) == len(X) and "optimistic" in text
