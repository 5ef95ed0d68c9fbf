"""Priors p(z) as objects: ``sample(n, generator)``, ``log_prob(z)``, and ``fit`` for those learned from codes.

A family names its prior in :meth:`LatentModel.build_prior`; the prior is a
submodule (``model.prior``), so it is saved and loaded with the rest of the
weights. Code that samples, scores or entropy-codes never asks which family
it holds: it asks the prior.

Kinds:

- :class:`StandardNormal`: N(0, I), the prior a VAE or a WAE is trained against;
- :class:`FittedGaussian`: a diagonal Gaussian fitted to the training codes
  after training, the prior a deterministic autoencoder samples from;
- :class:`MixtureOfGaussians`: a learned mixture of diagonal Gaussians, trained
  with the VAE (``prior='mog'``);
- :class:`VampPrior`: the mixture of the model's own posteriors at learned
  pseudo-inputs (Tomczak & Welling, "VAE with a VampPrior", AISTATS 2018;
  ``prior='vamp'``);
- :class:`Categorical`: one categorical per group of code indices (VQ-VAE, ``prior='independent'``);
- :class:`AutoregressiveCategorical`: ``p(c_1) p(c_2 | c_1) ... p(c_G | c_<G)``, a
  small masked MLP on top of the per-group categorical (VQ-VAE's default).

A prior with ``fitted = True`` is fitted once the model is trained, on what
the model's :meth:`~LatentModel.prior_codes` gives for the training data;
the others are left as they are and cost nothing after training. A new kind
is one class here with those methods.

Discrete priors work on code *indices* ``(n, G)``; the model maps them to
code vectors. They also give :meth:`Categorical.group_probs`, the
probabilities an entropy coder needs, group by group.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.tensors import Batch, TensorData
from ..training.options import LossOutput, TrainConfig
from ..training.trainer import Trainer


class Prior(nn.Module):
    """Interface of p(z)."""

    #: Fitted to the training codes after the model is trained.
    fitted: bool = False
    #: Works on code indices (n, groups) rather than on continuous codes.
    discrete: bool = False

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """``log p(z)`` per sample, in nats, ``(n,)``."""
        raise NotImplementedError

    def fit(self, codes: torch.Tensor, seed: int | None = None) -> dict[str, float]:
        """Fit to the training codes (only for ``fitted`` priors)."""
        return {}


class StandardNormal(Prior):
    """N(0, I) over ``latent_dim`` values; nothing to fit, nothing saved.

    Examples
    --------
    >>> p = StandardNormal(2)
    >>> round(float(p.log_prob(torch.zeros(1, 2))), 4)
    -1.8379
    """

    def __init__(self, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.register_buffer("_anchor", torch.zeros(0), persistent=False)  # follows the model's device

    def sample(self, n, generator=None):
        return torch.randn(n, self.latent_dim, generator=generator).to(self._anchor.device)

    def log_prob(self, z):
        return (-0.5 * (z**2 + math.log(2 * math.pi))).sum(-1)


class FittedGaussian(Prior):
    """A diagonal Gaussian with the mean and standard deviation of the training codes.

    Examples
    --------
    >>> p = FittedGaussian(2)
    >>> _ = p.fit(torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
    >>> p.mean.tolist(), [round(v, 4) for v in p.std.tolist()]
    ([1.0, 2.0], [1.4142, 1.4142])
    """

    fitted = True

    def __init__(self, latent_dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(latent_dim))
        self.register_buffer("std", torch.ones(latent_dim))

    def sample(self, n, generator=None):
        eps = torch.randn(n, self.mean.shape[0], generator=generator)
        return eps.to(self.mean.device) * self.std + self.mean

    def log_prob(self, z):
        u = (z - self.mean) / self.std
        return (-0.5 * (u**2 + math.log(2 * math.pi)) - self.std.log()).sum(-1)

    @torch.no_grad()
    def fit(self, codes, seed=None):
        z = codes.to(self.mean.device).float()
        self.mean.copy_(z.mean(0))
        self.std.copy_(z.std(0).clamp_min(1e-6) if z.shape[0] > 1 else torch.ones_like(self.std))
        return {}


def _mixture_log_prob(z, means, logvars, log_weights) -> torch.Tensor:
    """``log sum_k w_k N(z; mu_k, diag(exp(logvar_k)))`` for ``z (..., L)``, components ``(K, L)``, weights ``(K,)``."""
    d = z.unsqueeze(-2) - means  # (..., K, L)
    comp = -0.5 * (d**2 * torch.exp(-logvars) + logvars + math.log(2 * math.pi)).sum(-1)  # (..., K)
    return torch.logsumexp(comp + log_weights, dim=-1)


class MixtureOfGaussians(Prior):
    """``sum_k pi_k N(mu_k, diag(sigma_k^2))`` with learned weights, means and variances.

    Trained jointly with the model (its parameters are in the model's
    optimizer). The means start spread as draws from N(0, I), the variances
    at 1 and the weights equal, so it starts close to a standard normal
    stretched over the components.

    Examples
    --------
    >>> p = MixtureOfGaussians(latent_dim=2, components=3)
    >>> p.sample(4, torch.Generator().manual_seed(0)).shape, p.log_prob(torch.zeros(5, 2)).shape
    (torch.Size([4, 2]), torch.Size([5]))
    """

    def __init__(self, latent_dim: int, components: int, generator: torch.Generator | None = None):
        super().__init__()
        g = generator or torch.Generator().manual_seed(0)
        self.means = nn.Parameter(torch.randn(components, latent_dim, generator=g))  # (K, L)
        self.logvars = nn.Parameter(torch.zeros(components, latent_dim))  # (K, L)
        self.logits = nn.Parameter(torch.zeros(components))  # (K,)

    def _logvars(self) -> torch.Tensor:
        return self.logvars.clamp(-10.0, 5.0)  # keeps the density finite while it is trained

    def log_prob(self, z):
        return _mixture_log_prob(z, self.means, self._logvars(), F.log_softmax(self.logits, -1))

    @torch.no_grad()
    def sample(self, n, generator=None):
        k = torch.multinomial(F.softmax(self.logits, -1).cpu(), n, replacement=True, generator=generator)
        eps = torch.randn(n, self.means.shape[1], generator=generator).to(self.means.device)
        k = k.to(self.means.device)
        return self.means[k] + torch.exp(0.5 * self._logvars()[k]) * eps


class VampPrior(Prior):
    """``1/K sum_k q(z | u_k)``: the model's own posterior at ``K`` learned pseudo-inputs ``u_k``.

    The prior holds the pseudo-inputs; it reaches the encoder through
    ``posterior``, a function it is given (not a submodule, so the encoder's
    weights are saved once, under the model). The pseudo-inputs start at
    random training-like values in the model's space (N(0.5, 0.1) for [0, 1]
    data; the first batch of training replaces them with data rows).

    Examples
    --------
    >>> from latentlab.models.posterior import DiagonalGaussian
    >>> enc = lambda u: DiagonalGaussian(u[:, :2], torch.zeros(len(u), 2))  # posterior mean = first two inputs
    >>> p = VampPrior(enc, input_shape=(3,), components=4)
    >>> p.log_prob(torch.zeros(5, 2)).shape, p.sample(2, torch.Generator().manual_seed(0)).shape
    (torch.Size([5]), torch.Size([2, 2]))
    """

    def __init__(self, posterior, input_shape: tuple[int, ...], components: int):
        super().__init__()
        object.__setattr__(self, "_posterior", posterior)  # a function, kept out of the module tree
        self.pseudo_inputs = nn.Parameter(0.5 + 0.1 * torch.randn(components, *input_shape))  # (K, *input_shape)
        self.register_buffer("placed", torch.zeros(()))  # set once the pseudo-inputs were placed on data

    @torch.no_grad()
    def place(self, x: torch.Tensor) -> None:
        """Put the pseudo-inputs on rows of the first training batch (more rows than components: distinct ones)."""
        if bool(self.placed) or len(x) == 0:
            return
        k = self.pseudo_inputs.shape[0]
        rows = x[torch.arange(k, device=x.device) % len(x)]
        self.pseudo_inputs.copy_(torch.nan_to_num(rows).to(self.pseudo_inputs.dtype))
        self.placed.fill_(1.0)

    def _components(self):
        return self._posterior(self.pseudo_inputs)  # DiagonalGaussian with (K, L) parameters

    def log_prob(self, z):
        q = self._components()
        k = q.mean.shape[0]
        return _mixture_log_prob(z, q.mean, q.logvar, torch.full((k,), -math.log(k), dtype=z.dtype, device=z.device))

    @torch.no_grad()
    def sample(self, n, generator=None):
        q = self._components()
        k = torch.randint(q.mean.shape[0], (n,), generator=generator).to(q.mean.device)
        eps = torch.randn(n, q.mean.shape[1], generator=generator).to(q.mean.device)
        return q.mean[k] + q.std[k] * eps


class Categorical(Prior):
    """One categorical over ``k`` codes for each of ``groups`` positions, fitted to code counts.

    Examples
    --------
    >>> p = Categorical(groups=1, k=2)
    >>> _ = p.fit(torch.tensor([[0], [0], [0], [1]]))
    >>> [round(v, 2) for v in p.log_prior[0].exp().tolist()]  # counts, smoothed by 0.01
    [0.75, 0.25]
    """

    fitted = True
    discrete = True

    def __init__(self, groups: int, k: int):
        super().__init__()
        self.groups, self.k = groups, k
        self.register_buffer("log_prior", torch.full((groups, k), -float(np.log(k))))  # (G, K)

    def sample(self, n, generator=None):
        probs = self.log_prior.exp().cpu()  # (G, K)
        draws = [torch.multinomial(probs[g], n, replacement=True, generator=generator) for g in range(self.groups)]
        return torch.stack(draws, 1)  # (n, G)

    def log_prob(self, idx):
        return self.log_prior.gather(1, idx.long().T).sum(0)

    def group_probs(self, idx: torch.Tensor, g: int) -> np.ndarray:
        """``(n, K)`` float64 probabilities of group ``g`` given the groups before it in ``idx``."""
        with torch.inference_mode():
            p = self.log_prior[g].double().exp().expand(len(idx), -1)
        return np.ascontiguousarray(p.cpu().numpy(), dtype=np.float64)

    @torch.no_grad()
    def fit(self, idx, seed=None):
        idx = idx.long()
        counts = torch.stack([torch.bincount(idx[:, g], minlength=self.k) for g in range(self.groups)])
        probs = (counts.float() + 0.01) / (counts.sum(1, keepdim=True) + 0.01 * self.k)  # (G, K)
        self.log_prior.copy_(probs.log().to(self.log_prior.device))
        return {}


class AutoregressiveCategorical(Categorical):
    """Autoregressive logits over ``G`` code indices, each in ``0..K-1``.

    The logits of group ``g`` are the per-group log-prior ``(G, K)`` (the
    independent categorical, fitted to counts first) plus a one-hidden-layer
    MLP of the codes of the groups before it and of the position ``g``. The
    MLP's first layer acts on one-hot codes, so it is computed as a sum of
    embedding rows, summed over the earlier groups. The output layer starts
    at zero, so before fitting the model is the independent categorical.

    The MLP is fitted by the library's :class:`~latentlab.training.Trainer`
    (:meth:`loss` is its objective), early-stopped on a held-out tenth of the
    codes; if it never beats the independent categorical there, it is reset
    to it, so on held-out codes it is never worse.

    Examples
    --------
    >>> prior = AutoregressiveCategorical(groups=3, k=4, hidden=8)
    >>> idx = torch.tensor([[0, 1, 2], [3, 3, 3]])
    >>> prior.logits(idx).shape
    torch.Size([2, 3, 4])
    >>> bool(torch.allclose(prior.log_prob(idx), torch.full((2,), -3 * math.log(4))))
    True
    """

    #: L2 weight on the MLP's parameters, and the rest of its training recipe. Picked on held-out rows of
    #: the digits training split: L2 1e-2 beat 1e-3 and 1e-4 by about 0.5 bits per sample at every width
    #: from 32 to 256; 3e-2 shrinks it back to the independent prior.
    l2, lr, epochs, patience, batch_size = 1e-2, 3e-3, 400, 40, 2048

    def __init__(self, groups: int, k: int, hidden: int):
        super().__init__(groups, k)
        self.embed = nn.Embedding(groups * k, hidden)  # row j*K + c: code c in group j
        self.pos = nn.Parameter(torch.empty(groups, hidden))  # position g (and the first layer's bias)
        self.out = nn.Linear(hidden, k)
        self.register_buffer("offsets", torch.arange(groups) * k, persistent=False)
        self.register_buffer("earlier", torch.ones(groups, groups).tril(-1), persistent=False)  # [g, j] = j < g
        self.reset_parameters()
        self.requires_grad_(False)  # fitted after the model, never by the model's optimizer

    def reset_parameters(self) -> None:
        """Back to the start: first layer as nn.Linear initialises it, output layer zero."""
        bound = 1.0 / math.sqrt(self.groups * self.k + self.groups)  # fan-in of the one-hot input
        nn.init.uniform_(self.embed.weight, -bound, bound)
        nn.init.uniform_(self.pos, -bound, bound)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def mlp_state_names(self) -> tuple[str, ...]:
        """Names of the MLP's tensors (files from before it existed load with it at its start)."""
        return tuple(k for k in self.state_dict() if k != "log_prior")

    def logits(self, idx: torch.Tensor) -> torch.Tensor:
        """``(B, G, K)`` logits of each group given the groups before it in ``idx``."""
        e = self.embed(idx.long() + self.offsets)  # (B, G, H)
        before = torch.matmul(self.earlier, e)  # (B, G, H): sum over the groups j < g
        return self.log_prior + self.out(F.relu(before + self.pos))

    def log_prob(self, idx):
        logp = F.log_softmax(self.logits(idx), dim=-1)
        return logp.gather(2, idx.long().unsqueeze(2)).squeeze(2).sum(1)

    @torch.no_grad()
    def sample(self, n, generator=None):
        idx = torch.zeros(n, self.groups, dtype=torch.long, device=self.log_prior.device)
        for g in range(self.groups):
            probs = F.softmax(self.logits(idx)[:, g], dim=-1).cpu()
            idx[:, g] = torch.multinomial(probs, 1, generator=generator).reshape(-1).to(idx.device)
        return idx

    def group_probs(self, idx, g):
        with torch.inference_mode():
            p = F.softmax(self.logits(idx)[:, g].double(), dim=-1)
        return np.ascontiguousarray(p.cpu().numpy(), dtype=np.float64)

    def loss(self, batch: Batch) -> LossOutput:
        """Mean NLL of the code indices in ``batch.x``; in training, plus the L2 penalty (coupled weight decay)."""
        nll = -self.log_prob(batch.x).mean()
        if not self.training:
            return LossOutput(nll, {"nll": nll})
        l2 = 0.5 * self.l2 * sum(p.pow(2).sum() for p in (self.embed.weight, self.pos, self.out.weight, self.out.bias))
        return LossOutput(nll + l2, {"nll": nll})

    def fit(self, idx, seed=None):
        """Fit the counts, then the MLP on top of them; returns held-out bits per sample before and after."""
        super().fit(idx)
        self.reset_parameters()
        idx = idx.long().to(self.log_prior.device)
        n = idx.shape[0]
        g = torch.Generator().manual_seed(0 if seed is None else int(seed))
        perm = torch.randperm(n, generator=g)
        n_val = max(1, n // 10)
        val, train = idx[perm[:n_val]], (idx[perm[n_val:]] if n > 1 else idx)
        with torch.no_grad():
            start = float(-self.log_prob(val).mean())
        tc = TrainConfig(
            epochs=self.epochs, batch_size=min(self.batch_size, len(train)), lr=self.lr, validation_split=0.0,
            patience=self.patience, lr_schedule="none", seed=0 if seed is None else int(seed),
            device=str(self.log_prior.device), verbose=False,
        )
        self.requires_grad_(True)
        try:
            with torch.inference_mode(False), torch.enable_grad():
                Trainer(self, tc).fit(TensorData(train), TensorData(val))
        finally:
            self.requires_grad_(False)
        with torch.no_grad():
            best = float(-self.log_prob(val).mean())
        if not best < start:  # never worse than the independent prior on held-out codes
            self.reset_parameters()
            best = start
        return {"held_out_bits_independent": start / math.log(2), "held_out_bits": best / math.log(2)}


__all__ = [
    "Prior", "StandardNormal", "FittedGaussian", "MixtureOfGaussians", "VampPrior", "Categorical",
    "AutoregressiveCategorical",
]
