"""The Standard Workload Format (SWF, version 2.2) of the Parallel Workloads Archive.

One job per line, 18 whitespace-separated numeric fields, ``-1`` for "not known"; header
comments are lines starting with ``;``, most of the form ``; Key: value``. Times are seconds
from ``UnixStartTime`` (a header field). SWF has no GPU field: tracekit's SWF export writes GPUs
into the processor fields and says so in a header note (:data:`GPU_NOTE`), which the reader
recognizes. See ``docs/interop.md``.
"""

from __future__ import annotations

TRACE = "swf"  # default trace name of ingested SWF files
SUFFIXES: tuple[str, ...] = (".swf", ".swf.gz")
VERSION = "2.2"
COMMENT = ";"
MISSING = -1

#: The 18 fields, in order (names after the Parallel Workloads Archive's definition).
FIELDS: tuple[str, ...] = (
    "job_number",
    "submit_time",
    "wait_time",
    "run_time",
    "allocated_processors",
    "average_cpu_time",
    "used_memory",
    "requested_processors",
    "requested_time",
    "requested_memory",
    "status",
    "user_id",
    "group_id",
    "executable_number",
    "queue_number",
    "partition_number",
    "preceding_job_number",
    "think_time",
)
N_FIELDS = len(FIELDS)

#: Status codes: 1 completed, 0 failed, 5 canceled; 2/3/4 mark partial executions
#: (checkpointed or swapped jobs: 2 = to be continued, 3 = last part and completed, 4 = last
#: part and failed) that accompany a job's summary line; -1 = not known.
STATUS_MAP: dict[int, str] = {1: "completed", 0: "failed", 5: "canceled"}
PARTIAL_STATUSES: tuple[int, ...] = (2, 3, 4)
#: Status written for unfinished (censored) jobs: SWF has no code for them.
CENSORED_STATUS = MISSING

#: Header keys (``; Key: value``) defined by SWF 2.2.
HEADER_KEYS: tuple[str, ...] = (
    "Version", "Computer", "Installation", "Acknowledge", "Information", "Conversion",
    "MaxJobs", "MaxRecords", "Preemption", "UnixStartTime", "TimeZone", "TimeZoneString",
    "StartTime", "EndTime", "MaxNodes", "MaxProcs", "MaxRuntime", "MaxMemory", "AllowOveruse",
    "MaxQueues", "Queues", "Queue", "MaxPartitions", "Partitions", "Partition", "Note",
)  # fmt: skip

#: The header note by which tracekit marks GPUs in the processor fields (fields 5 and 8).
GPU_NOTE = "tracekit: processors are GPUs"
#: What processor counts mean when a file does not say: CPUs (as in the Parallel Workloads
#: Archive's logs) or GPUs (tracekit's exports).
PROCESSOR_KINDS: tuple[str, ...] = ("cpus", "gpus")
#: Memory fields are KB per processor.
KB_PER_GB = 1024 * 1024

#: Sidecar file beside ``<name>.swf`` naming what SWF can only number (job ids, users, queues):
#: ``<name>.names.csv`` with columns ``field,number,name``.
NAMES_SUFFIX = ".names.csv"
NAMES_HEADER: tuple[str, ...] = ("field", "number", "name")
NAMED_FIELDS: tuple[str, ...] = ("job_number", "user_id", "queue_number")

__all__ = [
    "CENSORED_STATUS",
    "COMMENT",
    "FIELDS",
    "GPU_NOTE",
    "HEADER_KEYS",
    "KB_PER_GB",
    "MISSING",
    "NAMED_FIELDS",
    "NAMES_HEADER",
    "NAMES_SUFFIX",
    "N_FIELDS",
    "PARTIAL_STATUSES",
    "PROCESSOR_KINDS",
    "STATUS_MAP",
    "SUFFIXES",
    "TRACE",
    "VERSION",
]
