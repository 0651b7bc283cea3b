"""Compiled (numba) event loop of the shared-GPU replay: the Python engine's algorithm on arrays.

:func:`shared_loop` mirrors :class:`tracekit.replay.engines.shared_gpu.SharedEngine` with the
placements ``pack``, ``balance``, ``best-fit``, ``packing`` and ``load-balancing`` operation for
operation - the same float additions,
multiplications and comparisons in the same order, the same tie rules - so that both give
bit-identical per-job results. Read the Python engine for the *why*; comments here only mark
where the array form differs:

* **Queue.** A pending job is its rank in ``(key, submit, job)`` order (the Python engine's
  tuples), so the pending and parked lists are sorted integer arrays; arrivals of one instant
  and parked jobs are merged in, not inserted one by one.
* **Capacity index.** Per group a Fenwick tree counts the open GPUs (fewer than
  ``max_jobs`` jobs) by free units; it answers ``fits`` (the Python engine bisects a sorted
  list of the same numbers).
* **Events** sit in a binary heap keyed ``(time, sequence number)`` like ``heapq``'s tuples;
  stale entries stay until popped, as in Python (a stale event still starts a scheduling pass).
* **Exclusive jobs** of a packing policy are one doubly linked list per slot count, in
  insertion order (the Python engine's insertion-ordered dicts).
* **Slowdown.** ``powtab[n]`` is the model's ``(1 - kappa) ** (n - 1)``, computed in Python.
* **Nodes.** The node ledger (``NodeState``) is a set of arrays updated in place; a node
  placement scans the feasible nodes (and GPUs) in order and keeps the first best choice
  instead of listing candidates and sorting them.

All numba code of the shared-GPU replay lives in this one module: numba's on-disk cache is
invalidated by a change of the *calling* function's source file only, so a helper in another
file could leave a stale compiled caller behind.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Compile options, as in :mod:`tracekit.replay.engines.kernels`: the loop allocates its
#: arrays; helpers only read and write arrays they are handed (no reference counting, no
#: Python entry point).
loop = njit(cache=True)
helper = njit(cache=True, _nrt=False, no_cpython_wrapper=True, no_cfunc_wrapper=True)

UNITS = 1000  # tracekit.replay.placements.base.UNITS
#: Placements: the group placements, then the node placements.
PACK, BALANCE, BEST_FIT, PACKING, LOAD_BALANCING = 0, 1, 2, 3, 4
#: Packing policy: none, partner first (Lucid), empty GPUs first.
NO_PAIR, PAIR_FIRST, EMPTY_FIRST = 0, 1, 2
#: Integer parameters ``iv``.
I_MAXJ, I_BACKFILL, I_PAIR, I_PLACE, I_MAXGPUS, I_SIZE = 0, 1, 2, 3, 4, 5
#: Float parameters ``fp``: the horizon, ``util_cap + 1e-12`` and ``priority_ratio``.
F_UNTIL, F_CAP, F_RATIO, F_SIZE = 0, 1, 2, 3
#: Scalars of the state vector ``st``: open GPUs, event sequence number, heap size.
S_OPEN, S_SEQ, S_HEAP, S_SIZE = 0, 1, 2, 3


# ---------------------------------------------------------------------------------------------
# capacity index
# ---------------------------------------------------------------------------------------------
@helper
def _fw_add(fw: np.ndarray, g: int, free: int, d: int) -> None:
    """Count ``d`` more open GPUs with ``free`` units in group ``g``."""
    i = UNITS - free + 1
    while i <= UNITS + 1:
        fw[g, i] += d
        i += i & -i


@helper
def _fw_count(fw: np.ndarray, g: int, need: int) -> int:
    """Open GPUs of group ``g`` with at least ``need`` free units."""
    i = UNITS - need + 1
    s = 0
    while i > 0:
        s += fw[g, i]
        i -= i & -i
    return s


@helper
def _change_gpu(free: np.ndarray, nj: np.ndarray, fw: np.ndarray, gfree: np.ndarray,
                group_of: np.ndarray, st: np.ndarray, max_jobs: int, x: int, dfree: int,
                djobs: int) -> None:  # fmt: skip
    """Add ``dfree`` units and ``djobs`` jobs to GPU ``x``, keeping the index up to date."""
    g = group_of[x]
    if nj[x] < max_jobs:
        _fw_add(fw, g, free[x], -1)
        st[S_OPEN] -= 1
    free[x] += dfree
    nj[x] += djobs
    gfree[g] += dfree
    if nj[x] < max_jobs:
        _fw_add(fw, g, free[x], 1)
        st[S_OPEN] += 1


@helper
def _better(fullest: bool, f: int, m: int, f2: int, m2: int) -> bool:
    """GPU ``(free f, machine load m)`` comes before ``(f2, m2)`` (the GPU index breaks ties)."""
    if fullest:
        return f < f2 or (f == f2 and m > m2)
    return f > f2 or (f == f2 and m < m2)


@helper
def _best(lo: int, hi: int, need: int, k: int, fullest: bool, free: np.ndarray,
          nj: np.ndarray, max_jobs: int, mused: np.ndarray, machine_of: np.ndarray,
          pick: np.ndarray, bf: np.ndarray, bm: np.ndarray) -> int:  # fmt: skip
    """``placements.base.best_gpus``: the ``k`` first open GPUs of ``lo:hi`` with ``need`` free
    in its order, into ``pick`` (kept sorted by insertion); returns how many were found."""
    cnt = 0
    for x in range(lo, hi):
        f = free[x]
        if f < need or nj[x] >= max_jobs:
            continue
        m = mused[machine_of[x]]
        if cnt == k:
            if not _better(fullest, f, m, bf[k - 1], bm[k - 1]):
                continue
            pos = k - 1
        else:
            pos = cnt
            cnt += 1
        while pos > 0 and _better(fullest, f, m, bf[pos - 1], bm[pos - 1]):
            bf[pos] = bf[pos - 1]
            bm[pos] = bm[pos - 1]
            pick[pos] = pick[pos - 1]
            pos -= 1
        bf[pos] = f
        bm[pos] = m
        pick[pos] = x
    return cnt


@helper
def _choose(place: int, j: int, empty: bool, k: np.ndarray, units: np.ndarray,
            pat: np.ndarray, pat_off: np.ndarray, pat_grp: np.ndarray, glo: np.ndarray,
            ghi: np.ndarray, free: np.ndarray, nj: np.ndarray, max_jobs: int,
            mused: np.ndarray, machine_of: np.ndarray, gfree: np.ndarray, fw: np.ndarray,
            pick: np.ndarray, bf: np.ndarray, bm: np.ndarray) -> bool:  # fmt: skip
    """``Pack.choose`` / ``Balance.choose``: GPUs for job ``j`` into ``pick``, or False."""
    need = UNITS if empty else units[j]
    kk = k[j]
    plo, phi = pat_off[pat[j]], pat_off[pat[j] + 1]
    if place == PACK:
        for q in range(plo, phi):
            g = pat_grp[q]
            if _fw_count(fw, g, need) < kk:
                continue
            if _best(glo[g], ghi[g], need, kk, True, free, nj, max_jobs, mused, machine_of,
                     pick, bf, bm) >= kk:  # fmt: skip
                return True
        return False
    # balance: the least-allocated fitting group, ties to the lowest group number
    best = -1
    best_load = 0.0
    for q in range(plo, phi):
        g = pat_grp[q]
        if _fw_count(fw, g, need) < kk:
            continue
        load = 1.0 - float(gfree[g]) / float(UNITS * (ghi[g] - glo[g]))
        if best < 0 or load < best_load or (load == best_load and g < best):
            best = g
            best_load = load
    if best < 0:
        return False
    return _best(glo[best], ghi[best], need, kk, False, free, nj, max_jobs, mused, machine_of,
                 pick, bf, bm) >= kk  # fmt: skip


@helper
def _partner(j: int, max_gpus: int, cap: float, ratio: float, k: np.ndarray,
             units: np.ndarray, util: np.ndarray, keyf: np.ndarray, pat: np.ndarray,
             pat_off: np.ndarray, pat_grp: np.ndarray, group_of: np.ndarray, free: np.ndarray,
             placed: np.ndarray, poff: np.ndarray, xhead: np.ndarray, xnext: np.ndarray,
             pick: np.ndarray) -> bool:  # fmt: skip
    """``SharedEngine._partner``: the first exclusive job (insertion order) job ``j`` may join;
    its GPUs into ``pick``."""
    kk = k[j]
    if kk > max_gpus:
        return False
    plo, phi = pat_off[pat[j]], pat_off[pat[j] + 1]
    p = xhead[kk]
    while p >= 0:
        lo, hi = poff[p], poff[p + 1]
        gg = group_of[placed[lo]]
        ok = False
        for q in range(plo, phi):
            if pat_grp[q] == gg:
                ok = True
                break
        if ok and util[j] + util[p] <= cap and keyf[j] <= ratio * keyf[p]:
            for q in range(lo, hi):
                if free[placed[q]] < units[j]:
                    ok = False
                    break
            if ok:
                for q in range(lo, hi):
                    pick[q - lo] = placed[q]
                return True
        p = xnext[p]
    return False


# ---------------------------------------------------------------------------------------------
# node placements (placements.base.NodeState and the placements' choose)
# ---------------------------------------------------------------------------------------------
@helper
def _remaining(nfc: np.ndarray, cap_cpu: np.ndarray, nfs: np.ndarray, cap_gpu: np.ndarray,
               node: int, c: int, kk: int, u: int) -> float:  # fmt: skip
    """``NodeState.remaining``: share of CPU plus share of GPU capacity left after the job."""
    cpu = float(nfc[node] - c) / float(max(cap_cpu[node], 1))
    gpu = float(nfs[node] - kk * u) / float(max(cap_gpu[node] * UNITS, 1))
    return cpu + gpu


@helper
def _node_choose(place: int, j: int, k: np.ndarray, units: np.ndarray, jcpu: np.ndarray,
                 jmem: np.ndarray, pat: np.ndarray, pat_mask: np.ndarray,
                 node_group: np.ndarray, cap_cpu: np.ndarray, cap_gpu: np.ndarray,
                 nfc: np.ndarray, nfm: np.ndarray, nfree: np.ndarray, navail: np.ndarray,
                 nbest: np.ndarray, nfull: np.ndarray, nfs: np.ndarray,
                 cols: np.ndarray) -> int:  # fmt: skip
    """The node (returned; -1: none fits) and GPU columns (into ``cols``) job ``j`` takes.

    The feasible choices are scanned in node order, and for a fraction of one GPU in column
    order, keeping the first best by the placement's key: every later choice with the same
    free amount on the same node ties with an earlier one, so this is the Python engine's pick
    among its distinct candidates.
    """
    u = units[j]
    kk = k[j]
    c = jcpu[j]
    m = jmem[j]
    sharing = kk == 1 and u < UNITS
    width = nfree.shape[1]
    bn = -1
    bcol = -1
    bk = 0
    br = 0.0
    bf = 0
    for node in range(nfc.size):
        if nfc[node] < c or nfm[node] < m or not pat_mask[pat[j], node_group[node]]:
            continue
        if kk == 1:
            if nbest[node] < u:
                continue
        elif kk > 1:
            if u >= UNITS:
                if nfull[node] < kk:
                    continue
            else:
                cnt = 0
                for col in range(width):
                    if navail[node, col] >= u:
                        cnt += 1
                if cnt < kk:
                    continue
        rem = _remaining(nfc, cap_cpu, nfs, cap_gpu, node, c, kk, u)
        in_use = nfc[node] < cap_cpu[node] or nfs[node] < cap_gpu[node] * UNITS
        if not sharing:
            klass = 1 if in_use else 2
            if place == BEST_FIT:
                better = bn < 0 or rem < br
            elif place == PACKING:
                better = bn < 0 or klass < bk or (klass == bk and rem < br)
            else:
                better = bn < 0 or -rem < -br
            if better:
                bn = node
                br = rem
                bk = klass
            continue
        for col in range(width):
            if navail[node, col] < u:
                continue
            f = nfree[node, col]
            klass = 0 if f < UNITS else (1 if in_use else 2)
            if place == BEST_FIT:
                better = bn < 0 or rem < br or (rem == br and f < bf)
            elif place == PACKING:
                better = bn < 0 or klass < bk or (klass == bk and f < bf)
            else:
                better = bn < 0 or -rem < -br or (-rem == -br and -f < -bf)
            if better:
                bn = node
                bcol = col
                br = rem
                bf = f
                bk = klass
    if bn < 0:
        return -1
    if sharing:
        cols[0] = bcol
        return bn
    q = 0
    for col in range(width):
        if q == kk:
            break
        if navail[bn, col] >= u:
            cols[q] = col
            q += 1
    return bn


@helper
def _node_change(node: int, cols: np.ndarray, ncols: int, u: int, c: int, m: int, sign: int,
                 nfc: np.ndarray, nfm: np.ndarray, nfree: np.ndarray, njobs: np.ndarray,
                 navail: np.ndarray, nbest: np.ndarray, nfull: np.ndarray, nfs: np.ndarray,
                 max_jobs: int) -> None:  # fmt: skip
    """``NodeState.take`` (``sign = -1``) or ``give`` (``+1``) of a job on ``node``."""
    nfc[node] += sign * c
    nfm[node] += sign * m
    if ncols == 0:
        return
    for q in range(ncols):
        nfree[node, cols[q]] += sign * u
        njobs[node, cols[q]] -= sign
    best = -(1 << 62)
    full = 0
    fs = 0
    for col in range(nfree.shape[1]):
        f = nfree[node, col]
        a = f if njobs[node, col] < max_jobs else -1
        navail[node, col] = a
        if a > best:
            best = a
        if a == UNITS:
            full += 1
        if f > 0:
            fs += f
    nbest[node] = best
    nfull[node] = full
    nfs[node] = fs


# ---------------------------------------------------------------------------------------------
# exclusive jobs, events
# ---------------------------------------------------------------------------------------------
@helper
def _x_add(p: int, kk: int, xhead: np.ndarray, xtail: np.ndarray, xnext: np.ndarray,
           xprev: np.ndarray, xin: np.ndarray) -> None:  # fmt: skip
    if xin[p]:
        return  # (a dict keeps a present key where it is)
    xin[p] = True
    xprev[p] = xtail[kk]
    xnext[p] = -1
    if xtail[kk] >= 0:
        xnext[xtail[kk]] = p
    else:
        xhead[kk] = p
    xtail[kk] = p


@helper
def _x_pop(p: int, kk: int, xhead: np.ndarray, xtail: np.ndarray, xnext: np.ndarray,
           xprev: np.ndarray, xin: np.ndarray) -> None:  # fmt: skip
    if not xin[p]:
        return
    xin[p] = False
    a, b = xprev[p], xnext[p]
    if a >= 0:
        xnext[a] = b
    else:
        xhead[kk] = b
    if b >= 0:
        xprev[b] = a
    else:
        xtail[kk] = a


@helper
def _h_less(ht: np.ndarray, hs: np.ndarray, a: int, b: int) -> bool:
    return ht[a] < ht[b] or (ht[a] == ht[b] and hs[a] < hs[b])


@helper
def _h_swap(ht: np.ndarray, hs: np.ndarray, hj: np.ndarray, hv: np.ndarray, a: int,
            b: int) -> None:  # fmt: skip
    ht[a], ht[b] = ht[b], ht[a]
    hs[a], hs[b] = hs[b], hs[a]
    hj[a], hj[b] = hj[b], hj[a]
    hv[a], hv[b] = hv[b], hv[a]


@helper
def _h_push(ht: np.ndarray, hs: np.ndarray, hj: np.ndarray, hv: np.ndarray, st: np.ndarray,
            t: float, j: int, v: int) -> None:  # fmt: skip
    i = st[S_HEAP]
    st[S_HEAP] = i + 1
    st[S_SEQ] += 1
    ht[i] = t
    hs[i] = st[S_SEQ]
    hj[i] = j
    hv[i] = v
    while i > 0:
        parent = (i - 1) >> 1
        if not _h_less(ht, hs, i, parent):
            break
        _h_swap(ht, hs, hj, hv, i, parent)
        i = parent


@helper
def _h_pop(ht: np.ndarray, hs: np.ndarray, hj: np.ndarray, hv: np.ndarray,
           st: np.ndarray) -> None:  # fmt: skip
    """Remove the top (read ``hj[0]``, ``hv[0]`` first)."""
    size = st[S_HEAP] - 1
    st[S_HEAP] = size
    if size == 0:
        return
    _h_swap(ht, hs, hj, hv, 0, size)
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and _h_less(ht, hs, c + 1, c):
            c += 1
        if not _h_less(ht, hs, c, i):
            break
        _h_swap(ht, hs, hj, hv, i, c)
        i = c


@loop
def _grow(ht: np.ndarray, hs: np.ndarray, hj: np.ndarray, hv: np.ndarray, more: int) -> tuple:
    """The heap's arrays, twice as long plus ``more`` (stale events stay until popped)."""
    size = 2 * ht.size + more
    nt = np.empty(size)
    ns = np.empty(size, dtype=np.int64)
    nj = np.empty(size, dtype=np.int64)
    nv = np.empty(size, dtype=np.int64)
    nt[: ht.size] = ht
    ns[: ht.size] = hs
    nj[: ht.size] = hj
    nv[: ht.size] = hv
    return nt, ns, nj, nv


@helper
def _gpu_rate(n: int, usum: float, powtab: np.ndarray) -> float:
    """``SlowdownModel.gpu_rate`` (Python's ``max``/``min`` tie rules)."""
    if n <= 1:
        return 1.0
    d = 1e-12 if 1e-12 > usum else usum
    q = 1.0 / d
    return (q if q < 1.0 else 1.0) * powtab[n]


@helper
def _reschedule(aff: np.ndarray, na: int, t: float, rem: np.ndarray, rate: np.ndarray,
                last: np.ndarray, served: np.ndarray, min_rate: np.ndarray, max_co: np.ndarray,
                version: np.ndarray, placed: np.ndarray, poff: np.ndarray, nj: np.ndarray,
                usum: np.ndarray, powtab: np.ndarray, ht: np.ndarray, hs: np.ndarray,
                hj: np.ndarray, hv: np.ndarray, st: np.ndarray) -> None:  # fmt: skip
    """``SharedEngine._reschedule`` of the (sorted) jobs ``aff[:na]``."""
    for i in range(na):
        j = aff[i]
        d = rate[j] * (t - last[j])
        x = rem[j] - d
        rem[j] = x if x > 0.0 else 0.0
        served[j] += d
        last[j] = t
        lo, hi = poff[j], poff[j + 1]
        r = 1.0  # a job without GPUs shares nothing the model slows down
        if hi > lo:
            mx = 0
            for q in range(lo, hi):
                g = placed[q]
                v = _gpu_rate(nj[g], usum[g], powtab)
                if q == lo or v < r:
                    r = v
                if nj[g] > mx:
                    mx = nj[g]
            if mx > max_co[j]:
                max_co[j] = mx
        rate[j] = r
        if r < min_rate[j]:
            min_rate[j] = r
        version[j] += 1
        _h_push(ht, hs, hj, hv, st, t + rem[j] / r, j, version[j])


@helper
def _sort_small(a: np.ndarray, n: int) -> None:
    """Insertion sort of ``a[:n]`` (the jobs affected by one change: a handful)."""
    for i in range(1, n):
        v = a[i]
        p = i
        while p > 0 and a[p - 1] > v:
            a[p] = a[p - 1]
            p -= 1
        a[p] = v


@helper
def _merge(a: np.ndarray, na: int, b: np.ndarray, nb: int, out: np.ndarray) -> int:
    """Merge the sorted ``a[:na]`` and ``b[:nb]`` into ``out``; returns the length."""
    i = 0
    q = 0
    o = 0
    while i < na and q < nb:
        if a[i] < b[q]:
            out[o] = a[i]
            i += 1
        else:
            out[o] = b[q]
            q += 1
        o += 1
    while i < na:
        out[o] = a[i]
        i += 1
        o += 1
    while q < nb:
        out[o] = b[q]
        q += 1
        o += 1
    return o


# ---------------------------------------------------------------------------------------------
# the event loop
# ---------------------------------------------------------------------------------------------
@loop
def shared_loop(submit: np.ndarray, dur: np.ndarray, k: np.ndarray, units: np.ndarray,
                util: np.ndarray, keyf: np.ndarray, rank: np.ndarray, byrank: np.ndarray,
                order: np.ndarray, pat: np.ndarray, pat_off: np.ndarray, pat_grp: np.ndarray,
                glo: np.ndarray, ghi: np.ndarray, machine_of: np.ndarray,
                group_of: np.ndarray, n_machines: int, powtab: np.ndarray, iv: np.ndarray,
                fp: np.ndarray, node_group: np.ndarray, node_base: np.ndarray,
                cap_cpu: np.ndarray, cap_gpu: np.ndarray, jcpu: np.ndarray, jmem: np.ndarray,
                pat_mask: np.ndarray, nfc: np.ndarray, nfm: np.ndarray, nfree: np.ndarray,
                njobs: np.ndarray, navail: np.ndarray, nbest: np.ndarray, nfull: np.ndarray,
                nfs: np.ndarray) -> tuple:  # fmt: skip
    """Replay every job (or up to ``fp[F_UNTIL]``) on shared GPUs.

    ``rank``/``byrank``: each job's position in ``(key, submit, job)`` order and its inverse;
    ``order``: jobs by ``(submit, job)``; ``pat[j]``: the job's allowed groups,
    ``pat_grp[pat_off[pat[j]]:pat_off[pat[j] + 1]]`` in search order; ``glo``/``ghi``,
    ``machine_of``, ``group_of``: the GPU layout. Node placements also read each node's
    group, first GPU, CPU and GPU capacity, each job's CPU and memory, ``pat_mask`` (allowed
    groups per pattern) and the node ledger (``nfc`` ... ``nfs``: ``NodeState``'s free CPU,
    memory, free units, jobs and open units per GPU, best, full and summed free units), which
    they update in place.

    Returns ``(start, end, served, min_rate, max_co, placed_group, placed_node, gpus)`` (NaN /
    -1: never started or never ended before the horizon; ``gpus``: each job's GPUs, job ``j``'s
    ``k[j]`` of them after those of the jobs before it).
    """
    n = submit.size
    ng = group_of.size
    n_groups = glo.size
    max_jobs = iv[I_MAXJ]
    backfill = iv[I_BACKFILL] != 0
    pair = iv[I_PAIR]
    place = iv[I_PLACE]
    max_gpus = iv[I_MAXGPUS]
    park = backfill and pair == NO_PAIR
    on_nodes = place >= BEST_FIT
    until = fp[F_UNTIL]
    cap = fp[F_CAP]
    ratio = fp[F_RATIO]
    slots = min(max_jobs, UNITS)
    # GPUs
    free = np.full(ng, UNITS, dtype=np.int64)
    nj = np.zeros(ng, dtype=np.int64)
    usum = np.zeros(ng, dtype=np.float64)
    on_gpu = np.empty(ng * slots, dtype=np.int64)
    mused = np.zeros(n_machines, dtype=np.int64)
    gfree = np.zeros(n_groups, dtype=np.int64)
    fw = np.zeros((n_groups, UNITS + 2), dtype=np.int64)
    st = np.zeros(S_SIZE, dtype=np.int64)
    for x in range(ng):
        _fw_add(fw, group_of[x], UNITS, 1)
        gfree[group_of[x]] += UNITS
    st[S_OPEN] = ng
    epoch = np.zeros(n_groups, dtype=np.int64)
    # jobs
    tried = np.full(n, -1, dtype=np.int64)
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    rem = dur.copy()
    rate = np.zeros(n)
    last = np.zeros(n)
    served = np.zeros(n)
    min_rate = np.ones(n)
    max_co = np.zeros(n, dtype=np.int64)
    version = np.zeros(n, dtype=np.int64)
    poff = np.zeros(n + 1, dtype=np.int64)
    maxk = 1
    for j in range(n):
        poff[j + 1] = poff[j] + k[j]
        if k[j] > maxk:
            maxk = k[j]
    placed = np.empty(max(poff[n], 1), dtype=np.int64)
    pgroup = np.full(n, -1, dtype=np.int64)
    pnode = np.full(n, -1, dtype=np.int64)
    # exclusive jobs of a packing policy, per slot count
    xhead = np.full(maxk + 1, -1, dtype=np.int64)
    xtail = np.full(maxk + 1, -1, dtype=np.int64)
    xnext = np.full(n, -1, dtype=np.int64)
    xprev = np.full(n, -1, dtype=np.int64)
    xin = np.zeros(n, dtype=np.bool_)
    # events
    ht = np.empty(2 * n + 16)
    hs = np.empty(ht.size, dtype=np.int64)
    hj = np.empty(ht.size, dtype=np.int64)
    hv = np.empty(ht.size, dtype=np.int64)
    most_affected = min(n, 1 + maxk * slots)
    # queues and scratch
    pend = np.empty(n, dtype=np.int64)
    keep = np.empty(n, dtype=np.int64)
    parked = np.empty(n, dtype=np.int64)
    arrived = np.empty(n, dtype=np.int64)
    npend = 0
    nparked = 0
    pick = np.empty(maxk, dtype=np.int64)
    cols = np.empty(maxk, dtype=np.int64)
    bf = np.empty(maxk, dtype=np.int64)
    bm = np.empty(maxk, dtype=np.int64)
    aff = np.empty(n, dtype=np.int64)
    mark = np.full(n, -1, dtype=np.int64)
    stamp = 0
    mseen = np.full(n_machines, -1, dtype=np.int64)  # marks of the machines, groups touched
    gseen = np.full(n_groups, -1, dtype=np.int64)
    nxt = 0
    while nxt < n or st[S_HEAP] > 0:
        t = submit[order[nxt]] if nxt < n else np.inf
        if st[S_HEAP] > 0 and ht[0] < t:
            t = ht[0]
        if t > until:
            break
        # Phase order at one instant: finishes, then arrivals, then one scheduling pass.
        released = False
        while st[S_HEAP] > 0 and ht[0] <= t:
            j = hj[0]
            ver = hv[0]
            _h_pop(ht, hs, hj, hv, st)
            if ver != version[j] or not np.isnan(end[j]):
                continue
            # -- finish j --
            if st[S_HEAP] + most_affected > ht.size:
                ht, hs, hj, hv = _grow(ht, hs, hj, hv, most_affected)
            d = rate[j] * (t - last[j])
            served[j] += d
            rem[j] = 0.0
            end[j] = t
            u = units[j]
            stamp += 1
            na = 0
            lo, hi = poff[j], poff[j + 1]
            for q in range(lo, hi):
                x = placed[q]
                _change_gpu(free, nj, fw, gfree, group_of, st, max_jobs, x, u, -1)
                usum[x] -= util[j]
                if nj[x] == 0:
                    usum[x] = 0.0  # no float residue on an empty GPU
                base = x * slots
                for s in range(nj[x] + 1):
                    if on_gpu[base + s] == j:
                        on_gpu[base + s] = on_gpu[base + nj[x]]
                        break
                for s in range(nj[x]):
                    p = on_gpu[base + s]
                    if mark[p] != stamp:
                        mark[p] = stamp
                        aff[na] = p
                        na += 1
            # machines and groups once each (numpy's a[idx] += u adds once per index)
            for q in range(lo, hi):
                m = machine_of[placed[q]]
                if mseen[m] != stamp:
                    mseen[m] = stamp
                    mused[m] -= u
            _sort_small(aff, na)
            if pair != NO_PAIR:
                _x_pop(j, k[j], xhead, xtail, xnext, xprev, xin)
                for i in range(na):
                    p = aff[i]
                    alone = True
                    for q in range(poff[p], poff[p + 1]):
                        if nj[placed[q]] != 1:
                            alone = False
                            break
                    if alone:
                        _x_add(p, k[p], xhead, xtail, xnext, xprev, xin)
            for q in range(lo, hi):
                g = group_of[placed[q]]
                if gseen[g] != stamp:
                    gseen[g] = stamp
                    epoch[g] += 1
            if on_nodes:
                node = pnode[j]
                for q in range(lo, hi):
                    cols[q - lo] = placed[q] - node_base[node]
                _node_change(node, cols, hi - lo, u, jcpu[j], jmem[j], 1, nfc, nfm, nfree,
                             njobs, navail, nbest, nfull, nfs, max_jobs)  # fmt: skip
                if gseen[node_group[node]] != stamp:
                    epoch[node_group[node]] += 1
            _reschedule(aff, na, t, rem, rate, last, served, min_rate, max_co, version,
                        placed, poff, nj, usum, powtab, ht, hs, hj, hv, st)  # fmt: skip
            released = True
        if released and nparked > 0:
            parked[:nparked].sort()
            npend = _merge(pend, npend, parked, nparked, keep)
            pend, keep = keep, pend
            nparked = 0
        na = 0
        while nxt < n and submit[order[nxt]] <= t:
            arrived[na] = rank[order[nxt]]
            na += 1
            nxt += 1
        if na > 0:
            arrived[:na].sort()
            npend = _merge(pend, npend, arrived, na, keep)
            pend, keep = keep, pend
        if npend == 0 or (not on_nodes and st[S_OPEN] == 0):
            continue  # (a node may still take a job without GPUs)
        # -- one scheduling pass over the pending jobs, in order --
        nk = 0
        i = 0
        while i < npend:
            r = pend[i]
            j = byrank[r]
            plo, phi = pat_off[pat[j]], pat_off[pat[j] + 1]
            if phi - plo == 1:
                sig = epoch[pat_grp[plo]]
            else:
                sig = 0
                for q in range(plo, phi):
                    sig += epoch[pat_grp[q]]
            ok = False
            node = -1
            if sig != tried[j]:
                if on_nodes:
                    node = _node_choose(place, j, k, units, jcpu, jmem, pat, pat_mask,
                                        node_group, cap_cpu, cap_gpu, nfc, nfm, nfree, navail,
                                        nbest, nfull, nfs, cols)  # fmt: skip
                    ok = node >= 0
                    for q in range(k[j] if ok else 0):
                        pick[q] = node_base[node] + cols[q]
                elif pair == NO_PAIR:
                    ok = _choose(place, j, False, k, units, pat, pat_off, pat_grp, glo, ghi,
                                 free, nj, max_jobs, mused, machine_of, gfree, fw, pick, bf,
                                 bm)  # fmt: skip
                elif pair == EMPTY_FIRST:
                    ok = _choose(place, j, True, k, units, pat, pat_off, pat_grp, glo, ghi,
                                 free, nj, max_jobs, mused, machine_of, gfree, fw, pick, bf,
                                 bm) or _partner(j, max_gpus, cap, ratio, k, units, util, keyf,
                                                 pat, pat_off, pat_grp, group_of, free, placed,
                                                 poff, xhead, xnext, pick)  # fmt: skip
                else:
                    ok = _partner(j, max_gpus, cap, ratio, k, units, util, keyf, pat, pat_off,
                                  pat_grp, group_of, free, placed, poff, xhead, xnext,
                                  pick) or _choose(place, j, True, k, units, pat, pat_off,
                                                   pat_grp, glo, ghi, free, nj, max_jobs,
                                                   mused, machine_of, gfree, fw, pick, bf,
                                                   bm)  # fmt: skip
            if not ok:
                tried[j] = sig
                if park:
                    parked[nparked] = r
                    nparked += 1
                else:
                    keep[nk] = r
                    nk += 1
                if not backfill:  # head-of-line: nothing behind a blocked job starts
                    for q in range(i + 1, npend):
                        keep[nk] = pend[q]
                        nk += 1
                    break
                i += 1
                continue
            # -- start j on pick[:k[j]] --
            if st[S_HEAP] + most_affected > ht.size:
                ht, hs, hj, hv = _grow(ht, hs, hj, hv, most_affected)
            u = units[j]
            kk = k[j]
            stamp += 1
            aff[0] = j
            mark[j] = stamp
            na = 1
            lo = poff[j]
            for q in range(kk):
                x = pick[q]
                _change_gpu(free, nj, fw, gfree, group_of, st, max_jobs, x, -u, 1)
                usum[x] += util[j]
                base = x * slots
                for s in range(nj[x] - 1):
                    p = on_gpu[base + s]
                    if mark[p] != stamp:
                        mark[p] = stamp
                        aff[na] = p
                        na += 1
                on_gpu[base + nj[x] - 1] = j
                placed[lo + q] = x
            for q in range(kk):
                m = machine_of[pick[q]]
                if mseen[m] != stamp:
                    mseen[m] = stamp
                    mused[m] += u
            start[j] = t
            last[j] = t
            if on_nodes:
                _node_change(node, cols, kk, u, jcpu[j], jmem[j], -1, nfc, nfm, nfree, njobs,
                             navail, nbest, nfull, nfs, max_jobs)  # fmt: skip
                pnode[j] = node
                pgroup[j] = node_group[node]
            else:
                pgroup[j] = group_of[pick[0]]
            if pair != NO_PAIR:
                for q in range(1, na):
                    _x_pop(aff[q], k[aff[q]], xhead, xtail, xnext, xprev, xin)
                alone = True
                for q in range(kk):
                    if nj[pick[q]] != 1:
                        alone = False
                        break
                if alone:
                    _x_add(j, kk, xhead, xtail, xnext, xprev, xin)
            for q in range(kk):
                g = group_of[pick[q]]
                if gseen[g] != stamp:
                    gseen[g] = stamp
                    epoch[g] += 1
            if on_nodes and gseen[node_group[node]] != stamp:
                epoch[node_group[node]] += 1
            _sort_small(aff, na)
            _reschedule(aff, na, t, rem, rate, last, served, min_rate, max_co, version,
                        placed, poff, nj, usum, powtab, ht, hs, hj, hv, st)  # fmt: skip
            if backfill and not on_nodes and st[S_OPEN] == 0:
                for q in range(i + 1, npend):
                    keep[nk] = pend[q]
                    nk += 1
                break
            i += 1
        pend, keep = keep, pend
        npend = nk
    return start, end, served, min_rate, max_co, pgroup, pnode, placed
