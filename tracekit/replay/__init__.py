"""Fast discrete-event replay of GPU-cluster traces under scheduling policies (docs/replay.md).

One front door, :func:`replay` (also :func:`simulate`): a job table, a cluster (whole GPUs on
nodes) or a GPU pool (shared GPUs), a policy from the one registry
(:data:`~tracekit.replay.policies.POLICIES`), and options; it returns a :class:`ReplayResult`.
:func:`replay_csv` and :func:`replay_from_store` read the inputs first (through
:mod:`tracekit.replay.inputs`, the only reader); :func:`compare_policies` runs several policies;
:mod:`tracekit.replay.sweep` runs grids of them.
"""

from __future__ import annotations

from tracekit.replay.engines.placement import PLACERS, Consolidate, FirstFit, Placer, Spread
from tracekit.replay.engines.shared_gpu import UNITS, SlowdownModel
from tracekit.replay.engines.whole_gpu import overhead_function
from tracekit.replay.inputs import (
    cluster_from_store,
    feasibility,
    fill_utilization,
    jobs_from_store,
    load_store,
    pool_from_store,
    read_jobs_csv,
    read_vcs_csv,
    validate_jobs,
)
from tracekit.replay.policies import (
    POLICIES,
    Lucid,
    LucidPolicy,
    PackingPolicy,
    Policy,
    PreemptivePolicy,
    Tiresias,
    describe,
    make_policy,
)
from tracekit.replay.resources import (
    Cluster,
    GPUPool,
    VCSpec,
    cluster_from_capacity,
    cluster_from_machines,
)
from tracekit.replay.results import ReplayResult, compare, size_split, summarize, utilization
from tracekit.replay.run import (
    choose_resource_model,
    compare_policies,
    replay,
    replay_csv,
    replay_from_store,
    simulate,
    write_output,
)
from tracekit.replay.studies import (
    fifo_ratios,
    held_out_inputs,
    policy_comparison,
    published_results,
    replay_study,
    replay_study_runs,
)
from tracekit.replay.sweep import SweepConfig, sensitivity_grid

__all__ = [
    "PLACERS",
    "POLICIES",
    "UNITS",
    "Cluster",
    "Consolidate",
    "FirstFit",
    "GPUPool",
    "Lucid",
    "LucidPolicy",
    "PackingPolicy",
    "Placer",
    "Policy",
    "PreemptivePolicy",
    "ReplayResult",
    "SlowdownModel",
    "Spread",
    "SweepConfig",
    "Tiresias",
    "VCSpec",
    "choose_resource_model",
    "cluster_from_capacity",
    "cluster_from_machines",
    "cluster_from_store",
    "compare",
    "compare_policies",
    "describe",
    "feasibility",
    "fifo_ratios",
    "fill_utilization",
    "held_out_inputs",
    "jobs_from_store",
    "load_store",
    "make_policy",
    "overhead_function",
    "policy_comparison",
    "pool_from_store",
    "published_results",
    "read_jobs_csv",
    "read_vcs_csv",
    "replay",
    "replay_csv",
    "replay_from_store",
    "replay_study",
    "replay_study_runs",
    "sensitivity_grid",
    "simulate",
    "size_split",
    "summarize",
    "sweep",
    "utilization",
    "validate_jobs",
    "write_output",
]
