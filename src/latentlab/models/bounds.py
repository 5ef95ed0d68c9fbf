"""Likelihood bounds of variational models, in the data's own units.

``log p(x) >= E_q[log p(x|z) + log p(z) - log q(z|x)]`` (the ELBO), and the
importance-sampled bound ``log 1/K sum_k p(x|z_k) p(z_k) / q(z_k|x)``, which
tightens to ``log p(x)`` as ``K`` grows (Burda, Grosse & Salakhutdinov,
"Importance weighted autoencoders", ICLR 2016). ``log p(z)`` is the model's
own prior (:mod:`latentlab.models.prior`), so mixture and VampPriors are
scored exactly as they are trained.

The networks see scaled data ``u = (x - offset) / scale``; a Gaussian
density of ``u`` is a density of ``x`` once the log-Jacobian
``-sum log scale`` is added, which these functions do. So the same data
scaled two ways give the same figure, comparable with scikit-learn's
``score``. A Bernoulli likelihood is a probability of the binary values, not
a density, and needs no correction.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..data.tensors import Batch
from ..errors import ConfigError

#: Importance samples (or ELBO draws) one call may take per sample. The bound gains little past a few
#: thousand; for more, call ``log_likelihood`` with several seeds and combine the results
#: (``logsumexp(lls, axis=0) - log(calls)``).
MAX_IMPORTANCE_SAMPLES = 100_000
#: Decoder outputs computed at once (about 4 MB of float32): samples and draws are taken in steps of this size.
STEP_VALUES = 1 << 20


def has_density(model) -> bool:
    """Whether the model's posterior has a density (``log_prob``), i.e. the bounds apply."""
    x = torch.zeros(1, *model.config.input_shape, device=model.device)
    y = torch.zeros(1, dtype=torch.long, device=model.device) if model.config.n_classes else None
    with torch.no_grad():
        return hasattr(model.eval().posterior(x, y), "log_prob")


def log_weights(model, x: torch.Tensor, y, k: int, generator=None, beta=1.0, inputs=None):
    """``(K, B)`` log weights ``log p(x|z) + beta (log p(z) - log q(z|x))`` for ``z ~ q(z|inputs)``.

    Also returns ``(K, B)`` ``log p(x|z)`` and ``log q(z|x) - log p(z)``. ``inputs``
    (default ``x``) is what the encoder sees: a corrupted copy when denoising.
    With ``generator=None`` the draws are reparameterised (differentiable), for training.
    """
    q = model.posterior(x if inputs is None else inputs, y)
    if generator is None:
        z = torch.stack([q.rsample() for _ in range(k)])  # (K, B, L)
    else:
        z = torch.stack([q.sample(generator) for _ in range(k)])
    kb = z.shape[0] * z.shape[1]
    flat = z.reshape(kb, -1)
    yk = None if y is None else y.repeat(k)
    xk = x.unsqueeze(0).expand(k, *x.shape).reshape(kb, *x.shape[1:])
    log_px = -model.decoded_nll(flat, Batch(xk, yk)).reshape(k, -1)  # (K, B)
    kl = q.log_prob(z) - model.prior.log_prob(z)  # (K, B) single-draw KL estimates
    return log_px - beta * kl, log_px, kl


def data_log_jacobian(model, x: torch.Tensor) -> torch.Tensor:
    """``-sum log scale`` over each sample's observed entries, ``(B,)``: 0 for a Bernoulli likelihood."""
    if model.config.likelihood in ("bernoulli", "categorical"):  # probabilities of discrete values
        return x.new_zeros(x.shape[0])
    log_scale = torch.from_numpy(np.log(model.scaler.scale_.astype(np.float64))).to(x.device)  # (*input_shape)
    observed = torch.isfinite(x).double()
    return -(observed * log_scale).reshape(x.shape[0], -1).sum(1)


def _prepare(model, X, y, k: int, what: str = "k"):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"{what}={k!r} must be a positive integer (number of importance samples).")
    if k > MAX_IMPORTANCE_SAMPLES:
        raise ConfigError(
            f"{what}={k:,} is more than {MAX_IMPORTANCE_SAMPLES:,} draws a sample (MAX_IMPORTANCE_SAMPLES); the bound "
            "gains little past a few thousand. For more, run in batches: call it with several seeds and combine, "
            "logsumexp(lls, axis=0) - log(len(lls)) for log_likelihood, the mean for the ELBO."
        )
    model.check_fitted()
    if not has_density(model):
        raise ConfigError(
            f"{type(model).__name__} has no posterior density; the ELBO and the likelihood bound need a VAE-like model."
        )
    x = model.to_model_space(X)
    return x, model.label_tensor(y, x.shape[0])


@torch.no_grad()
def bounds(model, X, y=None, *, k: int = 1000, seed: int = 0, batch: int | None = None,
           draw_values: int | None = None, step_values: int = STEP_VALUES, what: str = "k"
           ) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample ``(importance-sampled log-likelihood with k draws, ELBO)`` in nats, in the data's units.

    ``k`` is at most :data:`MAX_IMPORTANCE_SAMPLES` (``what`` names it in the
    error). The work goes in steps of about ``step_values`` decoder outputs
    (``draw_values`` per draw of one sample: its size by default, tokens x
    vocabulary for a text model): ``batch`` samples at a time, and when one
    sample's ``k`` draws alone are more than a step, its draws in parts (the
    same draws, in the same order, as in one go).
    """
    x, labels = _prepare(model, X, y, k, what)
    model.eval()
    gen = torch.Generator(device=model.device).manual_seed(int(seed))
    per_draw = max(1, int(draw_values or x[0].numel()))
    batch = batch or max(1, step_values // (k * per_draw))
    k_step = max(1, step_values // (batch * per_draw))  # >= k unless one batch's draws exceed a step
    ll, elbo = [], []
    for i in range(0, x.shape[0], batch):
        xb = x[i : i + batch].to(model.device)
        yb = None if labels is None else labels[i : i + batch].to(model.device)
        logw = torch.cat([log_weights(model, xb, yb, min(k_step, k - j), gen)[0].double()
                          for j in range(0, k, k_step)])  # (K, B)
        jac = data_log_jacobian(model, xb)
        ll.append((torch.logsumexp(logw.double(), 0) - math.log(k)) + jac)
        elbo.append(logw.double().mean(0) + jac)
    return torch.cat(ll).cpu().numpy(), torch.cat(elbo).cpu().numpy()


__all__ = ["has_density", "log_weights", "data_log_jacobian", "bounds", "MAX_IMPORTANCE_SAMPLES"]
