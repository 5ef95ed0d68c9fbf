"""The ELBO and the importance-sampled log-likelihood of a variational model.

Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016:
with ``K`` draws ``z_k ~ q(z|x)``,

    log p(x) >= log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),

a bound that equals the ELBO (in expectation) at ``K = 1`` and tightens as
``K`` grows. Both are in nats per sample, in the model's scaled space, and
reproducible: draws come from a seeded ``torch.Generator``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..data.tensors import Batch
from ..errors import ConfigError


def has_density(model) -> bool:
    """Whether the model's posterior has a density (``log_prob``), i.e. the bounds apply."""
    x = torch.zeros(1, *model.config.input_shape, device=model.device)
    y = torch.zeros(1, dtype=torch.long, device=model.device) if model.config.n_classes else None
    with torch.no_grad():
        return hasattr(model.eval().posterior(x, y), "log_prob")


def _prepare(model, X, y, k: int):
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k={k!r} must be a positive integer (number of importance samples).")
    model.check_fitted()
    if not has_density(model):
        raise ConfigError(
            f"family {model.family!r} has no posterior density; the ELBO and the likelihood bound need a VAE-like model."
        )
    x = model.to_model_space(X)
    return x, model.label_tensor(y, x.shape[0])


@torch.no_grad()
def _log_weights(model, x, y, k: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(x|z_k) + log p(z_k) - log q(z_k|x) and the closed-form ELBO terms, for one batch."""
    q = model.posterior(x, y)
    logw, rec = [], []
    for _ in range(k):
        z = q.sample(gen)  # (B, L)
        log_px = -model.reconstruction(model.decode_params(z, y), Batch(x))  # (B,)
        logw.append(log_px + model.prior.log_prob(z) - q.log_prob(z))  # the model's own p(z)
        rec.append(log_px)
    return torch.stack(logw), torch.stack(rec).mean(0) - q.kl()  # (K, B), (B,)




def _run(model, X, y, k: int, seed: int, batch: int):
    x, labels = _prepare(model, X, y, k)
    model.eval()
    gen = torch.Generator(device=model.device).manual_seed(int(seed))
    nll, elbo = [], []
    for i in range(0, x.shape[0], batch):
        xb = x[i : i + batch].to(model.device)
        yb = None if labels is None else labels[i : i + batch].to(model.device)
        logw, e = _log_weights(model, xb, yb, k, gen)
        nll.append(-(torch.logsumexp(logw, 0) - math.log(k)))
        elbo.append(e)
    return torch.cat(nll).cpu().numpy().astype(np.float64), torch.cat(elbo).cpu().numpy().astype(np.float64)


def elbo(model, X, y=None, *, n_samples: int = 1, seed: int = 0, batch: int = 512) -> np.ndarray:
    """Per-sample ELBO: Monte-Carlo reconstruction term (``n_samples`` draws) minus the closed-form KL.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 8)).astype("float32")
    >>> vae = latentlab.VAE(latent_dim=2, hidden=(16,)).fit(X, epochs=2, verbose=False)
    >>> e = elbo(vae, X, n_samples=4)
    >>> e.shape, bool((e < 0).all())
    ((200,), True)
    """
    return _run(model, X, y, n_samples, seed, batch)[1]


def importance_nll(model, X, y=None, *, k: int = 100, seed: int = 0, batch: int = 512) -> np.ndarray:
    """Per-sample negative log-likelihood estimate from ``k`` importance samples (an upper bound on -log p(x)).

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 8)).astype("float32")
    >>> vae = latentlab.VAE(latent_dim=2, hidden=(16,)).fit(X, epochs=2, verbose=False)
    >>> bool(importance_nll(vae, X, k=50).mean() < -elbo(vae, X, n_samples=50).mean())
    True
    """
    return _run(model, X, y, k, seed, batch)[0]
