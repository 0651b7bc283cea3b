"""SWF file -> header comments + typed job fields (the generic readers' field layout).

Every data line must hold 18 numbers; a bad line raises
:class:`~tracekit.errors.TraceFormatError` naming the file and line (or is counted as
``<trace>.unparseable_row`` and skipped in lenient mode).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import read_file
from tracekit.sources.csv.formats import FIELDS as JOB_FIELDS
from tracekit.sources.swf.formats import (
    COMMENT,
    FIELDS,
    GPU_NOTE,
    KB_PER_GB,
    MISSING,
    N_FIELDS,
    NAMED_FIELDS,
    NAMES_HEADER,
    NAMES_SUFFIX,
    PARTIAL_STATUSES,
    STATUS_MAP,
)

_HEADER_FIELD = re.compile(r"^;\s*([A-Za-z]+)\s*:\s*(.*?)\s*$")
_SPACES = re.compile(rb"[ \t\r\f\v]+")
_US = 1_000_000
# SWF logs of the Parallel Workloads Archive are below 1 GB uncompressed; files are read whole.
MAX_SWF_BYTES = 8 << 30
MAX_NAMES_BYTES = 1 << 30


@dataclass
class SWFLog:
    """A parsed SWF file.

    Attributes
    ----------
    path : Path
        The file.
    comments : list of str
        Every header comment line, verbatim (kept in the store manifest).
    header : dict
        ``Key -> [values]`` of the ``; Key: value`` comments (keys such as ``Queue`` and
        ``Note`` may repeat).
    jobs : polars.DataFrame
        The 18 fields as Float64 (``-1`` kept as written) and ``_line`` (1-based file line).
    """

    path: Path
    comments: list[str] = field(default_factory=list)
    header: dict[str, list[str]] = field(default_factory=dict)
    jobs: pl.DataFrame = field(default_factory=pl.DataFrame)

    def value(self, key: str) -> str | None:
        """The first value of header field ``key`` (None when absent)."""
        values = self.header.get(key)
        return values[0] if values else None

    @property
    def gpu_processors(self) -> bool:
        """True when a header note says the processor fields hold GPUs (tracekit's export)."""
        return any(GPU_NOTE in note for note in self.header.get("Note", []))


def _read_bytes(path: Path) -> bytes:
    # Through the safe archive layer: LFS pointers refused, gzip CRC and length verified.
    return read_file(path, MAX_SWF_BYTES, "an SWF log")


def read_swf(
    path: str | Path, quality: QualityCounter | None = None, prefix: str = "swf"
) -> SWFLog:
    """Read an SWF file (plain or ``.gz``).

    Parameters
    ----------
    path : str or Path
        The file.
    quality : QualityCounter, optional
        In lenient mode, bad lines are counted (``<prefix>.unparseable_row``) and skipped.
    prefix : str
        Rule-name prefix.

    Raises
    ------
    TraceFormatError
        A data line without 18 numbers, or text that is not UTF-8 (file and line named).
    """
    path = Path(path)
    quality = quality or QualityCounter()
    log = SWFLog(path)
    numbers: list[int] = []
    rows: list[bytes] = []
    for number, line in enumerate(_read_bytes(path).split(b"\n"), start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith(COMMENT.encode()):
            try:
                comment = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise TraceFormatError(path, number, f"not UTF-8 text ({exc.reason})") from exc
            log.comments.append(comment)
            match = _HEADER_FIELD.match(comment)
            if match:
                log.header.setdefault(match.group(1), []).append(match.group(2))
            continue
        numbers.append(number)
        rows.append(_SPACES.sub(b" ", text))
    frame = _parse_rows(path, rows, numbers, quality, prefix)
    log.jobs = frame
    return log


def _parse_rows(
    path: Path, rows: list[bytes], numbers: list[int], quality: QualityCounter, prefix: str
) -> pl.DataFrame:
    schema = {name: pl.Float64 for name in FIELDS}
    lines = pl.Series("_line", numbers, dtype=pl.Int64)
    if not rows:
        return pl.DataFrame(schema=schema).with_columns(lines)
    blob = b"\n".join(rows)
    try:
        frame = pl.read_csv(io.BytesIO(blob), separator=" ", has_header=False,
                            new_columns=list(FIELDS), schema=schema, quote_char=None)
        if frame.height != len(rows) or frame.null_count().sum_horizontal().item():
            raise ValueError("short line")
        return frame.with_columns(lines)
    except (pl.exceptions.PolarsError, ValueError):
        pass
    # Slow path: judge each line, name the first bad one (or count and skip them).
    good: list[list[float]] = []
    kept: list[int] = []
    for number, row in zip(numbers, rows, strict=True):
        parts = row.split(b" ")
        problem = None
        if len(parts) != N_FIELDS:
            problem = f"{len(parts)} fields, SWF has {N_FIELDS}"
        else:
            try:
                values = [float(p) for p in parts]
            except ValueError:
                bad = next(p for p in parts if not _is_number(p))
                field_no = parts.index(bad) + 1
                problem = (f"field {field_no} ({FIELDS[field_no - 1]}) is not a number: "
                           f"{bad.decode('utf-8', 'replace')!r}")
        if problem is None:
            good.append(values)
            kept.append(number)
            continue
        if not quality.lenient:
            raise TraceFormatError(path, number, problem)
        quality.add(f"{prefix}.unparseable_row", 1, f"line {number}: {problem}")
    quality.add(f"{prefix}.unparseable_row", 0)
    columns = list(zip(*good, strict=True)) if good else [[] for _ in FIELDS]
    frame = pl.DataFrame({n: list(c) for n, c in zip(FIELDS, columns, strict=True)},
                         schema=schema)
    return frame.with_columns(pl.Series("_line", kept, dtype=pl.Int64))


def _is_number(text: bytes) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_names(path: Path) -> dict[str, dict[int, str]]:
    """The ``<name>.names.csv`` sidecar: ``field -> {number: name}`` (empty when absent)."""
    names: dict[str, dict[int, str]] = {f: {} for f in NAMED_FIELDS}
    if not path.is_file():
        return names
    data = read_file(path, MAX_NAMES_BYTES, "a names file")
    try:
        frame = pl.read_csv(data, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        problem = f"not a CSV file of {','.join(NAMES_HEADER)} ({str(exc).splitlines()[0]})"
        raise TraceFormatError(path, None, problem) from exc
    if tuple(frame.columns) != NAMES_HEADER:
        raise TraceFormatError(path, 1, f"expected header {','.join(NAMES_HEADER)!r}")
    numbers = frame["number"].cast(pl.Int64, strict=False)
    bad = numbers.is_null() | ~frame["field"].is_in(list(NAMED_FIELDS))
    if bad.any():
        line = int(bad.arg_true()[0]) + 2
        raise TraceFormatError(path, line, f"bad row {frame.row(line - 2)}; fields are "
                               f"{', '.join(NAMED_FIELDS)} with integer numbers")
    for kind, number, name in zip(frame["field"], numbers, frame["name"], strict=True):
        names[kind][int(number)] = name
    return names


def names_path(swf_path: Path) -> Path:
    """The names sidecar of ``swf_path`` (``x.swf`` or ``x.swf.gz`` -> ``x.names.csv``)."""
    stem = swf_path.name.removesuffix(".gz").removesuffix(".swf")
    return swf_path.with_name(stem + NAMES_SUFFIX)


def _named(column: str, kind: str, names: dict[str, dict[int, str]]) -> pl.Expr:
    """An SWF number as text: its sidecar name when there is one, the number otherwise; -1 null."""
    number = pl.col(column).cast(pl.Int64, strict=False)
    text = number.cast(pl.String)
    if names.get(kind):
        text = number.replace_strict(names[kind], default=text, return_dtype=pl.String)
    return pl.when(number == MISSING).then(None).otherwise(text)


def to_fields(
    log: SWFLog,
    *,
    processors: str,
    names: dict[str, dict[int, str]],
    unix_start_s: int,
    quality: QualityCounter,
    prefix: str = "swf",
) -> pl.DataFrame:
    """SWF fields -> the job fields of :func:`tracekit.sources.csv.jobs.to_jobs`.

    Parameters
    ----------
    log : SWFLog
        From :func:`read_swf`.
    processors : {"gpus", "cpus"}
        What the processor fields count.
    names : dict
        From :func:`read_names`: names for job numbers, user ids and queue numbers.
    unix_start_s : int
        Unix time of SWF time 0 (``UnixStartTime``).
    quality : QualityCounter
        Receives the counts (partial-execution lines, unknown statuses, ...).
    prefix : str
        Rule-name prefix.
    """
    q = quality
    df = log.jobs
    missing = float(MISSING)
    partial = pl.col("status").is_in([float(s) for s in PARTIAL_STATUSES])
    summary_numbers = df.filter(~partial)["job_number"].implode()
    orphan = partial & ~pl.col("job_number").is_in(summary_numbers)
    q.add(f"{prefix}.partial_execution_line", df.select(partial.sum()).item())
    q.add(f"{prefix}.partial_only_job_dropped",
          df.filter(orphan).select(pl.col("job_number").n_unique()).item())
    df = df.filter(~partial)
    bad = (pl.col("job_number") < 0) | (pl.col("submit_time") < 0)
    n_bad = df.select(bad.sum()).item()
    if n_bad:
        line = int(df.filter(bad)["_line"][0])
        problem = "job number or submit time is -1 (both are required)"
        if not q.lenient:
            raise TraceFormatError(log.path, line, problem)
        q.add(f"{prefix}.unparseable_row", n_bad, f"line {line}: {problem}")
        df = df.filter(~bad)

    def known(column: str) -> pl.Expr:
        return pl.when(pl.col(column) == missing).then(None).otherwise(pl.col(column))

    procs = pl.coalesce(known("allocated_processors"), known("requested_processors"))
    per_proc_kb = known("requested_memory")
    code = pl.col("status").cast(pl.Int64, strict=False)
    status = code.replace_strict(STATUS_MAP, default=None, return_dtype=pl.String)
    unknown = status.is_null()
    q.add(f"{prefix}.unknown_status_completed",
          df.select((unknown & (pl.col("run_time") >= 0)).sum()).item())
    q.add(f"{prefix}.unknown_status_censored",
          df.select((unknown & (pl.col("run_time") < 0)).sum()).item())
    status = (
        pl.when(unknown & (pl.col("run_time") >= 0)).then(pl.lit("completed"))
        .when(unknown).then(pl.lit("censored"))
        .otherwise(status)
    )  # fmt: skip
    # A time too far out for a timestamp becomes null (the row is then dropped and counted).
    submit_us = ((pl.col("submit_time") + unix_start_s) * _US).round(0).cast(pl.Int64,
                                                                                strict=False)
    gpus = procs if processors == "gpus" else pl.lit(0.0)
    cpus = procs if processors == "cpus" else pl.lit(None, pl.Float64)
    q.add(f"{prefix}.processors_unknown", df.select(procs.is_null().sum()).item())
    out = df.select(
        _named("job_number", "job_number", names).alias("job_id"),
        _named("user_id", "user_id", names).alias("user"),
        _named("queue_number", "queue_number", names).alias("vc"),
        submit_us.cast(pl.Datetime("us", "UTC")).alias("submit_time"),
        known("wait_time").alias("queue_s"),
        known("run_time").alias("duration_s"),
        gpus.alias("num_gpus"),
        cpus.alias("num_cpus"),
        (per_proc_kb * procs / KB_PER_GB).alias("mem_gb"),
        status.alias("status"),
        # The code as written when it is no integer (1e300): the raw status is never lost.
        pl.coalesce(code.cast(pl.String), pl.col("status").cast(pl.String)).alias("raw_status"),
    )
    absent = [f for f in JOB_FIELDS if f not in out.columns]
    typed = {"start_time": pl.Datetime("us", "UTC"), "end_time": pl.Datetime("us", "UTC")}
    return out.with_columns(
        pl.lit(None, dtype=typed.get(f, pl.Float64 if f == "num_nodes" else pl.String)).alias(f)
        for f in absent
    ).select(*JOB_FIELDS, "raw_status")


__all__ = ["SWFLog", "names_path", "read_names", "read_swf", "to_fields"]
