"""FactorVAE: a VAE with a total-correlation penalty estimated by a discriminator (the density-ratio trick).

Kim & Mnih, "Disentangling by factorising", ICML 2018. The loss is the
VAE's plus ``gamma * TC``, where the total correlation
``KL(q(z) || prod_d q(z_d))`` is estimated as the mean logit of a
discriminator ``D`` that tells codes drawn from q(z) (label 1) from codes
whose dimensions were each shuffled across the batch (label 0, draws from
``prod_d q(z_d)``): ``log D(z) / (1 - D(z))`` estimates ``log q(z) / prod_d q(z_d)``.

The discriminator is a submodule (saved with the weights) that the model's
optimizer never sees: its parameters do not require gradients, so the VAE
loss moves only the encoder and decoder through it. It is trained by
:class:`DiscriminatorStep`, a callback the model hands to the one trainer
(``training_callbacks``), which after each of the VAE's steps takes
``disc_steps`` Adam steps (one by default; lr ``disc_lr``, betas (0.5, 0.9)
as in the paper) on the binary cross-entropy of fresh draws of the same
batch and their permutation. Its
optimizer state is kept in training checkpoints.

Built on :class:`~latentlab.models.vae.VAEConfig`, so ``beta`` (the KL
weight, 1 as in the paper), KL annealing (which also scales ``gamma``),
free bits and the priors all apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check_nonneg_float, check_positive_int, register
from ..data.tensors import Batch
from ..errors import ConfigError
from ..training.callbacks import Callback
from ..training.options import LossOutput
from .vae import VAE, VAEConfig


def permute_dims(z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each column of ``z`` shuffled independently across the batch: draws from prod_d q(z_d).

    Examples
    --------
    >>> z = torch.arange(12.0).reshape(4, 3)
    >>> p = permute_dims(z, torch.Generator().manual_seed(0))
    >>> bool((p.sort(0).values == z).all())
    True
    """
    B, L = z.shape
    idx = torch.argsort(torch.rand(B, L, generator=generator).to(z.device), dim=0)  # (B, L)
    return torch.gather(z, 0, idx)


def discriminator_loss(logits_joint: torch.Tensor, logits_permuted: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the discriminator: codes of q(z) are class 1, permuted codes class 0.

    Examples
    --------
    >>> round(float(discriminator_loss(torch.zeros(4), torch.zeros(4))), 4)  # log 2: it cannot tell them apart
    0.6931
    """
    ones, zeros = torch.ones_like(logits_joint), torch.zeros_like(logits_permuted)
    return 0.5 * (
        F.binary_cross_entropy_with_logits(logits_joint, ones) + F.binary_cross_entropy_with_logits(logits_permuted, zeros)
    )


@dataclass(frozen=True)
class FactorVAEConfig(VAEConfig):
    """Config of :class:`FactorVAE`.

    Parameters
    ----------
    gamma : float
        Weight of the total-correlation estimate.
    disc_hidden : tuple of int
        Widths of the discriminator's hidden layers (leaky ReLU 0.2).
    disc_lr : float
        Learning rate of the discriminator's Adam.
    disc_steps : int
        Discriminator steps after each of the VAE's steps (1 in the paper), each on fresh draws of the batch's codes.
    """

    family = "factorvae"
    gamma: float = 10.0
    disc_hidden: tuple[int, ...] = (256, 256)
    disc_lr: float = 1e-4
    disc_steps: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.disc_hidden, list):
            object.__setattr__(self, "disc_hidden", tuple(self.disc_hidden))
        super().__post_init__()

    def validate(self) -> None:
        super().validate()
        check_nonneg_float("gamma", self.gamma)
        check_nonneg_float("disc_lr", self.disc_lr)
        if self.disc_lr == 0:
            raise ConfigError("disc_lr must be > 0.")
        if not isinstance(self.disc_hidden, tuple) or len(self.disc_hidden) == 0:
            raise ConfigError("disc_hidden must be a non-empty tuple of layer sizes, e.g. (256, 256).")
        for i, h in enumerate(self.disc_hidden):
            check_positive_int(f"disc_hidden[{i}]", h)
        check_positive_int("disc_steps", self.disc_steps)
        if self.iw_samples > 1:
            raise ConfigError("factorvae adds its TC term to the ELBO; the IWAE bound (iw_samples > 1) is not used.")
        if self.n_classes > 0:
            raise ConfigError("factorvae is unconditional; use n_classes=0.")


class DiscriminatorStep(Callback):
    """``disc_steps`` Adam steps of the FactorVAE discriminator after each of the model's steps; logs its loss
    and accuracy."""

    def __init__(self, model: FactorVAE):
        self.model = model
        self.optimizer: torch.optim.Optimizer | None = None

    def on_train_begin(self, trainer) -> None:
        if self.optimizer is None:
            params = list(self.model.discriminator.parameters())
            self.optimizer = torch.optim.Adam(params, lr=self.model.config.disc_lr, betas=(0.5, 0.9))
        self._sums = torch.zeros(3)  # loss * n, correct, n

    def on_batch_end(self, trainer, batch, out) -> None:
        m, D = self.model, self.model.discriminator
        with torch.no_grad():  # the encoder does not move during these steps: one posterior, fresh draws each step
            q = m.posterior(m.corrupt(batch.x), batch.y)
        D.requires_grad_(True)
        try:
            for _ in range(int(m.config.disc_steps)):
                with torch.no_grad():
                    z = q.rsample()  # (B, L)
                    zp = permute_dims(z)
                with torch.enable_grad():
                    lj, lp = D(z).squeeze(1), D(zp).squeeze(1)  # (B,), (B,)
                    loss = discriminator_loss(lj, lp)
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    self.optimizer.step()
                n = len(z)
                correct = (lj > 0).sum() + (lp <= 0).sum()
                self._sums += torch.stack([loss.detach().cpu() * 2 * n, correct.cpu().float(), torch.tensor(2.0 * n)])
        finally:
            D.requires_grad_(False)

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        loss, correct, n = self._sums.tolist()
        if n > 0:
            logs["discriminator_loss"] = loss / n
            logs["discriminator_accuracy"] = correct / n
        self._sums.zero_()

    def state_dict(self) -> dict:
        return {"optimizer": None if self.optimizer is None else self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if state.get("optimizer") is not None and self.optimizer is not None:
            self.optimizer.load_state_dict(state["optimizer"])


@register
class FactorVAE(VAE):
    """A VAE plus ``gamma`` times a discriminator's estimate of the code's total correlation (Kim & Mnih 2018).

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 16)).astype("float32")
    >>> m = latentlab.FactorVAE(latent_dim=3, hidden=(32,), disc_hidden=(16,)).fit(X, epochs=2, verbose=False)
    >>> "discriminator_accuracy" in m.history[-1], m.encode(X[:2]).shape
    (True, (2, 3))
    """

    config_class = FactorVAEConfig

    def build_extra(self) -> None:
        super().build_extra()
        c = self.config
        layers: list[nn.Module] = []
        width = c.latent_dim
        for h in c.disc_hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers.append(nn.Linear(width, 1))  # the logit of "drawn from q(z)"
        self.discriminator = nn.Sequential(*layers)
        self.discriminator.requires_grad_(False)  # trained by DiscriminatorStep, never by the model's optimizer

    def training_callbacks(self) -> list:
        return [*super().training_callbacks(), DiscriminatorStep(self)]

    def loss(self, batch: Batch) -> LossOutput:
        c = self.config
        scale, q, z, rec, kl, term = self.annealed_elbo_terms(batch)
        tc = self.discriminator(z).mean()  # density-ratio estimate of the total correlation
        total = rec + scale * (c.beta * term + c.gamma * tc)
        return LossOutput(total, {"reconstruction": rec, "kl": kl, "tc": tc})


__all__ = ["FactorVAE", "FactorVAEConfig", "DiscriminatorStep", "permute_dims", "discriminator_loss"]
