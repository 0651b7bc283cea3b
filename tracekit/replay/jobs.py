"""Compatibility names for code written against the earlier layout: the job-table readers and
validation now live in :mod:`tracekit.replay.inputs`."""

from tracekit.replay.inputs import (
    OPTIONAL,
    REQUIRED,
    feasibility,
    jobs_from_store,
    read_jobs_csv,
    validate_jobs,
)

__all__ = [
    "OPTIONAL",
    "REQUIRED",
    "feasibility",
    "jobs_from_store",
    "read_jobs_csv",
    "validate_jobs",
]
