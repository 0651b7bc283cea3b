"""tracekit: normalize, characterize, predict and replay GPU-cluster workload traces.

The public API is re-exported here; see README.md and docs/.
"""

from __future__ import annotations

__version__ = "0.1.0"

from tracekit.errors import StoreError, TraceFormatError, TracekitError
from tracekit.quality import QualityCounter
from tracekit.store import Store, begin, open_store
from tracekit.timeutil import with_local_time

__all__ = [
    "QualityCounter",
    "Store",
    "StoreError",
    "TraceFormatError",
    "TracekitError",
    "__version__",
    "begin",
    "open_store",
    "with_local_time",
]
