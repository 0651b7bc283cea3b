"""GPU fragmentation as defined by Weng et al., "Beware of Fragmentation: Scheduling
GPU-Sharing Workloads with Fragmentation Gradient Descent" (USENIX ATC'23).

For a node ``n`` and a task type ``m`` of the target workload, the fragmented GPU capacity
``F_n(m)`` is

* all of the node's unallocated GPU capacity when ``m`` cannot run there (too little CPU or
  memory, a GPU model ``m`` may not use, not enough GPU) or asks for no GPU at all;
* otherwise, the unallocated capacity of the GPUs that hold less than ``m``'s per-GPU request
  (``gpu_milli`` thousandths of a GPU): what ``m`` cannot use.

The node's fragmentation for the workload ``M`` is the expectation over task types,
``F_n(M) = sum_m p_m F_n(m)`` with ``p_m`` the type's share of tasks; the cluster's is the sum
over nodes, and the fragmentation rate is that sum over the cluster's unallocated GPU capacity.

This module is the one home of the measure: the ``fgd`` placement scores nodes with it, the
openb placement study (:mod:`tracekit.replay.studies.openb`) reports it, and
:mod:`tracekit.analysis.openb` re-exports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

GPU_MILLI = 1000
"""Capacity of one GPU in thousandths of a GPU (the unit of the openb trace and of the engine)."""
ANY_MODEL = "*"
"""Spelling of "no GPU-model constraint" in a task type's key."""


@dataclass(frozen=True)
class Workload:
    """Task types of a target workload and their popularity (the paper's ``M``).

    Attributes
    ----------
    cpu_milli, memory_mib, num_gpu, gpu_milli : numpy.ndarray
        Per type: the request (``gpu_milli`` per requested GPU; 0 GPUs for a CPU task).
    allowed : numpy.ndarray
        ``(types, len(models))`` booleans: may the type run on a node of each model.
    models : tuple of str
        Node models (the pool's groups) in column order of ``allowed``.
    count : numpy.ndarray
        Tasks of each type (integers: the measure is computed exactly, then divided).
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
        return np.where(self.num_gpu > 0, self.gpu_milli, GPU_MILLI)

    @cached_property
    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Distinct thresholds, each type's threshold column, GPU types, ``allowed`` by model
        (computed once: the measure runs thousands of times on a few nodes each)."""
        thresholds, which = np.unique(self.threshold_milli, return_inverse=True)
        return thresholds, which.reshape(-1), self.num_gpu > 0, np.ascontiguousarray(self.allowed.T)

    @classmethod
    def from_requests(
        cls,
        cpu_milli: np.ndarray,
        memory_mib: np.ndarray,
        num_gpu: np.ndarray,
        gpu_milli: np.ndarray,
        allowed: np.ndarray,
        models: Sequence[str],
    ) -> Workload:
        """Group tasks with the same request and allowed models into types.

        Parameters
        ----------
        cpu_milli, memory_mib, num_gpu, gpu_milli : array-like
            Per task: CPU (thousandths of a core), memory (MiB), GPUs, and thousandths of a GPU
            asked on each of them.
        allowed : numpy.ndarray
            ``(tasks, len(models))`` booleans.
        models : sequence of str
            Node models in column order of ``allowed``.
        """
        allowed = np.asarray(allowed, dtype=bool).reshape(len(num_gpu), len(models))
        bits = np.packbits(allowed, axis=1, bitorder="little")
        rows = np.column_stack(
            [np.asarray(x, dtype=np.int64) for x in (cpu_milli, memory_mib, num_gpu, gpu_milli)]
            + [bits.astype(np.int64)]
        )
        types, first, count = np.unique(rows, axis=0, return_index=True, return_counts=True)
        # Most popular types first (a fixed order; the measure does not depend on it).
        order = np.lexsort((*types.T[::-1], -count))
        first, count = first[order], count[order]
        return cls(
            cpu_milli=rows[first, 0],
            memory_mib=rows[first, 1],
            num_gpu=rows[first, 2],
            gpu_milli=rows[first, 3],
            allowed=allowed[first],
            models=tuple(models),
            count=count.astype(np.int64),
        )


def workload_from_pods(pod_specs: Any, models: Sequence[str]) -> Workload:
    """The task types of an openb ``pod_specs`` table (one cluster), weighted by pod counts.

    Parameters
    ----------
    pod_specs : polars DataFrame or LazyFrame
        ``cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec`` (``gpu_spec``: the list of GPU
        models a pod may use, null for any).
    models : sequence of str
        Node models of the cluster (the pool's groups), in the order node states use. A pod
        without a constraint may use every model (machines without GPUs hold no GPU capacity,
        so they never count as fragmented).
    """
    frame = pod_specs.lazy() if isinstance(pod_specs, pl.DataFrame) else pod_specs
    spec = pl.col("gpu_spec").list.sort().list.join("|").fill_null(ANY_MODEL)
    types = (
        frame.group_by("cpu_milli", "memory_mib", "num_gpu", "gpu_milli", spec.alias("spec"))
        .agg(pl.len().alias("n"))
        .sort("n", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "spec", descending=True)
        .collect()
    )
    if types.height == 0:
        raise ValueError("the workload has no pods")
    allowed = np.zeros((types.height, len(models)), dtype=bool)
    for i, spec_text in enumerate(types["spec"]):
        ok = set(models) if spec_text == ANY_MODEL else set(spec_text.split("|"))
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
    return (
        weighted_fragmentation(
            free_cpu_milli, free_memory_mib, free_gpu_milli, model_index, workload
        )
        / workload.count.sum()
    )


def weighted_fragmentation(
    free_cpu_milli: np.ndarray,
    free_memory_mib: np.ndarray,
    free_gpu_milli: np.ndarray,
    model_index: np.ndarray,
    workload: Workload,
) -> np.ndarray:
    """``F_n(M)`` times the workload's task count (arguments as :func:`node_fragmentation`):
    integers, so comparisons between nodes are exact on every CPU."""
    wl = workload
    thresholds, which, gpu_task, allowed = wl._tables
    gpu = np.maximum(free_gpu_milli, 0)
    total = gpu.sum(axis=1)
    below = gpu[:, :, None] < thresholds[None, None, :]
    # Per threshold: the capacity of the GPUs below it, and how many GPUs reach it.
    partial = (gpu[:, :, None] * below).sum(axis=1)[:, which]
    enough = (gpu.shape[1] - np.count_nonzero(below, axis=1))[:, which]
    fits = (
        (wl.cpu_milli[None, :] <= free_cpu_milli[:, None])
        & (wl.memory_mib[None, :] <= free_memory_mib[:, None])
        & allowed[model_index]
    )
    usable = fits & (enough >= wl.num_gpu[None, :]) & gpu_task[None, :]
    frag = np.where(usable, partial, total[:, None])
    # Integer sums are exact on every CPU (no summation-order noise in policy decisions).
    return frag @ wl.count


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
    weighted = weighted_fragmentation(
        free_cpu_milli, free_memory_mib, free_gpu_milli, model_index, workload
    )
    free = float(np.maximum(free_gpu_milli, 0).sum()) / GPU_MILLI
    fragmented = int(weighted.sum()) / int(workload.count.sum()) / GPU_MILLI
    return {
        "free_gpus": free,
        "fragmented_gpus": fragmented,
        "fragmentation_rate": fragmented / free if free > 0 else 0.0,
    }


__all__ = [
    "ANY_MODEL",
    "GPU_MILLI",
    "Workload",
    "fragmentation",
    "node_fragmentation",
    "weighted_fragmentation",
    "workload_from_pods",
]
