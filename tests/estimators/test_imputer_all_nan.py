"""The imputer refuses columns with no observed value instead of inventing their values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import latentlab
from latentlab.errors import DataError

QUICK = dict(epochs=1, hidden=(8,), latent_dim=2)


def test_a_column_entirely_nan_is_refused_at_fit_by_its_index():
    X = np.random.default_rng(0).random((40, 5))
    X[:, 3] = np.nan
    X[::4, 1] = np.nan  # partly missing: fine
    with pytest.raises(DataError, match=r"1 of 5 column\(s\) hold no observed value.*\[3\].*Drop"):
        latentlab.AutoencoderImputer(**QUICK).fit(X)


def test_all_nan_data_is_refused_naming_every_column():
    with pytest.raises(DataError, match=r"4 of 4 column\(s\).*\[0, 1, 2, 3\]"):
        latentlab.AutoencoderImputer(**QUICK).fit(np.full((20, 4), np.nan))


def test_a_dataframe_column_is_named_by_its_name():
    df = pd.DataFrame(np.random.default_rng(0).random((30, 3)), columns=["a", "b", "c"])
    df["b"] = np.nan
    with pytest.raises(DataError, match=r"\['b'\]"):
        latentlab.AutoencoderImputer(**QUICK).fit(df)


def test_a_column_missing_only_in_transform_is_filled_from_what_fit_learnt():
    X = np.random.default_rng(0).random((60, 4))
    imp = latentlab.AutoencoderImputer(**QUICK).fit(X)
    Y = X[:5].copy()
    Y[:, 2] = np.nan
    out = imp.transform(Y)
    assert np.isfinite(out).all() and np.allclose(out[:, [0, 1, 3]], Y[:, [0, 1, 3]], rtol=1e-6)
