"""Conditional VAE: the label conditions both the encoder and the decoder.

Sohn, Lee & Yan, "Learning structured output representation using deep
conditional generative models", NIPS 2015. ``sample(n, y=k)`` generates
class ``k``. The base networks already take one-hot labels (``n_classes``);
this family makes them required and infers ``n_classes`` from ``y``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import register
from ..data.validation import check_labels
from ..errors import DataError
from .vae import VAE, VAEConfig


@dataclass(frozen=True)
class CVAEConfig(VAEConfig):
    """Config of :class:`ConditionalVAE`; ``n_classes=0`` is inferred from ``y`` at fit."""

    family = "cvae"


@register
class ConditionalVAE(VAE):
    """A VAE whose encoder and decoder both see a one-hot label.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 16)).astype("float32")
    >>> y = np.arange(200) % 3
    >>> cvae = latentlab.ConditionalVAE(latent_dim=2, hidden=(32,)).fit(X, y, epochs=3, verbose=False)
    >>> cvae.config.n_classes, cvae.sample(5, y=2, seed=0).shape
    (3, (5, 16))
    """

    config_class = CVAEConfig

    def fit(self, X, y=None, **kwargs):
        """Fit on ``X`` and its integer labels ``y`` (required); see :meth:`VAE.fit`."""
        if y is None:
            raise DataError("a conditional VAE needs labels: call fit(X, y) with integer classes 0..K-1.")
        if self.config.n_classes == 0:
            labels = check_labels(y, len(y))
            self.config = self.config.replace(n_classes=int(np.max(labels)) + 1 if labels.size else 1)
        return super().fit(X, y, **kwargs)
