"""Acme frames -> the store: Seren and Kalos as two clusters in one atomic transaction."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import (
    ProgressFn,
    find_by_basename,
    no_progress,
    read_file,
    read_synthetic_marker,
    refuse_duplicates,
    require_rows,
    unique_job_ids,
)
from tracekit.sources._validate import Validator
from tracekit.sources.acme.formats import CLUSTERS, FILES, TIMEZONE, TRACE
from tracekit.sources.acme.read import jobs_from_raw, kalos_jobs_from_raw, read_jobs
from tracekit.store import begin, source_record

# The published job files are below 100 MB: a file beyond this is not one of them (or a
# decompression bomb), refused while it is read.
MAX_FILE_BYTES = 4 << 30


def find_files(raw_path: Path) -> dict[str, Path]:
    """Locate ``trace_seren.csv`` and ``trace_kalos.csv`` below ``raw_path`` (by cluster).

    Raises
    ------
    TraceFormatError
        If ``raw_path`` does not exist, holds neither file, or holds one of them twice.
    """
    if not raw_path.exists():
        raise TraceFormatError(raw_path, None, "no such file or folder")
    if raw_path.is_file():
        found = {c: raw_path for c, f in FILES.items() if raw_path.name == f}
    else:
        names = list(FILES.values())
        places: dict[str, list[str]] = {}
        for path in raw_path.rglob("*"):
            if path.name in names and path.is_file():
                places.setdefault(path.name, []).append(str(path))
        refuse_duplicates(raw_path, places, "file")
        by_name = find_by_basename(raw_path, names)
        found = {c: by_name[f] for c, f in FILES.items() if f in by_name}
    if not found:
        raise TraceFormatError(raw_path, None, f"no {' or '.join(FILES.values())} found")
    return found


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
    """Ingest the Acme job traces into ``store`` (trace ``acme``, clusters ``Seren``, ``Kalos``).

    Parameters
    ----------
    raw_path : str or Path
        ``trace_seren.csv`` / ``trace_kalos.csv``, or a folder holding them anywhere below it (the
        AcmeTrace repository keeps them in ``data/job_trace/``).
    store : str or Path
        Store directory.
    clusters : sequence of str, optional
        Only these clusters (default: every cluster found).
    lenient : bool
        Count and skip unparseable rows instead of raising.
    strict : bool
        Raise on values that break the store contract instead of nulling and counting them.
    allow_empty : bool
        Store a job file without rows instead of refusing it.
    on_progress : callable, optional
        ``on_progress(stage, done, total)``; here ``done``/``total`` count files.

    Returns
    -------
    dict
        Rows written per cluster and table (``jobs``; Kalos also ``kalos_jobs``).

    Raises
    ------
    TraceFormatError
        Unreadable input (file and line named), a file found twice, or a file without jobs
        (unless ``allow_empty``).
    """
    progress = on_progress or no_progress
    raw_path = Path(raw_path)
    files = find_files(raw_path)
    wanted = list(clusters) if clusters else [c for c in CLUSTERS if c in files]
    missing = [c for c in wanted if c not in files]
    if missing:
        raise TraceFormatError(
            raw_path, None, f"clusters not found: {missing}; found {sorted(files)}"
        )
    marker = read_synthetic_marker(raw_path)
    summary: dict[str, dict[str, int]] = {}
    with begin(store, TRACE, mode="ingest", allow_empty=allow_empty) as tx:
        for i, cluster in enumerate(wanted):
            path = files[cluster]
            progress(f"acme/{cluster}: {path.name}", i, len(wanted))
            quality = QualityCounter(lenient=lenient)
            check = Validator(TRACE, quality, cluster=cluster, strict=strict, label=str(path))
            data = read_file(path, MAX_FILE_BYTES, f"an Acme {path.name}")
            raw = read_jobs(data, str(path), cluster, quality)
            require_rows(raw.height, path, allow_empty, "job rows")
            # One id per job before the tables split: jobs and kalos_jobs share the ids.
            raw = unique_job_ids(raw, TRACE, quality)
            jobs = check("jobs", jobs_from_raw(raw, quality))
            require_rows(jobs.height, path, allow_empty, "job rows left after repairs")
            rows = {"jobs": tx.write("jobs", cluster, jobs)}
            if cluster == "Kalos":
                extra = check.of_jobs("kalos_jobs", kalos_jobs_from_raw(raw), jobs)
                rows["kalos_jobs"] = tx.write("kalos_jobs", cluster, extra)
            tx.set_meta(
                cluster,
                sources=[source_record(path)],
                synthetic=marker is not None,
                quality=quality,
                timezone=TIMEZONE,
                sample=marker,
            )
            summary[cluster] = rows
        progress("acme: committing", len(wanted), len(wanted))
    return summary


__all__ = ["MAX_FILE_BYTES", "find_files", "ingest"]
