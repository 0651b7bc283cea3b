"""Reader for the Acme traces (Shanghai AI Lab, "Characterization of Large Language Model
Development in the Datacenter", NSDI'24): ``trace_seren.csv`` and ``trace_kalos.csv``.

Output (trace ``acme``, clusters ``Seren`` and ``Kalos``): ``jobs`` (the workload ``type`` in
``workload``, the raw state in ``raw_status``) and, for Kalos, ``kalos_jobs`` (the columns only
Kalos publishes). See docs/acme.md for the mapping and the data-quality rules (``acme.*``).

Modules: :mod:`.formats` (format constants, imported by the synthetic sample), :mod:`.read`
(raw -> frames), :mod:`.ingest` (frames -> store).
"""

from tracekit.sources.acme.formats import *  # noqa: F403 - the format constants, re-exported
from tracekit.sources.acme.formats import __all__ as _format_names
from tracekit.sources.acme.ingest import find_files, ingest
from tracekit.sources.acme.read import *  # noqa: F403 - the parsing functions, re-exported
from tracekit.sources.acme.read import __all__ as _read_names

__all__ = [*_format_names, *_read_names, "find_files", "ingest"]
