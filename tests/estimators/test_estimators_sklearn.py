"""scikit-learn's own estimator checks, run on small fast configurations of the three estimators."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from latentlab.estimators import AutoencoderImputer, AutoencoderOutlierDetector, AutoencoderTransformer

pytestmark = pytest.mark.slow  # scikit-learn's estimator checks train each estimator many times

SMALL = dict(hidden=(8,), epochs=2, batch_size=16)

# Each entry: check name -> the one-line reason it cannot pass.
EXPECTED_FAILURES: dict[str, str] = {}


def _expected(estimator):
    return EXPECTED_FAILURES


@parametrize_with_checks(
    [
        AutoencoderTransformer(latent_dim=2, **SMALL),
        AutoencoderOutlierDetector(latent_dim=2, n_models=2, **SMALL),
        AutoencoderImputer(latent_dim=2, **SMALL),
    ],
    expected_failed_checks=_expected,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
