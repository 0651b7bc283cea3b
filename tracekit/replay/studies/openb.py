"""The openb placement study: the workload-inflation experiment of Weng et al., "Beware of
Fragmentation: Scheduling GPU-Sharing Workloads with Fragmentation Gradient Descent" (USENIX
ATC'23), replayed on the trace's real nodes with the shared-GPU engine.

**Experiment.** Pods are drawn at random (with replacement, seeded) from the trace's pod list and
arrive one a second, with no departures, until the GPUs they ask for reach ``max_load`` times the
cluster's GPU capacity. :func:`tracekit.replay.replay` places each on one node with a node
placement (``best-fit``, ``packing``, ``load-balancing`` or ``fgd``); a pod that fits nowhere
stays pending and, as nothing ever leaves, never starts. The curve reports, at every ``step`` of
arrived GPU demand, the **unallocated GPU share** (GPU demand of the pending pods over the
cluster's GPU capacity: the paper's main figure) and the fragmentation rate of the nodes
(:func:`tracekit.replay.placements.fragmentation.fragmentation`, target workload = the pod
list).

**Pods and nodes.** Nodes come from the store's ``machines`` table
(:meth:`~tracekit.replay.resources.GPUPool.from_machines`: GPU model, GPUs, CPU, memory; nodes
without GPUs host CPU pods), pods from its ``pod_specs`` table: a pod asking ``gpu_milli`` < 1000
of one GPU takes that many thousandths of one GPU; a pod asking ``k`` GPUs takes ``k`` entirely
free GPUs of one node; CPU (``cpu_milli``), memory (``memory_mib``) and the allowed GPU models
(``gpu_spec``) must fit. Nothing is ever over-allocated (the engine's ledger checks every change,
and the tests check the output).

The study takes the two tables as frames (the ``machines`` and ``pod_specs`` rows of one openb
cluster of the store): reading the store is the caller's, as for the openb findings and the
benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from tracekit.replay.placements import NODE_PLACEMENTS, NodeState, Request, make_placement
from tracekit.replay.placements.base import UNITS
from tracekit.replay.placements.fragmentation import fragmentation, workload_from_pods
from tracekit.replay.resources import GROUP_SEPARATOR, GPUPool
from tracekit.replay.results import ReplayResult
from tracekit.replay.run import replay

COMPARED: tuple[str, ...] = ("best-fit", "packing", "load-balancing", "fgd")
"""The placements the paper compares (FGD and its three baselines)."""
POD_COLUMNS: tuple[str, ...] = (
    "job_id", "num_gpu", "gpu_milli", "gpu_spec", "cpu_milli", "memory_mib",
)  # fmt: skip
"""The ``pod_specs`` columns the study reads."""
DEFAULT_SEED = 7


@dataclass(frozen=True)
class InflationResult:
    """Outcome of one inflation run.

    Attributes
    ----------
    curve : polars.DataFrame
        One row per load step: ``placement, seed, arrived_share`` (arrived GPU demand over GPU
        capacity), ``allocated_share``, ``unallocated_share`` (GPU demand of pending pods over
        capacity), ``free_gpus``, ``fragmented_gpus``, ``fragmentation_rate``.
    pods : polars.DataFrame
        One row per arrived pod, in arrival order: ``seq, job_id, node`` (machine id, null when
        it never started), ``node_gpus`` (GPUs of the node it took), ``gpu_milli`` (thousandths
        taken on each), ``cpu_milli, memory_mib``.
    replay : ReplayResult
        The replay itself (per-pod table, configuration).
    """

    curve: pl.DataFrame
    pods: pl.DataFrame
    replay: ReplayResult


def _frame(data: Any, columns: Sequence[str]) -> pl.DataFrame:
    frame = data.collect() if isinstance(data, pl.LazyFrame) else data
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"missing columns {missing}; need {', '.join(columns)}")
    return frame


def inflation_jobs(
    pod_specs: pl.DataFrame | pl.LazyFrame,
    capacity_gpus: float,
    *,
    max_load: float = 1.0,
    seed: int = DEFAULT_SEED,
    groups: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The replay job table of one inflation run: pods drawn until ``max_load`` x capacity.

    Pods are drawn (seeded, with replacement) from ``pod_specs`` sorted by ``job_id`` until the
    GPUs they ask for reach ``max_load x capacity_gpus``; the ``i``-th arrives at second ``i``
    and would run far beyond the last arrival.

    Parameters
    ----------
    pod_specs : polars frame
        ``job_id, num_gpu, gpu_milli, gpu_spec, cpu_milli, memory_mib``.
    capacity_gpus : float
        GPUs of the cluster.
    max_load : float
        Arrived GPU demand at which the draw stops, as a multiple of the capacity.
    seed : int
        Seed of the draw (the same seed draws the same pods for every placement).
    groups : sequence of str, optional
        The pool's groups: models a pod may use that the nodes do not have are dropped from its
        ``group``.

    Returns
    -------
    polars.DataFrame
        ``job_id, submit_time, duration_s, num_gpus, num_cpus, mem_gb, group, util`` plus
        ``seq`` and ``gpu_milli_demand`` (thousandths of a GPU the pod asks in all).
    """
    if max_load <= 0:
        raise ValueError(f"max_load must be positive, got {max_load}")
    specs = _frame(pod_specs, POD_COLUMNS).sort("job_id")
    if specs.height == 0:
        raise ValueError("no pods to place: ingest an openb pod list first")
    k = specs["num_gpu"].cast(pl.Int64).to_numpy()
    milli = specs["gpu_milli"].cast(pl.Int64).to_numpy()
    # A pod of one GPU asks gpu_milli of it; a pod of k > 1 GPUs asks k whole GPUs.
    demand = np.where(k == 1, milli, k * UNITS)
    if not demand.any():
        raise ValueError("no pod asks for a GPU: the GPU load can never grow")
    target = max_load * capacity_gpus * UNITS
    rng = np.random.default_rng(seed)
    drawn: list[np.ndarray] = []
    total = 0
    # Draw in chunks (one stream: the same pods as drawing one at a time) until the demand is met.
    while total < target:
        chunk = rng.integers(specs.height, size=max(64, int((target - total) / demand.mean())))
        cum = total + np.cumsum(demand[chunk])
        stop = int(np.searchsorted(cum, target - 1e-9, side="left"))
        if stop < chunk.size:
            drawn.append(chunk[: stop + 1])
            break
        drawn.append(chunk)
        total = int(cum[-1])
    pick = np.concatenate(drawn)
    n = pick.size
    spec = specs["gpu_spec"]
    if groups is not None:
        known = set(groups)
        spec = spec.list.eval(pl.element().filter(pl.element().is_in(list(known))))
        # A pod whose models are all absent keeps them: it can never run (and stays pending).
        spec = pl.select(pl.when(spec.list.len() > 0).then(spec).otherwise(specs["gpu_spec"]))
        spec = spec.to_series()
    group = spec.list.join(GROUP_SEPARATOR)
    chosen = specs.select("job_id", "cpu_milli", "memory_mib").with_columns(
        group.alias("group"), pl.Series("gpus", np.where(k == 1, milli / UNITS, k), pl.Float64)
    )[pick]
    return chosen.select(
        pl.int_range(n, dtype=pl.Int64).alias("seq"),
        (pl.col("job_id") + "#" + pl.int_range(n).cast(pl.String)).alias("job_id"),
        pl.int_range(n).cast(pl.Float64).alias("submit_time"),
        pl.lit(2.0 * n + 1.0).alias("duration_s"),
        pl.col("gpus").alias("num_gpus"),
        (pl.col("cpu_milli") / 1000.0).alias("num_cpus"),
        (pl.col("memory_mib") / 1024.0).alias("mem_gb"),
        "group",
        pl.lit(0.0).alias("util"),
        pl.Series("gpu_milli_demand", demand[pick], pl.Int64),
    )


def inflation(
    machines: pl.DataFrame | pl.LazyFrame,
    pod_specs: pl.DataFrame | pl.LazyFrame,
    placement: str = "fgd",
    *,
    max_load: float = 1.0,
    step: float = 0.02,
    seed: int = DEFAULT_SEED,
) -> InflationResult:
    """Replay randomly drawn pods on the nodes, without departures, up to ``max_load``.

    Parameters
    ----------
    machines : polars frame
        The store's ``machines`` table for one cluster (the nodes).
    pod_specs : polars frame
        The store's ``pod_specs`` for one cluster: the pods to draw from, and the target
        workload of the fragmentation measure.
    placement : str
        A node placement: ``best-fit``, ``packing``, ``load-balancing`` or ``fgd``.
    max_load : float
        Stop once the arrived GPU demand reaches this multiple of the GPU capacity.
    step : float
        Record the curve every ``step`` of arrived load.
    seed : int
        Seed of the draw; the same seed draws the same pods for every placement.

    Returns
    -------
    InflationResult
    """
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    if placement not in NODE_PLACEMENTS:
        raise ValueError(
            f"unknown node placement {placement!r}; choose one of {', '.join(NODE_PLACEMENTS)}"
        )
    machine_cols = ("machine_id", "num_gpus", "gpu_type", "num_cpus", "mem_gb")
    pool = GPUPool.from_machines(_frame(machines, machine_cols), source="openb nodes")
    if pool.total_gpus == 0:
        raise ValueError("the cluster has no GPUs")
    specs = _frame(pod_specs, POD_COLUMNS)
    jobs = inflation_jobs(specs, pool.total_gpus, max_load=max_load, seed=seed, groups=pool.groups)
    workload = workload_from_pods(specs, pool.groups)
    placer = make_placement(placement, **({"workload": workload} if placement == "fgd" else {}))
    # The table is built here from validated store rows; nothing to repair.
    result = replay(
        jobs.drop("seq", "gpu_milli_demand"), pool, "fifo", placement=placer,
        max_jobs_per_gpu=UNITS, share_by="request", slowdown=0.0, until=float(jobs.height),
        seed=seed, validate=False,
    )  # fmt: skip
    out = result.jobs
    pods = pl.DataFrame(
        {
            "seq": jobs["seq"],
            "job_id": jobs["job_id"],
            "node": out["node"],
            "node_gpus": out["node_gpus"],
            "gpu_milli": (out["share"] * UNITS).round(0).cast(pl.Int64),
            "cpu_milli": (jobs["num_cpus"] * 1000).round(0).cast(pl.Int64),
            "memory_mib": (jobs["mem_gb"] * 1024).round(0).cast(pl.Int64),
        }
    )
    curve = _curve(pool, pods, jobs["gpu_milli_demand"].to_numpy(), workload, max_load, step)
    curve = curve.select(
        pl.lit(placement).alias("placement"), pl.lit(seed, pl.Int64).alias("seed"), pl.all()
    )
    return InflationResult(curve, pods, result)


def _curve(
    pool: GPUPool,
    pods: pl.DataFrame,
    demand: np.ndarray,
    workload: Any,
    max_load: float,
    step: float,
) -> pl.DataFrame:
    """The load-step curve: shares from cumulative sums, fragmentation from the node ledger
    rebuilt pod by pod up to each step."""
    capacity = pool.total_gpus * UNITS
    placed = pods["node"].is_not_null().to_numpy()
    arrived = np.cumsum(demand)
    allocated = np.cumsum(np.where(placed, demand, 0))
    marks = []
    i = 1
    while True:
        mark = round(i * step, 9)
        at = int(np.searchsorted(arrived, mark * capacity - 1e-9, side="left"))
        if at >= arrived.size:
            break
        marks.append((mark, at))
        i += 1
    ledger = NodeState(pool, UNITS)
    index = {name: i for i, name in enumerate(ledger.names)}
    node = [index.get(x, -1) if x is not None else -1 for x in pods["node"].to_list()]
    cols = pods["node_gpus"].to_list()
    units = pods["gpu_milli"].to_list()
    cpu, mem = pods["cpu_milli"].to_list(), pods["memory_mib"].to_list()
    rows = []
    done = 0
    for mark, at in marks:
        for p in range(done, at + 1):
            if node[p] >= 0:
                gpus = np.asarray(cols[p], dtype=np.int64)
                ledger.take(node[p], gpus, Request(units[p], len(gpus), cpu[p], mem[p]))
        done = at + 1
        frag = fragmentation(ledger.free_cpu, ledger.free_mem, ledger.free, ledger.group, workload)
        rows.append(
            {
                "arrived_share": mark,
                "allocated_share": allocated[at] / capacity,
                "unallocated_share": (arrived[at] - allocated[at]) / capacity,
                **frag,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "arrived_share": pl.Float64,
            "allocated_share": pl.Float64,
            "unallocated_share": pl.Float64,
            "free_gpus": pl.Float64,
            "fragmented_gpus": pl.Float64,
            "fragmentation_rate": pl.Float64,
        },
    )


def compare_placements(
    machines: pl.DataFrame | pl.LazyFrame,
    pod_specs: pl.DataFrame | pl.LazyFrame,
    placements: Sequence[str] = COMPARED,
    *,
    seeds: Sequence[int] = (DEFAULT_SEED,),
    max_load: float = 1.0,
    step: float = 0.02,
) -> pl.DataFrame:
    """The unallocated-GPU curve of every placement (and seed) on the same draws of pods.

    Returns
    -------
    polars.DataFrame
        The ``curve`` frames of :func:`inflation`, stacked.
    """
    machines = machines.collect() if isinstance(machines, pl.LazyFrame) else machines
    pod_specs = pod_specs.collect() if isinstance(pod_specs, pl.LazyFrame) else pod_specs
    return pl.concat(
        inflation(machines, pod_specs, p, max_load=max_load, step=step, seed=s).curve
        for p in placements
        for s in seeds
    )


def unallocated_at(curve: pl.DataFrame, load: float = 1.0) -> pl.DataFrame:
    """Mean (over seeds) unallocated GPU share and fragmentation rate of each placement at
    ``load``.

    Returns
    -------
    polars.DataFrame
        ``placement, arrived_share, unallocated_share, fragmentation_rate, seeds``, lowest
        unallocated share first.
    """
    at = curve.filter((pl.col("arrived_share") - load).abs() < 1e-6)
    return (
        at.group_by("placement", maintain_order=True)
        .agg(
            pl.col("arrived_share").first(),
            pl.col("unallocated_share").mean(),
            pl.col("fragmentation_rate").mean(),
            pl.len().alias("seeds"),
        )
        .sort("unallocated_share", "placement")
    )


__all__ = [
    "COMPARED",
    "DEFAULT_SEED",
    "POD_COLUMNS",
    "InflationResult",
    "compare_placements",
    "inflation",
    "inflation_jobs",
    "unallocated_at",
]
