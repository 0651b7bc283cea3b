"""Helios (SenseTime, SC'21) reader: per-cluster ``cluster_log.csv`` and ``cluster_gpu_number.csv``.

Reads ``data.zip`` or an extracted folder and writes the ``jobs`` and ``capacity`` tables of each
cluster in one atomic store transaction. See docs/helios.md and formats.md §2.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import read_synthetic_marker
from tracekit.store import begin, source_record
from tracekit.timeutil import localize_naive

# ---- format constants (shared with the sample generator) ---------------------------------------
TRACE = "helios"
TIMEZONE = "Asia/Shanghai"  # naive wall clock, China Standard Time (formats.md §2.2)
CLUSTERS: tuple[str, ...] = ("Venus", "Earth", "Saturn", "Uranus")
LOG_FILE = "cluster_log.csv"
CAPACITY_FILE = "cluster_gpu_number.csv"
ARCHIVE_FILE = "data.zip"
LOG_HEADER: tuple[str, ...] = (
    "job_id", "user", "vc", "gpu_num", "cpu_num", "node_num", "state",
    "submit_time", "start_time", "end_time", "duration", "queue",
)  # fmt: skip
CAPACITY_HEADER_FIRST = "date"
CAPACITY_HEADER_LAST = "total"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SLURM_MAX_S = 14 * 24 * 3600
WINDOW_START = "2020-04-01"  # the paper's window; earlier submissions are a warm-up tail

STATUS_MAP: dict[str, str] = {
    "COMPLETED": "completed",
    "CANCELLED": "canceled",
    "FAILED": "failed",
    "TIMEOUT": "failed",
    "NODE_FAIL": "failed",
    "RUNNING": "censored",
    "SUSPENDED": "censored",
}

_INT_COLUMNS = ("gpu_num", "cpu_num", "node_num", "duration", "queue")
_TIME_COLUMNS = ("submit_time", "start_time", "end_time")


@dataclass(frozen=True)
class _Member:
    """One raw file: its display name (for errors) and a way to read its bytes."""

    name: str
    cluster: str
    read: Callable[[], bytes]


# ---- locating files -----------------------------------------------------------------------------
def _cluster_of(path_parts: tuple[str, ...]) -> str:
    # data/<Cluster>/cluster_log.csv -> <Cluster>
    return path_parts[-2] if len(path_parts) >= 2 else "unknown"


def _members(raw_path: Path) -> tuple[list[_Member], list[_Member], list[dict]]:
    """Find log and capacity files in a zip or a folder; return them with source records."""
    logs: list[_Member] = []
    caps: list[_Member] = []
    if raw_path.is_dir():
        zips = sorted(raw_path.glob(ARCHIVE_FILE))
        logs_found = sorted(raw_path.rglob(LOG_FILE))
        if not logs_found and zips:
            return _members(zips[0])
        for p in logs_found:
            logs.append(_Member(str(p), p.parent.name, p.read_bytes))
        for p in sorted(raw_path.rglob(CAPACITY_FILE)):
            caps.append(_Member(str(p), p.parent.name, p.read_bytes))
        sources = [source_record(m.name) for m in (*logs, *caps)]
        for rec, m in zip(sources, (*logs, *caps), strict=True):
            rec["path"] = f"{m.cluster}/{rec['path']}"
        return logs, caps, sources
    if not raw_path.exists():
        raise TraceFormatError(raw_path, None, "no such file or folder")
    try:
        archive = zipfile.ZipFile(raw_path)
        names = archive.namelist()
        bad = archive.testzip()
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise TraceFormatError(raw_path, None, f"not a readable zip archive ({exc})") from exc
    if bad is not None:
        raise TraceFormatError(raw_path, None, f"corrupt member {bad!r} (CRC check failed)")
    for name in sorted(names):
        parts = tuple(Path(name).parts)
        if not parts or name.endswith("/"):
            continue

        def reader(n: str = name) -> bytes:
            return archive.read(n)

        member = _Member(f"{raw_path}!{name}", _cluster_of(parts), reader)
        if parts[-1] == LOG_FILE:
            logs.append(member)
        elif parts[-1] == CAPACITY_FILE:
            caps.append(member)
    return logs, caps, [source_record(raw_path)]


# ---- parsing ------------------------------------------------------------------------------------
def _first_line(data: bytes) -> str:
    return data.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")


def _bad_row(raw: pl.DataFrame, mask: pl.Series) -> int:
    """1-based file line number of the first row flagged by ``mask`` (header is line 1)."""
    return int(raw.with_row_index("_i").filter(mask)["_i"][0]) + 2


def parse_log(data: bytes, name: str, quality: QualityCounter | None = None) -> pl.DataFrame:
    """Parse one ``cluster_log.csv`` into typed raw columns (naive times), checking every field.

    Parameters
    ----------
    data : bytes
        File contents.
    name : str
        File name used in error messages.
    quality : QualityCounter, optional
        Where repairs are counted; in lenient mode bad rows are counted and skipped.

    Raises
    ------
    TraceFormatError
        Wrong header, wrong field count, non-numeric counts, unparseable times.
    """
    quality = quality or QualityCounter()
    header = _first_line(data)
    if tuple(header.split(",")) != LOG_HEADER:
        raise TraceFormatError(
            name, 1, f"unexpected header {header!r}; expected {','.join(LOG_HEADER)!r}"
        )
    # Fast path: integers typed by the CSV reader. Only when that fails do we re-read everything
    # as text to find and name the offending line (or count it in lenient mode).
    typed_schema = {c: (pl.Int64 if c in _INT_COLUMNS else pl.String) for c in LOG_HEADER}
    try:
        raw = pl.read_csv(io.BytesIO(data), schema=typed_schema, has_header=True)
        text_ints = False
    except pl.exceptions.ComputeError:
        try:
            raw = pl.read_csv(
                io.BytesIO(data), schema={c: pl.String for c in LOG_HEADER}, has_header=True
            )
        except pl.exceptions.ComputeError as exc:
            line = _ragged_line(data)
            msg = str(exc).splitlines()[0]
            raise TraceFormatError(name, line, f"malformed CSV row: {msg}") from exc
        text_ints = True
    bad = pl.Series([False] * raw.height)
    out = {}
    for col in _INT_COLUMNS:
        if not text_ints:
            out[col] = raw[col]
            continue
        parsed = raw[col].str.strip_chars().cast(pl.Int64, strict=False)
        wrong = parsed.is_null() & raw[col].is_not_null() & (raw[col].str.strip_chars() != "")
        if wrong.any():
            line = _bad_row(raw, wrong)
            value = raw.filter(wrong)[col][0]
            if not quality.lenient:
                raise TraceFormatError(name, line, f"{col} is not an integer: {value!r}")
            quality.add("helios.unparseable_row", int(wrong.sum()), f"line {line}: {col}={value!r}")
            bad = bad | wrong
        out[col] = parsed
    for col in _TIME_COLUMNS:
        text = raw[col]
        # cache=False: second-resolution times are nearly all distinct, so a cache only costs.
        parsed = text.str.to_datetime(TIME_FORMAT, time_unit="us", strict=False, cache=False)
        wrong = parsed.is_null() & text.is_not_null() & (text != "") & (text != "None")
        if col == "submit_time":
            wrong = wrong | text.is_null() | (text == "")
        if wrong.any():
            line = _bad_row(raw, wrong)
            value = raw.filter(wrong)[col][0]
            if not quality.lenient:
                raise TraceFormatError(
                    name, line, f"{col} is not a '{TIME_FORMAT}' time: {value!r}"
                )
            quality.add("helios.unparseable_row", int(wrong.sum()), f"line {line}: {col}={value!r}")
            bad = bad | wrong
        out[col] = parsed
    frame = raw.select("job_id", "user", "vc", "state").with_columns(
        pl.Series(k, v) for k, v in out.items()
    )
    if bad.any():
        frame = frame.filter(~bad)
    return frame


def _ragged_line(data: bytes) -> int | None:
    """Line number of the first row whose field count differs from the header's (or None)."""
    for i, line in enumerate(io.BytesIO(data), start=1):
        stripped = line.rstrip(b"\r\n")
        if stripped and stripped.count(b",") != len(LOG_HEADER) - 1:
            return i
    return None


def normalize_jobs(raw: pl.DataFrame, cluster: str, quality: QualityCounter) -> pl.DataFrame:
    """Turn parsed log rows into the store's ``jobs`` table, counting every repair.

    Status: COMPLETED -> completed, CANCELLED -> canceled, FAILED/TIMEOUT/NODE_FAIL -> failed,
    RUNNING/SUSPENDED/unknown -> censored (end and duration then null, as the contract says).
    """
    q = quality
    df = raw
    exact_dupes = n_conflicts = 0
    # Duplicate handling is only needed when some job id repeats (checked cheaply first).
    if raw["job_id"].is_duplicated().any():
        df = raw.unique(maintain_order=True)
        exact_dupes = raw.height - df.height
        # Same id, different content: keep every row (nothing dropped), make ids unique.
        occurrence = pl.int_range(pl.len()).over("job_id")
        n_conflicts = df.select((occurrence > 0).sum()).item()
        df = df.with_columns(
            pl.when(occurrence > 0)
            .then(pl.col("job_id") + pl.lit("#") + occurrence.cast(pl.String))
            .otherwise(pl.col("job_id"))
            .alias("job_id")
        )
    q.add("helios.duplicate_row_dropped", exact_dupes)
    q.add("helios.duplicate_job_id_renamed", n_conflicts)
    known = pl.col("state").is_in(list(STATUS_MAP))
    q.add("helios.unknown_state", df.select((~known).sum()).item())
    status = pl.col("state").replace_strict(STATUS_MAP, default="censored", return_dtype=pl.String)
    df = df.with_columns(status.alias("status"))
    censored = pl.col("status") == "censored"
    q.add(
        "helios.censored_end_cleared",
        df.select((censored & pl.col("end_time").is_not_null()).sum()).item(),
    )
    q.add("helios.missing_start_time", df.select(pl.col("start_time").is_null().sum()).item())
    counts = df.select(
        (pl.col("duration") == 0).sum().alias("zero"),
        (pl.col("duration") > SLURM_MAX_S).sum().alias("over"),
        (pl.col("submit_time") < pl.lit(WINDOW_START).str.to_datetime("%Y-%m-%d"))
        .sum()
        .alias("warm"),
        (
            pl.col("end_time").is_not_null()
            & ((pl.col("end_time") - pl.col("start_time")).dt.total_seconds() != pl.col("duration"))
        )
        .sum()
        .alias("dur_mismatch"),
        (
            pl.col("start_time").is_not_null()
            & ((pl.col("start_time") - pl.col("submit_time")).dt.total_seconds() != pl.col("queue"))
        )
        .sum()
        .alias("queue_mismatch"),
    ).row(0, named=True)
    q.add("helios.zero_duration_kept", counts["zero"])
    q.add("helios.duration_over_14d_kept", counts["over"])
    q.add("helios.submitted_before_window_kept", counts["warm"])
    q.add("helios.duration_column_mismatch", counts["dur_mismatch"])
    q.add("helios.queue_column_mismatch", counts["queue_mismatch"])

    num_gpus = pl.col("gpu_num").cast(pl.Float64)
    # Durations and delays come from the README-defined columns (the official analysis uses them).
    duration = pl.when(censored).then(None).otherwise(pl.col("duration").cast(pl.Float64))
    return df.select(
        pl.col("job_id"),
        pl.col("user"),
        pl.col("vc"),
        pl.lit(None, pl.String).alias("job_name"),
        pl.lit(None, pl.String).alias("group_tag"),
        pl.lit(None, pl.String).alias("workload"),
        localize_naive(pl.col("submit_time"), TIMEZONE).alias("submit_time"),
        localize_naive(pl.col("start_time"), TIMEZONE).alias("start_time"),
        pl.when(censored)
        .then(None)
        .otherwise(localize_naive(pl.col("end_time"), TIMEZONE))
        .alias("end_time"),
        pl.when(pl.col("start_time").is_null())
        .then(None)
        .otherwise(pl.col("queue").cast(pl.Float64))
        .alias("queue_s"),
        duration.alias("duration_s"),
        num_gpus.alias("num_gpus"),
        pl.col("cpu_num").cast(pl.Float64).alias("num_cpus"),
        pl.lit(None, pl.Float64).alias("mem_gb"),
        pl.col("node_num").cast(pl.Int32).alias("num_nodes"),
        pl.lit(None, pl.String).alias("gpu_type"),
        pl.col("status"),
        pl.col("state").alias("raw_status"),
        pl.lit(None, pl.Int32).alias("num_attempts"),
        (num_gpus * duration).alias("gpu_time_s"),
        pl.lit(None, pl.Float64).alias("gpu_util_mean"),
    )


def read_capacity(
    data: bytes | str | Path, name: str | None = None, quality: QualityCounter | None = None
) -> pl.DataFrame:
    """Parse a ``cluster_gpu_number.csv`` (wide: date, VCs..., total) into long ``capacity`` rows.

    Parameters
    ----------
    data : bytes or path
        File contents, or a path to read.
    name : str, optional
        File name for error messages (defaults to the path).
    quality : QualityCounter, optional
        Counts ``helios.capacity_total_mismatch`` (days where total != sum of VCs).

    Returns
    -------
    polars.DataFrame
        Columns ``date`` (Date), ``vc`` (String), ``num_gpus`` (Float64); one row per day and VC.
        The cluster total is the sum over VCs of a day.
    """
    if not isinstance(data, bytes):
        name = name or str(data)
        data = Path(data).read_bytes()
    name = name or "<bytes>"
    quality = quality or QualityCounter()
    header = _first_line(data).split(",")
    if len(header) < 3 or header[0] != CAPACITY_HEADER_FIRST or header[-1] != CAPACITY_HEADER_LAST:
        raise TraceFormatError(
            name, 1, f"unexpected header {','.join(header)!r}; expected 'date,<vc>...,total'"
        )
    raw = pl.read_csv(io.BytesIO(data), schema={c: pl.String for c in header})
    dates = raw["date"].str.to_date("%Y-%m-%d", strict=False)
    if dates.is_null().any():
        line = _bad_row(raw, dates.is_null())
        raise TraceFormatError(name, line, f"date is not YYYY-MM-DD: {raw['date'][line - 2]!r}")
    vcs = header[1:-1]
    values = {}
    for col in (*vcs, "total"):
        parsed = raw[col].cast(pl.Int64, strict=False)
        if parsed.is_null().any():
            line = _bad_row(raw, parsed.is_null())
            raise TraceFormatError(
                name, line, f"GPU count of {col} is not an integer: {raw[col][line - 2]!r}"
            )
        values[col] = parsed
    wide = pl.DataFrame({"date": dates, **values})
    mismatch = wide.select((pl.sum_horizontal(vcs) != pl.col("total")).sum()).item()
    quality.add("helios.capacity_total_mismatch", mismatch)
    return (
        wide.unpivot(index="date", on=vcs, variable_name="vc", value_name="num_gpus")
        .with_columns(pl.col("num_gpus").cast(pl.Float64))
        .sort("date", "vc")
    )


# ---- ingest -------------------------------------------------------------------------------------
def ingest(
    raw_path: Path,
    store: Path,
    *,
    clusters: list[str] | tuple[str, ...] | None = None,
    lenient: bool = False,
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, dict[str, int]]:
    """Ingest Helios raw files into ``store``; all clusters land in one atomic transaction.

    Parameters
    ----------
    raw_path : Path
        ``data.zip``, or a folder holding ``data/<Cluster>/cluster_log.csv`` (or the zip).
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
        Rows written per cluster and table.
    """
    say = on_progress or (lambda _msg: None)
    raw_path = Path(raw_path)
    logs, caps, sources = _members(raw_path)
    if not logs:
        raise TraceFormatError(raw_path, None, f"no {LOG_FILE} found (expected data/<Cluster>/...)")
    wanted = set(clusters) if clusters else None
    if wanted:
        unknown = wanted - {m.cluster for m in logs}
        if unknown:
            raise TraceFormatError(raw_path, None, f"clusters not found: {sorted(unknown)}")
    marker = read_synthetic_marker(raw_path)
    cap_by_cluster = {m.cluster: m for m in caps}
    summary: dict[str, dict[str, int]] = {}
    with begin(store, TRACE, mode="ingest") as tx:
        for member in logs:
            cluster = member.cluster
            if wanted and cluster not in wanted:
                continue
            quality = QualityCounter(lenient=lenient)
            say(f"helios/{cluster}: parsing {LOG_FILE}")
            jobs = normalize_jobs(parse_log(member.read(), member.name, quality), cluster, quality)
            rows = {"jobs": tx.write("jobs", cluster, jobs)}
            cap = cap_by_cluster.get(cluster)
            if cap is not None:
                say(f"helios/{cluster}: parsing {CAPACITY_FILE}")
                rows["capacity"] = tx.write(
                    "capacity", cluster, read_capacity(cap.read(), cap.name, quality)
                )
            else:
                quality.add("helios.capacity_file_missing", 1)
            tx.set_meta(
                cluster,
                sources=[s for s in sources if s["path"].startswith(f"{cluster}/")] or sources,
                synthetic=marker is not None,
                quality=quality,
                timezone=TIMEZONE,
                sample=marker,
            )
            summary[cluster] = rows
        say("helios: committing")
    return summary
