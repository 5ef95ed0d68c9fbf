"""Vector-quantised VAE: a learned codebook, commitment loss, straight-through gradient.

van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation
Learning", NeurIPS 2017. The encoder output (``latent_dim`` values) is cut
into ``latent_dim / code_dim`` groups; each is replaced by its nearest of
``codebook_size`` vectors. Codes unused for ``restart_every`` steps are
restarted at random encoder outputs of the current batch (Dhariwal et al.,
"Jukebox", 2020), which also initialises the codebook at the first step.

Sampling draws codes from a prior fitted to the training codes after the
VQ-VAE itself has been trained. With ``prior='independent'`` that is one
categorical per group. With ``prior='autoregressive'`` (the default) it is
``p(c_1) p(c_2 | c_1) ... p(c_G | c_<G)``: a small masked MLP
(:class:`CodePrior`) adds context-dependent logits to the per-group
categorical. Its output layer starts at zero, so it starts as the independent
prior, and it is early-stopped on held-out training codes, so on those codes
it is never worse. Its negative log-likelihood is the rate an entropy coder
would reach (:meth:`VQVAE.code_bits`), well under the fixed
``G log2 K`` bits when the groups depend on each other.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import _check_choice, _check_nonneg_float, _check_positive_int, register
from ..errors import ConfigError
from ..training.trainer import Batch, LossOutput, TensorData
from .ae import AEConfig, Autoencoder
from .posterior import Deterministic


@dataclass(frozen=True)
class VQVAEConfig(AEConfig):
    """Config of :class:`VQVAE`.

    Parameters
    ----------
    codebook_size : int
        K, the number of code vectors.
    code_dim : int
        Size of each code vector; ``latent_dim`` must be a multiple of it.
    commitment : float
        beta, the weight of ``||z_e - sg[e]||^2``.
    restart_every : int
        Training steps between dead-code restarts (0 disables them).
    prior : str
        'autoregressive' (a masked MLP over the groups' codes, fitted after
        training) or 'independent' (one categorical per group).
    prior_hidden : int
        Width of the autoregressive prior's hidden layer.
    """

    family = "vqvae"
    # The plain AE's tuned defaults (deeper SiLU net, input noise) are not this family's.
    hidden: tuple[int, ...] = (256, 128)
    activation: str = "relu"
    noise: str = "none"
    noise_level: float = 0.0
    latent_dim: int = 8
    codebook_size: int = 32
    code_dim: int = 2
    commitment: float = 0.25
    restart_every: int = 50
    prior: str = "autoregressive"
    prior_hidden: int = 128

    def validate(self) -> None:
        super().validate()
        _check_choice("prior", self.prior, ("autoregressive", "independent"))
        _check_positive_int("prior_hidden", self.prior_hidden)
        _check_positive_int("codebook_size", self.codebook_size)
        _check_positive_int("code_dim", self.code_dim)
        _check_positive_int("restart_every", self.restart_every, allow_zero=True)
        _check_nonneg_float("commitment", self.commitment)
        if self.latent_dim % self.code_dim:
            raise ConfigError(
                f"latent_dim={self.latent_dim} is not a multiple of code_dim={self.code_dim}; "
                "the code is cut into latent_dim / code_dim vectors."
            )


@dataclass
class Quantized:
    """Result of :meth:`VQVAE.quantize`: straight-through code, indices and loss terms."""

    code: torch.Tensor  # (B, latent_dim) z_e + sg[z_q - z_e]
    indices: torch.Tensor  # (B, G)
    codebook_loss: torch.Tensor  # () mean over samples of ||sg[z_e] - z_q||^2
    commitment_loss: torch.Tensor  # () mean over samples of ||z_e - sg[z_q]||^2
    perplexity: torch.Tensor  # () exp(entropy of code usage in the batch)


def perplexity(indices: torch.Tensor, k: int) -> torch.Tensor:
    """exp(entropy) of the empirical code distribution: K when all are used evenly.

    Examples
    --------
    >>> float(perplexity(torch.tensor([0, 1, 2, 3]), 8))
    4.0
    """
    p = torch.bincount(indices.reshape(-1), minlength=k).float() / indices.numel()
    return torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum())


class CodePrior(nn.Module):
    """Autoregressive logits over ``G`` code indices, each in ``0..K-1``.

    The logits of group ``g`` are a per-group ``bias`` ``(G, K)`` (the
    independent log-prior, which the caller owns and passes in) plus a
    one-hidden-layer MLP of the codes of the groups before it and of the
    position ``g``. The MLP's first layer acts on one-hot codes, so it is
    computed as a sum of embedding rows, summed over the earlier groups. The
    output layer starts at zero, so before fitting the model is the
    independent categorical given by ``bias``.

    Examples
    --------
    >>> prior = CodePrior(groups=3, k=4, hidden=8)
    >>> idx, uniform = torch.tensor([[0, 1, 2], [3, 3, 3]]), torch.full((3, 4), -math.log(4))
    >>> prior.logits(idx, uniform).shape
    torch.Size([2, 3, 4])
    >>> bool(torch.allclose(prior.log_prob(idx, uniform), torch.full((2,), -3 * math.log(4))))
    True
    """

    def __init__(self, groups: int, k: int, hidden: int):
        super().__init__()
        self.groups, self.k = groups, k
        self.embed = nn.Embedding(groups * k, hidden)  # row j*K + c: code c in group j
        self.pos = nn.Parameter(torch.empty(groups, hidden))  # position g (and the first layer's bias)
        self.out = nn.Linear(hidden, k)
        self.register_buffer("offsets", torch.arange(groups) * k, persistent=False)
        self.register_buffer("earlier", torch.ones(groups, groups).tril(-1), persistent=False)  # [g, j] = j < g
        self.reset_parameters()
        self.requires_grad_(False)  # fitted by fit() after the VQ-VAE, never by the VQ-VAE's optimizer

    def reset_parameters(self) -> None:
        """Back to the start: first layer as nn.Linear initialises it, output layer zero."""
        bound = 1.0 / math.sqrt(self.groups * self.k + self.groups)  # fan-in of the one-hot input
        nn.init.uniform_(self.embed.weight, -bound, bound)
        nn.init.uniform_(self.pos, -bound, bound)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def logits(self, idx: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``(B, G, K)`` logits of each group given the groups before it in ``idx``."""
        e = self.embed(idx.long() + self.offsets)  # (B, G, H)
        before = torch.matmul(self.earlier, e)  # (B, G, H): sum over the groups j < g
        return bias + self.out(F.relu(before + self.pos))

    def log_prob(self, idx: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``log p(idx)`` per sample, in nats, ``(B,)``."""
        logp = F.log_softmax(self.logits(idx, bias), dim=-1)
        return logp.gather(2, idx.long().unsqueeze(2)).squeeze(2).sum(1)

    @torch.no_grad()
    def sample(self, n: int, bias: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, G)`` code indices drawn group by group."""
        idx = torch.zeros(n, self.groups, dtype=torch.long, device=bias.device)
        for g in range(self.groups):
            probs = F.softmax(self.logits(idx, bias)[:, g], dim=-1).cpu()
            idx[:, g] = torch.multinomial(probs, 1, generator=generator).reshape(-1).to(idx.device)
        return idx

    def fit(
        self,
        idx: torch.Tensor,
        bias: torch.Tensor,
        generator: torch.Generator | None = None,
        steps: int = 400,
        patience: int = 40,
        batch: int = 2048,
        lr: float = 3e-3,
        weight_decay: float = 1e-2,
    ) -> dict[str, float]:
        """Fit the MLP to code indices ``idx (N, G)`` on top of ``bias``, which is left as it is.

        A tenth of the rows (at least one) is held out; training stops when its
        NLL has not improved for ``patience`` steps and keeps the best weights.
        Returns the held-out NLL in bits per sample before and after. The
        defaults were picked on held-out rows of the digits training split
        (L2 weight decay 1e-2 beat 1e-3 and 1e-4 by about 0.5 bits per sample
        at every width from 32 to 256; 3e-2 shrinks it back to the independent prior).
        """
        n = idx.shape[0]
        perm = torch.randperm(n, generator=generator)
        n_val = max(1, n // 10)
        val, train = idx[perm[:n_val]], idx[perm[n_val:]] if n > 1 else idx
        self.requires_grad_(True)
        opt = torch.optim.Adam(self.parameters(), lr=lr, weight_decay=weight_decay)

        def val_nll() -> float:
            with torch.no_grad():
                return float(-self.log_prob(val, bias).mean())

        start = best = val_nll()
        best_state, since = copy.deepcopy(self.state_dict()), 0
        for _ in range(steps):
            rows = train if len(train) <= batch else train[torch.randint(len(train), (batch,), generator=generator)]
            loss = -self.log_prob(rows, bias).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            now = val_nll()
            if now < best - 1e-6:
                best, best_state, since = now, copy.deepcopy(self.state_dict()), 0
            else:
                since += 1
                if since >= patience:
                    break
        self.load_state_dict(best_state)
        self.requires_grad_(False)
        return {"held_out_bits_independent": start / math.log(2), "held_out_bits": best / math.log(2)}


@register
class VQVAE(Autoencoder):
    """Autoencoder with a discrete, vector-quantised code.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 16)).astype("float32")
    >>> vq = latentlab.VQVAE(latent_dim=4, code_dim=2, codebook_size=8, hidden=(32,)).fit(X, epochs=3, verbose=False)
    >>> vq.code_indices(X[:3]).shape, vq.sample(2, seed=0).shape
    ((3, 2), (2, 16))
    """

    config_class = VQVAEConfig

    @property
    def n_groups(self) -> int:
        return self.config.latent_dim // self.config.code_dim

    def build_extra(self) -> None:
        k, c = self.config.codebook_size, self.config.code_dim
        self.codebook = nn.Parameter(torch.empty(k, c).uniform_(-1.0 / k, 1.0 / k))  # (K, C)
        self.register_buffer("code_log_prior", torch.full((self.n_groups, k), -float(np.log(k))))  # (G, K)
        if self.config.prior == "autoregressive":
            self.code_prior = CodePrior(self.n_groups, k, self.config.prior_hidden)
        # Set once the codebook has been placed on encoder outputs (first training step); saved, so a
        # loaded model that trains on keeps its codebook.
        self.register_buffer("initialised", torch.zeros(()))
        self.register_buffer("usage", torch.zeros(k), persistent=False)  # hits since the last restart
        self.register_buffer("steps", torch.zeros((), dtype=torch.long), persistent=False)

    # ---------------------------------------------------------- quantizing
    def nearest(self, z_e: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code vector for each group, ``(B, G)``."""
        flat = z_e.reshape(-1, self.config.code_dim)  # (B*G, C)
        d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T + self.codebook.pow(2).sum(1)  # (B*G, K)
        return d.argmin(1).reshape(z_e.shape[0], self.n_groups)

    def quantize(self, z_e: torch.Tensor) -> Quantized:
        """Replace each group of ``z_e (B, latent_dim)`` by its nearest code vector."""
        idx = self.nearest(z_e)  # (B, G)
        z_q = F.embedding(idx, self.codebook).reshape(z_e.shape)  # (B, latent_dim)
        codebook_loss = (z_q - z_e.detach()).pow(2).sum(1).mean()
        commitment = (z_e - z_q.detach()).pow(2).sum(1).mean()
        code = z_e + (z_q - z_e).detach()  # straight-through: forward z_q, gradient to z_e
        return Quantized(code, idx, codebook_loss, commitment, perplexity(idx, self.config.codebook_size))

    def posterior(self, x, y=None) -> Deterministic:
        z_e = self.encoder(x, self.labels(y, x.shape[0]))
        return Deterministic(self.quantize(z_e).code)

    @torch.no_grad()
    def restart_dead_codes(self, z_e: torch.Tensor, generator: torch.Generator | None = None) -> int:
        """Move codes unused since the last restart onto random encoder outputs; returns how many."""
        dead = (self.usage == 0).nonzero().reshape(-1)
        if dead.numel():
            pool = z_e.detach().reshape(-1, self.config.code_dim)  # (B*G, C)
            pick = torch.randint(pool.shape[0], (dead.numel(),), generator=generator).to(pool.device)
            jitter = 0.01 * pool.std() * torch.randn(dead.numel(), pool.shape[1], generator=generator).to(pool.device)
            self.codebook[dead] = pool[pick] + jitter
        self.usage.zero_()
        return int(dead.numel())

    def loss(self, batch: Batch) -> LossOutput:
        z_e = self.encoder(self.corrupt(batch.x), self.labels(batch.y, batch.x.shape[0]))  # (B, latent_dim)
        if self.training and self.config.restart_every:
            if not self.initialised:  # data-dependent start: every code on an encoder output
                self.usage.zero_()
                self.restart_dead_codes(z_e)
                self.initialised.fill_(1.0)
            elif int(self.steps) > 0 and int(self.steps) % self.config.restart_every == 0:
                self.restart_dead_codes(z_e)
        q = self.quantize(z_e)
        if self.training:
            self.steps += 1
            self.usage += torch.bincount(q.indices.reshape(-1), minlength=self.config.codebook_size)
        rec = self.reconstruction(self.decode_params(q.code, batch.y), batch).mean()
        total = rec + q.codebook_loss + self.config.commitment * q.commitment_loss
        parts = {"reconstruction": rec, "codebook": q.codebook_loss, "commitment": q.commitment_loss}
        return LossOutput(total, {**parts, "perplexity": q.perplexity})

    # ---------------------------------------------------------------- prior
    @property
    def optional_tensors(self) -> tuple[str, ...]:
        """Files from before the autoregressive prior load with it at its start: the independent prior."""
        if not hasattr(self, "code_prior"):
            return ()
        return tuple(f"code_prior.{k}" for k in self.code_prior.state_dict())

    def on_fit_end(self, train: TensorData) -> None:
        super().on_fit_end(train)
        idx = self._batched(lambda x, y: self.nearest(self.encoder(x, self.labels(y, x.shape[0]))), train.x, train.y)
        counts = torch.stack([torch.bincount(idx[:, g].long(), minlength=self.config.codebook_size) for g in range(self.n_groups)])
        probs = (counts.float() + 0.01) / (counts.sum(1, keepdim=True) + 0.01 * self.config.codebook_size)  # (G, K)
        self.code_log_prior.copy_(probs.log().to(self.code_log_prior.device))
        prior = getattr(self, "code_prior", None)
        if prior is not None:
            prior.reset_parameters()
            seed = self.train_config.seed if self.train_config is not None else None
            g = torch.Generator().manual_seed(0 if seed is None else int(seed))
            with torch.inference_mode(False), torch.enable_grad():
                self.prior_fit_ = prior.fit(idx.clone().to(self.code_log_prior.device), self.code_log_prior, generator=g)

    def prior_sample(self, n, generator=None):
        prior = getattr(self, "code_prior", None)
        if prior is not None:
            idx = prior.sample(n, self.code_log_prior, generator)
        else:
            probs = self.code_log_prior.exp().cpu()  # (G, K)
            idx = torch.stack([torch.multinomial(probs[g], n, replacement=True, generator=generator) for g in range(self.n_groups)], 1)
        return self.code_vectors(idx)

    def code_vectors(self, idx: torch.Tensor) -> torch.Tensor:
        """The quantised code ``(n, latent_dim)`` made of the codebook vectors at ``idx (n, groups)``."""
        return F.embedding(idx.to(self.codebook.device), self.codebook).reshape(len(idx), self.config.latent_dim)

    def code_bits(self, X, y=None) -> np.ndarray:
        """Bits per sample of the codes of ``X`` under the prior: the rate an entropy coder reaches.

        Compare with ``latent_dim / code_dim * log2(codebook_size)`` bits for fixed-length codes.
        """
        idx = torch.from_numpy(self.code_indices(X, y)).to(self.code_log_prior.device)
        prior = getattr(self, "code_prior", None)
        with torch.inference_mode():
            if prior is not None:
                nats = -prior.log_prob(idx, self.code_log_prior)
            else:
                nats = -self.code_log_prior.gather(1, idx.T).sum(0)
        return (nats / math.log(2)).cpu().numpy().astype(np.float64)

    # -------------------------------------------------------------- reports
    def code_indices(self, X, y=None) -> np.ndarray:
        """Codebook index of each group for each sample, ``(n, latent_dim / code_dim)``."""
        self._check_fitted()
        x = self._to_model_space(X)
        fn = lambda a, b: self.nearest(self.encoder(a, self.labels(b, a.shape[0])))  # noqa: E731
        return self._batched(fn, x, self._labels(y, x.shape[0])).numpy().astype(np.int64)

    def codebook_stats(self, X, y=None) -> dict[str, float]:
        """Perplexity (effective number of codes), fraction of codes used, and dead codes on ``X``."""
        idx = torch.from_numpy(self.code_indices(X, y))
        k = self.config.codebook_size
        used = int((torch.bincount(idx.reshape(-1), minlength=k) > 0).sum())
        return {"perplexity": float(perplexity(idx, k)), "usage": used / k, "dead_codes": k - used}
