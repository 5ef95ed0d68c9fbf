"""Contractive autoencoder: penalise the Frobenius norm of the encoder's Jacobian.

Rifai et al., "Contractive auto-encoders: explicit invariance during feature
extraction", ICML 2011. The penalty ``||dz/dx||_F^2`` makes the code locally
insensitive to input directions the data does not vary along.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import check_choice, check_nonneg_float, register
from ..data.tensors import Batch
from ..errors import ConfigError
from ..training.options import LossOutput
from .ae import AEConfig, Autoencoder
from .penalties import jacobian_frobenius_exact, jacobian_frobenius_mlp


@dataclass(frozen=True)
class ContractiveConfig(AEConfig):
    """Config of :class:`ContractiveAutoencoder`.

    Parameters
    ----------
    contractive_weight : float
        Weight of the mean squared Jacobian norm.
    jacobian : {'auto', 'mlp', 'exact'}
        'mlp': the closed-form product of layer Jacobians, one pass for any
        code size (MLP encoders only); 'exact': one backward pass per code
        unit, for any architecture (best for small codes); 'auto' picks
        'mlp' for MLP encoders and 'exact' otherwise.
    """

    family = "contractive"
    # The plain AE's tuned defaults (deeper SiLU net, input noise) are not this family's.
    hidden: tuple[int, ...] = (256, 128)
    activation: str = "relu"
    noise: str = "none"
    noise_level: float = 0.0
    contractive_weight: float = 0.01
    jacobian: str = "auto"

    def validate(self) -> None:
        super().validate()
        check_nonneg_float("contractive_weight", self.contractive_weight)
        check_choice("jacobian", self.jacobian, ("auto", "mlp", "exact"))
        if self.jacobian == "mlp" and self.architecture != "mlp":
            raise ConfigError("jacobian='mlp' needs architecture='mlp'; use jacobian='exact' or 'auto'.")


@register
class ContractiveAutoencoder(Autoencoder):
    """Autoencoder with a penalty on the encoder Jacobian's Frobenius norm.

    Examples
    --------
    >>> import numpy as np, latentlab
    >>> X = np.random.default_rng(0).random((200, 16)).astype("float32")
    >>> cae = latentlab.ContractiveAutoencoder(latent_dim=2, hidden=(32,)).fit(X, epochs=3, verbose=False)
    >>> cae.jacobian_norm(X[:4]).shape
    (4,)
    """

    config_class = ContractiveConfig

    def jacobian_sq_norm(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``||d code / d x||_F^2`` per sample in model space, ``(B,)``."""
        extra = self.labels(y, x.shape[0])
        method = self.config.jacobian
        if method == "auto":
            method = "mlp" if self.config.architecture == "mlp" else "exact"
        if method == "mlp":
            flat = x.reshape(x.shape[0], -1)  # (B, D)
            inp = flat if extra is None else torch.cat([flat, extra], dim=1)
            return jacobian_frobenius_mlp(self.encoder.net, inp, n_inputs=flat.shape[1])
        return jacobian_frobenius_exact(lambda a: self.encoder(a, extra), x)

    def loss(self, batch: Batch) -> LossOutput:
        x = self.corrupt(batch.x)
        code = self.posterior(x, batch.y).mean  # (B, L)
        rec = self.reconstruction(self.decode_params(code, batch.y), batch).mean()
        jac = self.jacobian_sq_norm(x, batch.y).mean()
        return LossOutput(rec + self.config.contractive_weight * jac, {"reconstruction": rec, "jacobian": jac})

    def jacobian_norm(self, X, y=None):
        """Frobenius norm of the encoder Jacobian at each sample (model space), ``(n,)``."""
        self.check_fitted()
        x = self.to_model_space(X)
        yt = self.label_tensor(y, x.shape[0])
        self.eval()
        out = []
        for i in range(0, x.shape[0], 1024):  # chunks keep the Jacobian products small
            part = None if yt is None else yt[i : i + 1024].to(self.device)
            out.append(self.jacobian_sq_norm(x[i : i + 1024].to(self.device), part).sqrt().detach().cpu())
        return torch.cat(out).numpy()
