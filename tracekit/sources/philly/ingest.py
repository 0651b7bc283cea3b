"""The Philly ``ingest`` entry point: one atomic store transaction over all files."""

from __future__ import annotations

from pathlib import Path

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.schema import time_window
from tracekit.sources._common import NAME_PATTERN, no_progress, read_synthetic_marker, require_rows
from tracekit.sources._validate import Validator
from tracekit.sources.philly._gpu_stage import join_staged, write_gpu_util
from tracekit.sources.philly._host_util import (
    _HostUtilJoin,
    iter_host_util,
)
from tracekit.sources.philly._join import finish_gpu_util_mean
from tracekit.sources.philly._join_index import JoinIndex
from tracekit.sources.philly._machines import (
    check_machine_list,
    derive_capacity,
)
from tracekit.sources.philly.formats import (
    _BUCKET_BYTES,
    CLUSTER,
    CPU_UTIL,
    FILE_NAMES,
    GPU_UTIL,
    JOB_LOG,
    MACHINE_LIST,
    MEM_UTIL,
    REQUIRED_FILES,
    TIMEZONE,
    TRACE,
    ProgressFn,
)
from tracekit.sources.philly.read import iter_files, read_job_log, read_machine_list
from tracekit.store import begin, read_manifest, source_record


def ingest(
    raw_path: str | Path,
    store: str | Path,
    *,
    clusters: list[str] | tuple[str, ...] | None = None,
    lenient: bool = False,
    strict: bool = False,
    allow_empty: bool = False,
    on_progress: ProgressFn | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, dict[str, int]]:
    """Ingest the Philly trace into ``store`` (trace ``philly``, cluster ``philly``).

    Parameters
    ----------
    raw_path : str or Path
        ``trace-data.tar.gz`` or a folder containing the five files (or the tarball).
    store : str or Path
        Store directory; the ``philly`` partition is replaced atomically.
    clusters : sequence of str, optional
        The Philly format holds one cluster: ``["philly"]`` (the default) is Microsoft's
        cluster, checked against the trace's documented time window. Another single name
        stores a Philly-format log of another cluster (another trace exported with ``tracekit
        export philly-json``, a site's own log) under that name, with no Philly window.
    lenient : bool
        Count and drop unparseable rows/objects (rules ``philly.*``) instead of raising.
    strict : bool
        Raise on values that break the store contract instead of nulling and counting them.
    allow_empty : bool
        Store an empty job log or utilization file instead of refusing it.
    on_progress : callable, optional
        Called as ``on_progress(stage, done, total)``; for the util files ``done``/``total``
        are bytes (``total`` may be None).
    timings : dict, optional
        Receives ``join_wall_s``, the wall time of the per-job join (which runs interleaved
        with the util parsing when the job log comes first), for benchmarks.

    Returns
    -------
    dict
        ``{"philly": {table: rows}}``.

    Raises
    ------
    TraceFormatError
        Malformed input (file and line named), truncated or corrupt archive, missing job log,
        the same file found twice, or an empty input (unless ``allow_empty``).
    """
    raw = Path(raw_path)
    cluster = _cluster_name(clusters)
    qc = QualityCounter(lenient=lenient)
    marker = read_synthetic_marker(raw)
    progress = on_progress or no_progress
    check = Validator(TRACE, qc, cluster=cluster, strict=strict, label=str(raw))
    seen: dict[str, str] = {}
    jobs = attempts = machines = None
    store_path = Path(store)
    # One transaction; its scratch folder (host-util buckets) goes with its staging.
    with begin(store_path, TRACE, allow_empty=allow_empty) as tx:
        gpu_writer = None
        index: JoinIndex | None = None
        host = _HostUtilJoin(tx.scratch_dir("philly-"), 1)
        for name, display, fh, size in iter_files(raw):
            if name in seen:
                qc.add("philly.duplicate_file", example=display)
                continue
            seen[name] = display
            progress(name, 0, size)
            if name == JOB_LOG:
                jobs, attempts = read_job_log(fh, display, qc)
                require_rows(jobs.height, display, allow_empty, "jobs")
                jobs = check("jobs", jobs)
                attempts = check.of_jobs("attempts", attempts, jobs)
            elif name == GPU_UTIL:
                if attempts is not None:  # join while each block is in memory
                    index = JoinIndex(attempts, qc)
                gpu_writer = write_gpu_util(
                    tx, fh, display, size, qc, progress, index, check=check, cluster=cluster
                )
                require_rows(gpu_writer.rows, display, allow_empty, "utilization rows")
            elif name in (CPU_UTIL, MEM_UTIL):
                if host.buckets == 1 and not host.writers:
                    host.buckets = max(1, min(64, size // _BUCKET_BYTES + 1))
                kind = "cpu" if name == CPU_UTIL else "mem"
                for frame in iter_host_util(fh, display, kind, qc):
                    host.add(kind, frame)
            elif name == MACHINE_LIST:
                machines = check("machines", read_machine_list(fh, display, qc))
            progress(name, size, size)
        missing = [n for n in FILE_NAMES if n not in seen]
        for n in missing:
            if n in REQUIRED_FILES:
                raise TraceFormatError(raw, None, f"{n} not found (looked for the files "
                                       f"{', '.join(FILE_NAMES)} by base name)")
            qc.add(f"philly.missing_file.{n}", example=f"{n} not found under {raw}")
        assert jobs is not None and attempts is not None
        for name in (CPU_UTIL, MEM_UTIL):
            if name in seen:
                hw = tx.open_writer("host_util", cluster, allow_empty=True)
                for frame in host.finish():
                    hw.write(check("host_util", frame))
                break
        if machines is not None:
            check_machine_list(machines, attempts, qc)
            tx.write("machines", cluster, machines, allow_empty=True)
            capacity = check("capacity", derive_capacity(machines, jobs))
            tx.write("capacity", cluster, capacity, allow_empty=True)
        if gpu_writer is not None:
            if index is None:  # the util file came first: read the staged table back
                index = JoinIndex(attempts, qc)
                join_staged(tx, gpu_writer.path, gpu_writer.rows, index, progress, cluster)
            jobs = finish_gpu_util_mean(jobs, [index.util_means()])
            if timings is not None:
                timings["join_wall_s"] = index.wall_s
        jobs = check("jobs", jobs)
        require_rows(jobs.height, seen[JOB_LOG], allow_empty, _left_after_repairs(qc, cluster))
        tx.write("jobs", cluster, jobs)
        tx.write("attempts", cluster, attempts, allow_empty=True)
        sources = [source_record(Path(seen[n])) for n in FILE_NAMES
                   if n in seen and Path(seen[n]).is_file()]
        if raw.is_file():
            sources = [source_record(raw)]
        tx.set_meta(
            cluster, sources=sources, synthetic=marker is not None, quality=qc,
            timezone=TIMEZONE, synthetic_marker=marker, missing_files=missing,
            capacity_vc="null = whole cluster (Philly publishes no per-VC capacity)",
        )
    manifest = read_manifest(store_path)
    return {cluster: dict(manifest["partitions"][f"{TRACE}/{cluster}"]["rows"])}


def _cluster_name(clusters: list[str] | tuple[str, ...] | None) -> str:
    """The one cluster a Philly-format log holds: ``philly`` unless the caller names another."""
    if clusters is None or list(clusters) == [CLUSTER]:
        return CLUSTER
    if len(clusters) != 1:
        raise ValueError(f"a Philly-format log holds one cluster; name one, got {list(clusters)}")
    (name,) = clusters
    if not NAME_PATTERN.match(name):
        raise ValueError(f"cluster names are letters, digits, '_', '.' or '-'; got {name!r}")
    return name


def _left_after_repairs(qc: QualityCounter, cluster: str) -> str:
    """What the empty-result error says: the window rule explains the usual cause."""
    outside = qc.counts.get(f"{TRACE}.jobs.submit_time_outside_window_row_dropped", 0)
    if not outside or cluster != CLUSTER:
        return "jobs left after repairs"
    lo, hi = time_window(TRACE, cluster)
    return (
        f"jobs left after repairs ({outside:,} submitted outside the Philly trace's window "
        f"{lo:%Y-%m-%d}..{hi:%Y-%m-%d}; a Philly-format log of another cluster, such as an "
        "export of another trace, is read with --clusters NAME)"
    )
