"""Acme measures beyond the generic ones: GPU time by workload type (AC7) and the largest job
(AC2). Durations, sizes, final states and queues (AC1-AC6) use the generic measures, which follow
the authors' conventions on the store's ``jobs``."""

from __future__ import annotations

import polars as pl

from tracekit.analysis import acme
from tracekit.analysis.findings._core import Context, measure, pct, per_cluster, pick

__all__: list[str] = []  # measures are reached through the registry, not imported


@measure("workload_gpu_time_share_pct")
def workload_gpu_time_share(ctx: Context, trace: str, cluster: str, workload: str) -> float | None:
    """Share (%) of the GPU jobs' GPU time in jobs of one workload type (Acme's ``type``)."""
    df = per_cluster(
        ctx,
        "workload",
        trace,
        cluster,
        lambda k: acme.gpu_time_by_workload(ctx.scan("jobs", trace), k),
    )
    return pct(pick(df, "gpu_time_share", workload=workload))


@measure("max_gpus")
def max_gpus(ctx: Context, trace: str, cluster: str) -> float | None:
    """GPUs of the largest job."""
    df = per_cluster(
        ctx,
        "max_gpus",
        trace,
        cluster,
        lambda k: ctx.jobs(trace).group_by(k).agg(pl.col("num_gpus").max()).collect(),
    )
    return pick(df, "num_gpus")
