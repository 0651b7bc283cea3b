"""Characterization of GPU-cluster traces from the normalized store.

One module per family: :mod:`~tracekit.analysis.jobs`, :mod:`~tracekit.analysis.users`,
:mod:`~tracekit.analysis.arrivals`, :mod:`~tracekit.analysis.utilization`,
:mod:`~tracekit.analysis.queueing`, :mod:`~tracekit.analysis.failures`,
:mod:`~tracekit.analysis.summary`, :mod:`~tracekit.analysis.findings` (published vs measured);
the newer traces' :mod:`~tracekit.analysis.openb` and :mod:`~tracekit.analysis.acme`; and
:mod:`~tracekit.analysis.scheduling` (tables of a scheduler-replay study). Every function takes
polars frames in the store schema and returns a tidy polars DataFrame.
"""

from __future__ import annotations

from tracekit.analysis import (
    acme,
    arrivals,
    failures,
    findings,
    jobs,
    openb,
    queueing,
    scheduling,
    summary,
    users,
    utilization,
)
from tracekit.analysis.findings import findings_table

__all__ = [
    "acme",
    "arrivals",
    "failures",
    "findings",
    "findings_table",
    "jobs",
    "openb",
    "queueing",
    "scheduling",
    "summary",
    "users",
    "utilization",
]
