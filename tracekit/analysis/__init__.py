"""Characterization of GPU-cluster traces from the normalized store.

One module per family: :mod:`~tracekit.analysis.jobs`, :mod:`~tracekit.analysis.users`,
:mod:`~tracekit.analysis.arrivals`, :mod:`~tracekit.analysis.utilization`,
:mod:`~tracekit.analysis.queueing`, :mod:`~tracekit.analysis.failures`,
:mod:`~tracekit.analysis.summary`, and :mod:`~tracekit.analysis.findings` (published vs measured).
Every function takes polars frames in the store schema and returns a tidy polars DataFrame.
"""

from __future__ import annotations

from tracekit.analysis import (
    arrivals,
    failures,
    findings,
    jobs,
    queueing,
    summary,
    users,
    utilization,
)
from tracekit.analysis.findings import findings_table

__all__ = [
    "arrivals",
    "failures",
    "findings",
    "findings_table",
    "jobs",
    "queueing",
    "summary",
    "users",
    "utilization",
]
