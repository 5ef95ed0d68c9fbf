"""The trainer: reproducible, early stopping with best-weights restore, schedules, clipping, progress."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentlab
from latentlab.errors import ConfigError, DataError
from latentlab.training import TrainConfig, Trainer, resolve_device
from latentlab.training.callbacks import Callback
from latentlab.training.trainer import TensorData

pytestmark = pytest.mark.slow  # trains throughout

SMALL = dict(latent_dim=2, hidden=(32,))


def _fit(X, **opts):
    opts = {"verbose": False, "epochs": 5, **opts}
    return latentlab.Autoencoder(**SMALL).fit(X, **opts)


def test_same_seed_gives_identical_runs(digits):
    Xtr = digits[0][:400]
    a, b = _fit(Xtr, seed=3), _fit(Xtr, seed=3)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    c = _fit(Xtr, seed=4)
    assert not torch.equal(a.encoder.net[0].weight, c.encoder.net[0].weight)


def test_history_is_a_list_of_per_epoch_dicts(digits):
    m = _fit(digits[0][:400], epochs=4)
    assert [h["epoch"] for h in m.history] == [0, 1, 2, 3]
    assert {"loss", "reconstruction", "val_loss", "val_reconstruction", "lr", "time"} <= set(m.history[0])


def test_early_stopping_restores_the_best_weights(digits):
    Xtr = digits[0][:300]
    # A large lr with no schedule makes validation loss noisy, so the best epoch is rarely the last.
    m = _fit(Xtr, epochs=60, patience=3, lr=0.05, lr_schedule="none")
    assert len(m.history) < 60
    best = min(h["val_loss"] for h in m.history)
    val = TensorData(torch.from_numpy(m.scaler.transform(Xtr)))
    trainer = Trainer(m, TrainConfig(verbose=False, validation_split=0.1, seed=0))
    _, held = trainer._split(val)
    assert trainer.evaluate(held.to(trainer.device))["loss"] == pytest.approx(best, rel=1e-5)
    assert m.fit_report.best_epoch == int(np.argmin([h["val_loss"] for h in m.history]))


def test_validation_data_is_used_instead_of_a_split(digits):
    Xtr, Xte = digits[0][:400], digits[1][:100]
    m = _fit(Xtr, validation_data=Xte, epochs=2, patience=None)
    assert "val_loss" in m.history[0]
    no_val = _fit(Xtr, validation_split=0.0, epochs=2, patience=None, restore_best=False)
    assert "val_loss" not in no_val.history[0]


def test_cosine_schedule_lowers_the_learning_rate(digits):
    m = _fit(digits[0][:300], epochs=6, patience=None, lr=0.01, lr_schedule="cosine")
    lrs = [h["lr"] for h in m.history]
    assert lrs[0] == pytest.approx(0.01) and all(a > b for a, b in zip(lrs, lrs[1:]))
    flat = _fit(digits[0][:300], epochs=3, patience=None, lr=0.01, lr_schedule="none")
    assert {h["lr"] for h in flat.history} == {0.01}


def test_gradient_clipping_bounds_the_norm(digits):
    norms = []

    class Spy(Callback):
        def on_train_begin(self, trainer):
            orig = trainer.optimizer.step

            def step(*a, **k):
                g = torch.sqrt(sum((p.grad**2).sum() for p in trainer.model.parameters() if p.grad is not None))
                norms.append(float(g))
                return orig(*a, **k)

            trainer.optimizer.step = step

    _fit(digits[0][:300], epochs=2, grad_clip=0.01, callbacks=[Spy()])
    assert norms and max(norms) <= 0.01 * 1.001


def test_progress_bar_shows_parts_and_can_be_silenced(digits, capsys):
    _fit(digits[0][:300], epochs=2, verbose=True)
    err = capsys.readouterr().err
    assert "mse=" in err  # the fixed-variance Gaussian reconstruction part, shown as its MSE (readable_logs)
    _fit(digits[0][:300], epochs=2, verbose=False)
    assert capsys.readouterr().err == ""


def test_device_auto_is_cpu_here_and_bad_names_are_refused():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type in (expected, "mps")
    with pytest.raises(ConfigError, match="device"):
        resolve_device("not-a-device")


@pytest.mark.parametrize(
    "opts, match",
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"validation_split": 1.5}, "validation_split"),
        ({"lr_schedule": "warp"}, "lr_schedule"),
        ({"learning_rate": 0.1}, "unknown training option"),
    ],
)
def test_bad_training_options_are_named(opts, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig.from_kwargs(**opts)


def test_fewer_samples_than_a_batch_is_a_clear_error():
    with pytest.raises(DataError, match="batch_size"):
        _fit(np.random.rand(10, 4).astype("float32"), batch_size=64)


def test_progress_bar_in_a_log_file_is_sparse_and_keeps_the_loss(digits, capsys, monkeypatch):
    import latentlab.training.callbacks as callbacks

    X = digits[0][:200]
    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=40, seed=0, verbose=True, patience=None)
    err = capsys.readouterr().err  # captured stderr is not a terminal, as in CI logs
    assert "mse=" in err and "40/40" in err  # the last state (an AE's loss, shown as its MSE) stays in the log
    assert err.count("\r") < 10  # not one redraw per epoch

    monkeypatch.setattr(callbacks.sys.stderr, "isatty", lambda: True, raising=False)
    latentlab.Autoencoder(latent_dim=2, hidden=(8,)).fit(X, epochs=40, seed=0, verbose=True, patience=None)
    assert capsys.readouterr().err.count("\r") >= 40  # a terminal gets every epoch


def test_state_snapshots_are_independent_copies_and_mode_switches_reach_every_module():
    import torch

    from latentlab.training.state import copy_state, set_training, snapshot

    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5), torch.nn.Linear(4, 2))
    held = snapshot(net)
    before = {k: v.clone() for k, v in held.items()}
    with torch.no_grad():
        net[0].weight.add_(1.0)
    assert all(torch.equal(held[k], before[k]) for k in held)  # the snapshot did not follow the model
    buffer = held["0.weight"]
    copy_state(held, net)
    assert held["0.weight"] is buffer and torch.equal(buffer, net[0].weight)  # overwritten in place
    net[1].train(False)  # one submodule out of step with the root
    set_training(net, True)
    assert all(m.training for m in net.modules())
    set_training(net, False)
    assert not any(m.training for m in net.modules())
