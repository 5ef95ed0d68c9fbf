"""Bad cells are reported by column, and short series do not flood the output (issue 37)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from latentlab.apps.timeseries import level_drifts
from latentlab.errors import DataError, DataTypeError
from latentlab.estimators import AutoencoderImputer, AutoencoderOutlierDetector, AutoencoderTransformer

TINY = dict(latent_dim=2, hidden=(4,), epochs=1)


def iris_like() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((30, 4)), columns=["sepal_length", "sepal_width", "petal_length", "petal_width"])
    frame["species"] = ["setosa", "versicolor", "virginica"] * 10
    return frame


@pytest.mark.parametrize("cls", [AutoencoderTransformer, AutoencoderOutlierDetector, AutoencoderImputer])
def test_text_column_is_named(cls):
    with pytest.raises(DataError, match=r"could not convert string to float.*column 'species' \(index 4\) holds "
                                        r"text such as 'setosa'.*OneHotEncoder"):
        cls(**TINY).fit(iris_like())


def test_text_in_a_plain_array_names_the_column_index():
    X = np.random.default_rng(0).random((20, 3)).astype(object)
    X[5, 2] = "n/a"
    with pytest.raises(DataError, match=r"column 2 holds text such as 'n/a'"):
        AutoencoderTransformer(**TINY).fit(X)


def test_nan_columns_are_named_instead_of_the_generic_advice():
    frame = iris_like().drop(columns="species")
    frame.loc[3, "petal_width"] = np.nan
    frame.loc[4, "sepal_width"] = np.nan
    with pytest.raises(DataError) as info:
        AutoencoderTransformer(**TINY).fit(frame)
    message = str(info.value)
    assert message.startswith("Input X contains NaN.")  # scikit-learn's first sentence, which its checks match
    assert "column 'sepal_width' (index 1), column 'petal_width' (index 3)" in message
    assert "AutoencoderImputer" in message and "HistGradientBoosting" not in message


def test_infinity_is_named_and_nan_is_not_blamed_where_it_is_allowed():
    X = np.random.default_rng(0).random((20, 3))
    X[2, 0] = np.nan  # the imputer accepts NaN: only the infinite column is at fault
    X[3, 1] = np.inf
    with pytest.raises(DataError, match=r"infinity.*in column 1: check the units") as info:
        AutoencoderImputer(**TINY).fit(X)
    assert "column 0" not in str(info.value)


def test_non_numeric_objects_keep_the_type_error():
    X = np.random.default_rng(0).random((20, 3)).astype(object)
    X[0, 1] = {"a": 1}
    with pytest.raises(DataTypeError, match=r"must be a string.*number.*column 1 holds values that are not numbers"):
        AutoencoderTransformer(**TINY).fit(X)


@pytest.mark.parametrize("series", [np.tile([0.0, 0.0, 0.0, 1.0], 8), np.r_[np.zeros(24), 5.0], np.r_[np.zeros(15), np.ones(10)]])
def test_short_flat_series_raise_no_statsmodels_warnings(series):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        level_drifts(series)
    assert [str(w.category.__name__) for w in caught] == []


def test_statsmodels_warnings_are_silenced_only_inside_the_call():
    level_drifts(np.tile([0.0, 0.0, 0.0, 1.0], 8))
    with pytest.warns(UserWarning, match="still shown"):
        warnings.warn("still shown", UserWarning, stacklevel=1)
