"""Arrow schemas of the normalized store tables (contract v1, see docs/schema.md).

Each schema is the *file* schema: the partition keys ``trace`` and ``cluster`` live in the hive
directory names and are added back as columns when the store is read.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pyarrow as pa

SCHEMA_VERSION = 1

TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
F64 = pa.float64()
F32 = pa.float32()
I32 = pa.int32()
I64 = pa.int64()

#: The built-in traces, each with its own reader (``tracekit.sources.<trace>``) and time zone.
TRACES: tuple[str, ...] = ("philly", "helios", "pai", "openb", "acme")
STATUSES: tuple[str, ...] = ("completed", "canceled", "failed", "censored")
TIMEZONES: dict[str, str] = {
    "philly": "America/Los_Angeles",
    "helios": "Asia/Shanghai",
    "pai": "Asia/Shanghai",
    # Alibaba GPU-sharing cluster; raw times are seconds from an unpublished origin (docs/openb.md)
    "openb": "Asia/Shanghai",
    # Shanghai AI Lab; raw times carry their own UTC offsets, this zone only names local hours.
    "acme": "Asia/Shanghai",
}
PARTITION_KEYS: tuple[str, str] = ("trace", "cluster")


_BUILT_IN_ZONES: frozenset[str] = frozenset(TIMEZONES)


def register_timezone(trace: str, timezone: str) -> None:
    """Make the zone of a user-named trace known to the local-time helpers.

    The store manifest keeps each partition's zone; :class:`tracekit.store.Store` registers the
    zones of traces other than the built-in ones when it opens a store.
    """
    if trace not in _BUILT_IN_ZONES:
        TIMEZONES[trace] = timezone


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype) for name, dtype in fields])


JOBS = _schema(
    ("job_id", STR),
    ("user", STR),
    ("vc", STR),
    ("job_name", STR),
    ("group_tag", STR),
    ("workload", STR),
    ("submit_time", TS),
    ("start_time", TS),
    ("end_time", TS),
    ("queue_s", F64),
    ("duration_s", F64),
    ("num_gpus", F64),
    ("num_cpus", F64),
    ("mem_gb", F64),
    ("num_nodes", I32),
    ("gpu_type", STR),
    ("status", STR),
    ("raw_status", STR),
    ("num_attempts", I32),
    ("gpu_time_s", F64),
    ("gpu_util_mean", F64),
)

# ---- Philly -------------------------------------------------------------------------------------
ATTEMPTS = _schema(
    ("job_id", STR),
    ("attempt", I32),
    ("start_time", TS),
    ("end_time", TS),
    ("machines", pa.list_(STR)),
    ("gpus", pa.list_(STR)),
    ("num_gpus", F64),
)
# Long layout: one row per (minute, machine, GPU); see docs/schema.md for why long, not wide.
GPU_UTIL = _schema(("time", TS), ("machine_id", STR), ("gpu", pa.int8()), ("util", F32))
HOST_UTIL = _schema(
    ("time", TS), ("machine_id", STR), ("cpu_util", F32), ("mem_total", F32), ("mem_free", F32)
)
# Per-job GPU-minute view: the join attempts x machine x GPU x minute (Philly).
JOB_GPU_MINUTES = _schema(
    ("job_id", STR),
    ("attempt", I32),
    ("time", TS),
    ("machine_id", STR),
    ("gpu", pa.int8()),
    ("util", F32),
    ("shared_server", pa.bool_()),
)

# ---- shared ------------------------------------------------------------------------------------
MACHINES = _schema(
    ("machine_id", STR),
    ("num_gpus", F64),
    ("gpu_type", STR),
    ("gpu_mem_gb", F64),
    ("num_cpus", F64),
    ("mem_gb", F64),
)
CAPACITY = _schema(("date", pa.date32()), ("vc", STR), ("num_gpus", F64))

# ---- PAI ---------------------------------------------------------------------------------------
TASKS = _schema(
    ("job_name", STR),
    ("task_name", STR),
    ("inst_num", F64),
    ("status", STR),
    ("start_time", TS),
    ("end_time", TS),
    ("plan_cpu", F64),  # cores per instance (raw percent / 100)
    ("plan_mem_gb", F64),  # GB per instance
    ("plan_gpu", F64),  # GPUs per instance (raw percent / 100); null for CPU roles
    ("gpu_type", STR),
    ("num_gpus", F64),  # inst_num * plan_gpu
    ("num_cpus", F64),  # inst_num * plan_cpu
    ("queue_s", F64),  # official: earliest instance start - task start
    ("duration_s", F64),  # official: mean instance runtime
)
INSTANCES = _schema(
    ("job_name", STR),
    ("task_name", STR),
    ("inst_name", STR),
    ("worker_name", STR),
    ("inst_id", STR),
    ("status", STR),
    ("start_time", TS),
    ("end_time", TS),
    ("machine", STR),
    ("duration_s", F64),
)
SENSORS = _schema(
    ("job_name", STR),
    ("task_name", STR),
    ("worker_name", STR),
    ("inst_id", STR),
    ("machine", STR),
    ("gpu_name", STR),
    ("cpu_usage", F64),
    ("gpu_wrk_util", F64),
    ("avg_mem", F64),
    ("max_mem", F64),
    ("avg_gpu_wrk_mem", F64),
    ("max_gpu_wrk_mem", F64),
    ("read", F64),
    ("write", F64),
    ("read_count", F64),
    ("write_count", F64),
)
MACHINE_METRIC = _schema(
    ("worker_name", STR),
    ("machine", STR),
    ("start_time", TS),
    ("end_time", TS),
    ("machine_cpu_iowait", F64),
    ("machine_cpu_kernel", F64),
    ("machine_cpu_usr", F64),
    ("machine_gpu", F64),
    ("machine_load_1", F64),
    ("machine_net_receive", F64),
    ("machine_num_worker", F64),
    ("machine_cpu", F64),
)

# ---- openb (Alibaba GPU-sharing trace, ATC'23) [ext] -------------------------------------------
# One row per pod: the request exactly as the pod list states it (jobs.num_gpus holds the GPUs as
# a float, num_gpu x gpu_milli / 1000).
POD_SPECS = _schema(
    ("job_id", STR),
    ("qos", STR),  # Kubernetes QoS class: LS, BE, Burstable, Guaranteed
    ("num_gpu", I32),  # whole GPUs (0..8); 1 for a GPU-sharing pod
    ("gpu_milli", I32),  # thousandths of one GPU per requested GPU; 1000 = a whole GPU
    ("gpu_spec", pa.list_(STR)),  # GPU models the pod may run on; null = any model
    ("cpu_milli", I64),  # thousandths of a CPU core
    ("memory_mib", I64),
)

# ---- Acme (Shanghai AI Lab, NSDI'24) [ext] -----------------------------------------------------
# Columns only the Kalos cluster publishes; one row per Kalos job.
KALOS_JOBS = _schema(
    ("job_id", STR),
    ("mem_per_pod_gb", F64),
    ("shared_mem_per_pod_gb", F64),
    ("fail_time", TS),  # when the failure occurred (failed jobs)
    ("stop_time", TS),  # when the job was stopped (canceled jobs)
)

# ---- derived -----------------------------------------------------------------------------------
PREDICTIONS = _schema(
    ("job_id", STR),
    ("model", STR),
    ("pred_duration_s", F64),
    ("pred_q10_s", F64),
    ("pred_q90_s", F64),
    ("trained_until", TS),
)

SCHEMAS: dict[str, pa.Schema] = {
    "jobs": JOBS,
    "attempts": ATTEMPTS,
    "gpu_util": GPU_UTIL,
    "host_util": HOST_UTIL,
    "job_gpu_minutes": JOB_GPU_MINUTES,
    "machines": MACHINES,
    "capacity": CAPACITY,
    "tasks": TASKS,
    "instances": INSTANCES,
    "sensors": SENSORS,
    "machine_metric": MACHINE_METRIC,
    "pod_specs": POD_SPECS,
    "kalos_jobs": KALOS_JOBS,
    "predictions": PREDICTIONS,
}

# Tables an ingest owns: re-ingesting a (trace, cluster) replaces all of them (and drops stale
# predictions, whose job ids may no longer exist). ``predictions`` is written by the predictors.
DERIVED_TABLES: frozenset[str] = frozenset({"predictions"})


def schema_for(table: str) -> pa.Schema:
    """Return the file schema of ``table``.

    Raises
    ------
    KeyError
        If ``table`` is not a store table.
    """
    try:
        return SCHEMAS[table]
    except KeyError:
        raise KeyError(f"unknown store table {table!r}; known: {sorted(SCHEMAS)}") from None


# ---- value contract (what every reader's validation layer enforces) ----------------------------
# Missing is null; a value no trace can produce (a negative or infinite GPU count, an end before
# its start, a time years outside the trace) is repaired to null by the reader's validation layer
# (tracekit.sources._validate), counted under a named data-quality rule, or raised in strict
# mode. ``contract_violations`` checks a stored table against the same rules.

#: Columns that must never be null.
REQUIRED: dict[str, tuple[str, ...]] = {
    "jobs": ("job_id", "submit_time", "status", "raw_status"),
    "attempts": ("job_id", "attempt"),
    "gpu_util": ("time", "machine_id"),
    "host_util": ("time", "machine_id"),
    "job_gpu_minutes": ("job_id", "time", "machine_id"),
    "machines": ("machine_id",),
    "capacity": ("date",),
    "tasks": ("job_name",),
    "instances": ("job_name",),
    "sensors": ("job_name",),
    "machine_metric": (),
    "pod_specs": ("job_id",),
    "kalos_jobs": ("job_id",),
}

#: Numeric columns that, when present, must be finite and >= 0 (counts, amounts, durations,
#: utilizations).
NON_NEGATIVE: dict[str, tuple[str, ...]] = {
    "jobs": (
        "queue_s", "duration_s", "num_gpus", "num_cpus", "mem_gb", "num_nodes", "num_attempts",
        "gpu_time_s", "gpu_util_mean",
    ),
    "attempts": ("attempt", "num_gpus"),
    "gpu_util": ("gpu", "util"),
    "host_util": ("cpu_util", "mem_total", "mem_free"),
    "job_gpu_minutes": ("attempt", "gpu", "util"),
    "machines": ("num_gpus", "gpu_mem_gb", "num_cpus", "mem_gb"),
    "capacity": ("num_gpus",),
    "tasks": (
        "inst_num", "plan_cpu", "plan_mem_gb", "plan_gpu", "num_gpus", "num_cpus", "duration_s",
    ),
    "instances": ("duration_s",),
    "sensors": (
        "cpu_usage", "gpu_wrk_util", "avg_mem", "max_mem", "avg_gpu_wrk_mem", "max_gpu_wrk_mem",
        "read", "write", "read_count", "write_count",
    ),
    "machine_metric": (
        "machine_cpu_iowait", "machine_cpu_kernel", "machine_cpu_usr", "machine_gpu",
        "machine_load_1", "machine_net_receive", "machine_num_worker", "machine_cpu",
    ),
    "pod_specs": ("num_gpu", "gpu_milli", "cpu_milli", "memory_mib"),
    "kalos_jobs": ("mem_per_pod_gb", "shared_mem_per_pod_gb"),
}  # fmt: skip

#: Numeric columns that may be negative but must be finite.
FINITE: dict[str, tuple[str, ...]] = {"tasks": ("queue_s",)}

#: ``(earlier, later, cleared)``: when both times are known, ``later`` must not precede
#: ``earlier`` (by more than :data:`TIME_ORDER_SLACK_S` of the table); a row that breaks it gets
#: the ``cleared`` columns nulled.
TIME_ORDER: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "jobs": (
        ("submit_time", "start_time", ("start_time", "queue_s")),
        ("start_time", "end_time", ("end_time", "duration_s", "gpu_time_s")),
    ),
    "attempts": (("start_time", "end_time", ("end_time",)),),
    "tasks": (("start_time", "end_time", ("end_time",)),),
    "instances": (("start_time", "end_time", ("end_time", "duration_s")),),
    "machine_metric": (("start_time", "end_time", ("end_time",)),),
}

#: Tolerated reversal (seconds) per table. Philly's job log has failed attempts that end a few
#: seconds before they start (the scheduler's records disagree by seconds), and naive local
#: times of the DST fall-back hour are ambiguous by one hour: both are kept as logged.
TIME_ORDER_SLACK_S: dict[str, float] = {"attempts": 3600.0}

#: Derived columns nulled together with a time that is cleared for being outside the window.
TIME_DEPENDENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "jobs": {
        "start_time": ("queue_s", "duration_s", "gpu_time_s"),
        "end_time": ("duration_s", "gpu_time_s"),
    },
    "instances": {"start_time": ("duration_s",), "end_time": ("duration_s",)},
}

#: Per trace, the window [start, end) that every stored time of the trace's own clusters must
#: fall in: the trace's documented collection period with a wide margin (months), so only
#: impossible times (the year 9999, the Unix epoch) are caught. A new reader adds one line.
TIME_WINDOWS: dict[str, tuple[datetime, datetime]] = {
    # Philly: jobs from 2017-08-07 to 2017-12-22 (Jeon et al., ATC'19).
    "philly": (datetime(2017, 1, 1, tzinfo=UTC), datetime(2018, 7, 1, tzinfo=UTC)),
    # Helios: 2020-03 to 2020-09, with a warm-up tail of earlier submissions (Hu et al., SC'21).
    "helios": (datetime(2019, 1, 1, tzinfo=UTC), datetime(2021, 7, 1, tzinfo=UTC)),
    # PAI: about two months of raw seconds, shifted to start in July 2020 (see timeutil).
    "pai": (datetime(2020, 6, 1, tzinfo=UTC), datetime(2021, 7, 1, tzinfo=UTC)),
    # openb: about 150 days of raw seconds from an unpublished origin, which tracekit maps to the
    # nominal 2022-01-06 (docs/openb.md); raw seconds are never negative.
    "openb": (datetime(2022, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)),
    # Acme: Seren from March, Kalos from May, both to August 2023 (Hu et al., NSDI'24).
    "acme": (datetime(2022, 9, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
}

#: The clusters of each trace's own release: the only ones its :data:`TIME_WINDOWS` entry
#: applies to. A file in a trace's format that holds another cluster (another trace exported to
#: that format, a site's own log written in it) is stored under that cluster's name and checked
#: against :data:`ANY_TIME_WINDOW` instead: the documented period of a trace says nothing about
#: when other clusters ran.
TRACE_CLUSTERS: dict[str, tuple[str, ...]] = {
    "philly": ("philly",),
    "helios": ("Venus", "Earth", "Saturn", "Uranus"),
    "pai": ("pai",),
    "openb": ("default", "gpushare100", "multigpu50", "gpuspec33"),
    "acme": ("Seren", "Kalos"),
}

#: The window of every other trace and cluster: no job log holds a time before the Unix epoch
#: (an SWF log without a start time counts from it) or in the next century.
ANY_TIME_WINDOW: tuple[datetime, datetime] = (
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2100, 1, 1, tzinfo=UTC),
)


def time_window(trace: str, cluster: str | None = None) -> tuple[datetime, datetime]:
    """The window ``[start, end)`` every stored time of ``trace``/``cluster`` must fall in.

    Parameters
    ----------
    trace : str
        The trace (a key of :data:`TIME_WINDOWS`, or any user-named trace).
    cluster : str, optional
        The cluster; None means the trace's own clusters.

    Returns
    -------
    tuple of datetime
        The trace's documented window for its own clusters, else :data:`ANY_TIME_WINDOW`.
    """
    window = TIME_WINDOWS.get(trace)
    if window is None or (cluster is not None and cluster not in TRACE_CLUSTERS[trace]):
        return ANY_TIME_WINDOW
    return window


def time_columns(table: str) -> tuple[str, ...]:
    """The timestamp columns of ``table`` (from its schema)."""
    return tuple(f.name for f in schema_for(table) if pa.types.is_timestamp(f.type))


def _reversed(table: str, early: str, late: str) -> pl.Expr:
    """True where ``late`` precedes ``early`` by more than the table's slack."""
    slack = TIME_ORDER_SLACK_S.get(table, 0.0)
    return pl.col(late) < pl.col(early) - pl.duration(microseconds=int(slack * 1e6))


def contract_violations(
    table: str, frame: pl.DataFrame, trace: str | None = None, cluster: str | None = None
) -> list[str]:
    """List how a stored ``table`` frame breaks the value contract (empty when it does not).

    Checks required columns, non-negative and finite numbers, time order, the time window of
    the trace and cluster, the status vocabulary and unique job ids.

    Parameters
    ----------
    table : str
        Store table name.
    frame : polars.DataFrame
        The table's rows (extra columns, such as partition keys, are ignored).
    trace : str, optional
        Trace whose window applies (:func:`time_window`); None checks no window.
    cluster : str, optional
        Cluster of the rows (selects the window, see :data:`TRACE_CLUSTERS`).

    Returns
    -------
    list of str
        One sentence per broken rule, with the number of rows.
    """
    out: list[str] = []
    cols = set(frame.columns)

    def count(expr: pl.Expr) -> int:
        return int(frame.select(expr.fill_null(False).sum()).item())

    for col in REQUIRED.get(table, ()):
        if col in cols and (n := frame[col].null_count()):
            out.append(f"{table}.{col}: {n} null value(s) in a required column")
    for col in NON_NEGATIVE.get(table, ()):
        if col not in cols:
            continue
        c = pl.col(col)
        bad = c < 0
        if frame.schema[col].is_float():
            bad = bad | c.is_nan() | c.is_infinite()
        if n := count(bad):
            out.append(f"{table}.{col}: {n} negative or non-finite value(s)")
    for col in FINITE.get(table, ()):
        if col in cols and (n := count(pl.col(col).is_nan() | pl.col(col).is_infinite())):
            out.append(f"{table}.{col}: {n} non-finite value(s)")
    for early, late, _ in TIME_ORDER.get(table, ()):
        if {early, late} <= cols and (n := count(_reversed(table, early, late))):
            out.append(f"{table}: {n} row(s) with {late} before {early}")
    if trace is not None:
        lo, hi = time_window(trace, cluster)
        for col in time_columns(table):
            if col in cols and (n := count((pl.col(col) < lo) | (pl.col(col) >= hi))):
                out.append(f"{table}.{col}: {n} time(s) outside {lo.date()}..{hi.date()}")
    if table == "jobs":
        if "status" in cols and (n := count(~pl.col("status").is_in(list(STATUSES)))):
            out.append(f"jobs.status: {n} value(s) outside {', '.join(STATUSES)}")
        if "job_id" in cols and (n := frame.height - frame["job_id"].n_unique()):
            out.append(f"jobs.job_id: {n} duplicate id(s)")
    return out
