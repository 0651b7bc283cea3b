"""What a column mapping may say: the job fields, their kinds, and the mapping's vocabulary.

A mapping (a TOML file) tells the generic reader how to read one job table: which column holds
each job field, how times are written and in which zone, which status words mean what, and
which rows to drop. ``docs/interop.md`` documents every key with examples.
"""

from __future__ import annotations

from tracekit.sources._common import NAME_PATTERN

#: Job fields a mapping can fill, with their kind. Names follow the store's ``jobs`` table.
FIELD_KINDS: dict[str, str] = {
    "job_id": "text",
    "user": "text",
    "vc": "text",
    "job_name": "text",
    "group_tag": "text",
    "workload": "text",
    "gpu_type": "text",
    "status": "text",
    "submit_time": "time",
    "start_time": "time",
    "end_time": "time",
    "duration_s": "number",
    "queue_s": "number",
    "num_gpus": "number",
    "num_cpus": "number",
    "mem_gb": "number",
    "num_nodes": "number",
}
FIELDS: tuple[str, ...] = tuple(FIELD_KINDS)
#: Fields every mapping must name.
REQUIRED_FIELDS: tuple[str, ...] = ("job_id", "submit_time", "num_gpus", "status")
#: At least one field of each group must be named (start from a time or a queue delay, end from
#: a time or a run time).
ONE_OF: tuple[tuple[str, str], ...] = (("start_time", "queue_s"), ("end_time", "duration_s"))

#: The store's status vocabulary (the keys of a mapping's ``[status]`` table).
STATUSES: tuple[str, ...] = ("completed", "canceled", "failed", "censored")
#: How a raw status cell is matched against the listed words.
STATUS_MATCH: tuple[str, ...] = ("exact", "first_word")

#: Time formats that are not strftime patterns: numeric Unix seconds or milliseconds.
UNIX_FORMATS: dict[str, int] = {"unix": 1_000_000, "unix_ms": 1_000}
#: Strftime directives that make a time carry its own UTC offset.
OFFSET_DIRECTIVES: tuple[str, ...] = ("%z", "%:z", "%#z")

#: Top-level tables of a mapping and the keys each may hold ("columns" takes the field names).
SECTIONS: dict[str, tuple[str, ...]] = {
    "trace": ("name", "cluster"),
    "file": ("delimiter", "quote", "comment", "header", "names", "null"),
    "time": ("format", "timezone"),
    "columns": FIELDS,
    "status": (*STATUSES, "match", "other"),
    "drop": ("column", "pattern", "reason"),
    "capacity": ("gpus",),
}
REQUIRED_SECTIONS: tuple[str, ...] = ("trace", "time", "columns", "status")
#: Keys of a field given as a table instead of a plain column name.
SPEC_KEYS: tuple[str, ...] = ("column", "pattern", "default", "scale", "format", "value")


def reserved_traces() -> frozenset[str]:
    """Names a user trace may not take: the built-in traces and the readers' own names."""
    from tracekit.schema import _BUILT_IN_ZONES, TRACES
    from tracekit.sources import READERS

    return frozenset({*TRACES, *_BUILT_IN_ZONES, *READERS})


DEFAULT_DELIMITER = ","
DEFAULT_QUOTE = '"'
DEFAULT_NULLS: tuple[str, ...] = ("",)

__all__ = [
    "DEFAULT_DELIMITER",
    "DEFAULT_NULLS",
    "DEFAULT_QUOTE",
    "FIELDS",
    "FIELD_KINDS",
    "NAME_PATTERN",
    "OFFSET_DIRECTIVES",
    "ONE_OF",
    "REQUIRED_FIELDS",
    "REQUIRED_SECTIONS",
    "SECTIONS",
    "SPEC_KEYS",
    "STATUSES",
    "STATUS_MATCH",
    "UNIX_FORMATS",
    "reserved_traces",
]
