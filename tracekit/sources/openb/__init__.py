"""Reader for the Alibaba GPU-sharing trace ``cluster-trace-gpu-v2023`` ("openb", ATC'23).

Input: a folder with ``openb_node_list_all_node.csv`` (and optionally the GPU-node list) and one
or more ``openb_pod_list_<variant>.csv``. Output (trace ``openb``, one cluster per pod-list
variant): ``jobs``, ``pod_specs``, ``machines`` and ``capacity``. See docs/openb.md for the
mapping, the nominal time origin and the data-quality rules (``openb.*``).

Modules: :mod:`.formats` (format constants), :mod:`.read` (raw -> frames), :mod:`.ingest`
(frames -> store).
"""

from tracekit.sources.openb.formats import *  # noqa: F403 - the format constants, re-exported
from tracekit.sources.openb.formats import __all__ as _format_names
from tracekit.sources.openb.ingest import find_files, ingest
from tracekit.sources.openb.read import *  # noqa: F403 - the parsing functions, re-exported
from tracekit.sources.openb.read import __all__ as _read_names

__all__ = [*_format_names, *_read_names, "find_files", "ingest"]
