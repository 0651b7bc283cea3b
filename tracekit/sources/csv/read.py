"""Raw job table -> typed job fields, as a column mapping says (one polars pass per field).

Every cell a mapping names is parsed and checked. A bad cell raises
:class:`~tracekit.errors.TraceFormatError` naming the file, its line and the column (or, in
lenient mode, its row is dropped and counted as ``<trace>.unparseable_row``); every dropped or
repaired row is counted under ``<trace>.<rule>``. The result has one row per kept line, in file
order, with the fields of :data:`~tracekit.sources.csv.formats.FIELDS` (times in UTC).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import read_file
from tracekit.sources.csv.formats import FIELD_KINDS, FIELDS, OFFSET_DIRECTIVES, UNIX_FORMATS
from tracekit.sources.csv.mapping import FieldSpec, Mapping
from tracekit.timeutil import localize_naive

ROW = "_row"  # 0-based data-row index, kept until errors can no longer occur
UTC = pl.Datetime("us", "UTC")
#: Numeric fields that cannot be negative.
NON_NEGATIVE: tuple[str, ...] = ("num_gpus", "num_cpus", "mem_gb", "num_nodes")
# Job tables are read whole (polars parses them in one go): far above any cluster's job log.
MAX_TABLE_BYTES = 8 << 30


@dataclass(frozen=True)
class RawTable:
    """A job table's bytes (read through the safe archive layer) and its path (for errors)."""

    path: Path
    data: bytes

    @classmethod
    def read(cls, path: str | Path) -> RawTable:
        """Read ``path``: an LFS pointer is refused, gzip content decompressed and checked."""
        return cls(Path(path), read_file(path, MAX_TABLE_BYTES, "a job table"))


def read_columns(table: RawTable, mapping: Mapping) -> list[str]:
    """The column names of the table (its header, or the mapping's ``names``)."""
    if not mapping.header:
        assert mapping.names is not None
        return list(mapping.names)
    try:
        head = pl.read_csv(
            table.data, separator=mapping.delimiter, quote_char=mapping.quote,
            comment_prefix=mapping.comment, infer_schema=False, n_rows=0,
        )  # fmt: skip
    except pl.exceptions.NoDataError:
        raise TraceFormatError(table.path, 1, "empty file: no header line") from None
    except pl.exceptions.ComputeError as exc:
        raise _read_error(table, mapping, exc) from exc
    return head.columns


def check_columns(table: RawTable, mapping: Mapping, columns: list[str]) -> None:
    """Every column the mapping names must exist; otherwise name the mapping line to fix."""
    have = set(columns)
    # Column names as text on one line (a stray quote can make a whole file one "name").
    names = [c if c.isprintable() and len(c) <= 60 else repr(c[:60]) for c in columns[:40]]
    shown = ", ".join(names) + (" ..." if len(columns) > 40 else "")
    for spec in mapping.fields.values():
        if spec.column is not None and spec.column not in have:
            raise mapping.error(
                "columns", spec.name,
                f"column {spec.column!r} is not in {table.path.name} (its columns: {shown})",
            )  # fmt: skip
    for i, rule in enumerate(mapping.drops):
        if rule.column not in have:
            raise mapping.error(
                f"drop#{i}", "column",
                f"column {rule.column!r} is not in {table.path.name} (its columns: {shown})",
            )  # fmt: skip


def read_raw(table: RawTable, mapping: Mapping) -> pl.DataFrame:
    """The mapped columns as text, with a ``_row`` index; null markers already null."""
    columns = read_columns(table, mapping)
    check_columns(table, mapping, columns)
    try:
        raw = pl.read_csv(
            table.data, separator=mapping.delimiter, quote_char=mapping.quote,
            comment_prefix=mapping.comment, has_header=mapping.header,
            new_columns=None if mapping.header else list(columns), infer_schema=False,
            raise_if_empty=False,
        )  # fmt: skip
        # Every column is read (not only the mapped ones): polars checks field counts only then.
    except pl.exceptions.ComputeError as exc:
        raise _read_error(table, mapping, exc) from exc
    nulls = list(mapping.nulls)
    return raw.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW),
        *[
            pl.when(pl.col(c).str.strip_chars().is_in(nulls))
            .then(None)
            .otherwise(pl.col(c).str.strip_chars())
            .alias(c)
            for c in mapping.columns
        ],
    )


def read_table(path: str | Path, mapping: Mapping, quality: QualityCounter) -> pl.DataFrame:
    """Read a job table as ``mapping`` says: every mapped field typed, times in UTC.

    Parameters
    ----------
    path : str or Path
        The table (delimited text; gzip-compressed content is read too).
    mapping : Mapping
        From :func:`~tracekit.sources.csv.mapping.read_mapping`.
    quality : QualityCounter
        Receives the ``<trace>.*`` counts; in lenient mode bad rows are counted and dropped.

    Returns
    -------
    polars.DataFrame
        ``_row`` plus every field of :data:`~tracekit.sources.csv.formats.FIELDS` (unmapped
        ones null) and ``raw_status``.
    """
    table = RawTable.read(path)
    prefix = mapping.trace
    raw = read_raw(table, mapping)
    blank = pl.all_horizontal(pl.col(c).is_null() for c in mapping.columns)
    quality.add(f"{prefix}.blank_line", raw.select(blank.sum()).item())
    raw = raw.filter(~blank)
    for rule in mapping.drops:
        hit = pl.col(rule.column).str.contains(rule.pattern).fill_null(False)
        quality.add(f"{prefix}.{rule.reason}", raw.select(hit.sum()).item())
        raw = raw.filter(~hit)
    parsed = {}
    bad = pl.Series("bad", [False] * raw.height, dtype=pl.Boolean)
    for name in FIELDS:
        spec = mapping.fields.get(name)
        if spec is None:
            continue
        text = _text(spec)
        values = _parse(spec, text, mapping)
        wrong, problem = _wrong(spec, text, values, mapping)
        mask = raw.select(wrong.fill_null(False)).to_series()
        if mask.any():
            first = int(mask.arg_true()[0])
            row = int(raw[ROW][first])
            shown = raw.select(text.alias("v"))["v"][first]
            where = f"column {spec.column!r}" if spec.column else f"[columns] {name}"
            message = f"{where}: {problem}: {shown!r}" if shown is not None else \
                f"{where}: {problem}"
            if not quality.lenient:
                raise TraceFormatError(table.path, line_of(table, mapping, row), message)
            quality.add(f"{prefix}.unparseable_row", int(mask.sum()),
                        f"line {line_of(table, mapping, row)}: {message}")
            bad = bad | mask
        parsed[name] = values
    frame = raw.select(
        ROW,
        *[v.alias(k) for k, v in parsed.items()],
        _text(mapping.fields["status"]).alias("raw_status"),
    )
    if bad.any():
        frame = frame.filter(~bad)
    frame = _statuses(frame, table, mapping, quality)
    missing = [c for c in FIELDS if c not in frame.columns]
    return frame.with_columns(
        pl.lit(None, dtype=_dtype(c)).alias(c) for c in missing
    ).select(ROW, *FIELDS, "raw_status")


def _dtype(name: str) -> pl.DataType:
    kind = FIELD_KINDS[name]
    return pl.String() if kind == "text" else UTC if kind == "time" else pl.Float64()


def _text(spec: FieldSpec) -> pl.Expr:
    """The cell text of a field after its pattern and default (a constant for ``value``)."""
    if spec.value is not None:
        return pl.lit(str(spec.value), dtype=pl.String)
    text = pl.col(spec.column)
    if spec.pattern is not None:
        group = 1 if "(" in spec.pattern.replace(r"\(", "") else 0
        text = text.str.extract(spec.pattern, group)
    if spec.default is not None:
        text = text.fill_null(pl.lit(str(spec.default)))
    return text


def _parse(spec: FieldSpec, text: pl.Expr, mapping: Mapping) -> pl.Expr:
    if spec.kind == "text":
        return text
    if spec.kind == "number":
        number = text.cast(pl.Float64, strict=False)
        return number * spec.scale if spec.scale != 1.0 else number
    return parse_time(text, spec.time_format or mapping.time_format, mapping.timezone)


def parse_time(text: pl.Expr, fmt: str, timezone: str) -> pl.Expr:
    """Time text -> UTC timestamps: Unix seconds/milliseconds, an offset-carrying pattern, or a
    naive wall clock in ``timezone`` (DST: ambiguous -> earlier instant, non-existent -> null)."""
    if fmt in UNIX_FORMATS:
        number = text.cast(pl.Float64, strict=False)
        return (number * UNIX_FORMATS[fmt]).round(0).cast(pl.Int64, strict=False).cast(UTC)
    if any(d in fmt for d in OFFSET_DIRECTIVES):
        return text.str.to_datetime(fmt, time_unit="us", strict=False, cache=False).dt.\
            convert_time_zone("UTC")
    naive = text.str.to_datetime(fmt, time_unit="us", strict=False, cache=False)
    return localize_naive(naive, timezone)


def _wrong(
    spec: FieldSpec, text: pl.Expr, values: pl.Expr, mapping: Mapping
) -> tuple[pl.Expr, str]:
    """Mask of bad cells of a field and how to describe them."""
    required = spec.name in ("job_id", "submit_time", "num_gpus", "status")
    if spec.kind == "text":
        return (text.is_null(), "empty value") if required else (pl.lit(False), "")
    unparsed = values.is_null() & text.is_not_null()
    if spec.kind == "time":
        fmt = spec.time_format or mapping.time_format
        problem = f"not a time in format {fmt!r} (zone {mapping.timezone})"
        if required:
            return unparsed | text.is_null(), problem
        return unparsed, problem
    if spec.name in NON_NEGATIVE:
        problem = "not a number >= 0"
        bad = unparsed | (values < 0).fill_null(False) | ~values.is_finite().fill_null(True)
    else:
        problem = "not a number"
        bad = unparsed | ~values.is_finite().fill_null(True)
    return (bad | text.is_null(), problem) if required else (bad, problem)


def _statuses(
    frame: pl.DataFrame, table: RawTable, mapping: Mapping, quality: QualityCounter
) -> pl.DataFrame:
    """Map raw status words to the store's vocabulary (unknown: error, or ``other``, counted)."""
    word = pl.col("raw_status")
    if mapping.status_match == "first_word":
        word = word.str.split(" ").list.first()
    status = word.replace_strict(mapping.status_words, default=None, return_dtype=pl.String)
    frame = frame.with_columns(status.alias("status"))
    unknown = frame["status"].is_null()
    n = int(unknown.sum())
    quality.add(f"{mapping.trace}.unknown_status", n)
    if not n:
        return frame
    first = int(unknown.arg_true()[0])
    value = frame["raw_status"][first]
    if mapping.status_other is None:
        spec = mapping.fields["status"]
        where = f"column {spec.column!r}" if spec.column else "[columns] status"
        listed = ", ".join(sorted(mapping.status_words))
        raise TraceFormatError(
            table.path, line_of(table, mapping, int(frame[ROW][first])),
            f"{where}: unknown status word {value!r} (not listed in [status] of "
            f"{mapping.path.name}, line {mapping.line('status')}; listed: {listed}; or set "
            "other = \"...\")",
        )  # fmt: skip
    return frame.with_columns(pl.col("status").fill_null(pl.lit(mapping.status_other)))


# ---- line numbers (only computed when reporting an error) ---------------------------------------
def line_of(table: RawTable, mapping: Mapping, row: int) -> int | None:
    """1-based line of data row ``row`` (0-based, as polars counts rows), or None if not found.

    Re-reads the file with the :mod:`csv` module under the same rules as polars: comment lines
    are skipped, blank lines count as rows, quoted fields may span lines.
    """
    first_data = 2 if mapping.header else 1
    for index, line, _ in _records(table, mapping):
        if index == row + (first_data - 1):
            return line
    return None


def _records(table: RawTable, mapping: Mapping) -> Iterator[tuple[int, int, list[str]]]:
    """(record index incl. the header, first physical line, fields) of every record."""
    numbers: list[int] = []

    def lines() -> Iterator[str]:
        text = io.TextIOWrapper(io.BytesIO(table.data), encoding="utf-8", errors="replace",
                                newline="")
        with text as fh:
            for number, line in enumerate(fh, start=1):
                if mapping.comment and line.startswith(mapping.comment):
                    continue
                numbers.append(number)
                yield line

    quoting = csv.QUOTE_MINIMAL if mapping.quote else csv.QUOTE_NONE
    reader = csv.reader(lines(), delimiter=mapping.delimiter, quotechar=mapping.quote or '"',
                        quoting=quoting)
    consumed = 0
    for index, fields in enumerate(reader):
        yield index, numbers[consumed], fields
        consumed = len(numbers)


def _read_error(table: RawTable, mapping: Mapping, exc: Exception) -> TraceFormatError:
    """Turn a polars read failure into one line naming the first offending line."""
    message = str(exc).splitlines()[0]
    decoder = codecs.getincrementaldecoder("utf-8")()
    for number, line in enumerate(io.BytesIO(table.data), start=1):
        try:
            decoder.decode(line)
        except UnicodeDecodeError as err:
            return TraceFormatError(table.path, number, f"not UTF-8 text ({err.reason})")
    width = None
    for _, line, fields in _records(table, mapping):
        if width is None:
            width = len(mapping.names) if mapping.names else len(fields)
            if mapping.header:
                continue
        if fields and len(fields) > width:
            return TraceFormatError(
                table.path, line, f"{len(fields)} fields, but the header has {width}"
            )
    return TraceFormatError(table.path, None, f"cannot read as delimited text: {message}")


__all__ = ["MAX_TABLE_BYTES", "NON_NEGATIVE", "ROW", "RawTable", "check_columns", "line_of",
           "parse_time", "read_columns", "read_raw", "read_table"]
