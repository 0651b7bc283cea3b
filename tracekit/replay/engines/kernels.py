"""Compiled (numba) event loops of the whole-GPU replay: the Python engine's algorithms on arrays.

Every function here mirrors a loop of :mod:`tracekit.replay.engines.whole_gpu` and
:mod:`tracekit.replay.engines.placement` operation for operation - the same float additions
and comparisons in the same order, the same tie rules - so that both give bit-identical
per-job results. Read the Python engine for the *why*; comments here only mark where the
array form differs:

* **Placement index**: per free-GPU count a bitset of nodes in ``uint64`` words (Python uses
  one arbitrary-size int per count); the lowest node is found word by word with a de Bruijn
  multiplication.
* **Keys** are pairs ``(float, int)`` compared lexicographically. SRTF: ``(remaining, job)``;
  with the simulators' list ties ``(remaining, kind << 48 | insertion number)`` (pending kind
  0, running 1, insertion numbers unique), which orders as the Python 4-tuples do; Tiresias:
  ``(queue, job)``. Job ids ride along in parallel arrays.
* **Events** sit in an indexed heap keyed ``(time, kind, job)`` with at most one finish and
  one priority-change event per job: a preempted job's events are removed at once instead of
  being skipped when popped (a skipped event changes nothing in the Python loop).
* Sorted lists are arrays kept sorted by shifting (what ``list.insert`` does in C).

All numba code of the replay lives in this one module: numba's on-disk cache is invalidated by
a change of the *calling* function's source file only, so a helper in another file could leave
a stale compiled caller behind.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Compile options. Loops allocate their arrays and use numba's reference counting; helpers
#: only read and write arrays they are handed, so they are compiled without it
#: (``_nrt=False``): counting the references of every array argument at every call (atomic
#: increments) took three quarters of the preemptive loop's time. A helper must therefore
#: never allocate or return an array.
loop = njit(cache=True)
helper = njit(cache=True, _nrt=False)

INF = np.inf
#: Placement kinds (``tracekit.replay.engines.placement`` names, same rules).
CONSOLIDATE, FIRST_FIT, SPREAD = 0, 1, 2
#: Static-key loops (``backfill`` modes).
HOL, GREEDY, EASY = 0, 1, 2
#: Preemptive priority rules.
SRTF, LAS = 0, 1
#: How running jobs are kept in rank order (``whole_gpu.run_preemptive``): exact keys that
#: change only at events (Tiresias), a time-invariant proxy (SRTF), or recomputed per pass.
RUN_EXACT, RUN_PROXY, RUN_RECOMPUTE = 0, 1, 2
#: Bit position of the kind (pending 0 / running 1) in a list-tie key's integer part.
KIND_SHIFT = 48
PRED_FLOOR_S = 1e-6  # tracekit.replay.policies.srtf.PRED_FLOOR_S
LAS_EPS = 1e-6  # tracekit.replay.policies.tiresias._EPS
LAS_MIN_STEP_S = 1e-6  # tracekit.replay.policies.tiresias._MIN_STEP_S

_DB_MUL = np.uint64(0x03F79D71B4CB0A89)
_DB = np.zeros(64, dtype=np.int64)
for _i in range(64):
    _DB[(((1 << _i) * 0x03F79D71B4CB0A89) & (2**64 - 1)) >> 58] = _i
_ONE = np.uint64(1)
_SIX = np.uint64(58)


# ---------------------------------------------------------------------------------------------
# placement: free GPUs per node and a bitset per free count
# ---------------------------------------------------------------------------------------------
@loop
def new_nodes(nodes: int, gpn: int) -> tuple:
    """``(free, bits, cnt, tot)`` of an idle VC: free GPUs per node, node bitsets per free
    count, nodes per free count, and ``tot[0]`` = free GPUs."""
    nw = max((nodes + 63) // 64, 1)
    free = np.full(nodes, gpn, dtype=np.int64)
    bits = np.zeros((gpn + 1, nw), dtype=np.uint64)
    for node in range(nodes):
        bits[gpn, node >> 6] |= _ONE << np.uint64(node & 63)
    cnt = np.zeros(gpn + 1, dtype=np.int64)
    cnt[gpn] = nodes
    tot = np.zeros(1, dtype=np.int64)
    tot[0] = nodes * gpn
    return free, bits, cnt, tot


@helper
def _lowbit(w: np.uint64) -> int:
    low = w & (~w + _ONE)
    return _DB[(low * _DB_MUL) >> _SIX]


@helper
def _lowest(bits: np.ndarray, cnt: np.ndarray, f: int) -> int:
    if cnt[f] == 0:
        return -1
    for w in range(bits.shape[1]):
        x = bits[f, w]
        if x:
            return w * 64 + _lowbit(x)
    return -1


@helper
def _move(free: np.ndarray, bits: np.ndarray, cnt: np.ndarray, node: int, f_new: int) -> None:
    f = free[node]
    b = _ONE << np.uint64(node & 63)
    w = node >> 6
    bits[f, w] &= ~b
    bits[f_new, w] |= b
    cnt[f] -= 1
    cnt[f_new] += 1
    free[node] = f_new


@helper
def _whole_nodes(
    free: np.ndarray, bits: np.ndarray, cnt: np.ndarray, tot: np.ndarray, gpn: int, g: int,
    best_fit_rest: bool, an: np.ndarray, ag: np.ndarray, off: int,
) -> int:  # fmt: skip
    # Placer._whole_nodes: k lowest idle nodes plus the remainder on one other node.
    k = g // gpn
    r = g - k * gpn
    if cnt[gpn] < k:
        return 0
    got = 0
    next_idle = -1  # the idle node after the k chosen ones ("rest" in Python)
    for w in range(bits.shape[1]):
        x = bits[gpn, w]
        while x:
            node = w * 64 + _lowbit(x)
            x &= x - _ONE
            if got < k:
                an[off + got] = node
                got += 1
            else:
                next_idle = node
                break
        if next_idle >= 0:
            break
    rem_node = -1
    if r:
        if best_fit_rest:
            for f in range(r, gpn + 1):
                node = next_idle if f == gpn else _lowest(bits, cnt, f)
                if node >= 0:
                    rem_node = node
                    break
        else:
            for f in range(gpn, r - 1, -1):
                node = next_idle if f == gpn else _lowest(bits, cnt, f)
                if node >= 0:
                    rem_node = node
                    break
        if rem_node < 0:
            return 0
    for i in range(k):
        _move(free, bits, cnt, an[off + i], 0)
        ag[off + i] = gpn
    tot[0] -= k * gpn
    if r:
        _move(free, bits, cnt, rem_node, free[rem_node] - r)
        tot[0] -= r
        an[off + k] = rem_node
        ag[off + k] = r
        return k + 1
    return k


@helper
def place(
    free: np.ndarray, bits: np.ndarray, cnt: np.ndarray, tot: np.ndarray, gpn: int, kind: int,
    compat: bool, g: int, an: np.ndarray, ag: np.ndarray, off: int,
) -> int:  # fmt: skip
    """Allocate ``g`` GPUs: writes ``(node, gpus)`` pairs at ``an/ag[off:]`` and returns how
    many (0: cannot place now; nothing changed)."""
    if g > tot[0]:
        return 0
    if kind == FIRST_FIT:
        need = g
        k = 0
        for node in range(free.shape[0]):
            f = free[node]
            if f:
                take = f if f < need else need
                an[off + k] = node
                ag[off + k] = take
                k += 1
                need -= take
                if not need:
                    break
        for i in range(k):
            node = an[off + i]
            _move(free, bits, cnt, node, free[node] - ag[off + i])
        tot[0] -= g
        return k
    if g <= gpn:
        if kind == CONSOLIDATE:
            for f in range(g, gpn + 1):
                node = _lowest(bits, cnt, f)
                if node >= 0:
                    _move(free, bits, cnt, node, f - g)
                    tot[0] -= g
                    an[off] = node
                    ag[off] = g
                    return 1
        else:
            for f in range(gpn, g - 1, -1):
                node = _lowest(bits, cnt, f)
                if node >= 0:
                    _move(free, bits, cnt, node, f - g)
                    tot[0] -= g
                    an[off] = node
                    ag[off] = g
                    return 1
        return 0
    return _whole_nodes(free, bits, cnt, tot, gpn, g, kind == CONSOLIDATE and not compat, an, ag,
                        off)  # fmt: skip


@helper
def release(
    free: np.ndarray, bits: np.ndarray, cnt: np.ndarray, tot: np.ndarray, an: np.ndarray,
    ag: np.ndarray, off: int, k: int,
) -> None:  # fmt: skip
    """Give back the ``k`` pairs of an allocation written by :func:`place`."""
    for i in range(k):
        node = an[off + i]
        g = ag[off + i]
        _move(free, bits, cnt, node, free[node] + g)
        tot[0] += g


# ---------------------------------------------------------------------------------------------
# heaps on arrays
# ---------------------------------------------------------------------------------------------
@helper
def _ipush(h: np.ndarray, base: int, size: int, v: int) -> int:
    # Min-heap of unique ints at h[base:base + size]; returns the new size.
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if h[base + p] <= v:
            break
        h[base + i] = h[base + p]
        i = p
    h[base + i] = v
    return size + 1


@helper
def _ipop(h: np.ndarray, base: int, size: int) -> int:
    size -= 1
    v = h[base + size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and h[base + c + 1] < h[base + c]:
            c += 1
        if h[base + c] >= v:
            break
        h[base + i] = h[base + c]
        i = c
    if size:
        h[base + i] = v
    return size


@helper
def _fpush(ht: np.ndarray, hj: np.ndarray, size: int, t: float, j: int) -> int:
    # Min-heap of unique (time, job) pairs.
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if ht[p] < t or (ht[p] == t and hj[p] < j):
            break
        ht[i] = ht[p]
        hj[i] = hj[p]
        i = p
    ht[i] = t
    hj[i] = j
    return size + 1


@helper
def _fpop(ht: np.ndarray, hj: np.ndarray, size: int) -> int:
    size -= 1
    t = ht[size]
    j = hj[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and (ht[c + 1] < ht[c] or (ht[c + 1] == ht[c] and hj[c + 1] < hj[c])):
            c += 1
        if ht[c] > t or (ht[c] == t and hj[c] > j):
            break
        ht[i] = ht[c]
        hj[i] = hj[c]
        i = c
    if size:
        ht[i] = t
        hj[i] = j
    return size


@helper
def _pair_gt(kf: np.ndarray, ki: np.ndarray, a: int, b: int) -> bool:
    return kf[a] > kf[b] or (kf[a] == kf[b] and ki[a] > ki[b])


@helper
def order_pairs(kf: np.ndarray, ki: np.ndarray, m: int, idx: np.ndarray) -> None:
    """Write into ``idx[:m]`` the indices of ``(kf, ki)[:m]`` in lexicographic order
    (heapsort). Equal pairs are interchangeable wherever this is used. (Written out: numba's
    own sorts cost seconds of compilation each.)"""
    for x in range(m):
        idx[x] = x
    # build a max-heap, then move the maximum to the end
    for start in range((m - 2) // 2, -1, -1):
        _sift(kf, ki, idx, start, m)
    for end in range(m - 1, 0, -1):
        idx[0], idx[end] = idx[end], idx[0]
        _sift(kf, ki, idx, 0, end)


@helper
def _sift(kf: np.ndarray, ki: np.ndarray, idx: np.ndarray, i: int, size: int) -> None:
    while True:
        c = 2 * i + 1
        if c >= size:
            return
        if c + 1 < size and _pair_gt(kf, ki, idx[c + 1], idx[c]):
            c += 1
        if not _pair_gt(kf, ki, idx[c], idx[i]):
            return
        idx[i], idx[c] = idx[c], idx[i]
        i = c


@helper
def _bisect_f(a: np.ndarray, x: float, right: bool) -> int:
    # bisect_left / bisect_right on a sorted float array
    lo = 0
    hi = a.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x or (right and a[mid] == x):
            lo = mid + 1
        else:
            hi = mid
    return lo


# ---------------------------------------------------------------------------------------------
# static-key policies (whole_gpu.run_static)
# ---------------------------------------------------------------------------------------------
@loop
def static_loop(
    mode: int, sub: np.ndarray, dur: np.ndarray, gpus: np.ndarray, rank: np.ndarray,
    byrank: np.ndarray, est: np.ndarray, depth: int, fresh_order: bool, nodes: int, gpn: int,
    kind: int, compat: bool, aoff: np.ndarray, asize: int,
) -> tuple:  # fmt: skip
    """Replay one VC under a static-key policy: ``mode`` HOL / GREEDY / EASY; ``rank`` and
    ``byrank`` the job ranks by (key, submit order); ``depth < 0``: no EASY depth limit.

    Returns ``(start, end, an, ag, alen)``: times, and each job's last allocation as
    ``alen[j]`` pairs at ``an/ag[aoff[j]:]``.
    """
    n = sub.shape[0]
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    an = np.zeros(asize, dtype=np.int64)
    ag = np.zeros(asize, dtype=np.int64)
    alen = np.zeros(n, dtype=np.int64)
    if n == 0:
        return start, end, an, ag, alen
    free, bits, cnt, tot = new_nodes(nodes, gpn)
    fin_t = np.empty(n)
    fin_j = np.empty(n, dtype=np.int64)
    if mode == HOL:
        _static_hol(sub, dur, gpus, rank, byrank, fresh_order, free, bits, cnt, tot, gpn, kind,
                    compat, aoff, an, ag, alen, start, end, fin_t, fin_j)  # fmt: skip
    elif mode == GREEDY:
        _static_greedy(sub, dur, gpus, rank, byrank, free, bits, cnt, tot, gpn, kind, compat,
                       aoff, an, ag, alen, start, end, fin_t, fin_j)  # fmt: skip
    else:
        _static_easy(sub, dur, gpus, rank, byrank, est, depth, free, bits, cnt, tot, gpn, kind,
                     compat, aoff, an, ag, alen, start, end, fin_t, fin_j)  # fmt: skip
    return start, end, an, ag, alen


@loop
def _static_hol(
    sub, dur, gpus, rank, byrank, fresh_order, free, bits, cnt, tot, gpn, kind, compat, aoff,
    an, ag, alen, start, end, fin_t, fin_j,
) -> None:  # noqa: ANN001 - arrays, typed by numba  # fmt: skip
    n = sub.shape[0]
    pend = np.empty(n, dtype=np.int64)
    npend = 0
    nfin = 0
    ai = 0
    fresh_t = -INF
    fresh_n = 0
    while True:
        ta = sub[ai] if ai < n else INF
        tf = fin_t[0] if nfin else INF
        t = ta if ta <= tf else tf
        if t == INF:
            return
        while nfin and fin_t[0] <= t:
            j = fin_j[0]
            nfin = _fpop(fin_t, fin_j, nfin)
            release(free, bits, cnt, tot, an, ag, aoff[j], alen[j])
        while ai < n and sub[ai] <= t:
            npend = _ipush(pend, 0, npend, rank[ai])
            if fresh_order:
                if fresh_t != t:
                    fresh_t = t
                    fresh_n = 0
                fresh_n += 1
            ai += 1
        if not npend:
            continue
        if fresh_order and fresh_t == t and fresh_n == npend:
            # Every pending job arrived this second: GPU-count order (see the Python loop).
            kf = np.empty(npend)
            ki = np.empty(npend, dtype=np.int64)
            for i in range(npend):
                j = byrank[pend[i]]
                kf[i] = gpus[j]
                ki[i] = j
            idx = np.empty(npend, dtype=np.int64)
            order_pairs(kf, ki, npend, idx)
            cand = pend[:npend][idx]
            k = 0
            for r in cand:
                j = byrank[r]
                c = place(free, bits, cnt, tot, gpn, kind, compat, gpus[j], an, ag, aoff[j])
                if not c:
                    break
                alen[j] = c
                start[j] = t
                end[j] = t + dur[j]
                nfin = _fpush(fin_t, fin_j, nfin, t + dur[j], j)
                k += 1
            if k:
                npend = 0
                for r in cand[k:]:
                    npend = _ipush(pend, 0, npend, r)
                fresh_n -= k
            continue
        while npend:
            j = byrank[pend[0]]
            g = gpus[j]
            if g > tot[0]:
                break
            c = place(free, bits, cnt, tot, gpn, kind, compat, g, an, ag, aoff[j])
            if not c:
                break
            npend = _ipop(pend, 0, npend)
            e = t + dur[j]
            start[j] = t
            end[j] = e
            alen[j] = c
            nfin = _fpush(fin_t, fin_j, nfin, e, j)
            if fresh_order and sub[j] == fresh_t:
                fresh_n -= 1


@loop
def _static_greedy(
    sub, dur, gpus, rank, byrank, free, bits, cnt, tot, gpn, kind, compat, aoff, an, ag, alen,
    start, end, fin_t, fin_j,
) -> None:  # noqa: ANN001 - arrays, typed by numba  # fmt: skip
    n = sub.shape[0]
    gmax = 0
    for j in range(n):
        gmax = max(gmax, gpus[j])
    of_size = np.full(gmax + 1, -1, dtype=np.int64)
    for j in range(n):
        of_size[gpus[j]] = 0
    ns = 0
    for g in range(gmax + 1):
        if of_size[g] == 0:
            of_size[g] = ns
            ns += 1
    sizes = np.empty(ns, dtype=np.int64)  # distinct GPU counts, ascending
    for g in range(gmax + 1):
        if of_size[g] >= 0:
            sizes[of_size[g]] = g
    sidx = np.empty(n, dtype=np.int64)
    for j in range(n):
        sidx[j] = of_size[gpus[j]]
    # One heap of ranks per GPU count, side by side in one array.
    hoff = np.zeros(ns + 1, dtype=np.int64)
    for j in range(n):
        hoff[sidx[j] + 1] += 1
    for s in range(ns):
        hoff[s + 1] += hoff[s]
    heap = np.empty(n, dtype=np.int64)
    hsz = np.zeros(ns, dtype=np.int64)
    failed = np.zeros(ns, dtype=np.bool_)
    npend = 0
    nfin = 0
    ai = 0
    while True:
        ta = sub[ai] if ai < n else INF
        tf = fin_t[0] if nfin else INF
        t = ta if ta <= tf else tf
        if t == INF:
            return
        while nfin and fin_t[0] <= t:
            j = fin_j[0]
            nfin = _fpop(fin_t, fin_j, nfin)
            release(free, bits, cnt, tot, an, ag, aoff[j], alen[j])
        while ai < n and sub[ai] <= t:
            s = sidx[ai]
            hsz[s] = _ipush(heap, hoff[s], hsz[s], rank[ai])
            npend += 1
            ai += 1
        failed[:] = False
        while npend:
            fr = tot[0]
            best_r = -1
            best_s = -1
            for s in range(ns):
                if sizes[s] > fr:
                    break
                if hsz[s] and (best_r < 0 or heap[hoff[s]] < best_r) and not failed[s]:
                    best_r = heap[hoff[s]]
                    best_s = s
            if best_r < 0:
                break
            j = byrank[best_r]
            c = place(free, bits, cnt, tot, gpn, kind, compat, sizes[best_s], an, ag, aoff[j])
            if not c:
                failed[best_s] = True
                continue
            hsz[best_s] = _ipop(heap, hoff[best_s], hsz[best_s])
            npend -= 1
            e = t + dur[j]
            start[j] = t
            end[j] = e
            alen[j] = c
            nfin = _fpush(fin_t, fin_j, nfin, e, j)


@loop
def _shadow(
    fin_j: np.ndarray, nfin: int, xend: np.ndarray, gpus: np.ndarray, fr: int, need: int,
    t: float,
) -> tuple:  # fmt: skip
    # EASY reservation: (time, spare GPUs then), as whole_gpu._shadow.
    if fr >= need:
        return t, fr - need
    e = np.empty(nfin)
    g = np.empty(nfin, dtype=np.int64)
    for i in range(nfin):
        j = fin_j[i]
        e[i] = xend[j] if xend[j] > t else t
        g[i] = gpus[j]
    order = np.empty(nfin, dtype=np.int64)
    order_pairs(e, g, nfin, order)  # by (end, GPUs)
    avail = fr
    for i in order:
        avail += g[i]
        if avail >= need:
            return e[i], avail - need
    return INF, 0


@loop
def _static_easy(
    sub, dur, gpus, rank, byrank, est, depth, free, bits, cnt, tot, gpn, kind, compat, aoff, an,
    ag, alen, start, end, fin_t, fin_j,
) -> None:  # noqa: ANN001 - arrays, typed by numba  # fmt: skip
    n = sub.shape[0]
    xend = np.zeros(n)
    pend = np.empty(n, dtype=np.int64)  # sorted ranks
    npend = 0
    nfin = 0
    ai = 0
    limit = n if depth < 0 else depth
    while True:
        ta = sub[ai] if ai < n else INF
        tf = fin_t[0] if nfin else INF
        t = ta if ta <= tf else tf
        if t == INF:
            return
        while nfin and fin_t[0] <= t:
            j = fin_j[0]
            nfin = _fpop(fin_t, fin_j, nfin)
            release(free, bits, cnt, tot, an, ag, aoff[j], alen[j])
        while ai < n and sub[ai] <= t:
            r = rank[ai]
            i = npend
            while i > 0 and pend[i - 1] > r:
                i -= 1
            for x in range(npend, i, -1):
                pend[x] = pend[x - 1]
            pend[i] = r
            npend += 1
            ai += 1
        while npend:
            head = byrank[pend[0]]
            gh = gpus[head]
            c = 0
            if gh <= tot[0]:
                c = place(free, bits, cnt, tot, gpn, kind, compat, gh, an, ag, aoff[head])
            if c:
                npend -= 1
                for x in range(npend):
                    pend[x] = pend[x + 1]
                e = t + dur[head]
                start[head] = t
                end[head] = e
                alen[head] = c
                xend[head] = t + est[head]
                nfin = _fpush(fin_t, fin_j, nfin, e, head)
                continue
            if tot[0] == 0 or npend == 1 or limit == 0:
                break
            shadow = -1.0
            extra = 0
            k = 1
            scanned = 0
            while k < npend and scanned < limit:
                fr = tot[0]
                if fr == 0:
                    break
                j = byrank[pend[k]]
                g = gpus[j]
                scanned += 1
                if g <= fr:
                    if shadow < 0:
                        shadow, extra = _shadow(fin_j, nfin, xend, gpus, fr, gh, t)
                    long = t + est[j] > shadow
                    if not long or g <= extra:
                        c = place(free, bits, cnt, tot, gpn, kind, compat, g, an, ag, aoff[j])
                        if c:
                            npend -= 1
                            for x in range(k, npend):
                                pend[x] = pend[x + 1]
                            e = t + dur[j]
                            start[j] = t
                            end[j] = e
                            alen[j] = c
                            xend[j] = t + est[j]
                            nfin = _fpush(fin_t, fin_j, nfin, e, j)
                            if long:
                                extra -= g
                            continue
                k += 1
            break


# ---------------------------------------------------------------------------------------------
# preemptive policies (whole_gpu.run_preemptive)
# ---------------------------------------------------------------------------------------------
# Per-job float rows (fs) and int rows (js), scalar state (iv) and parameters (q).
F_REM, F_EXEC, F_EXTRA, F_RESUME, F_PRED, F_RKF, F_PKF, F_FIRST, F_END, F_OVH = range(10)
J_GPUS, J_RUN, J_PSEQ, J_RSEQ, J_RKI, J_PKI, J_ALEN, J_AOFF, J_RPOS, J_NPRE = range(10)
(I_NPEND, I_NRUN, I_NHEAP, I_NSEG, I_RUNTOTAL, I_NRUNNING, I_SEQ, I_MINSIZE, I_NACTIVE,
 I_LEN) = range(10)  # fmt: skip
(Q_RULE, Q_PRED, Q_TIES, Q_STRICT, Q_GPUTIME, Q_HOL, Q_PLACE, Q_COMPAT, Q_GPN, Q_RUNMODE,
 Q_CAP, Q_MAXG, Q_LEN) = range(13)  # fmt: skip


# Positions in the state tuple W of the preemptive loop.
(W_FS, W_JS, W_IV, W_Q, W_THR, W_PF, W_PI, W_PJ, W_PG, W_RF, W_RI, W_RJ, W_RG, W_HT, W_HS,
 W_HPOS, W_FREE, W_BITS, W_CNT, W_TOT, W_AN, W_AG, W_SIZE_COUNT, W_OVH_G, W_RSET, W_VF, W_VI,
 W_VJ, W_VG, W_SEL, W_DROP, W_TF, W_TI, W_IDX, W_ZF) = range(35)  # fmt: skip


@helper
def _lt(af: float, ai: int, bf: float, bi: int) -> bool:
    return af < bf or (af == bf and ai < bi)


@helper
def _bisect(kf: np.ndarray, ki: np.ndarray, lo: int, hi: int, xf: float, xi: int) -> int:
    # bisect_left on the pairs (kf, ki)[lo:hi]
    while lo < hi:
        mid = (lo + hi) >> 1
        if kf[mid] < xf or (kf[mid] == xf and ki[mid] < xi):
            lo = mid + 1
        else:
            hi = mid
    return lo


@helper
def _key(fs: np.ndarray, js: np.ndarray, thr: np.ndarray, q: np.ndarray, j: int,
         t: float) -> tuple:  # fmt: skip
    # PreemptivePolicy.key of SRTF, ListTieSRTF, Tiresias and StrictTiresias.
    running = js[J_RUN, j] == 1
    if q[Q_RULE] == SRTF:
        if q[Q_PRED]:
            done = fs[F_EXEC, j] + (t - fs[F_RESUME, j]) if running else fs[F_EXEC, j]
            left = fs[F_PRED, j] + fs[F_EXTRA, j] - done
            left = left if left > PRED_FLOOR_S else PRED_FLOOR_S
        elif running:
            left = fs[F_REM, j] - (t - fs[F_RESUME, j])
        else:
            left = fs[F_REM, j]
        if q[Q_TIES]:
            if running:
                return left, (1 << KIND_SHIFT) | js[J_RSEQ, j]
            return left, js[J_PSEQ, j]
        return left, j
    done = fs[F_EXEC, j] + (t - fs[F_RESUME, j]) if running else fs[F_EXEC, j]
    att = done * js[J_GPUS, j] if q[Q_GPUTIME] else done
    if q[Q_STRICT]:
        return float(_bisect_f(thr, att, False)), j
    return float(_bisect_f(thr, att + LAS_EPS, True)), j


@helper
def _entry(fs: np.ndarray, js: np.ndarray, thr: np.ndarray, q: np.ndarray, j: int,
           t: float) -> tuple:  # fmt: skip
    # Tiresias.running_entry / StrictTiresias.running_entry: (key, next change or NaN).
    running = js[J_RUN, j] == 1
    done = fs[F_EXEC, j] + (t - fs[F_RESUME, j]) if running else fs[F_EXEC, j]
    nthr = thr.shape[0]
    if q[Q_GPUTIME]:
        rate = js[J_GPUS, j]
        att = done * rate
    else:
        rate = 1
        att = done
    if q[Q_STRICT]:
        k = _bisect_f(thr, att, False)
        if k >= nthr:
            return float(k), j, np.nan
        return float(k), j, float(np.floor(t + (thr[k] - att) / rate) + 1)
    k = _bisect_f(thr, att + LAS_EPS, True)
    if k >= nthr:
        return float(k), j, np.nan
    when = t + (thr[k] - att) / rate
    low = t + LAS_MIN_STEP_S
    if when < low:
        when = low
    return float(k), j, when


# -- indexed event heap: slot 2j = finish of j, 2j + 1 = priority change of j, 2n = tick -------
@helper
def _hless(ht: np.ndarray, hs: np.ndarray, a: int, b: int) -> bool:
    # (time, kind, job) order; a slot's kind and job follow from its number except the tick's
    if ht[a] != ht[b]:
        return ht[a] < ht[b]
    return _slot_rank(hs[a], hs.shape[0]) < _slot_rank(hs[b], hs.shape[0])


@helper
def _slot_rank(s: int, cap: int) -> int:
    # kind * cap + job: finishes (kind 0) before changes (1) before the tick (2), then by job
    if s == cap - 1:
        return 2 * cap
    return (s & 1) * cap + (s >> 1)


@helper
def _hswap(ht: np.ndarray, hs: np.ndarray, hpos: np.ndarray, a: int, b: int) -> None:
    ht[a], ht[b] = ht[b], ht[a]
    hs[a], hs[b] = hs[b], hs[a]
    hpos[hs[a]] = a
    hpos[hs[b]] = b


@helper
def _hup(ht: np.ndarray, hs: np.ndarray, hpos: np.ndarray, i: int) -> None:
    while i > 0:
        p = (i - 1) >> 1
        if not _hless(ht, hs, i, p):
            break
        _hswap(ht, hs, hpos, i, p)
        i = p


@helper
def _hdown(ht: np.ndarray, hs: np.ndarray, hpos: np.ndarray, i: int, size: int) -> None:
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and _hless(ht, hs, c + 1, c):
            c += 1
        if not _hless(ht, hs, c, i):
            break
        _hswap(ht, hs, hpos, i, c)
        i = c


@helper
def _hpush(ht: np.ndarray, hs: np.ndarray, hpos: np.ndarray, iv: np.ndarray, slot: int,
           t: float) -> None:  # fmt: skip
    i = iv[I_NHEAP]
    iv[I_NHEAP] = i + 1
    ht[i] = t
    hs[i] = slot
    hpos[slot] = i
    _hup(ht, hs, hpos, i)


@helper
def _hremove(ht: np.ndarray, hs: np.ndarray, hpos: np.ndarray, iv: np.ndarray, slot: int) -> None:
    i = hpos[slot]
    if i < 0:
        return
    last = iv[I_NHEAP] - 1
    iv[I_NHEAP] = last
    hpos[slot] = -1
    if i == last:
        return
    ht[i] = ht[last]
    hs[i] = hs[last]
    hpos[hs[i]] = i
    if i > 0 and _hless(ht, hs, i, (i - 1) >> 1):
        _hup(ht, hs, hpos, i)
    else:
        _hdown(ht, hs, hpos, i, last)


# -- sorted pair arrays (pending list, running list) --------------------------------------------
@helper
def _shift_up(a: np.ndarray, i: int, size: int) -> None:
    # a[i + 1 : size + 1] = a[i:size]. Unsigned indices: numba adds no negative-index
    # wraparound to them, so LLVM turns the loop into a memmove (three times faster).
    x = np.uint64(size)
    lo = np.uint64(i)
    while x > lo:
        a[x] = a[x - _ONE]
        x -= _ONE


@helper
def _shift_down(a: np.ndarray, i: int, size: int) -> None:
    # a[i : size - 1] = a[i + 1 : size] (unsigned indices, see _shift_up)
    x = np.uint64(i)
    hi = np.uint64(size - 1)
    while x < hi:
        a[x] = a[x + _ONE]
        x += _ONE


@helper
def _ins(kf: np.ndarray, ki: np.ndarray, kj: np.ndarray, kg: np.ndarray, size: int, xf: float,
         xi: int, j: int, g: int) -> None:  # fmt: skip
    if size == 0 or _lt(kf[size - 1], ki[size - 1], xf, xi):
        i = size
    else:
        i = _bisect(kf, ki, 0, size, xf, xi)
        _shift_up(kf, i, size)
        _shift_up(ki, i, size)
        _shift_up(kj, i, size)
        _shift_up(kg, i, size)
    kf[i] = xf
    ki[i] = xi
    kj[i] = j
    kg[i] = g


@helper
def _del(kf: np.ndarray, ki: np.ndarray, kj: np.ndarray, kg: np.ndarray, size: int,
         i: int) -> None:  # fmt: skip
    _shift_down(kf, i, size)
    _shift_down(ki, i, size)
    _shift_down(kj, i, size)
    _shift_down(kg, i, size)


@helper
def _enqueue(W: tuple, j: int, t: float) -> None:
    fs = W[W_FS]
    js = W[W_JS]
    iv = W[W_IV]
    q = W[W_Q]
    thr = W[W_THR]
    pf = W[W_PF]
    pi = W[W_PI]
    pj = W[W_PJ]
    pg = W[W_PG]
    size_count = W[W_SIZE_COUNT]
    kf, ki = _key(fs, js, thr, q, j, t)
    fs[F_PKF, j] = kf
    js[J_PKI, j] = ki
    g = js[J_GPUS, j]
    _ins(pf, pi, pj, pg, iv[I_NPEND], kf, ki, j, g)
    iv[I_NPEND] += 1
    c = size_count[g]
    size_count[g] = c + 1
    if not c and g < iv[I_MINSIZE]:
        iv[I_MINSIZE] = g


@helper
def _dequeue(W: tuple, j: int) -> None:
    # Take job j out of the pending list (the first step of the Python engine's start()).
    fs = W[W_FS]
    js = W[W_JS]
    iv = W[W_IV]
    q = W[W_Q]
    pf = W[W_PF]
    pi = W[W_PI]
    pj = W[W_PJ]
    pg = W[W_PG]
    size_count = W[W_SIZE_COUNT]
    g = js[J_GPUS, j]
    npend = iv[I_NPEND]
    _del(pf, pi, pj, pg, npend, _bisect(pf, pi, 0, npend, fs[F_PKF, j], js[J_PKI, j]))
    iv[I_NPEND] = npend - 1
    c = size_count[g] - 1
    size_count[g] = c
    if not c and g == iv[I_MINSIZE]:
        m = q[Q_CAP] + 1
        for x in range(g + 1, size_count.shape[0]):
            if size_count[x]:
                m = x
                break
        iv[I_MINSIZE] = m


@helper
def _start(W: tuple, j: int, t: float) -> None:
    fs = W[W_FS]
    js = W[W_JS]
    iv = W[W_IV]
    q = W[W_Q]
    thr = W[W_THR]
    rf = W[W_RF]
    ri = W[W_RI]
    rj = W[W_RJ]
    rg = W[W_RG]
    ht = W[W_HT]
    hs = W[W_HS]
    hpos = W[W_HPOS]
    rset = W[W_RSET]
    g = js[J_GPUS, j]
    iv[I_RUNTOTAL] += g
    if np.isnan(fs[F_FIRST, j]):
        fs[F_FIRST, j] = t
    fs[F_RESUME, j] = t
    js[J_RUN, j] = 1
    iv[I_NRUNNING] += 1
    if q[Q_TIES]:
        js[J_RSEQ, j] = iv[I_SEQ]
        iv[I_SEQ] += 1
    e = t + fs[F_REM, j]
    _hpush(ht, hs, hpos, iv, 2 * j, e)
    mode = q[Q_RUNMODE]
    c = np.nan
    if mode == RUN_EXACT:
        kf, ki, c = _entry(fs, js, thr, q, j, t)
    elif mode == RUN_PROXY:
        kf = fs[F_RESUME, j] + fs[F_REM, j]
        ki = ((1 << KIND_SHIFT) | js[J_RSEQ, j]) if q[Q_TIES] else j
    if mode != RUN_RECOMPUTE:
        fs[F_RKF, j] = kf
        js[J_RKI, j] = ki
        _ins(rf, ri, rj, rg, iv[I_NRUN], kf, ki, j, g)
    else:
        rset[iv[I_NRUN]] = j
        js[J_RPOS, j] = iv[I_NRUN]
    iv[I_NRUN] += 1
    if not np.isnan(c) and c < e:
        _hpush(ht, hs, hpos, iv, 2 * j + 1, c)


@helper
def _stop(W: tuple, j: int, t: float, sj: np.ndarray, ss: np.ndarray, se: np.ndarray) -> None:
    fs = W[W_FS]
    js = W[W_JS]
    iv = W[W_IV]
    q = W[W_Q]
    rf = W[W_RF]
    ri = W[W_RI]
    rj = W[W_RJ]
    rg = W[W_RG]
    ht = W[W_HT]
    hs = W[W_HS]
    hpos = W[W_HPOS]
    free = W[W_FREE]
    bits = W[W_BITS]
    cnt = W[W_CNT]
    tot = W[W_TOT]
    an = W[W_AN]
    ag = W[W_AG]
    rset = W[W_RSET]
    r0 = fs[F_RESUME, j]
    fs[F_EXEC, j] += t - r0
    js[J_RUN, j] = 0
    iv[I_NRUNNING] -= 1
    iv[I_RUNTOTAL] -= js[J_GPUS, j]
    _hremove(ht, hs, hpos, iv, 2 * j)
    _hremove(ht, hs, hpos, iv, 2 * j + 1)
    nrun = iv[I_NRUN]
    if q[Q_RUNMODE] != RUN_RECOMPUTE:
        _del(rf, ri, rj, rg, nrun, _bisect(rf, ri, 0, nrun, fs[F_RKF, j], js[J_RKI, j]))
    else:
        p = js[J_RPOS, j]
        last = rset[nrun - 1]
        rset[p] = last
        js[J_RPOS, last] = p
    iv[I_NRUN] = nrun - 1
    release(free, bits, cnt, tot, an, ag, js[J_AOFF, j], js[J_ALEN, j])
    k = iv[I_NSEG]
    sj[k] = j
    ss[k] = r0
    se[k] = t
    iv[I_NSEG] = k + 1


@helper
def _running_view(W: tuple, t: float) -> tuple:
    # The running jobs in rank order: (count, exact keys?, in the scratch arrays vf/vi/vj/vg
    # (keys recomputed) rather than the running list rf/ri/rj/rg).
    iv = W[W_IV]
    q = W[W_Q]
    nr = iv[I_NRUN]
    mode = q[Q_RUNMODE]
    if mode != RUN_RECOMPUTE:
        return nr, mode == RUN_EXACT, False
    fs = W[W_FS]
    js = W[W_JS]
    thr = W[W_THR]
    rset = W[W_RSET]
    tf = W[W_TF]
    ti = W[W_TI]
    idx = W[W_IDX]
    vf = W[W_VF]
    vi = W[W_VI]
    vj = W[W_VJ]
    vg = W[W_VG]
    for x in range(nr):
        a, b = _key(fs, js, thr, q, rset[x], t)
        tf[x] = a
        ti[x] = b
    order_pairs(tf, ti, nr, idx)  # (keys are unique)
    for x in range(nr):
        y = idx[x]
        vf[x] = tf[y]
        vi[x] = ti[y]
        vj[x] = rset[y]
        vg[x] = js[J_GPUS, rset[y]]
    return nr, True, True


@helper
def _rank_of(W: tuple, kf: np.ndarray, ki: np.ndarray, kj: np.ndarray, nr: int, exact: bool,
             xf: float, xi: int, t: float) -> int:  # fmt: skip
    # Number of running jobs ranked before the pending key (xf, xi).
    fs = W[W_FS]
    js = W[W_JS]
    q = W[W_Q]
    thr = W[W_THR]
    if exact:
        return _bisect(kf, ki, 0, nr, xf, xi)
    i = _bisect(kf, ki, 0, nr, t + xf, xi)  # pending_order: the finish time if started at t
    while i > 0:
        yf, yi = _key(fs, js, thr, q, kj[i - 1], t)
        if _lt(yf, yi, xf, xi):
            break
        i -= 1
    while i < nr:
        yf, yi = _key(fs, js, thr, q, kj[i], t)
        if not _lt(yf, yi, xf, xi):
            break
        i += 1
    return i


@helper
def _ranked_before(W: tuple, j: int, t: float) -> int:
    # GPUs of the running jobs ranked before pending job j.
    fs = W[W_FS]
    js = W[W_JS]
    iv = W[W_IV]
    nr, exact, scratch = _running_view(W, t)
    kf = W[W_VF] if scratch else W[W_RF]
    ki = W[W_VI] if scratch else W[W_RI]
    kj = W[W_VJ] if scratch else W[W_RJ]
    kg = W[W_VG] if scratch else W[W_RG]
    i = _rank_of(W, kf, ki, kj, nr, exact, fs[F_PKF, j], js[J_PKI, j], t)
    return _gpus_before(kg, nr, i, iv[I_RUNTOTAL])


@helper
def _gpus_before(kg: np.ndarray, nr: int, i: int, run_total: int) -> int:
    s = 0
    if i <= nr - i:
        for x in range(i):
            s += kg[x]
        return s
    for x in range(i, nr):
        s += kg[x]
    return run_total - s


@helper
def _place_selected(W: tuple, nsel: int, t: float) -> int:
    js = W[W_JS]
    q = W[W_Q]
    free = W[W_FREE]
    bits = W[W_BITS]
    cnt = W[W_CNT]
    tot = W[W_TOT]
    an = W[W_AN]
    ag = W[W_AG]
    sel = W[W_SEL]
    unplaced = 0
    for x in range(nsel):
        j = sel[x]
        g = js[J_GPUS, j]
        c = 0
        if g <= tot[0]:
            c = place(free, bits, cnt, tot, q[Q_GPN], q[Q_PLACE], q[Q_COMPAT] == 1, g, an, ag,
                      js[J_AOFF, j])  # fmt: skip
        if not c:
            unplaced += g
        else:
            js[J_ALEN, j] = c
            _dequeue(W, j)
            _start(W, j, t)
    return unplaced


@helper
def _full_pass(W: tuple, t: float, sj: np.ndarray, ss: np.ndarray, se: np.ndarray) -> int:
    # quick_pass + full_pass of whole_gpu.run_preemptive; returns the GPUs selected but unplaced.
    return _place_selected(W, _select(W, t, sj, ss, se), t)


@helper
def _select(W: tuple, t: float, sj: np.ndarray, ss: np.ndarray, se: np.ndarray) -> int:
    # The selection of a pass and its preemptions; returns how many jobs W[W_SEL] holds.
    fs = W[W_FS]
    js = W[W_JS]
    iv = W[W_IV]
    q = W[W_Q]
    pf = W[W_PF]
    pi = W[W_PI]
    pj = W[W_PJ]
    ovh_g = W[W_OVH_G]
    sel = W[W_SEL]
    drop = W[W_DROP]
    hol = q[Q_HOL] == 1
    cap = q[Q_CAP]
    ip = 0
    ir = 0
    quota = cap
    nsel = 0
    npd = iv[I_NPEND]
    if not hol:
        nr, exact, scratch = _running_view(W, t)
        kf = W[W_VF] if scratch else W[W_RF]
        ki = W[W_VI] if scratch else W[W_RI]
        kj = W[W_VJ] if scratch else W[W_RJ]
        kg = W[W_VG] if scratch else W[W_RG]
        fr = cap - iv[I_RUNTOTAL]
        least = iv[I_MINSIZE]
        used = 0
        pos = -1
        before = 0
        found = False
        for x in range(npd):
            j = pj[x]
            g = js[J_GPUS, j]
            if exact:
                i = _bisect(kf, ki, pos if pos > 0 else 0, nr, pf[x], pi[x])
            else:
                i = _rank_of(W, kf, ki, kj, nr, exact, pf[x], pi[x], t)
            if pos < 0:
                before = _gpus_before(kg, nr, i, iv[I_RUNTOTAL])
            elif i > pos:
                for y in range(pos, i):
                    before += kg[y]
            pos = i
            qt = cap - before - used
            if qt < least:
                break
            if g <= qt:
                if g > fr - used:
                    ip, ir, quota, found = x, i, qt, True
                    break
                sel[nsel] = j
                nsel += 1
                used += g
        if not found:
            return nsel
    nr, exact, scratch = _running_view(W, t)
    kf = W[W_VF] if scratch else W[W_RF]
    ki = W[W_VI] if scratch else W[W_RI]
    kj = W[W_VJ] if scratch else W[W_RJ]
    kg = W[W_VG] if scratch else W[W_RG]
    least = iv[I_MINSIZE]
    ndrop = 0
    while ir < nr or ip < npd:
        if ip < npd and (hol or quota >= least):
            if exact:
                nxt = _bisect(kf, ki, ir, nr, pf[ip], pi[ip])
            else:
                nxt = _rank_of(W, kf, ki, kj, nr, exact, pf[ip], pi[ip], t)
        else:
            nxt = nr
            ip = npd
        stopped = False
        if ir < nxt:
            x = ir
            while x < nxt:
                if kg[x] <= quota:
                    quota -= kg[x]
                    x += 1
                    continue
                drop[ndrop] = kj[x]
                ndrop += 1
                x += 1
                if hol:
                    stopped = True
                    break
            if stopped:
                for y in range(x, nr):
                    drop[ndrop] = kj[y]
                    ndrop += 1
                break
            ir = nxt
        if ip < npd:
            j = pj[ip]
            ip += 1
            g = js[J_GPUS, j]
            if g <= quota:
                quota -= g
                sel[nsel] = j
                nsel += 1
            elif hol:
                for y in range(ir, nr):
                    drop[ndrop] = kj[y]
                    ndrop += 1
                break
    # (kj may be the running list itself, which _stop edits: drop holds copies of the ids)
    idx = W[W_IDX]
    order_pairs(W[W_ZF], drop, ndrop, idx)  # by job id
    for x in range(ndrop):
        j = drop[idx[x]]
        left = fs[F_REM, j] - (t - fs[F_RESUME, j])
        _stop(W, j, t, sj, ss, se)
        o = ovh_g[js[J_GPUS, j]]
        fs[F_REM, j] = (left if left > 0.0 else 0.0) + o
        fs[F_EXTRA, j] += o
        fs[F_OVH, j] += o
        js[J_NPRE, j] += 1
    # Preempted jobs re-enter the pending list at its end, in rank order.
    for x in range(ndrop):
        j = drop[x]
        if q[Q_TIES]:
            js[J_PSEQ, j] = iv[I_SEQ]
            iv[I_SEQ] += 1
        _enqueue(W, j, t)
    return nsel


@loop
def preemptive_loop(
    sub: np.ndarray, dur: np.ndarray, gpus: np.ndarray, pred: np.ndarray, thr: np.ndarray,
    q: np.ndarray, interval: float, origin: float, ovh_g: np.ndarray, nodes: int,
    aoff: np.ndarray, asize: int,
) -> tuple:  # fmt: skip
    """Replay one VC under SRTF or Tiresias (rules and variants in ``q``); ``interval`` NaN:
    passes at events.

    Returns ``(first start, end, preemptions, overhead, seg_job, seg_start, seg_end, an, ag,
    alen, stuck)``: ``stuck`` is a job that can never be placed, or -1.
    """
    n = sub.shape[0]
    gpn = q[Q_GPN]
    fs = np.zeros((10, n))
    js = np.zeros((10, n), dtype=np.int64)
    # (element loops: numba compiles a row assignment from an array for seconds)
    for j in range(n):
        fs[F_REM, j] = dur[j]
        fs[F_PRED, j] = pred[j]
        fs[F_FIRST, j] = np.nan
        fs[F_END, j] = np.nan
        js[J_GPUS, j] = gpus[j]
        js[J_AOFF, j] = aoff[j]
    iv = np.zeros(I_LEN, dtype=np.int64)
    iv[I_MINSIZE] = q[Q_CAP] + 1
    pf = np.empty(n)
    pi = np.empty(n, dtype=np.int64)
    pj = np.empty(n, dtype=np.int64)
    pg = np.empty(n, dtype=np.int64)
    rf = np.empty(n)
    ri = np.empty(n, dtype=np.int64)
    rj = np.empty(n, dtype=np.int64)
    rg = np.empty(n, dtype=np.int64)
    hcap = 2 * n + 1
    ht = np.empty(hcap)
    hs = np.empty(hcap, dtype=np.int64)
    hpos = np.full(hcap, -1, dtype=np.int64)
    free, bits, cnt, tot = new_nodes(nodes, gpn)
    an = np.zeros(asize, dtype=np.int64)
    ag = np.zeros(asize, dtype=np.int64)
    size_count = np.zeros(q[Q_MAXG] + 1, dtype=np.int64)
    rset = np.empty(n, dtype=np.int64)
    vf = np.empty(n)
    vi = np.empty(n, dtype=np.int64)
    vj = np.empty(n, dtype=np.int64)
    vg = np.empty(n, dtype=np.int64)
    sel = np.empty(n, dtype=np.int64)
    drop = np.empty(n, dtype=np.int64)
    tf = np.empty(n)
    ti = np.empty(n, dtype=np.int64)
    idx = np.empty(max(n, 1), dtype=np.int64)
    zf = np.zeros(n)
    W = (fs, js, iv, q, thr, pf, pi, pj, pg, rf, ri, rj, rg, ht, hs, hpos, free, bits, cnt, tot,
         an, ag, size_count, ovh_g, rset, vf, vi, vj, vg, sel, drop, tf, ti, idx, zf)  # fmt: skip
    scap = 2 * n + 16
    sj = np.empty(scap, dtype=np.int64)
    ss = np.empty(scap)
    se = np.empty(scap)
    tick_slot = hcap - 1
    has_interval = not np.isnan(interval)
    hol = q[Q_HOL] == 1
    exact_run = q[Q_RUNMODE] == RUN_EXACT
    cap = q[Q_CAP]
    tick_at = INF
    unplaced = 0
    ai = 0
    stuck = -1
    while n:
        # Room for every stop of one instant (finishes plus at most every running job).
        if scap - iv[I_NSEG] < 2 * iv[I_NRUNNING] + 2:
            scap = 2 * scap + 2 * iv[I_NRUNNING]
            k = iv[I_NSEG]
            sj2 = np.empty(scap, dtype=np.int64)
            ss2 = np.empty(scap)
            se2 = np.empty(scap)
            for x in range(k):
                sj2[x] = sj[x]
                ss2[x] = ss[x]
                se2[x] = se[x]
            sj, ss, se = sj2, ss2, se2
        ta = sub[ai] if ai < n else INF
        te = ht[0] if iv[I_NHEAP] else INF
        t = ta if ta <= te else te
        if t == INF:
            break
        dirty = False
        released = False
        tick = False
        while iv[I_NHEAP] and ht[0] <= t:
            slot = hs[0]
            _hremove(ht, hs, hpos, iv, slot)
            if slot == tick_slot:
                tick = True
                tick_at = INF
                continue
            j = slot >> 1
            if not slot & 1:  # finish
                npend = iv[I_NPEND]
                kff = fs[F_RKF, j]
                kfi = js[J_RKI, j]
                _stop(W, j, t, sj, ss, se)
                fs[F_REM, j] = 0.0
                fs[F_END, j] = t
                iv[I_NACTIVE] -= 1
                released = True
                if not dirty and npend:
                    dirty = not exact_run or _lt(kff, kfi, pf[npend - 1], pi[npend - 1])
            else:  # priority change (Tiresias demotion); only exact running keys have them
                kf, ki, c = _entry(fs, js, thr, q, j, t)
                old_f = fs[F_RKF, j]
                old_i = js[J_RKI, j]
                nrun = iv[I_NRUN]
                _del(rf, ri, rj, rg, nrun, _bisect(rf, ri, 0, nrun, old_f, old_i))
                _ins(rf, ri, rj, rg, nrun - 1, kf, ki, j, js[J_GPUS, j])
                fs[F_RKF, j] = kf
                js[J_RKI, j] = ki
                npend = iv[I_NPEND]
                if not dirty and npend:
                    i = _bisect(pf, pi, 0, npend, old_f, old_i)
                    if i < npend and _lt(pf[i], pi[i], kf, ki):
                        dirty = True
                if not np.isnan(c) and c < fs[F_RESUME, j] + fs[F_REM, j]:
                    _hpush(ht, hs, hpos, iv, 2 * j + 1, c)
        if released and unplaced:
            dirty = True
        new_from = ai
        while ai < n and sub[ai] <= t:
            ai += 1
        if q[Q_TIES] and ai > new_from:
            for j in range(new_from, ai):
                js[J_PSEQ, j] = iv[I_SEQ]
                iv[I_SEQ] += 1
        iv[I_NACTIVE] += ai - new_from
        if has_interval or dirty:
            for j in range(new_from, ai):
                _enqueue(W, j, t)
        if has_interval:
            if dirty or ai > new_from:
                nt = origin + np.ceil((t - origin) / interval - 1e-9) * interval
                if nt <= t:
                    tick = True
                elif nt < tick_at:
                    tick_at = nt
                    _hpush(ht, hs, hpos, iv, tick_slot, nt)
            if tick:
                unplaced = _full_pass(W, t, sj, ss, se)
            continue
        if dirty:
            unplaced = _full_pass(W, t, sj, ss, se)
            continue
        if ai == new_from:
            continue
        need = 0
        for j in range(new_from, ai):
            need += gpus[j]
        if need > tot[0] - unplaced or (hol and iv[I_NACTIVE] > iv[I_NRUNNING] + (ai - new_from)):
            for j in range(new_from, ai):
                _enqueue(W, j, t)
            if not hol and ai - new_from == 1:
                if gpus[new_from] > cap - _ranked_before(W, new_from, t):
                    continue
            unplaced = _full_pass(W, t, sj, ss, se)
            continue
        # Newcomers start at once, in rank order (their pending keys).
        m = ai - new_from
        idx[0] = 0
        if m > 1:
            for x in range(m):
                a, b = _key(fs, js, thr, q, new_from + x, t)
                tf[x] = a
                ti[x] = b
            order_pairs(tf, ti, m, idx)
        for x in range(m):
            j = new_from + idx[x]
            g = gpus[j]
            c = place(free, bits, cnt, tot, gpn, q[Q_PLACE], q[Q_COMPAT] == 1, g, an, ag, aoff[j])
            if not c:
                _enqueue(W, j, t)
                unplaced += g
                continue
            js[J_ALEN, j] = c
            _start(W, j, t)
    if iv[I_NACTIVE]:
        for j in range(n):
            if np.isnan(fs[F_END, j]):
                stuck = j
                break
    k = iv[I_NSEG]
    return (fs[F_FIRST].copy(), fs[F_END].copy(), js[J_NPRE].copy(), fs[F_OVH].copy(),
            sj[:k].copy(), ss[:k].copy(), se[:k].copy(), an, ag, js[J_ALEN].copy(),
            stuck)  # fmt: skip
