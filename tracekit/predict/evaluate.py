"""Temporal evaluation of duration predictors, metrics and tidy diagnostic frames.

Censoring policy (see docs/predict.md): a job is a *target* only if it finished (status
completed/failed/canceled with a known end). Training at time ``T`` uses targets that ended
strictly before ``T`` (their outcome was known at ``T``); scoring uses targets submitted at or
after ``T``. Censored jobs and jobs still running at ``T`` are neither trained on nor scored, but
they are predicted (every GPU job gets a prediction) and they count in the load features.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, clone

from tracekit.predict.features import MIN_DURATION_S
from tracekit.predict.models import DEFAULT_SEED, make_model
from tracekit.timeutil import as_utc

#: Relative-error thresholds (%) of the "share within" metrics.
WITHIN_PCT: tuple[int, ...] = (10, 25, 50, 100)
#: Error profile of the Helios duration estimator as its authors report it (Hu et al., SC'21,
#: "Characterization and Prediction of Deep Learning Workloads in Large-Scale GPU Datacenters"):
#: share of jobs whose relative error is at most the threshold (%).
HELIOS_PROFILE: dict[int, float] = {10: 0.10, 50: 0.50, 100: 0.70, 1000: 0.90, 10000: 1.00}
#: The PAI trace paper's CART predictor on recurring job groups (Weng et al., NSDI'22, "MLaaS in
#: the Wild"): 78 % of instances within 25 % error.
PAI_PROFILE: dict[int, float] = {25: 0.78}

_PRED_SCHEMA = {
    "job_id": pl.String,
    "pred_duration_s": pl.Float64,
    "pred_q10_s": pl.Float64,
    "pred_q90_s": pl.Float64,
    "trained_until": pl.Datetime("us", "UTC"),
}


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Accuracy of duration predictions (seconds).

    Returns
    -------
    dict
        ``n``; ``mae_s`` (mean absolute error, seconds); ``medae_log`` (median absolute error of
        natural-log durations); ``r2_log`` (R² of log durations); ``spearman`` (rank
        correlation); ``within_<p>pct`` (share of jobs with ``|pred - true| / true <= p %``).
        Durations are floored at 1 s. Empty input gives ``n = 0`` and NaN elsewhere.
    """
    yt = np.maximum(np.asarray(y_true, dtype=np.float64), MIN_DURATION_S)
    yp = np.maximum(np.asarray(y_pred, dtype=np.float64), MIN_DURATION_S)
    out: dict[str, float] = {"n": float(len(yt))}
    if len(yt) == 0:
        nan = float("nan")
        out.update(mae_s=nan, medae_log=nan, r2_log=nan, spearman=nan)
        out.update({f"within_{p}pct": nan for p in WITHIN_PCT})
        return out
    lt, lp = np.log(yt), np.log(yp)
    ss_tot = float(np.sum((lt - lt.mean()) ** 2))
    rel = np.abs(yp - yt) / yt
    out["mae_s"] = float(np.mean(np.abs(yp - yt)))
    out["medae_log"] = float(np.median(np.abs(lp - lt)))
    out["r2_log"] = 1.0 - float(np.sum((lt - lp) ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    out["spearman"] = _spearman(yt, yp)
    out.update({f"within_{p}pct": float(np.mean(rel <= p / 100.0)) for p in WITHIN_PCT})
    return out


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")  # undefined for a constant input (e.g. the global median)
    frame = pl.DataFrame({"a": a, "b": b})
    value = frame.select(pl.corr("a", "b", method="spearman")).item()
    return float(value) if value is not None else float("nan")


def default_train_until(features: pl.DataFrame, share: float = 0.8) -> datetime:
    """The UTC midnight before the ``share`` quantile of target submit times."""
    times = features.filter(pl.col("is_target")).get_column("submit_time").sort()
    if times.is_empty():
        raise ValueError("no finished GPU jobs: nothing to train a duration model on")
    cut = times[min(len(times) - 1, int(share * len(times)))]
    return cut.replace(hour=0, minute=0, second=0, microsecond=0)


def _day(t: datetime) -> str:
    """``2020-04-17`` at midnight, else ``2020-04-01 03:15:38 UTC`` (to the second)."""
    t = as_utc(t)
    if t.hour == t.minute == t.second == t.microsecond == 0:
        return f"{t:%Y-%m-%d}"
    return f"{t:%Y-%m-%d %H:%M:%S} UTC"


def _target_range(features: pl.DataFrame) -> str:
    """Where a usable train-until lies, for error messages."""
    targets = features.filter(pl.col("is_target"))
    if targets.is_empty():
        return "there are no finished GPU jobs at all"
    first_end = targets["end_time"].min()
    last_submit = targets["submit_time"].max()
    return (
        f"choose a train-until after the first finished job ended ({_day(first_end)}) and no "
        f"later than the last one was submitted ({_day(last_submit)}), or leave it out for the "
        f"default ({_day(default_train_until(features))})"
    )


def temporal_split(
    features: pl.DataFrame, train_until: str | date | datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split targets at ``train_until``: train = ended before it, test = submitted at/after it."""
    t = as_utc(train_until)
    targets = features.filter(pl.col("is_target"))
    train = targets.filter(pl.col("end_time") < t)
    test = targets.filter(pl.col("submit_time") >= t)
    return train, test


def fit_predict(
    features: pl.DataFrame,
    model: BaseEstimator,
    train_until: str | date | datetime,
    predict_on: pl.DataFrame | None = None,
) -> tuple[BaseEstimator, pl.DataFrame]:
    """Fit a clone of ``model`` on targets ended before ``train_until``; predict ``predict_on``.

    Returns
    -------
    (fitted model, predictions)
        Predictions have ``job_id, pred_duration_s, pred_q10_s, pred_q90_s, trained_until``
        for every row of ``predict_on`` (default: all rows of ``features``).
    """
    t = as_utc(train_until)
    train, _ = temporal_split(features, t)
    if train.is_empty():
        raise ValueError(f"no finished GPU job ended before {_day(t)}: the training set would be "
                         f"empty; {_target_range(features)}")
    fitted = clone(model).fit(train, train.get_column("duration_s").to_numpy())
    rows = features if predict_on is None else predict_on
    pred = fitted.predict(rows) if len(rows) else np.empty(0)
    quant = fitted.predict_quantiles(rows) if hasattr(fitted, "predict_quantiles") and len(rows) \
        else {}
    none = pl.lit(None, dtype=pl.Float64)
    out = rows.select("job_id").with_columns(
        pl.Series("pred_duration_s", pred, dtype=pl.Float64),
        pl.Series("pred_q10_s", quant[0.1], dtype=pl.Float64) if 0.1 in quant
        else none.alias("pred_q10_s"),
        pl.Series("pred_q90_s", quant[0.9], dtype=pl.Float64) if 0.9 in quant
        else none.alias("pred_q90_s"),
        pl.lit(t, dtype=pl.Datetime("us", "UTC")).alias("trained_until"),
    )
    return fitted, out.cast(_PRED_SCHEMA)  # type: ignore[arg-type]


def _score(rows: pl.DataFrame, preds: pl.DataFrame) -> dict[str, float]:
    joined = rows.select("job_id", "duration_s").join(preds, on="job_id", how="inner")
    return regression_metrics(joined["duration_s"].to_numpy(), joined["pred_duration_s"].to_numpy())


def evaluate_temporal(
    features: pl.DataFrame,
    model: BaseEstimator,
    train_until: str | date | datetime,
) -> tuple[BaseEstimator, pl.DataFrame, pl.DataFrame]:
    """Train before ``train_until``, predict every job, score train and test periods.

    Returns
    -------
    (fitted model, predictions for all rows, metrics)
        ``metrics`` has one row per split (``train`` is in-sample, ``test`` is the held-out
        period) with the columns of :func:`regression_metrics` and ``trained_until``.
    """
    t = as_utc(train_until)
    _, test = temporal_split(features, t)
    if test.is_empty():
        raise ValueError(f"no finished GPU job was submitted at or after {_day(t)}: the test set "
                         f"would be empty; {_target_range(features)}")
    fitted, preds = fit_predict(features, model, t)
    train, test = temporal_split(features, t)
    rows = [
        {"split": name, "trained_until": t, **_score(part, preds)}
        for name, part in (("train", train), ("test", test))
    ]
    return fitted, preds, _metrics_frame(rows)


def evaluate_rolling(
    features: pl.DataFrame,
    model: BaseEstimator,
    start: str | date | datetime,
    end: str | date | datetime | None = None,
    every: timedelta = timedelta(days=7),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lucid-style rolling retraining: for each window ``[w, w + every)`` from ``start``, train
    on targets ended before ``w`` and predict jobs submitted in the window.

    Returns
    -------
    (predictions, metrics)
        Predictions of every job submitted in ``[start, end)`` with its window's
        ``trained_until``; metrics per window (``split = "week <k>"``) plus ``split = "all"``.
    """
    w = as_utc(start)
    stop = as_utc(end) if end is not None else features["submit_time"].max() + timedelta(
        microseconds=1
    )
    preds: list[pl.DataFrame] = []
    rows: list[dict[str, Any]] = []
    k = 0
    while w < stop:
        upper = min(w + every, stop)
        window = features.filter((pl.col("submit_time") >= w) & (pl.col("submit_time") < upper))
        if len(window):
            _, p = fit_predict(features, model, w, predict_on=window)
            preds.append(p)
            scored = window.filter(pl.col("is_target"))
            rows.append({"split": f"week {k}", "trained_until": w, **_score(scored, p)})
        w, k = upper, k + 1
    all_preds = pl.concat(preds) if preds else pl.DataFrame(schema=_PRED_SCHEMA)
    scored = features.filter(
        pl.col("is_target") & (pl.col("submit_time") >= as_utc(start))
        & (pl.col("submit_time") < stop)
    )
    rows.append({"split": "all", "trained_until": None, **_score(scored, all_preds)})
    return all_preds, _metrics_frame(rows)


def _metrics_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    schema: dict[str, Any] = {"split": pl.String, "trained_until": pl.Datetime("us", "UTC"),
                              "n": pl.Int64}
    frame = pl.DataFrame(rows, schema_overrides=schema, strict=False)
    return frame.with_columns(pl.col("n").cast(pl.Int64))


# ---- diagnostics (tidy frames for notebooks) ---------------------------------------------------
def error_profile(
    y_true: Any, y_pred: Any, thresholds_pct: Sequence[float] = (10, 25, 50, 100, 1000, 10000)
) -> pl.DataFrame:
    """Share of jobs within each relative-error threshold, next to the published profiles.

    Returns
    -------
    polars.DataFrame
        ``threshold_pct, share_within, helios_published, pai_published`` (published shares are
        null where the paper gives none).
    """
    yt = np.maximum(np.asarray(y_true, dtype=np.float64), MIN_DURATION_S)
    yp = np.maximum(np.asarray(y_pred, dtype=np.float64), MIN_DURATION_S)
    rel = np.abs(yp - yt) / yt
    ths = [float(t) for t in thresholds_pct]
    return pl.DataFrame(
        {
            "threshold_pct": ths,
            "share_within": [float(np.mean(rel <= t / 100.0)) if len(rel) else None for t in ths],
            "helios_published": [HELIOS_PROFILE.get(int(t)) for t in ths],
            "pai_published": [PAI_PROFILE.get(int(t)) for t in ths],
        },
        schema={"threshold_pct": pl.Float64, "share_within": pl.Float64,
                "helios_published": pl.Float64, "pai_published": pl.Float64},
    )


def add_segments(features: pl.DataFrame) -> pl.DataFrame:
    """Add segment columns used to find where predictions fail.

    ``history_bucket`` (finished jobs of the user before submit: ``new``, ``1-9``, ``10-99``,
    ``100+``), ``size_bucket`` (GPUs: ``<1``, ``1``, ``2-4``, ``5-8``, ``9-32``, ``>32``) and
    ``group_seen`` (the recurring group had finished before; null when the trace has no groups).
    """
    n = pl.col("user_n")
    g = pl.col("num_gpus")
    return features.with_columns(
        pl.when(n == 0).then(pl.lit("new")).when(n < 10).then(pl.lit("1-9"))
        .when(n < 100).then(pl.lit("10-99")).otherwise(pl.lit("100+")).alias("history_bucket"),
        pl.when(g < 1).then(pl.lit("<1")).when(g == 1).then(pl.lit("1"))
        .when(g <= 4).then(pl.lit("2-4")).when(g <= 8).then(pl.lit("5-8"))
        .when(g <= 32).then(pl.lit("9-32")).otherwise(pl.lit(">32")).alias("size_bucket"),
        (pl.col("group_n") > 0).alias("group_seen"),
    )


def error_by_segment(
    scored: pl.DataFrame,
    by: str | Sequence[str],
    y_true: str = "duration_s",
    y_pred: str = "pred_duration_s",
) -> pl.DataFrame:
    """:func:`regression_metrics` per segment of ``scored`` (one row per segment value).

    ``scored`` holds true and predicted durations plus the segment columns, e.g. features with
    :func:`add_segments` joined to predictions on ``job_id``. Rows with a null truth are skipped.
    """
    keys = [by] if isinstance(by, str) else list(by)
    rows = []
    data = scored.filter(pl.col(y_true).is_not_null() & pl.col(y_pred).is_not_null())
    for key, part in data.group_by(keys, maintain_order=False):
        metrics = regression_metrics(part[y_true].to_numpy(), part[y_pred].to_numpy())
        rows.append({**dict(zip(keys, key, strict=True)), **metrics})
    if not rows:
        return pl.DataFrame(schema={k: data.schema[k] for k in keys})
    frame = pl.DataFrame(rows, strict=False).with_columns(pl.col("n").cast(pl.Int64))
    return frame.sort(keys, nulls_last=True)


def feature_importance(model: BaseEstimator) -> pl.DataFrame:
    """Gain importance of a fitted LightGBM-based model, as ``feature, gain, share`` (sorted).

    Accepts :class:`~tracekit.predict.models.LGBMDurationRegressor` or
    :class:`~tracekit.predict.models.HeliosMixRegressor` (its GBDT part).
    """
    gbdt = getattr(model, "gbdt_", model)
    if not hasattr(gbdt, "model_"):
        raise TypeError(f"{type(model).__name__} has no fitted LightGBM part")
    gain = np.asarray(gbdt.feature_importances_, dtype=np.float64)
    total = gain.sum()
    return pl.DataFrame(
        {
            "feature": gbdt.feature_names_,
            "gain": gain,
            "share": gain / total if total > 0 else np.zeros_like(gain),
        }
    ).sort("gain", descending=True)


__all__ = [
    "HELIOS_PROFILE",
    "PAI_PROFILE",
    "WITHIN_PCT",
    "add_segments",
    "as_utc",
    "default_train_until",
    "error_by_segment",
    "error_profile",
    "evaluate_rolling",
    "evaluate_temporal",
    "feature_importance",
    "fit_predict",
    "regression_metrics",
    "temporal_split",
]


def compare_models(
    features: pl.DataFrame,
    models: Sequence[str] = ("global-median", "user-median", "helios-mix", "lgbm"),
    train_until: str | date | datetime | None = None,
    seed: int = DEFAULT_SEED,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, BaseEstimator]]:
    """Train every named model on the same temporal split and score it on the same test jobs.

    Parameters
    ----------
    features : polars.DataFrame
        Output of :func:`tracekit.predict.features.build_features`.
    models : sequence of str
        Names accepted by :func:`tracekit.predict.models.make_model`.
    train_until : str, date or datetime, optional
        The split (default :func:`default_train_until`).
    seed : int
        Seed of the learned models.

    Returns
    -------
    (metrics, scored, fitted)
        ``metrics``: one row per (model, split). ``scored``: the held-out jobs with
        ``duration_s``, one ``pred_<model>`` column per model and the segment columns of
        :func:`add_segments`. ``fitted``: the fitted estimators by name.
    """
    cut = as_utc(train_until) if train_until is not None else default_train_until(features)
    frames, fitted = [], {}
    scored = add_segments(features).filter(
        pl.col("is_target") & (pl.col("submit_time") >= pl.lit(cut))
    )
    for name in models:
        model, preds, metrics = evaluate_temporal(features, make_model(name, seed=seed), cut)
        fitted[name] = model
        frames.append(metrics.with_columns(pl.lit(name).alias("model")))
        scored = scored.join(
            preds.select("job_id", pl.col("pred_duration_s").alias(f"pred_{name}")),
            on="job_id",
            how="left",
        )
    metrics_all = pl.concat(frames, how="diagonal_relaxed")
    first = ["model", *[c for c in metrics_all.columns if c != "model"]]
    return metrics_all.select(first), scored, fitted
