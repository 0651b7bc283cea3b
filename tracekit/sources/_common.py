"""Helpers shared by the readers: locating files, line blocks, field counts, header-first CSV
files read as text, typed columns with line numbers, unique job ids, the ``jobs`` table's
columns, empty inputs.

Every reader has the same shape (``formats.py``, ``read.py``, ``ingest.py`` and, where the trace
has one, ``official.py``) and the same keyword arguments; what they share lives here, in
:mod:`tracekit.sources._archive` (opening files and archives) and in
:mod:`tracekit.sources._validate` (the store contract's value checks).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.schema import JOBS
from tracekit.sources._archive import open_stream

# The sample generator writes this file at the root of each trace's raw folder. Readers copy it
# into the manifest so everything downstream can say the data is synthetic.
SYNTHETIC_MARKER = "SYNTHETIC.json"

ProgressFn = Callable[[str, "int | None", "int | None"], None]
"""The one progress protocol of every reader: ``on_progress(stage, done, total)``.

``stage`` names the file or step; ``done`` and ``total`` are bytes (or rows) when known, else
None. The CLI turns it into a progress line; the Python API accepts any such callable.
"""

EMPTY_HINT = "pass --allow-empty (allow_empty=True) to store an empty table on purpose"

#: Trace and cluster names a user chooses become directory names in the store.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

# No line of any supported text format comes near this: a longer "line" is a decompression bomb
# or binary junk, refused instead of being accumulated in memory.
MAX_LINE_BYTES = 16 << 20
_NEWLINE = 10  # b"\n"
_COMMA = 44  # b","
_COUNT_STEP = 1 << 18  # bytes compared per numpy call: the scratch mask stays in cache


def no_progress(stage: str, done: int | None = None, total: int | None = None) -> None:
    """A progress callback that does nothing."""


def read_synthetic_marker(raw_path: Path) -> dict[str, Any] | None:
    """Return the sample generator's marker for ``raw_path`` (a folder or archive), if any.

    Looks in the folder itself and up to two parents (readers may be pointed at a sub-folder
    such as ``trace-data/``).
    """
    start = raw_path if raw_path.is_dir() else raw_path.parent
    for folder in (start, *list(start.parents)[:2]):
        marker = folder / SYNTHETIC_MARKER
        if marker.is_file():
            try:
                with open(marker) as fh:
                    data = json.load(fh)
            except (OSError, ValueError) as exc:
                raise TraceFormatError(marker, None, f"unreadable sample marker ({exc})") from exc
            return data if isinstance(data, dict) else None
    return None


def find_by_basename(root: Path, names: tuple[str, ...] | list[str]) -> dict[str, Path]:
    """Find files by base name anywhere below ``root`` (first match in sorted order wins)."""
    wanted = set(names)
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name in wanted and path.name not in found:
            found[path.name] = path
    return found


def refuse_duplicates(root: Path | str, keys: dict[str, list[str]], what: str) -> None:
    """Raise if one logical input (a cluster, a table) was found at two places.

    Parameters
    ----------
    root : Path or str
        The folder or archive searched (named in the error).
    keys : dict
        Logical name -> the paths where it was found.
    what : str
        What the logical name is ("cluster", "file"), for the message.

    Raises
    ------
    TraceFormatError
        Naming both paths, e.g. a copy of ``data/Venus`` under ``backup/``.
    """
    for key, paths in sorted(keys.items()):
        if len(paths) > 1:
            listed = " and ".join(repr(p) for p in sorted(paths)[:2])
            raise TraceFormatError(
                root,
                None,
                f"{what} {key!r} found twice: {listed}; keep one copy (or point at one folder)",
            )


def count_byte(block: bytes, byte: int) -> int:
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


def iter_line_blocks(fh: Any, block_bytes: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(block, first_line, n_lines)``: runs of whole lines (each ending in ``\\n``).

    ``first_line`` is the 1-based number of the block's first line and ``n_lines`` its line
    count, so a parser can name the exact line of a problem. A last line without a line end
    gets one.
    """
    carry = b""
    line = 1
    while data := fh.read(block_bytes):
        cut = data.rfind(b"\n")
        if cut < 0:
            carry += data  # a line longer than a block: keep reading (up to a bound)
            check_line_length(len(carry), getattr(fh, "label", "<stream>"), line)
            continue
        # One copy at most per block (joining through a memoryview), none when the read ends on
        # a line end and nothing is carried: copying 32 MB blocks was a visible cost.
        if carry:
            block = b"".join((carry, memoryview(data)[: cut + 1]))
        else:
            block = data if cut == len(data) - 1 else data[: cut + 1]
        carry = data[cut + 1 :]
        n_lines = count_byte(block, _NEWLINE)
        yield block, line, n_lines
        line += n_lines
    if carry:
        yield carry + b"\n", line, 1  # last line without a terminating newline


def clean_block(
    block: bytes,
    first_line: int,
    n_lines: int,
    ncols: int,
    label: str,
    quality: QualityCounter,
    trace: str,
) -> tuple[bytes, np.ndarray | None]:
    """Check that every line of a headerless CSV block has ``ncols`` fields; drop blank lines.

    A short or long row is an error naming the line (or, when ``quality.lenient``, a dropped
    row counted as ``<trace>.unparseable_row``); a blank line (such as a trailing empty line)
    is dropped and counted as ``<trace>.blank_line``. CSV parsers would otherwise pad a short
    row with nulls, or read a blank line as a row of nulls, and store them as data.

    Returns
    -------
    block : bytes
        The block, with only well-formed lines (unchanged when all were).
    lines : numpy array or None
        The original line number of each kept line, when lines were dropped.
    """
    if count_byte(block, _COMMA) == n_lines * (ncols - 1):
        # Right comma total: every line is right, unless an extra field on one line offsets a
        # missing one (or a blank line) on another; the CSV parser then rejects the extra field
        # and callers re-check with :func:`clean_block_exact`.
        return block, None
    return clean_block_exact(block, first_line, ncols, label, quality, trace)


def clean_block_exact(
    block: bytes,
    first_line: int,
    ncols: int,
    label: str,
    quality: QualityCounter,
    trace: str,
) -> tuple[bytes, np.ndarray | None]:
    """:func:`clean_block` without its fast path: every line's field count is checked."""
    arr = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(arr == _NEWLINE)
    commas = np.flatnonzero(arr == _COMMA)
    fields = np.diff(np.searchsorted(commas, ends), prepend=0) + 1
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    width = ends - starts
    blank = (width == 0) | ((width == 1) & (arr[np.maximum(ends - 1, 0)] == 13))
    bad = (fields != ncols) & ~blank
    if not (blank.any() or bad.any()):
        return block, None
    if bad.any() and not quality.lenient:
        i = int(np.flatnonzero(bad)[0])
        found = int(fields[i])
        raise TraceFormatError(
            label, first_line + i, f"expected {ncols} comma-separated fields, found {found}"
        )
    quality.add(f"{trace}.blank_line", int(blank.sum()))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        quality.add(
            f"{trace}.unparseable_row",
            int(bad.sum()),
            example=f"{label}:{first_line + i}: wrong number of fields",
        )
    keep = ~(blank | bad)
    kept = b"".join(block[s : e + 1] for s, e in zip(starts[keep], ends[keep], strict=True))
    return kept, first_line + np.flatnonzero(keep)


def utf8_error(
    block: bytes, first_line: int, lines: np.ndarray | None = None
) -> tuple[int, str] | None:
    """``(line, problem)`` for the first line of a block that is not UTF-8 text, or None.

    ``lines`` maps the block's line index to the file's line number when lines were dropped.
    """
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as exc:
        index = block.count(b"\n", 0, exc.start)
        line = int(lines[index]) if lines is not None else first_line + index
        return line, f"not UTF-8 text ({exc.reason})"
    return None


def check_line_length(n_bytes: int, label: str, line: int) -> None:
    """Refuse a line longer than :data:`MAX_LINE_BYTES` (raise :class:`TraceFormatError`)."""
    if n_bytes > MAX_LINE_BYTES:
        problem = f"a line longer than {MAX_LINE_BYTES:,} bytes: not a text file of this trace"
        raise TraceFormatError(label, line, problem)


def read_capped(fh: Any, limit: int, label: str, what: str) -> bytes:
    """Read a whole (small) file, refusing one that expands beyond ``limit`` bytes.

    Raises
    ------
    TraceFormatError
        When more than ``limit`` bytes arrive (a decompression bomb or the wrong file).
    """
    data = fh.read(limit + 1)
    if len(data) > limit:
        raise TraceFormatError(label, None, f"larger than {limit:,} bytes: not a {what}")
    return data


def read_file(path: str | Path, limit: int, what: str) -> bytes:
    """Read one whole (small) raw file through :func:`~tracekit.sources._archive.open_stream`:
    a Git LFS pointer is recognised, gzip content is decompressed with its checksum verified,
    and a file expanding beyond ``limit`` bytes is refused.

    Parameters
    ----------
    path : str or Path
        The file (also its name in errors).
    limit : int
        Largest accepted (decompressed) size in bytes.
    what : str
        What the file should be ("an openb pod list"), for the size error.

    Raises
    ------
    TraceFormatError
        LFS pointer, corrupt compressed data, or a file beyond ``limit``.
    """
    with open_stream(path) as fh:
        data = read_capped(fh, limit, str(path), what)
        fh.verify()
    return data


def require_rows(rows: int, label: str | Path, allow_empty: bool, what: str = "data rows") -> None:
    """Refuse an input with no rows: an empty file must not replace good data silently.

    Raises
    ------
    TraceFormatError
        Unless ``allow_empty``.
    """
    if rows == 0 and not allow_empty:
        raise TraceFormatError(label, None, f"no {what}; {EMPTY_HINT}")


# ---- header-first CSV files read as text (openb, Acme) ----------------------------------------
def read_text_csv(
    data: bytes,
    name: str,
    headers: tuple[tuple[str, ...], ...],
    quality: QualityCounter,
    trace: str,
) -> pl.DataFrame:
    """Read a header-first, unquoted CSV file as text columns, checking every row's width.

    Parameters
    ----------
    data : bytes
        File contents.
    name : str
        File name used in error messages.
    headers : tuple of tuple of str
        The accepted headers (the first is named in the error message).
    quality : QualityCounter
        Blank lines are dropped and counted as ``<trace>.blank_line``; in lenient mode rows of
        the wrong width are dropped and counted as ``<trace>.unparseable_row``.
    trace : str
        Rule-name prefix.

    Returns
    -------
    polars.DataFrame
        The header's columns as text, plus ``_line`` (each row's 1-based file line).

    Raises
    ------
    TraceFormatError
        Unexpected header, a row with more or fewer fields than the header, or text that is
        not UTF-8 (the line named).
    """
    cut = data.find(b"\n")
    header = tuple((data if cut < 0 else data[:cut]).decode("utf-8", "replace").rstrip("\r")
                   .split(","))  # fmt: skip
    if header not in headers:
        raise TraceFormatError(
            name, 1, f"unexpected header {','.join(header)!r}; expected {','.join(headers[0])!r}"
        )
    body = b"" if cut < 0 else data[cut + 1 :]
    if body and not body.endswith(b"\n"):
        body += b"\n"
    body, lines = clean_block(
        body, 2, count_byte(body, _NEWLINE), len(header), name, quality, trace
    )
    schema = {c: pl.String for c in header}
    n_rows = count_byte(body, _NEWLINE)
    try:
        frame = (
            pl.read_csv(body, has_header=False, schema=schema, quote_char=None)
            if body
            else pl.DataFrame(schema=schema)
        )
    except pl.exceptions.ComputeError as exc:
        bad = utf8_error(body, 2, lines)
        if bad is not None:
            raise TraceFormatError(name, *bad) from exc
        problem = f"malformed CSV rows: {str(exc).splitlines()[0]}"
        raise TraceFormatError(name, None, problem) from exc
    if frame.height != n_rows:  # a stray carriage return splits a line: never guess
        raise TraceFormatError(name, None, f"{n_rows} lines but {frame.height} CSV rows")
    numbers = lines if lines is not None else np.arange(2, 2 + n_rows)
    return frame.with_columns(pl.Series("_line", numbers, dtype=pl.Int64))


def non_negative_int(text: pl.Series) -> pl.Series:
    """Parse integers; anything else, and negative values, become null."""
    parsed = text.cast(pl.Int64, strict=False)
    return pl.select(pl.when(parsed >= 0).then(parsed)).to_series().alias(text.name)


def typed_columns(
    raw: pl.DataFrame,
    columns: tuple[str, ...],
    name: str,
    quality: QualityCounter,
    *,
    rule: str,
    parse: Callable[[pl.Series], pl.Series] = non_negative_int,
    what: str = "a non-negative integer",
    nullable: tuple[str, ...] = (),
) -> tuple[dict[str, pl.Series], pl.Series]:
    """Parse text columns of :func:`read_text_csv` with ``parse`` (null = unparseable).

    An empty field is an error unless the column is in ``nullable``. The first bad field raises
    :class:`TraceFormatError` with its line; in lenient mode every bad row is counted as
    ``rule`` and flagged in the returned mask.

    Returns
    -------
    columns : dict
        Column name -> parsed series.
    bad : polars.Series
        True for the rows skipped in lenient mode.
    """
    bad = pl.Series([False] * raw.height, dtype=pl.Boolean)
    out: dict[str, pl.Series] = {}
    for col in columns:
        text = raw[col].str.strip_chars()
        parsed = parse(text)
        empty = text.is_null() | (text == "")
        wrong = parsed.is_null() & ~empty
        if col not in nullable:
            wrong = wrong | empty
        if wrong.any():
            first = int(wrong.arg_true()[0])
            line = int(raw["_line"][first])
            problem = f"{col} is not {what}: {raw[col][first]!r}"
            if not quality.lenient:
                raise TraceFormatError(name, line, problem)
            quality.add(rule, int(wrong.sum()), f"{name}, line {line}: {problem}")
            bad = bad | wrong
        out[col] = parsed
    return out, bad


def reject_rows(
    frame: pl.DataFrame,
    expr: pl.Expr,
    name: str,
    problem: str,
    quality: QualityCounter,
    rule: str,
) -> pl.DataFrame:
    """Raise on the first row where ``expr`` is true, or in lenient mode count such rows as
    ``rule`` and drop them. ``frame`` carries ``_line`` (each row's file line)."""
    wrong = frame.select(expr.fill_null(False)).to_series()
    if not wrong.any():
        return frame
    line = int(frame.filter(wrong)["_line"][0])
    if not quality.lenient:
        raise TraceFormatError(name, line, problem)
    quality.add(rule, int(wrong.sum()), f"{name}, line {line}: {problem}")
    return frame.filter(~wrong)


# ---- job ids and the jobs table -----------------------------------------------------------------
def unique_job_ids(
    frame: pl.DataFrame,
    trace: str,
    quality: QualityCounter,
    *,
    strict: bool = False,
    label: str | Path | None = None,
) -> pl.DataFrame:
    """Make ``job_id`` unique, keeping every job: exact duplicate rows are dropped (columns
    starting with ``_``, such as ``_line``, are ignored), and a repeated id with other content is
    kept with ``#1``, ``#2``, ... appended on its later rows. Counted as
    ``<trace>.duplicate_row_dropped`` and ``<trace>.duplicate_job_id_renamed``.

    Raises
    ------
    TraceFormatError
        With ``strict``, on the first repeated id (naming ``label``).
    """
    exact = conflicts = 0
    # Only needed when some id repeats (checked cheaply first).
    if frame["job_id"].is_duplicated().any():
        if strict:
            job = frame.filter(frame["job_id"].is_duplicated())["job_id"][0]
            raise TraceFormatError(label or trace, None, f"job id {job!r} appears more than "
                                   "once; without --strict repeats are dropped or renamed and "
                                   "counted")  # fmt: skip
        before = frame.height
        columns = [c for c in frame.columns if not c.startswith("_")]
        frame = frame.unique(subset=columns, keep="first", maintain_order=True)
        exact = before - frame.height
        occurrence = pl.int_range(pl.len()).over("job_id")
        conflicts = frame.select((occurrence > 0).sum()).item()
        frame = frame.with_columns(
            pl.when(occurrence > 0)
            .then(pl.col("job_id") + pl.lit("#") + occurrence.cast(pl.String))
            .otherwise(pl.col("job_id"))
            .alias("job_id")
        )
    quality.add(f"{trace}.duplicate_row_dropped", exact)
    quality.add(f"{trace}.duplicate_job_id_renamed", conflicts)
    return frame


@functools.cache
def jobs_dtypes() -> dict[str, pl.DataType]:
    """Column -> polars type of the store's ``jobs`` table.

    Built on first use, not at import: the first Arrow array a process builds imports pandas
    (about a second), which every ``tracekit`` command would otherwise pay at start-up.
    """
    return dict(pl.from_arrow(JOBS.empty_table()).schema)  # type: ignore[union-attr]


def jobs_frame(frame: pl.DataFrame, **columns: pl.Expr) -> pl.DataFrame:
    """The store's ``jobs`` table from ``frame``: the given column expressions, every other
    column of the table null, all in the table's order and types.

    Examples
    --------
    >>> jobs_frame(raw, job_id=pl.col("name"), status=pl.lit("completed"))  # doctest: +SKIP
    """
    dtypes = jobs_dtypes()
    unknown = sorted(set(columns) - set(dtypes))
    if unknown:
        raise KeyError(f"not columns of the jobs table: {', '.join(unknown)}")
    return frame.select(
        (columns[c].cast(t) if c in columns else pl.lit(None, t)).alias(c)
        for c, t in dtypes.items()
    )


__all__ = [
    "EMPTY_HINT",
    "NAME_PATTERN",
    "jobs_dtypes",
    "jobs_frame",
    "non_negative_int",
    "read_file",
    "read_text_csv",
    "reject_rows",
    "typed_columns",
    "unique_job_ids",
    "SYNTHETIC_MARKER",
    "ProgressFn",
    "clean_block",
    "MAX_LINE_BYTES",
    "check_line_length",
    "clean_block_exact",
    "read_capped",
    "count_byte",
    "find_by_basename",
    "iter_line_blocks",
    "no_progress",
    "read_synthetic_marker",
    "refuse_duplicates",
    "require_rows",
    "utf8_error",
]
