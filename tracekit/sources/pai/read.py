"""PAI raw files -> typed frames: locating the seven tables (CSV, ``.tar.gz`` or a split
archive), streaming them in bounded blocks and parsing every field with its line number.

Files and archives are opened only through :mod:`tracekit.sources._archive` (streamed, never
extracted, with the gzip CRC-32 and length checked); the raw bytes are hashed while read, for
the manifest's provenance records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np
import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._archive import check_not_lfs_pointer, open_stream, stream_members
from tracekit.sources._common import (
    ProgressFn,
    clean_block,
    clean_block_exact,
    count_byte,
    find_by_basename,
    iter_line_blocks,
    utf8_error,
)
from tracekit.sources.pai.formats import (
    ARCHIVE_SUFFIX,
    CSV_SUFFIX,
    FIELD_SEPARATOR,
    HEADER_SUFFIX,
    HEADERS,
    NUMERIC_COLUMNS,
    PART_INFIX,
    RAW_TABLES,
    TRACE,
)

BLOCK_BYTES = 32 << 20  # CSV parse block: bounds memory on the 2 GB instance table
_NEWLINE = 10  # b"\n"


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
    Files and archives are opened through :mod:`tracekit.sources._archive`, which checks the
    gzip CRC-32 and length at the end of every compressed stream.

    Raises
    ------
    TraceFormatError
        If the file is a Git LFS pointer, or an archive is truncated, corrupt or lacks the CSV
        member.
    """
    if not src.parts:
        check_not_lfs_pointer(src.path)
    member_name = src.name + CSV_SUFFIX
    with src.open() as fh:
        raw = _HashingReader(fh, background=not src.is_archive)
        try:
            if src.is_archive:
                found = False
                members = stream_members(
                    src.path, lambda n: PurePosixPath(n).name == member_name, fileobj=raw
                )
                for member in members:
                    found = True
                    for item in iter_line_blocks(member.stream, block_bytes):
                        yield item
                        if on_bytes is not None:
                            on_bytes(raw.bytes)
                if not found:
                    raise TraceFormatError(
                        src.path, None, f"archive has no member named {member_name}"
                    )
            else:
                stream = open_stream(src.path, fileobj=raw)
                for item in iter_line_blocks(stream, block_bytes):
                    yield item
                    if on_bytes is not None:
                        on_bytes(raw.bytes)
                stream.verify()
            raw.drain()
        finally:
            raw.close()
    if provenance is not None:
        # A split archive is recorded as the archive it reassembles to (same bytes, same hash).
        name = src.name + ARCHIVE_SUFFIX if src.parts else src.path.name
        provenance.update(path=name, bytes=raw.bytes, sha256=raw.hexdigest())
        if src.parts:
            provenance["parts"] = [p.name for p in src.parts]


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
    # Fast path: when the comma total is right (and no line is blank), every line has the right
    # field count, unless an extra field on one line offsets a missing one on another; polars
    # rejects the extra field, and then the exact per-line check finds the line.
    # Numbers are parsed directly as Float64 here; any parse error falls through to the slow
    # path, which reads text and casts, so that it can name the offending line and value.
    if n_lines is None:
        n_lines = count_byte(block, _NEWLINE)  # unchanged by the CRLF -> LF replacement
    checked, lines = clean_block(block, first_line, n_lines, ncols, src.label, quality, TRACE)
    if lines is None:
        try:
            frame = _read_block(checked, src, typed=True)
        except pl.exceptions.ComputeError:
            pass
        else:
            return _fill_nan(frame, src, quality)
        checked, lines = clean_block_exact(block, first_line, ncols, src.label, quality, TRACE)
    block = checked
    if not block:
        return _empty_raw(src.name)
    try:
        frame = _read_block(block, src)
    except pl.exceptions.ComputeError as exc:
        bad_text = utf8_error(block, first_line, lines)
        if bad_text is not None:
            raise TraceFormatError(src.label, *bad_text) from exc
        msg = str(exc).splitlines()[0]
        raise TraceFormatError(src.label, first_line, f"malformed CSV rows: {msg}") from exc
    return _cast_numeric(frame, first_line, lines, src, quality)


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


__all__ = [
    "BLOCK_BYTES",
    "RawSource",
    "iter_blocks",
    "iter_frames",
    "locate",
    "parse_block",
    "read_raw",
]
