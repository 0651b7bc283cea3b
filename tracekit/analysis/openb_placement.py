"""Placement of openb pods on the trace's real nodes with fractional GPUs: the experiment of
Weng et al., "Beware of Fragmentation" (USENIX ATC'23), comparing placement policies.

**Engine.** Every node has its CPU, memory and GPUs; every GPU has 1000 units (thousandths of a
GPU). A pod asking ``gpu_milli < 1000`` of one GPU takes that many units of one GPU; a pod asking
``k`` whole GPUs takes ``k`` GPUs that are entirely free. Memory and CPU must fit, and the node's
GPU model must be one the pod allows. Nothing is ever over-allocated (a tested invariant).

**Experiment (workload inflation, as in the paper).** Pods are drawn at random (with
replacement, seeded) from the trace's pod list and arrive one after another with no departures,
until the GPUs they ask for reach ``max_load`` times the cluster's GPU capacity. Each pod is
placed at once by the policy or, if it fits nowhere, fails. The curve reports, as the arrived
GPU demand grows, the **unallocated GPU share**: GPU demand of failed pods over the cluster's GPU
capacity (the paper's main figure), and the fragmentation rate of
:func:`tracekit.analysis.openb.fragmentation`.

**Policies.**

* ``best-fit``: the node left with the least remaining resources (CPU and GPU shares, summed);
  within it the tightest GPU that fits.
* ``packing``: GPU packing: a partly used GPU first, then a free GPU of a node already in use,
  then an idle node (tightest first within each class).
* ``load-balancing``: the node left with the most remaining resources; the emptiest GPU.
* ``fgd``: Fragmentation Gradient Descent: the node and GPU whose choice increases the expected
  fragmentation of the target workload the least.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from tracekit.analysis._common import Frame, lazy
from tracekit.analysis.openb import (
    GPU_MILLI,
    Workload,
    fragmentation,
    node_fragmentation,
    workload_from_pods,
)

POLICIES: tuple[str, ...] = ("best-fit", "packing", "load-balancing", "fgd")
# The pod_specs columns the study reads.
POD_COLUMNS: tuple[str, ...] = (
    "job_id", "num_gpu", "gpu_milli", "gpu_spec", "cpu_milli", "memory_mib",
)  # fmt: skip
# The machines columns the engine reads.
MACHINE_COLUMNS: tuple[str, ...] = ("machine_id", "gpu_type", "num_cpus", "mem_gb", "num_gpus")
DEFAULT_SEED = 7
#: Load step of the unallocated-GPU curve (2 % of the GPU capacity, 50 points to full load).
CURVE_STEP = 0.02
_CACHE_LIMIT = 1_000_000  # distinct node states whose fragmentation FGD remembers
# Finished inflation runs kept in this process, keyed by policy, seed, load, step and the
# content of the nodes and pods: the findings table (OB3) and the reports' curve ask for the same
# runs, and one run of FGD on the production trace takes seconds.
_RUNS: dict[tuple, InflationResult] = {}
_RUNS_LIMIT = 32


@dataclass
class Nodes:
    """Capacities and unallocated resources of every node (the engine's state).

    ``free_gpu`` is ``(nodes, max GPUs per node)`` in thousandths of a GPU, ``-1`` where a node
    has fewer GPUs. Build with :meth:`from_machines`.
    """

    machine_id: list[str]
    model_index: np.ndarray
    models: tuple[str, ...]
    cap_cpu: np.ndarray
    cap_mem: np.ndarray
    cap_gpu: np.ndarray
    free_cpu: np.ndarray = field(init=False)
    free_mem: np.ndarray = field(init=False)
    free_gpu: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.reset()

    @classmethod
    def from_machines(cls, machines: Frame) -> Nodes:
        """Nodes from the store's ``machines`` table (one cluster)."""
        m = lazy(machines).sort("machine_id").collect()
        if m.height == 0:
            raise ValueError("no machines: ingest the openb node list first")
        models = tuple(sorted({t or "" for t in m["gpu_type"].to_list()}))
        index = {t: i for i, t in enumerate(models)}
        return cls(
            machine_id=m["machine_id"].to_list(),
            model_index=np.array([index[t or ""] for t in m["gpu_type"]], dtype=np.int64),
            models=models,
            cap_cpu=np.rint(m["num_cpus"].to_numpy() * 1000).astype(np.int64),
            cap_mem=np.rint(m["mem_gb"].to_numpy() * 1024).astype(np.int64),
            cap_gpu=m["num_gpus"].to_numpy().astype(np.int64),
        )

    def reset(self) -> None:
        """Make every resource free."""
        self.free_cpu = self.cap_cpu.copy()
        self.free_mem = self.cap_mem.copy()
        width = max(int(self.cap_gpu.max(initial=0)), 1)
        slots = np.arange(width)[None, :]
        self.free_gpu = np.where(slots < self.cap_gpu[:, None], GPU_MILLI, -1).astype(np.int64)

    @property
    def gpu_capacity(self) -> int:
        """GPUs in the cluster."""
        return int(self.cap_gpu.sum())


@dataclass(frozen=True)
class Pod:
    """One pod's request."""

    job_id: str
    cpu_milli: int
    memory_mib: int
    num_gpu: int
    gpu_milli: int
    allowed: np.ndarray  # per node model

    @property
    def sharing(self) -> bool:
        """Asks for a fraction of one GPU."""
        return self.num_gpu == 1 and self.gpu_milli < GPU_MILLI

    @property
    def gpu_demand_milli(self) -> int:
        """GPU asked for, in thousandths of a GPU."""
        return self.num_gpu * self.gpu_milli


def _feasible(nodes: Nodes, pod: Pod) -> np.ndarray:
    ok = (
        (nodes.free_cpu >= pod.cpu_milli)
        & (nodes.free_mem >= pod.memory_mib)
        & pod.allowed[nodes.model_index]
    )
    if pod.num_gpu == 0:
        return ok
    if pod.sharing:
        return ok & (nodes.free_gpu.max(axis=1) >= pod.gpu_milli)
    return ok & ((nodes.free_gpu == GPU_MILLI).sum(axis=1) >= pod.num_gpu)


def _candidates(nodes: Nodes, pod: Pod, feasible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, GPU) choices: one per node for CPU and whole-GPU pods (GPU -1: the lowest free
    GPUs), one per distinct free amount of a fitting GPU for GPU-sharing pods."""
    idx = np.flatnonzero(feasible)
    if not pod.sharing:
        return idx, np.full(idx.size, -1)
    free = nodes.free_gpu[idx]
    rows, gpus = np.nonzero(free >= pod.gpu_milli)
    # GPUs of one node with the same free amount are interchangeable: keep the first.
    key = rows * (GPU_MILLI + 1) + free[rows, gpus]
    _, first = np.unique(key, return_index=True)
    first.sort()
    return idx[rows[first]], gpus[first]


def _after(nodes: Nodes, pod: Pod, node: np.ndarray, gpu: np.ndarray) -> np.ndarray:
    """Free GPU rows of the candidate nodes after placing ``pod`` on them."""
    free = nodes.free_gpu[node].copy()
    if pod.sharing:
        free[np.arange(node.size), gpu] -= pod.gpu_milli
    elif pod.num_gpu:
        # take the lowest-numbered entirely free GPUs
        full = free == GPU_MILLI
        taken = full & (np.cumsum(full, axis=1) <= pod.num_gpu)
        free[taken] = 0
    return free


def _remaining_score(nodes: Nodes, pod: Pod, node: np.ndarray) -> np.ndarray:
    """Share of CPU plus share of GPU left on each node after placing ``pod``."""
    cpu = (nodes.free_cpu[node] - pod.cpu_milli) / np.maximum(nodes.cap_cpu[node], 1)
    gpu_left = np.maximum(nodes.free_gpu[node], 0).sum(axis=1) - pod.gpu_demand_milli
    gpu = gpu_left / np.maximum(nodes.cap_gpu[node] * GPU_MILLI, 1)
    return cpu + gpu


class _Policy(abc.ABC):
    """Chooses one (node, GPU) among the candidates; ties go to the first (lowest node)."""

    name = ""

    def __init__(self, nodes: Nodes, workload: Workload) -> None:
        self.nodes = nodes
        self.workload = workload

    @abc.abstractmethod
    def choose(self, pod: Pod, node: np.ndarray, gpu: np.ndarray) -> int:
        """Index of the chosen candidate."""

    def placed(self, node: int) -> None:
        """Called after a pod lands on ``node`` (policies with per-node state update it)."""
        self.last_node = node


class _BestFit(_Policy):
    name = "best-fit"

    def choose(self, pod: Pod, node: np.ndarray, gpu: np.ndarray) -> int:
        free = self.nodes.free_gpu[node, np.maximum(gpu, 0)] * pod.sharing
        return int(np.lexsort((free, _remaining_score(self.nodes, pod, node)))[0])


class _LoadBalancing(_Policy):
    name = "load-balancing"

    def choose(self, pod: Pod, node: np.ndarray, gpu: np.ndarray) -> int:
        free = self.nodes.free_gpu[node, np.maximum(gpu, 0)] * pod.sharing
        return int(np.lexsort((-free, -_remaining_score(self.nodes, pod, node)))[0])


class _Packing(_Policy):
    name = "packing"

    def choose(self, pod: Pod, node: np.ndarray, gpu: np.ndarray) -> int:
        nodes = self.nodes
        in_use = (nodes.free_cpu[node] < nodes.cap_cpu[node]) | (
            (nodes.free_gpu[node] >= 0) & (nodes.free_gpu[node] < GPU_MILLI)
        ).any(axis=1)
        if pod.sharing:
            free = nodes.free_gpu[node, gpu]
            klass = np.where(free < GPU_MILLI, 0, np.where(in_use, 1, 2))
            tight = free
        else:
            klass = np.where(in_use, 1, 2)
            tight = _remaining_score(nodes, pod, node)
        return int(np.lexsort((tight, klass))[0])


def _distinct_rows(
    model: np.ndarray, cpu: np.ndarray, mem: np.ndarray, gpus: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index of the first row of each distinct state, every row's state number, and each
    distinct state's packed key (one row of int64).

    Rows are packed exactly into int64 keys (model, CPU and memory in one; GPU frees, each in
    0..1000 or -1, ten bits apiece, six to a key) and sorted with :func:`numpy.lexsort`, which is
    much faster than ``numpy.unique(axis=0)`` on small integer rows.
    """
    if cpu.max(initial=0) >= 1 << 24 or mem.max(initial=0) >= 1 << 30:
        rows = np.column_stack((model, cpu, mem, gpus))
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        return first, inverse.reshape(-1), rows[first]
    keys = [(model << 54) | (cpu << 30) | mem]
    shifted = gpus + 1
    for lo in range(0, gpus.shape[1], 6):
        key = np.zeros(len(model), dtype=np.int64)
        for col in range(lo, min(lo + 6, gpus.shape[1])):
            key = (key << 10) | shifted[:, col]
        keys.append(key)
    order = np.lexsort(keys[::-1])
    new = np.ones(order.size, dtype=bool)
    new[1:] = np.logical_or.reduce([key[order][1:] != key[order][:-1] for key in keys])
    inverse = np.empty(order.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    first = order[new]
    return first, inverse, np.column_stack(keys)[first]


class _FGD(_Policy):
    name = "fgd"

    def __init__(self, nodes: Nodes, workload: Workload) -> None:
        super().__init__(nodes, workload)
        self.cache: dict[tuple[int, ...], float] = {}
        self.frag = self._frag(np.arange(len(nodes.machine_id)), nodes.free_gpu)

    def _frag(
        self, node: np.ndarray, free_gpu: np.ndarray, cpu: int = 0, mem: int = 0
    ) -> np.ndarray:
        n = self.nodes
        # Identical node states (same model, CPU, memory and multiset of GPU frees) have the
        # same fragmentation: compute each distinct state once.
        model, free_cpu, free_mem = (
            n.model_index[node],
            n.free_cpu[node] - cpu,
            n.free_mem[node] - mem,
        )
        gpus = np.sort(free_gpu, axis=1)
        first, inverse, keys = _distinct_rows(model, free_cpu, free_mem, gpus)
        # States recur from pod to pod (unchanged nodes, the same request): remember them.
        names = [tuple(k) for k in keys.tolist()]
        frag = np.array([self.cache.get(k, np.nan) for k in names])
        todo = np.flatnonzero(np.isnan(frag))
        if todo.size:
            rows = first[todo]
            frag[todo] = node_fragmentation(
                free_cpu[rows], free_mem[rows], gpus[rows], model[rows], self.workload
            )
            if len(self.cache) > _CACHE_LIMIT:
                self.cache.clear()
            self.cache.update(zip((names[i] for i in todo), frag[todo].tolist(), strict=True))
        return frag[inverse]

    def choose(self, pod: Pod, node: np.ndarray, gpu: np.ndarray) -> int:
        after = self._frag(node, _after(self.nodes, pod, node, gpu), pod.cpu_milli, pod.memory_mib)
        return int(np.argmin(after - self.frag[node]))

    def placed(self, node: int) -> None:
        super().placed(node)
        self.frag[node] = self._frag(np.array([node]), self.nodes.free_gpu[[node]])[0]


_POLICIES: dict[str, type[_Policy]] = {
    p.name: p for p in (_BestFit, _Packing, _LoadBalancing, _FGD)
}


def make_policy(name: str, nodes: Nodes, workload: Workload) -> _Policy:
    """The placement policy ``name`` (one of :data:`POLICIES`) working on ``nodes``."""
    if name not in _POLICIES:
        raise ValueError(f"unknown placement policy {name!r}; choose one of {POLICIES}")
    return _POLICIES[name](nodes, workload)


def place(nodes: Nodes, pod: Pod, policy: _Policy) -> tuple[int, list[int]] | None:
    """Place ``pod`` with ``policy``; returns (node, GPUs taken) or None when it fits nowhere."""
    feasible = _feasible(nodes, pod)
    if not feasible.any():
        return None
    node_c, gpu_c = _candidates(nodes, pod, feasible)
    k = policy.choose(pod, node_c, gpu_c)
    node = int(node_c[k])
    before = nodes.free_gpu[node].copy()
    nodes.free_gpu[node] = _after(nodes, pod, node_c[k : k + 1], gpu_c[k : k + 1])[0]
    nodes.free_cpu[node] -= pod.cpu_milli
    nodes.free_mem[node] -= pod.memory_mib
    policy.placed(node)
    return node, [int(g) for g in np.flatnonzero(nodes.free_gpu[node] != before)]


@dataclass(frozen=True)
class InflationResult:
    """Outcome of one inflation run.

    Attributes
    ----------
    curve : polars.DataFrame
        One row per load step: ``policy, seed, arrived_share`` (arrived GPU demand over GPU
        capacity), ``allocated_share``, ``unallocated_share`` (failed GPU demand over capacity),
        ``free_gpus``, ``fragmented_gpus``, ``fragmentation_rate``.
    placements : polars.DataFrame
        One row per arrived pod: ``seq, job_id, node`` (null when it failed), ``gpus`` (list of
        GPU indices on the node), ``gpu_milli`` (units taken on each), ``cpu_milli``,
        ``memory_mib``.
    """

    curve: pl.DataFrame
    placements: pl.DataFrame


def pods_from_specs(pod_specs: Frame, models: tuple[str, ...]) -> list[Pod]:
    """One :class:`Pod` per row of ``pod_specs`` (sorted by ``job_id``), with the node models it
    may use (``models`` as in :attr:`Nodes.models`)."""
    specs = lazy(pod_specs).sort("job_id").collect()
    index = {m: i for i, m in enumerate(models)}
    out = []
    for row in specs.iter_rows(named=True):
        allowed = np.zeros(len(models), dtype=bool)
        if row["gpu_spec"] is None:
            allowed[:] = [m != "" or row["num_gpu"] == 0 for m in models]
        else:
            allowed[[index[m] for m in row["gpu_spec"] if m in index]] = True
        out.append(
            Pod(
                row["job_id"],
                int(row["cpu_milli"]),
                int(row["memory_mib"]),
                int(row["num_gpu"]),
                int(row["gpu_milli"]),
                allowed,
            )
        )
    return out


def simulate_inflation(
    machines: Frame,
    pod_specs: Frame,
    policy: str = "fgd",
    *,
    max_load: float = 1.0,
    step: float = CURVE_STEP,
    seed: int = DEFAULT_SEED,
) -> InflationResult:
    """Replay randomly drawn pods on the nodes until their GPU demand reaches ``max_load``.

    Parameters
    ----------
    machines : polars frame
        The store's ``machines`` table for one cluster (the nodes).
    pod_specs : polars frame
        The store's ``pod_specs`` for one cluster: the pods to draw from, and the target
        workload of the fragmentation measure.
    policy : str
        One of :data:`POLICIES`.
    max_load : float
        Stop once the arrived GPU demand reaches this multiple of the GPU capacity.
    step : float
        Record the curve every ``step`` of arrived load.
    seed : int
        Seed of the draw; the same seed draws the same pods for every policy.

    Returns
    -------
    InflationResult
    """
    if max_load <= 0 or step <= 0:
        raise ValueError("max_load and step must be positive")
    # only the columns the engine reads make the key, so callers selecting more or fewer agree
    machines = lazy(machines).select(MACHINE_COLUMNS).collect()
    pod_specs = lazy(pod_specs).select(POD_COLUMNS).collect()
    key = (policy, seed, max_load, step, _fingerprint(machines), _fingerprint(pod_specs))
    if key not in _RUNS:
        if len(_RUNS) >= _RUNS_LIMIT:
            _RUNS.pop(next(iter(_RUNS)))
        _RUNS[key] = _inflate(machines, pod_specs, policy, max_load, step, seed)
    done = _RUNS[key]
    return InflationResult(done.curve.clone(), done.placements.clone())


def _fingerprint(frame: pl.DataFrame) -> tuple[int, int, tuple[str, ...]]:
    """Rows, a hash of every row and the columns: equal content gives an equal key."""
    total = int(frame.hash_rows(seed=0).sum()) if frame.height else 0
    return frame.height, total, tuple(frame.columns)


def _inflate(
    machines: pl.DataFrame,
    pod_specs: pl.DataFrame,
    policy: str,
    max_load: float,
    step: float,
    seed: int,
) -> InflationResult:
    """One inflation run (see :func:`simulate_inflation`)."""
    nodes = Nodes.from_machines(machines)
    pods = pods_from_specs(pod_specs, nodes.models)
    if not pods:
        raise ValueError("no pods to place: ingest an openb pod list first")
    if not any(p.num_gpu for p in pods):
        raise ValueError("no pod asks for a GPU: the GPU load can never grow")
    workload = workload_from_pods(pod_specs, nodes.models)
    chooser = make_policy(policy, nodes, workload)
    capacity_milli = nodes.gpu_capacity * GPU_MILLI
    if capacity_milli == 0:
        raise ValueError("the cluster has no GPUs")
    rng = np.random.default_rng(seed)
    arrived = allocated = 0
    next_mark = step
    curve: list[dict[str, float]] = []
    rows: list[tuple] = []
    while arrived < max_load * capacity_milli:
        pod = pods[int(rng.integers(len(pods)))]
        where = place(nodes, pod, chooser)
        arrived += pod.gpu_demand_milli
        share = pod.gpu_milli if pod.sharing else (GPU_MILLI if pod.num_gpu else 0)
        if where is not None:
            allocated += pod.gpu_demand_milli
        rows.append(
            (len(rows), pod.job_id, None if where is None else where[0],
             [] if where is None else where[1], share, pod.cpu_milli, pod.memory_mib)
        )  # fmt: skip
        while arrived >= next_mark * capacity_milli - 1e-9:
            frag = fragmentation(
                nodes.free_cpu, nodes.free_mem, nodes.free_gpu, nodes.model_index, workload
            )
            curve.append(
                {
                    "arrived_share": round(next_mark, 6),
                    "allocated_share": allocated / capacity_milli,
                    "unallocated_share": (arrived - allocated) / capacity_milli,
                    **frag,
                }
            )
            next_mark += step
    curve_frame = pl.DataFrame(curve).select(
        pl.lit(policy).alias("policy"), pl.lit(seed).alias("seed"), pl.all()
    )
    placements = pl.DataFrame(
        rows,
        schema={
            "seq": pl.Int64,
            "job_id": pl.String,
            "node": pl.Int64,
            "gpus": pl.List(pl.Int64),
            "gpu_milli": pl.Int64,
            "cpu_milli": pl.Int64,
            "memory_mib": pl.Int64,
        },
        orient="row",
    )
    return InflationResult(curve_frame, placements)


def compare_policies(
    machines: Frame,
    pod_specs: Frame,
    policies: Sequence[str] = POLICIES,
    *,
    seeds: Sequence[int] = (DEFAULT_SEED,),
    max_load: float = 1.0,
    step: float = CURVE_STEP,
) -> pl.DataFrame:
    """The unallocated-GPU curve of every policy (and seed) on the same draws of pods.

    Returns
    -------
    polars.DataFrame
        The ``curve`` frames of :func:`simulate_inflation`, stacked.
    """
    frames = [
        simulate_inflation(machines, pod_specs, p, max_load=max_load, step=step, seed=s).curve
        for p in policies
        for s in seeds
    ]
    return pl.concat(frames)


def unallocated_at(curve: pl.DataFrame, load: float = 1.0) -> pl.DataFrame:
    """Mean (over seeds) unallocated GPU share and fragmentation rate of each policy at ``load``.

    Returns
    -------
    polars.DataFrame
        ``policy, arrived_share, unallocated_share, fragmentation_rate, seeds``, lowest
        unallocated share first.
    """
    at = curve.filter((pl.col("arrived_share") - load).abs() < 1e-6)
    return (
        at.group_by("policy", maintain_order=True)
        .agg(
            pl.col("arrived_share").first(),
            pl.col("unallocated_share").mean(),
            pl.col("fragmentation_rate").mean(),
            pl.len().alias("seeds"),
        )
        .sort("unallocated_share", "policy")
    )


__all__ = [
    "CURVE_STEP",
    "DEFAULT_SEED",
    "POD_COLUMNS",
    "POLICIES",
    "InflationResult",
    "Nodes",
    "Pod",
    "compare_policies",
    "make_policy",
    "place",
    "pods_from_specs",
    "simulate_inflation",
    "unallocated_at",
]
