"""Characterization of the Alibaba GPU-sharing trace (openb; Weng et al., "Beware of
Fragmentation", USENIX ATC'23) and the paper's fragmentation measure.

The characterization functions take store frames (``jobs``, ``pod_specs``, ``machines``; polars
LazyFrame or DataFrame) and return tidy polars DataFrames per ``(trace, cluster)``.

The fragmentation measure follows the paper's definition. For a node ``n`` and a task ``m`` of
the target workload, the fragmented GPU capacity ``F_n(m)`` is

* all of the node's unallocated GPU capacity when ``m`` cannot run there (too little CPU or
  memory, a GPU model ``m`` may not use, not enough GPU) or asks for no GPU at all;
* otherwise, the unallocated capacity of the GPUs that hold less than ``m``'s per-GPU request
  (``gpu_milli`` for a GPU-sharing task, a whole GPU for the others): what ``m`` cannot use.

The node's fragmentation for the workload ``M`` is the expectation over task types,
``F_n(M) = sum_m p_m F_n(m)`` with ``p_m`` the type's share of pods; the cluster's is the sum over
nodes, and the fragmentation rate is that sum over the cluster's unallocated GPU capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from tracekit.analysis._common import GROUP, Frame, lazy

GPU_MILLI = 1000  # capacity of one GPU in the trace's unit (thousandths of a GPU)
ANY_MODEL = "*"  # a task type without a GPU-model constraint


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


# ---- the fragmentation measure ------------------------------------------------------------------
@dataclass(frozen=True)
class Workload:
    """Task types of a target workload and their popularity (the paper's ``M``).

    Attributes
    ----------
    cpu_milli, memory_mib, num_gpu, gpu_milli : numpy.ndarray
        Per type: the request (``gpu_milli`` per requested GPU).
    allowed : numpy.ndarray
        ``(types, len(models))`` booleans: may the type run on a node of each model.
    models : tuple of str
        Node models in column order of ``allowed``; ``""`` is a CPU-only node.
    count : numpy.ndarray
        Pods of each type (integers: the measure is computed exactly, then divided).
    """

    cpu_milli: np.ndarray
    memory_mib: np.ndarray
    num_gpu: np.ndarray
    gpu_milli: np.ndarray
    allowed: np.ndarray
    models: tuple[str, ...]
    count: np.ndarray

    @property
    def weight(self) -> np.ndarray:
        """Popularity of each type (sums to 1)."""
        return self.count / self.count.sum()

    @property
    def threshold_milli(self) -> np.ndarray:
        """Per type: a GPU holding less than this is of no use to it (its per-GPU request)."""
        sharing = (self.num_gpu == 1) & (self.gpu_milli < GPU_MILLI)
        return np.where(sharing, self.gpu_milli, GPU_MILLI)


def workload_from_pods(pod_specs: Frame, models: tuple[str, ...]) -> Workload:
    """Group pods into task types (request and allowed models) weighted by their share of pods.

    Parameters
    ----------
    pod_specs : polars frame
        The ``pod_specs`` table (one cluster).
    models : tuple of str
        Node models of the cluster, in the order node states use (``""`` = CPU-only node).
    """
    spec = pl.col("gpu_spec").list.sort().list.join("|").fill_null(ANY_MODEL)
    types = (
        lazy(pod_specs)
        .group_by("cpu_milli", "memory_mib", "num_gpu", "gpu_milli", spec.alias("spec"))
        .agg(pl.len().alias("n"))
        .sort("n", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "spec", descending=True)
        .collect()
    )
    if types.height == 0:
        raise ValueError("the workload has no pods")
    allowed = np.zeros((types.height, len(models)), dtype=bool)
    for i, (spec_text, num_gpu) in enumerate(zip(types["spec"], types["num_gpu"], strict=True)):
        if spec_text == ANY_MODEL:  # any GPU model; a CPU task also runs on CPU-only nodes
            ok = {m for m in models if m != "" or num_gpu == 0}
        else:
            ok = set(spec_text.split("|"))
        allowed[i] = [m in ok for m in models]
    return Workload(
        cpu_milli=types["cpu_milli"].to_numpy().astype(np.int64),
        memory_mib=types["memory_mib"].to_numpy().astype(np.int64),
        num_gpu=types["num_gpu"].to_numpy().astype(np.int64),
        gpu_milli=types["gpu_milli"].to_numpy().astype(np.int64),
        allowed=allowed,
        models=tuple(models),
        count=types["n"].to_numpy().astype(np.int64),
    )


def node_fragmentation(
    free_cpu_milli: np.ndarray,
    free_memory_mib: np.ndarray,
    free_gpu_milli: np.ndarray,
    model_index: np.ndarray,
    workload: Workload,
) -> np.ndarray:
    """Expected fragmented GPU capacity ``F_n(M)`` of each node, in thousandths of a GPU.

    Parameters
    ----------
    free_cpu_milli, free_memory_mib : numpy.ndarray
        ``(nodes,)`` unallocated CPU and memory.
    free_gpu_milli : numpy.ndarray
        ``(nodes, max GPUs per node)`` unallocated capacity of each GPU; ``-1`` where a node has
        fewer GPUs.
    model_index : numpy.ndarray
        ``(nodes,)`` column of each node's model in ``workload.allowed``.
    workload : Workload
        The target workload.

    Returns
    -------
    numpy.ndarray
        ``(nodes,)`` floats.
    """
    gpu = np.maximum(free_gpu_milli, 0)
    total = gpu.sum(axis=1)
    full = (free_gpu_milli == GPU_MILLI).sum(axis=1)
    most = gpu.max(axis=1, initial=0)
    thresholds, which = np.unique(workload.threshold_milli, return_inverse=True)
    below = gpu[:, :, None] < thresholds[None, None, :]
    partial = (gpu[:, :, None] * below).sum(axis=1)[:, which]
    wl = workload
    fits = (
        (wl.cpu_milli[None, :] <= free_cpu_milli[:, None])
        & (wl.memory_mib[None, :] <= free_memory_mib[:, None])
        & wl.allowed[:, model_index].T
    )
    sharing = (wl.num_gpu == 1) & (wl.gpu_milli < GPU_MILLI)
    gpu_fits = np.where(
        sharing[None, :], most[:, None] >= wl.gpu_milli[None, :], full[:, None] >= wl.num_gpu
    )
    usable = fits & gpu_fits & (wl.num_gpu > 0)[None, :]
    frag = np.where(usable, partial, total[:, None])
    # Integer sums are exact on every CPU (no summation-order noise in policy decisions).
    return (frag @ wl.count) / wl.count.sum()


def fragmentation(
    free_cpu_milli: np.ndarray,
    free_memory_mib: np.ndarray,
    free_gpu_milli: np.ndarray,
    model_index: np.ndarray,
    workload: Workload,
) -> dict[str, float]:
    """Cluster fragmentation: unallocated and fragmented GPUs and the fragmentation rate.

    Arguments as :func:`node_fragmentation`.

    Returns
    -------
    dict
        ``free_gpus`` (unallocated GPU capacity, in GPUs), ``fragmented_gpus`` (its expected
        part the workload cannot use) and ``fragmentation_rate`` (their ratio; 0 when nothing is
        free).
    """
    frag = node_fragmentation(
        free_cpu_milli, free_memory_mib, free_gpu_milli, model_index, workload
    )
    free = float(np.maximum(free_gpu_milli, 0).sum()) / GPU_MILLI
    fragmented = float(frag.sum()) / GPU_MILLI
    return {
        "free_gpus": free,
        "fragmented_gpus": fragmented,
        "fragmentation_rate": fragmented / free if free > 0 else 0.0,
    }


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
