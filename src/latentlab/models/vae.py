"""Variational autoencoder (and beta-VAE), with collapse remedies, richer priors and the IWAE objective.

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014;
Higgins et al., "beta-VAE", ICLR 2017. A beta-VAE is a VAE with ``beta != 1``.
Burda, Grosse & Salakhutdinov, "Importance weighted autoencoders", ICLR 2016
(``iw_samples > 1``). Tomczak & Welling, "VAE with a VampPrior", AISTATS 2018
(``prior='vamp'``). KL annealing, free bits and the collapse diagnosis are
described in :mod:`latentlab.models.variational`; every family built on
:class:`VAEConfig` (cvae, seq_vae, ...) has them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..config import ModelConfig, check_choice, check_nonneg_float, check_positive_int, register
from ..data.tensors import Batch
from ..errors import ConfigError
from ..training.options import LossOutput
from .base import LatentModel
from .bounds import bounds, log_weights
from .posterior import DiagonalGaussian
from .prior import MixtureOfGaussians, StandardNormal, VampPrior
from .variational import ANNEALING, KLAnnealing, diagnose_collapse

PRIORS = ("standard", "mog", "vamp")


@dataclass(frozen=True)
class VAEConfig(ModelConfig):
    """Config of :class:`VAE`.

    Parameters
    ----------
    beta : float
        Weight of the KL term (1 is the ELBO; >1 a beta-VAE).
    variance : str
        A Gaussian likelihood learns its variance ('global': one for all
        features) by default. With a fixed ``sigma=1`` on [0, 1] data the KL
        term outweighs the reconstruction and the posterior collapses. On a
        validation part of the digits training split (latent 2 and 8),
        'global' kept 4.6 and 5.9 nats of KL at 0.48 and 0.37 of the mean
        predictor's MSE; 'per_feature' 0.48 and 0.47; 'decoder' 0.68 and
        0.57 (it spends its capacity on the variances, and wins on
        likelihood instead: see the guide's density recipe).
    prior : {'standard', 'mog', 'vamp'}
        N(0, I); a learned mixture of ``prior_components`` Gaussians; or the
        VampPrior with ``prior_components`` pseudo-inputs. The KL against the
        last two is a single-draw Monte-Carlo estimate.
    kl_anneal : {'none', 'linear', 'cyclical'}
        KL warm-up over ``kl_anneal_epochs`` epochs, once or in ``kl_cycles`` cycles.
    free_bits : float
        lambda: the KL of each latent dimension counts at least this many nats
        (with a mixture or VampPrior, the total KL at least ``lambda * latent_dim``).
    iw_samples : int
        K > 1 trains on the importance-weighted bound with K draws (IWAE).
    """

    family = "vae"
    beta: float = 1.0
    likelihood: str = "bernoulli"
    variance: str = "global"
    prior: str = "standard"
    prior_components: int = 10
    kl_anneal: str = "none"
    kl_anneal_epochs: int = 10
    kl_cycles: int = 4
    free_bits: float = 0.0
    iw_samples: int = 1

    def validate(self) -> None:
        super().validate()
        check_nonneg_float("beta", self.beta)
        check_choice("prior", self.prior, PRIORS)
        check_positive_int("prior_components", self.prior_components)
        check_choice("kl_anneal", self.kl_anneal, ANNEALING)
        check_positive_int("kl_anneal_epochs", self.kl_anneal_epochs)
        check_positive_int("kl_cycles", self.kl_cycles)
        check_nonneg_float("free_bits", self.free_bits)
        check_positive_int("iw_samples", self.iw_samples)
        if self.iw_samples > 1 and self.free_bits > 0:
            raise ConfigError("free_bits applies to the ELBO's KL term; the IWAE bound (iw_samples > 1) has none.")
        if self.prior == "vamp" and self.n_classes > 0:
            raise ConfigError("prior='vamp' is for unconditional models; use prior='mog' with labels.")


@register
class VAE(LatentModel):
    """Gaussian posterior, reparameterised sample, ELBO (or IWAE) loss against the model's prior.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 16)).astype("float32")
    >>> vae = latentlab.VAE(latent_dim=2, hidden=(32,)).fit(X, epochs=3, verbose=False)
    >>> vae.sample(4, seed=0).shape
    (4, 16)
    """

    config_class = VAEConfig

    def encoder_out_dim(self) -> int:
        return 2 * self.config.latent_dim  # mean and log-variance

    def build_extra(self) -> None:
        super().build_extra()
        # The KL weight of the current epoch (annealing); 1 outside training. A tensor, so a compiled loss
        # does not recompile when it changes.
        self.register_buffer("kl_scale", torch.ones(()), persistent=False)

    def build_prior(self):
        c = self.config
        if c.prior == "mog":
            return MixtureOfGaussians(c.latent_dim, c.prior_components)
        if c.prior == "vamp":
            return VampPrior(self.posterior, tuple(c.input_shape), c.prior_components)
        return StandardNormal(c.latent_dim)  # closed-form KL

    def training_callbacks(self) -> list:
        return [KLAnnealing(self)] if self.config.kl_anneal != "none" else []

    def posterior(self, x, y=None) -> DiagonalGaussian:
        return DiagonalGaussian.from_params(self.encoder(x, self.labels(y, x.shape[0])))

    def loss(self, batch: Batch) -> LossOutput:
        c = self.config
        if self.training and isinstance(self.prior, VampPrior):
            self.prior.place(batch.x)  # pseudo-inputs start on the first training batch
        beta = c.beta * self.kl_scale if self.training else c.beta
        inputs = self.corrupt(batch.x)
        if c.iw_samples > 1:
            logw, log_px, kl = log_weights(self, batch.x, batch.y, c.iw_samples, beta=beta, inputs=inputs)
            bound = torch.logsumexp(logw, 0) - math.log(c.iw_samples)  # (B,)
            parts = {"reconstruction": -log_px.mean(), "kl": kl.mean(), "iwae_bound": bound.mean()}
            return LossOutput(-bound.mean(), parts)
        q, z, rec, kl, term = self.elbo_terms(batch, inputs)
        return LossOutput(rec + beta * term, {"reconstruction": rec, "kl": kl})

    def annealed_elbo_terms(self, batch: Batch):
        """``(kl_scale, q, z, reconstruction, kl, kl_term)`` for families that add a penalty to the ELBO.

        The VampPrior's pseudo-inputs are placed on the first training batch,
        the input is corrupted as configured, and the scale is the KL warm-up's
        in training (1 when scoring).
        """
        if self.training and isinstance(self.prior, VampPrior):
            self.prior.place(batch.x)
        scale = self.kl_scale if self.training else 1.0
        return (scale, *self.elbo_terms(batch, self.corrupt(batch.x)))

    def elbo_terms(self, batch: Batch, inputs: torch.Tensor):
        """``(q, z, reconstruction, kl, kl_term)`` of one draw: the KL as measured and as free bits count it."""
        c = self.config
        q = self.posterior(inputs, batch.y)
        z = q.rsample()  # (B, L) reparameterisation trick
        rec = self.decoded_nll(z, batch).mean()
        free = c.free_bits  # validation scores the same objective, so early stopping agrees with training
        if isinstance(self.prior, StandardNormal):
            per_dim = q.kl_per_dim()  # (B, L) closed form
            kl = per_dim.sum(1).mean()
            term = per_dim.mean(0).clamp_min(free).sum() if free > 0 else kl
        else:
            kl = (q.log_prob(z) - self.prior.log_prob(z)).mean()  # single-draw estimate
            term = kl.clamp_min(free * c.latent_dim) if free > 0 else kl
        return q, z, rec, kl, term

    def fit_statistics(self, rows) -> dict:
        report = super().fit_statistics(rows)
        means = self.run_batched(lambda x, y: self.posterior(x, y).mean, rows.x, rows.y)
        return {**report, **diagnose_collapse(self, means)}

    # ------------------------------------------------------------ likelihood
    def log_likelihood(self, X, y=None, *, k: int = 1000, seed: int = 0) -> np.ndarray:
        """Importance-sampled ``log p(x)`` of each sample with ``k`` draws, in nats, in the data's own units.

        A lower bound that tightens as ``k`` grows; the fitted scaling's
        log-Jacobian is included, so the figure does not depend on
        ``scaling`` and compares with scikit-learn's ``score_samples``.

        Examples
        --------
        >>> import numpy as np, latentlab
        >>> X = np.random.default_rng(0).random((200, 8)).astype("float32")
        >>> vae = latentlab.VAE(latent_dim=2, hidden=(16,), likelihood="gaussian").fit(X, epochs=2, verbose=False)
        >>> ll = vae.log_likelihood(X, k=50)
        >>> ll.shape, bool(ll.mean() >= vae.elbo(X, n_samples=50).mean())
        ((200,), True)
        """
        return bounds(self, X, y, k=k, seed=seed)[0]

    def elbo(self, X, y=None, *, n_samples: int = 1, seed: int = 0) -> np.ndarray:
        """The ELBO of each sample (Monte-Carlo over ``n_samples`` draws), in nats, in the data's own units."""
        return bounds(self, X, y, k=n_samples, seed=seed)[1]
