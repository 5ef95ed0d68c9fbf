"""Errors that name the problem: wrong plot suffixes, folders for files, missing or edited checkpoints, bad numbers."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

import latentlab
from latentlab.cli import main
from latentlab.errors import ModelFileError
from latentlab.training import Checkpoint

QUICK = ["--epochs", "3", "--hidden", "8", "--window", "10", "--recurrent-epochs", "1", "--recurrent-hidden", "4"]


@pytest.fixture(scope="module")
def series_csv(tmp_path_factory):
    """A periodic series scaled by 1e250, with a spike at step 250."""
    t = np.arange(300)
    x = np.sin(2 * np.pi * t / 10) + 0.05 * np.random.default_rng(0).standard_normal(300)
    x[250] += 3.0
    path = tmp_path_factory.mktemp("series") / "s.csv"
    pd.DataFrame({"v": x * 1e250}).to_csv(path, index=False)
    return path


def test_detect_series_refuses_a_plot_suffix_it_cannot_write_before_any_work(series_csv, tmp_path, capsys):
    out, plot = tmp_path / "o.csv", tmp_path / "p.txt"
    assert main(["detect-series", str(series_csv), "--out", str(out), "--plot", str(plot), *QUICK]) == 2
    err = capsys.readouterr().err
    assert "p.txt" in err and ".png" in err and ".svg" in err
    assert not plot.exists() and not out.exists()  # refused before fitting: nothing written


def test_detect_series_writes_the_format_the_suffix_names_and_finds_a_spike_at_1e250(series_csv, tmp_path):
    out, plot = tmp_path / "o.csv", tmp_path / "p.svg"
    assert main(["detect-series", str(series_csv), "--out", str(out), "--plot", str(plot), *QUICK]) == 0
    assert plot.read_bytes().lstrip().startswith((b"<?xml", b"<svg"))
    scored = pd.read_csv(out)
    assert scored["anomaly"].iloc[250] == 1 and int(scored["score"].idxmax()) == 250


@pytest.mark.parametrize("argv", [
    ["detect-series", "{d}"],
    ["decompress", "{d}", "{d}", "{d}/out.npy"],
])
def test_a_folder_given_for_a_file_is_called_a_folder(tmp_path, capsys, argv):
    assert main([a.format(d=tmp_path) for a in argv]) != 0
    err = capsys.readouterr().err
    assert "is a folder" in err and "does not exist" not in err


def test_epochs_that_are_not_a_number_are_a_one_line_exit_2(capsys):
    # Exit 2 as argparse's own errors; one line naming the option and the value, as every option value the
    # parameter tables refuse (tests/integration/test_bad_input.py), not a traceback.
    assert main(["detect", "digits", "--epochs", "abc"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("latentlab detect: error: epochs='abc' must be an integer")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


X = np.random.default_rng(0).random((64, 4)).astype("float32")


def test_resume_from_a_missing_file_says_the_checkpoint_does_not_exist(tmp_path):
    with pytest.raises(ModelFileError, match="checkpoint .*nope.safetensors does not exist") as exc:
        latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=1, verbose=False,
                                                             resume=tmp_path / "nope.safetensors")
    assert "incomplete" not in str(exc.value)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "ckpt.safetensors"
    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=2, verbose=False, callbacks=[Checkpoint(path)])
    return path


def _edit_optimizer(src, dst, edit) -> None:
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(src), "pt") as f:
        meta = f.metadata()
    doc = json.loads(meta["state"])
    doc["trainer"]["optimizer"] = edit(copy.deepcopy(doc["trainer"]["optimizer"]))
    save_file(load_file(str(src)), str(dst), metadata={**meta, "state": json.dumps(doc)})


@pytest.mark.parametrize("edit", [
    lambda o: {**o, "state": 5},  # torch raised AttributeError
    lambda o: {**o, "param_groups": [5]},
    lambda o: {**o, "param_groups": [{**o["param_groups"][0], "params": [0]}]},
    lambda o: {**o, "state": {"0": {"step": 1.0}}},  # torch dropped it silently, resetting the moments
    lambda o: {"x": 1},
])
def test_a_malformed_optimizer_state_is_a_clear_model_file_error(checkpoint, tmp_path, edit):
    bad = tmp_path / "bad.safetensors"
    _edit_optimizer(checkpoint, bad, edit)
    with pytest.raises(ModelFileError, match="optimizer state is malformed"):
        latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=3, verbose=False, resume=bad)


def test_an_intact_checkpoint_still_resumes(checkpoint):
    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=3, verbose=False, resume=checkpoint)
    assert [h["epoch"] for h in model.history][-1] == 2  # epochs 0-1 from the file, epoch 2 trained now


def test_a_1e300_value_is_the_most_abnormal_row_not_an_inf_error():
    det = latentlab.AutoencoderOutlierDetector(epochs=1, hidden=(8,), latent_dim=2).fit(X.astype(np.float64))
    Y = X[:5].astype(np.float64)
    Y[2, 1] = 1e300  # before: "contains 1 inf value(s) ... AutoencoderImputer fills NaNs"
    scores = det.score_samples(Y)
    assert np.isfinite(scores).all() and int(np.argmin(scores)) == 2 and det.predict(Y)[2] == -1
