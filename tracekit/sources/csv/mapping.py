"""Column mappings: a TOML file that tells the generic reader how to read one job table.

:func:`read_mapping` parses the file with :mod:`tomllib`, checks every key and value, and raises
:class:`~tracekit.errors.TraceFormatError` naming the mapping file, the line and the key when
something is wrong, before any data is read. See ``docs/interop.md`` for the keys.
"""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.sources.csv.formats import (
    DEFAULT_DELIMITER,
    DEFAULT_NULLS,
    DEFAULT_QUOTE,
    FIELD_KINDS,
    NAME_PATTERN,
    ONE_OF,
    REQUIRED_FIELDS,
    REQUIRED_SECTIONS,
    SECTIONS,
    SPEC_KEYS,
    STATUS_MATCH,
    STATUSES,
    UNIX_FORMATS,
    reserved_traces,
)

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')\s*=")
_REASON = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class TomlLines:
    """Where each key of a TOML document is written: ``(table, key) -> line``.

    ``tomllib`` gives no positions, so this scans the text: a table header opens a section
    (``[[drop]]`` tables are numbered ``drop#0``, ``drop#1``, ...) and ``key =`` lines inside it
    are recorded. Good enough to point a user at the line to fix.
    """

    def __init__(self, text: str) -> None:
        self.keys: dict[tuple[str, str], int] = {}
        self.tables: dict[str, int] = {}
        section, counts = "", {}
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                name = header.group(2).strip().strip("\"'")
                if header.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    name = f"{name}#{index}"
                section = name
                self.tables.setdefault(section, number)
                continue
            key = _KEY.match(line)
            if key:
                self.keys.setdefault((section, key.group(1).strip("\"'")), number)

    def line(self, table: str, key: str | None = None) -> int | None:
        """Line of ``key`` in ``table`` (or of the table header; None when not written)."""
        if key is not None and (table, key) in self.keys:
            return self.keys[(table, key)]
        return self.tables.get(table)


@dataclass(frozen=True)
class FieldSpec:
    """How one job field is read.

    Parameters
    ----------
    name : str
        The job field (a key of ``[columns]``).
    column : str or None
        Source column; None when the field is a constant ``value``.
    pattern : str or None
        Regular expression applied to the cell; its first group (or the whole match) is kept.
    default : str, float or None
        Used when the cell is missing or the pattern does not match.
    scale : float
        Numbers are multiplied by it (e.g. ``60`` for minutes, ``1/1024`` for MB -> GB).
    time_format : str or None
        Overrides the mapping's time format for this column.
    value : str, float or None
        A constant for every row (no column read).
    """

    name: str
    column: str | None
    pattern: str | None = None
    default: str | float | None = None
    scale: float = 1.0
    time_format: str | None = None
    value: str | float | None = None

    @property
    def kind(self) -> str:
        """``text``, ``number`` or ``time``."""
        return FIELD_KINDS[self.name]


@dataclass(frozen=True)
class DropRule:
    """Rows whose ``column`` matches ``pattern`` are dropped and counted as ``<trace>.<reason>``."""

    column: str
    pattern: str
    reason: str
    line: int | None = None


@dataclass(frozen=True)
class Mapping:
    """A parsed, checked column mapping (see :func:`read_mapping`)."""

    path: Path
    trace: str
    cluster: str
    timezone: str
    time_format: str
    fields: dict[str, FieldSpec]
    status_words: dict[str, str]
    status_match: str = "exact"
    status_other: str | None = None
    delimiter: str = DEFAULT_DELIMITER
    quote: str | None = DEFAULT_QUOTE
    comment: str | None = None
    header: bool = True
    names: tuple[str, ...] | None = None
    nulls: tuple[str, ...] = DEFAULT_NULLS
    drops: tuple[DropRule, ...] = ()
    capacity_gpus: dict[str | None, float] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)
    lines: TomlLines | None = None

    def line(self, table: str, key: str | None = None) -> int | None:
        """The mapping file's line of ``key`` in ``table`` (for error messages)."""
        return self.lines.line(table, key) if self.lines is not None else None

    def error(self, table: str, key: str | None, problem: str) -> TraceFormatError:
        """A :class:`TraceFormatError` pointing at ``[table] key`` of the mapping file."""
        where = f"[{table.split('#')[0]}] {key}" if key else f"[{table.split('#')[0]}]"
        return TraceFormatError(self.path, self.line(table, key), f"{where}: {problem}")

    @property
    def columns(self) -> list[str]:
        """Source columns the mapping reads (fields first, then drop rules), without repeats."""
        cols = [s.column for s in self.fields.values() if s.column is not None]
        cols += [d.column for d in self.drops]
        return list(dict.fromkeys(cols))


def read_mapping(path: str | Path) -> Mapping:
    """Read and check a column mapping.

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    Mapping

    Raises
    ------
    TraceFormatError
        Naming the mapping file, the line and the key: malformed TOML, an unknown key, a missing
        required key, a bad name, time zone, pattern or status list.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceFormatError(path, None, "mapping file not found") from None
    except UnicodeDecodeError as exc:
        raise TraceFormatError(path, None, f"mapping is not UTF-8 text ({exc.reason})") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(match.group(1)) if match else None
        raise TraceFormatError(path, line, f"not valid TOML: {exc}") from exc
    return _check(path, doc, TomlLines(text))


def _check(path: Path, doc: dict[str, Any], lines: TomlLines) -> Mapping:
    def fail(table: str, key: str | None, problem: str) -> TraceFormatError:
        where = f"[{table.split('#')[0]}] {key}" if key else f"[{table.split('#')[0]}]"
        return TraceFormatError(path, lines.line(table, key), f"{where}: {problem}")

    for name, value in doc.items():
        if name not in SECTIONS:
            raise TraceFormatError(
                path, lines.line(name) or lines.line("", name),
                f"unknown table [{name}]; known: {', '.join(SECTIONS)}",
            )
        tables = value if name == "drop" else [value]
        if name == "drop" and not isinstance(value, list):
            raise fail(name, None, "write drop rules as [[drop]] tables")
        for i, table in enumerate(tables):
            tname = f"{name}#{i}" if name == "drop" else name
            if not isinstance(table, dict):
                raise fail(tname, None, "must be a table")
            for key in table:
                if key not in SECTIONS[name]:
                    raise fail(tname, key, f"unknown key; known: {', '.join(SECTIONS[name])}")
    for name in REQUIRED_SECTIONS:
        if name not in doc:
            raise TraceFormatError(path, None, f"missing table [{name}]")

    trace_t = doc["trace"]
    names = {}
    for key in ("name", "cluster"):
        value = trace_t.get(key)
        if not isinstance(value, str) or not NAME_PATTERN.match(value):
            raise fail("trace", key, f"must be a name of letters, digits, '_', '.' or '-' "
                       f"(got {value!r})")
        names[key] = value
    if names["name"].lower() in reserved_traces():
        raise fail("trace", "name", f"{names['name']!r} is a built-in reader's trace; choose "
                   "another name")

    time_t = doc["time"]
    tz = time_t.get("timezone")
    if not isinstance(tz, str):
        raise fail("time", "timezone", "give the IANA zone of the times, e.g. 'Europe/Berlin'")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise fail("time", "timezone", f"unknown time zone {tz!r}") from None
    time_format = time_t.get("format")
    if not _good_time_format(time_format):
        raise fail("time", "format", f"must be a strftime pattern (with %) or one of "
                   f"{', '.join(UNIX_FORMATS)}; got {time_format!r}")

    fields = _fields(doc["columns"], fail)
    status_words, match, other = _status(doc["status"], fail)

    file_t = doc.get("file", {})
    delimiter = file_t.get("delimiter", DEFAULT_DELIMITER)
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise fail("file", "delimiter", f"must be one character, got {delimiter!r}")
    quote = file_t.get("quote", DEFAULT_QUOTE)
    if not isinstance(quote, str) or len(quote) > 1:
        raise fail("file", "quote", f"must be one character or '' (no quoting), got {quote!r}")
    comment = file_t.get("comment", "")
    if not isinstance(comment, str):
        raise fail("file", "comment", f"must be a string, got {comment!r}")
    header = file_t.get("header", True)
    if not isinstance(header, bool):
        raise fail("file", "header", f"must be true or false, got {header!r}")
    col_names = file_t.get("names")
    if col_names is not None and (
        not isinstance(col_names, list) or not all(isinstance(n, str) for n in col_names)
    ):
        raise fail("file", "names", "must be a list of column names")
    if not header and not col_names:
        raise fail("file", "header", "a file without a header needs names = [...]")
    nulls = file_t.get("null", list(DEFAULT_NULLS))
    if not isinstance(nulls, list) or not all(isinstance(n, str) for n in nulls):
        raise fail("file", "null", "must be a list of strings")

    drops = []
    for i, rule in enumerate(doc.get("drop", [])):
        tname = f"drop#{i}"
        for key in ("column", "pattern"):
            if not isinstance(rule.get(key), str) or not rule[key]:
                raise fail(tname, key, "required (a column name and a regular expression)")
        _check_pattern(rule["pattern"], lambda p, t=tname: fail(t, "pattern", p))
        reason = rule.get("reason", "dropped_row")
        if not isinstance(reason, str) or not _REASON.match(reason):
            raise fail(tname, "reason", f"must be a lower-case rule name, got {reason!r}")
        drops.append(DropRule(rule["column"], rule["pattern"], reason, lines.line(tname)))

    capacity: dict[str | None, float] = {}
    if "capacity" in doc:
        gpus = doc["capacity"].get("gpus")
        items = {None: gpus} if isinstance(gpus, int | float) else gpus
        if not isinstance(items, dict) or not items:
            raise fail("capacity", "gpus", "give the GPUs of the cluster (a number) or of each "
                       "VC ({ vc = n, ... })")
        for vc, n in items.items():
            if isinstance(n, bool) or not isinstance(n, int | float) or n < 0:
                raise fail("capacity", "gpus", f"GPUs of {vc!r} must be a number >= 0, got {n!r}")
            capacity[vc] = float(n)
        if None not in capacity and "vc" not in fields:
            raise fail("capacity", "gpus", "capacity per VC needs a vc column in [columns]")

    return Mapping(
        path=path, trace=names["name"], cluster=names["cluster"], timezone=tz,
        time_format=time_format, fields=fields, status_words=status_words, status_match=match,
        status_other=other, delimiter=delimiter, quote=quote or None, comment=comment or None,
        header=header, names=tuple(col_names) if col_names else None, nulls=tuple(nulls),
        drops=tuple(drops), capacity_gpus=capacity, document=doc, lines=lines,
    )  # fmt: skip


def _good_time_format(fmt: object) -> bool:
    return isinstance(fmt, str) and (fmt in UNIX_FORMATS or "%" in fmt)


def _check_pattern(pattern: str, fail: Any) -> None:
    """Compile ``pattern`` with the engine that will run it (polars' regex)."""
    try:
        pl.Series([""], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError as exc:
        raise fail(f"not a valid regular expression: {str(exc).splitlines()[0]}") from exc


def _fields(columns: dict[str, Any], fail: Any) -> dict[str, FieldSpec]:
    fields: dict[str, FieldSpec] = {}
    for name, spec in columns.items():
        if isinstance(spec, str):
            if not spec:
                raise fail("columns", name, "empty column name")
            fields[name] = FieldSpec(name, spec)
            continue
        if not isinstance(spec, dict):
            raise fail("columns", name, "give a column name or a table { column = ..., ... }")
        unknown = [k for k in spec if k not in SPEC_KEYS]
        if unknown:
            raise fail("columns", name, f"unknown keys {unknown}; known: {', '.join(SPEC_KEYS)}")
        column, value = spec.get("column"), spec.get("value")
        if (column is None) == (value is None):
            raise fail("columns", name, "give exactly one of column = '...' or value = ...")
        if column is not None and (not isinstance(column, str) or not column):
            raise fail("columns", name, f"column must be a name, got {column!r}")
        pattern = spec.get("pattern")
        if pattern is not None:
            if not isinstance(pattern, str):
                raise fail("columns", name, f"pattern must be a string, got {pattern!r}")
            _check_pattern(pattern, lambda p, n=name: fail("columns", n, p))
        scale = spec.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or scale <= 0:
            raise fail("columns", name, f"scale must be a positive number, got {scale!r}")
        if scale != 1.0 and FIELD_KINDS[name] != "number":
            raise fail("columns", name, "scale applies to numeric fields only")
        time_format = spec.get("format")
        if time_format is not None and (
            FIELD_KINDS[name] != "time" or not _good_time_format(time_format)
        ):
            raise fail("columns", name, "format applies to time fields: a strftime pattern or "
                       f"one of {', '.join(UNIX_FORMATS)}")
        default = spec.get("default")
        for what, v in (("default", default), ("value", value)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, str | int | float)):
                raise fail("columns", name, f"{what} must be a string or a number, got {v!r}")
        fields[name] = FieldSpec(name, column, pattern, default, float(scale), time_format, value)
    for name in REQUIRED_FIELDS:
        if name not in fields:
            raise fail("columns", None, f"missing {name} = '<column>'")
    for group in ONE_OF:
        if not any(g in fields for g in group):
            raise fail("columns", None, f"name one of {' or '.join(group)}")
    return fields


def _status(table: dict[str, Any], fail: Any) -> tuple[dict[str, str], str, str | None]:
    words: dict[str, str] = {}
    for status in STATUSES:
        listed = table.get(status, [])
        if not isinstance(listed, list) or not all(isinstance(w, str) and w for w in listed):
            raise fail("status", status, "must be a list of words, e.g. [\"COMPLETED\"]")
        for word in listed:
            if word in words and words[word] != status:
                raise fail("status", status, f"{word!r} is already listed under {words[word]}")
            words[word] = status
    if not words:
        raise fail("status", None, f"list the raw words of at least one of {', '.join(STATUSES)}")
    match = table.get("match", "exact")
    if match not in STATUS_MATCH:
        raise fail("status", "match", f"must be one of {', '.join(STATUS_MATCH)}, got {match!r}")
    other = table.get("other")
    if other is not None and other not in STATUSES:
        raise fail("status", "other", f"must be one of {', '.join(STATUSES)}, got {other!r}")
    return words, match, other


__all__ = ["DropRule", "FieldSpec", "Mapping", "TomlLines", "read_mapping"]
