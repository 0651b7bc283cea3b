"""openb frames -> the store: one atomic transaction for every pod-list variant asked for."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import (
    ProgressFn,
    no_progress,
    read_file,
    read_synthetic_marker,
    refuse_duplicates,
    require_rows,
)
from tracekit.sources._validate import Validator
from tracekit.sources.openb.formats import (
    DEFAULT_VARIANT,
    GPU_NODE_FILE,
    NODE_FILE,
    POD_FILE_PREFIX,
    POD_FILE_SUFFIX,
    TIME_ORIGIN_ISO,
    TIMEZONE,
    TRACE,
)
from tracekit.sources.openb.read import (
    capacity_from_machines,
    check_gpu_node_list,
    jobs_from_pods,
    machines_from_nodes,
    pod_specs_from_pods,
    read_nodes,
    read_pods,
    trace_end_s,
)
from tracekit.store import begin, source_record

# The real node and pod lists are about 1 MB each: a file beyond this is not one of them (or a
# decompression bomb), refused while it is read.
MAX_FILE_BYTES = 1 << 30


def find_files(raw_path: Path) -> tuple[Path, Path | None, dict[str, Path]]:
    """Locate the node list, the GPU-node list and the pod lists (by variant) below ``raw_path``.

    Raises
    ------
    TraceFormatError
        If ``raw_path`` does not exist, holds no node list or no pod list, or holds one file
        (or one variant's pod list) at two places.
    """
    if not raw_path.exists():
        raise TraceFormatError(raw_path, None, "no such file or folder")
    files = [raw_path] if raw_path.is_file() else sorted(p for p in raw_path.rglob("*.csv"))
    places: dict[str, list[str]] = {}
    pods: dict[str, Path] = {}
    for p in files:
        if p.name.startswith(POD_FILE_PREFIX) and p.name.endswith(POD_FILE_SUFFIX):
            pods.setdefault(p.name[len(POD_FILE_PREFIX) : -len(POD_FILE_SUFFIX)], p)
        elif p.name not in (NODE_FILE, GPU_NODE_FILE):
            continue
        places.setdefault(p.name, []).append(str(p))
    refuse_duplicates(raw_path, places, "file")
    nodes = next((p for p in files if p.name == NODE_FILE), None)
    gpu_nodes = next((p for p in files if p.name == GPU_NODE_FILE), None)
    if nodes is None:
        raise TraceFormatError(raw_path, None, f"no {NODE_FILE} found")
    if not pods:
        raise TraceFormatError(raw_path, None, f"no {POD_FILE_PREFIX}<variant>.csv found")
    return nodes, gpu_nodes, dict(sorted(pods.items()))


def ingest(
    raw_path: str | Path,
    store: str | Path,
    *,
    clusters: Sequence[str] | None = None,
    lenient: bool = False,
    strict: bool = False,
    allow_empty: bool = False,
    on_progress: ProgressFn | None = None,
) -> dict[str, dict[str, int]]:
    """Ingest the openb node list and pod lists into ``store`` (trace ``openb``).

    Each pod-list variant becomes one cluster named by the variant (``default``,
    ``gpushare100``, ``multigpu50``, ``gpuspec33``); every cluster gets the same ``machines`` and
    ``capacity`` (the variants replay the same nodes).

    Parameters
    ----------
    raw_path : str or Path
        The folder holding ``openb_node_list_all_node.csv`` and ``openb_pod_list_*.csv``.
    store : str or Path
        Store directory.
    clusters : sequence of str, optional
        Pod-list variants to ingest (default: ``default`` only; the other published lists are
        resamples of it).
    lenient : bool
        Count and skip unparseable rows instead of raising.
    strict : bool
        Raise on values that break the store contract instead of nulling and counting them.
    allow_empty : bool
        Store a node or pod list without rows instead of refusing it.
    on_progress : callable, optional
        ``on_progress(stage, done, total)``; here ``done``/``total`` count files.

    Returns
    -------
    dict
        Rows written per cluster and table.

    Raises
    ------
    TraceFormatError
        Unreadable input (file and line named), a file found twice, or an empty list (unless
        ``allow_empty``).
    """
    progress = on_progress or no_progress
    raw_path = Path(raw_path)
    node_path, gpu_node_path, pod_paths = find_files(raw_path)
    wanted = list(clusters) if clusters else [DEFAULT_VARIANT]
    missing = [v for v in wanted if v not in pod_paths]
    if missing:
        raise TraceFormatError(
            raw_path, None, f"pod lists not found for {missing}; found {sorted(pod_paths)}"
        )
    files = len(wanted) + 1
    progress(f"openb: {NODE_FILE}", 0, files)
    node_quality = QualityCounter(lenient=lenient)
    data = read_file(node_path, MAX_FILE_BYTES, "an openb node list")
    nodes = read_nodes(data, str(node_path), node_quality)
    require_rows(nodes.height, node_path, allow_empty, "nodes")
    if gpu_node_path is not None:
        data = read_file(gpu_node_path, MAX_FILE_BYTES, "an openb node list")
        gpu_nodes = read_nodes(data, str(gpu_node_path), node_quality)
        check_gpu_node_list(nodes, gpu_nodes, node_quality)
    node_check = Validator(TRACE, node_quality, strict=strict, label=str(node_path))
    machines = node_check("machines", machines_from_nodes(nodes))
    capacity = node_check("capacity", capacity_from_machines(machines))
    marker = read_synthetic_marker(raw_path)
    node_sources = [source_record(p) for p in (node_path, gpu_node_path) if p is not None]
    summary: dict[str, dict[str, int]] = {}
    with begin(store, TRACE, mode="ingest", allow_empty=allow_empty) as tx:
        for i, variant in enumerate(wanted, start=1):
            path = pod_paths[variant]
            progress(f"openb/{variant}: {path.name}", i, files)
            quality = QualityCounter(lenient=lenient)
            quality.merge(node_quality)
            check = Validator(TRACE, quality, cluster=variant, strict=strict, label=str(path))
            pods = read_pods(read_file(path, MAX_FILE_BYTES, "an openb pod list"), str(path),
                             quality)  # fmt: skip
            require_rows(pods.height, path, allow_empty, "pods")
            jobs = check("jobs", jobs_from_pods(pods, quality))
            require_rows(jobs.height, path, allow_empty, "pods left after repairs")
            summary[variant] = {
                "jobs": tx.write("jobs", variant, jobs),
                "pod_specs": tx.write(
                    "pod_specs", variant, check.of_jobs("pod_specs", pod_specs_from_pods(pods),
                                                        jobs)
                ),  # fmt: skip
                "machines": tx.write("machines", variant, machines),
                # A node list without GPU nodes has no GPU capacity.
                "capacity": tx.write("capacity", variant, capacity, allow_empty=True),
            }
            extra: dict[str, Any] = {"trace_end_s": trace_end_s(pods)}
            tx.set_meta(
                variant,
                sources=[*node_sources, source_record(path)],
                synthetic=marker is not None,
                quality=quality,
                timezone=TIMEZONE,
                time_origin=TIME_ORIGIN_ISO,
                sample=marker,
                **extra,
            )
        progress("openb: committing", files, files)
    return summary


__all__ = ["MAX_FILE_BYTES", "find_files", "ingest"]
