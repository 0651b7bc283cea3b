"""Arrow schemas of the normalized store tables (contract v1, see docs/schema.md).

Each schema is the *file* schema: the partition keys ``trace`` and ``cluster`` live in the hive
directory names and are added back as columns when the store is read.
"""

from __future__ import annotations

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
