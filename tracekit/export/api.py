"""The front door :func:`export` and the registry of formats.

An export reads one trace (optionally one cluster and a submit-time window) from the store and
writes, per cluster, a folder ``OUT/<cluster>/`` with the format's files and a ``README.md``
saying where the data came from, which filters applied, how the fields map and what was dropped
or changed, with counts. The whole output is staged beside ``OUT`` and moved into place only
when complete, so a failed export leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import ModuleType

import polars as pl

from tracekit.errors import StoreError
from tracekit.export import helios, jobs_csv, openb, philly_json, swf
from tracekit.export._common import Ledger, Part
from tracekit.export.readme import render_readme
from tracekit.sources._common import SYNTHETIC_MARKER
from tracekit.store import Store, open_store
from tracekit.timeutil import as_utc

#: Format name -> module (each has NAME, DESCRIPTION, MAPPING and write(part, folder, ledger)).
FORMATS: dict[str, ModuleType] = {
    module.NAME: module for module in (helios, philly_json, swf, openb, jobs_csv)
}
README = "README.md"


@dataclass
class ExportResult:
    """What :func:`export` wrote.

    Attributes
    ----------
    format : str
        The format name.
    out : Path
        The output folder (one sub-folder per cluster).
    ledgers : dict
        Per cluster: the :class:`~tracekit.export._common.Ledger` of files written (with row
        counts) and jobs dropped or changed.
    """

    format: str
    out: Path
    ledgers: dict[str, Ledger] = field(default_factory=dict)

    def files(self) -> pl.DataFrame:
        """One row per file written: ``cluster, file, rows``."""
        rows = [
            {"cluster": c, "file": f, "rows": n}
            for c, ledger in self.ledgers.items()
            for f, n in ledger.files.items()
        ]
        return pl.DataFrame(rows, schema={"cluster": pl.String, "file": pl.String,
                                          "rows": pl.Int64})

    def dropped(self) -> pl.DataFrame:
        """One row per drop rule that removed jobs: ``cluster, reason, jobs``."""
        rows = [
            {"cluster": c, "reason": r, "jobs": n}
            for c, ledger in self.ledgers.items()
            for r, n in ledger.dropped.items()
            if n
        ]
        return pl.DataFrame(rows, schema={"cluster": pl.String, "reason": pl.String,
                                          "jobs": pl.Int64})


def _bound(value: str | date | datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return as_utc(value)
    except ValueError:
        problem = f"{name} must be a date or time like 2020-09-01[T12:00], got {value!r}"
        raise ValueError(problem) from None


def select(
    store: Store,
    trace: str,
    cluster: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Part]:
    """The partitions of ``trace`` (one ``cluster`` or all), with jobs submitted in
    ``[start, end)``."""
    if trace not in store.traces:
        raise StoreError(f"{store.path}: no trace {trace!r} in the store; it has "
                         f"{', '.join(store.traces) or 'nothing'}")
    clusters = store.clusters(trace)
    if cluster is not None and cluster not in clusters:
        raise StoreError(f"{store.path}: trace {trace!r} has no cluster {cluster!r}; it has "
                         f"{', '.join(clusters)}")
    parts = []
    for name in [cluster] if cluster is not None else clusters:
        meta = store.manifest["partitions"][f"{trace}/{name}"]
        lf = store.jobs(trace, name).drop("trace", "cluster")
        total = lf.select(pl.len()).collect().item()
        if start is not None:
            lf = lf.filter(pl.col("submit_time") >= start)
        if end is not None:
            lf = lf.filter(pl.col("submit_time") < end)
        jobs = lf.collect().sort("submit_time", maintain_order=True)
        parts.append(Part(store, trace, name, meta, jobs, total, start, end))
    return parts


def export(
    store: str | Path | Store,
    format: str,
    *,
    trace: str,
    cluster: str | None = None,
    start: str | date | datetime | None = None,
    end: str | date | datetime | None = None,
    out: str | Path,
    overwrite: bool = False,
    prediction_model: str | None = None,
    on_progress: Callable[[str, int | None, int | None], None] | None = None,
) -> ExportResult:
    """Write one trace of the store in a simulator's input format.

    Parameters
    ----------
    store : str, Path or Store
        The store (or its path).
    format : str
        One of :data:`FORMATS`: ``helios``, ``philly-json``, ``swf``, ``openb``, ``csv``.
    trace : str
        The trace to export.
    cluster : str, optional
        One cluster (default: every cluster of the trace, one sub-folder each).
    start, end : str, date or datetime, optional
        Keep jobs submitted in ``[start, end)``; dates and times without an offset are UTC.
    out : str or Path
        Output folder; refused when it exists and is not empty, unless ``overwrite``.
    overwrite : bool
        Replace an existing ``out`` (only once the new export is complete).
    prediction_model : str, optional
        ``csv`` only: the ``predictions`` model to write as ``pred_duration`` (needed when the
        store holds several).
    on_progress : callable, optional
        Called as ``on_progress(stage, done, total)`` (clusters).

    Returns
    -------
    ExportResult

    Examples
    --------
    >>> import tracekit as tk  # doctest: +SKIP
    >>> tk.export("data/parquet", "helios", trace="helios", cluster="Venus",
    ...           start="2020-09-01", end="2020-09-27", out="venus_sept")
    """
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    opened = store if isinstance(store, Store) else open_store(store)
    lo, hi = _bound(start, "start"), _bound(end, "end")
    if lo is not None and hi is not None and hi <= lo:
        raise ValueError(f"the window is empty: end {hi:%Y-%m-%d %H:%M} is not after start "
                         f"{lo:%Y-%m-%d %H:%M}")
    target = Path(out)
    if target.exists() and not overwrite and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} exists and is not empty; choose another --out or "
                              "pass overwrite=True (--overwrite)")
    parts = select(opened, trace, cluster, lo, hi)
    if not any(p.jobs.height for p in parts):
        span = opened.jobs(trace, cluster).select(
            pl.col("submit_time").min().alias("a"), pl.col("submit_time").max().alias("b")
        ).collect()
        raise ValueError(f"no job of {trace}{'/' + cluster if cluster else ''} was submitted in "
                         f"the window; its jobs were submitted from {span['a'][0]} to "
                         f"{span['b'][0]}")
    module = FORMATS[format]
    progress = on_progress or (lambda stage, done, total: None)
    result = ExportResult(format, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    staging.mkdir()
    try:
        for i, part in enumerate(parts):
            progress(f"{format}: {part.trace}/{part.cluster}", i, len(parts))
            folder = staging / part.cluster
            folder.mkdir()
            ledger = Ledger()
            options = {"prediction_model": prediction_model} if format == jobs_csv.NAME else {}
            module.write(part, folder, ledger, **options)
            (folder / README).write_text(render_readme(module, part, ledger), encoding="utf-8")
            result.ledgers[part.cluster] = ledger
        if any(p.synthetic for p in parts):
            # Re-ingesting an export of the synthetic sample keeps it labelled synthetic.
            sample = opened.sample_info(trace) or {}
            marker = dict(sample, synthetic=True, exported_by="tracekit export")
            (staging / SYNTHETIC_MARKER).write_text(json.dumps(marker, indent=2, default=str))
        _replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    progress(f"{format}: done", len(parts), len(parts))
    return result


def _replace(staging: Path, target: Path) -> None:
    """Move the finished export into place (the previous ``target`` goes only afterwards)."""
    if not target.exists():
        staging.rename(target)
        return
    old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
    target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        old.rename(target)
        raise
    with contextlib.suppress(OSError):
        shutil.rmtree(old) if old.is_dir() else old.unlink()


def formats() -> pl.DataFrame:
    """The export formats: ``format, description``."""
    return pl.DataFrame({"format": list(FORMATS),
                         "description": [m.DESCRIPTION for m in FORMATS.values()]})


__all__ = ["FORMATS", "README", "ExportResult", "export", "formats", "select"]
