"""Per-job GPU utilization: attempts x machine x GPU x minute -> ``job_gpu_minutes``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from tracekit.quality import QualityCounter
from tracekit.sources.philly.formats import (
    _FAR_FUTURE,
    GPU_ID_PREFIX,
)


def gpu_intervals(attempts: pl.DataFrame, qc: QualityCounter | None = None) -> pl.DataFrame:
    """One row per (attempt, machine, GPU): the minutes ``[start_floor, end)`` it held the GPU.

    A util sample at minute ``m`` belongs to the attempt when ``floor(start) <= m < end`` (the
    official notebook's minute walk). A missing end (censored) is open-ended; attempts without
    a start cannot be placed in time and are left out. Overlapping intervals on one GPU (double
    bookings) are counted as ``philly.gpu_double_booked``; such minutes go to the later attempt.
    """
    iv = (
        attempts.filter(pl.col("start_time").is_not_null())
        .select("job_id", "attempt", "start_time", "end_time", pl.col("gpus").alias("g"))
        .explode("g")
        .drop_nulls("g")
        .with_columns(pl.col("g").str.split_exact("/", 1).alias("_s"))
        .select(
            "job_id", "attempt",
            pl.col("_s").struct.field("field_0").alias("machine_id"),
            pl.col("_s").struct.field("field_1").str.slice(len(GPU_ID_PREFIX)).cast(pl.Int8)
            .alias("gpu"),
            pl.col("start_time").dt.truncate("1m").alias("start_floor"),
            pl.col("end_time").fill_null(_FAR_FUTURE).alias("end"),
        )
        .sort("machine_id", "gpu", "start_floor")
    )
    if qc is not None:
        prev_end = pl.col("end").cum_max().shift(1).over("machine_id", "gpu")
        qc.add("philly.gpu_double_booked",
               int(iv.select((pl.col("start_floor") < prev_end).sum()).item()))
    return iv.sort("start_floor")


def shared_segments(intervals: pl.DataFrame) -> pl.DataFrame:
    """Time segments ``[seg_start, seg_end)`` in which a server hosts GPUs of 2+ jobs.

    A sweep over (job, attempt, machine) intervals: +1 at each start, -1 at each end; ends sort
    before starts at the same instant because intervals are half-open.
    """
    per_machine = intervals.group_by("job_id", "attempt", "machine_id").agg(
        pl.col("start_floor").min(), pl.col("end").max()
    )
    events = pl.concat([
        per_machine.select("machine_id", pl.col("start_floor").alias("t"),
                           pl.lit(1, pl.Int32).alias("d")),
        per_machine.select("machine_id", pl.col("end").alias("t"), pl.lit(-1, pl.Int32).alias("d")),
    ]).sort("machine_id", "t", "d")
    seg = events.with_columns(
        pl.col("d").cum_sum().over("machine_id").alias("active"),
        pl.col("t").shift(-1).over("machine_id").alias("seg_end"),
    )
    return (
        seg.filter((pl.col("active") >= 2) & (pl.col("seg_end") > pl.col("t")))
        .select("machine_id", pl.col("t").alias("seg_start"), "seg_end")
        .sort("seg_start")
    )


def join_job_minutes(util: pl.DataFrame, intervals: pl.DataFrame,
                     shared: pl.DataFrame) -> pl.DataFrame:
    """Attach ``job_id, attempt, shared_server`` to util rows covered by an attempt.

    ``util`` holds ``time, machine_id, gpu, util`` rows in any order; rows no attempt covers
    (idle GPUs) are not returned. Output is in the ``job_gpu_minutes`` schema.
    """
    u = util if util["time"].is_sorted() else util.sort("time")
    hit = u.join_asof(
        intervals, left_on="time", right_on="start_floor", by=["machine_id", "gpu"],
        strategy="backward", check_sortedness=False,
    ).filter(pl.col("job_id").is_not_null() & (pl.col("time") < pl.col("end")))
    hit = hit.join_asof(
        shared, left_on="time", right_on="seg_start", by="machine_id",
        strategy="backward", check_sortedness=False,
    ).with_columns(
        (pl.col("seg_end").is_not_null() & (pl.col("time") < pl.col("seg_end")))
        .alias("shared_server")
    )
    return hit.select("job_id", "attempt", "time", "machine_id", "gpu", "util", "shared_server")


def finish_gpu_util_mean(jobs: pl.DataFrame, partials: list[pl.DataFrame]) -> pl.DataFrame:
    """Fill ``jobs.gpu_util_mean`` = mean util over the job's non-null GPU-minutes."""
    if not partials:
        return jobs
    agg = pl.concat(partials).group_by("job_id").agg(pl.col("util_sum").sum(),
                                                     pl.col("util_n").sum())
    agg = agg.select("job_id", pl.when(pl.col("util_n") > 0)
                     .then(pl.col("util_sum") / pl.col("util_n")).alias("_mean"))
    return jobs.join(agg, on="job_id", how="left").with_columns(
        pl.col("_mean").alias("gpu_util_mean")
    ).drop("_mean")


def _parquet_batches(path: Path, rows: int) -> Iterator[pl.DataFrame]:
    pf = pq.ParquetFile(path)
    for rb in pf.iter_batches(batch_size=rows):
        frame = pl.from_arrow(pa.Table.from_batches([rb]))
        assert isinstance(frame, pl.DataFrame)
        yield frame
