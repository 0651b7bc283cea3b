"""Compatibility names for code written against the earlier layout: the result type and its
metrics now live in :mod:`tracekit.replay.results`."""

from tracekit.replay.results import (
    BSLD_TAU_S,
    OUTPUT_COLUMNS,
    ReplayResult,
    compare,
    size_split,
    summarize,
    utilization,
)

__all__ = [
    "BSLD_TAU_S",
    "OUTPUT_COLUMNS",
    "ReplayResult",
    "compare",
    "size_split",
    "summarize",
    "utilization",
]
