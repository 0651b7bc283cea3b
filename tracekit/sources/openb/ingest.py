"""openb frames -> the store: one atomic transaction for every pod-list variant asked for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import read_synthetic_marker
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


def find_files(raw_path: Path) -> tuple[Path, Path | None, dict[str, Path]]:
    """Locate the node list, the GPU-node list and the pod lists (by variant) below ``raw_path``.

    Raises
    ------
    TraceFormatError
        If ``raw_path`` does not exist or holds no node list or no pod list.
    """
    if not raw_path.exists():
        raise TraceFormatError(raw_path, None, "no such file or folder")
    files = [raw_path] if raw_path.is_file() else sorted(p for p in raw_path.rglob("*.csv"))
    nodes = next((p for p in files if p.name == NODE_FILE), None)
    gpu_nodes = next((p for p in files if p.name == GPU_NODE_FILE), None)
    pods = {
        p.name[len(POD_FILE_PREFIX) : -len(POD_FILE_SUFFIX)]: p
        for p in reversed(files)  # the first in sorted order wins
        if p.name.startswith(POD_FILE_PREFIX) and p.name.endswith(POD_FILE_SUFFIX)
    }
    if nodes is None:
        raise TraceFormatError(raw_path, None, f"no {NODE_FILE} found")
    if not pods:
        raise TraceFormatError(raw_path, None, f"no {POD_FILE_PREFIX}<variant>.csv found")
    return nodes, gpu_nodes, dict(sorted(pods.items()))


def ingest(
    raw_path: Path,
    store: Path,
    *,
    clusters: Sequence[str] | None = None,
    lenient: bool = False,
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, dict[str, int]]:
    """Ingest the openb node list and pod lists into ``store`` (trace ``openb``).

    Each pod-list variant becomes one cluster named by the variant (``default``,
    ``gpushare100``, ``multigpu50``, ``gpuspec33``); every cluster gets the same ``machines`` and
    ``capacity`` (the variants replay the same nodes).

    Parameters
    ----------
    raw_path : Path
        The folder holding ``openb_node_list_all_node.csv`` and ``openb_pod_list_*.csv``.
    store : Path
        Store directory.
    clusters : sequence of str, optional
        Pod-list variants to ingest (default: ``default`` only; the other published lists are
        resamples of it).
    lenient : bool
        Count and skip unparseable rows instead of raising.
    on_progress : callable, optional
        Called with a short message before each step.

    Returns
    -------
    dict
        Rows written per cluster and table.
    """
    say = on_progress or (lambda _msg: None)
    raw_path = Path(raw_path)
    node_path, gpu_node_path, pod_paths = find_files(raw_path)
    wanted = list(clusters) if clusters else [DEFAULT_VARIANT]
    missing = [v for v in wanted if v not in pod_paths]
    if missing:
        raise TraceFormatError(
            raw_path, None, f"pod lists not found for {missing}; found {sorted(pod_paths)}"
        )
    say(f"openb: parsing {NODE_FILE}")
    node_quality = QualityCounter(lenient=lenient)
    nodes = read_nodes(node_path.read_bytes(), str(node_path), node_quality)
    if gpu_node_path is not None:
        gpu_nodes = read_nodes(gpu_node_path.read_bytes(), str(gpu_node_path), node_quality)
        check_gpu_node_list(nodes, gpu_nodes, node_quality)
    machines = machines_from_nodes(nodes)
    capacity = capacity_from_machines(machines)
    marker = read_synthetic_marker(raw_path)
    node_sources = [source_record(p) for p in (node_path, gpu_node_path) if p is not None]
    summary: dict[str, dict[str, int]] = {}
    with begin(store, TRACE, mode="ingest") as tx:
        for variant in wanted:
            path = pod_paths[variant]
            say(f"openb/{variant}: parsing {path.name}")
            quality = QualityCounter(lenient=lenient)
            quality.merge(node_quality)
            pods = read_pods(path.read_bytes(), str(path), quality)
            summary[variant] = {
                "jobs": tx.write("jobs", variant, jobs_from_pods(pods, quality)),
                "pod_specs": tx.write("pod_specs", variant, pod_specs_from_pods(pods)),
                "machines": tx.write("machines", variant, machines),
                "capacity": tx.write("capacity", variant, capacity),
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
        say("openb: committing")
    return summary
