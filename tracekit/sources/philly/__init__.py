"""Reader for the Microsoft Philly trace (Jeon et al., ATC'19): raw files -> store tables.

Input is the official ``trace-data.tar.gz`` (streamed, never extracted) or a folder holding the
five extension-less files anywhere below it. Output (trace ``philly``, one cluster ``philly``):
``jobs``, ``attempts``, ``gpu_util`` (long layout), ``host_util``, ``machines``, ``capacity`` and
``job_gpu_minutes``. See docs/philly.md for the mapping, the definitions and the data-quality
rules (``philly.*``).

Modules: :mod:`.formats` (the format constants, imported by the synthetic sample generator),
:mod:`.read` (finding the files; the parsers of each file), :mod:`.ingest` (one atomic store
transaction, with the per-job GPU-minute join) and :mod:`.official` (the official analysis
definitions). Private modules hold the parsers (``_joblog``, ``_gpu_util``, ``_gpu_block``,
``_host_util``, ``_machines``, ``_lines``) and the join (``_join``, ``_join_index``,
``_gpu_stage``). Everything public is re-exported here.
"""

from tracekit.sources.philly._gpu_util import _gpu_chunk, _gpu_chunk_fast
from tracekit.sources.philly._host_util import _HostUtilJoin
from tracekit.sources.philly._joblog import _frames_from_json_bytes
from tracekit.sources.philly._join import (
    finish_gpu_util_mean,
    gpu_intervals,
    join_job_minutes,
    shared_segments,
)
from tracekit.sources.philly._join_index import JoinIndex, job_gpu_minutes
from tracekit.sources.philly._machines import check_machine_list, derive_capacity
from tracekit.sources.philly.formats import *  # noqa: F403 - the format constants, re-exported
from tracekit.sources.philly.formats import __all__ as _format_names
from tracekit.sources.philly.ingest import ingest
from tracekit.sources.philly.read import (
    iter_files,
    iter_gpu_util,
    iter_host_util,
    parse_job_log,
    read_job_log,
    read_machine_list,
)

__all__ = [
    *_format_names,
    "JoinIndex", "_HostUtilJoin", "_frames_from_json_bytes", "_gpu_chunk", "_gpu_chunk_fast",
    "check_machine_list", "derive_capacity", "finish_gpu_util_mean", "gpu_intervals", "ingest",
    "iter_files", "iter_gpu_util", "iter_host_util", "job_gpu_minutes", "join_job_minutes",
    "parse_job_log", "read_job_log", "read_machine_list", "shared_segments",
]  # fmt: skip
