"""Job commands refuse bad input with a message, not a traceback or a silent substitute."""

from __future__ import annotations

import numpy as np
import pytest

import latentlab
from latentlab.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory, digits):
    path = tmp_path_factory.mktemp("run") / "ae"
    latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(digits[0], epochs=2, verbose=False).save(path)
    return path


def test_detect_with_wrong_width_fit_data_names_the_shape(run, digits, tmp_path, capsys):
    np.save(tmp_path / "ok.npy", digits[1][:50])
    np.save(tmp_path / "wide.npy", np.random.default_rng(0).random((50, 70)).astype("float32"))
    rc = main(["detect", str(tmp_path / "ok.npy"), "--run", str(run), "--fit", str(tmp_path / "wide.npy")])
    assert rc == 2
    assert "(50, 70)" in capsys.readouterr().err


def test_generate_refuses_an_empty_grid(run, capsys):
    assert main(["generate", str(run), "--grid", "0"]) == 2
    assert "n must be >= 1" in capsys.readouterr().err
