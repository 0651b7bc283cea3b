"""Reader for the Helios trace (SenseTime, Hu et al., SC'21): ``data.zip`` or its folder ->
the store's ``jobs`` and ``capacity`` tables, one partition per cluster.

Modules: :mod:`.formats` (the format constants, imported by the synthetic sample generator),
:mod:`.read` (raw files -> typed frames) and :mod:`.ingest` (frames -> store). See
docs/helios.md.
"""

from tracekit.sources.helios.formats import *  # noqa: F403 - the format constants, re-exported
from tracekit.sources.helios.formats import __all__ as _format_names
from tracekit.sources.helios.ingest import ingest, normalize_jobs
from tracekit.sources.helios.read import BLOCK_BYTES, locate, parse_log, read_capacity, read_log

__all__ = [
    *_format_names,
    "BLOCK_BYTES",
    "ingest",
    "locate",
    "normalize_jobs",
    "parse_log",
    "read_capacity",
    "read_log",
]
