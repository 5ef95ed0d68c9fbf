"""MIG against disentanglement_lib's definition written out independently, and the sample-size bias of plug-in MI."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.apps.disentanglement import discretize, mig, mutual_information
from latentlab.data.shapes import DEFAULT_COUNTS


def reference_mig(mus: np.ndarray, ys: np.ndarray, num_bins: int = 20) -> float:
    """disentanglement_lib's ``_compute_mig``: histogram discretiser, discrete MI and entropy by counting, in nats."""
    d = np.stack([np.digitize(c, np.histogram(c, num_bins)[1][:-1]) for c in mus.T])  # (L, n), bins 1..20

    def entropy(a):
        p = np.unique(a, return_counts=True)[1] / len(a)
        return -np.sum(p * np.log(p))

    def mi(a, b):  # I(a; b) = H(a) + H(b) - H(a, b)
        joint = a.astype(np.int64) * (b.max() + 1) + b
        return entropy(a) + entropy(b) - entropy(joint)

    m = np.array([[mi(z, y) for y in ys.T] for z in d])  # (L, K)
    h = np.array([entropy(y) for y in ys.T])
    top = np.sort(m, axis=0)[::-1]
    return float(np.mean((top[0] - top[1]) / h))


def test_discretiser_is_disentanglement_libs_histogram():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((500, 3)) ** 3  # skewed, with outliers: equal-width bins over the range
    ref = np.stack([np.digitize(c, np.histogram(c, 20)[1][:-1]) for c in z.T], 1) - 1
    assert np.array_equal(discretize(z), ref)
    assert discretize(z).min() == 0 and discretize(z).max() == 19


def test_mig_equals_the_reference_on_a_model_like_code():
    """A code with partial, mixed and categorical structure (dSprites' shape factor is a 3-valued category)."""
    rng = np.random.default_rng(1)
    f = np.stack([rng.integers(0, k, 2000) for k in DEFAULT_COUNTS], 1)  # shape, scale, orientation, x, y
    z = rng.standard_normal((2000, 6))
    z[:, 0] += f[:, 3] * 0.5  # x position, noisy
    z[:, 1] += 0.3 * f[:, 3] + f[:, 4]  # y position mixed with a little x
    z[:, 2] = f[:, 0] + 0.1 * rng.standard_normal(2000)  # the shape category
    ours = mig(z, f)
    assert ours == pytest.approx(reference_mig(z, f), abs=1e-9)
    assert 0.1 < ours < 0.9


def test_plug_in_mi_needs_thousands_of_samples():
    """Why the benchmark scores MIG on 10,000 shapes: with 1,000, an unrelated code looks informative about position."""
    rng = np.random.default_rng(2)
    small, large = (rng.integers(0, 32, (n, 1)) for n in (1000, 10000))  # a position factor: 32 values
    bias_small = mutual_information(rng.standard_normal((1000, 1)), small)[0, 0]
    bias_large = mutual_information(rng.standard_normal((10000, 1)), large)[0, 0]
    assert bias_small > 0.15 > 0.05 > bias_large  # the (20 - 1)(32 - 1) / 2n bias: about 0.29 and 0.03 nats
