"""Typed job fields -> the store's ``jobs`` table (shared by the generic readers, csv and swf).

Completes what a source leaves implicit (start from submit + queue, end from start + run time,
or the reverse), applies the store's conventions (censored jobs have no end and no duration;
missing is null) and counts every repair under ``<trace>.<rule>``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter

_US = 1_000_000
#: Seconds by which a given duration or queue may differ from the times before it is counted.
TOLERANCE_S = 0.5


def _seconds(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_microseconds() / _US


def _plus(time: str, seconds: str) -> pl.Expr:
    return pl.col(time) + pl.duration(microseconds=(pl.col(seconds) * _US).round(0).cast(pl.Int64))


def to_jobs(
    fields: pl.DataFrame,
    prefix: str,
    quality: QualityCounter,
    *,
    strict: bool = False,
    source: str | Path = "<jobs>",
) -> pl.DataFrame:
    """Build the store's ``jobs`` table from typed job fields.

    Parameters
    ----------
    fields : polars.DataFrame
        Columns ``job_id, user, vc, job_name, group_tag, workload, gpu_type, status,
        raw_status, submit_time, start_time, end_time, duration_s, queue_s, num_gpus,
        num_cpus, mem_gb, num_nodes`` (times UTC; any may be null except ``job_id``,
        ``submit_time``, ``num_gpus`` and ``status``).
    prefix : str
        Rule-name prefix for the quality counts (the trace name).
    quality : QualityCounter
        Receives the counts.
    strict : bool
        Raise instead of keeping repaired rows (duplicate ids, negative queue or run times).
    source : str or Path
        The input named in strict-mode errors.

    Returns
    -------
    polars.DataFrame
        In the store's ``jobs`` schema, in input order.
    """
    q = quality
    df = fields
    # Fill each of start/end from the other source when one is missing.
    df = df.with_columns(
        pl.coalesce(pl.col("start_time"), _plus("submit_time", "queue_s")).alias("start_time")
    ).with_columns(
        pl.coalesce(pl.col("end_time"), _plus("start_time", "duration_s")).alias("end_time")
    )
    given_duration = df["duration_s"].is_not_null().any()
    given_queue = df["queue_s"].is_not_null().any()
    counts = df.select(
        (
            pl.col("duration_s").is_not_null()
            & ((pl.col("duration_s") - _seconds("end_time", "start_time")).abs() > TOLERANCE_S)
        ).sum().alias("dur"),
        (
            pl.col("queue_s").is_not_null()
            & ((pl.col("queue_s") - _seconds("start_time", "submit_time")).abs() > TOLERANCE_S)
        ).sum().alias("queue"),
        pl.col("start_time").is_null().sum().alias("no_start"),
        ((pl.col("status") == "censored") & pl.col("end_time").is_not_null()).sum().alias("cens"),
        ((pl.col("status") != "censored") & pl.col("start_time").is_not_null()
         & pl.col("end_time").is_null()).sum().alias("no_end"),
    ).row(0, named=True)  # fmt: skip
    if given_duration:
        q.add(f"{prefix}.duration_column_mismatch", counts["dur"])
    if given_queue:
        q.add(f"{prefix}.queue_column_mismatch", counts["queue"])
    q.add(f"{prefix}.missing_start_time", counts["no_start"])
    q.add(f"{prefix}.censored_end_cleared", counts["cens"])
    q.add(f"{prefix}.finished_without_end", counts["no_end"])

    censored = pl.col("status") == "censored"
    started = pl.col("start_time").is_not_null()
    df = df.with_columns(
        pl.when(censored).then(None).otherwise(pl.col("end_time")).alias("end_time"),
        pl.when(~started)
        .then(None)
        .otherwise(pl.coalesce(pl.col("queue_s"), _seconds("start_time", "submit_time")))
        .alias("queue_s"),
    ).with_columns(
        pl.when(censored | ~started)
        .then(None)
        .otherwise(pl.coalesce(pl.col("duration_s"), _seconds("end_time", "start_time")))
        .alias("duration_s"),
    )
    for rule, column in (("negative_queue", "queue_s"), ("negative_duration", "duration_s")):
        negative = df[column] < 0
        q.add(f"{prefix}.{rule}", int(negative.sum()))
        if strict and negative.any():
            job = df.filter(negative)["job_id"][0]
            raise TraceFormatError(source, None, f"{column} < 0 for job {job!r} (its times are "
                                   "out of order); without strict it is kept and counted")
    if strict and df["job_id"].is_duplicated().any():
        job = df.filter(df["job_id"].is_duplicated())["job_id"][0]
        raise TraceFormatError(source, None, f"job id {job!r} appears more than once; without "
                               "strict repeats are dropped or renamed and counted")
    q.add(f"{prefix}.fractional_nodes_rounded",
          int((df["num_nodes"] != df["num_nodes"].round(0)).sum()))
    df = _unique_ids(df, prefix, q)
    return df.select(
        pl.col("job_id"),
        pl.col("user"),
        pl.col("vc"),
        pl.col("job_name"),
        pl.col("group_tag"),
        pl.col("workload"),
        pl.col("submit_time").cast(pl.Datetime("us", "UTC")),
        pl.col("start_time").cast(pl.Datetime("us", "UTC")),
        pl.col("end_time").cast(pl.Datetime("us", "UTC")),
        pl.col("queue_s").cast(pl.Float64),
        pl.col("duration_s").cast(pl.Float64),
        pl.col("num_gpus").cast(pl.Float64),
        pl.col("num_cpus").cast(pl.Float64),
        pl.col("mem_gb").cast(pl.Float64),
        pl.col("num_nodes").round(0).cast(pl.Int32),
        pl.col("gpu_type"),
        pl.col("status"),
        pl.col("raw_status"),
        pl.lit(None, pl.Int32).alias("num_attempts"),
        (pl.col("num_gpus") * pl.col("duration_s")).alias("gpu_time_s"),
        pl.lit(None, pl.Float64).alias("gpu_util_mean"),
    )


def _unique_ids(df: pl.DataFrame, prefix: str, q: QualityCounter) -> pl.DataFrame:
    """Exact duplicate rows are dropped; a repeated id with other content gets ``#1``, ``#2``..."""
    columns = [c for c in df.columns if not c.startswith("_")]
    exact = conflicts = 0
    if df["job_id"].is_duplicated().any():
        before = df.height
        df = df.unique(subset=columns, keep="first", maintain_order=True)
        exact = before - df.height
        occurrence = pl.int_range(pl.len()).over("job_id")
        conflicts = df.select((occurrence > 0).sum()).item()
        df = df.with_columns(
            pl.when(occurrence > 0)
            .then(pl.col("job_id") + pl.lit("#") + occurrence.cast(pl.String))
            .otherwise(pl.col("job_id"))
            .alias("job_id")
        )
    q.add(f"{prefix}.duplicate_row_dropped", exact)
    q.add(f"{prefix}.duplicate_job_id_renamed", conflicts)
    return df


__all__ = ["TOLERANCE_S", "to_jobs"]
