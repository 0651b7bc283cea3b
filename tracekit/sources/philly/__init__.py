"""Reader for the Microsoft Philly trace (ATC'19): raw files -> normalized store tables.

Input is the official ``trace-data.tar.gz`` (streamed with :mod:`tarfile`, never extracted) or a
folder holding the five extension-less files anywhere below it. Output (trace ``philly``, one
cluster ``philly``): ``jobs``, ``attempts``, ``gpu_util`` (long layout), ``host_util``,
``machines``, ``capacity`` and ``job_gpu_minutes``. See docs/philly.md for the mapping, the
definitions and the data-quality rules (``philly.*``).

Modules: :mod:`.formats` (the format constants, the single description of the on-disk format,
imported by the synthetic sample generator), :mod:`.archive` (folder/tarball input),
:mod:`.joblog`, :mod:`.lines` (shared CSV helpers), :mod:`.gpu_util`, :mod:`.host_util`,
:mod:`.machines`, :mod:`.join` (per-job GPU-minutes) and :mod:`.ingest`. Everything public is
re-exported here.
"""

from tracekit.sources.philly.formats import *  # noqa: F403 - the format constants, re-exported
from tracekit.sources.philly.formats import __all__ as _format_names
from tracekit.sources.philly.gpu_util import _gpu_chunk, _gpu_chunk_fast, iter_gpu_util
from tracekit.sources.philly.host_util import _HostUtilJoin, iter_host_util
from tracekit.sources.philly.ingest import ingest
from tracekit.sources.philly.joblog import _frames_from_json_bytes, parse_job_log, read_job_log
from tracekit.sources.philly.join import (
    finish_gpu_util_mean,
    gpu_intervals,
    join_job_minutes,
    shared_segments,
)
from tracekit.sources.philly.join_index import JoinIndex, job_gpu_minutes
from tracekit.sources.philly.machines import (
    check_machine_list,
    derive_capacity,
    read_machine_list,
)

__all__ = [
    *_format_names,
    "JoinIndex", "_HostUtilJoin", "_frames_from_json_bytes", "_gpu_chunk", "_gpu_chunk_fast",
    "check_machine_list", "derive_capacity", "finish_gpu_util_mean", "gpu_intervals", "ingest",
    "iter_gpu_util", "iter_host_util", "job_gpu_minutes", "join_job_minutes", "parse_job_log",
    "read_job_log", "read_machine_list", "shared_segments",
]
