"""Scaler.to_dict / from_dict: the identity scaler is stored by its shape; files of every kind read back exactly."""

import json

import numpy as np
import pytest

from latentlab.data.scaling import Scaler
from latentlab.errors import ModelFileError


@pytest.mark.parametrize("kind", ["minmax", "standard", "robust", "none"])
def test_round_trip_is_exact(kind, rng):
    X = rng.normal(2.0, 3.0, (50, 1, 6, 5)).astype(np.float32)
    s = Scaler(kind).fit(X)
    back = Scaler.from_dict(json.loads(json.dumps(s.to_dict())), expected_shape=(1, 6, 5))
    np.testing.assert_array_equal(back.transform(X), s.transform(X))
    np.testing.assert_array_equal(back.inverse_transform(X), s.inverse_transform(X))


def test_identity_is_stored_by_its_shape_alone():
    d = Scaler("none").fit(np.zeros((2, 1, 64, 64), np.float32)).to_dict()
    assert d == {"kind": "none", "shape": [1, 64, 64], "offset": [], "scale": []}
    assert len(json.dumps(d)) < 100  # it held 2 x 4,096 numbers before


def test_identity_files_of_earlier_versions_still_load():
    old = {"kind": "none", "shape": [2, 2], "offset": [0.0] * 4, "scale": [1.0] * 4}
    X = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    np.testing.assert_array_equal(Scaler.from_dict(old).transform(X), X)


def test_a_hostile_identity_shape_allocates_nothing_and_is_refused_against_the_model():
    huge = {"kind": "none", "shape": [10**6, 10**6], "offset": [], "scale": []}
    assert Scaler.from_dict(huge).offset_.shape == (10**6, 10**6)  # a view of one number
    with pytest.raises(ModelFileError, match="expects"):
        Scaler.from_dict(huge, expected_shape=(1, 64, 64))
    with pytest.raises(ModelFileError, match="below 1"):
        Scaler.from_dict({"kind": "none", "shape": [0, 3], "offset": [], "scale": []})


def test_empty_lists_are_malformed_for_a_scaler_that_is_not_the_identity():
    with pytest.raises(ModelFileError, match="malformed"):
        Scaler.from_dict({"kind": "minmax", "shape": [2], "offset": [], "scale": []})
