"""Checkpoints: what they hold, when they are written, atomicity, and exact resumption."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import latentlab
from latentlab.errors import ConfigError, ModelFileError
from latentlab.models.resume import read_resume
from latentlab.training import Callback
from latentlab.training.checkpoint import (
    Checkpoint,
    load_checkpoint,
    pack,
    save_checkpoint,
    unpack,
)

FAST = dict(verbose=False, seed=0, batch_size=32, lr=3e-3)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(256, 3))
    return (z @ rng.normal(size=(3, 10)) + 0.1 * rng.normal(size=(256, 10))).astype(np.float32)


class Interrupt(Callback):
    """Raise at the end of epoch ``at``, as a crash would."""

    def __init__(self, at: int):
        self.at = at

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.at:
            raise KeyboardInterrupt


@pytest.mark.slow
@pytest.mark.parametrize("family", ["ae", "vae"])
def test_resume_is_exact(tmp_path, data, family):
    """A run interrupted after epoch 3 and resumed ends exactly where an uninterrupted run does."""
    path = tmp_path / "ckpt.safetensors"
    kw = dict(FAST, epochs=7, patience=3)
    make = lambda: latentlab.create(family, latent_dim=2, hidden=(16,))  # noqa: E731
    ref = make().fit(data, **kw)
    with pytest.raises(KeyboardInterrupt):
        make().fit(data, **kw, callbacks=[Checkpoint(path), Interrupt(at=3)])
    assert load_checkpoint(path).epoch == 4
    resumed = make().fit(data, **kw, callbacks=[Checkpoint(path)], resume=path)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in ref.history]
    np.testing.assert_array_equal(resumed.encode(data), ref.encode(data))
    assert load_checkpoint(path).epoch == len(ref.history)


def test_checkpoint_contents(tmp_path, data):
    path = tmp_path / "c.safetensors"
    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(
        data, **FAST, epochs=3, lr_schedule="plateau", callbacks=[Checkpoint(path)]
    )
    state = read_resume(path)  # the model it describes, rebuilt through the registry
    assert state.epoch == 3 and len(state.history) == 3
    assert state.config == model.config
    np.testing.assert_array_equal(state.scaler.offset_, model.scaler.offset_)
    opt = state.trainer_state["optimizer"]
    assert sorted(opt["state"]) == list(range(len(opt["param_groups"][0]["params"])))  # int keys survive
    assert isinstance(opt["param_groups"][0]["betas"], tuple)
    assert state.trainer_state["scheduler"]["best"] == pytest.approx(min(h["val_loss"] for h in model.history))
    assert set(state.trainer_state["rng"]) >= {"python", "numpy", "torch"}
    rebuilt = state.build_model()
    rebuilt.prior.fit(torch.zeros(2, 2))  # buffers aside, the networks are the trained ones
    np.testing.assert_allclose(rebuilt.encode(data), model.encode(data), atol=0)


def test_file_is_safetensors_with_json_metadata(tmp_path, data):
    """The resume state is pure safetensors + JSON: readable without torch.load or pickle."""
    from safetensors import safe_open

    path = tmp_path / "c.safetensors"
    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(data, **FAST, epochs=2, callbacks=[Checkpoint(path)])
    with safe_open(str(path), framework="np") as fh:
        meta = fh.metadata()
        keys = list(fh.keys())
    assert meta["format"] == "latentlab-checkpoint"
    assert '"epoch": 2' in meta["state"]
    assert any(k.startswith("model/") for k in keys) and any(k.startswith("s/") for k in keys)


def test_every_n_epochs_and_last(tmp_path, data):
    written = []

    class Spy(Checkpoint):
        def on_epoch_end(self, trainer, epoch, logs):
            before = self.last_saved_epoch
            super().on_epoch_end(trainer, epoch, logs)
            if self.last_saved_epoch != before:
                written.append(epoch)

    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(
        data, **FAST, epochs=7, patience=None, callbacks=[Spy(tmp_path / "c", every_epochs=3)]
    )
    assert written == [2, 5, 6]  # every third epoch, and the last


def test_every_seconds(tmp_path, data):
    written = []

    class Spy(Checkpoint):
        def on_epoch_end(self, trainer, epoch, logs):
            before = self.last_saved_epoch
            super().on_epoch_end(trainer, epoch, logs)
            written.append(self.last_saved_epoch != before)

    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    model.fit(data, **FAST, epochs=4, patience=None, callbacks=[Spy(tmp_path / "a", None, every_seconds=1e-9)])
    assert written == [True] * 4
    written.clear()
    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    model.fit(data, **FAST, epochs=4, patience=None, callbacks=[Spy(tmp_path / "b", None, every_seconds=1e6)])
    assert written == [False, False, False, True]


@pytest.mark.parametrize("bad", [dict(every_epochs=0), dict(every_epochs=-2), dict(every_seconds=0)])
def test_bad_cadence(tmp_path, bad):
    with pytest.raises(ConfigError):
        Checkpoint(tmp_path / "c", **bad)


def test_only_main_process_writes(tmp_path, data, monkeypatch):
    from latentlab.training import distributed

    monkeypatch.setattr(distributed, "is_main_process", lambda: False)
    path = tmp_path / "c.safetensors"
    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(data, **FAST, epochs=2, callbacks=[Checkpoint(path)])
    assert not path.exists()


def test_atomic_write_keeps_old_checkpoint_when_killed_mid_write(tmp_path, data, monkeypatch):
    """A failure between writing the temporary file and renaming it leaves the old checkpoint intact."""
    path = tmp_path / "c.safetensors"
    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,))

    class KeepTrainer(Callback):  # fit drops its trainer; keep it to write one more checkpoint
        def on_train_end(self, trainer):
            self.trainer = trainer

    kept = KeepTrainer()
    model.fit(data, **FAST, epochs=2, callbacks=[Checkpoint(path), kept])
    before = path.read_bytes()

    def dies(src, dst):
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", dies)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(kept.trainer, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


def test_stale_temporaries_are_cleared(tmp_path, data):
    path = tmp_path / "c.safetensors"
    stale = tmp_path / ".c.safetensors.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(data, **FAST, epochs=1, callbacks=[Checkpoint(path)])
    assert not stale.exists() and path.exists()


def test_checkpoint_mode_is_not_private(tmp_path, data):
    path = tmp_path / "c.safetensors"
    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(data, **FAST, epochs=1, callbacks=[Checkpoint(path)])
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_resume_refuses_a_different_model(tmp_path, data):
    path = tmp_path / "c.safetensors"
    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(data, **FAST, epochs=1, callbacks=[Checkpoint(path)])
    with pytest.raises(ConfigError, match="latent_dim"):
        latentlab.Autoencoder(latent_dim=3, hidden=(8,)).fit(data, **FAST, epochs=2, resume=path)
    with pytest.raises(ConfigError, match="Autoencoder"):
        latentlab.VAE(latent_dim=2, hidden=(8,)).fit(data, **FAST, epochs=2, resume=path)


def test_resume_warns_on_changed_training_options(tmp_path, data):
    path = tmp_path / "c.safetensors"
    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(data, **FAST, epochs=1, callbacks=[Checkpoint(path)])
    with pytest.warns(UserWarning, match="lr"):
        latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(data, **{**FAST, "lr": 0.1}, epochs=2, resume=path)


def test_resume_missing_file_is_clear(tmp_path, data):
    with pytest.raises(ModelFileError, match="missing"):
        latentlab.Autoencoder(latent_dim=2).fit(data, **FAST, epochs=1, resume=tmp_path / "nope.safetensors")


def test_finished_early_stopped_run_resumes_to_nothing(tmp_path, data):
    """A run that early-stopped stays stopped on resume (it does not train more epochs)."""
    path = tmp_path / "c.safetensors"

    class StopNow(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 1:
                trainer.stop_training = True

    first = latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    first.fit(data, **FAST, epochs=6, callbacks=[StopNow(), Checkpoint(path)])
    assert len(first.history) == 2
    again = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(data, **FAST, epochs=6, resume=path)
    assert len(again.history) == 2


def test_pack_roundtrip_preserves_types():
    t: dict = {}
    obj = {"a": (1, 2.5, None), 3: [torch.arange(3)], "$odd": True, "inf": float("inf")}
    import json

    back = unpack(json.loads(json.dumps(pack(obj, t))), t)
    assert back["a"] == (1, 2.5, None) and back["$odd"] is True and back["inf"] == float("inf")
    assert torch.equal(back[3][0], torch.arange(3))


def test_unpack_rejects_dangling_tensor_reference():
    with pytest.raises(ModelFileError):
        unpack({"$t": "s/99"}, {})
    with pytest.raises(ModelFileError):
        unpack({"$dict": [[1]]}, {})


@pytest.mark.slow
@pytest.mark.parametrize("family", ["ae", "vae"])
def test_streamed_fit_resumes_exactly(tmp_path, data, family, monkeypatch):
    """fit_source interrupted after epoch 2 and resumed ends where an uninterrupted streamed run does."""
    from latentlab.data import streaming

    monkeypatch.setattr(streaming, "default_block_rows", lambda shape, floats=0: 48)  # several blocks per epoch
    np.save(tmp_path / "x.npy", data)
    path = tmp_path / "ckpt.safetensors"
    kw = dict(FAST, epochs=5, patience=None)
    make = lambda: latentlab.create(family, latent_dim=2, hidden=(16,))  # noqa: E731
    source = lambda: streaming.NpySource(tmp_path / "x.npy")  # noqa: E731
    ref = make().fit_source(source(), **kw)
    with pytest.raises(KeyboardInterrupt):
        make().fit_source(source(), **kw, callbacks=[Checkpoint(path), Interrupt(at=2)])
    assert load_checkpoint(path).epoch == 3
    resumed = make().fit_source(source(), **kw, callbacks=[Checkpoint(path)], resume=path)
    assert len(resumed.history) == 5
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in ref.history]
    np.testing.assert_array_equal(resumed.encode(data), ref.encode(data))


@pytest.mark.slow
def test_cli_stream_resume_continues(tmp_path, data, capsys):
    from latentlab.cli import main as cli_main

    np.save(tmp_path / "x.npy", data)
    out = tmp_path / "run"
    args = ["train", "--family", "ae", "--data", str(tmp_path / "x.npy"), "--stream", "--out", str(out),
            "--latent-dim", "2", "--checkpoint-every", "1", "--seed", "0", "--verbose", "false"]  # fmt: skip
    assert cli_main([*args, "--epochs", "3"]) == 0
    assert load_checkpoint(out / "checkpoint.safetensors").epoch == 3
    first = [h["loss"] for h in latentlab.load(out).history]
    capsys.readouterr()
    assert cli_main([*args, "--epochs", "5", "--resume"]) == 0
    err = capsys.readouterr().err
    assert "resuming from" in err
    assert load_checkpoint(out / "checkpoint.safetensors").epoch == 5
    history = [h["loss"] for h in latentlab.load(out).history]
    assert len(history) == 5 and history[:3] == first  # continued; a restart would retrace epochs 1-3 differently
