"""The imputer: masked loss and masking noise while training, iterative refinement through the decoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.impute import SimpleImputer

import latentlab
from latentlab.cli import main
from latentlab.estimators import AutoencoderImputer
from latentlab.training.trainer import Batch

SMALL = dict(hidden=(128,), latent_dim=12, epochs=40)


def _mcar(X, rate, seed):
    Xm = X.astype(np.float64).copy()
    Xm[np.random.default_rng(seed).random(X.shape) < rate] = np.nan
    return Xm


@pytest.fixture(scope="module")
def fitted(digits):
    Xtr = digits[0]
    return AutoencoderImputer(**SMALL).fit(_mcar(Xtr, 0.2, 1))  # trained on incomplete data


@pytest.mark.slow
def test_beats_mean_imputation_and_keeps_observed_entries(fitted, digits):
    Xte = digits[1]
    Xm = _mcar(Xte, 0.2, 2)
    miss = np.isnan(Xm)
    filled = fitted.transform(Xm)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~miss], Xm[~miss])
    rmse = np.sqrt(np.mean((filled[miss] - Xte[miss]) ** 2))
    mean_rmse = np.sqrt(np.mean((SimpleImputer().fit(_mcar(digits[0], 0.2, 1)).transform(Xm)[miss] - Xte[miss]) ** 2))
    assert rmse < 0.9 * mean_rmse
    fitted.n_iter_ = 1  # a single pass through the decoder, no refinement
    try:
        one_pass = fitted.transform(Xm)
    finally:
        fitted.n_iter_ = fitted.max_iter
    assert np.sqrt(np.mean((one_pass[miss] - Xte[miss]) ** 2)) < 0.9 * mean_rmse


@pytest.mark.slow
def test_statistics_are_the_observed_column_means(fitted, digits):
    Xm = _mcar(digits[0], 0.2, 1)
    np.testing.assert_allclose(fitted.statistics_, np.nanmean(Xm, 0), atol=1e-5)


@pytest.mark.slow
def test_masked_loss_ignores_missing_entries(fitted):
    model = fitted.model_.eval()
    x = torch.rand(4, 64)
    mask = torch.ones(4, 64)
    mask[:, :10] = 0
    params = model.decode_params(model.posterior(x).mean)
    garbage = x.clone()
    garbage[:, :10] = 100.0  # what the target holds where the mask is 0 must not matter
    a = model.reconstruction(params, Batch(x, None, mask))
    b = model.reconstruction(params, Batch(garbage, None, mask))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, model.reconstruction(params, Batch(x)))


@pytest.mark.slow
def test_rows_without_missing_values_pass_through(fitted, digits):
    X = digits[1][:10].astype(np.float64)
    np.testing.assert_array_equal(fitted.transform(X), X)


def test_refinement_is_deterministic_and_all_missing_columns_are_refused(digits):
    Xm = _mcar(digits[0][:300, 16:40], 0.3, 0)  # 24 columns: every partner, in a few seconds
    imp = AutoencoderImputer(hidden=(16,), epochs=2, max_iter=2)
    a, b = imp.fit_transform(Xm), AutoencoderImputer(hidden=(16,), epochs=2, max_iter=2).fit_transform(Xm)
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a).all() and imp.n_iter_ == 2
    Xm[:, 5] = np.nan  # a column with no observed value at all: its values could only be invented
    with pytest.raises(latentlab.DataError, match=r"no observed value.*\[5\]"):
        AutoencoderImputer(hidden=(16,), epochs=2).fit(Xm)


@pytest.mark.slow
def test_refuses_wrong_width_and_inf(fitted):
    with pytest.raises(latentlab.DataError, match="features"):
        fitted.transform(np.zeros((2, 10)))
    bad = np.zeros((2, 64))
    bad[0, 0] = np.inf
    with pytest.raises(latentlab.DataError, match="infinity"):
        fitted.transform(bad)


def test_cli_impute(tmp_path, digits):
    import pandas as pd

    Xm = _mcar(digits[0][:200, :16], 0.2, 0)
    pd.DataFrame(Xm, columns=[f"c{i}" for i in range(16)]).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    assert main(["impute", str(tmp_path / "in.csv"), str(out), "--epochs", "2", "--hidden", "8"]) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == [f"c{i}" for i in range(16)] and not df.isna().any().any()
    np.testing.assert_allclose(df.to_numpy()[~np.isnan(Xm)], Xm[~np.isnan(Xm)], rtol=1e-6)
