"""Reader for the Alibaba PAI GPU trace v2020 (NSDI'22): seven headerless CSVs -> store tables.

Input is a folder holding the seven ``pai_*.tar.gz`` archives or the extracted ``pai_*.csv``
files (anywhere below it), with their one-line ``.header`` files; built-in column lists are used
when a ``.header`` file is absent. Archives are streamed member by member with :mod:`tarfile`
(nothing is extracted to disk) and every CSV is parsed in blocks, so memory stays bounded even
for the 2 GB instance table.

Tables written for trace ``pai``, cluster ``pai``: ``jobs``, ``tasks``, ``instances``,
``sensors``, ``machine_metric``, ``machines`` and ``capacity``. See docs/pai.md for the mapping,
the official-vs-ours definitions and the data-quality rules (``pai.*``).

The format constants at the top of this module (file names, header column lists, number
formatting) are the single description of the raw format; the synthetic sample generator
imports them.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import tarfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import find_by_basename, read_synthetic_marker
from tracekit.store import TableWriter, begin, source_record
from tracekit.timeutil import PAI_SHIFT_S, pai_seconds_to_utc

# ---- format constants (imported by the synthetic sample generator) -----------------------------
TRACE = "pai"
CLUSTER = "pai"

JOB_TABLE = "pai_job_table"
TASK_TABLE = "pai_task_table"
INSTANCE_TABLE = "pai_instance_table"
SENSOR_TABLE = "pai_sensor_table"
GROUP_TAG_TABLE = "pai_group_tag_table"
MACHINE_SPEC = "pai_machine_spec"
MACHINE_METRIC = "pai_machine_metric"
RAW_TABLES: tuple[str, ...] = (
    JOB_TABLE,
    TASK_TABLE,
    INSTANCE_TABLE,
    SENSOR_TABLE,
    GROUP_TAG_TABLE,
    MACHINE_SPEC,
    MACHINE_METRIC,
)
CSV_SUFFIX = ".csv"  # <name>.csv: headerless, LF line ends, no quoting
HEADER_SUFFIX = ".header"  # <name>.header: one line of comma-separated column names, LF
ARCHIVE_SUFFIX = ".tar.gz"  # <name>.tar.gz: exactly one flat member <name>.csv
PART_INFIX = ".part"  # <name>.tar.gz.partaa, .partab, ...: a split archive (public mirror)

# Exact contents of the official ``.header`` files (formats.md §3, fixtures.md §3.1).
HEADERS: dict[str, tuple[str, ...]] = {
    JOB_TABLE: ("job_name", "inst_id", "user", "status", "start_time", "end_time"),
    TASK_TABLE: (
        "job_name",
        "task_name",
        "inst_num",
        "status",
        "start_time",
        "end_time",
        "plan_cpu",
        "plan_mem",
        "plan_gpu",
        "gpu_type",
    ),
    INSTANCE_TABLE: (
        "job_name",
        "task_name",
        "inst_name",
        "worker_name",
        "inst_id",
        "status",
        "start_time",
        "end_time",
        "machine",
    ),
    SENSOR_TABLE: (
        "job_name",
        "task_name",
        "worker_name",
        "inst_id",
        "machine",
        "gpu_name",
        "cpu_usage",
        "gpu_wrk_util",
        "avg_mem",
        "max_mem",
        "avg_gpu_wrk_mem",
        "max_gpu_wrk_mem",
        "read",
        "write",
        "read_count",
        "write_count",
    ),
    GROUP_TAG_TABLE: ("inst_id", "user", "gpu_type_spec", "group", "workload"),
    MACHINE_SPEC: ("machine", "gpu_type", "cap_cpu", "cap_mem", "cap_gpu"),
    MACHINE_METRIC: (
        "worker_name",
        "machine",
        "start_time",
        "end_time",
        "machine_cpu_iowait",
        "machine_cpu_kernel",
        "machine_cpu_usr",
        "machine_gpu",
        "machine_load_1",
        "machine_net_receive",
        "machine_num_worker",
        "machine_cpu",
    ),
}
# Columns holding numbers (everything else is a string: ids, statuses, types, device names).
NUMERIC_COLUMNS: dict[str, tuple[str, ...]] = {
    JOB_TABLE: ("start_time", "end_time"),
    TASK_TABLE: ("inst_num", "start_time", "end_time", "plan_cpu", "plan_mem", "plan_gpu"),
    INSTANCE_TABLE: ("start_time", "end_time"),
    SENSOR_TABLE: HEADERS[SENSOR_TABLE][6:],
    GROUP_TAG_TABLE: (),
    MACHINE_SPEC: ("cap_cpu", "cap_mem", "cap_gpu"),
    MACHINE_METRIC: HEADERS[MACHINE_METRIC][2:],
}
FIELD_SEPARATOR = ","
LINE_TERMINATOR = "\n"
MISSING_FIELD = ""  # an empty field means missing in every table
MISSING_TIME = 0.0  # ... and so does a time of 0 (official code: ``start_time == 0`` -> NaN)
# Number formatting as seen in the real files: times in the job/task/instance tables are floats
# with one decimal (``4550879.0``); machine_metric times are integers (``6150435``); machine
# spec capacities are integers (``96``); other floats use Python's shortest repr
# (``29.296875``, ``140.1451612903226``); ``inst_num`` looks like ``1.0``.
TIME_FORMAT = "{:.1f}"
METRIC_TIME_FORMAT = "{:.0f}"
CAPACITY_FORMAT = "{:d}"

STATUSES: tuple[str, ...] = ("Terminated", "Failed", "Running", "Waiting")
STATUS_MAP: dict[str, str] = {
    "Terminated": "completed",
    "Failed": "failed",
    "Running": "censored",
    "Waiting": "censored",
}
TASK_GPU_TYPES: tuple[str, ...] = ("MISC", "T4", "P100", "V100", "V100M32")
MACHINE_GPU_TYPES: tuple[str, ...] = ("CPU", *TASK_GPU_TYPES)  # CPU: CPU-only, cap_gpu = 0
PERCENT = 100.0  # plan_cpu/plan_gpu are percent of one core/GPU per instance

BLOCK_BYTES = 32 << 20  # CSV parse block: bounds memory on the 2 GB instance table
_HASH_SEED = 0x5A17  # fixed seed: the same string hashes equally in every block
_LFS_MAGIC = b"version https://git-lfs"

ProgressFn = Callable[[str, int, int], None]


def format_float(value: float | None) -> str:
    """Format a float field the way the raw PAI files do (shortest repr; empty when missing)."""
    if value is None or value != value:
        return MISSING_FIELD
    return repr(float(value))


def format_time(value: float | None, table: str = JOB_TABLE) -> str:
    """Format a raw time field of ``table`` (``4550879.0``, or ``6150435`` in machine_metric)."""
    if value is None or value != value:
        return MISSING_FIELD
    fmt = METRIC_TIME_FORMAT if table == MACHINE_METRIC else TIME_FORMAT
    return fmt.format(value)


# ---- locating and streaming raw files ---------------------------------------------------------
@dataclass(frozen=True)
class RawSource:
    """Where one raw table lives: a CSV or an archive, plus its header file (if any)."""

    name: str
    path: Path
    header_path: Path | None
    file_columns: tuple[str, ...]
    parts: tuple[Path, ...] = ()  # split archive ``<name>.tar.gz.partaa, ...``; path = first

    @property
    def is_archive(self) -> bool:
        """True when the table is read from ``<name>.tar.gz`` (whole or split in parts)."""
        return bool(self.parts) or self.path.name.endswith(ARCHIVE_SUFFIX)

    @property
    def size(self) -> int:
        """Bytes on disk (all parts of a split archive)."""
        return sum(p.stat().st_size for p in self.parts or (self.path,))

    def open(self) -> IO[bytes] | _Chained:
        """Open the raw bytes (split parts are read as one stream, in name order)."""
        return _Chained(self.parts) if self.parts else open(self.path, "rb")

    @property
    def label(self) -> str:
        """File name used in error messages (``archive!member`` for archives)."""
        if self.is_archive:
            return f"{self.path}!{self.name}{CSV_SUFFIX}"
        return str(self.path)


def _read_header(path: Path, name: str) -> tuple[str, ...]:
    text = path.read_text(encoding="utf-8-sig").strip()
    columns = tuple(c.strip() for c in text.split(FIELD_SEPARATOR))
    missing = [c for c in HEADERS[name] if c not in columns]
    if not text or missing or len(set(columns)) != len(columns):
        raise TraceFormatError(
            path,
            1,
            f"header must list the columns {','.join(HEADERS[name])}; "
            f"missing {missing or 'none'}, found {text!r}",
        )
    return columns


def locate(raw_path: str | Path, names: tuple[str, ...] = RAW_TABLES) -> dict[str, RawSource]:
    """Find the CSV (preferred) or archive and the header file of each raw table.

    Parameters
    ----------
    raw_path : str or Path
        Folder holding the raw files (searched recursively by base name).
    names : tuple of str
        Raw tables to locate (default: all seven).

    Raises
    ------
    TraceFormatError
        If the folder is missing, a table has neither a CSV nor an archive, or a header file
        does not list the expected columns.
    """
    root = Path(raw_path)
    if not root.is_dir():
        raise TraceFormatError(root, None, "expected a folder with the pai_*.tar.gz / .csv files")
    wanted = [n + s for n in names for s in (CSV_SUFFIX, ARCHIVE_SUFFIX, HEADER_SUFFIX)]
    found = find_by_basename(root, wanted)
    # The public mirror (qzweng/clusterdata-cluster-trace-gpu-v2020-data) splits big archives
    # into ``<name>.tar.gz.partaa, .partab, ...``; they are read as one stream.
    parts = {
        n: tuple(sorted(root.rglob(f"{n}{ARCHIVE_SUFFIX}{PART_INFIX}*")))
        for n in names
        if n + CSV_SUFFIX not in found and n + ARCHIVE_SUFFIX not in found
    }
    missing = [n for n, p in parts.items() if not p]
    if missing:
        files = ", ".join(f"{n}{ARCHIVE_SUFFIX} (or {n}{CSV_SUFFIX})" for n in missing)
        raise TraceFormatError(root, None, f"missing PAI raw file(s): {files}")
    sources = {}
    for name in names:
        split = parts.get(name, ())
        path = found.get(name + CSV_SUFFIX) or found.get(name + ARCHIVE_SUFFIX) or split[0]
        header = found.get(name + HEADER_SUFFIX)
        columns = _read_header(header, name) if header else HEADERS[name]
        sources[name] = RawSource(name, path, header, columns, split)
    return sources


class _Chained:
    """Read-only stream over several files in order (the parts of a split archive)."""

    def __init__(self, paths: tuple[Path, ...]) -> None:
        self._paths = list(paths)
        self._fh: IO[bytes] | None = None

    def read(self, n: int = -1) -> bytes:
        out = bytearray()
        while n < 0 or len(out) < n:
            if self._fh is None:
                if not self._paths:
                    break
                self._fh = open(self._paths.pop(0), "rb")  # closed at its end or by close()
            chunk = self._fh.read(-1 if n < 0 else n - len(out))
            if not chunk:
                self._fh.close()
                self._fh = None
                continue
            out += chunk
        return bytes(out)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> _Chained:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _HashingReader:
    """Read-only file wrapper that hashes and counts every byte read (provenance for free).

    With ``background=True`` the SHA-256 of large reads runs on a helper thread (hashlib releases
    the GIL), overlapping with parsing; updates stay in read order (one worker, FIFO).
    """

    def __init__(self, fh: IO[bytes] | _Chained, background: bool = False) -> None:
        self._fh = fh
        self._sha = hashlib.sha256()
        self._pool = ThreadPoolExecutor(max_workers=1) if background else None
        self._pending: list[Future[None]] = []
        self.bytes = 0

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        self.bytes += len(data)
        if self._pool is None:
            self._sha.update(data)
        else:
            # At most two blocks in flight, so hashing cannot fall far behind (bounded memory).
            while len(self._pending) >= 2:
                self._pending.pop(0).result()
            self._pending.append(self._pool.submit(self._sha.update, data))
        return data

    def drain(self) -> None:
        """Read (and hash) the rest of the file."""
        while self.read(1 << 20):
            pass

    def close(self) -> None:
        """Stop the helper thread (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def hexdigest(self) -> str:
        """SHA-256 of everything read so far."""
        for fut in self._pending:
            fut.result()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown()
        return self._sha.hexdigest()


def _iter_member(src: RawSource, raw: _HashingReader) -> Iterator[IO[bytes]]:
    head = raw.read(len(_LFS_MAGIC))
    if head == _LFS_MAGIC:
        raise TraceFormatError(src.path, None, "is a Git LFS pointer, not the archive; fetch it")
    # Re-feed the bytes already consumed, then stream the rest ("r|gz": no seeking needed).
    feed = _Prefixed(head, raw)
    member_name = src.name + CSV_SUFFIX
    # Stream mode reads members sequentially; nothing is ever written to disk, so member paths
    # (which could be absolute or contain ``..``) are never used.
    with tarfile.open(fileobj=feed, mode="r|gz") as tar:  # type: ignore[call-overload]
        for member in tar:
            if member.isfile() and Path(member.name).name == member_name:
                fh = tar.extractfile(member)
                assert fh is not None
                yield fh
                return
    raise TraceFormatError(src.path, None, f"archive has no member named {member_name}")


class _Prefixed:
    def __init__(self, prefix: bytes, rest: _HashingReader) -> None:
        self._prefix = prefix
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            if n < 0 or n >= len(self._prefix):
                data = self._prefix + self._rest.read(-1 if n < 0 else n - len(self._prefix))
                self._prefix = b""
                return data
            data, self._prefix = self._prefix[:n], self._prefix[n:]
            return data
        return self._rest.read(n)


_ARCHIVE_ERRORS = (EOFError, tarfile.TarError, zlib.error, gzip.BadGzipFile, OSError)


def iter_blocks(
    src: RawSource,
    block_bytes: int = BLOCK_BYTES,
    provenance: dict[str, Any] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(block, first_line, n_lines)``: whole lines of a raw CSV, ~``block_bytes`` each.

    ``first_line`` is the 1-based line number of the block's first line, ``n_lines`` its
    line count. When ``provenance`` is given it receives the source record (``path``,
    ``bytes``, ``sha256``) of the file read;
    ``on_bytes`` is called after each block with the bytes of the file (archive) read so far.

    Raises
    ------
    TraceFormatError
        If an archive is truncated, corrupt, a Git LFS pointer or lacks the CSV member.
    """
    with src.open() as fh:
        raw = _HashingReader(fh, background=not src.is_archive)
        try:
            fh_lines = (
                (b for member in _iter_member(src, raw) for b in _split_lines(member, block_bytes))
                if src.is_archive
                else _split_lines(raw, block_bytes)
            )
            for item in fh_lines:
                yield item
                if on_bytes is not None:
                    on_bytes(raw.bytes)
            raw.drain()
        except _ARCHIVE_ERRORS as exc:
            if not src.is_archive:
                raise
            raise TraceFormatError(
                src.label, None, f"truncated or corrupt archive ({type(exc).__name__}: {exc})"
            ) from exc
        finally:
            raw.close()
    if provenance is not None:
        # A split archive is recorded as the archive it reassembles to (same bytes, same hash).
        name = src.name + ARCHIVE_SUFFIX if src.parts else src.path.name
        provenance.update(path=name, bytes=raw.bytes, sha256=raw.hexdigest())
        if src.parts:
            provenance["parts"] = [p.name for p in src.parts]


def _split_lines(
    fh: IO[bytes] | _HashingReader, block_bytes: int
) -> Iterator[tuple[bytes, int, int]]:
    carry = b""
    line = 1
    while data := fh.read(block_bytes):
        cut = data.rfind(b"\n")
        if cut < 0:
            carry += data  # a line longer than a block: keep reading
            continue
        # One copy at most per block (joining through a memoryview), none when the read ends on
        # a line end and nothing is carried: copying 32 MB blocks was a visible cost.
        if carry:
            block = b"".join((carry, memoryview(data)[: cut + 1]))
        else:
            block = data if cut == len(data) - 1 else data[: cut + 1]
        carry = data[cut + 1 :]
        n_lines = _count_byte(block, _NEWLINE)
        yield block, line, n_lines
        line += n_lines
    if carry:
        yield carry + b"\n", line, 1  # last line without a terminating newline


_NEWLINE = 10  # b"\n"
_COMMA = 44  # b","


_COUNT_STEP = 1 << 18  # bytes compared per numpy call: the scratch mask stays in cache


def _count_byte(block: bytes, byte: int) -> int:
    """Occurrences of one byte value in ``block``.

    Compares cache-sized slices into one reused mask: about 4x faster than ``bytes.count`` and
    than a whole-block ``==`` (which allocates, and page-faults, a block-sized temporary).
    """
    arr = np.frombuffer(block, dtype=np.uint8)
    mask = np.empty(min(arr.size, _COUNT_STEP), dtype=np.bool_)
    total = 0
    for i in range(0, arr.size, _COUNT_STEP):
        part = arr[i : i + _COUNT_STEP]
        out = mask[: part.size]
        np.equal(part, byte, out=out)
        total += int(np.count_nonzero(out))
    return total


# ---- parsing blocks -----------------------------------------------------------------------------
def parse_block(
    block: bytes,
    first_line: int,
    src: RawSource,
    quality: QualityCounter,
    n_lines: int | None = None,
) -> pl.DataFrame:
    """Parse one block of whole lines into a frame with typed raw columns.

    ``n_lines`` (the block's newline count, when the caller already knows it) saves a scan.

    Numeric columns become Float64 (empty -> null); the rest stay strings (empty -> null).
    Values are not converted (times stay raw seconds, plan_gpu stays percent).

    Raises
    ------
    TraceFormatError
        On a line with the wrong number of fields or a non-numeric value in a numeric column,
        unless ``quality.lenient``, where the row is dropped and counted as
        ``pai.unparseable_row``.
    """
    if b"\r" in block:
        block = block.replace(b"\r\n", b"\n")
    ncols = len(src.file_columns)
    # Fast path: when the comma total is right, every line has the right field count, unless an
    # extra field on one line offsets a missing one on another; polars rejects the extra field,
    # and then the exact per-line check below finds the line.
    # Numbers are parsed directly as Float64 here; any parse error falls through to the slow
    # path, which reads text and casts, so that it can name the offending line and value.
    if n_lines is None:
        n_lines = _count_byte(block, _NEWLINE)  # unchanged by the CRLF -> LF replacement
    if _count_byte(block, _COMMA) == n_lines * (ncols - 1):
        try:
            frame = _read_block(block, src, typed=True)
        except pl.exceptions.ComputeError:
            pass
        else:
            return _fill_nan(frame, src, quality)
    arr = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    commas = np.flatnonzero(arr == 44)
    fields = np.diff(np.searchsorted(commas, ends), prepend=0) + 1
    starts = np.concatenate(([0], ends[:-1] + 1))
    blank = ends == starts
    bad = (fields != ncols) & ~blank
    lines: np.ndarray | None = None  # original line number of each kept row, when rows dropped
    if blank.any() or bad.any():
        if bad.any() and not quality.lenient:
            i = int(np.flatnonzero(bad)[0])
            raise TraceFormatError(
                src.label,
                first_line + i,
                f"expected {ncols} comma-separated fields, found {int(fields[i])}",
            )
        quality.add("pai.blank_line", int(blank.sum()))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            quality.add(
                "pai.unparseable_row",
                int(bad.sum()),
                example=f"{src.label}:{first_line + i}: wrong number of fields",
            )
        keep = ~(blank | bad)
        block = b"".join(block[s : e + 1] for s, e in zip(starts[keep], ends[keep], strict=True))
        lines = first_line + np.flatnonzero(keep)
    if not block:
        return _empty_raw(src.name)
    return _cast_numeric(_read_block(block, src), first_line, lines, src, quality)


def _read_block(block: bytes, src: RawSource, typed: bool = False) -> pl.DataFrame:
    numeric = set(NUMERIC_COLUMNS[src.name]) if typed else set()
    schema = {c: pl.Float64 if c in numeric else pl.String for c in src.file_columns}
    return pl.read_csv(block, has_header=False, schema=schema, quote_char=None).select(
        HEADERS[src.name]
    )


def _fill_nan(frame: pl.DataFrame, src: RawSource, quality: QualityCounter) -> pl.DataFrame:
    numeric = NUMERIC_COLUMNS[src.name]
    nans = sum(int(frame[c].is_nan().sum()) for c in numeric) if numeric else 0
    if nans:
        # "nan" text parses as NaN; the store's missing value is null, never NaN.
        quality.add("pai.nan_value", nans)
        frame = frame.with_columns(pl.col(c).fill_nan(None) for c in numeric)
    return frame


def _empty_raw(name: str) -> pl.DataFrame:
    numeric = set(NUMERIC_COLUMNS[name])
    return pl.DataFrame(
        schema={c: pl.Float64 if c in numeric else pl.String for c in HEADERS[name]}
    )


def _number(col: str) -> pl.Expr:
    # Same acceptance as the typed fast path, which tolerates surrounding spaces.
    return pl.col(col).str.strip_chars().cast(pl.Float64, strict=False)


def _cast_numeric(
    frame: pl.DataFrame,
    first_line: int,
    lines: np.ndarray | None,
    src: RawSource,
    quality: QualityCounter,
) -> pl.DataFrame:
    numeric = NUMERIC_COLUMNS[src.name]
    if not numeric:
        return frame
    cast = frame.with_columns(_number(c) for c in numeric)
    bad_cols = [c for c in numeric if cast[c].null_count() != frame[c].null_count()]
    if bad_cols:
        mask = pl.any_horizontal(pl.col(c).is_not_null() & _number(c).is_null() for c in bad_cols)
        rows = frame.with_row_index("_row").filter(mask)
        row = int(rows["_row"][0])
        line = int(lines[row]) if lines is not None else first_line + row
        col = next(c for c in bad_cols if rows[c][0] is not None)
        if not quality.lenient:
            raise TraceFormatError(
                src.label, line, f"column {col!r} is not a number: {rows[col][0]!r}"
            )
        quality.add(
            "pai.unparseable_row",
            rows.height,
            example=f"{src.label}:{line}: {col}={rows[col][0]!r}",
        )
        cast = frame.filter(~mask).with_columns(_number(c) for c in numeric)
    return _fill_nan(cast, src, quality)


def iter_frames(
    src: RawSource,
    quality: QualityCounter,
    block_bytes: int = BLOCK_BYTES,
    provenance: dict[str, Any] | None = None,
    on_progress: ProgressFn | None = None,
) -> Iterator[pl.DataFrame]:
    """Stream a raw table as typed frames (see :func:`parse_block`), one per block."""
    total = src.size
    report = None if on_progress is None else (lambda done: on_progress(src.name, done, total))
    for block, first_line, n_lines in iter_blocks(src, block_bytes, provenance, report):
        yield parse_block(block, first_line, src, quality, n_lines)


def read_raw(
    raw_path: str | Path, name: str, *, lenient: bool = False, quality: QualityCounter | None = None
) -> pl.DataFrame:
    """Read one whole raw table with its header's column names and raw (unconverted) values.

    Parameters
    ----------
    raw_path : str or Path
        Folder holding the raw files.
    name : str
        One of :data:`RAW_TABLES`.
    lenient : bool
        Count and drop unparseable rows instead of raising.
    quality : QualityCounter, optional
        Counter to record repairs in.
    """
    src = locate(raw_path, (name,))[name]
    q = quality if quality is not None else QualityCounter(lenient=lenient)
    frames = list(iter_frames(src, q))
    return pl.concat(frames) if frames else _empty_raw(name)


# ---- conversions --------------------------------------------------------------------------------
def _count_times(frame: pl.DataFrame, table: str, quality: QualityCounter) -> None:
    for col in ("start_time", "end_time"):
        s = frame[col]
        quality.add(f"pai.{table}.{col}_zero", int((s == MISSING_TIME).sum()))
        quality.add(f"pai.{table}.{col}_negative", int((s < 0).sum()))


def _status() -> pl.Expr:
    # Unknown words and nulls are censored (counted as ``pai.job.unknown_status``).
    return pl.col("status").replace_strict(STATUS_MAP, default="censored").fill_null("censored")


def _ts(col: str) -> pl.Expr:
    return pai_seconds_to_utc(pl.col(col)).alias(col)


def _positive(col: str) -> pl.Expr:
    return pl.when(pl.col(col) > 0).then(pl.col(col))


def _instances(frame: pl.DataFrame, quality: QualityCounter) -> pl.DataFrame:
    _count_times(frame, "instance", quality)
    both = (pl.col("start_time") > 0) & (pl.col("end_time") > 0)
    runtime = pl.col("end_time") - pl.col("start_time")
    negative = int(frame.select((both & (runtime < 0)).sum()).item())
    quality.add("pai.instance.end_before_start", negative)
    return frame.select(
        "job_name",
        "task_name",
        "inst_name",
        "worker_name",
        "inst_id",
        "status",
        _ts("start_time"),
        _ts("end_time"),
        "machine",
        # Official runtime (both times > 0); negative spans are nulled (counted above).
        pl.when(both & (runtime >= 0)).then(runtime).alias("duration_s"),
    )


def _instance_partials(frame: pl.DataFrame) -> pl.DataFrame:
    both = (pl.col("start_time") > 0) & (pl.col("end_time") > 0)
    runtime = pl.when(both).then(pl.col("end_time") - pl.col("start_time"))
    runtime = pl.when(runtime >= 0).then(runtime)
    return frame.group_by("job_name", "task_name").agg(
        pl.len().alias("n_records"),
        _positive("start_time").min().alias("start_min"),
        _positive("end_time").max().alias("end_max"),
        runtime.sum().alias("rt_sum"),
        runtime.count().alias("rt_n"),
    )


def _combine_partials(parts: list[pl.DataFrame]) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(
            schema={
                "job_name": pl.String,
                "task_name": pl.String,
                "n_records": pl.UInt32,
                "start_min": pl.Float64,
                "end_max": pl.Float64,
                "rt_mean": pl.Float64,
            }
        )
    return (
        pl.concat(parts)
        .group_by("job_name", "task_name")
        .agg(
            pl.col("n_records").sum(),
            pl.col("start_min").min(),
            pl.col("end_max").max(),
            pl.col("rt_sum").sum(),
            pl.col("rt_n").sum(),
        )
        .with_columns(
            pl.when(pl.col("rt_n") > 0).then(pl.col("rt_sum") / pl.col("rt_n")).alias("rt_mean")
        )
        .drop("rt_sum", "rt_n")
    )


def build_tasks(tasks_raw: pl.DataFrame, inst_agg: pl.DataFrame) -> pl.DataFrame:
    """The store ``tasks`` table from the raw task table and per-task instance aggregates.

    ``queue_s`` = earliest instance start (> 0) - task start (official ``wait_time``);
    ``duration_s`` = mean instance runtime over records with both times > 0 (official
    ``runtime_i``, duplicates included as in the official code).
    """
    start = _positive("start_time")
    plan_gpu = pl.col("plan_gpu") / PERCENT
    plan_cpu = pl.col("plan_cpu") / PERCENT
    return tasks_raw.join(
        inst_agg, on=["job_name", "task_name"], how="left", nulls_equal=True
    ).select(
        "job_name",
        "task_name",
        "inst_num",
        "status",
        _ts("start_time"),
        _ts("end_time"),
        plan_cpu.alias("plan_cpu"),
        pl.col("plan_mem").alias("plan_mem_gb"),
        plan_gpu.alias("plan_gpu"),
        "gpu_type",
        (pl.col("inst_num") * plan_gpu).alias("num_gpus"),
        (pl.col("inst_num") * plan_cpu).alias("num_cpus"),
        (pl.col("start_min") - start).alias("queue_s"),
        pl.col("rt_mean").alias("duration_s"),
    )


def build_machines(spec: pl.DataFrame, quality: QualityCounter) -> pl.DataFrame:
    """The store ``machines`` table from ``pai_machine_spec`` (duplicates counted, first kept)."""
    quality.add("pai.machine.duplicate", spec.height - spec["machine"].n_unique())
    return spec.unique("machine", keep="first", maintain_order=True).select(
        pl.col("machine").alias("machine_id"),
        pl.col("cap_gpu").alias("num_gpus"),
        "gpu_type",
        # The spec has no GPU memory column; the type names alone do not settle it (P100 comes
        # in 12 and 16 GB, MISC mixes models), so it stays null.
        pl.lit(None, dtype=pl.Float64).alias("gpu_mem_gb"),
        pl.col("cap_cpu").alias("num_cpus"),
        pl.col("cap_mem").alias("mem_gb"),
    )


CAPACITY_DATE: date = datetime.fromtimestamp(PAI_SHIFT_S, UTC).date()
"""Date of every ``capacity`` row: the shifted origin (raw second 0), not after any PAI time."""


def build_capacity(machines: pl.DataFrame) -> pl.DataFrame:
    """One ``capacity`` row per machine GPU type (as ``vc``) dated :data:`CAPACITY_DATE`.

    The spec is a single snapshot, so capacity is constant; the date is the shifted origin so
    that an as-of lookup from any job time finds it. CPU-only machines give a ``CPU`` row with 0.
    """
    return (
        machines.group_by("gpu_type")
        .agg(pl.col("num_gpus").sum())
        .sort("gpu_type")
        .select(
            pl.lit(CAPACITY_DATE, dtype=pl.Date).alias("date"),
            pl.col("gpu_type").alias("vc"),
            "num_gpus",
        )
    )


def build_jobs(
    jobs_raw: pl.DataFrame,
    tasks_raw: pl.DataFrame,
    inst_agg: pl.DataFrame,
    job_nodes: pl.DataFrame,
    sensor_agg: pl.DataFrame,
    tags: pl.DataFrame,
    quality: QualityCounter,
) -> pl.DataFrame:
    """Aggregate the store ``jobs`` table (one row per ``job_name``); see docs/pai.md."""
    quality.add("pai.job.duplicate", jobs_raw.height - jobs_raw["job_name"].n_unique())
    jobs_raw = jobs_raw.unique("job_name", keep="first", maintain_order=True)
    gpus = (pl.col("inst_num") * pl.col("plan_gpu") / PERCENT).fill_null(0.0).alias("_g")
    per_task = (
        tasks_raw.with_columns(gpus)
        .group_by("job_name")
        .agg(
            pl.len().alias("n_tasks"),
            # CPU roles (empty plan_gpu) count as 0 GPUs; a job of CPU roles only has 0 GPUs.
            pl.col("_g").sum().alias("t_gpus"),
            (pl.col("inst_num") * pl.col("plan_cpu") / PERCENT).sum().alias("t_cpus"),
            (pl.col("inst_num") * pl.col("plan_mem")).sum().alias("t_mem"),
            # Assigned type of the task with the most GPUs (ties: alphabetical).
            pl.col("gpu_type")
            .sort_by(["_g", "gpu_type"], descending=[True, False], nulls_last=True)
            .drop_nulls()
            .first()
            .alias("t_gpu_type"),
            _positive("start_time").min().alias("t_start"),
            _positive("end_time").max().alias("t_end"),
        )
    )
    per_inst = inst_agg.group_by("job_name").agg(
        pl.col("start_min").min().alias("i_start"),
        pl.col("end_max").max().alias("i_end"),
    )
    tags = tags.select(
        "inst_id",
        pl.col("user").alias("g_user"),
        pl.col("group").alias("group_tag"),
        "workload",
    )
    frame = (
        jobs_raw.join(per_task, on="job_name", how="left")
        .join(per_inst, on="job_name", how="left")
        .with_columns(pl.col("job_name").hash(_HASH_SEED).alias("_jh"))
        .join(job_nodes, on="_jh", how="left")
        .join(sensor_agg, on="job_name", how="left")
        .join(tags, on="inst_id", how="left")
    )
    quality.add("pai.job.without_tasks", int(frame["n_tasks"].null_count()))
    quality.add("pai.job.never_started", int(frame["i_start"].is_null().sum()))
    quality.add("pai.job.without_group_tag", int(frame["group_tag"].is_null().sum()))
    unknown = ~pl.col("status").is_in(list(STATUS_MAP)) | pl.col("status").is_null()
    quality.add("pai.job.unknown_status", int(frame.select(unknown.sum()).item()))
    censored = _status() == "censored"
    submit_missing = ~(pl.col("start_time") > 0)
    quality.add(
        "pai.job.submit_from_task",
        int(frame.select((submit_missing & pl.col("t_start").is_not_null()).sum()).item()),
    )
    quality.add(
        "pai.job.submit_missing",
        int(frame.select((submit_missing & pl.col("t_start").is_null()).sum()).item()),
    )
    end_any = pl.coalesce(pl.col("i_end"), pl.col("t_end"), _positive("end_time"))
    quality.add(
        "pai.job.censored_end_dropped",
        int(frame.select((censored & end_any.is_not_null()).sum()).item()),
    )
    frame = frame.with_columns(
        pl.coalesce(_positive("start_time"), pl.col("t_start")).alias("_submit"),
        pl.col("i_start").alias("_start"),
        pl.when(~censored).then(end_any).alias("_end"),
    )
    span = pl.col("_end") - pl.col("_start")
    quality.add("pai.job.end_before_start", int(frame.select((span < 0).sum()).item()))
    quality.add(
        "pai.job.start_before_submit",
        int(frame.select((pl.col("_start") < pl.col("_submit")).sum()).item()),
    )
    duration = pl.when(span >= 0).then(span)
    gpus = pl.col("t_gpus")
    return frame.select(
        pl.col("job_name").alias("job_id"),
        pl.coalesce(pl.col("user"), pl.col("g_user")).alias("user"),
        pl.lit(None, dtype=pl.String).alias("vc"),
        "job_name",
        "group_tag",
        "workload",
        pai_seconds_to_utc(pl.col("_submit")).alias("submit_time"),
        pai_seconds_to_utc(pl.col("_start")).alias("start_time"),
        pai_seconds_to_utc(pl.when(~(span < 0).fill_null(False)).then(pl.col("_end"))).alias(
            "end_time"
        ),
        (pl.col("_start") - pl.col("_submit")).alias("queue_s"),
        duration.alias("duration_s"),
        gpus.alias("num_gpus"),
        pl.col("t_cpus").alias("num_cpus"),
        pl.col("t_mem").alias("mem_gb"),
        pl.col("num_nodes").cast(pl.Int32),
        pl.col("t_gpu_type").alias("gpu_type"),
        _status().alias("status"),
        pl.col("status").alias("raw_status"),
        pl.lit(None, dtype=pl.Int32).alias("num_attempts"),
        (gpus * duration).alias("gpu_time_s"),
        pl.col("gpu_util_mean"),
    )


class _AsyncWriter:
    """Writes a streamed table on a helper thread, overlapping Parquet encoding with parsing.

    One worker keeps the blocks in order; at most two blocks wait, which bounds memory.
    """

    def __init__(self, writer: TableWriter) -> None:
        self._writer = writer
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: list[Future[None]] = []

    def write(self, frame: pl.DataFrame) -> None:
        while len(self._pending) >= 2:
            self._pending.pop(0).result()  # re-raises a failed write here
        self._pending.append(self._pool.submit(self._writer.write, frame))

    def finish(self) -> None:
        """Wait for every pending block (raising its error, if any) and stop the thread."""
        try:
            for fut in self._pending:
                fut.result()
        finally:
            self._pending.clear()
            self._pool.shutdown(wait=True)

    @property
    def rows(self) -> int:
        """Rows written so far."""
        return self._writer.rows


def _stream_instances(
    frames: Iterator[pl.DataFrame], writer: _AsyncWriter, q: QualityCounter
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Write the instances; return per-task aggregates and distinct machines per job hash.

    Only small partial aggregates and 8-byte hashes stay in memory, never the 7.5 M records.
    """
    partials, pairs, worker_hashes = [], [], []
    empty_workers = 0
    for frame in frames:
        writer.write(_instances(frame, q))
        partials.append(_instance_partials(frame))
        pairs.append(
            frame.filter(pl.col("machine").is_not_null())
            .select(
                pl.col("job_name").hash(_HASH_SEED).alias("_jh"),
                pl.col("machine").hash(_HASH_SEED).alias("_mh"),
            )
            .unique()
        )
        workers = frame["worker_name"]
        empty_workers += workers.null_count()
        worker_hashes.append(workers.drop_nulls().hash(_HASH_SEED))
    q.add("pai.instance.empty_worker_name", empty_workers)
    hashes = pl.concat(worker_hashes) if worker_hashes else pl.Series([], dtype=pl.UInt64)
    # Extra records sharing a worker_name (e.g. a failed try and its retry); all are kept.
    q.add("pai.instance.duplicate_worker_name", hashes.len() - hashes.n_unique())
    job_nodes = (
        pl.concat(pairs).unique().group_by("_jh").agg(pl.len().alias("num_nodes"))
        if pairs
        else pl.DataFrame(schema={"_jh": pl.UInt64, "num_nodes": pl.UInt32})
    )
    return _combine_partials(partials), job_nodes


def _count_orphans(
    jobs_raw: pl.DataFrame, tasks_raw: pl.DataFrame, inst_agg: pl.DataFrame, q: QualityCounter
) -> None:
    keys = ["job_name", "task_name"]
    task_keys = tasks_raw.select(keys).unique()
    orphans = inst_agg.join(task_keys, on=keys, how="anti", nulls_equal=True)
    q.add("pai.instance.without_task", int(orphans["n_records"].sum() or 0))
    idle = tasks_raw.join(inst_agg, on=keys, how="anti", nulls_equal=True)
    q.add("pai.task.without_instances", idle.height)
    q.add("pai.task.without_job", tasks_raw.join(jobs_raw, on="job_name", how="anti").height)


def _stream_sensors(frames: Iterator[pl.DataFrame], writer: _AsyncWriter) -> pl.DataFrame:
    """Write the sensor rows; return the mean ``gpu_wrk_util`` per job (null when no value)."""
    parts = []
    for frame in frames:
        writer.write(frame)
        parts.append(
            frame.group_by("job_name").agg(
                pl.col("gpu_wrk_util").sum().alias("s"),
                pl.col("gpu_wrk_util").count().alias("n"),
            )
        )
    if not parts:
        return pl.DataFrame(schema={"job_name": pl.String, "gpu_util_mean": pl.Float64})
    return (
        pl.concat(parts)
        .group_by("job_name")
        .agg(pl.col("s").sum(), pl.col("n").sum())
        .select(
            "job_name",
            pl.when(pl.col("n") > 0).then(pl.col("s") / pl.col("n")).alias("gpu_util_mean"),
        )
    )


# ---- ingest -------------------------------------------------------------------------------------
def _read_all(
    src: RawSource, q: QualityCounter, prov: list[dict[str, Any]], on_progress: ProgressFn | None
) -> pl.DataFrame:
    record: dict[str, Any] = {}
    frames = list(iter_frames(src, q, provenance=record, on_progress=on_progress))
    prov.append(record)
    return pl.concat(frames) if frames else _empty_raw(src.name)


def ingest(
    raw_path: str | Path,
    store: str | Path,
    *,
    clusters: list[str] | tuple[str, ...] | None = None,
    lenient: bool = False,
    on_progress: ProgressFn | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> dict[str, dict[str, int]]:
    """Ingest the PAI v2020 raw files under ``raw_path`` into ``store`` (trace/cluster ``pai``).

    Parameters
    ----------
    raw_path : str or Path
        Folder with the seven ``pai_*.tar.gz`` archives or extracted ``pai_*.csv`` files and,
        optionally, their ``.header`` files.
    store : str or Path
        Store directory (created if needed). The ``pai`` partition is replaced atomically.
    clusters : list of str, optional
        Only ``["pai"]`` is meaningful; anything without ``"pai"`` is an error.
    lenient : bool
        Count and drop unparseable rows (``pai.unparseable_row``) instead of raising.
    on_progress : callable, optional
        Called as ``on_progress(raw_table, bytes_done, bytes_total)`` after each block.
    block_bytes : int
        CSV block size; bounds peak memory.

    Returns
    -------
    dict
        Rows written per table: ``{"pai": {"jobs": n, ...}}``.

    Raises
    ------
    TraceFormatError
        Missing or truncated file, bad header, wrong field count or non-numeric value
        (the latter two only when not ``lenient``), naming file and line.
    """
    if clusters is not None and CLUSTER not in clusters:
        raise ValueError(f"PAI has one cluster, {CLUSTER!r}; got clusters={list(clusters)}")
    raw_path = Path(raw_path)
    sources = locate(raw_path)
    marker = read_synthetic_marker(raw_path)
    q = QualityCounter(lenient=lenient)
    prov: list[dict[str, Any]] = []

    def stream(name: str) -> Iterator[pl.DataFrame]:
        record: dict[str, Any] = {}
        yield from iter_frames(sources[name], q, block_bytes, record, on_progress)
        prov.append(record)

    rows: dict[str, int] = {}
    writers: dict[str, _AsyncWriter] = {}
    with begin(store, TRACE, mode="ingest") as tx:
        try:
            spec = _read_all(sources[MACHINE_SPEC], q, prov, on_progress)
            machines = build_machines(spec, q)
            rows["machines"] = tx.write("machines", CLUSTER, machines)
            rows["capacity"] = tx.write("capacity", CLUSTER, build_capacity(machines))

            jobs_raw = _read_all(sources[JOB_TABLE], q, prov, on_progress)
            _count_times(jobs_raw, "job", q)
            tags = _read_all(sources[GROUP_TAG_TABLE], q, prov, on_progress)
            q.add("pai.group_tag.duplicate", tags.height - tags["inst_id"].n_unique())
            tags = tags.unique("inst_id", keep="first", maintain_order=True)
            tasks_raw = _read_all(sources[TASK_TABLE], q, prov, on_progress)
            _count_times(tasks_raw, "task", q)
            q.add(
                "pai.task.duplicate",
                tasks_raw.height
                - tasks_raw.select(pl.struct("job_name", "task_name").n_unique()).item(),
            )

            writers["instances"] = _AsyncWriter(tx.open_writer("instances", CLUSTER))
            inst_agg, job_nodes = _stream_instances(stream(INSTANCE_TABLE), writers["instances"], q)
            _count_orphans(jobs_raw, tasks_raw, inst_agg, q)
            writers["sensors"] = _AsyncWriter(tx.open_writer("sensors", CLUSTER))
            sensor_agg = _stream_sensors(stream(SENSOR_TABLE), writers["sensors"])

            writers["machine_metric"] = _AsyncWriter(tx.open_writer("machine_metric", CLUSTER))
            for frame in stream(MACHINE_METRIC):
                _count_times(frame, "machine_metric", q)
                writers["machine_metric"].write(
                    frame.with_columns(_ts("start_time"), _ts("end_time"))
                )

            for w in writers.values():
                w.finish()
            rows["tasks"] = tx.write("tasks", CLUSTER, build_tasks(tasks_raw, inst_agg))
            jobs = build_jobs(jobs_raw, tasks_raw, inst_agg, job_nodes, sensor_agg, tags, q)
            rows["jobs"] = tx.write("jobs", CLUSTER, jobs)

            headers = {
                s.name: (s.header_path.name if s.header_path else "built-in")
                for s in sources.values()
            }
            prov += [source_record(s.header_path) for s in sources.values() if s.header_path]
            tx.set_meta(
                CLUSTER,
                sources=sorted(prov, key=lambda r: r["path"]),
                synthetic=marker is not None,
                quality=q,
                time_origin=datetime.fromtimestamp(PAI_SHIFT_S, UTC).isoformat(),
                time_shift_s=PAI_SHIFT_S,
                synthetic_marker=marker,
                headers=headers,
                time_mapping="utc = raw_seconds + time_shift_s; raw 0 or empty = missing",
            )
        finally:
            # On error, stop the writer threads before the transaction discards its files.
            for w in writers.values():
                with contextlib.suppress(Exception):
                    w.finish()
    rows.update({name: w.rows for name, w in writers.items()})
    return {CLUSTER: dict(sorted(rows.items()))}


__all__ = [
    "CAPACITY_DATE",
    "CLUSTER",
    "HEADERS",
    "NUMERIC_COLUMNS",
    "RAW_TABLES",
    "STATUS_MAP",
    "TRACE",
    "RawSource",
    "build_capacity",
    "build_jobs",
    "build_machines",
    "build_tasks",
    "format_float",
    "format_time",
    "ingest",
    "iter_blocks",
    "iter_frames",
    "locate",
    "parse_block",
    "read_raw",
]
