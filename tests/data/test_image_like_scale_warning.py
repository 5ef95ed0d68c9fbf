"""The absurd-row warning knows what image-like data look like (issue 37).

Raw pixels (0-255) with columns that are almost always 0 are not outliers;
the tests build sparse MNIST-like images here, nothing is downloaded.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from latentlab.data.validation import warn_absurd_rows
from latentlab.errors import DataWarning
from latentlab.estimators import AutoencoderTransformer


def mnist_like(n: int = 3000, seed: int = 0) -> np.ndarray:
    """Sparse 28x28 'digits': lit often in the centre, almost never at the edges, values 1-255."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    r = np.hypot(yy - 13.5, xx - 13.5).ravel()
    p = 0.45 * np.exp(-((r / 7.0) ** 4))
    lit = rng.random((n, 784)) < p
    values = np.where(rng.random((n, 784)) < 0.6, 255.0, rng.integers(1, 255, (n, 784)))
    return np.where(lit, values, 0.0).astype(np.float32)


def _messages(X, kind="minmax"):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_absurd_rows(X, kind)
    return [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


@pytest.mark.parametrize("seed", [3, 4])  # seeds on which the interpolated 1-99% range of a sparse pixel was ~0.01
@pytest.mark.parametrize("kind", ["minmax", "standard"])
def test_sparse_raw_pixels_are_not_absurd_rows(seed, kind):
    assert _messages(mnist_like(seed=seed), kind) == []


def test_near_constant_column_is_judged_against_the_data_scale():
    rng = np.random.default_rng(0)
    X = rng.random((500, 4))
    X[:, 2] = 0.0
    X[::20, 2] = 1e-9  # float noise: a bulk that spans a billionth of the data's scale
    X[7, 2] = 0.5  # an ordinary value for this data set, not an outlier
    assert _messages(X) == []


def test_absurd_row_in_image_like_data_still_warns():
    X = mnist_like(seed=3)
    X[11, 400] = 1e9
    X[12, 0] = 1e9  # in an edge pixel that is always 0
    (message,) = _messages(X)
    assert "2 row(s)" in message and "row 11, feature 400" in message


def test_transformer_fits_raw_pixels_without_a_data_warning():
    X = mnist_like(n=600, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        Z = AutoencoderTransformer(latent_dim=2, hidden=(8,), epochs=1, verbose=False, random_state=0).fit_transform(X)
    assert Z.shape == (600, 2)
