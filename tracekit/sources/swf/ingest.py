"""The SWF reader's ``ingest``: SWF files -> one store partition per file, atomically.

Options come from an optional mapping (TOML) with the tables ``[trace]`` (``name``,
``cluster``), ``[time]`` (``timezone``) and ``[swf]`` (``processors = "gpus"`` or ``"cpus"``);
without one, the trace is ``swf``, each file's cluster is its name, the zone comes from the
``TimeZoneString`` header (else UTC) and processors are GPUs only when the file's header says
so (tracekit's SWF export does).
"""

from __future__ import annotations

import tomllib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import (
    NAME_PATTERN,
    ProgressFn,
    no_progress,
    read_synthetic_marker,
    require_rows,
)
from tracekit.sources._validate import Validator
from tracekit.sources.csv.formats import reserved_traces
from tracekit.sources.csv.jobs import to_jobs
from tracekit.sources.csv.mapping import TomlLines
from tracekit.sources.swf.formats import PROCESSOR_KINDS, SUFFIXES, TRACE
from tracekit.sources.swf.read import names_path, read_names, read_swf, to_fields
from tracekit.store import begin, source_record

_OPTION_KEYS: dict[str, tuple[str, ...]] = {
    "trace": ("name", "cluster"),
    "time": ("timezone",),
    "swf": ("processors",),
}


@dataclass(frozen=True)
class SWFOptions:
    """Reading options of SWF files (see the module docstring)."""

    trace: str = TRACE
    cluster: str | None = None
    timezone: str | None = None
    processors: str | None = None


def read_options(path: str | Path) -> SWFOptions:
    """Read an SWF mapping (TOML); errors name the file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
    except FileNotFoundError:
        raise TraceFormatError(path, None, "mapping file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TraceFormatError(path, None, f"not valid TOML: {exc}") from exc
    lines = TomlLines(text)

    def fail(table: str, key: str | None, problem: str) -> TraceFormatError:
        return TraceFormatError(path, lines.line(table, key), f"[{table}] {key or ''}: {problem}")

    for table, values in doc.items():
        if table not in _OPTION_KEYS or not isinstance(values, dict):
            raise TraceFormatError(path, lines.line(table), f"unknown table [{table}]; an SWF "
                                   f"mapping has {', '.join(_OPTION_KEYS)}")
        for key in values:
            if key not in _OPTION_KEYS[table]:
                raise fail(table, key, f"unknown key; known: {', '.join(_OPTION_KEYS[table])}")
    trace = doc.get("trace", {}).get("name", TRACE)
    cluster = doc.get("trace", {}).get("cluster")
    for key, value in (("name", trace), ("cluster", cluster)):
        if value is not None and (not isinstance(value, str) or not NAME_PATTERN.match(value)):
            raise fail("trace", key, f"must be a name of letters, digits, '_', '.' or '-' "
                       f"(got {value!r})")
    if trace != TRACE and trace.lower() in reserved_traces():
        raise fail("trace", "name", f"{trace!r} is a built-in reader's trace")
    tz = doc.get("time", {}).get("timezone")
    if tz is not None:
        _check_zone(tz, lambda p: fail("time", "timezone", p))
    processors = doc.get("swf", {}).get("processors")
    if processors is not None and processors not in PROCESSOR_KINDS:
        raise fail("swf", "processors", f"must be one of {', '.join(PROCESSOR_KINDS)}")
    return SWFOptions(trace, cluster, tz, processors)


def _check_zone(tz: object, fail: Callable[[str], TraceFormatError]) -> str:
    if not isinstance(tz, str):
        raise fail(f"must be an IANA zone name, got {tz!r}")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise fail(f"unknown time zone {tz!r}") from None
    return tz


def find_files(raw_path: Path) -> list[Path]:
    """The SWF files at ``raw_path`` (one file, or every ``*.swf[.gz]`` below a folder)."""
    if raw_path.is_file():
        return [raw_path]
    if not raw_path.is_dir():
        raise TraceFormatError(raw_path, None, "no such file or folder")
    files = sorted(p for p in raw_path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
    if not files:
        raise TraceFormatError(raw_path, None, "no .swf or .swf.gz file found")
    return files


def _cluster_name(path: Path) -> str:
    stem = path.name.removesuffix(".gz").removesuffix(".swf")
    return stem if NAME_PATTERN.match(stem) else "swf"


def ingest(
    raw_path: str | Path,
    store: str | Path,
    *,
    mapping: str | Path | SWFOptions | None = None,
    clusters: list[str] | tuple[str, ...] | None = None,
    lenient: bool = False,
    strict: bool = False,
    allow_empty: bool = False,
    on_progress: ProgressFn | None = None,
) -> dict[str, dict[str, int]]:
    """Ingest SWF files into ``store``: one partition per file, all in one transaction.

    Parameters
    ----------
    raw_path : str or Path
        An ``.swf`` / ``.swf.gz`` file or a folder of them. A ``<name>.names.csv`` beside a
        file (written by tracekit's SWF export) restores job ids, users and VC names.
    store : str or Path
        Store directory.
    mapping : str, Path or SWFOptions, optional
        Trace and cluster names, time zone, and what processors count (module docstring).
    clusters : sequence of str, optional
        Only these clusters (file names).
    lenient : bool
        Count and skip unparseable lines instead of raising.
    strict : bool
        Raise instead of repairing rows: a repeated job number, or a value that breaks the
        store contract (a negative wait or run time, a time outside any plausible period).
    allow_empty : bool
        Store a file without jobs (refused by default).
    on_progress : callable, optional
        Called as ``on_progress(stage, done, total)`` (files).

    Returns
    -------
    dict
        ``{cluster: {table: rows}}``.
    """
    options = mapping if isinstance(mapping, SWFOptions) else (
        read_options(mapping) if mapping is not None else SWFOptions()
    )
    progress = on_progress or no_progress
    raw = Path(raw_path)
    files = find_files(raw)
    if options.cluster is not None and len(files) > 1:
        raise ValueError(f"the mapping names one cluster, but {raw} holds {len(files)} SWF files")
    named = {(options.cluster or _cluster_name(p)): p for p in files}
    if len(named) < len(files):
        raise ValueError(f"two SWF files under {raw} have the same name; ingest them separately")
    if clusters:
        unknown = sorted(set(clusters) - set(named))
        if unknown:
            raise ValueError(f"clusters not found: {unknown}; have {sorted(named)}")
        named = {c: p for c, p in named.items() if c in clusters}
    parts = []
    for i, (cluster, path) in enumerate(named.items()):
        progress(f"{options.trace}/{cluster}: reading {path.name}", i, len(named))
        quality = QualityCounter(lenient=lenient)
        log = read_swf(path, quality, options.trace)
        require_rows(log.jobs.height, path, allow_empty, "job lines")
        zone = options.timezone or log.value("TimeZoneString") or "UTC"
        zone = _check_zone(
            zone, lambda p, f=path: TraceFormatError(f, None, f"TimeZoneString: {p}")
        )
        start = log.value("UnixStartTime")
        try:
            unix_start = int(float(start)) if start is not None else 0
        except (ValueError, OverflowError):
            problem = f"UnixStartTime is not a number: {start!r}"
            raise TraceFormatError(path, None, problem) from None
        quality.add(f"{options.trace}.no_unix_start_time", int(start is None))
        processors = options.processors or ("gpus" if log.gpu_processors else "cpus")
        sidecar = names_path(path)
        fields = to_fields(log, processors=processors, names=read_names(sidecar),
                           unix_start_s=unix_start, quality=quality, prefix=options.trace)
        jobs = to_jobs(fields, options.trace, quality, strict=strict, source=path)
        check = Validator(options.trace, quality, cluster=cluster, strict=strict, label=str(path))
        jobs = check("jobs", jobs)
        require_rows(jobs.height, path, allow_empty, "jobs left after repairs")
        sources = [source_record(path)] + ([source_record(sidecar)] if sidecar.is_file() else [])
        parts.append((cluster, jobs, quality, zone, processors, log, sources))
    with begin(store, options.trace, mode="ingest", allow_empty=allow_empty) as tx:
        summary = {}
        for cluster, jobs, quality, zone, processors, log, sources in parts:
            summary[cluster] = {"jobs": tx.write("jobs", cluster, jobs)}
            marker = read_synthetic_marker(log.path)
            tx.set_meta(
                cluster, sources=sources, synthetic=marker is not None, quality=quality,
                timezone=zone, reader="swf", processors=processors, swf_header=log.comments,
                sample=marker,
            )  # fmt: skip
    progress(f"{options.trace}: done", len(named), len(named))
    return summary


__all__ = ["SWFOptions", "find_files", "ingest", "read_options"]
