"""Compatibility names for code written against the earlier layout: the entry points now live
in :mod:`tracekit.replay.run` (``simulate`` is :func:`tracekit.replay.run.replay`)."""

from tracekit.replay.engines.whole_gpu import PARALLEL_MIN_JOBS
from tracekit.replay.inputs import read_vcs_csv
from tracekit.replay.run import compare_policies, replay_csv, replay_from_store, simulate

__all__ = [
    "PARALLEL_MIN_JOBS",
    "compare_policies",
    "read_vcs_csv",
    "replay_csv",
    "replay_from_store",
    "simulate",
]
