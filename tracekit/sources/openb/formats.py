"""Format constants of the Alibaba GPU-sharing trace (``cluster-trace-gpu-v2023``, "openb").

The single description of the on-disk format: the reader checks files against it. The files
are plain CSV (header row, ``,`` delimiter, no quoting); see docs/openb.md for every column.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tracekit.schema import TRACE_CLUSTERS

TRACE = "openb"
TIMEZONE = "Asia/Shanghai"

# Raw times are whole seconds from an origin the trace does not publish. tracekit maps second 0
# to a nominal origin: midnight China Standard Time on a Thursday, so that the two quietest
# weekdays of the pod creations fall on Saturday and Sunday, in a year before the paper (the
# trace predates ATC'23). Dates are therefore nominal; durations and delays are exact.
TIME_ORIGIN = datetime(2022, 1, 6, tzinfo=timezone(timedelta(hours=8)))
TIME_ORIGIN_ISO = TIME_ORIGIN.isoformat()

NODE_FILE = "openb_node_list_all_node.csv"
GPU_NODE_FILE = "openb_node_list_gpu_node.csv"  # the GPU nodes again, renumbered (a check only)
POD_FILE_PREFIX = "openb_pod_list_"
POD_FILE_SUFFIX = ".csv"
DEFAULT_VARIANT = "default"  # openb_pod_list_default.csv: the production pods
# Published pod lists: the production one and three variants drawn from it (each becomes a
# cluster of the store, named by the variant): default, gpushare100, multigpu50, gpuspec33.
VARIANTS: tuple[str, ...] = TRACE_CLUSTERS[TRACE]

NODE_HEADER: tuple[str, ...] = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_HEADER: tuple[str, ...] = (
    "name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "qos", "pod_phase",
    "creation_time", "deletion_time", "scheduled_time",
)  # fmt: skip
# The multigpu50 variant publishes only the resource request, no QoS, phase or times.
POD_HEADER_SHORT: tuple[str, ...] = POD_HEADER[:5]
POD_INT_COLUMNS: tuple[str, ...] = ("cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
POD_TIME_COLUMNS: tuple[str, ...] = ("creation_time", "deletion_time", "scheduled_time")
NODE_INT_COLUMNS: tuple[str, ...] = ("cpu_milli", "memory_mib", "gpu")

GPU_MILLI = 1000  # gpu_milli of a whole GPU
MAX_GPUS_PER_POD = 8
GPU_SPEC_SEPARATOR = "|"  # "V100M16|V100M32": either model
QOS_CLASSES: tuple[str, ...] = ("LS", "BE", "Burstable", "Guaranteed")
PHASES: tuple[str, ...] = ("Succeeded", "Failed", "Running", "Pending")
# Succeeded/Failed are final. A Running or Pending pod still present at the trace end (deleted
# at the last deletion time of the file, when collection stopped) is censored; one deleted
# earlier was removed before reaching a final phase, which the store calls canceled.
STATUS_MAP: dict[str, str] = {"Succeeded": "completed", "Failed": "failed"}
UNFINISHED_PHASES: tuple[str, ...] = ("Running", "Pending")
# Raw status of a pod whose list publishes no phase (multigpu50): Kubernetes' own word for "the
# phase could not be obtained" (the store requires a raw status).
NO_PHASE = "Unknown"

# GPU memory of the disclosed models (vendor data sheets); G1-G3 are undisclosed internal codes.
GPU_MEM_GB: dict[str, float] = {
    "A10": 24.0,
    "P100": 16.0,
    "T4": 16.0,
    "V100M16": 16.0,
    "V100M32": 32.0,
}

__all__ = [
    "DEFAULT_VARIANT",
    "GPU_MEM_GB",
    "GPU_MILLI",
    "GPU_NODE_FILE",
    "GPU_SPEC_SEPARATOR",
    "MAX_GPUS_PER_POD",
    "NODE_FILE",
    "NO_PHASE",
    "NODE_HEADER",
    "NODE_INT_COLUMNS",
    "PHASES",
    "POD_FILE_PREFIX",
    "POD_FILE_SUFFIX",
    "POD_HEADER",
    "POD_HEADER_SHORT",
    "POD_INT_COLUMNS",
    "POD_TIME_COLUMNS",
    "QOS_CLASSES",
    "STATUS_MAP",
    "TIMEZONE",
    "TIME_ORIGIN",
    "TIME_ORIGIN_ISO",
    "TRACE",
    "UNFINISHED_PHASES",
    "VARIANTS",
]
