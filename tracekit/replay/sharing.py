"""Compatibility names for code written against the earlier layout, where the shared-GPU
replay had its own entry point. New code calls ``tracekit.replay.replay(jobs, pool, policy)``
(a :class:`~tracekit.replay.resources.GPUPool`, a packing policy or a shared-GPU option selects
the shared-GPU engine) and reads the store with :func:`tracekit.replay.inputs.load_store`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from tracekit.replay.engines.shared_gpu import UNITS, SlowdownModel
from tracekit.replay.inputs import fill_utilization, jobs_from_store, pool_from_store
from tracekit.replay.policies.base import Policy
from tracekit.replay.resources import GPU_TIERS, GPUPool
from tracekit.replay.results import ReplayResult
from tracekit.replay.run import replay

#: The earlier name of the result of a shared-GPU replay (now the one :class:`ReplayResult`).
SharedResult = ReplayResult


def simulate_shared(
    jobs: pl.DataFrame,
    pool: GPUPool | Mapping[str, Any],
    policy: str | Policy = "fifo",
    *,
    placement: str = "pack",
    type_affinity: str = "strict",
    max_jobs_per_gpu: int = 4,
    share_by: str = "request",
    slowdown: SlowdownModel | None = None,
    backfill: bool = True,
    repair: bool = False,
    seed: int = 0,
    record: bool = False,
    source: str = "<jobs>",
) -> ReplayResult:
    """:func:`tracekit.replay.replay` on shared GPUs, with the earlier defaults."""
    return replay(
        jobs, pool, policy, resource_model="shared", placement=placement,
        type_affinity=type_affinity, max_jobs_per_gpu=max_jobs_per_gpu, share_by=share_by,
        slowdown=slowdown, backfill=backfill, repair=repair, seed=seed, record=record,
        source=source,
    )  # fmt: skip


def shared_jobs_from_store(
    store: Any,
    trace: str,
    cluster: str,
    start: Any = None,
    end: Any = None,
    prediction_model: str | None = None,
    group_by: str = "auto",
) -> pl.DataFrame:
    """Jobs of one partition with the earlier column names (``duration``, ``pred_duration``)
    and a ``group`` column (GPU type when the partition has any, else VC)."""
    df, _ = jobs_from_store(store, trace, cluster, start, end, prediction_model)
    if group_by == "auto":
        group_by = "gpu_type" if df["gpu_type"].null_count() < df.height else "vc"
    cols = [
        "job_id", "user", pl.col(group_by).alias("group"), "submit_time",
        pl.col("duration_s").alias("duration"), "num_gpus", "gpu_util_mean",
    ]  # fmt: skip
    if "pred_duration_s" in df.columns:
        cols.append(pl.col("pred_duration_s").alias("pred_duration"))
    return df.select(cols)


__all__ = [
    "GPU_TIERS",
    "UNITS",
    "GPUPool",
    "SharedResult",
    "SlowdownModel",
    "fill_utilization",
    "pool_from_store",
    "shared_jobs_from_store",
    "simulate_shared",
]
