"""The Philly notebook's own definitions, reproduced exactly, next to the store's.

The official analysis (``msr-fiddle/philly-traces``, ``analysis/Philly Trace Analysis.ipynb``)
computes job quantities in **minutes** on **naive** Pacific wall-clock times. This module offers

* raw-record functions that apply the notebook's code paths to the decoded ``cluster_job_log``
  objects and util CSV lines (``official_*``), quirks included: GPUs from the first attempt only,
  run time = last end - first start, the Figure 3 per-attempt queueing delay that re-appends a
  stale value when an attempt has no start and then drops every ``0.0`` with ``filter(None, ...)``;
* store-based functions (:func:`official_job_metrics`, :func:`attempt_queueing_delays`) that give
  the same numbers from the normalized ``jobs``/``attempts`` tables, and the store's cleaner
  variant (``official=False``): UTC instants, seconds, zeros kept, no stale values.

See docs/philly.md ("Definitions") for the side-by-side comparison.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from tracekit.sources.philly.formats import GPU_ID_PREFIX, TIME_FORMAT, TIMEZONE, UTIL_NA

MINUTES_PER_DAY = 24 * 60
BUCKET_LABELS: dict[int, str] = {0: "1", 1: "2-4", 2: "5-8", 3: ">8"}
UTIL_FIGURE_GPUS: tuple[int, ...] = (1, 4, 8, 16)  # jobs the notebook's Fig. 5 considers


# ---- raw-record semantics (notebook cells 3-6, 14, 19-25) -------------------------------------
def parse_date(value: Any) -> dt.datetime | None:
    """Notebook ``parse_date``: None, ``''`` and ``'None'`` -> None, else naive datetime."""
    if value is None or value == "" or value == "None":
        return None
    return dt.datetime.strptime(value, TIME_FORMAT)


def timedelta_to_minutes(delta: dt.timedelta) -> float:
    """Notebook ``timedelta_to_minutes`` (days, seconds and microseconds)."""
    return delta.days * MINUTES_PER_DAY + delta.seconds / 60.0 + delta.microseconds / 60_000_000


def bucket_of(num_gpus: int | None) -> int | None:
    """Notebook ``get_bucket_from_num_gpus``: 1 / 2-4 / 5-8 / >8 GPUs -> 0 / 1 / 2 / 3."""
    if num_gpus is None:
        return None
    if num_gpus == 1:
        return 0
    if 2 <= num_gpus <= 4:
        return 1
    if 5 <= num_gpus <= 8:
        return 2
    if num_gpus > 8:
        return 3
    return None


def official_num_gpus(job: Mapping[str, Any]) -> int | None:
    """GPUs = sum of ``len(gpus)`` over the **first** attempt's servers; None without attempts."""
    attempts = job["attempts"]
    if not attempts:
        return None
    return sum(len(d["gpus"]) for d in attempts[0]["detail"])


def official_run_time_min(job: Mapping[str, Any]) -> float | None:
    """Run time (min) = last attempt end - first attempt start, naive; None if either is missing."""
    attempts = job["attempts"]
    if not attempts:
        return None
    start, end = parse_date(attempts[0]["start_time"]), parse_date(attempts[-1]["end_time"])
    if start is None or end is None:
        return None
    return timedelta_to_minutes(end - start)


def official_queueing_delay_min(job: Mapping[str, Any]) -> float | None:
    """Queueing delay (min) = first attempt start - submission; None if no start."""
    attempts = job["attempts"]
    if not attempts:
        return None
    start = parse_date(attempts[0]["start_time"])
    if start is None:
        return None
    submitted = parse_date(job["submitted_time"])
    assert submitted is not None, "the notebook would crash on a missing submitted_time"
    return timedelta_to_minutes(start - submitted)


def official_attempt_delays(job: Mapping[str, Any]) -> list[float]:
    """Figure 3 delays appended for one job, **before** ``filter(None, ...)``.

    One value per attempt: ``start - queue_time`` when both exist (then ``queue_time`` becomes the
    attempt's end), otherwise the previous value again (initially ``0.0``).
    """
    delay = 0.0
    queue_time = parse_date(job["submitted_time"])
    out = []
    for attempt in job["attempts"]:
        start = parse_date(attempt["start_time"])
        if queue_time is not None and start is not None:
            delay = timedelta_to_minutes(start - queue_time)
            queue_time = parse_date(attempt["end_time"])
        out.append(delay)
    return out


def official_fig3_queueing_delays(
    records: Iterable[Mapping[str, Any]],
) -> dict[str, dict[int, list[float]]]:
    """Notebook cell 14: ``{vc: {bucket: sorted delays}}`` with zeros (and stale zeros) dropped.

    A VC appears as soon as one of its jobs is seen (even with bucket None); a bucket appears as
    soon as one job falls in it, so empty lists are possible. Lists are sorted as for the CDF.
    """
    result: dict[str, dict[int, list[float]]] = {}
    for job in records:
        per_vc = result.setdefault(job["vc"], {})
        bucket = bucket_of(official_num_gpus(job))
        if bucket is None:
            continue
        per_vc.setdefault(bucket, []).extend(official_attempt_delays(job))
    return {vc: {b: sorted(filter(None, v)) for b, v in buckets.items()}
            for vc, buckets in result.items()}


def official_run_times(records: Iterable[Mapping[str, Any]]) -> dict[int, list[float]]:
    """Notebook Figure 2 input: ``{bucket: run times (min)}``, None run times skipped."""
    out: dict[int, list[float]] = {}
    for job in records:
        bucket = bucket_of(official_num_gpus(job))
        if bucket is None:
            continue
        values = out.setdefault(bucket, [])
        run = official_run_time_min(job)
        if run is not None:
            values.append(run)
    return out


def load_official_gpu_util(lines: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """Notebook loader: ``{machine: {time without suffix: row[2:-1]}}`` (later rows overwrite).

    Only for small inputs: the notebook keeps every value as a Python string.
    """
    util: dict[str, dict[str, list[str]]] = {}
    it = iter(lines)
    next(it)  # header
    for line in it:
        row = line.rstrip("\n").split(",")
        util.setdefault(row[1], {})[row[0][:-4]] = row[2:-1]
    return util


def official_job_gpu_util(job: Mapping[str, Any], gpu_util: Mapping[str, Mapping[str, list]],
                          dedicated_only: bool = False) -> list[float]:
    """Notebook Figs. 5-6: util values of one job's GPUs over its naive minutes.

    For each attempt with start and end, minutes ``floor(start) <= m < end`` (naive), each
    server and GPU ``gpuK`` -> value K of the row; ``'NA'`` and missing minutes are skipped.
    ``dedicated_only`` applies Fig. 6's filter (skip attempts on more servers than GPUs/8).
    An unknown server raises ``KeyError``, as in the notebook.
    """
    num_gpus = official_num_gpus(job)
    values: list[float] = []
    for attempt in job["attempts"]:
        start, end = parse_date(attempt["start_time"]), parse_date(attempt["end_time"])
        if start is None or end is None:
            continue
        if dedicated_only and num_gpus is not None and len(attempt["detail"]) > num_gpus / 8:
            continue
        minute = start - dt.timedelta(seconds=start.second, microseconds=start.microsecond)
        while minute < end:
            key = str(minute)
            for detail in attempt["detail"]:
                rows = gpu_util[detail["ip"]]
                if key not in rows:
                    continue
                for gpu in detail["gpus"]:
                    value = rows[key][int(gpu[len(GPU_ID_PREFIX):])]
                    if value != UTIL_NA:
                        values.append(float(value))
            minute += dt.timedelta(seconds=60)
    return values


def official_cpu_util(lines: Iterable[str]) -> list[float]:
    """Notebook Fig. 7 CPU input: every non-``NA`` ``cpu_util`` value (header skipped)."""
    it = iter(lines)
    next(it)
    out = []
    for line in it:
        row = line.rstrip("\n").split(",")
        if row[2] != UTIL_NA:
            out.append(float(row[2]))
    return out


def official_mem_util(lines: Iterable[str]) -> list[float]:
    """Notebook Fig. 7 memory input: ``100 (total - free) / total``, skipping NA and total 0."""
    it = iter(lines)
    next(it)
    out = []
    for line in it:
        row = line.rstrip("\n").split(",")
        if row[2] == UTIL_NA or row[3] == UTIL_NA:
            continue
        total, free = float(row[2]), float(row[3])
        if total == 0:
            continue
        out.append(100.0 * (total - free) / total)
    return out


# ---- the same definitions on the store tables --------------------------------------------------
def bucket_expr(num_gpus: pl.Expr) -> pl.Expr:
    """Vectorized :func:`bucket_of` (Int8, null for None or 0 GPUs)."""
    return (
        pl.when(num_gpus == 1).then(0)
        .when((num_gpus >= 2) & (num_gpus <= 4)).then(1)
        .when((num_gpus >= 5) & (num_gpus <= 8)).then(2)
        .when(num_gpus > 8).then(3)
        .otherwise(None)
        .cast(pl.Int8)
    )


def _naive_local(col: str) -> pl.Expr:
    # The notebook works on naive Pacific wall-clock times; undo the store's UTC conversion.
    return pl.col(col).dt.convert_time_zone(TIMEZONE).dt.replace_time_zone(None)


def official_job_metrics(jobs: pl.DataFrame, attempts: pl.DataFrame) -> pl.DataFrame:
    """Notebook job attributes from the store: one row per job.

    Columns ``job_id, vc, num_gpus_official, run_time_min_official,
    queueing_delay_min_official, bucket``. Differences to the store's columns: run time and
    queueing delay are null when the *first* attempt has no start (the store uses the first
    attempt that has one), and they are naive wall-clock differences (the store's are UTC, so
    they differ by an hour across the DST change).
    """
    first = attempts.filter(pl.col("attempt") == 0).select(
        "job_id", pl.col("num_gpus").alias("num_gpus_official"),
        _naive_local("start_time").alias("_first_start"),
    )
    last = attempts.sort("attempt").group_by("job_id").agg(
        _naive_local("end_time").last().alias("_last_end")
    )
    minutes = 60_000_000.0
    return (
        jobs.select("job_id", "vc", _naive_local("submit_time").alias("_submit"))
        .join(first, on="job_id", how="left")
        .join(last, on="job_id", how="left")
        .select(
            "job_id", "vc", "num_gpus_official",
            ((pl.col("_last_end") - pl.col("_first_start")).dt.total_microseconds() / minutes)
            .alias("run_time_min_official"),
            ((pl.col("_first_start") - pl.col("_submit")).dt.total_microseconds() / minutes)
            .alias("queueing_delay_min_official"),
            bucket_expr(pl.col("num_gpus_official")).alias("bucket"),
        )
    )


def attempt_queueing_delays(jobs: pl.DataFrame, attempts: pl.DataFrame,
                            official: bool = True) -> pl.DataFrame:
    """Per-attempt queueing delays: ``job_id, vc, bucket, attempt, delay_s``.

    ``official=True`` reproduces notebook cell 14 on naive local times (delay measured from the
    last *computed* attempt's end, or from submission; stale values re-appended; zeros and
    nulls dropped; jobs with bucket None skipped). ``official=False`` is the store definition:
    for every attempt with a start, ``start - (previous attempt's end, or submission for the
    first attempt)`` on UTC instants; null when that reference is missing; zeros kept.
    Both report seconds (the notebook's minutes x 60).
    """
    att = attempts.sort("job_id", "attempt").join(
        jobs.select("job_id", "vc", "submit_time"), on="job_id", how="left"
    )
    if not official:
        prev_end = pl.col("end_time").shift(1).over("job_id")
        ref = pl.when(pl.col("attempt") == 0).then(pl.col("submit_time")).otherwise(prev_end)
        return att.select(
            "job_id", "vc",
            bucket_expr(pl.col("num_gpus").first().over("job_id")).alias("bucket"),
            "attempt",
            ((pl.col("start_time") - ref).dt.total_microseconds() / 1e6).alias("delay_s"),
        )
    att = att.with_columns(
        _naive_local("submit_time").alias("_sub"),
        _naive_local("start_time").alias("_start"),
        _naive_local("end_time").alias("_end"),
    )
    rows: dict[str, list[Any]] = {k: [] for k in ("job_id", "vc", "bucket", "attempt", "delay_s")}
    state: dict[str, Any] = {}
    for r in att.iter_rows(named=True):
        if r["attempt"] == 0 or state.get("job") != r["job_id"]:
            state = {"job": r["job_id"], "delay": 0.0, "queue": r["_sub"],
                     "bucket": bucket_of(int(r["num_gpus"]))}
        if state["queue"] is not None and r["_start"] is not None:
            state["delay"] = (r["_start"] - state["queue"]).total_seconds()
            state["queue"] = r["_end"]
        if state["bucket"] is None or not state["delay"]:
            continue  # filter(None, ...) drops 0.0 (stale or real) delays
        rows["job_id"].append(r["job_id"])
        rows["vc"].append(r["vc"])
        rows["bucket"].append(state["bucket"])
        rows["attempt"].append(r["attempt"])
        rows["delay_s"].append(state["delay"])
    return pl.DataFrame(rows, schema={"job_id": pl.String, "vc": pl.String, "bucket": pl.Int8,
                                      "attempt": pl.Int32, "delay_s": pl.Float64})


__all__ = [
    "attempt_queueing_delays", "bucket_expr", "bucket_of", "load_official_gpu_util",
    "official_attempt_delays",
    "official_cpu_util", "official_fig3_queueing_delays", "official_job_gpu_util",
    "official_job_metrics", "official_mem_util", "official_num_gpus", "official_queueing_delay_min",
    "official_run_time_min", "official_run_times", "parse_date", "timedelta_to_minutes",
]
