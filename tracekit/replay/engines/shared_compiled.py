"""The compiled core of the shared-GPU replay: which runs it takes, arrays in, arrays out.

:mod:`~tracekit.replay.engines.shared_kernels` holds the numba event loop; this module decides
whether a replay can use it (:func:`why_python`), prepares its arrays, calls it and hands back
a :class:`SharedRun` that reads like a finished
:class:`~tracekit.replay.engines.shared_gpu.SharedEngine`. :func:`run_shared` is the one entry
point of both cores. Compilation, its on-disk cache and its shipping to other machines are
those of the whole-GPU core (:mod:`~tracekit.replay.engines.compiled`): this module registers
its loop there (``compiled.register_kernel``), so ``compiled.ensure_compiled()`` warms it with
the others, once per process under the cache lock.

A placement runs compiled when its class declares a kernel (``Placement.kernel``: every
built-in placement but ``fgd``); a packing policy when its class declares its pairing rule
(``pair_kernel()``: Lucid); any static-key policy does (its keys are computed in Python). A
subclass inherits neither declaration unless it states one itself: it may change what the
kernel would not see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import polars as pl
import pyarrow as pa

from tracekit.replay.engines import compiled
from tracekit.replay.engines.shared_gpu import (
    GPULayout,
    SharedEngine,
    SharedOptions,
    SlowdownModel,
    allowed_groups,
    job_arrays,
)
from tracekit.replay.placements import (
    GroupPlacement,
    NodePlacement,
    NodeState,
    Placement,
    make_placement,
)
from tracekit.replay.policies import make_policy
from tracekit.replay.policies.base import JobView, PackingPolicy, Policy
from tracekit.replay.resources import GPUPool

#: Placements with a compiled kernel (``Placement.kernel`` -> the kernel's code).
PLACEMENT_KERNELS = {"pack": 0, "balance": 1, "best-fit": 2, "packing": 3, "load-balancing": 4}
MODULE = "tracekit.replay.engines.shared_kernels"

_KERNELS: ModuleType | None = None


def kernels() -> ModuleType:
    """The numba module of the shared-GPU loop (imported on first use)."""
    global _KERNELS
    if _KERNELS is None:
        _KERNELS = compiled.import_cached(MODULE)
    return _KERNELS


_BIG = 2**62  # more GPUs than any job has: "no cap" in the loop's int64


def _gpu_cap(max_gpus: float) -> int:
    """The int64 the loop compares a job's GPU count with: ``k > cap`` exactly when the Python
    engine's ``k > max_gpus`` (whole ``k``: the floor of a fraction; NaN, like inf, caps
    nothing)."""
    x = float(max_gpus)
    if math.isnan(x) or x >= _BIG:
        return _BIG
    return max(math.floor(x), -_BIG)


def why_python(
    policy: Policy, placer: Placement, model: SlowdownModel, record: bool, k: np.ndarray
) -> str:
    """Why this shared-GPU replay cannot run on the compiled core ("" when it can)."""
    if record:
        return "recording GPU occupancy (record=True)"
    if getattr(placer, "kernel", None) not in PLACEMENT_KERNELS:
        return f"placement {placer.name!r} ({type(placer).__name__}), which has no compiled kernel"
    if isinstance(policy, PackingPolicy):
        rule = getattr(policy, "pair_kernel", None)
        if rule is None or rule() is None:
            return f"policy {policy.name!r} ({type(policy).__name__}), which has no compiled kernel"
    elif policy.preemptive:
        return f"policy {policy.name!r}, which is preemptive"
    if type(model) is not SlowdownModel:
        return f"slowdown model {type(model).__name__}, which has no compiled kernel"
    if isinstance(placer, GroupPlacement) and k.size and int(k.min()) == 0:
        return "jobs without GPUs under a group placement"
    return ""


@dataclass
class SharedRun:
    """The per-job outcome of a compiled shared-GPU replay (the arrays a
    :class:`~tracekit.replay.engines.shared_gpu.SharedEngine` leaves after ``run()``)."""

    start: np.ndarray
    end: np.ndarray
    k: np.ndarray
    units: np.ndarray
    util: np.ndarray
    served: np.ndarray
    min_rate: np.ndarray
    max_co: np.ndarray
    placed_group: np.ndarray
    group_names: list[str]
    placed_node: np.ndarray
    node_names: list[str]
    node_columns: np.ndarray  # each started job's GPU columns, job after job (node placements)

    def placed_groups(self) -> pl.Series:
        """Name of the group each job ran on (null if it never started)."""
        return _named(self.placed_group, self.group_names)

    def placed_nodes(self) -> pl.Series:
        """Node placements: the machine each job ran on (null if it never started)."""
        return _named(self.placed_node, self.node_names)

    def placed_columns(self) -> pl.Series:
        """Node placements: the GPUs (0 .. gpus - 1 of its node) each job took (null if it
        never started)."""
        started = self.placed_node >= 0
        off = np.zeros(len(self.k) + 1, dtype=np.int64)
        np.cumsum(np.where(started, self.k, 0), out=off[1:])
        values = self.node_columns
        lists = pa.ListArray.from_arrays(pa.array(off.astype(np.int32)), pa.array(values),
                                         mask=pa.array(~started))  # fmt: skip
        return pl.Series(pl.from_arrow(lists)).cast(pl.List(pl.Int64))


def _named(index: np.ndarray, names: list[str]) -> pl.Series:
    """``names[index]`` per job, null where ``index`` is -1."""
    idx = pl.Series(index)
    idx = pl.select(pl.when(idx >= 0).then(idx)).to_series()
    return pl.Series(names, dtype=pl.String).gather(idx)


def _patterns(
    groups: pl.Series, names: list[str], affinity: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each job's allowed groups as ``(pattern per job, offsets, groups)``: one pattern per
    distinct value of the job's ``group`` (null included), in search order."""
    groups = groups.cast(pl.String)
    values = groups.drop_nulls().unique().sort().to_list()
    code = groups.cast(pl.Enum(values)).to_physical().fill_null(len(values))
    gidx = {g: i for i, g in enumerate(names)}
    lists = [allowed_groups(v, gidx, affinity, len(names)) for v in [*values, None]]
    off = np.zeros(len(lists) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(x) for x in lists])
    flat = np.array([g for x in lists for g in x], dtype=np.int64)
    return code.to_numpy().astype(np.int64), off, flat


def run_compiled(
    view: JobView,
    groups: pl.Series,
    pool: GPUPool,
    policy: Policy,
    placer: Placement,
    options: SharedOptions,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> SharedRun:
    """Replay on the compiled loop (check :func:`why_python` first); ``arrays``: the
    :func:`~tracekit.replay.engines.shared_gpu.job_arrays` of the jobs, when already known."""
    affinity, max_jobs, share_by = options.affinity, options.max_jobs, options.share_by
    model, backfill, until = options.model, options.backfill, options.until
    cpu_milli, memory_mib = options.cpu_milli, options.memory_mib
    k_mod = kernels()
    compiled.ensure_compiled(only="shared_loop")
    k, util, units, key = arrays if arrays is not None else job_arrays(view, policy, share_by)
    submit = np.ascontiguousarray(view.submit, dtype=np.float64)
    n = len(submit)
    idx = np.arange(n)
    byrank = np.lexsort((idx, submit, key))  # the Python engine's (key, submit, job) tuples
    rank = np.empty(n, dtype=np.int64)
    rank[byrank] = idx
    order = np.lexsort((idx, submit))
    lay = GPULayout.of(pool)
    pat, pat_off, pat_grp = _patterns(groups, lay.groups, affinity)
    slots = min(int(max_jobs), k_mod.UNITS)
    # The model's (1 - kappa) ** (n - 1), computed by Python as SlowdownModel.gpu_rate does.
    powtab = np.array([(1.0 - model.kappa) ** (m - 1) for m in range(slots + 1)])
    iv = np.zeros(k_mod.I_SIZE, dtype=np.int64)
    fp = np.zeros(k_mod.F_SIZE)
    iv[k_mod.I_MAXJ] = max_jobs
    iv[k_mod.I_BACKFILL] = bool(backfill)
    iv[k_mod.I_PLACE] = PLACEMENT_KERNELS[placer.kernel]  # type: ignore[attr-defined]
    fp[k_mod.F_UNTIL] = np.inf if until is None else float(until)
    if isinstance(policy, PackingPolicy):
        util_cap, ratio = policy.pair_kernel()  # type: ignore[attr-defined]
        iv[k_mod.I_PAIR] = k_mod.EMPTY_FIRST if policy.prefer_exclusive else k_mod.PAIR_FIRST
        iv[k_mod.I_MAXGPUS] = _gpu_cap(policy.max_gpus)  # type: ignore[attr-defined]
        fp[k_mod.F_CAP] = util_cap + 1e-12  # Lucid.can_pair's sum, computed the same way
        fp[k_mod.F_RATIO] = ratio
    mask = np.zeros((len(pat_off) - 1, len(lay.groups)), dtype=np.bool_)
    for p in range(len(pat_off) - 1):
        mask[p, pat_grp[pat_off[p] : pat_off[p + 1]]] = True
    i64 = np.int64
    zero = np.zeros(n, dtype=i64)
    if isinstance(placer, NodePlacement):
        ns = NodeState(pool, max_jobs)
        names, base = ns.names, lay.node_base(pool)
        ledger = (ns.group, base, ns.cap_cpu, ns.cap_gpu,
                  zero if cpu_milli is None else np.ascontiguousarray(cpu_milli, dtype=i64),
                  zero if memory_mib is None else np.ascontiguousarray(memory_mib, dtype=i64),
                  mask, ns.free_cpu.copy(), ns.free_mem.copy(), ns.free.copy(), ns.jobs.copy(),
                  ns.avail.copy(), ns.best.copy(), ns.full.copy(),
                  np.asarray(ns.free_sum, dtype=i64).copy())  # fmt: skip
    else:
        names, none, grid = [], np.zeros(0, dtype=i64), np.zeros((0, 1), dtype=i64)
        ledger = (none, none, none, none, zero, zero, mask, none, none, grid, grid, grid, none,
                  none, none)  # fmt: skip
    f64 = np.float64
    start, end, served, min_rate, max_co, group, node, gpus = k_mod.shared_loop(
        submit, np.ascontiguousarray(view.duration, dtype=f64), k, units, util,
        np.ascontiguousarray(key, dtype=f64), rank, byrank, order, pat, pat_off, pat_grp,
        np.asarray(lay.glo, dtype=i64), np.asarray(lay.ghi, dtype=i64), lay.machine_of,
        lay.group_of, len(lay.machine_base), powtab, iv, fp, *ledger,
    )  # fmt: skip
    columns = np.zeros(0, dtype=i64)
    if names:  # each started job's GPUs less its node's first GPU
        started = node >= 0
        slots = np.repeat(np.flatnonzero(started), k[started])
        off = np.zeros(n + 1, dtype=i64)
        np.cumsum(k, out=off[1:])
        within = np.arange(len(slots)) - np.repeat(np.cumsum(k[started]) - k[started],
                                                   k[started])  # fmt: skip
        columns = gpus[off[slots] + within] - base[node[slots]]
    return SharedRun(start, end, k, units, util, served, min_rate, max_co, group, lay.groups,
                     node, names, columns)  # fmt: skip


def run_shared(
    view: JobView,
    groups: pl.Series,
    pool: GPUPool,
    policy: Policy,
    placer: Placement,
    options: SharedOptions,
    record: bool,
    *,
    core: str = "auto",
) -> tuple[SharedEngine | SharedRun, str]:
    """Replay on the compiled core when it can (``core="auto"``), must (``"compiled"``: an
    error naming why it cannot) or on the Python engine (``"python"``).

    Returns the finished engine (or :class:`SharedRun`) and the core that ran.
    """
    if core not in compiled.CORES:
        raise ValueError(f"core must be one of {compiled.CORES}, got {core!r}")
    if core != "python":
        arrays = job_arrays(view, policy, options.share_by)
        why = why_python(policy, placer, options.model, record, arrays[0])
        if not why:
            return run_compiled(view, groups, pool, policy, placer, options, arrays), "compiled"
        if core == "compiled":
            raise ValueError(
                f"the compiled core does not run {why}; use core='auto' or 'python'"
            )
    engine = SharedEngine(view, groups.to_list(), pool, policy, placer, options, record)
    engine.run()
    return engine, "python"


def warm_tiny() -> str:
    """Compile or load the shared-GPU loop on a four-job input: ``"compiled"`` when this
    process paid the compilation, else ``"cache"``."""
    view = JobView(np.array([0.0, 1.0, 2.0, 2.0]), np.array([5.0, 2.0, 1.0, 30.0]),
                   np.array([0.5, 1.0, 2.0, 0.5]), np.array([4.0, 2.0, 1.0, 9.0]),
                   np.array([0.3, 0.5, 0.9, 0.2]))  # fmt: skip
    groups = pl.Series(["a", None, "a", "a"], dtype=pl.String)
    pool = GPUPool.from_dict({"a": (1, 2)})
    run_compiled(view, groups, pool, make_policy("lucid"), make_placement("pack"),
                 SharedOptions("strict", 2, "usage", SlowdownModel(), True))  # fmt: skip
    stats = kernels().shared_loop.stats
    return "compiled" if sum(stats.cache_misses.values()) else "cache"


compiled.register_kernel("shared_loop", kernels, warm_tiny)


__all__ = [
    "MODULE",
    "PLACEMENT_KERNELS",
    "SharedRun",
    "kernels",
    "run_compiled",
    "run_shared",
    "warm_tiny",
    "why_python",
]
