"""FactorVAE: the discriminator's loss and TC term by known values, its training through the one trainer, files."""

from __future__ import annotations

import math

import pytest
import torch

import latentlab
from latentlab.errors import ConfigError
from latentlab.models.factorvae import DiscriminatorStep, discriminator_loss, permute_dims
from latentlab.training import TrainConfig, Trainer
from latentlab.training.trainer import Batch, TensorData


def test_discriminator_loss_known_values():
    a, b = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sp = lambda t: math.log1p(math.exp(t))  # noqa: E731  softplus: -log sigmoid(-t)
    want = 0.5 * ((sp(-2.0) + sp(1.0)) / 2 + (sp(0.5) + sp(-3.0)) / 2)
    assert float(discriminator_loss(a, b)) == pytest.approx(want, rel=1e-6)


def test_permute_dims_keeps_marginals_and_breaks_dependence():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 1, generator=g)
    z = torch.cat([x, x], 1)  # perfectly correlated dimensions
    p = permute_dims(z, g)
    torch.testing.assert_close(p.sort(0).values, z.sort(0).values)
    assert abs(float(torch.corrcoef(p.T)[0, 1])) < 0.05


def test_loss_adds_gamma_times_the_mean_logit():
    m = latentlab.FactorVAE(input_shape=(6,), latent_dim=2, hidden=(8,), disc_hidden=(4,), gamma=3.0, beta=2.0)
    last = m.discriminator[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(0.7)  # D's logit is 0.7 everywhere: TC estimate 0.7
    x = torch.rand(16, 6)
    m.eval()
    with torch.no_grad():
        torch.manual_seed(0)
        out = m.loss(Batch(x))
    p = out.parts
    assert float(p["tc"]) == pytest.approx(0.7)
    assert float(out.total) == pytest.approx(float(p["reconstruction"] + 2.0 * p["kl"] + 3.0 * 0.7), rel=1e-5)


def test_the_model_optimizer_never_sees_the_discriminator():
    m = latentlab.FactorVAE(input_shape=(6,), latent_dim=2, hidden=(8,), disc_hidden=(8,))
    assert not any(p.requires_grad for p in m.discriminator.parameters())
    x = torch.rand(32, 6)
    m.loss(Batch(x)).total.backward()
    assert all(p.grad is None for p in m.discriminator.parameters())  # the VAE loss moves the encoder only
    assert m.encoder.net[0].weight.grad is not None


@pytest.mark.slow
def test_discriminator_learns_to_spot_correlated_codes():
    """Given an encoder whose two code dimensions are equal, the discriminator step alone learns to tell q(z)
    from its permutation, so the TC estimate on those codes becomes clearly positive."""
    torch.manual_seed(0)
    m = latentlab.FactorVAE(input_shape=(1,), latent_dim=2, hidden=(4,), disc_hidden=(32, 32), disc_lr=3e-3)
    m.posterior = lambda x, y=None: latentlab.models.posterior.DiagonalGaussian(  # z = (x, x) + tiny noise
        torch.cat([x, x], 1), torch.full((len(x), 2), -12.0)
    )
    step = DiscriminatorStep(m)
    step.on_train_begin(None)
    g = torch.Generator().manual_seed(1)
    for _ in range(300):
        step.on_batch_end(None, Batch(torch.randn(128, 1, generator=g)), None)
    logs = {}
    step.on_epoch_end(None, 0, logs)
    assert logs["discriminator_accuracy"] > 0.75
    with torch.no_grad():
        x = torch.randn(2000, 1, generator=g)
        assert float(m.discriminator(torch.cat([x, x], 1)).mean()) > 0.5
    assert not any(p.requires_grad for p in m.discriminator.parameters())


@pytest.mark.slow
def test_discriminator_logit_estimates_the_gaussian_total_correlation():
    """The density-ratio trick by a known value: on codes from a bivariate normal of correlation 0.8 the trained
    discriminator's mean logit estimates TC = -log(1 - rho^2) / 2 = 0.511 nats (Kim & Mnih 2018, eq. 3)."""
    rho = 0.8
    chol = torch.tensor([[1.0, 0.0], [rho, math.sqrt(1 - rho**2)]])
    torch.manual_seed(0)
    m = latentlab.FactorVAE(input_shape=(2,), latent_dim=2, hidden=(4,), disc_hidden=(64, 64), disc_lr=1e-3)
    m.posterior = lambda x, y=None: latentlab.models.posterior.DiagonalGaussian(  # z = chol x + tiny noise
        x @ chol.T, torch.full((len(x), 2), -12.0)
    )
    step = DiscriminatorStep(m)
    step.on_train_begin(None)
    g = torch.Generator().manual_seed(10)
    for _ in range(1500):
        step.on_batch_end(None, Batch(torch.randn(256, 2, generator=g)), None)
    with torch.no_grad():
        z = torch.randn(20_000, 2, generator=g) @ chol.T
        estimate = float(m.discriminator(z).mean())
    assert estimate == pytest.approx(-0.5 * math.log(1 - rho**2), abs=0.12)


def test_config_checks():
    with pytest.raises(ConfigError, match="disc_hidden"):
        latentlab.FactorVAE(disc_hidden=())
    with pytest.raises(ConfigError, match="disc_lr"):
        latentlab.FactorVAE(disc_lr=0.0)
    with pytest.raises(ConfigError, match="iw_samples"):
        latentlab.FactorVAE(iw_samples=3)
    with pytest.raises(ConfigError, match="disc_steps"):
        latentlab.FactorVAE(disc_steps=0)
    cfg = latentlab.FactorVAE(disc_hidden=(5, 6)).config
    assert type(cfg).from_dict(cfg.to_dict()) == cfg
    old = cfg.to_dict()
    del old["disc_steps"]  # a file from before the option: one step, as then
    assert type(cfg).from_dict(old).disc_steps == 1


def test_disc_steps_discriminator_steps_per_model_step():
    m = latentlab.FactorVAE(input_shape=(3,), latent_dim=2, hidden=(4,), disc_hidden=(8,), disc_steps=3)
    step = DiscriminatorStep(m)
    step.on_train_begin(None)
    for _ in range(2):
        step.on_batch_end(None, Batch(torch.randn(16, 3)), None)
    states = list(step.optimizer.state.values())
    assert states and all(int(v["step"]) == 6 for v in states)  # 3 Adam steps after each of the 2 batches
    logs = {}
    step.on_epoch_end(None, 0, logs)
    assert 0.0 <= logs["discriminator_accuracy"] <= 1.0


@pytest.fixture(scope="module")
def fitted(digits):
    return latentlab.FactorVAE(
        latent_dim=6, hidden=(64,), disc_hidden=(64, 64), gamma=5.0, disc_lr=1e-3, likelihood="gaussian"
    ).fit(
        digits[0], epochs=20, verbose=False, seed=0, patience=None
    )


@pytest.mark.slow
def test_learns_with_its_discriminator(fitted, digits):
    Xtr, Xte = digits[0], digits[1]
    h = fitted.history
    assert h[-1]["val_loss"] < h[0]["val_loss"]
    assert {"discriminator_loss", "discriminator_accuracy", "tc", "val_tc"} <= set(h[-1])
    baseline = float(((Xtr.mean(0) - Xte) ** 2).mean())
    assert float(((fitted.reconstruct(Xte) - Xte) ** 2).mean()) < 0.65 * baseline
    fresh = latentlab.FactorVAE(latent_dim=6, hidden=(64,), disc_hidden=(64, 64), input_shape=(64,), likelihood="gaussian")
    assert fresh.config.replace(gamma=5.0, disc_lr=1e-3) == fitted.config
    assert not torch.equal(fresh.discriminator[0].weight, fitted.discriminator[0].weight)  # it was trained


def test_discriminator_optimizer_is_in_trainer_state():
    m = latentlab.FactorVAE(input_shape=(4,), latent_dim=2, hidden=(8,), disc_hidden=(8,))
    t = Trainer(m, TrainConfig(epochs=1, batch_size=16, verbose=False, validation_split=0, patience=None))
    t.fit(TensorData(torch.rand(64, 4)))
    state = t.state_dict()["callbacks"]["DiscriminatorStep"]["optimizer"]
    assert state is not None and len(state["state"]) == 4  # two layers: weights and biases
    ids = {id(p) for g in t.optimizer.param_groups for p in g["params"]}
    assert not ids & {id(p) for p in m.discriminator.parameters()}


@pytest.mark.slow
def test_save_load_identical(fitted, digits, reloaded):
    back = reloaded(fitted, digits[1])
    assert type(back) is latentlab.FactorVAE
    for a, b in zip(back.discriminator.parameters(), fitted.discriminator.parameters()):
        assert torch.equal(a, b) and not a.requires_grad
