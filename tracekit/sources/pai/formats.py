"""Format constants of the Alibaba PAI GPU trace v2020 (Weng et al., NSDI'22; the
``alibaba/clusterdata`` repository, ``cluster-trace-gpu-v2020``): the single description of the raw
format, imported by the reader and by the synthetic sample generator.

Seven headerless CSV tables, each published as ``<name>.tar.gz`` holding ``<name>.csv``, with a
one-line ``<name>.header`` listing the columns. Times are seconds from a hidden origin.
"""

from __future__ import annotations

TRACE = "pai"
CLUSTER = "pai"

JOB_TABLE = "pai_job_table"
TASK_TABLE = "pai_task_table"
INSTANCE_TABLE = "pai_instance_table"
SENSOR_TABLE = "pai_sensor_table"
GROUP_TAG_TABLE = "pai_group_tag_table"
MACHINE_SPEC = "pai_machine_spec"
MACHINE_METRIC = "pai_machine_metric"
RAW_TABLES: tuple[str, ...] = (
    JOB_TABLE,
    TASK_TABLE,
    INSTANCE_TABLE,
    SENSOR_TABLE,
    GROUP_TAG_TABLE,
    MACHINE_SPEC,
    MACHINE_METRIC,
)
CSV_SUFFIX = ".csv"  # <name>.csv: headerless, LF line ends, no quoting
HEADER_SUFFIX = ".header"  # <name>.header: one line of comma-separated column names, LF
ARCHIVE_SUFFIX = ".tar.gz"  # <name>.tar.gz: exactly one flat member <name>.csv
PART_INFIX = ".part"  # <name>.tar.gz.partaa, .partab, ...: a split archive (public mirror)

# Exact contents of the official ``.header`` files of the release.
HEADERS: dict[str, tuple[str, ...]] = {
    JOB_TABLE: ("job_name", "inst_id", "user", "status", "start_time", "end_time"),
    TASK_TABLE: (
        "job_name",
        "task_name",
        "inst_num",
        "status",
        "start_time",
        "end_time",
        "plan_cpu",
        "plan_mem",
        "plan_gpu",
        "gpu_type",
    ),
    INSTANCE_TABLE: (
        "job_name",
        "task_name",
        "inst_name",
        "worker_name",
        "inst_id",
        "status",
        "start_time",
        "end_time",
        "machine",
    ),
    SENSOR_TABLE: (
        "job_name",
        "task_name",
        "worker_name",
        "inst_id",
        "machine",
        "gpu_name",
        "cpu_usage",
        "gpu_wrk_util",
        "avg_mem",
        "max_mem",
        "avg_gpu_wrk_mem",
        "max_gpu_wrk_mem",
        "read",
        "write",
        "read_count",
        "write_count",
    ),
    GROUP_TAG_TABLE: ("inst_id", "user", "gpu_type_spec", "group", "workload"),
    MACHINE_SPEC: ("machine", "gpu_type", "cap_cpu", "cap_mem", "cap_gpu"),
    MACHINE_METRIC: (
        "worker_name",
        "machine",
        "start_time",
        "end_time",
        "machine_cpu_iowait",
        "machine_cpu_kernel",
        "machine_cpu_usr",
        "machine_gpu",
        "machine_load_1",
        "machine_net_receive",
        "machine_num_worker",
        "machine_cpu",
    ),
}
# Columns holding numbers (everything else is a string: ids, statuses, types, device names).
NUMERIC_COLUMNS: dict[str, tuple[str, ...]] = {
    JOB_TABLE: ("start_time", "end_time"),
    TASK_TABLE: ("inst_num", "start_time", "end_time", "plan_cpu", "plan_mem", "plan_gpu"),
    INSTANCE_TABLE: ("start_time", "end_time"),
    SENSOR_TABLE: HEADERS[SENSOR_TABLE][6:],
    GROUP_TAG_TABLE: (),
    MACHINE_SPEC: ("cap_cpu", "cap_mem", "cap_gpu"),
    MACHINE_METRIC: HEADERS[MACHINE_METRIC][2:],
}
FIELD_SEPARATOR = ","
LINE_TERMINATOR = "\n"
MISSING_FIELD = ""  # an empty field means missing in every table
MISSING_TIME = 0.0  # ... and so does a time of 0 (official code: ``start_time == 0`` -> NaN)
# Number formatting as seen in the real files: times in the job/task/instance tables are floats
# with one decimal (``4550879.0``); machine_metric times are integers (``6150435``); machine
# spec capacities are integers (``96``); other floats use Python's shortest repr
# (``29.296875``, ``140.1451612903226``); ``inst_num`` looks like ``1.0``.
TIME_FORMAT = "{:.1f}"
METRIC_TIME_FORMAT = "{:.0f}"
CAPACITY_FORMAT = "{:d}"

STATUSES: tuple[str, ...] = ("Terminated", "Failed", "Running", "Waiting")
STATUS_MAP: dict[str, str] = {
    "Terminated": "completed",
    "Failed": "failed",
    "Running": "censored",
    "Waiting": "censored",
}
TASK_GPU_TYPES: tuple[str, ...] = ("MISC", "T4", "P100", "V100", "V100M32")
MACHINE_GPU_TYPES: tuple[str, ...] = ("CPU", *TASK_GPU_TYPES)  # CPU: CPU-only, cap_gpu = 0
PERCENT = 100.0  # plan_cpu/plan_gpu are percent of one core/GPU per instance



def format_float(value: float | None) -> str:
    """Format a float field the way the raw PAI files do (shortest repr; empty when missing)."""
    if value is None or value != value:
        return MISSING_FIELD
    return repr(float(value))


def format_time(value: float | None, table: str = JOB_TABLE) -> str:
    """Format a raw time field of ``table`` (``4550879.0``, or ``6150435`` in machine_metric)."""
    if value is None or value != value:
        return MISSING_FIELD
    fmt = METRIC_TIME_FORMAT if table == MACHINE_METRIC else TIME_FORMAT
    return fmt.format(value)


__all__ = [
    "ARCHIVE_SUFFIX", "CAPACITY_FORMAT", "CLUSTER", "CSV_SUFFIX", "FIELD_SEPARATOR",
    "GROUP_TAG_TABLE", "HEADERS", "HEADER_SUFFIX", "INSTANCE_TABLE", "JOB_TABLE",
    "LINE_TERMINATOR", "MACHINE_GPU_TYPES", "MACHINE_METRIC", "MACHINE_SPEC", "METRIC_TIME_FORMAT",
    "MISSING_FIELD", "MISSING_TIME", "NUMERIC_COLUMNS", "PART_INFIX", "PERCENT", "RAW_TABLES",
    "SENSOR_TABLE", "STATUSES", "STATUS_MAP", "TASK_GPU_TYPES", "TASK_TABLE", "TIME_FORMAT",
    "TRACE", "format_float", "format_time",
]  # fmt: skip
