"""Reader for the Standard Workload Format (SWF) of HPC simulators and the Parallel Workloads
Archive: 18 whitespace-separated numeric fields per job, ``;`` header comments (kept in the
store manifest).

Modules: :mod:`.formats` (the format constants, shared with tracekit's SWF export),
:mod:`.read` (file -> header + typed job fields) and :mod:`.ingest`. See ``docs/interop.md``
for how GPUs map onto SWF's processor fields.
"""

from tracekit.sources.swf.formats import FIELDS, GPU_NOTE, N_FIELDS, STATUS_MAP
from tracekit.sources.swf.ingest import SWFOptions, ingest, read_options
from tracekit.sources.swf.read import SWFLog, names_path, read_names, read_swf, to_fields

__all__ = [
    "FIELDS",
    "GPU_NOTE",
    "N_FIELDS",
    "STATUS_MAP",
    "SWFLog",
    "SWFOptions",
    "ingest",
    "names_path",
    "read_names",
    "read_options",
    "read_swf",
    "to_fields",
]
