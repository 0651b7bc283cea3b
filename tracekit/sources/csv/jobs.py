"""Typed job fields -> the store's ``jobs`` table (shared by the generic readers, csv and swf).

Completes what a source leaves implicit (start from submit + queue, end from start + run time,
or the reverse), applies the store's conventions (censored jobs have no end and no duration;
missing is null) and counts every repair under ``<trace>.<rule>``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tracekit.quality import QualityCounter
from tracekit.sources._common import jobs_frame, unique_job_ids

_US = 1_000_000
# Job fields a source gives (or completes here) that go into the jobs table as they are.
_GIVEN: tuple[str, ...] = (
    "job_id", "user", "vc", "job_name", "group_tag", "workload", "submit_time", "start_time",
    "end_time", "queue_s", "duration_s", "num_gpus", "num_cpus", "mem_gb", "gpu_type", "status",
    "raw_status",
)  # fmt: skip
_MAX_NODES = 2**31 - 1
#: Seconds by which a given duration or queue may differ from the times before it is counted.
TOLERANCE_S = 0.5


def _seconds(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_microseconds() / _US


def _plus(time: str, seconds: str) -> pl.Expr:
    # A delay too long for a timestamp (1e300 s) gives no time (null), not an overflow error.
    micros = (pl.col(seconds) * _US).round(0).cast(pl.Int64, strict=False)
    return pl.col(time) + pl.duration(microseconds=micros)


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
        Raise on a repeated job id instead of dropping or renaming it (values that break the
        store contract are the validation layer's, :class:`tracekit.sources._validate.Validator`).
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
    q.add(f"{prefix}.fractional_nodes_rounded",
          int((df["num_nodes"] != df["num_nodes"].round(0)).sum()))
    too_many = df["num_nodes"].round(0) > _MAX_NODES
    q.add(f"{prefix}.num_nodes_out_of_range", int(too_many.sum()))
    df = unique_job_ids(df, prefix, q, strict=strict, label=source)
    return jobs_frame(
        df,
        **{c: pl.col(c) for c in _GIVEN},
        # A node count beyond the store's 32-bit column is no node count: null (counted above).
        num_nodes=pl.when(pl.col("num_nodes").round(0) <= _MAX_NODES)
        .then(pl.col("num_nodes").round(0)),
        gpu_time_s=pl.col("num_gpus") * pl.col("duration_s"),
    )


__all__ = ["TOLERANCE_S", "to_jobs"]
