"""Output likelihoods p(x | z): the decoder's raw output -> mean and NLL.

Bernoulli takes logits (output activation: sigmoid) and Gaussian takes the
mean (output activation: identity) with a fixed, one global learned, or a
per-feature learned variance.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Likelihood(nn.Module):
    """Interface: ``mean(params)`` and ``nll(params, x, mask)`` per sample.

    ``param_shape`` is the shape of the decoder's output for one sample
    (``input_shape``, or ``(2, *input_shape)`` when it also predicts a variance).
    """

    param_shape: tuple[int, ...] = ()

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def elementwise_nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def nll(self, params: torch.Tensor, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Negative log-likelihood summed over features, shape ``(B,)``.

        ``mask`` (same shape as ``x``, 1 = observed) drops entries from the sum:
        padding of sequences, or missing values.
        """
        e = self.elementwise_nll(params, x)  # (B, ...)
        if mask is not None:
            e = e * mask
        return e.reshape(e.shape[0], -1).sum(1)


class Bernoulli(Likelihood):
    """Bernoulli over [0, 1] inputs; the decoder outputs logits.

    Examples
    --------
    >>> round(float(Bernoulli().nll(torch.zeros(1, 1), torch.ones(1, 1))), 4)  # log 2
    0.6931
    """

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(params)

    def elementwise_nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(params, x, reduction="none")


class Gaussian(Likelihood):
    """Gaussian with fixed, global learned or per-feature learned variance.

    Examples
    --------
    >>> g = Gaussian(sigma=1.0)
    >>> round(float(g.nll(torch.zeros(1, 1), torch.ones(1, 1))), 4)  # 0.5 + 0.5 log(2 pi)
    1.4189
    """

    def __init__(self, variance: str = "fixed", sigma: float = 1.0, feature_shape: tuple[int, ...] = (),
                 start_from_data: bool = False):
        super().__init__()
        self.variance, self.start_from_data = variance, start_from_data
        self.param_shape = (2, *feature_shape) if variance == "decoder" else tuple(feature_shape)
        if variance == "decoder":
            return  # the decoder outputs the log standard deviations
        log_sigma = torch.full(feature_shape if variance == "per_feature" else (), math.log(sigma))
        if variance == "fixed":
            self.register_buffer("log_sigma", log_sigma)
        else:
            self.log_sigma = nn.Parameter(log_sigma)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return params[:, 0] if self.variance == "decoder" else params

    @torch.no_grad()
    def initialise(self, x: torch.Tensor) -> None:
        """Start a learned variance at the training data's own (per feature, or pooled), in the model's space.

        Adam moves a log standard deviation by about ``lr`` a step, so a start
        at ``sigma`` far from the data's spread would take thousands of steps
        to undo, and more in some scalings than in others.
        """
        if not self.start_from_data or self.variance not in ("global", "per_feature") or len(x) < 2:
            return
        var = torch.nan_to_num(x.double(), nan=0.0).var(0)  # (*feature_shape)
        var = var.mean() if self.variance == "global" else var
        self.log_sigma.copy_((0.5 * var.clamp_min(1e-6).log()).clamp(-7.0, 7.0).to(self.log_sigma))

    def elementwise_nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.variance == "decoder":
            params, log_sigma = params[:, 0], params[:, 1].clamp(-7.0, 7.0)
        else:
            log_sigma = self.log_sigma.clamp(-7.0, 7.0)
        return 0.5 * ((x - params) * torch.exp(-log_sigma)) ** 2 + log_sigma + 0.5 * math.log(2 * math.pi)


class Categorical(Likelihood):
    """Categorical over token ids: the decoder outputs logits ``(B, T, V)``, the data are ids ``(B, T)``.

    ``nll`` sums over the positions the mask keeps (a text's tokens and its
    end token, not the padding).

    Examples
    --------
    >>> nll = Categorical().nll(torch.zeros(1, 3, 4), torch.tensor([[1.0, 2.0, 0.0]]), torch.tensor([[1.0, 1.0, 0.0]]))
    >>> round(float(nll), 4)  # two kept tokens of uniform probability 1/4: 2 log 4
    2.7726
    """

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return params.argmax(-1)  # the most likely token at each position

    def elementwise_nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(params.transpose(1, 2), x.long(), reduction="none")  # (B, T)


def build_likelihood(config) -> Likelihood:
    """The likelihood named by ``config.likelihood`` / ``config.variance``."""
    if config.likelihood == "categorical":
        return Categorical()
    if config.likelihood == "bernoulli":
        b = Bernoulli()
        b.param_shape = tuple(config.input_shape)
        return b
    feature_shape = tuple(config.input_shape or ())
    # A learned variance starts at the data's own unless sigma was given: the start then is sigma.
    return Gaussian(config.variance, config.sigma, feature_shape, start_from_data=config.sigma == 1.0)
