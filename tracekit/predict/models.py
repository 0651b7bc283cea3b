"""Duration regressors following scikit-learn estimator conventions.

All models take ``X`` = a feature frame from :func:`tracekit.predict.features.build_features`
(polars or pandas; extra columns are ignored) and ``y`` = durations in **seconds**; ``predict``
returns seconds. The learned models work on log durations (floored at 1 s) because job durations
span six orders of magnitude and the published error measures are relative.

* :class:`GlobalMedianRegressor` — one number, the training median.
* :class:`UserMedianRegressor` — the user's as-of-submit history median (the "naive" history
  estimator of Tiresias/Helios), falling back to the training median for users without history.
* :class:`LGBMDurationRegressor` — LightGBM on log duration (L1 loss: the conditional median),
  plus quantile models (q10, q90).
* :class:`HeliosMixRegressor` — Helios ``CombinedEstimator``: ``w * naive + (1 - w) * GBDT`` in
  seconds (``w = 0.1`` in the Helios artifact).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from tracekit.predict.features import CATEGORICAL_FEATURES, MIN_DURATION_S, NUMERIC_FEATURES

#: The seed of every learned model unless one is given (the CLI's, the Makefile's and the
#: notebooks' default too).
DEFAULT_SEED = 7


def _to_polars(X: Any) -> pl.DataFrame:
    if isinstance(X, pl.DataFrame):
        return X
    if isinstance(X, pd.DataFrame):
        return pl.from_pandas(X)
    raise TypeError(f"X must be a polars or pandas DataFrame of features, got {type(X).__name__}")


def _log_y(y: Any) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != 1 or not np.all(np.isfinite(arr)):
        raise ValueError("y must be a 1-D array of finite durations in seconds")
    return np.log(np.maximum(arr, MIN_DURATION_S))


class GlobalMedianRegressor(RegressorMixin, BaseEstimator):
    """Predict the median training duration for every job."""

    def fit(self, X: Any, y: Any) -> GlobalMedianRegressor:
        """Store the median of ``y`` (seconds)."""
        self.median_s_ = float(np.exp(np.median(_log_y(y))))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Constant prediction, seconds."""
        check_is_fitted(self, "median_s_")
        return np.full(len(X), self.median_s_, dtype=np.float64)


class UserMedianRegressor(RegressorMixin, BaseEstimator):
    """History baseline: exp of the user's as-of-submit median log duration.

    Parameters
    ----------
    history_column : str
        Feature column holding the history median of log seconds (null when no history).
    """

    def __init__(self, history_column: str = "user_median_log_s") -> None:
        self.history_column = history_column

    def fit(self, X: Any, y: Any) -> UserMedianRegressor:
        """Only learns the fallback (training median) for jobs without history."""
        self.fallback_s_ = float(np.exp(np.median(_log_y(y))))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Seconds; the fallback where the history is empty."""
        check_is_fitted(self, "fallback_s_")
        hist = _to_polars(X).get_column(self.history_column).cast(pl.Float64).to_numpy()
        return np.where(np.isnan(hist), self.fallback_s_, np.exp(hist))


class LGBMDurationRegressor(RegressorMixin, BaseEstimator):
    """LightGBM regressor on log duration, with optional quantile companions.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree,
    reg_lambda : LightGBM hyper-parameters of the point model. The
        defaults (150 trees, rate 0.1, 31 leaves) matched 300 trees at rate 0.05 with 63 leaves
        in held-out accuracy on the synthetic frames at a fifth of the cost; prediction of every
        job of a million-job trace costs as much as training, so trees are kept few.
    objective : str
        LightGBM objective of the point model on log seconds. ``"l1"`` (default) fits the
        conditional median of the log duration; it beat ``"regression"`` (L2) and ``"huber"``
        in held-out median log error, Spearman and share within 50 % on the Helios and PAI
        samples (e.g. PAI: 0.47 vs 0.63 median log error).
    quantiles : sequence of float
        Quantile levels fitted as separate models (``predict_quantiles``); empty to skip.
    quantile_estimators : int
        Trees per quantile model (fewer than the point model: they are only an interval).
    max_bin : int
        Histogram bins per feature (LightGBM ``max_bin``; fewer bins train faster).
    max_train_rows : int or None
        Train the point model on at most this many rows: the most recently submitted ones when
        ``X`` has ``submit_time`` (recent behaviour matters most), else a seeded sample.
        Bounds training time on million-job traces; None uses every row.
    quantile_max_rows : int or None
        Train each quantile model on a seeded sample of at most this many of those rows.
    numeric_features, categorical_features : sequence of str
        Feature columns; categoricals are strings encoded with the training vocabulary (unseen
        values become missing).
    random_state : int
        Seed of every random choice in LightGBM (bagging, feature sampling).
    n_jobs : int
        LightGBM threads; results are identical for any value (``deterministic=True``). The
        default is 1: on a shared 2-core machine, 2 OpenMP threads competing with other
        processes were measured 15x slower than 1 thread.
    """

    def __init__(
        self,
        n_estimators: int = 150,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        objective: str = "l1",
        quantiles: Sequence[float] = (0.1, 0.9),
        quantile_estimators: int = 80,
        max_bin: int = 63,
        max_train_rows: int | None = 400_000,
        quantile_max_rows: int | None = 100_000,
        numeric_features: Sequence[str] = NUMERIC_FEATURES,
        categorical_features: Sequence[str] = CATEGORICAL_FEATURES,
        random_state: int = DEFAULT_SEED,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.objective = objective
        self.quantiles = quantiles
        self.quantile_estimators = quantile_estimators
        self.max_bin = max_bin
        self.max_train_rows = max_train_rows
        self.quantile_max_rows = quantile_max_rows
        self.numeric_features = numeric_features
        self.categorical_features = categorical_features
        self.random_state = random_state
        self.n_jobs = n_jobs

    @property
    def feature_names_(self) -> list[str]:
        """Model input columns, in matrix order."""
        return [*self.numeric_features, *self.categorical_features]

    def _matrix(self, X: Any) -> np.ndarray:
        frame = _to_polars(X)
        cols: list[pl.Expr] = [pl.col(c).cast(pl.Float64) for c in self.numeric_features]
        for c in self.categorical_features:
            vocab = self.vocab_[c]
            cols.append(
                pl.col(c).cast(pl.String)
                .replace_strict(vocab, list(range(len(vocab))), default=None,
                                return_dtype=pl.Float64)
                .alias(c)
            )
        return frame.select(cols).to_numpy().astype(np.float64, copy=False)

    def _lgb(self, **extra: Any) -> lgb.LGBMRegressor:
        params: dict[str, Any] = dict(
            objective=self.objective,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1 if self.subsample < 1.0 else 0,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            max_bin=self.max_bin,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        params.update(extra)
        return lgb.LGBMRegressor(**params)

    def _rows(self, frame: pl.DataFrame, limit: int | None, recent: bool, salt: int) -> np.ndarray:
        """Indices of at most ``limit`` training rows (all rows when under the limit)."""
        n = frame.height
        if limit is None or n <= limit:
            return np.arange(n)
        if recent and "submit_time" in frame.columns:
            order = frame.select(pl.arg_sort_by("submit_time", "job_id" if "job_id" in
                                                frame.columns else "submit_time")).to_series()
            return np.sort(order.to_numpy()[n - limit:])
        rng = np.random.default_rng([self.random_state, salt])
        return np.sort(rng.choice(n, size=limit, replace=False))

    def fit(self, X: Any, y: Any) -> LGBMDurationRegressor:
        """Fit the point model (and the quantile models) on log seconds."""
        frame = _to_polars(X)
        target = _log_y(y)
        if len(target) != frame.height:
            raise ValueError(f"X has {frame.height} rows but y has {len(target)}")
        keep = self._rows(frame, self.max_train_rows, recent=True, salt=0)
        frame, target = frame[keep], target[keep]
        # Vocabulary from training rows only, sorted so the encoding ignores row order.
        self.vocab_ = {
            c: sorted(frame.get_column(c).cast(pl.String).drop_nulls().unique().to_list())
            for c in self.categorical_features
        }
        mat = self._matrix(frame)
        cat_idx = list(range(len(self.numeric_features), len(self.feature_names_)))
        fit_kw: dict[str, Any] = {
            "feature_name": self.feature_names_,
            "categorical_feature": cat_idx or "auto",
        }
        self.model_ = self._lgb().fit(mat, target, **fit_kw)
        self.n_train_rows_ = len(target)
        sub = self._rows(frame, self.quantile_max_rows, recent=False, salt=1)
        self.quantile_models_ = {
            float(q): self._lgb(objective="quantile", alpha=float(q),
                                n_estimators=self.quantile_estimators)
            .fit(mat[sub], target[sub], **fit_kw)
            for q in self.quantiles
        }
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Point prediction, seconds."""
        check_is_fitted(self, "model_")
        # The booster directly: the matrix is already in training column order.
        return np.exp(self.model_.booster_.predict(self._matrix(X), num_threads=self.n_jobs))

    def predict_quantiles(self, X: Any) -> dict[float, np.ndarray]:
        """Quantile predictions in seconds, ``{q: array}``, monotone across ``q`` per row."""
        check_is_fitted(self, "model_")
        if not self.quantile_models_:
            return {}
        mat = self._matrix(X)
        qs = sorted(self.quantile_models_)
        # Separately fitted quantile models can cross; sorting per row restores monotonicity.
        preds = np.sort(
            np.column_stack([
                self.quantile_models_[q].booster_.predict(mat, num_threads=self.n_jobs)
                for q in qs
            ]),
            axis=1,
        )
        return {q: np.exp(preds[:, i]) for i, q in enumerate(qs)}

    @property
    def feature_importances_(self) -> np.ndarray:
        """Gain importance of the point model, in :attr:`feature_names_` order."""
        check_is_fitted(self, "model_")
        return self.model_.booster_.feature_importance(importance_type="gain")


class HeliosMixRegressor(RegressorMixin, BaseEstimator):
    """Helios ``CombinedEstimator``: ``naive_weight * history + (1 - naive_weight) * GBDT``.

    Parameters
    ----------
    naive_weight : float
        Weight of the history (naive) estimate; Helios uses 0.1. The mix is in seconds, as in
        Helios.
    gbdt : LGBMDurationRegressor, optional
        The GBDT part (cloned at fit); default ``LGBMDurationRegressor(quantiles=())``.
    naive : UserMedianRegressor, optional
        The history part (cloned at fit).
    """

    def __init__(
        self,
        naive_weight: float = 0.1,
        gbdt: LGBMDurationRegressor | None = None,
        naive: UserMedianRegressor | None = None,
    ) -> None:
        self.naive_weight = naive_weight
        self.gbdt = gbdt
        self.naive = naive

    def fit(self, X: Any, y: Any) -> HeliosMixRegressor:
        """Fit both parts on the same rows."""
        if not 0.0 <= self.naive_weight <= 1.0:
            raise ValueError(f"naive_weight must be in [0, 1], got {self.naive_weight}")
        gbdt = self.gbdt if self.gbdt is not None else LGBMDurationRegressor(quantiles=())
        naive = self.naive if self.naive is not None else UserMedianRegressor()
        self.gbdt_ = clone(gbdt).fit(X, y)
        self.naive_ = clone(naive).fit(X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Mixed prediction, seconds."""
        check_is_fitted(self, "gbdt_")
        w = self.naive_weight
        return w * self.naive_.predict(X) + (1.0 - w) * self.gbdt_.predict(X)


#: Model names accepted by :func:`make_model` (and the CLI ``--model`` option).
MODEL_NAMES: tuple[str, ...] = ("lgbm", "user-median", "global-median", "helios-mix")


def make_model(
    name: str, seed: int = DEFAULT_SEED, n_jobs: int = 1, **params: Any
) -> BaseEstimator:
    """Build a model by name with its seed.

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES`.
    seed : int
        Random state of the learned models.
    n_jobs : int
        LightGBM threads.
    **params
        Extra constructor parameters of the LightGBM part.
    """
    if name == "lgbm":
        return LGBMDurationRegressor(random_state=seed, n_jobs=n_jobs, **params)
    if name == "user-median":
        return UserMedianRegressor()
    if name == "global-median":
        return GlobalMedianRegressor()
    if name == "helios-mix":
        gbdt = LGBMDurationRegressor(random_state=seed, n_jobs=n_jobs, quantiles=(), **params)
        return HeliosMixRegressor(gbdt=gbdt)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")


__all__ = [
    "DEFAULT_SEED",
    "MODEL_NAMES",
    "GlobalMedianRegressor",
    "HeliosMixRegressor",
    "LGBMDurationRegressor",
    "UserMedianRegressor",
    "make_model",
]
