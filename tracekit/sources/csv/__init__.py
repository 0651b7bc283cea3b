"""Generic reader: any cluster's job table (a CSV export, Slurm ``sacct --parsable2`` output, the
Acme traces, ...) read through a column mapping (TOML) into the store.

Modules: :mod:`.formats` (what a mapping may say), :mod:`.mapping` (reading and checking a
mapping), :mod:`.read` (raw table -> typed job fields), :mod:`.jobs` (typed fields -> the
store's ``jobs`` table, shared with the SWF reader) and :mod:`.ingest`. See ``docs/interop.md``.
"""

from tracekit.sources.csv.formats import FIELDS, REQUIRED_FIELDS, STATUSES
from tracekit.sources.csv.ingest import capacity_rows, ingest
from tracekit.sources.csv.jobs import to_jobs
from tracekit.sources.csv.mapping import FieldSpec, Mapping, read_mapping
from tracekit.sources.csv.read import read_table

__all__ = [
    "FIELDS",
    "REQUIRED_FIELDS",
    "STATUSES",
    "FieldSpec",
    "Mapping",
    "capacity_rows",
    "ingest",
    "read_mapping",
    "read_table",
    "to_jobs",
]
