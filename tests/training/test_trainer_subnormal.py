"""The trainer keeps Adam's state free of float32 subnormals (they slow every CPU step once present)."""

from __future__ import annotations

import torch

import latentlab
from latentlab.training import TrainConfig, Trainer
from latentlab.training.trainer import FLUSH_EVERY, TensorData, flush_subnormal_state

TINY = torch.finfo(torch.float32).tiny


def _subnormals(opt) -> int:
    return sum(int(((v != 0) & (v.abs() < TINY)).sum()) for st in opt.state.values() for v in st.values()
               if torch.is_tensor(v) and v.dim() > 0)


def test_flush_zeroes_only_subnormals():
    p = torch.nn.Parameter(torch.zeros(4))
    opt = torch.optim.Adam([p])
    opt.state[p]["exp_avg"] = torch.tensor([1e-40, 1e-3, -1e-45, 0.0])
    opt.state[p]["exp_avg_sq"] = torch.tensor([TINY, 1e-39, 2.0, 1e-30])
    flush_subnormal_state(opt)
    assert opt.state[p]["exp_avg"].tolist() == [0.0, torch.tensor(1e-3).item(), 0.0, 0.0]
    assert opt.state[p]["exp_avg_sq"].tolist() == [TINY, 0.0, 2.0, torch.tensor(1e-30).item()]


def test_training_leaves_no_subnormal_adam_state():
    """First moments of weights whose gradients turned exactly zero (units that died) sit at subnormal
    values for good; the trainer flushes them every FLUSH_EVERY steps."""
    torch.manual_seed(0)
    X = torch.rand(64 * FLUSH_EVERY, 8)
    X[:, 0] = 0.0  # the first layer's weights from this input get exactly-zero gradients
    model = latentlab.Autoencoder(input_shape=(8,), latent_dim=2, hidden=(16,), scaling="none")
    cfg = TrainConfig(epochs=1, batch_size=64, lr=1e-3, validation_split=0, patience=None, restore_best=False,
                      verbose=False, device="cpu", amp=False, lr_schedule="none")
    trainer = Trainer(model, cfg)
    trainer.fit(TensorData(X))
    first = next(p for p in model.parameters() if p.shape == (16, 8))
    trainer.optimizer.state[first]["exp_avg"][:, 0] = 2.0**-149  # what 0.9 ** n leaves: the smallest subnormal
    assert _subnormals(trainer.optimizer) == 16
    m = torch.tensor([2.0**-149])
    assert (m * 0.9).item() == m.item()  # the decay cannot take them to zero by itself
    trainer.start_epoch = 0
    trainer.fit(TensorData(X))  # another FLUSH_EVERY steps
    assert _subnormals(trainer.optimizer) == 0
