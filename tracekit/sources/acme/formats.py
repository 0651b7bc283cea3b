"""Format constants of the Acme traces (Shanghai AI Lab, NSDI'24): ``trace_seren.csv`` and
``trace_kalos.csv`` of the AcmeTrace repository (``data/job_trace/``).

The single description of the on-disk format: the reader checks files against it and the
synthetic sample writes it. Plain CSV (header row, ``,`` delimiter, no quoting); empty field =
missing. See docs/acme.md for every column.
"""

from __future__ import annotations

from tracekit.schema import TRACE_CLUSTERS

TRACE = "acme"
TIMEZONE = "Asia/Shanghai"
CLUSTERS: tuple[str, ...] = TRACE_CLUSTERS[TRACE]  # Seren, Kalos
FILES: dict[str, str] = {"Seren": "trace_seren.csv", "Kalos": "trace_kalos.csv"}
JOB_TRACE_DIR = "data/job_trace"  # where the files sit in the AcmeTrace repository

SEREN_HEADER: tuple[str, ...] = (
    "job_id", "user", "node_num", "gpu_num", "cpu_num", "type", "state",
    "submit_time", "start_time", "end_time", "duration", "queue", "gpu_time",
)  # fmt: skip
# Kalos adds pod memory and the failure/stop times.
KALOS_ONLY: tuple[str, ...] = ("mem_per_pod_GB", "shared_mem_per_pod", "fail_time", "stop_time")
KALOS_HEADER: tuple[str, ...] = (
    "job_id", "user", "node_num", "gpu_num", "cpu_num", "mem_per_pod_GB", "shared_mem_per_pod",
    "type", "state", "submit_time", "start_time", "end_time", "fail_time", "stop_time",
    "duration", "queue", "gpu_time",
)  # fmt: skip
HEADERS: dict[str, tuple[str, ...]] = {"Seren": SEREN_HEADER, "Kalos": KALOS_HEADER}

COUNT_COLUMNS: tuple[str, ...] = ("node_num", "gpu_num", "cpu_num")  # whole numbers
FLOAT_COLUMNS: tuple[str, ...] = (
    "duration", "queue", "gpu_time", "mem_per_pod_GB", "shared_mem_per_pod",
)  # fmt: skip
TIME_COLUMNS: tuple[str, ...] = ("submit_time", "start_time", "end_time", "fail_time", "stop_time")
# Every time carries its own UTC offset: Seren writes +08:00, Kalos +00:00.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S%:z"
TIME_EXAMPLE = "2023-03-01 00:18:22+08:00"

# The five final states of the README; TIMEOUT and NODE_FAIL count as failed (as the authors do).
STATUS_MAP: dict[str, str] = {
    "COMPLETED": "completed",
    "CANCELLED": "canceled",
    "FAILED": "failed",
    "TIMEOUT": "failed",
    "NODE_FAIL": "failed",
}
# Workload types as the files spell them (the paper says "Evaluation" for ``Eval``).
WORKLOAD_TYPES: tuple[str, ...] = ("Pretrain", "SFT", "MLLM", "Eval", "Debug", "Other")

__all__ = [
    "CLUSTERS",
    "COUNT_COLUMNS",
    "FILES",
    "FLOAT_COLUMNS",
    "HEADERS",
    "JOB_TRACE_DIR",
    "KALOS_HEADER",
    "KALOS_ONLY",
    "SEREN_HEADER",
    "STATUS_MAP",
    "TIMEZONE",
    "TIME_COLUMNS",
    "TIME_EXAMPLE",
    "TIME_FORMAT",
    "TRACE",
    "WORKLOAD_TYPES",
]
