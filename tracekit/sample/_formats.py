"""Raw-format constants of the traces, imported from the readers so they are written once."""

from __future__ import annotations

from tracekit.sources.helios.formats import (
    CAPACITY_FILE as HELIOS_CAPACITY_FILE,
)
from tracekit.sources.helios.formats import (
    CAPACITY_HEADER_FIRST as HELIOS_CAPACITY_HEADER_FIRST,
)
from tracekit.sources.helios.formats import (
    CAPACITY_HEADER_LAST as HELIOS_CAPACITY_HEADER_LAST,
)
from tracekit.sources.helios.formats import (
    CLUSTERS as HELIOS_CLUSTERS,
)
from tracekit.sources.helios.formats import (
    LOG_FILE as HELIOS_LOG_FILE,
)
from tracekit.sources.helios.formats import (
    LOG_HEADER as HELIOS_LOG_HEADER,
)
from tracekit.sources.helios.formats import (
    SLURM_MAX_S as HELIOS_SLURM_MAX_S,
)
from tracekit.sources.helios.formats import (
    TIME_FORMAT as HELIOS_TIME_FORMAT,
)

__all__ = [
    "HELIOS_CAPACITY_FILE",
    "HELIOS_CAPACITY_HEADER_FIRST",
    "HELIOS_CAPACITY_HEADER_LAST",
    "HELIOS_CLUSTERS",
    "HELIOS_LOG_FILE",
    "HELIOS_LOG_HEADER",
    "HELIOS_SLURM_MAX_S",
    "HELIOS_TIME_FORMAT",
]
