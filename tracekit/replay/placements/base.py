"""The placement seam of the shared-GPU engine: where a job that may start now goes.

Two kinds of placement exist, and each placement class says which it is (:attr:`Placement.scope`):

* **Group placements** (:class:`GroupPlacement`: ``pack``, ``balance``) choose GPUs inside one
  group (a GPU type or a VC) of a :class:`~tracekit.replay.resources.GPUPool`; a gang of ``k``
  slots may take GPUs of several machines of the group, and CPU and memory are not modelled
  (Alibaba PAI's scheduler, Lucid). They read the engine's per-GPU arrays through
  :class:`GroupView`.
* **Node placements** (:class:`NodePlacement`: ``best-fit``, ``packing``, ``load-balancing``,
  ``fgd``) put every job on one node, within the node's CPU, memory and GPUs and on a GPU model
  the job allows (the Alibaba GPU-sharing trace, Weng et al., ATC'23). The engine lists the
  feasible choices (:meth:`NodeState.candidates`: one per node, or, for a job asking a fraction
  of one GPU, one per node and distinct free amount of a GPU that fits) and the placement picks
  one; it reads the node ledger (:class:`NodeState`) and may keep its own state up to date in
  :meth:`NodePlacement.update`.

Units: one GPU is :data:`UNITS` (1,000) units, CPU is in thousandths of a core, memory in MiB, so
every ledger sum is an exact integer. Adding a placement is one file in this folder plus one line
in the registry (``tracekit/replay/placements/__init__.py``).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import ClassVar, NamedTuple, Protocol

import numpy as np

from tracekit.replay.resources import GPUPool

UNITS = 1000
"""Capacity units per GPU: shares are whole units, so sums never drift past one GPU."""


class Request(NamedTuple):
    """What one job asks of a node: ``k`` GPUs of ``units`` each (``k = 0``: no GPU), CPU in
    thousandths of a core and memory in MiB."""

    units: int
    k: int
    cpu_milli: int
    memory_mib: int

    @property
    def sharing(self) -> bool:
        """Asks for a fraction of one GPU."""
        return self.k == 1 and self.units < UNITS


class Requests(NamedTuple):
    """The requests of every job of a replay (arrays indexed by job), for placements that look
    at the whole workload (FGD's target workload)."""

    units: np.ndarray
    k: np.ndarray
    cpu_milli: np.ndarray
    memory_mib: np.ndarray
    allowed: np.ndarray  # (jobs, groups) booleans


class Placement:
    """Base class of the shared-GPU placements.

    Attributes
    ----------
    name : str
        Registry name.
    kernel : str or None
        The compiled core's kernel the class declares (None: the Python engine).
    summary : str
        One line for ``tracekit replay --help`` and :func:`~tracekit.replay.placements.describe`.
    scope : {"group", "node"}
        Group placements spread a gang over a group's machines; node placements put a job on
        one node within its CPU and memory (see the module docstring).
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    scope: ClassVar[str] = "group"
    #: The compiled core's kernel of this placement (its registry name), or None: the Python
    #: engine. A subclass inherits none unless it declares one itself (it may change
    #: choices the kernel would not see).
    kernel: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "kernel" not in cls.__dict__:
            cls.kernel = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# ---- group placements ---------------------------------------------------------------------------
class GroupView(Protocol):
    """What a group placement reads of the engine (per-GPU arrays, GPUs of a group contiguous).

    ``units[j]``/``k[j]``: a job's slot size and slot count; ``allowed[j]``: its groups in search
    order; ``glo[g]:ghi[g]``: the GPUs of group ``g``; ``free``/``nj``: free units and jobs per
    GPU; ``max_jobs``: most jobs on one GPU; ``machine_of``/``machine_used``: each GPU's
    machine and the units allocated on each machine; ``fits(g, units, k, empty)``: whether group
    ``g`` has ``k`` open GPUs with ``units`` free (entirely free when ``empty``).
    """

    units: np.ndarray
    k: np.ndarray
    allowed: list[list[int]]
    glo: list[int]
    ghi: list[int]
    free: np.ndarray
    nj: np.ndarray
    max_jobs: int
    machine_of: np.ndarray
    machine_used: np.ndarray

    def fits(self, g: int, units: int, k: int, empty: bool) -> bool: ...


class GroupPlacement(Placement, abc.ABC):
    """A placement inside one group of GPUs (see the module docstring)."""

    scope = "group"

    @abc.abstractmethod
    def choose(self, pool: GroupView, j: int, empty: bool) -> np.ndarray | None:
        """GPUs (engine indices) for job ``j``, or ``None`` if it cannot start now.

        ``empty``: only entirely free GPUs (a packing policy keeps partners for itself).
        """


def best_gpus(
    pool: GroupView, lo: int, hi: int, units: int, k: int, empty: bool, fullest: bool
) -> np.ndarray | None:
    """The ``k`` GPUs of ``lo:hi`` a job of ``units`` per slot takes: the fullest GPUs that fit
    on the fullest machines (``fullest``), or the emptiest on the least used; GPU index last."""
    free = pool.free[lo:hi]
    ok = (free >= (UNITS if empty else units)) & (pool.nj[lo:hi] < pool.max_jobs)
    idx = np.flatnonzero(ok)
    if len(idx) < k:
        return None
    gpu = idx + lo
    mload = pool.machine_used[pool.machine_of[gpu]]
    if fullest:
        order = np.lexsort((gpu, -mload, free[idx]))
    else:
        order = np.lexsort((gpu, mload, -free[idx]))
    return gpu[order[:k]]


# ---- node placements ----------------------------------------------------------------------------
class NodeState:
    """The node ledger of a pool that knows its nodes: free CPU, memory and GPU units per node.

    Arrays are indexed by node, in the pool's node order (``GPUPool.node_list()``); GPUs of a node
    are its columns ``0 .. gpus - 1`` (``free`` is ``-1`` beyond them). ``avail`` is ``free``
    where the GPU can take one more job (fewer than ``max_jobs`` on it), else ``-1``.

    Parameters
    ----------
    pool : GPUPool
        The pool (one that does not know its nodes has one node per machine, with unlimited
        CPU and memory: :meth:`~tracekit.replay.resources.GPUPool.node_list`).
    max_jobs : int
        Most jobs on one GPU.
    """

    def __init__(self, pool: GPUPool, max_jobs: int) -> None:
        nodes = pool.node_list()
        self.names = [n.machine_id for n in nodes]
        self.groups = pool.groups
        index = {g: i for i, g in enumerate(self.groups)}
        self.group = np.array([index[n.group] for n in nodes], dtype=np.int64)
        self.cap_cpu = np.array([n.cpu_milli for n in nodes], dtype=np.int64)
        self.cap_mem = np.array([n.memory_mib for n in nodes], dtype=np.int64)
        self.cap_gpu = np.array([n.gpus for n in nodes], dtype=np.int64)
        self.free_cpu = self.cap_cpu.copy()
        self.free_mem = self.cap_mem.copy()
        width = max(int(self.cap_gpu.max(initial=0)), 1)
        real = np.arange(width)[None, :] < self.cap_gpu[:, None]
        self.free = np.where(real, UNITS, -1).astype(np.int64)
        self.jobs = np.zeros_like(self.free)
        self.max_jobs = int(max_jobs)
        self.avail = self.free.copy()
        self.best = self.avail.max(axis=1)
        self.full = (self.avail == UNITS).sum(axis=1)
        self.free_sum = self.cap_gpu * UNITS

    def __len__(self) -> int:
        return len(self.names)

    # -- questions ------------------------------------------------------------------------------
    def feasible(self, req: Request, allowed: np.ndarray | None) -> np.ndarray:
        """Nodes where ``req`` fits now (``allowed``: per group, ``None`` = every group)."""
        ok = (self.free_cpu >= req.cpu_milli) & (self.free_mem >= req.memory_mib)
        if allowed is not None:
            ok &= allowed[self.group]
        if req.k == 0:
            return ok
        if req.k == 1:
            return ok & (self.best >= req.units)
        if req.units >= UNITS:
            return ok & (self.full >= req.k)
        return ok & ((self.avail >= req.units).sum(axis=1) >= req.k)

    def candidates(self, req: Request, feasible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The choices a node placement picks from: ``(node, gpu)`` arrays in node order.

        A job asking a fraction of one GPU gets one choice per node and distinct free amount of
        a GPU that fits (the lowest such GPU: GPUs of one node with the same free amount are
        interchangeable); any other job one choice per node, ``gpu = -1`` (it takes the
        lowest-numbered GPUs that fit).
        """
        idx = np.flatnonzero(feasible)
        if not req.sharing:
            return idx, np.full(idx.size, -1, dtype=np.int64)
        free = self.avail[idx]
        rows, gpus = np.nonzero(free >= req.units)
        key = rows * (UNITS + 1) + free[rows, gpus]
        _, first = np.unique(key, return_index=True)
        first.sort()
        return idx[rows[first]], gpus[first]

    def slots(self, req: Request, node: int, gpu: int) -> np.ndarray:
        """The node's GPU columns a choice ``(node, gpu)`` takes."""
        if gpu >= 0:
            return np.array([gpu], dtype=np.int64)
        return np.flatnonzero(self.avail[node] >= req.units)[: req.k]

    def after(self, req: Request, node: np.ndarray, gpu: np.ndarray) -> np.ndarray:
        """Free GPU rows of the candidate nodes after placing ``req`` on each choice."""
        free = self.free[node].copy()
        if req.sharing:
            free[np.arange(node.size), gpu] -= req.units
        elif req.k:
            fit = self.avail[node] >= req.units
            free[fit & (np.cumsum(fit, axis=1) <= req.k)] -= req.units
        return free

    def remaining(self, req: Request, node: np.ndarray) -> np.ndarray:
        """Share of CPU plus share of GPU capacity left on each node after placing ``req``."""
        cpu = (self.free_cpu[node] - req.cpu_milli) / np.maximum(self.cap_cpu[node], 1)
        gpu = (self.free_sum[node] - req.k * req.units) / np.maximum(self.cap_gpu[node] * UNITS, 1)
        return cpu + gpu

    def gpu_free(self, req: Request, node: np.ndarray, gpu: np.ndarray) -> np.ndarray:
        """Free units of each choice's GPU (0 for choices of whole nodes)."""
        if not req.sharing:
            return np.zeros(node.size, dtype=np.int64)
        return self.free[node, gpu]

    def in_use(self, node: np.ndarray) -> np.ndarray:
        """Nodes with some CPU or GPU capacity allocated."""
        return (self.free_cpu[node] < self.cap_cpu[node]) | (
            self.free_sum[node] < self.cap_gpu[node] * UNITS
        )

    # -- changes --------------------------------------------------------------------------------
    def take(self, node: int, cols: np.ndarray, req: Request) -> None:
        """Allocate ``req`` on ``node`` (GPU columns ``cols``)."""
        self._change(node, cols, req, -1)

    def give(self, node: int, cols: np.ndarray, req: Request) -> None:
        """Release what :meth:`take` allocated."""
        self._change(node, cols, req, +1)

    def _change(self, node: int, cols: np.ndarray, req: Request, sign: int) -> None:
        cpu = int(self.free_cpu[node]) + sign * req.cpu_milli
        mem = int(self.free_mem[node]) + sign * req.memory_mib
        if not (0 <= cpu <= self.cap_cpu[node] and 0 <= mem <= self.cap_mem[node]):
            raise RuntimeError(f"placement bug: node {self.names[node]} CPU or memory overdrawn")
        self.free_cpu[node] = cpu
        self.free_mem[node] = mem
        if not len(cols):
            return
        # Python lists of one small row: cheaper than numpy calls on a handful of GPUs.
        row = self.free[node].tolist()
        jobs = self.jobs[node].tolist()
        for c in cols.tolist():
            row[c] += sign * req.units
            jobs[c] -= sign
            if not 0 <= row[c] <= UNITS:
                raise RuntimeError(f"placement bug: GPU {c} of node {self.names[node]} overdrawn")
        avail = [f if n < self.max_jobs else -1 for f, n in zip(row, jobs, strict=True)]
        self.free[node] = row
        self.jobs[node] = jobs
        self.avail[node] = avail
        self.best[node] = max(avail)
        self.full[node] = avail.count(UNITS)
        self.free_sum[node] = sum(f for f in row if f > 0)


class NodePlacement(Placement, abc.ABC):
    """A placement of every job on one node (see the module docstring)."""

    scope = "node"

    def bind(self, nodes: NodeState, jobs: Requests) -> None:
        """Called once before the replay with the node ledger and every job's request."""
        self.nodes = nodes

    @abc.abstractmethod
    def choose(self, nodes: NodeState, req: Request, node: np.ndarray, gpu: np.ndarray) -> int:
        """Index of the chosen candidate among ``(node, gpu)`` (never empty); ties should go to
        the first (lowest node), so that results do not depend on anything but the state."""

    def update(self, nodes: NodeState, changed: Iterable[int]) -> None:
        """Called after allocations or releases on the nodes ``changed``."""


__all__ = [
    "UNITS",
    "GroupPlacement",
    "GroupView",
    "NodePlacement",
    "NodeState",
    "Placement",
    "Request",
    "Requests",
    "best_gpus",
]
