"""PAI typed frames -> the store: ``jobs``, ``tasks``, ``instances``, ``sensors``,
``machine_metric``, ``machines`` and ``capacity`` of trace and cluster ``pai``, in one atomic
transaction. The big tables are streamed block by block (bounded memory); see docs/pai.md for the
mapping, the official-vs-ours definitions and the data-quality rules (``pai.*``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from tracekit.quality import QualityCounter
from tracekit.schema import TIME_WINDOWS
from tracekit.sources._common import ProgressFn, read_synthetic_marker, require_rows
from tracekit.sources._validate import Validator
from tracekit.sources.pai.formats import (
    CLUSTER,
    GROUP_TAG_TABLE,
    HEADERS,
    INSTANCE_TABLE,
    JOB_TABLE,
    MACHINE_METRIC,
    MACHINE_SPEC,
    MISSING_TIME,
    PERCENT,
    SENSOR_TABLE,
    STATUS_MAP,
    TASK_TABLE,
    TRACE,
)
from tracekit.sources.pai.read import BLOCK_BYTES, RawSource, _empty_raw, iter_frames, locate
from tracekit.store import TableWriter, begin, source_record
from tracekit.timeutil import PAI_SHIFT_S, pai_seconds_to_utc

_HASH_SEED = 0x5A17  # fixed seed: the same string hashes equally in every block
# Raw seconds beyond the end of the trace's time window are impossible (and would overflow).
_RAW_TIME_MAX = TIME_WINDOWS[TRACE][1].timestamp() - PAI_SHIFT_S
# Raw amounts a job's resources are summed from: repaired before they are summed.
_RAW_NON_NEGATIVE: dict[str, tuple[str, ...]] = {
    TASK_TABLE: ("inst_num", "plan_cpu", "plan_mem", "plan_gpu"),
    MACHINE_SPEC: ("cap_cpu", "cap_mem", "cap_gpu"),
}
_SHORT = {
    JOB_TABLE: "job", TASK_TABLE: "task", INSTANCE_TABLE: "instance", SENSOR_TABLE: "sensor",
    GROUP_TAG_TABLE: "group_tag", MACHINE_SPEC: "machine", MACHINE_METRIC: "machine_metric",
}  # fmt: skip


def _check_raw(check: Validator, name: str, frame: pl.DataFrame) -> pl.DataFrame:
    upper = {c: _RAW_TIME_MAX for c in ("start_time", "end_time") if c in frame.columns}
    return check.raw(_SHORT[name], frame, _RAW_NON_NEGATIVE.get(name, ()), upper)


# ---- conversions --------------------------------------------------------------------------------
def _count_times(frame: pl.DataFrame, table: str, quality: QualityCounter) -> None:
    for col in ("start_time", "end_time"):
        s = frame[col]
        quality.add(f"pai.{table}.{col}_zero", int((s == MISSING_TIME).sum()))
        quality.add(f"pai.{table}.{col}_negative", int((s < 0).sum()))


def _status() -> pl.Expr:
    # Unknown words and nulls are censored (counted as ``pai.job.unknown_status``).
    return pl.col("status").replace_strict(STATUS_MAP, default="censored").fill_null("censored")


def _ts(col: str) -> pl.Expr:
    return pai_seconds_to_utc(pl.col(col)).alias(col)


def _positive(col: str) -> pl.Expr:
    return pl.when(pl.col(col) > 0).then(pl.col(col))


def _instances(frame: pl.DataFrame, quality: QualityCounter) -> pl.DataFrame:
    _count_times(frame, "instance", quality)
    both = (pl.col("start_time") > 0) & (pl.col("end_time") > 0)
    runtime = pl.col("end_time") - pl.col("start_time")
    negative = int(frame.select((both & (runtime < 0)).sum()).item())
    quality.add("pai.instance.end_before_start", negative)
    # The raw columns in file order, times converted, plus the official runtime.
    return frame.select(
        *(_ts(c) if c.endswith("_time") else pl.col(c) for c in HEADERS[INSTANCE_TABLE]),
        # Official runtime (both times > 0); negative spans are nulled (counted above).
        pl.when(both & (runtime >= 0)).then(runtime).alias("duration_s"),
    )


def _instance_partials(frame: pl.DataFrame) -> pl.DataFrame:
    both = (pl.col("start_time") > 0) & (pl.col("end_time") > 0)
    runtime = pl.when(both).then(pl.col("end_time") - pl.col("start_time"))
    runtime = pl.when(runtime >= 0).then(runtime)
    return frame.group_by("job_name", "task_name").agg(
        pl.len().alias("n_records"),
        _positive("start_time").min().alias("start_min"),
        _positive("end_time").max().alias("end_max"),
        runtime.sum().alias("rt_sum"),
        runtime.count().alias("rt_n"),
    )


def _combine_partials(parts: list[pl.DataFrame]) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(
            schema={
                "job_name": pl.String,
                "task_name": pl.String,
                "n_records": pl.UInt32,
                "start_min": pl.Float64,
                "end_max": pl.Float64,
                "rt_mean": pl.Float64,
            }
        )
    return (
        pl.concat(parts)
        .group_by("job_name", "task_name")
        .agg(
            pl.col("n_records").sum(),
            pl.col("start_min").min(),
            pl.col("end_max").max(),
            pl.col("rt_sum").sum(),
            pl.col("rt_n").sum(),
        )
        .with_columns(
            pl.when(pl.col("rt_n") > 0).then(pl.col("rt_sum") / pl.col("rt_n")).alias("rt_mean")
        )
        .drop("rt_sum", "rt_n")
    )


def build_tasks(tasks_raw: pl.DataFrame, inst_agg: pl.DataFrame) -> pl.DataFrame:
    """The store ``tasks`` table from the raw task table and per-task instance aggregates.

    ``queue_s`` = earliest instance start (> 0) - task start (official ``wait_time``);
    ``duration_s`` = mean instance runtime over records with both times > 0 (official
    ``runtime_i``, duplicates included as in the official code).
    """
    start = _positive("start_time")
    plan_gpu = pl.col("plan_gpu") / PERCENT
    plan_cpu = pl.col("plan_cpu") / PERCENT
    return tasks_raw.join(
        inst_agg, on=["job_name", "task_name"], how="left", nulls_equal=True
    ).select(
        "job_name",
        "task_name",
        "inst_num",
        "status",
        _ts("start_time"),
        _ts("end_time"),
        plan_cpu.alias("plan_cpu"),
        pl.col("plan_mem").alias("plan_mem_gb"),
        plan_gpu.alias("plan_gpu"),
        "gpu_type",
        (pl.col("inst_num") * plan_gpu).alias("num_gpus"),
        (pl.col("inst_num") * plan_cpu).alias("num_cpus"),
        (pl.col("start_min") - start).alias("queue_s"),
        pl.col("rt_mean").alias("duration_s"),
    )


def build_machines(spec: pl.DataFrame, quality: QualityCounter) -> pl.DataFrame:
    """The store ``machines`` table from ``pai_machine_spec`` (duplicates counted, first kept)."""
    quality.add("pai.machine.duplicate", spec.height - spec["machine"].n_unique())
    return spec.unique("machine", keep="first", maintain_order=True).select(
        pl.col("machine").alias("machine_id"),
        pl.col("cap_gpu").alias("num_gpus"),
        "gpu_type",
        # The spec has no GPU memory column; the type names alone do not settle it (P100 comes
        # in 12 and 16 GB, MISC mixes models), so it stays null.
        pl.lit(None, dtype=pl.Float64).alias("gpu_mem_gb"),
        pl.col("cap_cpu").alias("num_cpus"),
        pl.col("cap_mem").alias("mem_gb"),
    )


CAPACITY_DATE: date = datetime.fromtimestamp(PAI_SHIFT_S, UTC).date()
"""Date of every ``capacity`` row: the shifted origin (raw second 0), not after any PAI time."""


def build_capacity(machines: pl.DataFrame) -> pl.DataFrame:
    """One ``capacity`` row per machine GPU type (as ``vc``) dated :data:`CAPACITY_DATE`.

    The spec is a single snapshot, so capacity is constant; the date is the shifted origin so
    that an as-of lookup from any job time finds it. CPU-only machines give a ``CPU`` row with 0.
    """
    return (
        machines.group_by("gpu_type")
        .agg(pl.col("num_gpus").sum())
        .sort("gpu_type")
        .select(
            pl.lit(CAPACITY_DATE, dtype=pl.Date).alias("date"),
            pl.col("gpu_type").alias("vc"),
            "num_gpus",
        )
    )


def build_jobs(
    jobs_raw: pl.DataFrame,
    tasks_raw: pl.DataFrame,
    inst_agg: pl.DataFrame,
    job_nodes: pl.DataFrame,
    sensor_agg: pl.DataFrame,
    tags: pl.DataFrame,
    quality: QualityCounter,
) -> pl.DataFrame:
    """Aggregate the store ``jobs`` table (one row per ``job_name``); see docs/pai.md."""
    quality.add("pai.job.duplicate", jobs_raw.height - jobs_raw["job_name"].n_unique())
    jobs_raw = jobs_raw.unique("job_name", keep="first", maintain_order=True)
    gpus = (pl.col("inst_num") * pl.col("plan_gpu") / PERCENT).fill_null(0.0).alias("_g")
    per_task = (
        tasks_raw.with_columns(gpus)
        .group_by("job_name")
        .agg(
            pl.len().alias("n_tasks"),
            # CPU roles (empty plan_gpu) count as 0 GPUs; a job of CPU roles only has 0 GPUs.
            pl.col("_g").sum().alias("t_gpus"),
            (pl.col("inst_num") * pl.col("plan_cpu") / PERCENT).sum().alias("t_cpus"),
            (pl.col("inst_num") * pl.col("plan_mem")).sum().alias("t_mem"),
            # Assigned type of the task with the most GPUs (ties: alphabetical).
            pl.col("gpu_type")
            .sort_by(["_g", "gpu_type"], descending=[True, False], nulls_last=True)
            .drop_nulls()
            .first()
            .alias("t_gpu_type"),
            _positive("start_time").min().alias("t_start"),
            _positive("end_time").max().alias("t_end"),
        )
    )
    per_inst = inst_agg.group_by("job_name").agg(
        pl.col("start_min").min().alias("i_start"),
        pl.col("end_max").max().alias("i_end"),
    )
    tags = tags.select(
        "inst_id",
        pl.col("user").alias("g_user"),
        pl.col("group").alias("group_tag"),
        "workload",
    )
    frame = (
        jobs_raw.join(per_task, on="job_name", how="left")
        .join(per_inst, on="job_name", how="left")
        .with_columns(pl.col("job_name").hash(_HASH_SEED).alias("_jh"))
        .join(job_nodes, on="_jh", how="left")
        .join(sensor_agg, on="job_name", how="left")
        .join(tags, on="inst_id", how="left")
    )
    quality.add("pai.job.without_tasks", int(frame["n_tasks"].null_count()))
    quality.add("pai.job.never_started", int(frame["i_start"].is_null().sum()))
    quality.add("pai.job.without_group_tag", int(frame["group_tag"].is_null().sum()))
    unknown = ~pl.col("status").is_in(list(STATUS_MAP)) | pl.col("status").is_null()
    quality.add("pai.job.unknown_status", int(frame.select(unknown.sum()).item()))
    censored = _status() == "censored"
    submit_missing = ~(pl.col("start_time") > 0)
    quality.add(
        "pai.job.submit_from_task",
        int(frame.select((submit_missing & pl.col("t_start").is_not_null()).sum()).item()),
    )
    quality.add(
        "pai.job.submit_missing",
        int(frame.select((submit_missing & pl.col("t_start").is_null()).sum()).item()),
    )
    end_any = pl.coalesce(pl.col("i_end"), pl.col("t_end"), _positive("end_time"))
    quality.add(
        "pai.job.censored_end_dropped",
        int(frame.select((censored & end_any.is_not_null()).sum()).item()),
    )
    frame = frame.with_columns(
        pl.coalesce(_positive("start_time"), pl.col("t_start")).alias("_submit"),
        pl.col("i_start").alias("_start"),
        pl.when(~censored).then(end_any).alias("_end"),
    )
    span = pl.col("_end") - pl.col("_start")
    quality.add("pai.job.end_before_start", int(frame.select((span < 0).sum()).item()))
    quality.add(
        "pai.job.start_before_submit",
        int(frame.select((pl.col("_start") < pl.col("_submit")).sum()).item()),
    )
    duration = pl.when(span >= 0).then(span)
    gpus = pl.col("t_gpus")
    return frame.select(
        pl.col("job_name").alias("job_id"),
        pl.coalesce(pl.col("user"), pl.col("g_user")).alias("user"),
        pl.lit(None, dtype=pl.String).alias("vc"),
        "job_name",
        "group_tag",
        "workload",
        pai_seconds_to_utc(pl.col("_submit")).alias("submit_time"),
        pai_seconds_to_utc(pl.col("_start")).alias("start_time"),
        pai_seconds_to_utc(pl.when(~(span < 0).fill_null(False)).then(pl.col("_end"))).alias(
            "end_time"
        ),
        (pl.col("_start") - pl.col("_submit")).alias("queue_s"),
        duration.alias("duration_s"),
        gpus.alias("num_gpus"),
        pl.col("t_cpus").alias("num_cpus"),
        pl.col("t_mem").alias("mem_gb"),
        pl.col("num_nodes").cast(pl.Int32),
        pl.col("t_gpu_type").alias("gpu_type"),
        _status().alias("status"),
        pl.col("status").alias("raw_status"),
        pl.lit(None, dtype=pl.Int32).alias("num_attempts"),
        (gpus * duration).alias("gpu_time_s"),
        pl.col("gpu_util_mean"),
    )


class _AsyncWriter:
    """Writes a streamed table on a helper thread, overlapping Parquet encoding with parsing.

    One worker keeps the blocks in order; at most two blocks wait, which bounds memory.
    """

    def __init__(self, writer: TableWriter, check: Validator) -> None:
        self._writer = writer
        self._check = check
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: list[Future[None]] = []

    def write(self, frame: pl.DataFrame) -> None:
        while len(self._pending) >= 2:
            self._pending.pop(0).result()  # re-raises a failed write here
        table = self._writer.table
        self._pending.append(self._pool.submit(self._writer.write, self._check(table, frame)))

    def finish(self) -> None:
        """Wait for every pending block (raising its error, if any) and stop the thread."""
        try:
            for fut in self._pending:
                fut.result()
        finally:
            self._pending.clear()
            self._pool.shutdown(wait=True)

    @property
    def rows(self) -> int:
        """Rows written so far."""
        return self._writer.rows


def _stream_instances(
    frames: Iterator[pl.DataFrame], writer: _AsyncWriter, q: QualityCounter
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Write the instances; return per-task aggregates and distinct machines per job hash.

    Only small partial aggregates and 8-byte hashes stay in memory, never the 7.5 M records.
    """
    partials, pairs, worker_hashes = [], [], []
    empty_workers = 0
    for frame in frames:
        writer.write(_instances(frame, q))
        partials.append(_instance_partials(frame))
        pairs.append(
            frame.filter(pl.col("machine").is_not_null())
            .select(
                pl.col("job_name").hash(_HASH_SEED).alias("_jh"),
                pl.col("machine").hash(_HASH_SEED).alias("_mh"),
            )
            .unique()
        )
        workers = frame["worker_name"]
        empty_workers += workers.null_count()
        worker_hashes.append(workers.drop_nulls().hash(_HASH_SEED))
    q.add("pai.instance.empty_worker_name", empty_workers)
    hashes = pl.concat(worker_hashes) if worker_hashes else pl.Series([], dtype=pl.UInt64)
    # Extra records sharing a worker_name (e.g. a failed try and its retry); all are kept.
    q.add("pai.instance.duplicate_worker_name", hashes.len() - hashes.n_unique())
    job_nodes = (
        pl.concat(pairs).unique().group_by("_jh").agg(pl.len().alias("num_nodes"))
        if pairs
        else pl.DataFrame(schema={"_jh": pl.UInt64, "num_nodes": pl.UInt32})
    )
    return _combine_partials(partials), job_nodes


def _count_orphans(
    jobs_raw: pl.DataFrame, tasks_raw: pl.DataFrame, inst_agg: pl.DataFrame, q: QualityCounter
) -> None:
    keys = ["job_name", "task_name"]
    task_keys = tasks_raw.select(keys).unique()
    orphans = inst_agg.join(task_keys, on=keys, how="anti", nulls_equal=True)
    q.add("pai.instance.without_task", int(orphans["n_records"].sum() or 0))
    idle = tasks_raw.join(inst_agg, on=keys, how="anti", nulls_equal=True)
    q.add("pai.task.without_instances", idle.height)
    q.add("pai.task.without_job", tasks_raw.join(jobs_raw, on="job_name", how="anti").height)


def _stream_sensors(frames: Iterator[pl.DataFrame], writer: _AsyncWriter) -> pl.DataFrame:
    """Write the sensor rows; return the mean ``gpu_wrk_util`` per job (null when no value)."""
    parts = []
    for frame in frames:
        writer.write(frame)
        parts.append(
            frame.group_by("job_name").agg(
                pl.col("gpu_wrk_util").sum().alias("s"),
                pl.col("gpu_wrk_util").count().alias("n"),
            )
        )
    if not parts:
        return pl.DataFrame(schema={"job_name": pl.String, "gpu_util_mean": pl.Float64})
    return (
        pl.concat(parts)
        .group_by("job_name")
        .agg(pl.col("s").sum(), pl.col("n").sum())
        .select(
            "job_name",
            pl.when(pl.col("n") > 0).then(pl.col("s") / pl.col("n")).alias("gpu_util_mean"),
        )
    )


# ---- ingest -------------------------------------------------------------------------------------
def _read_all(
    src: RawSource,
    q: QualityCounter,
    prov: list[dict[str, Any]],
    on_progress: ProgressFn | None,
    check: Validator,
) -> pl.DataFrame:
    record: dict[str, Any] = {}
    frames = list(iter_frames(src, q, provenance=record, on_progress=on_progress))
    prov.append(record)
    frame = pl.concat(frames) if frames else _empty_raw(src.name)
    return _check_raw(check, src.name, frame)


def ingest(
    raw_path: str | Path,
    store: str | Path,
    *,
    clusters: list[str] | tuple[str, ...] | None = None,
    lenient: bool = False,
    strict: bool = False,
    allow_empty: bool = False,
    on_progress: ProgressFn | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> dict[str, dict[str, int]]:
    """Ingest the PAI v2020 raw files under ``raw_path`` into ``store`` (trace/cluster ``pai``).

    Parameters
    ----------
    raw_path : str or Path
        Folder with the seven ``pai_*.tar.gz`` archives or extracted ``pai_*.csv`` files and,
        optionally, their ``.header`` files.
    store : str or Path
        Store directory (created if needed). The ``pai`` partition is replaced atomically.
    clusters : list of str, optional
        Only ``["pai"]`` is meaningful; anything without ``"pai"`` is an error.
    lenient : bool
        Count and drop unparseable rows (``pai.unparseable_row``) instead of raising.
    strict : bool
        Raise on values that break the store contract instead of nulling and counting them.
    allow_empty : bool
        Store an empty job table instead of refusing it.
    on_progress : callable, optional
        Called as ``on_progress(raw_table, bytes_done, bytes_total)`` after each block.
    block_bytes : int
        CSV block size; bounds peak memory.

    Returns
    -------
    dict
        Rows written per table: ``{"pai": {"jobs": n, ...}}``.

    Raises
    ------
    TraceFormatError
        Missing or truncated file, bad header, wrong field count or non-numeric value
        (the latter two only when not ``lenient``), naming file and line; an empty job table
        (unless ``allow_empty``).
    """
    if clusters is not None and CLUSTER not in clusters:
        raise ValueError(f"PAI has one cluster, {CLUSTER!r}; got clusters={list(clusters)}")
    raw_path = Path(raw_path)
    sources = locate(raw_path)
    marker = read_synthetic_marker(raw_path)
    q = QualityCounter(lenient=lenient)
    check = Validator(TRACE, q, strict=strict, label=str(raw_path))
    prov: list[dict[str, Any]] = []

    def stream(name: str) -> Iterator[pl.DataFrame]:
        record: dict[str, Any] = {}
        for frame in iter_frames(sources[name], q, block_bytes, record, on_progress):
            yield _check_raw(check, name, frame)
        prov.append(record)

    rows: dict[str, int] = {}
    writers: dict[str, _AsyncWriter] = {}
    with begin(store, TRACE, mode="ingest", allow_empty=allow_empty) as tx:
        try:
            jobs_raw = _read_all(sources[JOB_TABLE], q, prov, on_progress, check)
            require_rows(jobs_raw.height, sources[JOB_TABLE].label, allow_empty, "job rows")
            spec = _read_all(sources[MACHINE_SPEC], q, prov, on_progress, check)
            machines = check("machines", build_machines(spec, q))
            rows["machines"] = tx.write("machines", CLUSTER, machines, allow_empty=True)
            capacity = check("capacity", build_capacity(machines))
            rows["capacity"] = tx.write("capacity", CLUSTER, capacity, allow_empty=True)

            _count_times(jobs_raw, "job", q)
            tags = _read_all(sources[GROUP_TAG_TABLE], q, prov, on_progress, check)
            q.add("pai.group_tag.duplicate", tags.height - tags["inst_id"].n_unique())
            tags = tags.unique("inst_id", keep="first", maintain_order=True)
            tasks_raw = _read_all(sources[TASK_TABLE], q, prov, on_progress, check)
            _count_times(tasks_raw, "task", q)
            q.add(
                "pai.task.duplicate",
                tasks_raw.height
                - tasks_raw.select(pl.struct("job_name", "task_name").n_unique()).item(),
            )

            # Only the job table is required to have rows; the others may be empty.
            writers["instances"] = _AsyncWriter(
                tx.open_writer("instances", CLUSTER, allow_empty=True), check
            )
            inst_agg, job_nodes = _stream_instances(stream(INSTANCE_TABLE), writers["instances"], q)
            _count_orphans(jobs_raw, tasks_raw, inst_agg, q)
            writers["sensors"] = _AsyncWriter(
                tx.open_writer("sensors", CLUSTER, allow_empty=True), check
            )
            sensor_agg = _stream_sensors(stream(SENSOR_TABLE), writers["sensors"])

            writers["machine_metric"] = _AsyncWriter(
                tx.open_writer("machine_metric", CLUSTER, allow_empty=True), check
            )
            for frame in stream(MACHINE_METRIC):
                _count_times(frame, "machine_metric", q)
                writers["machine_metric"].write(
                    frame.with_columns(_ts("start_time"), _ts("end_time"))
                )

            for w in writers.values():
                w.finish()
            tasks = check("tasks", build_tasks(tasks_raw, inst_agg))
            rows["tasks"] = tx.write("tasks", CLUSTER, tasks, allow_empty=True)
            jobs = build_jobs(jobs_raw, tasks_raw, inst_agg, job_nodes, sensor_agg, tags, q)
            jobs = check("jobs", jobs)
            label = sources[JOB_TABLE].label
            require_rows(jobs.height, label, allow_empty, "job rows left after repairs")
            rows["jobs"] = tx.write("jobs", CLUSTER, jobs)

            headers = {
                s.name: (s.header_path.name if s.header_path else "built-in")
                for s in sources.values()
            }
            prov += [source_record(s.header_path) for s in sources.values() if s.header_path]
            tx.set_meta(
                CLUSTER,
                sources=sorted(prov, key=lambda r: r["path"]),
                synthetic=marker is not None,
                quality=q,
                time_origin=datetime.fromtimestamp(PAI_SHIFT_S, UTC).isoformat(),
                time_shift_s=PAI_SHIFT_S,
                synthetic_marker=marker,
                headers=headers,
                time_mapping="utc = raw_seconds + time_shift_s; raw 0 or empty = missing",
            )
        finally:
            # On error, stop the writer threads before the transaction discards its files.
            for w in writers.values():
                with contextlib.suppress(Exception):
                    w.finish()
    rows.update({name: w.rows for name, w in writers.items()})
    return {CLUSTER: dict(sorted(rows.items()))}


__all__ = [
    "CAPACITY_DATE",
    "build_capacity",
    "build_jobs",
    "build_machines",
    "build_tasks",
    "ingest",
]
