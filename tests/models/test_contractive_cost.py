"""The contractive penalty on wide inputs costs a few forward passes, not a (batch, width, inputs) product (issue 37)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from latentlab.models.penalties import jacobian_frobenius_exact, jacobian_frobenius_mlp


def _flops(fn) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def test_penalty_on_784_inputs_costs_a_few_forward_passes():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 8))
    x = torch.rand(64, 784)
    forward = _flops(lambda: net(x))
    penalty = _flops(lambda: jacobian_frobenius_mlp(net, x))
    assert penalty < 10 * forward, (penalty, forward)  # the (B, 256, 784) product took over 100 forward passes


def test_fast_penalty_is_still_exact_on_a_wide_input_with_labels():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(50 + 3, 16), nn.Sigmoid(), nn.Linear(16, 4), nn.Tanh())
    x, labels = torch.rand(5, 50), torch.eye(3)[[0, 1, 2, 0, 1]]
    want = jacobian_frobenius_exact(lambda a: net(torch.cat([a, labels], dim=1)), x)
    torch.testing.assert_close(jacobian_frobenius_mlp(net, torch.cat([x, labels], 1), n_inputs=50), want,
                               rtol=1e-4, atol=1e-6)
    one = nn.Sequential(nn.Linear(6, 3))  # a single layer: the Jacobian is its weight
    torch.testing.assert_close(jacobian_frobenius_mlp(one, torch.rand(2, 6)), one[0].weight.pow(2).sum().repeat(2))
