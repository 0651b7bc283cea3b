"""openb measures: trace size (OB0), GPU-sharing pods (OB1), GPU-model constraints (OB2) and the
placement study's FGD-versus-best-fit reduction of unallocated GPUs (OB3, a replay study:
:mod:`tracekit.replay.studies.openb`)."""

from __future__ import annotations

import polars as pl

from tracekit.analysis import openb
from tracekit.analysis.findings._core import Context, measure, pct, pick
from tracekit.replay.studies import openb as placement_study

__all__: list[str] = []  # measures are reached through the registry, not imported


def _of(lf: pl.LazyFrame, cluster: str) -> pl.LazyFrame:
    return lf if cluster == "all" else lf.filter(pl.col("cluster") == cluster)


@measure("openb_count")
def openb_count(ctx: Context, trace: str, cluster: str, what: str) -> float | None:
    """Pods (``what=pods``), nodes (``nodes``) or GPUs (``gpus``) of a pod-list cluster."""
    if what == "pods":
        return float(_of(ctx.jobs(trace), cluster).select(pl.len()).collect().item())
    machines = _of(ctx.scan("machines", trace), cluster).collect()
    if machines.height == 0:
        return None
    if what == "nodes":
        return float(machines.height)
    if what == "gpus":
        return float(machines["num_gpus"].sum())
    raise ValueError(f"what must be pods, nodes or gpus; got {what!r}")


@measure("sharing_share_pct")
def sharing_share(ctx: Context, trace: str, cluster: str) -> float | None:
    """Share (%) of pods asking for a fraction of one GPU."""
    df = openb.sharing_share(_of(ctx.jobs(trace), cluster))
    return pct(pick(df, "sharing_share"))


@measure("gpu_constraint_share_pct")
def gpu_constraint_share(ctx: Context, trace: str, cluster: str) -> float | None:
    """Share (%) of GPU pods that may run only on some GPU models."""
    specs = ctx.table("pod_specs", trace, ("trace", "cluster", "num_gpu", "gpu_spec"))
    if specs is None:
        return None
    return pct(pick(openb.gpu_constraint_share(_of(specs, cluster)), "constrained_share"))


@measure("fgd_reduction_pct")
def fgd_reduction(ctx: Context, trace: str, cluster: str, load: str, seed: str) -> float | None:
    """How much (%) fewer GPUs FGD leaves unallocated than best-fit at ``load`` (one seed), in
    the replay of the workload-inflation experiment on the trace's nodes."""
    specs = ctx.table("pod_specs", trace, ("trace", "cluster", *placement_study.POD_COLUMNS))
    if specs is None:
        return None
    machines = _of(ctx.scan("machines", trace), cluster)
    curve = placement_study.compare_placements(
        machines, _of(specs, cluster), ("best-fit", "fgd"), seeds=(int(seed),),
        max_load=float(load), step=float(load),
    )  # fmt: skip
    at = placement_study.unallocated_at(curve, float(load))
    share = dict(zip(at["placement"], at["unallocated_share"], strict=True))
    if not share.get("best-fit"):
        return None
    return pct((share["best-fit"] - share["fgd"]) / share["best-fit"])
