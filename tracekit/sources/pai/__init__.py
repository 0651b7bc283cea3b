"""Reader for the Alibaba PAI GPU trace v2020 (Weng et al., NSDI'22): seven headerless CSVs ->
the store's ``jobs``, ``tasks``, ``instances``, ``sensors``, ``machine_metric``, ``machines`` and
``capacity`` tables (trace and cluster ``pai``).

Modules: :mod:`.formats` (the format constants, imported by the synthetic sample generator),
:mod:`.read` (raw files -> typed frames, streamed in bounded blocks), :mod:`.ingest` (frames ->
store) and :mod:`.official` (the official analysis definitions, for checking tracekit against
them). See docs/pai.md.
"""

from tracekit.sources.pai.formats import *  # noqa: F403 - the format constants, re-exported
from tracekit.sources.pai.formats import __all__ as _format_names
from tracekit.sources.pai.ingest import (
    CAPACITY_DATE,
    build_capacity,
    build_jobs,
    build_machines,
    build_tasks,
    ingest,
)
from tracekit.sources.pai.read import (
    BLOCK_BYTES,
    RawSource,
    iter_blocks,
    iter_frames,
    locate,
    parse_block,
    read_raw,
)

__all__ = [
    *_format_names,
    "BLOCK_BYTES",
    "CAPACITY_DATE",
    "RawSource",
    "build_capacity",
    "build_jobs",
    "build_machines",
    "build_tasks",
    "ingest",
    "iter_blocks",
    "iter_frames",
    "locate",
    "parse_block",
    "read_raw",
]
