"""Helios raw files -> typed frames: locating the files (folder or ``data.zip``), parsing
``cluster_log.csv`` in bounded blocks and ``cluster_gpu_number.csv``.

Files are opened only through :mod:`tracekit.sources._archive` (zip members are streamed with
their CRC-32 checked, never read whole into memory) and every field is checked, so an error names
the file and line.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._archive import (
    CheckedStream,
    check_not_lfs_pointer,
    is_archive,
    iter_members,
    open_stream,
    stream_members,
)
from tracekit.sources._common import (
    clean_block,
    clean_block_exact,
    iter_line_blocks,
    refuse_duplicates,
    utf8_error,
)
from tracekit.sources.helios.formats import (
    ARCHIVE_FILE,
    CAPACITY_FILE,
    CAPACITY_HEADER_FIRST,
    CAPACITY_HEADER_LAST,
    INT_COLUMNS,
    LOG_FILE,
    LOG_HEADER,
    TIME_COLUMNS,
    TIME_FORMAT,
    TRACE,
)

BLOCK_BYTES = 64 << 20  # log parse block: bounds memory whatever the size of a member
# Largest accepted file inside data.zip: the real logs are below 200 MB, so a member expanding
# beyond this is a decompression bomb, refused while it is read (never held in memory).
MAX_MEMBER_BYTES = 4 << 30


@dataclass(frozen=True)
class HeliosFile:
    """One raw file found by :func:`locate`.

    Attributes
    ----------
    kind : str
        ``"log"`` or ``"capacity"``.
    cluster : str
        The cluster, from the folder holding the file (``data/<Cluster>/...``).
    label : str
        Display name for errors (``data.zip!data/Venus/cluster_log.csv`` inside the zip).
    rel : str
        ``<Cluster>/<file name>``, the path recorded in the manifest.
    open : callable
        Returns a context manager giving the file's checked byte stream.
    """

    kind: str
    cluster: str
    label: str
    rel: str
    open: Callable[[], object]


def _cluster_of(parts: tuple[str, ...]) -> str:
    # data/<Cluster>/cluster_log.csv -> <Cluster>
    return parts[-2] if len(parts) >= 2 else "unknown"


def locate(raw_path: Path) -> tuple[list[HeliosFile], Path | None]:
    """Find the log and capacity files of every cluster in a folder or in ``data.zip``.

    Parameters
    ----------
    raw_path : Path
        ``data.zip``, or a folder holding ``data/<Cluster>/cluster_log.csv`` (or the zip).

    Returns
    -------
    files : list of HeliosFile
        Logs and capacity files, sorted by path.
    archive : Path or None
        The zip they come from, if any.

    Raises
    ------
    TraceFormatError
        Missing path, Git LFS pointer, unreadable zip, or the same cluster found twice (for
        example ``data/Venus`` and ``backup/data/Venus``).
    """
    if raw_path.is_dir():
        logs_found = sorted(raw_path.rglob(LOG_FILE))
        zips = sorted(raw_path.rglob(ARCHIVE_FILE))
        if not logs_found and zips:
            return locate(zips[0])
        files = [
            HeliosFile(
                "log" if p.name == LOG_FILE else "capacity",
                p.parent.name,
                str(p),
                f"{p.parent.name}/{p.name}",
                lambda p=p: open_stream(p),
            )
            for p in sorted((*logs_found, *raw_path.rglob(CAPACITY_FILE)))
        ]
        _refuse_duplicate_clusters(raw_path, files)
        return files, None
    if not raw_path.exists():
        raise TraceFormatError(raw_path, None, "no such file or folder")
    check_not_lfs_pointer(raw_path)
    if not is_archive(raw_path):
        raise TraceFormatError(
            raw_path,
            None,
            f"not a readable zip archive (truncated or another format); expected {ARCHIVE_FILE} "
            "or a folder of CSVs",
        )
    files = []
    for member in iter_members(raw_path):
        parts = PurePosixPath(member.name).parts
        if not member.is_file or not parts or parts[-1] not in (LOG_FILE, CAPACITY_FILE):
            continue
        files.append(
            HeliosFile(
                "log" if parts[-1] == LOG_FILE else "capacity",
                _cluster_of(parts),
                f"{raw_path}!{member.name}",
                f"{_cluster_of(parts)}/{parts[-1]}",
                lambda name=member.name: _open_zip_member(raw_path, name),
            )
        )
    files.sort(key=lambda f: f.label)
    _refuse_duplicate_clusters(raw_path, files)
    return files, raw_path


def _open_zip_member(archive: Path, name: str) -> _MemberStream:
    members = stream_members(archive, lambda n: n == name, max_member_bytes=MAX_MEMBER_BYTES)
    return _MemberStream(members)


class _MemberStream:
    """Context manager over the one member a :func:`stream_members` call selects."""

    def __init__(self, members: object) -> None:
        self._members = members

    def __enter__(self) -> CheckedStream:
        member = next(self._members)  # type: ignore[call-overload]
        return member.stream

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            # Finishing the iteration reads the member to its end: its CRC-32 is checked.
            for _ in self._members:  # type: ignore[attr-defined]
                pass
        self._members.close()  # type: ignore[attr-defined]


def _refuse_duplicate_clusters(root: Path, files: list[HeliosFile]) -> None:
    for kind in ("log", "capacity"):
        seen: dict[str, list[str]] = {}
        for f in files:
            if f.kind == kind:
                seen.setdefault(f.cluster, []).append(f.label)
        refuse_duplicates(root, seen, "cluster")


# ---- cluster_log.csv ----------------------------------------------------------------------------
def _first_line(data: bytes) -> str:
    cut = data.find(b"\n")  # not split(): that would copy the rest of a 64 MB block
    return data[: len(data) if cut < 0 else cut].decode("utf-8", errors="replace").rstrip("\r")


def _check_log_header(data: bytes, name: str) -> int:
    """Check the header line; return the number of bytes it takes (with its line end)."""
    header = _first_line(data)
    if tuple(header.split(",")) != LOG_HEADER:
        raise TraceFormatError(
            name, 1, f"unexpected header {header!r}; expected {','.join(LOG_HEADER)!r}"
        )
    cut = data.find(b"\n")
    return len(data) if cut < 0 else cut + 1


def read_log(
    stream: CheckedStream | io.BufferedIOBase,
    name: str,
    quality: QualityCounter | None = None,
    block_bytes: int | None = None,
) -> pl.DataFrame:
    """Parse one ``cluster_log.csv`` stream block by block (bounded memory); see
    :func:`parse_log` for the checks. ``block_bytes`` defaults to :data:`BLOCK_BYTES`.

    Raises
    ------
    TraceFormatError
        Missing or wrong header, wrong field count, non-numeric counts, unparseable times.
    """
    quality = quality or QualityCounter()
    frames = []
    header_done = False
    for block, first, n_lines in iter_line_blocks(stream, block_bytes or BLOCK_BYTES):
        if not header_done:
            skip = _check_log_header(block, name)
            block, first, n_lines = block[skip:], first + 1, n_lines - 1
            header_done = True
            if not block:
                continue
        frames.append(_parse_rows(block, first, n_lines, name, quality))
    if not header_done:
        raise TraceFormatError(name, 1, f"empty file; expected the header {','.join(LOG_HEADER)}")
    if not frames:
        return _parse_rows(b"", 2, 0, name, quality)
    # No rechunk: a contiguous copy of every column would double the peak memory.
    return pl.concat(frames, rechunk=False) if len(frames) > 1 else frames[0]


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
        Wrong header, wrong field count (short rows are never padded with nulls), non-numeric
        counts, unparseable times. Blank lines (such as a trailing empty line) are skipped and
        counted as ``helios.blank_line``.
    """
    return read_log(io.BytesIO(data), name, quality, block_bytes=max(len(data), 1))


_TYPED_SCHEMA = {c: (pl.Int64 if c in INT_COLUMNS else pl.String) for c in LOG_HEADER}
_TEXT_SCHEMA = {c: pl.String for c in LOG_HEADER}


def _read_rows(block: bytes, typed: bool) -> pl.DataFrame:
    return pl.read_csv(
        block,
        has_header=False,
        schema=_TYPED_SCHEMA if typed else _TEXT_SCHEMA,
        quote_char=None,
    )


def _parse_rows(
    block: bytes, first_line: int, n_lines: int, name: str, quality: QualityCounter
) -> pl.DataFrame:
    """Parse header-less log rows starting at file line ``first_line``."""
    block, lines = clean_block(block, first_line, n_lines, len(LOG_HEADER), name, quality, TRACE)
    if not block:
        raw = pl.DataFrame(schema=_TEXT_SCHEMA)
        text_ints = True
    else:
        # Fast path: integers typed by the CSV reader. Only when that fails do we re-read
        # everything as text to find and name the offending line (or count it, lenient mode).
        try:
            raw = _read_rows(block, typed=True)
            text_ints = False
        except pl.exceptions.ComputeError:
            if lines is None:  # an extra field offset by a missing one: find the line
                block, lines = clean_block_exact(
                    block, first_line, len(LOG_HEADER), name, quality, TRACE
                )
            try:
                raw = _read_rows(block, typed=False)
            except pl.exceptions.ComputeError as exc:
                bad_text = utf8_error(block, first_line, lines)
                if bad_text is not None:
                    raise TraceFormatError(name, *bad_text) from exc
                msg = str(exc).splitlines()[0]
                raise TraceFormatError(name, first_line, f"malformed CSV rows: {msg}") from exc
            text_ints = True

    def line_of(mask: pl.Series) -> int:
        row = int(raw.with_row_index("_i").filter(mask)["_i"][0])
        return int(lines[row]) if lines is not None else first_line + row

    bad = pl.Series([False] * raw.height, dtype=pl.Boolean)
    out = {}
    for col in INT_COLUMNS:
        if not text_ints:
            out[col] = raw[col]
            continue
        parsed = raw[col].str.strip_chars().cast(pl.Int64, strict=False)
        wrong = parsed.is_null() & raw[col].is_not_null() & (raw[col].str.strip_chars() != "")
        if wrong.any():
            line = line_of(wrong)
            value = raw.filter(wrong)[col][0]
            if not quality.lenient:
                raise TraceFormatError(name, line, f"{col} is not an integer: {value!r}")
            quality.add("helios.unparseable_row", int(wrong.sum()), f"line {line}: {col}={value!r}")
            bad = bad | wrong
        out[col] = parsed
    for col in TIME_COLUMNS:
        text = raw[col]
        # cache=False: second-resolution times are nearly all distinct, so a cache only costs.
        parsed = text.str.to_datetime(TIME_FORMAT, time_unit="us", strict=False, cache=False)
        wrong = parsed.is_null() & text.is_not_null() & (text != "") & (text != "None")
        if col == "submit_time":
            wrong = wrong | text.is_null() | (text == "")
        if wrong.any():
            line = line_of(wrong)
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


# ---- cluster_gpu_number.csv ---------------------------------------------------------------------
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

    Raises
    ------
    TraceFormatError
        Wrong or duplicated header columns, wrong field count, a bad date or GPU count.
    """
    if not isinstance(data, bytes):
        name = name or str(data)
        with open_stream(Path(data)) as fh:
            data = fh.read()
            fh.verify()
    name = name or "<bytes>"
    quality = quality or QualityCounter()
    header = _first_line(data).split(",")
    if len(header) < 3 or header[0] != CAPACITY_HEADER_FIRST or header[-1] != CAPACITY_HEADER_LAST:
        raise TraceFormatError(
            name, 1, f"unexpected header {','.join(header)!r}; expected 'date,<vc>...,total'"
        )
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise TraceFormatError(name, 1, f"duplicated column(s) in the header: {', '.join(dupes)}")
    cut = data.find(b"\n")
    body = b"" if cut < 0 else data[cut + 1 :]
    if body and not body.endswith(b"\n"):
        body += b"\n"
    body, lines = clean_block(
        body, 2, body.count(b"\n"), len(header), name, QualityCounter(), TRACE
    )
    raw = (
        pl.read_csv(body, has_header=False, quote_char=None,
                    schema={c: pl.String for c in header})
        if body
        else pl.DataFrame(schema={c: pl.String for c in header})
    )  # fmt: skip

    def line_of(row: int) -> int:
        return int(lines[row]) if lines is not None else row + 2

    dates = raw["date"].str.to_date("%Y-%m-%d", strict=False)
    if dates.is_null().any():
        row = int(dates.is_null().arg_max())  # type: ignore[arg-type]
        raise TraceFormatError(
            name, line_of(row), f"date is not YYYY-MM-DD: {raw['date'][row]!r}"
        )
    vcs = header[1:-1]
    values = {}
    for col in (*vcs, "total"):
        parsed = raw[col].str.strip_chars().cast(pl.Int64, strict=False)
        if parsed.is_null().any():
            row = int(parsed.is_null().arg_max())  # type: ignore[arg-type]
            raise TraceFormatError(
                name, line_of(row), f"GPU count of {col} is not an integer: {raw[col][row]!r}"
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


__all__ = [
    "BLOCK_BYTES",
    "MAX_MEMBER_BYTES",
    "HeliosFile",
    "locate",
    "parse_log",
    "read_capacity",
    "read_log",
]
