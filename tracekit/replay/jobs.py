"""Replay inputs: the job table, its validation/repair, CSV and store readers, feasibility.

The engine reads one polars frame with columns (seconds from the start of the trace window):

========================  =========  ==============================================
column                    dtype      meaning
========================  =========  ==============================================
``job_id``                String     unique id
``vc``                    String     virtual cluster (must exist in the cluster)
``submit_time``           Float64    seconds from trace start
``duration``              Float64    true run time, seconds (> 0)
``num_gpus``              Int64      GPUs requested (> 0, at most the VC's GPUs)
``pred_duration``         Float64    optional: predicted run time (prediction policies)
``user``                  String     optional, carried through
========================  =========  ==============================================

Bad rows raise :class:`~tracekit.errors.TraceFormatError` naming the row, or, with
``repair=True``, are dropped/fixed and counted under ``replay.*`` rules of a
:class:`~tracekit.quality.QualityCounter` (replay.md §14 items 10-11).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.replay.cluster import Cluster
from tracekit.timeutil import as_utc

REQUIRED = ("job_id", "vc", "submit_time", "duration", "num_gpus")
OPTIONAL = ("pred_duration", "user")
_REPAIR_HINT = " (pass repair=True to drop or fix such rows and count them)"


def read_jobs_csv(path: str | Path) -> pl.DataFrame:
    """Read ``JOBS.csv``: ``job_id,vc,submit_time,duration,num_gpus[,pred_duration][,user]``.

    Numbers are parsed leniently here (unparseable cells become null) so that validation can
    name the offending line.

    Raises
    ------
    TraceFormatError
        If the file cannot be read or a required column is missing.
    """
    path = Path(path)
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise TraceFormatError(path, None, f"cannot read CSV: {exc}") from exc
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise TraceFormatError(path, 1, f"missing columns {missing}; need {','.join(REQUIRED)}")
    cols = [
        pl.col("job_id").str.strip_chars(),
        pl.col("vc").str.strip_chars(),
        pl.col("submit_time").str.strip_chars().cast(pl.Float64, strict=False),
        pl.col("duration").str.strip_chars().cast(pl.Float64, strict=False),
        pl.col("num_gpus").str.strip_chars().cast(pl.Float64, strict=False),
    ]
    if "pred_duration" in raw.columns:
        cols.append(pl.col("pred_duration").str.strip_chars().cast(pl.Float64, strict=False))
    if "user" in raw.columns:
        cols.append(pl.col("user"))
    return raw.select(cols)


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def validate_jobs(
    jobs: pl.DataFrame,
    cluster: Cluster,
    *,
    repair: bool = False,
    needs_prediction: bool = False,
    allow_zero_duration: bool = False,
    quality: QualityCounter | None = None,
    source: str = "<jobs>",
    line_offset: int = 1,
) -> tuple[pl.DataFrame, QualityCounter]:
    """Check (or repair) a job table against a cluster.

    Parameters
    ----------
    jobs : polars.DataFrame
        Columns as in the module docstring.
    cluster : Cluster
        VC sizes.
    repair : bool
        Drop (or fix) bad rows and count them instead of raising.
    needs_prediction : bool
        The policy reads ``pred_duration``: missing or non-positive predictions are errors, or,
        when repairing, replaced by the median of the valid predictions (counted).
    allow_zero_duration : bool
        Accept ``duration == 0`` (the engine handles it; the default rejects it as replay.md §14
        item 10 asks).
    quality : QualityCounter, optional
        Counter to add to (a new one otherwise).
    source : str
        Name used in error messages (the CSV path).
    line_offset : int
        Added to the 0-based row index in messages (2 for a CSV with a header line).

    Returns
    -------
    (polars.DataFrame, QualityCounter)
        The clean table with canonical dtypes, and the repair counts (rules ``replay.*``).
    """
    quality = quality if quality is not None else QualityCounter()
    missing = [c for c in REQUIRED if c not in jobs.columns]
    if missing:
        raise TraceFormatError(source, None, f"missing columns {missing}")
    if needs_prediction and "pred_duration" not in jobs.columns:
        raise TraceFormatError(
            source, None, "the policy needs predictions but there is no pred_duration column"
        )
    keep = [c for c in (*REQUIRED, *OPTIONAL) if c in jobs.columns]
    df = jobs.select(keep).with_columns(
        pl.col("job_id").cast(pl.String),
        pl.col("vc").cast(pl.String),
        pl.col("submit_time").cast(pl.Float64),
        pl.col("duration").cast(pl.Float64),
        pl.col("num_gpus").cast(pl.Float64),
    )
    if "pred_duration" in df.columns:
        df = df.with_columns(pl.col("pred_duration").cast(pl.Float64))
    df = df.with_row_index("_row")
    known = pl.Series(list(cluster), dtype=pl.String)
    caps = {vc: spec.gpus for vc, spec in cluster.items()}
    rules = _rules(allow_zero_duration, needs_prediction, known, caps)
    # Fast path: evaluate every rule in one polars pass; clean tables (the usual case) stop here.
    counts = df.select([expr.alias(rule) for rule, expr, _, _ in rules]).sum().row(0, named=True)
    if not any(counts.values()):
        for rule, _, _, _ in rules:
            quality.add(rule, 0)
        return df.drop("_row").with_columns(pl.col("num_gpus").cast(pl.Int64)), quality
    # Slow path, rule by rule in order (a repair can change what later rules see).
    for rule, expr, problem, fix in rules:
        mask = df.select(expr).to_series().fill_null(True).to_numpy()
        n = int(mask.sum())
        quality.add(rule, n)
        if not n:
            continue
        if not repair:
            i = _first_bad(mask)
            row = int(df["_row"][i])
            raise TraceFormatError(
                source, row + line_offset, f"{problem}: {df.row(i, named=True)}{_REPAIR_HINT}"
            )
        if fix is None:
            df = df.filter(~pl.Series(mask))
        else:
            name = fix.meta.output_name()
            if name == "pred_duration":
                valid = df.filter(~pl.Series(mask))["pred_duration"]
                fix = pl.lit(float(valid.median()) if valid.len() else 1.0)
            df = df.with_columns(
                pl.when(pl.Series(mask)).then(fix).otherwise(pl.col(name)).alias(name)
            )
    df = df.drop("_row").with_columns(pl.col("num_gpus").cast(pl.Int64))
    return df, quality


def _rules(
    allow_zero_duration: bool, needs_prediction: bool, known: pl.Series, caps: dict[str, int]
) -> list[tuple[str, pl.Expr, str, pl.Expr | None]]:
    """Validation rules in order: (rule name, bad-row mask, message, fix or None = drop)."""
    gpus, dur = pl.col("num_gpus"), pl.col("duration")
    rules: list[tuple[str, pl.Expr, str, pl.Expr | None]] = [
        ("replay.null_job_id", pl.col("job_id").is_null() | (pl.col("job_id") == ""),
         "empty job_id", None),
        ("replay.null_vc", pl.col("vc").is_null(), "empty vc", None),
        ("replay.bad_submit_time", ~pl.col("submit_time").is_finite().fill_null(False),
         "submit_time is not a number", None),
        ("replay.bad_duration", ~dur.is_finite().fill_null(False), "duration is not a number",
         None),
    ]  # fmt: skip
    if allow_zero_duration:
        rules.append(("replay.negative_duration", dur < 0, "duration is negative", None))
    else:
        rules.append(("replay.nonpositive_duration", dur <= 0, "duration is not positive", None))
    rules += [
        ("replay.nonpositive_gpus", ~gpus.is_finite().fill_null(False) | (gpus <= 0),
         "num_gpus is not a positive number", None),
        ("replay.fractional_gpus_rounded_up", gpus != gpus.ceil(),
         "num_gpus is fractional (whole GPUs only; fractional sharing is not modelled)",
         gpus.ceil()),
        ("replay.duplicate_job_id", ~pl.col("job_id").is_first_distinct(), "duplicate job_id",
         None),
        ("replay.unknown_vc", ~pl.col("vc").is_in(known.implode()),
         f"vc not in cluster {known.to_list()}", None),
        ("replay.job_larger_than_vc",
         gpus > pl.col("vc").replace_strict(caps, default=0, return_dtype=pl.Int64),
         "job needs more GPUs than its VC has", None),
    ]  # fmt: skip
    if needs_prediction:
        pred = pl.col("pred_duration")
        rules.append(
            ("replay.bad_prediction_filled_with_median",
             ~pred.is_finite().fill_null(False) | (pred <= 0).fill_null(True),
             "pred_duration is missing or not positive", pl.lit(0.0).alias("pred_duration"))
        )  # fmt: skip
    return rules


def feasibility(jobs: pl.DataFrame, cluster: Cluster, period_s: float = 86400.0) -> pl.DataFrame:
    """Offered load per VC and period versus capacity (replay.md §14 item 11).

    Offered load of a period = GPU-seconds of the jobs submitted in it / (VC GPUs x period).
    Values above 1 mean the VC cannot keep up during that period (queues will grow).

    Returns
    -------
    polars.DataFrame
        ``vc, period, period_start_s, jobs, gpu_s, capacity_gpus, offered_load`` plus one row per
        VC with ``period = -1`` for the whole window, sorted by vc and period.
    """
    caps = {vc: spec.gpus for vc, spec in cluster.items()}
    df = jobs.select(
        "vc",
        (pl.col("submit_time") // period_s).cast(pl.Int64).alias("period"),
        (pl.col("duration") * pl.col("num_gpus")).alias("gpu_s"),
    )
    per = df.group_by("vc", "period").agg(pl.len().alias("jobs"), pl.col("gpu_s").sum())
    per = per.with_columns((pl.col("period") * period_s).alias("period_start_s"))
    span = float(jobs["submit_time"].max() - jobs["submit_time"].min()) if jobs.height else 0.0
    span = max(span, period_s)
    whole = (
        df.group_by("vc")
        .agg(pl.len().alias("jobs"), pl.col("gpu_s").sum())
        .with_columns(
            pl.lit(-1, dtype=pl.Int64).alias("period"), pl.lit(0.0).alias("period_start_s")
        )
    )
    out = pl.concat([per, whole.select(per.columns)])
    out = out.with_columns(
        pl.col("vc").replace_strict(caps, default=0, return_dtype=pl.Int64).alias("capacity_gpus"),
        pl.when(pl.col("period") < 0).then(pl.lit(span)).otherwise(pl.lit(period_s)).alias("_len"),
    )
    out = out.with_columns(
        (pl.col("gpu_s") / (pl.col("capacity_gpus") * pl.col("_len"))).alias("offered_load")
    ).drop("_len")
    cols = ["vc", "period", "period_start_s", "jobs", "gpu_s", "capacity_gpus", "offered_load"]
    return out.select(cols).sort("vc", "period")


def jobs_from_store(
    store: object,
    trace: str,
    cluster: str,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    prediction_model: str | None = None,
) -> tuple[pl.DataFrame, datetime | None]:
    """Replay jobs from a store: GPU jobs (``num_gpus > 0``) with a duration, in ``[start, end)``.

    Submit times become seconds from ``start`` (or from the first submit). Predictions come from
    the ``predictions`` table (``pred_duration_s`` joined on ``job_id``; one ``model``).

    Returns
    -------
    (polars.DataFrame, datetime or None)
        The job table of the module docstring, and the time origin (UTC).
    """
    columns = ["job_id", "vc", "submit_time", "duration_s", "num_gpus", "user"]
    df, origin = gpu_jobs_in_window(store, trace, cluster, start, end, columns)
    if origin is None:
        return _empty_jobs(), None
    out = df.select(
        "job_id",
        pl.col("vc").fill_null("<none>"),
        seconds_since(origin),
        pl.col("duration_s").alias("duration"),
        "num_gpus",
        "user",
    )
    preds = store.scan("predictions", trace=trace, cluster=cluster).collect()  # type: ignore[attr-defined]
    if preds.height:
        models = sorted(preds["model"].unique().drop_nulls().to_list())
        if prediction_model is None:
            if len(models) > 1:
                raise ValueError(f"several prediction models {models}; pass prediction_model=")
            prediction_model = models[0] if models else None
        if prediction_model is not None:
            if prediction_model not in models:
                raise ValueError(f"no predictions of model {prediction_model!r}; have {models}")
            p = predicted_durations(preds, prediction_model)
            out = out.join(p, on="job_id", how="left", maintain_order="left")
    elif prediction_model is not None:
        raise ValueError(f"store has no predictions for {trace}/{cluster}")
    return out, origin  # type: ignore[return-value]


def gpu_jobs_in_window(
    store: object,
    trace: str,
    cluster: str,
    start: datetime | str | None,
    end: datetime | str | None,
    columns: list[str],
) -> tuple[pl.DataFrame, datetime | None]:
    """``columns`` of the GPU jobs with a duration submitted in ``[start, end)`` (UTC), and the
    time origin: ``start``, or the first submit (None when there is no such job)."""
    lf = store.scan("jobs", trace=trace, cluster=cluster)  # type: ignore[attr-defined]
    lf = lf.filter((pl.col("num_gpus") > 0) & pl.col("duration_s").is_not_null())
    if start is not None:
        lf = lf.filter(pl.col("submit_time") >= as_utc(start))
    if end is not None:
        lf = lf.filter(pl.col("submit_time") < as_utc(end))
    df = lf.select(columns).collect()
    if df.height == 0:
        return df, None
    return df, as_utc(start) if start is not None else df["submit_time"].min()


def seconds_since(origin: datetime) -> pl.Expr:
    """``submit_time`` as float seconds from ``origin`` (the replay's time axis)."""
    seconds = (pl.col("submit_time") - pl.lit(origin)).dt.total_microseconds() / 1e6
    return seconds.alias("submit_time")


def predicted_durations(preds: pl.LazyFrame | pl.DataFrame, model: str) -> pl.DataFrame:
    """``job_id, pred_duration`` of one model of a ``predictions`` table (first row per job)."""
    return (
        preds.lazy()
        .filter(pl.col("model") == model)
        .select("job_id", pl.col("pred_duration_s").alias("pred_duration"))
        .collect()
        .unique("job_id", keep="first")
    )


def _empty_jobs() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "job_id": pl.String,
            "vc": pl.String,
            "submit_time": pl.Float64,
            "duration": pl.Float64,
            "num_gpus": pl.Int64,
            "user": pl.String,
        }
    )
