"""Line-level helpers shared by the utilization CSV readers (chunking, times, errors)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import check_line_length
from tracekit.sources.philly.formats import (
    TIME_FORMAT,
    TIME_LEN,
    UTIL_TIME_LEN,
    UTIL_TIME_SUFFIXES,
)


def _iter_byte_chunks(fh: IO[bytes], chunk_bytes: int) -> Iterator[tuple[int, bytes]]:
    """Yield ``(first_line_number, data)``: runs of whole lines, without the last line end.

    Line numbers are 1-based and count every physical line, so errors can name the exact line.
    """
    leftover = b""
    line_no = 1
    while True:
        block = fh.read(chunk_bytes)
        data = leftover + block if leftover else block
        if not block:
            if data:
                yield line_no, data
            return
        cut = data.rfind(b"\n")
        if cut < 0:
            leftover = data
            check_line_length(len(leftover), getattr(fh, "label", "<stream>"), line_no)
            continue
        leftover = data[cut + 1 :]
        chunk = data[:cut]
        yield line_no, chunk
        line_no += chunk.count(b"\n") + 1


def _iter_line_chunks(
    fh: IO[bytes], path: str, chunk_bytes: int
) -> Iterator[tuple[int, pl.Series]]:
    """Yield ``(first_line_number, lines)`` chunks of a text file, split at line ends."""
    for line_no, data in _iter_byte_chunks(fh, chunk_bytes):
        yield line_no, _decode_lines(data, path, line_no)


def _decode_lines(data: bytes, path: str, line_no: int) -> pl.Series:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = line_no + data[: exc.start].count(b"\n")
        raise TraceFormatError(path, line, f"not UTF-8 text: {exc.reason}") from exc
    # Vectorized split (no Python loop over lines); tolerate CRLF line ends.
    return pl.Series("line", [text]).str.split("\n").explode().str.strip_chars_end("\r")


def _util_time(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Naive local time and UTC offset (hours) of a util time string; null when malformed."""
    naive = raw.str.slice(0, TIME_LEN).str.strptime(pl.Datetime("us"), TIME_FORMAT, strict=False)
    suffix = raw.str.slice(TIME_LEN)
    offset = pl.lit(None, pl.Int64)
    for sfx, hours in UTIL_TIME_SUFFIXES.items():
        offset = pl.when(suffix == sfx).then(pl.lit(-hours, pl.Int64)).otherwise(offset)
    ok = naive.is_not_null() & offset.is_not_null() & (raw.str.len_chars() == UTIL_TIME_LEN)
    return pl.when(ok).then(naive), pl.when(ok).then(offset)


def _check_header(line: str, expected: tuple[str, ...], path: str, qc: QualityCounter,
                  rule: str) -> None:
    fields = [f.strip() for f in line.rstrip(",").split(",")]
    if fields != list(expected):
        problem = f"unexpected header {line[:120]!r}; expected {','.join(expected)!r}"
        if not qc.lenient:
            raise TraceFormatError(path, 1, problem)
        qc.add(rule, example=problem)
    else:
        qc.add(rule, 0)


def _reject(bad: pl.DataFrame, path: str, qc: QualityCounter, rule: str, what: str) -> None:
    """Raise for the first bad row (strict) or count all of them (lenient)."""
    if bad.height == 0:
        qc.add(rule, 0)
        return
    line, text = int(bad["lineno"][0]), str(bad["line"][0])[:120]
    if not qc.lenient:
        raise TraceFormatError(path, line, f"{what}: {text!r}")
    qc.add(rule, bad.height, example=f"line {line}: {text}")


def _frame(first: int, lines: pl.Series, skip_header: bool) -> pl.DataFrame:
    df = pl.DataFrame({"line": lines}).with_row_index("lineno", offset=first)
    if skip_header:
        df = df.slice(1)
    return df
