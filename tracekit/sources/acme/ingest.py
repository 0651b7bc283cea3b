"""Acme frames -> the store: Seren and Kalos as two clusters in one atomic transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import find_by_basename, read_synthetic_marker
from tracekit.sources.acme.formats import CLUSTERS, FILES, TIMEZONE, TRACE
from tracekit.sources.acme.read import jobs_from_raw, kalos_jobs_from_raw, read_jobs
from tracekit.store import begin, source_record


def find_files(raw_path: Path) -> dict[str, Path]:
    """Locate ``trace_seren.csv`` and ``trace_kalos.csv`` below ``raw_path`` (by cluster).

    Raises
    ------
    TraceFormatError
        If ``raw_path`` does not exist or holds neither file.
    """
    if not raw_path.exists():
        raise TraceFormatError(raw_path, None, "no such file or folder")
    if raw_path.is_file():
        found = {c: raw_path for c, f in FILES.items() if raw_path.name == f}
    else:
        by_name = find_by_basename(raw_path, list(FILES.values()))
        found = {c: by_name[f] for c, f in FILES.items() if f in by_name}
    if not found:
        raise TraceFormatError(raw_path, None, f"no {' or '.join(FILES.values())} found")
    return found


def ingest(
    raw_path: Path,
    store: Path,
    *,
    clusters: Sequence[str] | None = None,
    lenient: bool = False,
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, dict[str, int]]:
    """Ingest the Acme job traces into ``store`` (trace ``acme``, clusters ``Seren``, ``Kalos``).

    Parameters
    ----------
    raw_path : Path
        ``trace_seren.csv`` / ``trace_kalos.csv``, or a folder holding them anywhere below it (the
        AcmeTrace repository keeps them in ``data/job_trace/``).
    store : Path
        Store directory.
    clusters : sequence of str, optional
        Only these clusters (default: every cluster found).
    lenient : bool
        Count and skip unparseable rows instead of raising.
    on_progress : callable, optional
        Called with a short message before each step.

    Returns
    -------
    dict
        Rows written per cluster and table (``jobs``; Kalos also ``kalos_jobs``).
    """
    say = on_progress or (lambda _msg: None)
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
    with begin(store, TRACE, mode="ingest") as tx:
        for cluster in wanted:
            path = files[cluster]
            say(f"acme/{cluster}: parsing {path.name}")
            quality = QualityCounter(lenient=lenient)
            raw = read_jobs(path.read_bytes(), str(path), cluster, quality)
            rows = {"jobs": tx.write("jobs", cluster, jobs_from_raw(raw, quality))}
            if cluster == "Kalos":
                rows["kalos_jobs"] = tx.write("kalos_jobs", cluster, kalos_jobs_from_raw(raw))
            tx.set_meta(
                cluster,
                sources=[source_record(path)],
                synthetic=marker is not None,
                quality=quality,
                timezone=TIMEZONE,
                sample=marker,
            )
            summary[cluster] = rows
        say("acme: committing")
    return summary
