"""Whole-GPU replay engine: one discrete-event loop per VC, heaps, integer ranks, no time steps.

Events are arrivals (a pointer into the submit-sorted jobs), finishes (a heap), and - only for
the policies that need them - priority changes (Tiresias demotions) and periodic ticks (a
scheduling ``interval``). Within one timestamp the order is FINISH -> ARRIVAL -> SCHEDULE, as
in the Helios/Lucid simulators.

Static-key policies (FIFO/SJF/QSSF) turn their keys into integer ranks once (vectorised), then:

* ``backfill="none"``: strict head-of-line blocking; one heap of ranks, only the head is tried;
* ``backfill="greedy"``: skip jobs that do not fit (no reservation); one heap per GPU count,
  the best head among the sizes that fit is placed next (exact, O(#sizes) per decision);
* ``backfill="easy"``: EASY backfilling; the blocked head gets a reservation at the earliest
  time enough GPUs free up (count-based, from the running jobs' estimated ends; an estimate that
  has run out is doubled, :func:`expected_end`), and later jobs may start now if they fit and
  either end before it or use only GPUs the head will not need.
  At most ``backfill_depth`` queued jobs are examined per pass (Slurm's ``bf_max_job_test``).

Preemptive policies (SRTF/Tiresias) run a pass at events: the policy orders all active jobs, the
engine selects them greedily under the VC's GPU quota (``"greedy"``: skipping jobs that do not
fit, as the artifacts do; ``"none"``: stopping at the first), preempts running jobs that were not
selected (charging ``ckpt_overhead(gpus)`` to their remaining work) and places the selected
pending ones; a selected job whose placement fails stays pending (as in the artifacts).
Running jobs are kept in rank order incrementally (Tiresias: exact keys; SRTF: the expected
finish time as a time-invariant proxy), so a pass costs bisections and C-speed prefix sums per
pending job looked at and per preempted job, not a re-sort of all running jobs.

:func:`replay_vcs` runs every VC of a :class:`VCPlan`, in forked worker processes when the
replay is large. :func:`core_of` decides which code replays the VCs: the compiled core
(:mod:`~tracekit.replay.engines.compiled`, for every policy that declares a
:meth:`~tracekit.replay.policies.base.Policy.kernel_spec`), a policy's own
:attr:`~tracekit.replay.policies.base.Policy.kernel`, or the Python loops of this module, which
are the reference and give identical results.
"""

from __future__ import annotations

import bisect
import gc
import math
import multiprocessing
import os
import sys
import warnings
from array import array
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from heapq import heapify, heappop, heappush
from itertools import accumulate

import numpy as np

from tracekit.replay.engines import compiled
from tracekit.replay.engines.placement import Alloc, Placer, PlacerFactory, make_placer
from tracekit.replay.policies.base import JobView, KernelSpec, Policy, PreemptivePolicy, VCState
from tracekit.replay.resources import Cluster

INF = math.inf
BACKFILL_MODES = ("none", "greedy", "easy")
#: Run a full scheduling pass of the preemptive policies at every event, without the shortcuts
#: that skip passes which cannot change anything (slow). Tests set it to check the shortcuts.
PASS_AT_EVERY_EVENT = False


def overhead_function(spec: str | float | Callable[[int], float] | None) -> Callable[[int], float]:
    """Checkpoint/restart overhead (seconds) per preemption as a function of the job's GPUs.

    Parameters
    ----------
    spec : None, "none", "helios", "lucid", number or callable
        ``"helios"``: 7 s (1 GPU) / 30 s (<= 8) / 60 s (> 8), the Helios simulator's values;
        ``"lucid"``: 40 s (<= 8) / 60 s (> 8), the Lucid simulator's; a number is a constant;
        a callable ``f(gpus) -> seconds``.
    """
    if spec is None or spec == "none":
        return lambda g: 0.0
    if spec == "helios":
        return lambda g: 7.0 if g <= 1 else (30.0 if g <= 8 else 60.0)
    if spec == "lucid":
        return lambda g: 40.0 if g <= 8 else 60.0
    if callable(spec):
        return spec
    if isinstance(spec, int | float) and spec >= 0:
        value = float(spec)
        return lambda g: value
    raise ValueError(f"bad ckpt_overhead {spec!r}: use none/helios/lucid, seconds or a function")


class VCRun:
    """Per-job outcome of one VC: first start, end, preemption count, overhead, final node
    allocation and run segments (what an engine or a kernel returns). The Python loops fill
    lists; kernels return arrays (:meth:`of`); the compiled static loop returns no ends
    (``end`` None: each job ends at start + duration)."""

    def __init__(self, n: int, keep_alloc: bool = False) -> None:
        self.start = [math.nan] * n
        self.end = [math.nan] * n
        self.preemptions = [0] * n
        self.overhead = [0.0] * n
        #: With ``keep_alloc``: the allocation of each job's last run (``((node, gpus), ...)``).
        #: Kept only when asked: a million live allocation tuples slow down Python's garbage
        #: collector by a tenth of the replay time.
        self.alloc: list[Alloc | None] | None = [None] * n if keep_alloc else None
        # Run segments of preempted jobs (job, start, end); non-preemptive jobs have one segment
        # (start, end) that is not stored twice.
        self.seg_job = array("q")
        self.seg_start = array("d")
        self.seg_end = array("d")
        self.nodes: list[tuple[int, float, float, Alloc]] | None = None

    @classmethod
    def of(
        cls,
        start: np.ndarray,
        end: np.ndarray | None,
        preemptions: np.ndarray | None = None,
        overhead: np.ndarray | None = None,
        segments: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        alloc: list[Alloc | None] | None = None,
    ) -> VCRun:
        """A run from per-job arrays (``segments``: job, start, end of every run interval of
        a preemptive policy; ``end`` None: start + duration, a static policy's)."""
        n = len(start)
        run = cls(0)
        run.start, run.end = start, end  # type: ignore[assignment]
        # Read-only zeros that take no memory (two written arrays of zeros per 1 M jobs cost
        # fresh pages each call).
        if preemptions is None:
            preemptions = np.broadcast_to(np.int64(0), (n,))
        run.preemptions = preemptions  # type: ignore[assignment]
        run.overhead = np.broadcast_to(0.0, (n,)) if overhead is None else overhead  # type: ignore[assignment]
        if segments is not None:
            run.seg_job, run.seg_start, run.seg_end = segments  # type: ignore[assignment]
        run.alloc = alloc
        return run


def rank_order(keys: np.ndarray | tuple[np.ndarray, ...]) -> np.ndarray:
    """The jobs (indices) in order of (key..., submit order) (a tuple of arrays is a
    lexicographic key, most significant first)."""
    parts = [np.asarray(k, dtype=np.float64) for k in (keys if isinstance(keys, tuple) else [keys])]
    # Stable sorts from the least significant key up: np.lexsort's order (ties by submit
    # order), three times faster on one key and free on keys already sorted (FIFO).
    order = stable_argsort(parts[-1])
    for part in reversed(parts[:-1]):
        order = order[stable_argsort(part[order])]
    return order


def _ranks(keys: np.ndarray | tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each job by (key..., submit order) and the inverse permutation
    (:func:`rank_order`)."""
    order = rank_order(keys)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank, order


def stable_argsort(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of a float array, three to five times faster.

    Numpy's stable sort of floats is a merge sort; its integer sort is a vectorised quicksort.
    A key already in order (FIFO's submit times) costs one comparison pass. Whole numbers in a
    modest range (durations in seconds, the usual SJF key) are packed with the index into one
    integer, ``(key - min) << bits | index``, all distinct, and sorted once. Other
    positive finite keys (QSSF's GPU-seconds): their float bits, which order them as integers,
    with the lowest ``bits`` replaced by the index, sorted once; the rare runs of keys equal
    but for those bits are then put in (key, index) order. Any other key: quicksort, number the
    runs of equal keys (all NaNs are one run, as in numpy's sort), then sort ``run * n +
    index``, which puts equal keys back in index order.
    """
    # The bit tricks below read float64 bits (a float32 view would halve the length).
    key = np.asarray(key, dtype=np.float64)
    n = len(key)
    if n < 2 or is_sorted(key):
        return np.arange(n)
    bits = (n - 1).bit_length()
    low, high = key.min(), key.max()
    # (NaN fails every comparison; below 2**53 a whole float converts to int64 exactly. The
    # first values are looked at first: a fractional key usually shows there.)
    head = key[:_PROBE]
    if (high - low < min(2.0**53, 2.0 ** (62 - bits)) and bool((head == np.floor(head)).all())
            and bool((key == np.floor(key)).all())):  # fmt: skip
        packed = ((key - low).astype(np.int64) << bits) | np.arange(n)
        packed.sort()
        return packed & ((1 << bits) - 1)
    if low > 0.0 and high < np.inf:
        index = (1 << bits) - 1
        packed = key.view(np.int64) & ~index
        packed |= np.arange(n)
        packed.sort()
        order = packed & index
        # Keys that differ only in the dropped bits are in index order: put each such run in
        # (key, index) order (rare: keys within a relative 2**(bits - 52) of each other).
        same = (packed[1:] >> bits) == (packed[:-1] >> bits)
        if same.any():
            pos = np.flatnonzero(np.append(same, False) | np.insert(same, 0, False))
            run = np.cumsum(np.insert(~same, 0, False))[pos]
            at = order[pos]
            order[pos] = at[np.lexsort((at, key[at], run))]
        return order
    order = np.argsort(key)
    k = key[order]
    new = k[1:] != k[:-1]
    if np.isnan(k[-1]):  # (NaNs sort last)
        new &= ~(np.isnan(k[1:]) & np.isnan(k[:-1]))
    if new.all():
        return order
    run = np.zeros(n, dtype=np.int64)
    np.cumsum(new, out=run[1:])
    return np.sort(run * n + order) % n


_PROBE = 1024


def is_sorted(values: np.ndarray) -> bool:
    """``values`` is in ascending order (NaN anywhere: not); the first values are compared
    first, so an unsorted array usually costs a small fraction of a pass."""
    head = values[:_PROBE]
    return bool((head[1:] >= head[:-1]).all()) and bool((values[1:] >= values[:-1]).all())


def _stuck(view: JobView, j: int, nodes: int, gpn: int, placement: str) -> RuntimeError:
    return RuntimeError(
        f"job {j} ({int(view.gpus[j])} GPUs) can never be placed on a VC of {nodes} "
        f"nodes x {gpn} GPUs with placement {placement!r}"
    )


# ---------------------------------------------------------------------------------------------
# static-key policies
# ---------------------------------------------------------------------------------------------
def run_static(
    view: JobView,
    policy: Policy,
    placer: Placer,
    backfill: str,
    backfill_depth: int | None,
    fresh_gpu_order: bool,
    record_nodes: bool,
    keep_alloc: bool = False,
) -> VCRun:
    """Replay one VC under a static-key policy (see the module docstring); ``keep_alloc``
    records each job's final allocation in ``VCRun.alloc``."""
    n = len(view.submit)
    out = VCRun(n, keep_alloc)
    if record_nodes:
        out.nodes = []
    if n == 0:
        return out
    rank_arr, byrank_arr = _ranks(policy.keys(view))
    rank, byrank = rank_arr.tolist(), byrank_arr.tolist()
    sub = view.submit.tolist()
    dur = view.duration.tolist()
    gpus = view.gpus.tolist()
    if backfill == "none":
        _static_hol(sub, dur, gpus, rank, byrank, placer, fresh_gpu_order, out)
    elif backfill == "greedy":
        _static_greedy(sub, dur, gpus, rank, byrank, placer, out)
    else:
        est = np.asarray(policy.estimate(view), dtype=np.float64).tolist()
        _static_easy(sub, dur, gpus, rank, byrank, est, placer, backfill_depth, out)
    nan = [j for j in range(n) if math.isnan(out.start[j])]
    if nan:
        raise _stuck(view, nan[0], placer.nodes, placer.gpn, placer.name)
    return out


def _static_hol(
    sub: list[float],
    dur: list[float],
    gpus: list[int],
    rank: list[int],
    byrank: list[int],
    placer: Placer,
    fresh_gpu_order: bool,
    out: VCRun,
) -> None:
    n = len(sub)
    start, end, rec, final = out.start, out.end, out.nodes, out.alloc
    allocs: list[Alloc | None] = [None] * n
    place, release = placer.place, placer.release
    fin: list[tuple[float, int]] = []
    pend: list[int] = []
    ai = 0
    fresh_t, fresh_n = -INF, 0  # jobs pending that arrived at fresh_t (QSSF compat)
    while True:
        ta = sub[ai] if ai < n else INF
        tf = fin[0][0] if fin else INF
        t = ta if ta <= tf else tf
        if t == INF:
            return
        while fin and fin[0][0] <= t:
            j = heappop(fin)[1]
            release(allocs[j])  # type: ignore[arg-type]
            allocs[j] = None
        while ai < n and sub[ai] <= t:
            heappush(pend, rank[ai])
            if fresh_gpu_order:
                if fresh_t != t:
                    fresh_t, fresh_n = t, 0
                fresh_n += 1
            ai += 1
        if not pend:
            continue
        if fresh_gpu_order and fresh_t == t and fresh_n == len(pend):
            # Every pending job arrived this second: Helios has not assigned priorities yet and
            # places them in GPU-count order (stable), one tick before sorting by priority.
            cand = sorted(pend, key=lambda r: (gpus[byrank[r]], byrank[r]))
            k = 0
            for r in cand:
                j = byrank[r]
                a = place(gpus[j])
                if a is None:
                    break
                start[j] = t
                end[j] = t + dur[j]
                allocs[j] = a
                if final is not None:
                    final[j] = a
                heappush(fin, (t + dur[j], j))
                if rec is not None:
                    rec.append((j, t, t + dur[j], a))
                k += 1
            if k:
                pend = cand[k:]
                heapify(pend)
                fresh_n -= k
            continue
        while pend:
            j = byrank[pend[0]]
            g = gpus[j]
            if g > placer.free_total:
                break
            a = place(g)
            if a is None:
                break
            heappop(pend)
            e = t + dur[j]
            start[j] = t
            end[j] = e
            allocs[j] = a
            if final is not None:
                final[j] = a
            heappush(fin, (e, j))
            if rec is not None:
                rec.append((j, t, e, a))
            if fresh_gpu_order and sub[j] == fresh_t:
                fresh_n -= 1


def _static_greedy(
    sub: list[float],
    dur: list[float],
    gpus: list[int],
    rank: list[int],
    byrank: list[int],
    placer: Placer,
    out: VCRun,
) -> None:
    n = len(sub)
    start, end, rec, final = out.start, out.end, out.nodes, out.alloc
    allocs: list[Alloc | None] = [None] * n
    place, release = placer.place, placer.release
    sizes = sorted(set(gpus))
    cls: dict[int, list[int]] = {g: [] for g in sizes}
    fin: list[tuple[float, int]] = []
    npend = 0
    ai = 0
    while True:
        ta = sub[ai] if ai < n else INF
        tf = fin[0][0] if fin else INF
        t = ta if ta <= tf else tf
        if t == INF:
            return
        while fin and fin[0][0] <= t:
            j = heappop(fin)[1]
            release(allocs[j])  # type: ignore[arg-type]
            allocs[j] = None
        while ai < n and sub[ai] <= t:
            heappush(cls[gpus[ai]], rank[ai])
            npend += 1
            ai += 1
        failed: set[int] = set()
        while npend:
            free = placer.free_total
            best_r, best_g = -1, 0
            for g in sizes:
                if g > free:
                    break
                h = cls[g]
                if h and (best_r < 0 or h[0] < best_r) and g not in failed:
                    best_r, best_g = h[0], g
            if best_r < 0:
                break
            a = place(best_g)
            if a is None:
                # Placement depends only on the size and the node state, and the state only
                # fills up during this pass: every job of this size fails now.
                failed.add(best_g)
                continue
            heappop(cls[best_g])
            npend -= 1
            j = byrank[best_r]
            e = t + dur[j]
            start[j] = t
            end[j] = e
            allocs[j] = a
            if final is not None:
                final[j] = a
            heappush(fin, (e, j))
            if rec is not None:
                rec.append((j, t, e, a))


def _static_easy(
    sub: list[float],
    dur: list[float],
    gpus: list[int],
    rank: list[int],
    byrank: list[int],
    est: list[float],
    placer: Placer,
    depth: int | None,
    out: VCRun,
) -> None:
    n = len(sub)
    start, end, rec, final = out.start, out.end, out.nodes, out.alloc
    allocs: list[Alloc | None] = [None] * n
    place, release = placer.place, placer.release
    fin: list[tuple[float, int]] = []
    pend: list[int] = []  # sorted ranks
    ai = 0
    limit = n if depth is None else depth

    def begin(j: int, t: float, a: Alloc) -> None:
        e = t + dur[j]
        start[j] = t
        end[j] = e
        allocs[j] = a
        if final is not None:
            final[j] = a
        heappush(fin, (e, j))
        if rec is not None:
            rec.append((j, t, e, a))

    while True:
        ta = sub[ai] if ai < n else INF
        tf = fin[0][0] if fin else INF
        t = ta if ta <= tf else tf
        if t == INF:
            return
        while fin and fin[0][0] <= t:
            j = heappop(fin)[1]
            release(allocs[j])  # type: ignore[arg-type]
            allocs[j] = None
        while ai < n and sub[ai] <= t:
            r = rank[ai]
            if not pend or r > pend[-1]:
                pend.append(r)
            else:
                bisect.insort(pend, r)
            ai += 1
        while pend:
            head = byrank[pend[0]]
            gh = gpus[head]
            a = place(gh) if gh <= placer.free_total else None
            if a is not None:
                del pend[0]
                begin(head, t, a)
                continue
            if placer.free_total == 0 or len(pend) == 1 or limit == 0:
                break
            # Reservation for the head: earliest estimated time enough GPUs are free.
            shadow, extra = -1.0, 0
            k, scanned = 1, 0
            while k < len(pend) and scanned < limit:
                free = placer.free_total
                if free == 0:
                    break
                j = byrank[pend[k]]
                g = gpus[j]
                scanned += 1
                if g <= free:
                    if shadow < 0:
                        shadow, extra = _shadow(fin, start, est, gpus, free, gh, t)
                    long = t + est[j] > shadow
                    if not long or g <= extra:
                        a = place(g)
                        if a is not None:
                            del pend[k]
                            begin(j, t, a)
                            if long:
                                extra -= g
                            continue
                k += 1
            break


def expected_end(start: float, estimate: float, t: float) -> float:
    """When a running job is expected to end, seen at time ``t`` (EASY's reservations).

    Its estimated end ``start + estimate`` while that lies ahead. A job still running past
    it has outlived its prediction; trusting the passed end would put the head's reservation at
    ``t`` and stop all backfill behind it. A scheduler that backfills on predictions corrects
    such a prediction (Tsafrir, Etsion and Feitelson, IEEE TPDS 2007, discuss how); here the
    estimate is doubled until the end lies ahead (doubling is exact in binary floating point,
    so the compiled core gives the same times). A non-positive or NaN estimate ends "now".
    """
    end = start + estimate
    if end > t:
        return end
    if not estimate > 0.0:
        return t
    d = estimate
    while start + d <= t:
        d *= 2.0
    return start + d


def _shadow(
    fin: list[tuple[float, int]],
    start: list[float],
    est: list[float],
    gpus: list[int],
    free: int,
    need: int,
    t: float,
) -> tuple[float, int]:
    """EASY reservation: (time, spare GPUs then) counting GPUs freed by expected job ends
    (:func:`expected_end`)."""
    if free >= need:
        return t, free - need
    ends = sorted((expected_end(start[j], est[j], t), gpus[j]) for _, j in fin)
    avail = free
    for e, g in ends:
        avail += g
        if avail >= need:
            return e, avail - need
    return INF, 0


# ---------------------------------------------------------------------------------------------
# preemptive policies
# ---------------------------------------------------------------------------------------------
def run_preemptive(
    view: JobView,
    policy: PreemptivePolicy,
    placer: Placer,
    backfill: str,
    overhead: Callable[[int], float],
    interval: float | None,
    record_nodes: bool,
    origin: float = 0.0,
    keep_alloc: bool = False,
) -> VCRun:
    """Replay one VC under a preemptive policy (see the module docstring); ``interval`` passes
    happen at ``origin + k x interval``; ``keep_alloc`` as in :func:`run_static`."""
    n = len(view.submit)
    out = VCRun(n, keep_alloc)
    if record_nodes:
        out.nodes = []
    if n == 0:
        return out
    st = VCState(view)
    sub = view.submit.tolist()
    gpus = st.gpus
    rem, executed, extra, resume, running = st.rem, st.executed, st.extra, st.resume, st.running
    first, end, npre, ovh = out.start, out.end, out.preemptions, out.overhead
    seg_j, seg_s, seg_e, rec = out.seg_job, out.seg_start, out.seg_end, out.nodes
    ver = [0] * n
    allocs: list[Alloc | None] = [None] * n
    final = out.alloc
    pseq, rseq = st.pseq, st.rseq
    seq = 0  # insertion counter of the pending and running lists (tie order, see VCState)
    seqs = policy.uses_list_order
    # Running jobs in rank order, maintained incrementally when the policy allows it, so a pass
    # costs O(log R) per probe instead of recomputing and sorting R keys:
    # * static_run (Tiresias): a running key changes only at next_change events -> keep keys;
    # * proxy (SRTF): running_order(j) is fixed while j runs and orders running jobs as their
    #   keys do at any t -> keep proxies, compute exact keys only where compared with pending.
    # Otherwise (srtf-pred, custom policies) keys are recomputed and sorted at every pass.
    static_run = policy.static_running_keys
    proxy = not static_run and policy.ordered_running
    keep_run = static_run or proxy
    n_active = 0  # jobs arrived and not finished
    n_running = 0
    # The set of running jobs is only needed when running keys are recomputed at every pass.
    run_set: set[int] | None = None if keep_run else set()
    # Pending jobs sorted by their key, which (policy contract) is fixed while a job waits.
    pend: list[tuple] = []
    pkey: list[tuple | None] = [None] * n
    size_count = [0] * (max(placer.capacity, max(gpus)) + 1)  # pending jobs per GPU count
    psizes: list[int] = []  # sorted GPU counts with a pending job (min_pending in O(1))
    ev: list[tuple[float, int, int, int]] = []  # (time, kind 0 finish/1 change/2 tick, j, ver)
    has_change = type(policy).next_change is not PreemptivePolicy.next_change
    key = policy.key
    order = policy.running_order
    entry = policy.running_entry
    runk: list[tuple] = []  # sorted keys (static_run) or proxies (proxy)
    rung: list[int] = []  # GPUs of runk's jobs, same order (prefix sums by slicing)
    run_total = 0  # GPUs held by running jobs
    rkey: list[tuple | None] = [None] * n
    place, release = placer.place, placer.release
    cap = placer.capacity
    hol = backfill == "none"
    tick_at = INF
    # Pre-bound callables of the hot start/stop bookkeeping (saves attribute lookups per job).
    bisect_left, bisect_right, insort = bisect.bisect_left, bisect.bisect_right, bisect.insort
    next_change = policy.next_change
    isnan = math.isnan
    seg_j_add, seg_s_add, seg_e_add = seg_j.append, seg_s.append, seg_e.append

    def run_insert(j: int, k: tuple) -> None:
        rkey[j] = k
        i = bisect.bisect_left(runk, k)
        runk.insert(i, k)
        rung.insert(i, gpus[j])

    def run_remove(j: int) -> None:
        i = bisect.bisect_left(runk, rkey[j])
        del runk[i]
        del rung[i]
        rkey[j] = None

    def enqueue(j: int, t: float) -> None:
        k = key(st, j, t)
        pkey[j] = k
        if not pend or k > pend[-1]:
            pend.append(k)
        else:
            insort(pend, k)
        g = gpus[j]
        c = size_count[g]
        size_count[g] = c + 1
        if not c:
            insort(psizes, g)

    def start(j: int, t: float, a: Alloc, queued: bool = True) -> None:
        # queued=False: a newcomer started on arrival, never put in the pending list
        nonlocal run_total, n_running, seq
        g = gpus[j]
        if queued:
            del pend[bisect_left(pend, pkey[j])]
            pkey[j] = None
            c = size_count[g] - 1
            size_count[g] = c
            if not c:
                psizes.remove(g)
        run_total += g
        if isnan(first[j]):
            first[j] = t
        resume[j] = t
        running[j] = True
        n_running += 1
        if seqs:
            rseq[j] = seq
            seq += 1
        v = ver[j] + 1
        ver[j] = v
        allocs[j] = a
        if final is not None:
            final[j] = a
        e = t + rem[j]
        heappush(ev, (e, 0, j, v))
        if static_run:
            k, c = entry(st, j, t)  # key and next change computed together
        else:
            k = order(st, j) if proxy else None
            c = next_change(st, j, t) if has_change else None
        if k is not None:
            # run_insert, inlined (hot path)
            rkey[j] = k
            i = bisect_left(runk, k)
            runk.insert(i, k)
            rung.insert(i, g)
        else:
            run_set.add(j)  # type: ignore[union-attr]
        # A change at or after the finish would be stale when popped (finishes pop first).
        if c is not None and c < e:
            heappush(ev, (c, 1, j, v))

    def stop(j: int, t: float) -> None:
        nonlocal run_total, n_running
        r0 = resume[j]
        executed[j] += t - r0
        running[j] = False
        n_running -= 1
        run_total -= gpus[j]
        ver[j] += 1
        if keep_run:
            # run_remove, inlined (hot path)
            i = bisect_left(runk, rkey[j])
            del runk[i]
            del rung[i]
            rkey[j] = None
        else:
            run_set.discard(j)  # type: ignore[union-attr]
        a = allocs[j]
        release(a)  # type: ignore[arg-type]
        allocs[j] = None
        seg_j_add(j)
        seg_s_add(r0)
        seg_e_add(t)
        if rec is not None:
            rec.append((j, r0, t, a))  # type: ignore[arg-type]

    def running_view(t: float) -> tuple[list[tuple], list[int], bool]:
        # (running jobs in rank order, their GPUs, whether the first list holds exact keys)
        if keep_run:
            return runk, rung, static_run
        runs = policy.running_keys(st, list(run_set), t)  # type: ignore[arg-type]
        runs.sort()
        return runs, [gpus[k[-1]] for k in runs], True

    def rank_of(runs: list[tuple], exact: bool, kp: tuple, t: float) -> int:
        # Number of running jobs ranked before the pending key kp.
        if exact:
            return bisect.bisect_left(runs, kp)
        # Proxy order: bisect on the proxy of kp (C speed), then settle the position with exact
        # keys of the neighbours (float rounding may shift it by a few places).
        i = bisect.bisect_left(runs, policy.pending_order(kp, t))
        while i > 0 and key(st, runs[i - 1][-1], t) >= kp:
            i -= 1
        nr = len(runs)
        while i < nr and key(st, runs[i][-1], t) < kp:
            i += 1
        return i

    def gpus_before(rg: list[int], i: int) -> int:
        # GPUs of the first i running jobs; sums the shorter side of the list (C speed).
        if i <= len(rg) - i:
            return sum(rg[:i])
        return run_total - sum(rg[i:])

    def min_pending() -> int:
        return psizes[0] if psizes else cap + 1

    def quick_pass(t: float) -> int | tuple[int, int, int, list[int]]:
        # Greedy selection assuming no running job is preempted: a pending job's quota is the
        # capacity minus the running jobs ranked before it minus the pending jobs selected
        # before it. Only pending jobs are walked. If a job would be selected but does not fit
        # the GPUs left after everything selected so far, the true pass preempts someone:
        # return the merge state at that job (pend index, running rank, quota, selected) and
        # let full_pass continue from there. Exact: with everything selected fitting the
        # capacity, no running job loses its quota, so the merge up to that job is this walk.
        if keep_run:  # running_view and min_pending, inlined (one call per pass)
            runs, rg, exact = runk, rung, static_run
        else:
            runs, rg, exact = running_view(t)
        free = cap - run_total
        least = psizes[0] if psizes else cap + 1
        sel: list[int] = []
        used = 0
        # GPUs of the running jobs ranked before the current pending job: runs[:pos]. Ranks
        # only grow along the pending order, so it is summed incrementally (C-speed slices).
        pos = -1
        before = 0
        for ip, kp in enumerate(pend):
            j = kp[-1]
            g = gpus[j]
            # rank_of + gpus_before, inlined for the exact case (hot loop)
            if exact:
                i = bisect_left(runs, kp, pos if pos > 0 else 0)
            else:
                i = rank_of(runs, exact, kp, t)
            if pos < 0:
                before = gpus_before(rg, i)
            elif i > pos:
                before += sum(rg[pos:i])
            pos = i
            quota = cap - before - used
            if quota < least:
                break  # quotas only shrink along the order: nobody later can be selected
            if g <= quota:
                if g > free - used:
                    return ip, i, quota, sel
                sel.append(j)
                used += g
        return place_selected(sel, t)

    def full_pass(t: float) -> int:
        # Returns the GPUs of the jobs selected but not placed (fragmentation): 0 = consistent.
        nonlocal seq
        ip = ir = 0
        quota = cap
        sel: list[int] = []
        if not hol:
            quick = quick_pass(t)
            if isinstance(quick, int):
                return quick
            ip, ir, quota, sel = quick
        # Merge the (static) pending order with the running jobs' order from (ip, ir) on and
        # select greedily under the GPU quota (running jobs before ir are selected, see
        # quick_pass). Running jobs between two pending jobs form a chunk: prefix sums over the
        # chunk's GPUs (C speed) find the jobs that keep their quota in bulk, and each running
        # job that does not fit is preempted. Only pending jobs need a rank lookup.
        runs, rg, exact = running_view(t)
        nr, npd = len(runs), len(pend)
        least = min_pending()
        drop: list[int] = []  # running jobs not selected: preempted
        while ir < nr or ip < npd:
            if ip < npd and (hol or quota >= least):
                # (ranks only grow along the pending order: bisect from ir)
                nxt = (
                    bisect_left(runs, pend[ip], ir) if exact else rank_of(runs, exact, pend[ip], t)
                )
            else:
                # No pending job can be selected any more (quotas only shrink): finish the
                # running jobs. (Under HOL a pending job that does not fit stops the pass.)
                nxt, ip = nr, npd
            stopped = False
            if ir < nxt:
                acc = list(accumulate(rg[ir:nxt]))
                x, off = ir, 0  # off = GPUs of rg[ir:x]
                while x < nxt:
                    m = bisect_right(acc, quota + off, x - ir) + ir
                    if m > x:  # runs[x:m] keep their quota
                        kept = acc[m - 1 - ir] - off
                        quota -= kept
                        off += kept
                        x = m
                        if x == nxt:
                            break
                    drop.append(runs[x][-1])
                    off += rg[x]
                    x += 1
                    if hol:
                        stopped = True
                        break
                if stopped:
                    drop.extend(e[-1] for e in runs[x:])
                    break
                ir = nxt
            if ip < npd:
                j = pend[ip][-1]
                ip += 1
                g = gpus[j]
                if g <= quota:
                    quota -= g
                    sel.append(j)
                elif hol:
                    drop.extend(e[-1] for e in runs[ir:])
                    break
        for j in sorted(drop):
            left = rem[j] - (t - resume[j])
            stop(j, t)
            o = overhead(gpus[j])
            rem[j] = (left if left > 0.0 else 0.0) + o
            extra[j] += o
            ovh[j] += o
            npre[j] += 1
        # Preempted jobs re-enter the pending list at its end, in rank order.
        for j in drop:
            if seqs:
                pseq[j] = seq
                seq += 1
            enqueue(j, t)
        return place_selected(sel, t)

    def place_selected(sel: list[int], t: float) -> int:
        # Place the selected pending jobs in rank order; a failure does not stop the others.
        # Returns the GPUs of the jobs left pending (fragmentation): 0 = consistent.
        unplaced = 0
        for j in sel:
            g = gpus[j]
            a = place(g) if g <= placer.free_total else None
            if a is None:
                unplaced += g
            else:
                start(j, t, a)
        return unplaced

    # GPUs of the jobs the last pass selected but could not place (they stay pending). While it
    # is > 0 the state is "inconsistent": some selected job does not run. Such a job can only be
    # placed after GPUs are released (placement failure is monotone: taking GPUs never makes a
    # job placeable), so without a release a pass would leave it pending again.
    unplaced = 0
    every_event = PASS_AT_EVERY_EVENT
    ai = 0
    while True:
        ta = sub[ai] if ai < n else INF
        te = ev[0][0] if ev else INF
        t = ta if ta <= te else te
        if t == INF:
            break
        dirty = every_event
        released = False
        tick = False
        while ev and ev[0][0] <= t:
            _, kind, j, v = heappop(ev)
            if kind == 2:
                tick = True
                tick_at = INF
                continue
            if v != ver[j]:
                continue
            if kind == 0:
                kf = rkey[j]
                stop(j, t)
                rem[j] = 0.0
                end[j] = t
                n_active -= 1
                released = True
                if not dirty and pend:
                    # Only pending jobs ranked after the finished job gain quota (its GPUs).
                    # With exact running keys (Tiresias) that is checked; otherwise assumed.
                    dirty = not static_run or pend[-1] > kf
            else:
                # A running job's key changed (e.g. Tiresias demotion). Only pending jobs
                # ranked between its old and its new key, when it moves back, gain quota (by
                # its GPUs); everybody else keeps their quota or gains some while selected, or
                # loses some while not selected. Without such pending jobs the selection cannot
                # change. (Without the old key: any pending job ranked before the new key.)
                if static_run:
                    k, c = entry(st, j, t)
                    old_k = rkey[j]
                    run_remove(j)
                    run_insert(j, k)
                    if not dirty and pend:
                        i = bisect_left(pend, old_k)
                        if i < len(pend) and pend[i] < k:
                            dirty = True
                else:
                    k = key(st, j, t)
                    if not dirty and pend and pend[0] < k:
                        dirty = True
                    c = next_change(st, j, t)
                if c is not None and c < resume[j] + rem[j]:  # (as in start)
                    heappush(ev, (c, 1, j, ver[j]))
        if released and unplaced:
            dirty = True  # the unplaced jobs may fit now
        new_from = ai
        while ai < n and sub[ai] <= t:
            ai += 1
        if seqs and ai > new_from:
            pseq[new_from:ai] = range(seq, seq + ai - new_from)
            seq += ai - new_from
        n_active += ai - new_from
        # Newcomers join the pending list here, except on the fast path below, where those that
        # start at once skip the list (their key at t is the same whenever it is computed).
        if interval is not None or dirty:
            for j in range(new_from, ai):
                enqueue(j, t)
        if interval is not None:
            if dirty or ai > new_from:
                nt = origin + math.ceil((t - origin) / interval - 1e-9) * interval
                if nt <= t:
                    tick = True
                elif nt < tick_at:
                    tick_at = nt
                    heappush(ev, (nt, 2, -1, 0))
            if tick:
                unplaced = full_pass(t)
            continue
        if dirty:
            unplaced = full_pass(t)
            continue
        # Fast path: nothing but arrivals changed the selection (stale events of preempted jobs
        # change nothing). A newcomer that fits the GPUs nobody selected (free minus those of
        # the unplaced selected jobs, so sum(selected) + its GPUs <= capacity) is selected
        # whatever its rank and changes nobody else's selection (greedy quota), so it can start
        # directly, on the node a pass would give it (the unplaced jobs still fail, see
        # ``unplaced``). All newcomers of this instant are checked together, so none is started
        # and then preempted within the same instant.
        if ai == new_from:
            continue
        need = 0
        for j in range(new_from, ai):
            need += gpus[j]
        if need > placer.free_total - unplaced or (hol and n_active > n_running + (ai - new_from)):
            for j in range(new_from, ai):
                enqueue(j, t)
            if not hol and ai - new_from == 1:
                # One newcomer that does not fit the free GPUs: it is selected only if the
                # running jobs ranked before it leave it enough quota (the unplaced selected
                # jobs before it leave even less). If not, skipping it leaves everybody else's
                # selection unchanged and no pass is needed.
                runs, rg, exact = running_view(t)
                before = gpus_before(rg, rank_of(runs, exact, pkey[new_from], t))  # type: ignore[arg-type]
                if gpus[new_from] > cap - before:
                    continue
            unplaced = full_pass(t)
            continue
        # In rank order, as a pass places the jobs it selects (best fit depends on the order).
        newcomers = range(new_from, ai)
        if ai - new_from > 1:
            newcomers = sorted(newcomers, key=lambda j: key(st, j, t))
        for j in newcomers:
            a = place(gpus[j])
            if a is None:
                # Still selected (the quota argument holds), but fragmentation blocks it.
                enqueue(j, t)
                unplaced += gpus[j]
                continue
            start(j, t, a, False)
    if n_active:
        j = next(j for j in range(n) if math.isnan(end[j]))
        raise _stuck(view, j, placer.nodes, placer.gpn, placer.name)
    return out


# ---------------------------------------------------------------------------------------------
# every VC of a replay, in one process or in forked workers
# ---------------------------------------------------------------------------------------------
PARALLEL_MIN_JOBS = 200_000
"""Smallest replay that ``workers=None`` spreads over processes (a fork costs ~10 ms, a VC of
200 k jobs 5-30 s of engine time)."""


@dataclass
class VCPlan:
    """Everything the replay of the VCs needs (inherited by forked workers, never pickled).

    The job arrays are sorted by VC, then submit time; ``bounds`` holds ``(vc, lo, hi)`` slices.
    A compiled kernel receives this plan as its ``options``.
    """

    policy: Policy
    cluster: Cluster
    bounds: list[tuple[str, int, int]]
    submit: np.ndarray
    duration: np.ndarray
    gpus: np.ndarray
    pred: np.ndarray | None
    placement: str | PlacerFactory
    compat: bool
    backfill: str
    backfill_depth: int | None
    overhead: Callable[[int], float]
    interval: float | None
    record_nodes: bool
    seed: int
    origin: float = 0.0
    core: str = "auto"


def _run_mode(policy: PreemptivePolicy, spec: KernelSpec) -> int | None:
    # How run_preemptive keeps running jobs in rank order for this policy, as a kernel mode;
    # None when the compiled rule has no such mode (the policy then runs in Python).
    k = compiled.kernels()
    if policy.static_running_keys:
        return k.RUN_EXACT if spec.rule == "las" else None
    if spec.rule != "srtf":
        return None
    return k.RUN_PROXY if policy.ordered_running else k.RUN_RECOMPUTE


def core_of(plan: VCPlan) -> str:
    """Which code replays the VCs of ``plan``: ``"compiled"`` (the compiled core),
    ``"kernel"`` (the policy's own :attr:`~tracekit.replay.policies.base.Policy.kernel`) or
    ``"python"`` (the reference loops of this module).

    ``plan.core``: ``"auto"`` takes the compiled core whenever the policy declares a
    :meth:`~tracekit.replay.policies.base.Policy.kernel_spec` and the run neither records node
    allocations nor uses a placement factory; ``"compiled"`` is the same but raises instead of
    falling back to Python; ``"python"`` always runs the reference loops.
    """
    if plan.core not in compiled.CORES:
        raise ValueError(f"core must be one of {compiled.CORES}, got {plan.core!r}")
    if plan.core == "python":
        return "python"
    pol = plan.policy
    why = ""
    if plan.record_nodes:
        why = "recording node allocations"
    elif not isinstance(plan.placement, str):
        why = "a placement factory"
    elif PASS_AT_EVERY_EVENT:
        why = "PASS_AT_EVERY_EVENT"
    elif pol.kernel is not None:
        if plan.placement == "consolidate":
            return "kernel"
        why = f"the policy's own kernel with placement {plan.placement!r}"
    else:
        spec = pol.kernel_spec()
        if spec is None or (spec.rule == "static") == pol.preemptive:
            why = f"policy {pol.name!r} ({type(pol).__name__}), which has no compiled kernel"
        elif pol.preemptive and _run_mode(pol, spec) is None:  # type: ignore[arg-type]
            why = f"policy {pol.name!r} with its running-order settings"
        else:
            return "compiled"
    if plan.core == "compiled":
        raise ValueError(f"the compiled core does not run {why}; use core='auto' or 'python'")
    return "python"


def run_vc(plan: VCPlan, i: int) -> VCRun:
    """Replay VC number ``i`` of the plan (with the policy's compiled kernel if it has one).

    Python's cyclic garbage collector is paused during the loop: the engine makes no reference
    cycles (its tuples and lists are freed by reference counting), and with millions of live
    event tuples the collector's passes cost about a tenth of the replay time.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _run_vc(plan, i)
    finally:
        if paused:
            gc.enable()


def _run_vc(plan: VCPlan, i: int) -> VCRun:
    vc, lo, hi = plan.bounds[i]
    spec = plan.cluster[vc]
    view = JobView(
        plan.submit[lo:hi],
        plan.duration[lo:hi],
        plan.gpus[lo:hi],
        None if plan.pred is None else plan.pred[lo:hi],
    )
    pol = plan.policy
    pol.prepare(np.random.default_rng([plan.seed, i]))
    core = core_of(plan)
    if core == "kernel":
        return pol.kernel(view, spec.nodes, spec.gpus_per_node, plan)  # type: ignore[misc]
    if core == "compiled":
        return _run_compiled(view, plan, spec.nodes, spec.gpus_per_node)
    placer = make_placer(plan.placement, spec.nodes, spec.gpus_per_node, plan.compat)
    if pol.preemptive:
        assert isinstance(pol, PreemptivePolicy)
        return run_preemptive(
            view, pol, placer, plan.backfill, plan.overhead, plan.interval, plan.record_nodes,
            plan.origin, plan.compat,
        )  # fmt: skip
    return run_static(
        view,
        pol,
        placer,
        plan.backfill,
        plan.backfill_depth,
        pol.fresh_gpu_order and plan.compat,
        plan.record_nodes,
        plan.compat,
    )


def _run_compiled(view: JobView, plan: VCPlan, nodes: int, gpn: int) -> VCRun:
    """One VC on the compiled core (see :func:`core_of`); the same outcome as the loops above."""
    pol = plan.policy
    spec = pol.kernel_spec()
    assert spec is not None and isinstance(plan.placement, str)
    if not pol.preemptive:
        keys = pol.keys(view)
        est = np.asarray(pol.estimate(view), dtype=np.float64) if plan.backfill == "easy" else None
        args = (est, plan.backfill, plan.backfill_depth, pol.fresh_gpu_order and plan.compat,
                nodes, gpn, plan.placement, plan.compat)  # fmt: skip
        # One key array: the compiled loop orders the jobs itself (no sort), unless the keys do
        # not pack; a lexicographic key: sorted here.
        stuck = compiled.NEEDS_ORDER
        if not isinstance(keys, tuple):
            start, al, alen, aoff, stuck = compiled.run_static(view, keys, None, *args)
        if stuck == compiled.NEEDS_ORDER:
            start, al, alen, aoff, stuck = compiled.run_static(view, None, rank_order(keys), *args)
        if stuck >= 0:
            raise _stuck(view, stuck, nodes, gpn, plan.placement)
        alloc = compiled.allocations(al, alen, aoff) if plan.compat else None
        return VCRun.of(start, None, alloc=alloc)
    mode = _run_mode(pol, spec)  # type: ignore[arg-type]
    assert mode is not None
    (start, end, npre, ovh, seg_j, seg_s, seg_e, al, alen, aoff,
     stuck) = compiled.run_preemptive(
        view, spec, mode, nodes, gpn, plan.placement, plan.compat, plan.backfill, plan.overhead,
        plan.interval, plan.origin,
    )  # fmt: skip
    if stuck >= 0:
        raise _stuck(view, stuck, nodes, gpn, plan.placement)
    alloc = compiled.allocations(al, alen, aoff) if plan.compat else None
    return VCRun.of(start, end, npre, ovh, (seg_j, seg_s, seg_e), alloc)


# The plan of the parallel replay in progress. Forked workers inherit it, so the policy, the
# placement factory and the overhead function (often lambdas) need not be picklable.
_FORKED_PLAN: VCPlan | None = None


def _run_forked_vc(i: int) -> VCRun:
    assert _FORKED_PLAN is not None
    return run_vc(_FORKED_PLAN, i)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def resolve_workers(workers: int | None, plan: VCPlan) -> int:
    """Number of processes for ``plan`` (see ``replay(workers=)``)."""
    if workers is not None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        return min(workers, len(plan.bounds)) if sys.platform == "linux" else 1
    if (
        sys.platform != "linux"
        or len(plan.bounds) < 2
        or len(plan.submit) < PARALLEL_MIN_JOBS
        # Not inside a worker of somebody else's pool (a sweep, dask): it owns the CPUs.
        or multiprocessing.parent_process() is not None
        # A compiled replay, or a policy's own kernel (arrays in, arrays out, like the compiled
        # core), takes less time than forking workers and shipping their results.
        or core_of(plan) != "python"
    ):
        return 1
    return min(_cpu_count(), len(plan.bounds))


def _cost_estimate(plan: VCPlan, i: int) -> float:
    """Rough engine time of VC ``i``: jobs / (1 - offered load).

    Passes and preemptions grow steeply with the load (on the 1 M-job benchmark this orders
    the VCs by their measured replay time), and only the order of the tasks depends on it.
    """
    vc, lo, hi = plan.bounds[i]
    span = float(plan.submit[hi - 1] - plan.submit[lo]) or 1.0
    work = float(np.dot(plan.duration[lo:hi], plan.gpus[lo:hi]))
    load = min(work / (max(plan.cluster[vc].gpus, 1) * span), 0.97)
    return (hi - lo) / (1.0 - load)


def replay_vcs(plan: VCPlan, workers: int) -> list[VCRun]:
    """Replay every VC of the plan, in ``workers`` forked processes when more than one."""
    if workers <= 1:
        return [run_vc(plan, i) for i in range(len(plan.bounds))]
    global _FORKED_PLAN
    # Costliest VCs first, so the last task to finish is a cheap one (LPT scheduling).
    cost = [_cost_estimate(plan, i) for i in range(len(plan.bounds))]
    order = sorted(range(len(plan.bounds)), key=lambda i: -cost[i])
    _FORKED_PLAN = plan
    try:
        # fork, not spawn: no re-import of tracekit or of the user's __main__ per worker. The
        # children only run the engine (Python lists, numpy) and never touch polars, whose
        # thread pool does not survive a fork.
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", "This process .* is multi-threaded", DeprecationWarning
            )
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = {i: pool.submit(_run_forked_vc, i) for i in order}
                return [futures[i].result() for i in range(len(plan.bounds))]
    finally:
        _FORKED_PLAN = None


def vc_bounds(codes: np.ndarray, names: list[str]) -> list[tuple[str, int, int]]:
    """``(vc, lo, hi)`` slices of the rows once sorted by VC code (``codes``: index into
    ``names`` of each row, in any order), for the VCs that have rows."""
    # Counted in slices: bincount converts its input to int64, and a slice's copy reuses
    # memory where a whole 1 M-row copy takes fresh pages from the system each call.
    codes = np.asarray(codes)
    counts = np.zeros(len(names), dtype=np.int64)
    for at in range(0, len(codes), _COUNT_SLICE):
        counts += np.bincount(codes[at : at + _COUNT_SLICE], minlength=len(names))
    highs = np.cumsum(counts)
    return [(names[i], int(highs[i] - c), int(highs[i])) for i, c in enumerate(counts.tolist())
            if c]  # fmt: skip


_COUNT_SLICE = 1 << 16
