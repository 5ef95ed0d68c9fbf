"""Training loggers refuse, before the first epoch, what they would drop or fail on later."""

from __future__ import annotations

import numpy as np
import pytest

import latentlab
from latentlab.errors import ConfigError, DataError, DataTypeError, DataWarning
from latentlab.training.logs import CSVLogger, TensorBoardLogger

pytest.importorskip("tensorboard")


def _fit(X, logger, model=None, y=None):
    model = model or latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    return model.fit(X, y, epochs=1, verbose=False, seed=0, callbacks=[logger])


def test_images_of_the_wrong_width_are_refused_before_training(digits, tmp_path):
    X = digits[0][:100]
    with pytest.raises(DataError, match=r"shape \(63,\) a sample, but the model reads \(64,\)"):
        _fit(X, TensorBoardLogger(tmp_path / "tb", images=X[:4, :63]))
    assert not list((tmp_path / "tb").glob("events.*"))  # refused before the writer opened


def test_images_that_make_no_picture_are_named_in_a_warning(tmp_path):
    X = np.random.default_rng(0).random((64, 5)).astype(np.float32)
    with pytest.warns(DataWarning, match=r"shape \(5,\) a sample are not pictures"):
        _fit(X, TensorBoardLogger(tmp_path / "tb", images=X[:4]))


def test_nan_images_and_missing_labels_are_refused(digits, tmp_path):
    X, y = digits[0][:100], digits[2][:100]
    with pytest.raises(DataError, match="NaN or inf"):
        _fit(X, TensorBoardLogger(tmp_path / "a", images=np.full((4, 64), np.nan, np.float32)))
    cvae = latentlab.ConditionalVAE(latent_dim=2, hidden=(8,))
    with pytest.raises(DataError, match="conditional: give TensorBoardLogger labels"):
        _fit(X, TensorBoardLogger(tmp_path / "b", images=X[:4]), model=cvae, y=y)


def test_logger_arguments_are_checked_when_made(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="image_every=0"):
        TensorBoardLogger(tmp_path / "tb", image_every=0)
    with pytest.raises(ConfigError, match="log_dir .* is a file"):
        TensorBoardLogger(tmp_path / "file")
    with pytest.raises(DataTypeError, match="dtype <U1"):
        TensorBoardLogger(tmp_path / "tb", images=[["a"] * 64])
    with pytest.raises(ConfigError, match="is a folder; give a file name"):
        CSVLogger(tmp_path)
    with pytest.raises(ConfigError, match="is a file, so nothing can be written under it"):
        CSVLogger(tmp_path / "file" / "log.csv")
