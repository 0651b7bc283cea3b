"""Format constants of the Philly files (the synthetic sample generator imports them) and
shared internal settings."""

from __future__ import annotations

import polars as pl

from tracekit.sources._common import ProgressFn

# ---- format constants (imported by the synthetic sample generator) -----------------------------
TRACE = "philly"
CLUSTER = "philly"
TIMEZONE = "America/Los_Angeles"

ARCHIVE_NAME = "trace-data.tar.gz"
ARCHIVE_DIR = "trace-data"  # top-level folder of the five files inside the tarball
ARCHIVE_BYTES = 1_055_988_361  # official LFS pointer
ARCHIVE_SHA256 = "2037ccf63a725a02be718b0e1aeee6142c90b7f62d0d849295120e9f6ba13d2c"

JOB_LOG = "cluster_job_log"
GPU_UTIL = "cluster_gpu_util"
CPU_UTIL = "cluster_cpu_util"
MEM_UTIL = "cluster_mem_util"
MACHINE_LIST = "cluster_machine_list"
FILE_NAMES: tuple[str, ...] = (JOB_LOG, GPU_UTIL, CPU_UTIL, MEM_UTIL, MACHINE_LIST)
REQUIRED_FILES: tuple[str, ...] = (JOB_LOG,)
# Files read whole: bounds far above the real ones (job log ~40 MB, machine list ~10 kB), so a
# decompression bomb is refused instead of filling the memory.
MAX_JOB_LOG_BYTES = 4 << 30
MAX_MACHINE_LIST_BYTES = 64 << 20

# cluster_job_log: one JSON array of objects with exactly these keys.
JOB_KEYS: tuple[str, ...] = ("status", "vc", "jobid", "attempts", "submitted_time", "user")
ATTEMPT_KEYS: tuple[str, ...] = ("start_time", "end_time", "detail")
DETAIL_KEYS: tuple[str, ...] = ("ip", "gpus")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # job-log times: naive US/Pacific wall clock
TIME_LEN = 19  # len("2017-10-03 00:08:00")
NULL_TIME_STRINGS: tuple[str, ...] = ("", "None")  # plus JSON null
GPU_ID_PREFIX = "gpu"  # "gpu0" ... "gpu7"
RAW_STATUSES: tuple[str, ...] = ("Pass", "Killed", "Failed")
STATUS_MAP: dict[str, str] = {"Pass": "completed", "Killed": "canceled", "Failed": "failed"}

# Utilization CSVs: header row, "," delimiter, no quoting, times with a zone suffix.
GPU_UTIL_COLUMNS: tuple[str, ...] = ("time", "machineId", *(f"gpu{k}_util" for k in range(8)))
GPU_UTIL_HEADER = ",".join(GPU_UTIL_COLUMNS)
GPU_UTIL_TRAILING_COMMA = True  # data rows end with "," (an empty last field)
CPU_UTIL_COLUMNS: tuple[str, ...] = ("time", "machine_id", "cpu_util")
CPU_UTIL_HEADER = ",".join(CPU_UTIL_COLUMNS)
MEM_UTIL_COLUMNS: tuple[str, ...] = ("time", "machine_id", "mem_total", "mem_free")
MEM_UTIL_HEADER = ",".join(MEM_UTIL_COLUMNS)
UTIL_NA = "NA"  # machine/GPU offline
UTIL_TIME_SUFFIXES: dict[str, int] = {" PDT": -7, " PST": -8}  # suffix -> UTC offset in hours
UTIL_TIME_LEN = TIME_LEN + 4  # "2017-10-03 00:08:00 PDT"
MAX_GPUS_PER_SERVER = 8
GLUED_ROW_VALUES = 16  # rows of the DST fall-back night carrying two 8-value samples

# cluster_machine_list: spaces after the commas in the header and before the memory value.
MACHINE_LIST_COLUMNS: tuple[str, ...] = ("machineId", "number of GPUs", "single GPU mem")
MACHINE_LIST_HEADER = ", ".join(MACHINE_LIST_COLUMNS)
GPU_MEM_UNIT = "GB"
# ------------------------------------------------------------------------------------------------

_CHUNK_BYTES = 48 << 20  # text chunk per parsing step of the util files
_JOIN_BATCH_ROWS = 4_000_000  # gpu_util rows per step of the per-job join
_BUCKET_BYTES = 256 << 20  # host-util join: one machine bucket per this many raw bytes
_FAR_FUTURE = pl.lit(9_000_000_000_000_000, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
_UTC = pl.Datetime("us", "UTC")


__all__ = [
    "TRACE",
    "CLUSTER",
    "TIMEZONE",
    "ARCHIVE_NAME",
    "ARCHIVE_DIR",
    "ARCHIVE_BYTES",
    "ARCHIVE_SHA256",
    "JOB_LOG",
    "GPU_UTIL",
    "CPU_UTIL",
    "MEM_UTIL",
    "MACHINE_LIST",
    "FILE_NAMES",
    "REQUIRED_FILES",
    "MAX_JOB_LOG_BYTES",
    "MAX_MACHINE_LIST_BYTES",
    "JOB_KEYS",
    "ATTEMPT_KEYS",
    "DETAIL_KEYS",
    "TIME_FORMAT",
    "TIME_LEN",
    "NULL_TIME_STRINGS",
    "GPU_ID_PREFIX",
    "RAW_STATUSES",
    "STATUS_MAP",
    "GPU_UTIL_COLUMNS",
    "GPU_UTIL_HEADER",
    "GPU_UTIL_TRAILING_COMMA",
    "CPU_UTIL_COLUMNS",
    "CPU_UTIL_HEADER",
    "MEM_UTIL_COLUMNS",
    "MEM_UTIL_HEADER",
    "UTIL_NA",
    "UTIL_TIME_SUFFIXES",
    "UTIL_TIME_LEN",
    "MAX_GPUS_PER_SERVER",
    "GLUED_ROW_VALUES",
    "MACHINE_LIST_COLUMNS",
    "MACHINE_LIST_HEADER",
    "GPU_MEM_UNIT",
    "ProgressFn",
]
