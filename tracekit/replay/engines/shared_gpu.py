"""Shared-GPU replay engine: every GPU modelled on its own, fractional requests, packing.

The whole-GPU engine (:mod:`~tracekit.replay.engines.whole_gpu`) counts free GPUs per node.
This engine models every GPU, which the Alibaba PAI trace (fractional GPU requests, five GPU
types) and Lucid-style packing need. In short:

* **GPU pool** (:class:`~tracekit.replay.resources.GPUPool`). GPUs are grouped by GPU type (PAI
  machines: T4/P100/V100/V100M32/MISC) or by VC. Each GPU has ``UNITS`` capacity units (one GPU)
  and holds at most ``max_jobs_per_gpu`` jobs. The shares on a GPU never exceed one GPU.
* **Jobs.** A job asking for ``num_gpus = d`` GPUs is a gang of ``k = ceil(d)`` slots of
  ``d / k`` GPU each, placed on ``k`` distinct GPUs of one group at once (PAI's 0.5-GPU instance
  is one slot of 0.5; 2.6 GPUs are 3 slots of 0.867). Jobs are not preempted or migrated.
* **Share.** ``share_by="request"``: a slot counts its requested fraction against the GPU
  (PAI's scheduler). ``share_by="usage"``: it counts its measured utilisation (non-intrusive
  packing as in Lucid: jobs are admitted by what they use, not by what they ask for).
* **Placement** (:mod:`tracekit.replay.placements`, one registry). *Group placements*:
  ``"pack"`` (reserving-and-packing, from the PAI paper, NSDI'22): best fit on the fullest GPU
  that still fits, and, with ``type_affinity="any"``, the lowest GPU tier first so that high-end
  GPUs stay free for jobs that need them; ``"balance"`` (load-balancing): the emptiest GPUs
  first, over every allowed group. *Node placements* (``"best-fit"``, ``"packing"``,
  ``"load-balancing"``, ``"fgd"``): every job on one node, within the node's CPU and memory
  (a job's ``k`` slots on ``k`` distinct GPUs of that node; a job with no GPU takes CPU and
  memory only). ``type_affinity="strict"`` keeps a job on its own group(s) (a job's group may
  name several, ``"V100M16|V100M32"``: the GPU models it may use).
* **Queue.** The policy's static key (:meth:`~tracekit.replay.policies.base.Policy.keys`) orders
  pending jobs; a :class:`~tracekit.replay.policies.base.PackingPolicy` may also put a job on a
  running job's GPUs. With ``backfill`` every pending job is tried in order; without it the
  first that does not fit blocks the rest. A job that did not fit is not tried again until
  something is released (taking resources never makes room), except under a packing policy,
  whose partners appear when jobs start.
* **Horizon.** ``until``: the replay stops at that time; jobs still running have no end and
  jobs still pending no start (the openb placement study: arrivals without departures).
* **Slowdown.** Colocated jobs progress at a rate <= 1 given by :class:`SlowdownModel`; a gang
  job progresses at the rate of its slowest GPU. Work is conserved: for every job the integral
  of its rate over its run equals its duration.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, insort
from dataclasses import dataclass

import numpy as np

from tracekit.replay.placements import (
    PLACEMENTS as _REGISTRY,
)
from tracekit.replay.placements import (
    UNITS,
    GroupPlacement,
    NodePlacement,
    NodeState,
    Placement,
    Request,
    Requests,
    make_placement,
)
from tracekit.replay.policies.base import JobView, PackingPolicy, Policy
from tracekit.replay.resources import GROUP_SEPARATOR, GPUPool

PLACEMENTS: tuple[str, ...] = tuple(_REGISTRY)
"""Names of the shared-GPU placements (registry: :data:`tracekit.replay.placements.PLACEMENTS`)."""
AFFINITIES: tuple[str, ...] = ("strict", "any")
SHARE_MODES: tuple[str, ...] = ("request", "usage")
DEFAULT_UTIL = 0.48
"""Utilisation of a job without one (Philly's mean per-GPU-minute utilisation)."""


@dataclass(frozen=True)
class SlowdownModel:
    """Progress rate of jobs sharing a GPU (all parameters of the model live here).

    For a GPU holding ``n`` jobs whose utilisations (fractions of one GPU) sum to ``U``::

        rate = 1                                   if n == 1
        rate = min(1, 1 / U) * (1 - kappa) ** (n - 1)   otherwise

    ``min(1, 1/U)``: when the co-runners together want more than the GPU's compute, they split
    it in proportion (time slicing). ``(1 - kappa)`` per extra co-runner: context switches and
    cache/memory contention even when ``U < 1`` (the PAI paper, NSDI'22, reports up to 28 %
    co-location slowdown; Lucid's profiled pairs mostly lose 0-30 %). The rate is never above
    1, unlike the Lucid artifact's profiled pair speeds (a fifth of them exceed 1). A gang job
    runs at the minimum rate over its GPUs (synchronous training waits for the slowest worker).

    Parameters
    ----------
    kappa : float
        Interference loss per extra co-runner, in [0, 1).
    """

    kappa: float = 0.05

    def __post_init__(self) -> None:
        if not 0.0 <= self.kappa < 1.0:
            raise ValueError(f"kappa must be in [0, 1), got {self.kappa}")

    def gpu_rate(self, n_jobs: int, util_sum: float) -> float:
        """Rate of every job on a GPU with ``n_jobs`` jobs of total utilisation ``util_sum``."""
        if n_jobs <= 1:
            return 1.0
        return min(1.0, 1.0 / max(util_sum, 1e-12)) * (1.0 - self.kappa) ** (n_jobs - 1)


def job_arrays(
    view: JobView, policy: Policy, share_by: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per job: slots ``k``, utilisation, units per slot and queue key (both cores use these).

    A job with no GPU (a CPU task on a node) has no slot; a missing utilisation is
    :data:`DEFAULT_UTIL`; a missing key (e.g. no prediction) sorts last (``inf``).
    """
    n = len(view.submit)
    gpus = np.asarray(view.gpus, dtype=np.float64)
    k = np.where(gpus > 0, np.maximum(1, np.ceil(gpus - 1e-9)), 0).astype(np.int64)
    util = view.util if view.util is not None else np.full(n, DEFAULT_UTIL)
    util = np.nan_to_num(np.asarray(util, dtype=np.float64), nan=DEFAULT_UTIL).clip(0, 1)
    request = gpus / np.maximum(k, 1)
    frac = request if share_by == "request" else np.maximum(util, 0.01)
    units = np.clip(np.ceil(frac * UNITS - 1e-6), 1, UNITS).astype(np.int64)
    units = np.where(k > 0, units, 0)
    key = policy.keys(view)
    key = key[0] if isinstance(key, tuple) else key  # the primary key orders the queue
    return k, util, units, np.nan_to_num(np.asarray(key, dtype=np.float64), nan=np.inf)


@dataclass(frozen=True)
class GPULayout:
    """The GPUs of a pool as arrays: grouped contiguously, low tier first, machines in pool order.

    Attributes
    ----------
    groups : list of str
        Group names; group ``g`` holds GPUs ``glo[g]:ghi[g]``.
    glo, ghi : list of int
        First and past-the-last GPU of each group.
    machine_base : list of int
        First GPU of each machine.
    machine_of, group_of : numpy.ndarray
        Each GPU's machine and group.
    """

    groups: list[str]
    glo: list[int]
    ghi: list[int]
    machine_base: list[int]
    machine_of: np.ndarray
    group_of: np.ndarray

    @classmethod
    def of(cls, pool: GPUPool) -> GPULayout:
        """The layout of ``pool``'s GPUs."""
        machine_of, group_of, lo, hi, base = [], [], [], [], []
        m = 0
        for gi, g in enumerate(pool.groups):
            lo.append(len(group_of))
            for size in pool.machines[g]:
                base.append(len(group_of))
                machine_of += [m] * size
                group_of += [gi] * size
                m += 1
            hi.append(len(group_of))
        return cls(list(pool.groups), lo, hi, base, np.array(machine_of, dtype=np.int64),
                   np.array(group_of, dtype=np.int64))  # fmt: skip

    def node_base(self, pool: GPUPool) -> np.ndarray:
        """The first GPU of each node (nodes in the pool's node order, ``pool.node_list()``)."""
        nodes = pool.node_list()
        index = {node.machine_id: i for i, node in enumerate(nodes)}
        # Machines are numbered group by group; nodes in the pool's node order.
        of_machine = [index[x.machine_id] for g in self.groups for x in nodes if x.group == g]
        base = np.zeros(len(nodes), dtype=np.int64)
        base[np.array(of_machine, dtype=np.int64)] = self.machine_base
        return base


def allowed_groups(
    group: str | None, gidx: dict[str, int], affinity: str, n_groups: int
) -> list[int]:
    """The groups a job of ``group`` may use, in search order (own groups first).

    No group, or ``"any"`` affinity with unknown names: anywhere. Only unknown names under
    ``"strict"`` (validation rejects them first): nowhere. Under ``"any"``: own groups first,
    then the others from the lowest tier up.
    """
    every = list(range(n_groups))
    own = [] if group is None else [
        gidx[x] for x in group.split(GROUP_SEPARATOR) if x in gidx
    ]  # fmt: skip
    if not own:
        return [] if group is not None and affinity == "strict" else every
    if affinity == "strict":
        return own
    return own + [x for x in every if x not in own]


@dataclass(frozen=True)
class SharedOptions:
    """The options of one shared-GPU replay, as both cores take them.

    Attributes
    ----------
    affinity : {"strict", "any"}
        Jobs stay on their own groups, or may use any.
    max_jobs : int
        Most jobs on one GPU.
    share_by : {"request", "usage"}
        What a slot counts against its GPU.
    model : SlowdownModel
        Colocation slowdown.
    backfill : bool
        Try every pending job (True) or stop at the first that does not fit.
    until : float, optional
        Stop the replay at this time.
    cpu_milli, memory_mib : numpy.ndarray, optional
        Per job: CPU (thousandths of a core) and memory (MiB) a node placement reserves.
    """

    affinity: str
    max_jobs: int
    share_by: str
    model: SlowdownModel
    backfill: bool
    until: float | None = None
    cpu_milli: np.ndarray | None = None
    memory_mib: np.ndarray | None = None


class SharedEngine:
    """Mutable state of one shared-GPU replay (struct of arrays; see the module docstring).

    Call :meth:`run`, then read ``start``, ``end``, ``k`` (slots), ``units``, ``served``,
    ``min_rate``, ``max_co``, :meth:`placed_groups` and, under a node placement,
    :meth:`placed_nodes` and :meth:`placed_columns`; ``gpu_log`` holds ``(time, gpu, jobs,
    allocated units)`` after every change when ``record`` is set.

    Parameters
    ----------
    view : JobView
        The jobs' static arrays.
    group_of_job : list of str or None
        Each job's group (GPU type or VC; several joined by ``|``; None = any).
    pool : GPUPool
        The GPUs (and, for node placements, the nodes).
    policy : Policy
        Orders the pending jobs (a packing policy may also pair them).
    placement : Placement or str
        A placement of :mod:`tracekit.replay.placements` (or its registry name).
    options : SharedOptions
        Affinity, GPU sharing, slowdown, backfill, horizon and node requests.
    record : bool
        Keep ``gpu_log``.
    """

    def __init__(
        self,
        view: JobView,
        group_of_job: list[str | None],
        pool: GPUPool,
        policy: Policy,
        placement: Placement | str,
        options: SharedOptions,
        record: bool,
    ) -> None:
        affinity, max_jobs, share_by = options.affinity, options.max_jobs, options.share_by
        model, backfill, until = options.model, options.backfill, options.until
        cpu_milli, memory_mib = options.cpu_milli, options.memory_mib
        n = len(view.submit)
        self.n = n
        self.pol = policy if isinstance(policy, PackingPolicy) else None
        self.placer = make_placement(placement)
        self.on_nodes = isinstance(self.placer, NodePlacement)
        if self.on_nodes and self.pol is not None:
            raise ValueError(
                f"policy {policy.name!r} pairs jobs on a partner's GPUs; it runs with the group "
                "placements (pack, balance), not on nodes"
            )
        self.max_jobs = max_jobs
        self.model = model
        self.backfill = backfill
        self.record = record
        self.until = math.inf if until is None else float(until)
        self.submit = np.asarray(view.submit, dtype=np.float64)
        self.dur = np.asarray(view.duration, dtype=np.float64)
        self.k, self.util, self.units, self.key = job_arrays(view, policy, share_by)
        self._build_gpus(pool)
        self._build_allowed(group_of_job, affinity)
        # Per-group cache of the sorted free units of open GPUs (nj < max_jobs).
        self.cache: list[list[int] | None] = [None] * len(self.group_names)
        # A placement attempt depends only on the state of the job's allowed groups: a job that
        # failed is not retried until one of them changed (epoch = changes per group).
        self.epoch = [0] * len(self.group_names)
        self.tried = [-1] * n  # Python lists: scalar access in the hot loop
        self.single = [a[0] if len(a) == 1 else -1 for a in self.allowed]
        # Jobs that did not fit wait here until something is released: taking resources never
        # makes room, so retrying them before is wasted work (not so under a packing policy,
        # whose partners appear when jobs start; nor without backfill, where the first job that
        # does not fit blocks the queue).
        self.park = backfill and self.pol is None
        self.parked: list[tuple[float, float, int]] = []
        # Job state.
        self.start = np.full(n, np.nan)
        self.end = np.full(n, np.nan)
        self.rem = self.dur.copy()
        self.rate = np.zeros(n)
        self.last = np.zeros(n)
        self.served = np.zeros(n)
        self.min_rate = np.ones(n)
        self.max_co = np.zeros(n, dtype=np.int64)
        self.version = np.zeros(n, dtype=np.int64)
        self.placed_on: list[np.ndarray | None] = [None] * n
        self.exclusive: dict[int, dict[int, None]] = {}
        self.events: list[tuple[float, int, int, int]] = []
        self.gpu_log: list[tuple[float, int, int, int]] = []
        self.seq = 0
        if self.on_nodes:
            self._build_nodes(pool, cpu_milli, memory_mib)

    # -- set-up ---------------------------------------------------------------------------------
    def _build_gpus(self, pool: GPUPool) -> None:
        """GPU arrays, grouped contiguously, low tier first (machines in pool order)."""
        lay = GPULayout.of(pool)
        self.group_names = lay.groups
        self.gidx = {g: i for i, g in enumerate(self.group_names)}
        self.glo, self.ghi = lay.glo, lay.ghi
        self.machine_base = lay.machine_base  # first GPU of each machine
        self.machine_of = lay.machine_of
        self.group_of = lay.group_of
        ng = len(self.group_of)
        self.free = np.full(ng, UNITS, dtype=np.int64)
        self.nj = np.zeros(ng, dtype=np.int64)
        self.usum = np.zeros(ng, dtype=np.float64)
        self.on_gpu: list[list[int]] = [[] for _ in range(ng)]
        self.machine_used = np.zeros(len(self.machine_base), dtype=np.int64)

    def _build_allowed(self, group_of_job: list[str | None], affinity: str) -> None:
        """Allowed groups per job, in search order (own groups first)."""
        self.allowed: list[list[int]] = []
        memo: dict[str | None, list[int]] = {}
        n_groups = len(self.group_names)
        for g in group_of_job:
            if g not in memo:
                memo[g] = allowed_groups(g, self.gidx, affinity, n_groups)
            self.allowed.append(memo[g])

    def _build_nodes(
        self, pool: GPUPool, cpu_milli: np.ndarray | None, memory_mib: np.ndarray | None
    ) -> None:
        """The node ledger, each job's request and the flat index of every node's GPUs."""
        self.nodes = NodeState(pool, self.max_jobs)
        self.node_base = GPULayout.of(pool).node_base(pool)
        zeros = np.zeros(self.n, dtype=np.int64)
        cpu = zeros if cpu_milli is None else np.asarray(cpu_milli, dtype=np.int64)
        mem = zeros if memory_mib is None else np.asarray(memory_mib, dtype=np.int64)
        self.requests = [
            Request(u, k, c, m)
            for u, k, c, m in zip(
                self.units.tolist(), self.k.tolist(), cpu.tolist(), mem.tolist(), strict=True
            )
        ]
        n_groups = len(self.group_names)
        allowed = np.zeros((self.n, n_groups), dtype=bool)
        self.allowed_mask: list[np.ndarray | None] = []
        for j, groups in enumerate(self.allowed):
            allowed[j, groups] = True
            self.allowed_mask.append(None if len(groups) == n_groups else allowed[j])
        self.placed_node = [-1] * self.n
        self.placed_cols: list[np.ndarray | None] = [None] * self.n
        self.placer.bind(self.nodes, Requests(self.units, self.k, cpu, mem, allowed))

    # -- capacity index (group placements) ------------------------------------------------------
    def _open_sorted(self, g: int) -> list[int]:
        c = self.cache[g]
        if c is None:
            lo, hi = self.glo[g], self.ghi[g]
            f = self.free[lo:hi][self.nj[lo:hi] < self.max_jobs]
            c = np.sort(f).tolist()  # a list: bisect on it is far cheaper than numpy calls
            self.cache[g] = c
        return c

    def fits(self, g: int, units: int, k: int, empty: bool) -> bool:
        """Group ``g`` has ``k`` open GPUs with ``units`` free (entirely free if ``empty``)."""
        c = self._open_sorted(g)
        return len(c) - bisect_left(c, UNITS if empty else units) >= k

    def _on_node(self, j: int) -> tuple[np.ndarray, int] | None:
        """GPUs (engine indices) and node the node placement gives job ``j``, or None."""
        st, req = self.nodes, self.requests[j]
        feasible = st.feasible(req, self.allowed_mask[j])
        if not feasible.any():
            return None
        node_c, gpu_c = st.candidates(req, feasible)
        i = self.placer.choose(st, req, node_c, gpu_c)  # type: ignore[union-attr]
        node = int(node_c[i])
        cols = st.slots(req, node, int(gpu_c[i]))
        self.placed_cols[j] = cols
        return cols + self.node_base[node], node

    # -- state changes ----------------------------------------------------------------------
    def _touch(self, gpus: np.ndarray, t: float, node: int = -1) -> None:
        groups = {int(self.group_of[x]) for x in gpus}
        if node >= 0:
            groups.add(int(self.nodes.group[node]))
        for g in groups:
            self.cache[g] = None
            self.epoch[g] += 1
        if self.record:
            for x in gpus:
                self.gpu_log.append((t, int(x), int(self.nj[x]), int(UNITS - self.free[x])))

    def _reschedule(self, jobs: set[int], t: float) -> None:
        for j in sorted(jobs):
            self.rem[j] = max(0.0, self.rem[j] - self.rate[j] * (t - self.last[j]))
            self.served[j] += self.rate[j] * (t - self.last[j])
            self.last[j] = t
            gpus = self.placed_on[j]
            assert gpus is not None
            if len(gpus):
                r = min(self.model.gpu_rate(int(self.nj[x]), float(self.usum[x])) for x in gpus)
                self.max_co[j] = max(self.max_co[j], int(self.nj[gpus].max()))
            else:
                r = 1.0  # a job without GPUs shares nothing the model slows down
            self.rate[j] = r
            self.min_rate[j] = min(self.min_rate[j], r)
            self.version[j] += 1
            self.seq += 1
            heapq.heappush(self.events, (t + self.rem[j] / r, self.seq, j, int(self.version[j])))

    def _start(self, j: int, gpus: np.ndarray, t: float, node: int = -1) -> None:
        u = int(self.units[j])
        affected: set[int] = {j}
        for x in gpus:
            self.free[x] -= u
            self.nj[x] += 1
            self.usum[x] += self.util[j]
            affected.update(self.on_gpu[x])
            self.on_gpu[x].append(j)
            assert self.free[x] >= 0 and self.nj[x] <= self.max_jobs
        self.machine_used[self.machine_of[gpus]] += u
        self.placed_on[j] = gpus
        self.start[j] = t
        self.last[j] = t
        if node >= 0:
            self.placed_node[j] = node
            self.nodes.take(node, self.placed_cols[j], self.requests[j])  # type: ignore[arg-type]
            self.placer.update(self.nodes, [node])  # type: ignore[union-attr]
        if self.pol is not None:
            for p in affected - {j}:
                self.exclusive.get(int(self.k[p]), {}).pop(p, None)
            if all(self.nj[x] == 1 for x in gpus):
                self.exclusive.setdefault(int(self.k[j]), {})[j] = None
        self._touch(gpus, t, node)
        self._reschedule(affected, t)

    def _finish(self, j: int, t: float) -> None:
        self.served[j] += self.rate[j] * (t - self.last[j])
        self.rem[j] = 0.0
        self.end[j] = t
        gpus = self.placed_on[j]
        assert gpus is not None
        u = int(self.units[j])
        affected: set[int] = set()
        for x in gpus:
            self.free[x] += u
            self.nj[x] -= 1
            self.usum[x] -= self.util[j]
            if self.nj[x] == 0:
                self.usum[x] = 0.0  # no float residue on an empty GPU
            self.on_gpu[x].remove(j)
            affected.update(self.on_gpu[x])
        self.machine_used[self.machine_of[gpus]] -= u
        node = self.placed_node[j] if self.on_nodes else -1
        if node >= 0:
            self.nodes.give(node, self.placed_cols[j], self.requests[j])  # type: ignore[arg-type]
            self.placer.update(self.nodes, [node])  # type: ignore[union-attr]
        if self.pol is not None:
            self.exclusive.get(int(self.k[j]), {}).pop(j, None)
            for p in sorted(affected):
                pg = self.placed_on[p]
                if pg is not None and all(self.nj[x] == 1 for x in pg):
                    self.exclusive.setdefault(int(self.k[p]), {})[p] = None
        self._touch(gpus, t, node)
        self._reschedule(affected, t)

    # -- scheduling -------------------------------------------------------------------------
    def _partner(self, j: int) -> np.ndarray | None:
        pol = self.pol
        assert pol is not None
        if self.k[j] > pol.max_gpus:
            return None
        cands = self.exclusive.get(int(self.k[j]))
        if not cands:
            return None
        allowed = set(self.allowed[j])
        for p in cands:
            gpus = self.placed_on[p]
            assert gpus is not None
            if int(self.group_of[gpus[0]]) not in allowed:
                continue
            if not pol.can_pair(self.util[j], self.util[p], self.key[j], self.key[p]):
                continue
            if (self.free[gpus] >= self.units[j]).all():
                return gpus
        return None

    def _try_place(self, j: int) -> tuple[np.ndarray, int] | None:
        if self.on_nodes:
            return self._on_node(j)
        placer: GroupPlacement = self.placer  # type: ignore[assignment]
        if self.pol is None:
            gpus = placer.choose(self, j, False)
        elif self.pol.prefer_exclusive:
            gpus = placer.choose(self, j, True)
            gpus = gpus if gpus is not None else self._partner(j)
        else:
            gpus = self._partner(j)
            gpus = gpus if gpus is not None else placer.choose(self, j, True)
        return None if gpus is None else (gpus, -1)

    def _any_open(self) -> bool:
        if self.on_nodes:
            return True  # a job without GPUs may still fit CPU and memory
        return any(len(self._open_sorted(g)) for g in range(len(self.group_names)))

    def run(self) -> None:
        """Replay every job (or up to ``until``)."""
        order = np.lexsort((np.arange(self.n), self.submit))
        nxt = 0
        pending: list[tuple[float, float, int]] = []
        while nxt < self.n or self.events:
            t_arr = self.submit[order[nxt]] if nxt < self.n else math.inf
            t_fin = self.events[0][0] if self.events else math.inf
            t = min(t_arr, t_fin)
            if t > self.until:
                break
            # Phase order at one instant: finishes, then arrivals, then one scheduling pass.
            released = False
            while self.events and self.events[0][0] <= t:
                _, _, j, ver = heapq.heappop(self.events)
                if ver == self.version[j] and np.isnan(self.end[j]):
                    self._finish(j, t)
                    released = True
            if released and self.parked:
                pending = sorted(pending + self.parked)  # two sorted runs: a linear merge
                self.parked = []
            while nxt < self.n and self.submit[order[nxt]] <= t:
                j = int(order[nxt])
                insort(pending, (float(self.key[j]), float(self.submit[j]), j))
                nxt += 1
            if pending and self._any_open():
                pending = self._pass(pending, t)

    def _pass(self, pending: list[tuple[float, float, int]], t: float) -> list:
        keep = []
        epoch, tried, single, allowed = self.epoch, self.tried, self.single, self.allowed
        for i, item in enumerate(pending):
            j = item[2]
            g = single[j]
            sig = epoch[g] if g >= 0 else sum([epoch[x] for x in allowed[j]])
            where = None if sig == tried[j] else self._try_place(j)
            if where is None:
                tried[j] = sig
                if self.park:
                    self.parked.append(item)
                else:
                    keep.append(item)
                if not self.backfill:  # head-of-line: nothing behind a blocked job starts
                    keep.extend(pending[i + 1 :])
                    break
                continue
            self._start(j, where[0], t, where[1])
            if self.backfill and not self._any_open():
                keep.extend(pending[i + 1 :])
                break
        return keep

    # -- output -----------------------------------------------------------------------------
    def placed_groups(self) -> list[str | None]:
        """Name of the group each job ran on (None if it never started)."""
        if self.on_nodes:
            names, group = self.group_names, self.nodes.group
            return [names[int(group[x])] if x >= 0 else None for x in self.placed_node]
        return [
            self.group_names[int(self.group_of[g[0]])] if g is not None else None
            for g in self.placed_on
        ]

    def placed_nodes(self) -> list[str | None]:
        """Node placements: the machine each job ran on (None if it never started)."""
        names = self.nodes.names
        return [names[x] if x >= 0 else None for x in self.placed_node]

    def placed_columns(self) -> list[list[int] | None]:
        """Node placements: the GPUs (0 .. gpus - 1 of its node) each job took."""
        return [None if c is None else c.tolist() for c in self.placed_cols]


__all__ = [
    "AFFINITIES",
    "DEFAULT_UTIL",
    "GPULayout",
    "PLACEMENTS",
    "SHARE_MODES",
    "UNITS",
    "SharedEngine",
    "SharedOptions",
    "SlowdownModel",
    "allowed_groups",
    "job_arrays",
]
