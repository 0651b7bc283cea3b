"""Fast discrete-event replay of GPU-cluster traces under scheduling policies (docs/replay.md).

Entry points: :func:`simulate` (a polars job table), :func:`replay_csv` (``JOBS.csv`` +
``VCS.csv``), :func:`replay_from_store` (a store partition), :func:`compare_policies`.
"""

from __future__ import annotations

from tracekit.replay.cluster import (
    Cluster,
    VCSpec,
    cluster_from_capacity,
    cluster_from_machines,
    cluster_from_store,
    read_vcs_csv,
)
from tracekit.replay.engine import overhead_function
from tracekit.replay.jobs import feasibility, jobs_from_store, read_jobs_csv, validate_jobs
from tracekit.replay.metrics import ReplayResult, compare, size_split, summarize, utilization
from tracekit.replay.placement import PLACERS, Consolidate, FirstFit, Placer, Spread
from tracekit.replay.policies import POLICIES, Policy, PreemptivePolicy, Tiresias, make_policy
from tracekit.replay.policies.lucid import LucidPolicy, simulate_lucid  # noqa: E402

# Shared-GPU simulation, Lucid-style packing and sweeps (docs/replay_sharing.md). The sweep
# module pulls in dask only when a scheduler address is given.
from tracekit.replay.sharing import GPUPool, SlowdownModel, simulate_shared  # noqa: E402
from tracekit.replay.simulator import compare_policies, replay_csv, replay_from_store, simulate
from tracekit.replay.studies import (
    fifo_ratios,
    held_out_inputs,
    policy_comparison,
    published_results,
    replay_study,
    replay_study_runs,
)
from tracekit.replay.sweep import SweepConfig, sensitivity_grid  # noqa: E402

__all__ = [
    "GPUPool",
    "LucidPolicy",
    "SlowdownModel",
    "SweepConfig",
    "fifo_ratios",
    "held_out_inputs",
    "policy_comparison",
    "published_results",
    "replay_study",
    "replay_study_runs",
    "sensitivity_grid",
    "simulate_lucid",
    "simulate_shared",
    "PLACERS",
    "POLICIES",
    "Cluster",
    "Consolidate",
    "FirstFit",
    "Placer",
    "Policy",
    "PreemptivePolicy",
    "ReplayResult",
    "Spread",
    "Tiresias",
    "VCSpec",
    "cluster_from_capacity",
    "cluster_from_machines",
    "cluster_from_store",
    "compare",
    "compare_policies",
    "feasibility",
    "jobs_from_store",
    "make_policy",
    "overhead_function",
    "read_jobs_csv",
    "read_vcs_csv",
    "replay_csv",
    "replay_from_store",
    "simulate",
    "size_split",
    "summarize",
    "utilization",
    "validate_jobs",
]
