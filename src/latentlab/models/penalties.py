"""Loss terms shared by the regularised families: sparsity, MMD, Jacobian norms.

Each is a plain function of tensors, so tests can check it against a value
computed by hand and families only combine them.
"""

from __future__ import annotations

import torch
from torch import nn


def kl_sparsity(activations: torch.Tensor, rho: float, eps: float = 1e-6) -> torch.Tensor:
    """Sum over units of KL(rho || rho_hat_j), rho_hat_j the batch-mean activation.

    Ng, "Sparse autoencoder", CS294A lecture notes (2011). ``activations``
    are sigmoid outputs in (0, 1), shape ``(B, L)``.

    Examples
    --------
    >>> round(float(kl_sparsity(torch.full((4, 1), 0.5), 0.5)), 6)
    0.0
    >>> round(float(kl_sparsity(torch.full((4, 1), 0.5), 0.1)), 4)  # 0.1 log .2 + .9 log 1.8
    0.3681
    """
    rho_hat = activations.mean(0).clamp(eps, 1 - eps)  # (L,)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def l1_activity(activations: torch.Tensor) -> torch.Tensor:
    """Mean over samples of the L1 norm of the code, shape ``()``.

    Examples
    --------
    >>> float(l1_activity(torch.tensor([[1.0, -2.0], [0.0, 3.0]])))
    3.0
    """
    return activations.abs().sum(-1).mean()


# ------------------------------------------------------------------ kernels
def rbf_kernel(a: torch.Tensor, b: torch.Tensor, scale: float) -> torch.Tensor:
    """k(a, b) = exp(-||a - b||^2 / scale), the Gaussian kernel matrix ``(n, m)``.

    Examples
    --------
    >>> rbf_kernel(torch.zeros(1, 2), torch.ones(1, 2), 2.0)  # exp(-2 / 2)
    tensor([[0.3679]])
    """
    return torch.exp(-torch.cdist(a, b).pow(2) / scale)


def imq_kernel(a: torch.Tensor, b: torch.Tensor, scale: float) -> torch.Tensor:
    """k(a, b) = C / (C + ||a - b||^2), the inverse multiquadratic kernel ``(n, m)``.

    Examples
    --------
    >>> imq_kernel(torch.zeros(1, 2), torch.ones(1, 2), 2.0)  # 2 / (2 + 2)
    tensor([[0.5000]])
    """
    return scale / (scale + torch.cdist(a, b).pow(2))


KERNELS = {"rbf": rbf_kernel, "imq": imq_kernel}


def mmd(x: torch.Tensor, y: torch.Tensor, kernel: str = "imq", scale: float | None = None) -> torch.Tensor:
    """Unbiased estimate of MMD^2 between samples ``x (n, d)`` and ``y (m, d)``.

    Tolstikhin et al., "Wasserstein Auto-Encoders", ICLR 2018 (Algorithm 2).
    ``scale`` defaults to ``2 * d``, the paper's ``C = 2 d sigma^2`` for a
    unit-variance prior.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> a = torch.randn(200, 2, generator=g)
    >>> float(mmd(a, a + 3.0)) > 10 * abs(float(mmd(a[:100], a[100:])))
    True
    """
    n, m, d = x.shape[0], y.shape[0], x.shape[1]
    c = float(2 * d if scale is None else scale)
    k = KERNELS[kernel]
    kxx, kyy, kxy = k(x, x, c), k(y, y, c), k(x, y, c)
    sxx = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    syy = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return sxx + syy - 2 * kxy.mean()


# ---------------------------------------------------------------- Jacobians
def jacobian_frobenius_exact(f, x: torch.Tensor) -> torch.Tensor:
    """Per-sample ``||d f(x) / dx||_F^2`` by one backward pass per code unit, ``(B,)``.

    Exact for any network whose samples do not interact; cost grows with
    the code size, so it suits small codes. Differentiable (``create_graph``).

    Examples
    --------
    >>> w = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> jacobian_frobenius_exact(lambda x: x @ w.T, torch.zeros(1, 2))  # 1 + 4 + 9 + 16
    tensor([30.])
    """
    with torch.enable_grad():  # also inside no_grad evaluation
        x = x if x.requires_grad else x.detach().requires_grad_(True)
        z = f(x)  # (B, L)
        total = x.new_zeros(x.shape[0])
        for k in range(z.shape[1]):
            (g,) = torch.autograd.grad(z[:, k].sum(), x, create_graph=True)
            total = total + g.reshape(g.shape[0], -1).pow(2).sum(1)
    return total


def jacobian_frobenius_mlp(net: nn.Sequential, x: torch.Tensor, n_inputs: int | None = None) -> torch.Tensor:
    """Per-sample ``||dz/dx||_F^2`` of an MLP (Linear / elementwise activation layers), exactly, ``(B,)``.

    The Jacobian of ``W_L a(W_{L-1} ... a(W_1 x))`` is ``J = W_L D_{L-1}
    W_{L-1} ... D_1 W_1`` with ``D_i`` the diagonal of activation slopes
    (from autograd, so any elementwise activation works). The product is
    taken from the code side, ``A = W_L D_{L-1} ... D_1``, a ``(B, code,
    h_1)`` tensor, and the input side enters through the Gram matrix ``G =
    W_1 W_1^T`` computed once per batch: ``||J||_F^2 = sum(A G * A)``. Nothing
    of size ``(B, width, D)`` is formed, so wide inputs (784 pixels) cost
    about as much as narrow ones. For one sigmoid layer this is Rifai et al.
    (ICML 2011)'s closed form ``sum_j (h_j (1 - h_j))^2 sum_i W_ji^2``.
    ``n_inputs`` keeps only the first columns of the first layer (extra
    inputs such as labels are not differentiated).

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    >>> x = torch.randn(5, 3)
    >>> exact = jacobian_frobenius_exact(net, x)
    >>> bool(torch.allclose(jacobian_frobenius_mlp(net, x), exact, atol=1e-5))
    True
    """
    h = x.reshape(x.shape[0], -1)
    steps: list[tuple[str, torch.Tensor]] = []  # ("linear", W) or ("slope", a'(u) of shape (B, width))
    for layer in net:
        if isinstance(layer, nn.Linear):
            steps.append(("linear", layer.weight))
            h = layer(h)
        else:
            if not steps:
                raise ValueError("net must start with a Linear layer")
            u = h if h.requires_grad else h.detach().requires_grad_(True)
            with torch.enable_grad():
                out = layer(u)
                (slope,) = torch.autograd.grad(out.sum(), u, create_graph=True)  # elementwise a'(u)
            steps.append(("slope", slope))
            h = out
    if not steps:
        raise ValueError("net has no Linear layer")
    first = steps[0][1] if n_inputs is None else steps[0][1][:, :n_inputs]  # (h_1, D)
    A: torch.Tensor | None = None  # (B, code, width): the product from the code side down to the current layer
    for kind, t in reversed(steps[1:]):
        if kind == "linear":
            A = t.unsqueeze(0).expand(x.shape[0], -1, -1) if A is None else torch.matmul(A, t)
        else:
            A = torch.diag_embed(t) if A is None else A * t.unsqueeze(1)
    if A is None:  # a single Linear layer: the Jacobian is W_1 for every sample
        return first.pow(2).sum().expand(x.shape[0])
    gram = first @ first.T  # (h_1, h_1)
    return (torch.matmul(A, gram) * A).sum((1, 2))
