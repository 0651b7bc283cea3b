"""Acme raw CSV -> typed frames -> frames in the store schema (``jobs``, ``kalos_jobs``).

Every field is checked; a bad one raises :class:`~tracekit.errors.TraceFormatError` naming the
file and line (or, in lenient mode, the row is counted as ``acme.unparseable_row`` and skipped).
Repairs and oddities that are kept are counted by rule name (docs/acme.md lists them).
"""

from __future__ import annotations

import polars as pl

from tracekit.quality import QualityCounter
from tracekit.sources._common import jobs_frame, read_text_csv, reject_rows, typed_columns
from tracekit.sources.acme.formats import (
    COUNT_COLUMNS,
    FLOAT_COLUMNS,
    HEADERS,
    KALOS_ONLY,
    STATUS_MAP,
    TIME_COLUMNS,
    TIME_EXAMPLE,
    TIME_FORMAT,
    TRACE,
    WORKLOAD_TYPES,
)

_RULE = f"{TRACE}.unparseable_row"
# Differences below this many seconds between a published column and the times are rounding.
_TOLERANCE_S = 1.0


# Node, GPU and CPU counts beyond this are no counts of a real job (and overflow the store's
# 32-bit node count).
_MAX_COUNT = 2**31 - 1


def _whole_number(text: pl.Series) -> pl.Series:
    """Whole numbers from 0 to 2^31 - 1 written as ``8`` or ``8.0``; anything else becomes null."""
    value = text.cast(pl.Float64, strict=False)
    ok = (value >= 0) & (value <= _MAX_COUNT) & (value == value.floor())
    return pl.select(pl.when(ok).then(value).cast(pl.Int64)).to_series().alias(text.name)


def _non_negative_float(text: pl.Series) -> pl.Series:
    value = text.cast(pl.Float64, strict=False)
    return pl.select(pl.when(value >= 0).then(value)).to_series().alias(text.name)


def _offset_time(text: pl.Series) -> pl.Series:
    return text.str.to_datetime(
        TIME_FORMAT, time_unit="us", time_zone="UTC", strict=False, cache=False
    )


def read_jobs(
    data: bytes, name: str, cluster: str, quality: QualityCounter | None = None
) -> pl.DataFrame:
    """Parse ``trace_seren.csv`` or ``trace_kalos.csv`` into typed columns.

    Parameters
    ----------
    data : bytes
        File contents.
    name : str
        File name used in error messages.
    cluster : str
        ``Seren`` or ``Kalos`` (selects the header).
    quality : QualityCounter, optional
        Where repairs are counted; in lenient mode bad rows are counted and skipped.

    Returns
    -------
    polars.DataFrame
        The raw columns typed: counts as Int64, durations as Float64, times as UTC timestamps
        (each converted from its own offset), ``_line`` (file line of each row).

    Raises
    ------
    TraceFormatError
        Wrong header or field count, a count that is not a whole number, a time without a UTC
        offset, a missing ``job_id``, ``submit_time``, ``state`` or ``gpu_num``.
    """
    quality = quality or QualityCounter()
    header = HEADERS[cluster]
    raw = read_text_csv(data, name, (header,), quality, TRACE)
    kwargs = {"name": name, "quality": quality, "rule": _RULE}
    counts, bad_c = typed_columns(
        raw,
        COUNT_COLUMNS,
        parse=_whole_number,
        what=f"a whole number from 0 to {_MAX_COUNT}",
        nullable=("node_num", "cpu_num"),
        **kwargs,
    )
    floats, bad_f = typed_columns(
        raw,
        tuple(c for c in FLOAT_COLUMNS if c in header),
        parse=_non_negative_float,
        what="a non-negative number",
        nullable=FLOAT_COLUMNS,
        **kwargs,
    )
    times, bad_t = typed_columns(
        raw,
        tuple(c for c in TIME_COLUMNS if c in header),
        parse=_offset_time,
        what=f"a time with its UTC offset like {TIME_EXAMPLE!r}",
        nullable=TIME_COLUMNS[1:],
        **kwargs,
    )
    text = raw.select(
        *(pl.col(c).str.strip_chars().replace("", None) for c in ("job_id", "user", "type",
                                                                  "state")),
        "_line",
    )  # fmt: skip
    frame = text.with_columns(
        pl.Series(k, v) for k, v in {**counts, **floats, **times}.items()
    ).filter(~(bad_c | bad_f | bad_t))
    for col in ("job_id", "state"):
        frame = reject_rows(frame, pl.col(col).is_null(), name, f"{col} is empty", quality, _RULE)
    for col in KALOS_ONLY:
        if col not in frame.columns:
            dtype = pl.Datetime("us", "UTC") if col.endswith("_time") else pl.Float64
            frame = frame.with_columns(pl.lit(None, dtype).alias(col))
    return frame


def jobs_from_raw(frame: pl.DataFrame, quality: QualityCounter) -> pl.DataFrame:
    """The store's ``jobs`` table from parsed rows (job ids made unique), counting every repair.

    Status: COMPLETED -> completed, CANCELLED -> canceled, FAILED/TIMEOUT/NODE_FAIL -> failed
    (``raw_status`` keeps the word), any other word -> censored (end and duration null). A job
    that never started has null start, queue and duration. ``duration_s`` and ``queue_s`` are the
    published ``duration`` and ``queue`` columns (the authors' definitions), falling back to the
    times where a column is empty; ``workload`` is the ``type`` column.
    """
    q = quality
    df = frame
    known = pl.col("state").is_in(list(STATUS_MAP))
    status = pl.col("state").replace_strict(STATUS_MAP, default="censored", return_dtype=pl.String)
    df = df.with_columns(status.alias("status"))
    censored = pl.col("status") == "censored"
    started = pl.col("start_time").is_not_null()
    span_s = (pl.col("end_time") - pl.col("start_time")).dt.total_microseconds() / 1e6
    wait_s = (pl.col("start_time") - pl.col("submit_time")).dt.total_microseconds() / 1e6
    c = df.select(
        (~known).sum().alias("unknown_state"),
        (censored & pl.col("end_time").is_not_null()).sum().alias("cleared"),
        (~started).sum().alias("never_started"),
        (~started & (pl.col("queue") > 0)).sum().alias("queue_no_start"),
        (~started & (pl.col("duration") > 0)).sum().alias("duration_no_start"),
        (~pl.col("type").is_in(list(WORKLOAD_TYPES)) | pl.col("type").is_null())
        .sum()
        .alias("type"),
        ((span_s - pl.col("duration")).abs() > _TOLERANCE_S).sum().alias("dur_mismatch"),
        ((wait_s - pl.col("queue")).abs() > _TOLERANCE_S).sum().alias("queue_mismatch"),
        ((pl.col("gpu_num") * pl.col("duration") - pl.col("gpu_time")).abs() > _TOLERANCE_S)
        .sum()
        .alias("gpu_time_mismatch"),
    ).row(0, named=True)
    q.add("acme.unknown_state", c["unknown_state"])
    q.add("acme.censored_end_cleared", c["cleared"])
    q.add("acme.never_started", c["never_started"])
    q.add("acme.queue_without_start_cleared", c["queue_no_start"])
    q.add("acme.duration_without_start_cleared", c["duration_no_start"])
    q.add("acme.unknown_type_kept", c["type"])
    q.add("acme.duration_column_mismatch", c["dur_mismatch"])
    q.add("acme.queue_column_mismatch", c["queue_mismatch"])
    q.add("acme.gpu_time_column_mismatch", c["gpu_time_mismatch"])

    num_gpus = pl.col("gpu_num").cast(pl.Float64)
    duration = (
        pl.when(censored | ~started).then(None).otherwise(pl.coalesce(pl.col("duration"), span_s))
    )
    return jobs_frame(
        df,
        job_id=pl.col("job_id"),
        user=pl.col("user"),
        workload=pl.col("type"),
        submit_time=pl.col("submit_time"),
        start_time=pl.col("start_time"),
        end_time=pl.when(censored).then(None).otherwise(pl.col("end_time")),
        queue_s=pl.when(started).then(pl.coalesce(pl.col("queue"), wait_s)),
        duration_s=duration,
        num_gpus=num_gpus,
        num_cpus=pl.col("cpu_num"),
        num_nodes=pl.col("node_num"),
        status=pl.col("status"),
        raw_status=pl.col("state"),
        gpu_time_s=num_gpus * duration,
    )


def kalos_jobs_from_raw(frame: pl.DataFrame) -> pl.DataFrame:
    """The ``kalos_jobs`` table: the columns only Kalos publishes, one row per job (ids made
    unique as for :func:`jobs_from_raw`)."""
    return frame.select(
        "job_id",
        pl.col("mem_per_pod_GB").alias("mem_per_pod_gb"),
        pl.col("shared_mem_per_pod").alias("shared_mem_per_pod_gb"),
        "fail_time",
        "stop_time",
    )


__all__ = ["jobs_from_raw", "kalos_jobs_from_raw", "read_jobs"]
