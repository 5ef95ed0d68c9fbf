"""scikit-learn estimators over any latentlab family: transformer, outlier detector, imputer."""

from .imputer import AutoencoderImputer
from .outlier import AutoencoderOutlierDetector
from .series import SeriesAnomalyDetector
from .transformer import AutoencoderTransformer

__all__ = ["AutoencoderTransformer", "AutoencoderOutlierDetector", "AutoencoderImputer", "SeriesAnomalyDetector"]
