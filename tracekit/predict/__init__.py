"""Job-duration prediction from submit-time features (see docs/predict.md).

Typical use::

    from tracekit.predict import run_predict
    metrics = run_predict("data/parquet", "helios", cluster="Venus", model="lgbm")
"""

from __future__ import annotations

from tracekit.predict.api import run_predict
from tracekit.predict.evaluate import (
    add_segments,
    compare_models,
    default_train_until,
    error_by_segment,
    error_profile,
    evaluate_rolling,
    evaluate_temporal,
    feature_importance,
    fit_predict,
    regression_metrics,
    temporal_split,
)
from tracekit.predict.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, build_features
from tracekit.predict.models import (
    DEFAULT_SEED,
    MODEL_NAMES,
    GlobalMedianRegressor,
    HeliosMixRegressor,
    LGBMDurationRegressor,
    UserMedianRegressor,
    make_model,
)

__all__ = [
    "CATEGORICAL_FEATURES",
    "DEFAULT_SEED",
    "MODEL_NAMES",
    "NUMERIC_FEATURES",
    "GlobalMedianRegressor",
    "HeliosMixRegressor",
    "LGBMDurationRegressor",
    "UserMedianRegressor",
    "add_segments",
    "build_features",
    "compare_models",
    "default_train_until",
    "error_by_segment",
    "error_profile",
    "evaluate_rolling",
    "evaluate_temporal",
    "feature_importance",
    "fit_predict",
    "make_model",
    "regression_metrics",
    "run_predict",
    "temporal_split",
]
