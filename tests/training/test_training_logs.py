"""Training logs: a CSV row per epoch, TensorBoard event files a reader can parse, and the CLI flags."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import latentlab
from latentlab.cli import main
from latentlab.training.logs import CSVLogger, TensorBoardLogger


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_logger_writes_one_row_per_epoch_with_every_key(digits, tmp_path):
    X = digits[0][:300]
    path = tmp_path / "logs" / "train.csv"
    vae = latentlab.VAE(latent_dim=2, hidden=(16,)).fit(
        X, epochs=4, verbose=False, seed=0, validation_split=0.2, callbacks=[CSVLogger(path)]
    )
    rows = _rows(path)
    assert len(rows) == 4 == len(vae.history)
    assert list(rows[0]) == list(vae.history[0])  # every key of the epoch logs, in order
    assert {"loss", "reconstruction", "kl", "val_loss", "lr", "time"} <= set(rows[0])
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    np.testing.assert_allclose([float(r["loss"]) for r in rows], [h["loss"] for h in vae.history], rtol=1e-12)
    assert not list(path.parent.glob(".*.tmp"))  # written atomically, no temporaries left


def test_csv_logger_keeps_earlier_rows_when_resuming(tmp_path):
    from latentlab.training.checkpoint import Checkpoint

    X = np.random.default_rng(0).random((200, 8)).astype(np.float32)
    log, ckpt = tmp_path / "log.csv", tmp_path / "ckpt.safetensors"
    opts = dict(verbose=False, seed=0, batch_size=32)
    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(
        X, epochs=2, callbacks=[CSVLogger(log), Checkpoint(ckpt, 1)], **opts
    )
    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=4, callbacks=[CSVLogger(log)], resume=ckpt, **opts)
    assert [int(r["epoch"]) for r in _rows(log)] == [0, 1, 2, 3]


@pytest.mark.slow
def test_tensorboard_event_file_is_readable(digits, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    X = digits[0][:300]
    logger = TensorBoardLogger(tmp_path / "tb", images=X[:6], image_every=2)
    vae = latentlab.VAE(latent_dim=2, hidden=(16,)).fit(
        X, epochs=3, verbose=False, seed=0, validation_split=0.2, callbacks=[logger]
    )
    events = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert len(events) == 1
    acc = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/reconstruction", "train/kl", "val/loss", "lr", "time/epoch_seconds"} <= tags
    loss = acc.Scalars("train/loss")
    assert [e.step for e in loss] == [0, 1, 2]
    np.testing.assert_allclose([e.value for e in loss], [h["loss"] for h in vae.history], rtol=1e-6)
    assert [e.step for e in acc.Images("reconstructions")] == [0, 2]  # every 2nd epoch and the last


def test_tensorboard_logger_names_the_install_when_missing(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard") or name == "tensorboard":
            raise ImportError("No module named 'tensorboard'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        TensorBoardLogger("unused")


def test_cli_train_writes_csv_and_tensorboard_logs(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    run = tmp_path / "run"
    argv = ["train", "--family", "ae", "--hidden", "16", "--epochs", "2", "--verbose", "false", "--out", str(run),
            "--csv-log", str(tmp_path / "log.csv"), "--log-dir", str(tmp_path / "tb")]
    assert main(argv) == 0
    assert len(_rows(tmp_path / "log.csv")) == 2
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert json.loads((run / "metrics.json").read_text())["epochs_run"] == 2


def test_tensorboard_images_for_conditional_models_and_none_for_sequences(digits, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    X, y = digits[0][:200], digits[2][:200]
    cvae = latentlab.ConditionalVAE(latent_dim=2, hidden=(16,))
    cvae.fit(X, y, epochs=1, verbose=False, callbacks=[TensorBoardLogger(tmp_path / "c", images=X[:4], labels=y[:4])])
    seqs = np.random.default_rng(0).normal(size=(64, 6, 2)).astype(np.float32)
    seq = latentlab.SequenceAutoencoder(latent_dim=2, hidden=(8,))
    seq.fit(seqs, epochs=1, batch_size=16, verbose=False, callbacks=[TensorBoardLogger(tmp_path / "s", images=seqs[:4])])
    counts = {}
    for name in ("c", "s"):
        acc = EventAccumulator(str(tmp_path / name))
        acc.Reload()
        counts[name] = (len(acc.Tags()["images"]), "train/loss" in acc.Tags()["scalars"])
    assert counts == {"c": (1, True), "s": (0, True)}


def test_train_config_log_options_write_both_logs(tmp_path):
    pytest.importorskip("tensorboard")
    import numpy as np

    import latentlab

    X = np.random.default_rng(0).random((64, 6)).astype("float32")
    ae = latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    ae.fit(X, epochs=3, batch_size=16, verbose=False, log_dir=tmp_path / "tb", csv_log=str(tmp_path / "log.csv"))
    rows = (tmp_path / "log.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3  # header and one row per epoch
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").rglob("*"))
    assert ae.train_config.log_dir == str(tmp_path / "tb")  # saved as plain JSON
    with pytest.raises(latentlab.ConfigError, match="csv_log"):
        latentlab.TrainConfig(csv_log=3)
