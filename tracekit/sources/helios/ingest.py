"""Helios typed frames -> the store: the ``jobs`` and ``capacity`` tables of every cluster, in
one atomic store transaction. See docs/helios.md for the mapping and the data-quality rules.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import (
    ProgressFn,
    jobs_frame,
    no_progress,
    read_capped,
    read_synthetic_marker,
    require_rows,
    unique_job_ids,
)
from tracekit.sources._validate import Validator
from tracekit.sources.helios.formats import (
    CAPACITY_FILE,
    LOG_FILE,
    SLURM_MAX_S,
    STATUS_MAP,
    TIMEZONE,
    TRACE,
    WINDOW_START,
)
from tracekit.sources.helios.read import locate, read_capacity, read_log
from tracekit.store import begin, source_record
from tracekit.timeutil import localize_naive

# A capacity file has one short row per day (about 20 kB for the whole trace).
MAX_CAPACITY_BYTES = 64 << 20


def normalize_jobs(raw: pl.DataFrame, cluster: str, quality: QualityCounter) -> pl.DataFrame:
    """Turn parsed log rows into the store's ``jobs`` table, counting every repair.

    Status: COMPLETED -> completed, CANCELLED -> canceled, FAILED/TIMEOUT/NODE_FAIL -> failed,
    RUNNING/SUSPENDED/unknown -> censored (end and duration then null, as the contract says).
    """
    q = quality
    df = unique_job_ids(raw, TRACE, q)
    known = pl.col("state").is_in(list(STATUS_MAP))
    q.add("helios.unknown_state", df.select((~known).sum()).item())
    status = pl.col("state").replace_strict(STATUS_MAP, default="censored", return_dtype=pl.String)
    df = df.with_columns(status.alias("status"))
    censored = pl.col("status") == "censored"
    q.add(
        "helios.censored_end_cleared",
        df.select((censored & pl.col("end_time").is_not_null()).sum()).item(),
    )
    q.add("helios.missing_start_time", df.select(pl.col("start_time").is_null().sum()).item())
    counts = df.select(
        (pl.col("duration") == 0).sum().alias("zero"),
        (pl.col("duration") > SLURM_MAX_S).sum().alias("over"),
        (pl.col("submit_time") < pl.lit(WINDOW_START).str.to_datetime("%Y-%m-%d"))
        .sum()
        .alias("warm"),
        (
            pl.col("end_time").is_not_null()
            & ((pl.col("end_time") - pl.col("start_time")).dt.total_seconds() != pl.col("duration"))
        )
        .sum()
        .alias("dur_mismatch"),
        (
            pl.col("start_time").is_not_null()
            & ((pl.col("start_time") - pl.col("submit_time")).dt.total_seconds() != pl.col("queue"))
        )
        .sum()
        .alias("queue_mismatch"),
    ).row(0, named=True)
    q.add(
        "helios.node_num_out_of_range",
        df.select((pl.col("node_num").abs() > 2**31 - 1).sum()).item(),
    )
    q.add("helios.zero_duration_kept", counts["zero"])
    q.add("helios.duration_over_14d_kept", counts["over"])
    q.add("helios.submitted_before_window_kept", counts["warm"])
    q.add("helios.duration_column_mismatch", counts["dur_mismatch"])
    q.add("helios.queue_column_mismatch", counts["queue_mismatch"])

    num_gpus = pl.col("gpu_num").cast(pl.Float64)
    # Durations and delays come from the README-defined columns (the official analysis uses them).
    duration = pl.when(censored).then(None).otherwise(pl.col("duration").cast(pl.Float64))
    return jobs_frame(
        df,
        job_id=pl.col("job_id"),
        user=pl.col("user"),
        vc=pl.col("vc"),
        submit_time=localize_naive(pl.col("submit_time"), TIMEZONE),
        start_time=localize_naive(pl.col("start_time"), TIMEZONE),
        end_time=pl.when(censored)
        .then(None)
        .otherwise(localize_naive(pl.col("end_time"), TIMEZONE)),
        queue_s=pl.when(pl.col("start_time").is_null())
        .then(None)
        .otherwise(pl.col("queue").cast(pl.Float64)),
        duration_s=duration,
        num_gpus=num_gpus,
        num_cpus=pl.col("cpu_num").cast(pl.Float64),
        # A node count beyond int32 is no node count: null (counted above).
        num_nodes=pl.col("node_num").cast(pl.Int32, strict=False),
        status=pl.col("status"),
        raw_status=pl.col("state"),
        gpu_time_s=num_gpus * duration,
    )


def ingest(
    raw_path: str | Path,
    store: str | Path,
    *,
    clusters: list[str] | tuple[str, ...] | None = None,
    lenient: bool = False,
    strict: bool = False,
    allow_empty: bool = False,
    on_progress: ProgressFn | None = None,
) -> dict[str, dict[str, int]]:
    """Ingest Helios raw files into ``store``; all clusters land in one atomic transaction.

    Parameters
    ----------
    raw_path : str or Path
        ``data.zip``, or a folder holding ``data/<Cluster>/cluster_log.csv`` (or the zip).
    store : str or Path
        Store directory.
    clusters : sequence of str, optional
        Only these clusters (default: every cluster found).
    lenient : bool
        Count and skip unparseable rows instead of raising.
    strict : bool
        Raise on values that break the store contract instead of nulling and counting them.
    allow_empty : bool
        Store a log without job rows instead of refusing it.
    on_progress : callable, optional
        ``on_progress(stage, done, total)``; here ``done``/``total`` count clusters.

    Returns
    -------
    dict
        Rows written per cluster and table.

    Raises
    ------
    TraceFormatError
        Unreadable input (file and line named), the same cluster found twice, or an empty log
        (unless ``allow_empty``).
    """
    progress = on_progress or no_progress
    raw_path = Path(raw_path)
    files, archive = locate(raw_path)
    logs = [f for f in files if f.kind == "log"]
    if not logs:
        raise TraceFormatError(raw_path, None, f"no {LOG_FILE} found (expected data/<Cluster>/...)")
    wanted = set(clusters) if clusters else None
    if wanted:
        unknown = wanted - {f.cluster for f in logs}
        if unknown:
            raise TraceFormatError(raw_path, None, f"clusters not found: {sorted(unknown)}")
        logs = [f for f in logs if f.cluster in wanted]
    caps = {f.cluster: f for f in files if f.kind == "capacity"}
    marker = read_synthetic_marker(raw_path)
    if archive is not None:
        sources = [source_record(archive)]
    else:
        sources = []
        for f in (*logs, *(caps[f.cluster] for f in logs if f.cluster in caps)):
            record = source_record(f.label)
            record["path"] = f.rel
            sources.append(record)
    summary: dict[str, dict[str, int]] = {}
    with begin(store, TRACE, mode="ingest", allow_empty=allow_empty) as tx:
        for i, log in enumerate(logs):
            cluster = log.cluster
            quality = QualityCounter(lenient=lenient)
            check = Validator(TRACE, quality, cluster=cluster, strict=strict, label=log.label)
            progress(f"helios/{cluster}: {LOG_FILE}", i, len(logs))
            with log.open() as fh:
                raw = read_log(fh, log.label, quality)
            require_rows(raw.height, log.label, allow_empty, "job rows")
            jobs = normalize_jobs(raw, cluster, quality)
            del raw  # the parsed text columns are not needed past this point (peak memory)
            jobs = check("jobs", jobs)
            require_rows(jobs.height, log.label, allow_empty, "job rows left after repairs")
            rows = {"jobs": tx.write("jobs", cluster, jobs)}
            cap = caps.get(cluster)
            if cap is not None:
                progress(f"helios/{cluster}: {CAPACITY_FILE}", i, len(logs))
                with cap.open() as fh:
                    data = read_capped(fh, MAX_CAPACITY_BYTES, cap.label, CAPACITY_FILE)
                capacity = check("capacity", read_capacity(data, cap.label, quality))
                rows["capacity"] = tx.write("capacity", cluster, capacity, allow_empty=True)
            else:
                quality.add("helios.capacity_file_missing", 1)
            tx.set_meta(
                cluster,
                sources=[s for s in sources if s["path"].startswith(f"{cluster}/")] or sources,
                synthetic=marker is not None,
                quality=quality,
                timezone=TIMEZONE,
                sample=marker,
            )
            summary[cluster] = rows
        progress("helios: committing", len(logs), len(logs))
    return summary


__all__ = ["ingest", "normalize_jobs"]
