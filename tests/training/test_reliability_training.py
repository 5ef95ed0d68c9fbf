"""Training faults: a NaN or inf loss stops (restoring the last good weights) or is skipped; NaN is never saved."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.errors import ModelFileError, TrainingError
from latentlab.training import Callback
from latentlab.training.checkpoint import Checkpoint, load_checkpoint

FAST = dict(verbose=False, seed=0, batch_size=32, lr=3e-3, patience=None, restore_best=False)


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(1).random((192, 6)).astype(np.float32)


def poison_loss(model, at_steps: set[int], value: float = float("nan")):
    """Make ``model.loss`` return ``value`` (with a gradient path) on the given training steps."""
    original = model.loss
    count = {"step": 0}

    def loss(batch):
        out = original(batch)
        if model.training:
            if count["step"] in at_steps:
                out.total = out.total * value  # nan or inf, still attached to the graph
            count["step"] += 1
        return out

    model.loss = loss
    return count


class Snapshot(Callback):
    """Keep a copy of the weights at the end of every epoch."""

    def __init__(self):
        self.states: list[dict[str, torch.Tensor]] = []

    def on_epoch_end(self, trainer, epoch, logs):
        self.states.append({k: v.detach().clone() for k, v in trainer.model.state_dict().items()})


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nonfinite_loss_stops_and_restores_last_good_weights(data, value):
    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    steps_per_epoch = len(data) // 32
    poison_loss(model, {2 * steps_per_epoch + 1})  # second step of the third epoch
    snap = Snapshot()
    with pytest.warns(UserWarning, match="training stopped at epoch 2.*last good weights were restored"):
        model.fit(data, **FAST, epochs=6, validation_split=0, callbacks=[snap])
    assert len(model.history) == 2  # the bad epoch is not recorded
    assert model.fit_report.stopped_on_nan
    for k, v in model.state_dict().items():
        if k.startswith(("encoder", "decoder")):
            assert torch.equal(v, snap.states[-1][k]), k
    assert np.isfinite(model.reconstruct(data)).all()


def test_nonfinite_loss_in_first_epoch_is_an_error(data):
    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    poison_loss(model, {0})
    with pytest.raises(TrainingError, match="first epoch.*Lower lr"):
        model.fit(data, **FAST, epochs=3, validation_split=0)


def test_nan_policy_skip_skips_the_step_and_trains_on(data):
    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    poison_loss(model, {1, 7, 8})
    model.fit(data, **FAST, epochs=4, validation_split=0, nan_policy="skip")
    assert len(model.history) == 4
    assert all(np.isfinite(h["loss"]) for h in model.history)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert model.history[-1]["loss"] < model.history[0]["loss"]


def test_save_refuses_nan_weights(tmp_path, data):
    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(data, **FAST, epochs=1)
    with torch.no_grad():
        next(model.parameters())[0, 0] = float("nan")
    with pytest.raises(ModelFileError, match="NaN or inf.*refusing to save"):
        model.save(tmp_path / "run")
    assert not (tmp_path / "run").exists()  # nothing half-written


@pytest.mark.filterwarnings("ignore:training stopped")
def test_checkpoint_never_holds_nan_weights(tmp_path, data):
    """Weights corrupted after an epoch are not checkpointed; the last good checkpoint stays."""
    path = tmp_path / "c.safetensors"

    class Corrupt(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                with torch.no_grad():
                    next(trainer.model.parameters()).fill_(float("nan"))

    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    with pytest.warns(UserWarning, match="checkpoint not written"):
        model.fit(data, **FAST, epochs=5, validation_split=0, callbacks=[Corrupt(), Checkpoint(path)])
    state = load_checkpoint(path)  # loads: every tensor in it is finite
    assert state.epoch == 2
    assert all(torch.isfinite(t).all() for t in state.model_state.values())


def test_an_interrupted_fit_leaves_a_model_that_refuses_to_be_used_as_fitted(data, tmp_path):
    """Ctrl-C during fit: no silent half-fitted model (prior unfitted, weights mid-epoch)."""
    from latentlab.training import Callback

    class CtrlC(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 1:
                raise KeyboardInterrupt

    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,))
    with pytest.raises(KeyboardInterrupt):
        model.fit(data, **FAST, epochs=5, callbacks=[CtrlC()])
    for use in (lambda: model.encode(data[:3]), lambda: model.sample(2), lambda: model.save(tmp_path / "m")):
        with pytest.raises(latentlab.NotFittedError, match="interrupted"):
            use()
    assert not (tmp_path / "m").exists()
    model.fit(data, **FAST, epochs=2)  # fitting again clears it
    assert model.encode(data[:3]).shape == (3, 2)


def test_outputs_that_overflow_once_scaled_back_are_refused(data):
    model = latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(data, **FAST, epochs=1)
    model.scaler.scale_ = np.full_like(model.scaler.scale_, 3e38)  # a finite but absurd scaler
    model.scaler.offset_ = np.full_like(model.scaler.offset_, 3.3e38)
    with pytest.raises(latentlab.DataError, match="overflow"):
        model.sample(3, seed=0)


def test_complex_and_masked_inputs_are_not_silently_changed(tmp_path):
    import torch

    from latentlab.cli import main
    from latentlab.data.validation import as_float_array

    with pytest.raises(latentlab.DataTypeError, match="complex"):
        as_float_array(torch.ones(4, 2, dtype=torch.complex64))
    masked = np.ma.masked_array(np.ones((4, 2)), mask=[[0, 1], [0, 0], [0, 0], [0, 0]])
    with pytest.raises(latentlab.DataError, match="1 NaN"):  # the masked entry is missing, not a 1
        as_float_array(masked)
    assert np.isnan(as_float_array(masked, allow_nan=True)[0, 1])
    np.save(tmp_path / "c.npy", np.ones((20, 3), dtype=np.complex64))
    assert main(["train", "--data", str(tmp_path / "c.npy"), "--epochs", "1", "--out", str(tmp_path / "run")]) == 2


def test_train_refuses_an_unwritable_out_before_training(tmp_path, capsys, monkeypatch):
    import os

    from latentlab.cli import main
    from latentlab.models import api

    ran = []
    monkeypatch.setattr(api, "fit_model", lambda *a, **k: ran.append(1))  # the binding fit() calls
    (tmp_path / "file").write_text("x")
    assert main(["train", "--data", "digits", "--epochs", "1", "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        assert main(["train", "--data", "digits", "--epochs", "1", "--out", str(locked / "run")]) == 2
        assert "cannot be written" in capsys.readouterr().err
    assert ran == []  # no training was spent
