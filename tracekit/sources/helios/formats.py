"""Format constants of the Helios trace (SenseTime, Hu et al., SC'21; the ``HeliosData``
repository): the single description of the on-disk format, imported by the reader and by the
synthetic sample generator.

The release is ``data.zip`` holding ``data/<Cluster>/cluster_log.csv`` (one job per row, naive
China Standard Time) and ``data/<Cluster>/cluster_gpu_number.csv`` (GPUs per VC and day).
"""

from __future__ import annotations

from tracekit.schema import TRACE_CLUSTERS

TRACE = "helios"
TIMEZONE = "Asia/Shanghai"  # naive wall clock, China Standard Time
CLUSTERS: tuple[str, ...] = TRACE_CLUSTERS[TRACE]  # Venus, Earth, Saturn, Uranus
LOG_FILE = "cluster_log.csv"
CAPACITY_FILE = "cluster_gpu_number.csv"
ARCHIVE_FILE = "data.zip"
LOG_HEADER: tuple[str, ...] = (
    "job_id", "user", "vc", "gpu_num", "cpu_num", "node_num", "state",
    "submit_time", "start_time", "end_time", "duration", "queue",
)  # fmt: skip
CAPACITY_HEADER_FIRST = "date"
CAPACITY_HEADER_LAST = "total"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SLURM_MAX_S = 14 * 24 * 3600
WINDOW_START = "2020-04-01"  # the paper's window; earlier submissions are a warm-up tail

STATUS_MAP: dict[str, str] = {
    "COMPLETED": "completed",
    "CANCELLED": "canceled",
    "FAILED": "failed",
    "TIMEOUT": "failed",
    "NODE_FAIL": "failed",
    "RUNNING": "censored",
    "SUSPENDED": "censored",
}

INT_COLUMNS: tuple[str, ...] = ("gpu_num", "cpu_num", "node_num", "duration", "queue")
TIME_COLUMNS: tuple[str, ...] = ("submit_time", "start_time", "end_time")

__all__ = [
    "ARCHIVE_FILE",
    "CAPACITY_FILE",
    "CAPACITY_HEADER_FIRST",
    "CAPACITY_HEADER_LAST",
    "CLUSTERS",
    "INT_COLUMNS",
    "LOG_FILE",
    "LOG_HEADER",
    "SLURM_MAX_S",
    "STATUS_MAP",
    "TIMEZONE",
    "TIME_COLUMNS",
    "TIME_FORMAT",
    "TRACE",
    "WINDOW_START",
]
