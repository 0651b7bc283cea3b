"""Characterization of the Alibaba GPU-sharing trace (openb; Weng et al., "Beware of
Fragmentation", USENIX ATC'23).

The characterization functions take store frames (``jobs``, ``pod_specs``, ``machines``; polars
LazyFrame or DataFrame) and return tidy polars DataFrames per ``(trace, cluster)``.

The paper's fragmentation measure (:class:`Workload`, :func:`workload_from_pods`,
:func:`node_fragmentation`, :func:`fragmentation`) lives with the replay, whose ``fgd``
placement scores nodes with it (:mod:`tracekit.replay.placements.fragmentation`); it is
re-exported here. The placement study that compares FGD with its baselines is
:mod:`tracekit.replay.studies.openb`.
"""

from __future__ import annotations

import polars as pl

from tracekit.analysis._common import GROUP, Frame, lazy
from tracekit.replay.placements.fragmentation import (
    GPU_MILLI,
    Workload,
    fragmentation,
    node_fragmentation,
    workload_from_pods,
)


# ---- characterization ---------------------------------------------------------------------------
def sharing_share(jobs: Frame) -> pl.DataFrame:
    """Share of pods that ask for a fraction of one GPU (``0 < num_gpus < 1``).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, pods, gpu_pods, sharing_pods, sharing_share`` (of all pods) and
        ``sharing_share_of_gpu_pods``.
    """
    frac = (pl.col("num_gpus") > 0) & (pl.col("num_gpus") < 1)
    return (
        lazy(jobs)
        .group_by(GROUP)
        .agg(
            pl.len().alias("pods"),
            (pl.col("num_gpus") > 0).sum().alias("gpu_pods"),
            frac.sum().alias("sharing_pods"),
        )
        .with_columns(
            (pl.col("sharing_pods") / pl.col("pods")).alias("sharing_share"),
            (pl.col("sharing_pods") / pl.col("gpu_pods")).alias("sharing_share_of_gpu_pods"),
        )
        .sort(GROUP)
        .collect()
    )


def gpu_milli_distribution(pod_specs: Frame) -> pl.DataFrame:
    """Distribution of the per-GPU request of single-GPU pods (``gpu_milli``, 1000 = whole GPU).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, gpu_milli, pods, share, cdf`` (shares of the single-GPU pods).
    """
    return (
        lazy(pod_specs)
        .filter(pl.col("num_gpu") == 1)
        .group_by([*GROUP, "gpu_milli"])
        .agg(pl.len().alias("pods"))
        .sort([*GROUP, "gpu_milli"])
        .with_columns((pl.col("pods") / pl.col("pods").sum().over(GROUP)).alias("share"))
        .with_columns(pl.col("share").cum_sum().over(GROUP).alias("cdf"))
        .collect()
    )


def gpu_constraint_share(pod_specs: Frame) -> pl.DataFrame:
    """Share of GPU pods that may run only on some GPU models (a non-empty ``gpu_spec``).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, gpu_pods, constrained_pods, constrained_share``.
    """
    return (
        lazy(pod_specs)
        .filter(pl.col("num_gpu") > 0)
        .group_by(GROUP)
        .agg(pl.len().alias("gpu_pods"), pl.col("gpu_spec").is_not_null().sum().alias("c"))
        .select(
            *GROUP,
            "gpu_pods",
            pl.col("c").alias("constrained_pods"),
            (pl.col("c") / pl.col("gpu_pods")).alias("constrained_share"),
        )
        .sort(GROUP)
        .collect()
    )


def demand_by_qos(pod_specs: Frame) -> pl.DataFrame:
    """GPU and CPU requested per QoS class, and each class's share of the cluster's requests.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, qos, pods, gpus, cpus, pod_share, gpu_share, cpu_share`` (``gpus`` in
        GPUs, ``cpus`` in cores, summed over pods).
    """
    gpus = pl.col("num_gpu") * pl.col("gpu_milli") / GPU_MILLI
    return (
        lazy(pod_specs)
        .group_by([*GROUP, "qos"])
        .agg(
            pl.len().alias("pods"),
            gpus.sum().alias("gpus"),
            (pl.col("cpu_milli").sum() / 1000.0).alias("cpus"),
        )
        .with_columns(
            (pl.col(c) / pl.col(c).sum().over(GROUP)).alias(f"{n}_share")
            for c, n in (("pods", "pod"), ("gpus", "gpu"), ("cpus", "cpu"))
        )
        .sort([*GROUP, "qos"], nulls_last=True)
        .collect()
    )


def node_mix(machines: Frame) -> pl.DataFrame:
    """Nodes and GPUs per GPU model (CPU-only nodes as model null).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, gpu_type, nodes, gpus, cpus, mem_gb, gpu_share, node_share``.
    """
    return (
        lazy(machines)
        .group_by([*GROUP, "gpu_type"])
        .agg(
            pl.len().alias("nodes"),
            pl.col("num_gpus").sum().alias("gpus"),
            pl.col("num_cpus").sum().alias("cpus"),
            pl.col("mem_gb").sum().alias("mem_gb"),
        )
        .with_columns(
            (pl.col("gpus") / pl.col("gpus").sum().over(GROUP)).alias("gpu_share"),
            (pl.col("nodes") / pl.col("nodes").sum().over(GROUP)).alias("node_share"),
        )
        .sort([*GROUP, "gpus"], descending=[False, False, True])
        .collect()
    )


__all__ = [
    "GPU_MILLI",
    "Workload",
    "demand_by_qos",
    "fragmentation",
    "gpu_constraint_share",
    "gpu_milli_distribution",
    "node_fragmentation",
    "node_mix",
    "sharing_share",
    "workload_from_pods",
]
