"""Helpers shared by the readers: locating files, line blocks, field counts, empty inputs.

Every reader has the same shape (``formats.py``, ``read.py``, ``ingest.py`` and, where the trace
has one, ``official.py``) and the same keyword arguments; what they share lives here, in
:mod:`tracekit.sources._archive` (opening files and archives) and in
:mod:`tracekit.sources._validate` (the store contract's value checks).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter

# The sample generator writes this file at the root of each trace's raw folder. Readers copy it
# into the manifest so everything downstream can say the data is synthetic.
SYNTHETIC_MARKER = "SYNTHETIC.json"

ProgressFn = Callable[[str, "int | None", "int | None"], None]
"""The one progress protocol of every reader: ``on_progress(stage, done, total)``.

``stage`` names the file or step; ``done`` and ``total`` are bytes (or rows) when known, else
None. The CLI turns it into a progress line; the Python API accepts any such callable.
"""

EMPTY_HINT = "pass --allow-empty (allow_empty=True) to store an empty table on purpose"

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


def require_rows(rows: int, label: str | Path, allow_empty: bool, what: str = "data rows") -> None:
    """Refuse an input with no rows: an empty file must not replace good data silently.

    Raises
    ------
    TraceFormatError
        Unless ``allow_empty``.
    """
    if rows == 0 and not allow_empty:
        raise TraceFormatError(label, None, f"no {what}; {EMPTY_HINT}")


__all__ = [
    "EMPTY_HINT",
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
