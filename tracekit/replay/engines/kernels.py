"""Compiled (numba) event loops of the whole-GPU replay: the Python engine's algorithms on arrays.

Every function here mirrors a loop of :mod:`tracekit.replay.engines.whole_gpu` and
:mod:`tracekit.replay.engines.placement` operation for operation - the same float additions
and comparisons in the same order, the same tie rules - so that both give bit-identical
per-job results. Read the Python engine for the *why*; comments here only mark where the
array form differs:

* **Placement index** (``pl``, ``bits``): per free-GPU count a bitset of nodes in ``uint64``
  words (Python uses one arbitrary-size int per count); the lowest node is found word by word
  with a de Bruijn multiplication.
* **Keys** are pairs ``(float, int)`` compared lexicographically. SRTF: ``(remaining, job)``;
  with the simulators' list ties ``(remaining, kind << 48 | insertion number)`` (pending kind
  0, running 1, insertion numbers unique), which orders as the Python 4-tuples do; Tiresias:
  ``(queue, job)``. A sorted list (pending jobs, running jobs) is one row of keys in ``fs`` and
  three rows (key, job, GPUs) in ``js``, kept sorted by shifting (what ``list.insert`` does).
* **Static priorities**: a static-key loop orders jobs by one int64 per job with the job in
  its lowest bits, packed from the key without sorting (:func:`static_loop`); heaps of them
  break a tie of the upper bits by the exact key, so they order as the Python ranks do.
* **Events** sit in an indexed heap keyed ``(time, kind, job)`` with at most one finish and
  one priority-change event per job: a preempted job's events are removed at once instead of
  being skipped when popped (a skipped event changes nothing in the Python loop).

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
#: never allocate or return an array. Helpers are called from compiled code only, so they get
#: no Python or C entry point (a quarter less compilation).
loop = njit(cache=True)
helper = njit(cache=True, _nrt=False, no_cpython_wrapper=True, no_cfunc_wrapper=True)

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

# De Bruijn table of the lowest set bit (a tuple: numba embeds it as a constant).
_DB_MUL = np.uint64(0x03F79D71B4CB0A89)
_DB = tuple(sorted(range(64), key=lambda i: (((1 << i) * 0x03F79D71B4CB0A89) & (2**64 - 1)) >> 58))
_ONE = np.uint64(1)
_SIX = np.uint64(58)

# Placement state ``pl`` (int64): free GPUs in total, GPUs per node, nodes, then the number of
# nodes per free count (gpn + 1 entries), then the free GPUs of each node.
PL_TOT, PL_GPN, PL_NODES, PL_CNT = 0, 1, 2, 3


# ---------------------------------------------------------------------------------------------
# placement
# ---------------------------------------------------------------------------------------------
@loop
def new_nodes(nodes: int, gpn: int) -> tuple:
    """``(pl, bits)`` of an idle VC: the placement state and the node bitsets per free count."""
    nw = max((nodes + 63) // 64, 1)
    bits = np.zeros((gpn + 1, nw), dtype=np.uint64)
    for node in range(nodes):
        bits[gpn, node >> 6] |= _ONE << np.uint64(node & 63)
    pl = np.zeros(PL_CNT + gpn + 1 + nodes, dtype=np.int64)
    pl[PL_TOT] = nodes * gpn
    pl[PL_GPN] = gpn
    pl[PL_NODES] = nodes
    pl[PL_CNT + gpn] = nodes
    for node in range(nodes):
        pl[PL_CNT + gpn + 1 + node] = gpn
    return pl, bits


@helper
def _lowest(pl: np.ndarray, bits: np.ndarray, f: int) -> int:
    # The lowest node with exactly f free GPUs, or -1.
    if pl[PL_CNT + f] == 0:
        return -1
    for w in range(bits.shape[1]):
        x = bits[f, w]
        if x:
            low = x & (~x + _ONE)
            return w * 64 + _DB[(low * _DB_MUL) >> _SIX]
    return -1


@helper
def _move(pl: np.ndarray, bits: np.ndarray, node: int, f_new: int) -> None:
    # Set the free GPUs of a node (index, counts and bitsets).
    fi = PL_CNT + pl[PL_GPN] + 1 + node
    f = pl[fi]
    b = _ONE << np.uint64(node & 63)
    w = node >> 6
    bits[f, w] &= ~b
    bits[f_new, w] |= b
    pl[PL_CNT + f] -= 1
    pl[PL_CNT + f_new] += 1
    pl[fi] = f_new


@helper
def _whole_nodes(
    pl: np.ndarray, bits: np.ndarray, g: int, best_fit_rest: bool, al: np.ndarray, off: int
) -> int:
    # Placer._whole_nodes: k lowest idle nodes plus the remainder on one other node.
    gpn = pl[PL_GPN]
    k = g // gpn
    r = g - k * gpn
    if pl[PL_CNT + gpn] < k:
        return 0
    got = 0
    next_idle = -1  # the idle node after the k chosen ones ("rest" in Python)
    for w in range(bits.shape[1]):
        x = bits[gpn, w]
        while x:
            low = x & (~x + _ONE)
            node = w * 64 + _DB[(low * _DB_MUL) >> _SIX]
            x &= x - _ONE
            if got < k:
                al[0, off + got] = node
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
                node = next_idle if f == gpn else _lowest(pl, bits, f)
                if node >= 0:
                    rem_node = node
                    break
        else:
            for f in range(gpn, r - 1, -1):
                node = next_idle if f == gpn else _lowest(pl, bits, f)
                if node >= 0:
                    rem_node = node
                    break
        if rem_node < 0:
            return 0
    for i in range(k):
        _move(pl, bits, al[0, off + i], 0)
        al[1, off + i] = gpn
    pl[PL_TOT] -= k * gpn
    if r:
        _move(pl, bits, rem_node, pl[PL_CNT + gpn + 1 + rem_node] - r)
        pl[PL_TOT] -= r
        al[0, off + k] = rem_node
        al[1, off + k] = r
        return k + 1
    return k


@helper
def place(
    pl: np.ndarray, bits: np.ndarray, kind: int, compat: bool, g: int, al: np.ndarray, off: int
) -> int:
    """Allocate ``g`` GPUs: writes ``(node, gpus)`` pairs at ``al[:, off:]`` and returns how
    many (0: cannot place now; nothing changed)."""
    if g > pl[PL_TOT]:
        return 0
    gpn = pl[PL_GPN]
    if kind == FIRST_FIT:
        need = g
        k = 0
        base = PL_CNT + gpn + 1
        for node in range(pl[PL_NODES]):
            f = pl[base + node]
            if f:
                take = f if f < need else need
                al[0, off + k] = node
                al[1, off + k] = take
                k += 1
                need -= take
                if not need:
                    break
        for i in range(k):
            node = al[0, off + i]
            _move(pl, bits, node, pl[base + node] - al[1, off + i])
        pl[PL_TOT] -= g
        return k
    if g <= gpn:
        if kind == CONSOLIDATE:  # best fit
            f, stop, step = g, gpn + 1, 1
        else:  # spread: the most free GPUs
            f, stop, step = gpn, g - 1, -1
        while f != stop:
            node = _lowest(pl, bits, f)
            if node >= 0:
                _move(pl, bits, node, f - g)
                pl[PL_TOT] -= g
                al[0, off] = node
                al[1, off] = g
                return 1
            f += step
        return 0
    return _whole_nodes(pl, bits, g, kind == CONSOLIDATE and not compat, al, off)


@helper
def release(pl: np.ndarray, bits: np.ndarray, al: np.ndarray, off: int, k: int) -> None:
    """Give back the ``k`` pairs of an allocation written by :func:`place`."""
    base = PL_CNT + pl[PL_GPN] + 1
    for i in range(k):
        node = al[0, off + i]
        g = al[1, off + i]
        _move(pl, bits, node, pl[base + node] + g)
        pl[PL_TOT] += g


# ---------------------------------------------------------------------------------------------
# heaps and sorting on arrays
# ---------------------------------------------------------------------------------------------
@helper
def _before(a: int, b: int, key: np.ndarray, shift: int) -> bool:
    # Job priority a comes before b (distinct priorities of static_loop): the bits above the
    # job index decide unless they are equal; then the exact keys, then the job indices.
    if (a ^ b) >> shift:
        return a < b
    m = (1 << shift) - 1
    ja = a & m
    jb = b & m
    return key[ja] < key[jb] or (key[ja] == key[jb] and ja < jb)


@helper
def _ipush(h: np.ndarray, base: int, size: int, v: int, key: np.ndarray, shift: int) -> int:
    # Min-heap of job priorities (_before) at h[base:base + size]; returns the new size.
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if _before(h[base + p], v, key, shift):
            break
        h[base + i] = h[base + p]
        i = p
    h[base + i] = v
    return size + 1


@helper
def _ipop(h: np.ndarray, base: int, size: int, key: np.ndarray, shift: int) -> int:
    size -= 1
    v = h[base + size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and _before(h[base + c + 1], h[base + c], key, shift):
            c += 1
        if not _before(h[base + c], v, key, shift):
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
        a, b = idx[c], idx[c + 1] if c + 1 < size else idx[c]
        if c + 1 < size and (kf[b] > kf[a] or (kf[b] == kf[a] and ki[b] > ki[a])):
            c += 1
            a = b
        y = idx[i]
        if not (kf[a] > kf[y] or (kf[a] == kf[y] and ki[a] > ki[y])):
            return
        idx[i], idx[c] = a, y
        i = c


# ---------------------------------------------------------------------------------------------
# static-key policies (whole_gpu.run_static)
# ---------------------------------------------------------------------------------------------
@loop
def alloc_offsets(gpus: np.ndarray, gpn: int, nodes: int, kind: int) -> tuple:
    """Start of each job's slots in the flat allocation buffers, and their total: at most
    ``ceil(g / gpn)`` nodes per job (``FIRST_FIT``: ``min(g, nodes)``), at least one."""
    n = gpus.shape[0]
    aoff = np.empty(n, dtype=np.int64)
    total = 0
    for j in range(n):
        g = gpus[j]
        size = min(g, max(nodes, 1)) if kind == FIRST_FIT else (g + gpn - 1) // gpn
        aoff[j] = total
        total += max(size, 1)
    return aoff, total


#: ``static_loop``'s ``stuck`` when the keys do not pack into priorities (give ``byrank``).
NEEDS_ORDER = -2


@helper
def _pack_keys(key: np.ndarray, key_bits: np.ndarray, shift: int, prio: np.ndarray) -> bool:
    # Each job's priority without sorting: distinct int64s, job j in the lowest ``shift`` bits,
    # the bits above ordered as the keys (_before puts jobs whose upper bits are equal in (key,
    # job) order). Whole keys in a modest range: key - min (exact); positive finite keys: their
    # float bits (``key_bits``), which order as integers, the lowest bits dropped. False:
    # neither (NaN, negative fractions, infinities), nothing usable written.
    n = key.shape[0]
    low = INF
    high = -INF
    whole = True
    for j in range(n):
        x = key[j]
        if x != x:
            return False
        if x < low:
            low = x
        if x > high:
            high = x
        if whole and x != np.floor(x):
            whole = False
    if whole and high - low < min(2.0**53, 2.0 ** (62 - shift)):
        for j in range(n):
            prio[j] = (np.int64(key[j] - low) << shift) | j
        return True
    if low > 0.0 and high < INF:
        m = (1 << shift) - 1
        for j in range(n):
            prio[j] = (key_bits[j] & ~m) | j
        return True
    return False


@loop
def static_loop(
    mode: int, sub: np.ndarray, dur: np.ndarray, gpus: np.ndarray, key: np.ndarray,
    key_bits: np.ndarray, byrank: np.ndarray, est: np.ndarray, depth: int, fresh_order: bool,
    nodes: int, gpn: int, kind: int, compat: bool,
) -> tuple:  # fmt: skip
    """Replay one VC under a static-key policy: ``mode`` HOL / GREEDY / EASY; jobs go by
    (``key``, submit order): ``byrank`` lists them in that order, or (an empty array) the keys
    are packed into priorities here (``key_bits``: ``key`` viewed as int64); ``depth < 0``: no
    EASY depth limit.

    Returns ``(start, al, alen, aoff, stuck)``: start times (a job ends at start + duration,
    which the caller adds when it needs it), each job's last allocation as ``alen[j]``
    ``(node, gpus)`` columns of ``al`` from ``aoff[j]`` on, and the first job that was never
    placed (-1: none; :data:`NEEDS_ORDER`: the keys do not pack, nothing was run).
    """
    n = sub.shape[0]
    # A job's priority holds its index in the lowest ``shift`` bits; heaps compare them with
    # _before. From ``byrank``: rank << shift | job.
    shift = 0
    while (1 << shift) < n:
        shift += 1
    prio = np.empty(n, dtype=np.int64)
    if byrank.shape[0] == n:
        for r in range(n):
            prio[byrank[r]] = (r << shift) | byrank[r]
    elif not _pack_keys(key, key_bits, shift, prio):
        no = np.empty(0, dtype=np.int64)
        return np.empty(0), np.empty((2, 0), dtype=np.int64), no, no, NEEDS_ORDER
    # Only start is filled (NaN: never placed); the rest is written before it is read, and a
    # job never placed stops the replay.
    start = np.full(n, np.nan)
    aoff, asize = alloc_offsets(gpus, gpn, nodes, kind)
    al = np.empty((2, asize), dtype=np.int64)
    alen = np.empty(n, dtype=np.int64)
    if n == 0:
        return start, al, alen, aoff, -1
    pl, bits = new_nodes(nodes, gpn)
    fin_t = np.empty(n)
    fin_j = np.empty(n, dtype=np.int64)
    pend = np.empty(n, dtype=np.int64)
    if mode == HOL:
        _static_hol(sub, dur, gpus, prio, key, shift, fresh_order, pl, bits, kind, compat, aoff,
                    al, alen, start, fin_t, fin_j, pend)  # fmt: skip
    elif mode == GREEDY:
        _static_greedy(sub, dur, gpus, prio, key, shift, pl, bits, kind, compat, aoff, al,
                       alen, start, fin_t, fin_j, pend)  # fmt: skip
    else:
        _static_easy(sub, dur, gpus, prio, key, shift, est, depth, pl, bits, kind, compat, aoff,
                     al, alen, start, fin_t, fin_j, pend)  # fmt: skip
    for j in range(n):
        if np.isnan(start[j]):
            return start, al, alen, aoff, j
    return start, al, alen, aoff, -1


@loop
def _static_hol(
    sub, dur, gpus, prio, key, shift, fresh_order, pl, bits, kind, compat, aoff, al, alen,
    start, fin_t, fin_j, pend,
) -> None:  # noqa: ANN001 - arrays, typed by numba  # fmt: skip
    n = sub.shape[0]
    m = (1 << shift) - 1  # a priority's job
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
            release(pl, bits, al, aoff[j], alen[j])
        while ai < n and sub[ai] <= t:
            npend = _ipush(pend, 0, npend, prio[ai], key, shift)
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
                j = pend[i] & m
                kf[i] = gpus[j]
                ki[i] = j
            idx = np.empty(npend, dtype=np.int64)
            order_pairs(kf, ki, npend, idx)
            cand = pend[:npend][idx]
            k = 0
            for r in cand:
                j = r & m
                c = place(pl, bits, kind, compat, gpus[j], al, aoff[j])
                if not c:
                    break
                alen[j] = c
                start[j] = t
                nfin = _fpush(fin_t, fin_j, nfin, t + dur[j], j)
                k += 1
            if k:
                npend = 0
                for r in cand[k:]:
                    npend = _ipush(pend, 0, npend, r, key, shift)
                fresh_n -= k
            continue
        while npend:
            j = pend[0] & m
            g = gpus[j]
            if g > pl[PL_TOT]:
                break
            c = place(pl, bits, kind, compat, g, al, aoff[j])
            if not c:
                break
            npend = _ipop(pend, 0, npend, key, shift)
            e = t + dur[j]
            start[j] = t
            alen[j] = c
            nfin = _fpush(fin_t, fin_j, nfin, e, j)
            if fresh_order and sub[j] == fresh_t:
                fresh_n -= 1


@loop
def _static_greedy(
    sub, dur, gpus, prio, key, shift, pl, bits, kind, compat, aoff, al, alen, start, fin_t,
    fin_j, heap,
) -> None:  # noqa: ANN001 - arrays, typed by numba  # fmt: skip
    n = sub.shape[0]
    m = (1 << shift) - 1  # a priority's job
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
    # One heap of ranks per GPU count, side by side in one array.
    hoff = np.zeros(ns + 1, dtype=np.int64)
    for j in range(n):
        hoff[of_size[gpus[j]] + 1] += 1
    for s in range(ns):
        hoff[s + 1] += hoff[s]
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
            release(pl, bits, al, aoff[j], alen[j])
        while ai < n and sub[ai] <= t:
            s = of_size[gpus[ai]]
            hsz[s] = _ipush(heap, hoff[s], hsz[s], prio[ai], key, shift)
            npend += 1
            ai += 1
        failed[:] = False
        while npend:
            fr = pl[PL_TOT]
            best_r = -1
            best_s = -1
            for s in range(ns):
                if sizes[s] > fr:
                    break
                if (hsz[s] and (best_r < 0 or _before(heap[hoff[s]], best_r, key, shift))
                        and not failed[s]):  # fmt: skip
                    best_r = heap[hoff[s]]
                    best_s = s
            if best_r < 0:
                break
            j = best_r & m
            c = place(pl, bits, kind, compat, sizes[best_s], al, aoff[j])
            if not c:
                failed[best_s] = True
                continue
            hsz[best_s] = _ipop(heap, hoff[best_s], hsz[best_s], key, shift)
            npend -= 1
            e = t + dur[j]
            start[j] = t
            alen[j] = c
            nfin = _fpush(fin_t, fin_j, nfin, e, j)


@helper
def _expected_end(s: float, est: float, t: float) -> float:
    # whole_gpu.expected_end: a prediction that has run out is doubled until it lies ahead.
    x = s + est
    if x > t:
        return x
    if not est > 0.0:
        return t
    d = est
    while s + d <= t:
        d *= 2.0
    return s + d


@loop
def _shadow(
    fin_j: np.ndarray, nfin: int, start: np.ndarray, est: np.ndarray,
    gpus: np.ndarray, fr: int, need: int, t: float,
) -> tuple:  # fmt: skip
    # EASY reservation: (time, spare GPUs then), as whole_gpu._shadow.
    if fr >= need:
        return t, fr - need
    e = np.empty(nfin)
    g = np.empty(nfin, dtype=np.int64)
    for i in range(nfin):
        j = fin_j[i]
        e[i] = _expected_end(start[j], est[j], t)
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
    sub, dur, gpus, prio, key, shift, est, depth, pl, bits, kind, compat, aoff, al, alen,
    start, fin_t, fin_j, pend,
) -> None:  # noqa: ANN001 - arrays, typed by numba  # fmt: skip
    n = sub.shape[0]
    m = (1 << shift) - 1  # a priority's job
    npend = 0  # pend[:npend] holds priorities in order
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
            release(pl, bits, al, aoff[j], alen[j])
        while ai < n and sub[ai] <= t:
            r = prio[ai]
            i = npend
            while i > 0 and _before(r, pend[i - 1], key, shift):
                pend[i] = pend[i - 1]
                i -= 1
            pend[i] = r
            npend += 1
            ai += 1
        while npend:
            head = pend[0] & m
            gh = gpus[head]
            c = 0
            if gh <= pl[PL_TOT]:
                c = place(pl, bits, kind, compat, gh, al, aoff[head])
            if c:
                npend -= 1
                for x in range(npend):
                    pend[x] = pend[x + 1]
                e = t + dur[head]
                start[head] = t
                alen[head] = c
                nfin = _fpush(fin_t, fin_j, nfin, e, head)
                continue
            if pl[PL_TOT] == 0 or npend == 1 or limit == 0:
                break
            shadow = -1.0
            extra = 0
            k = 1
            scanned = 0
            while k < npend and scanned < limit:
                fr = pl[PL_TOT]
                if fr == 0:
                    break
                j = pend[k] & m
                g = gpus[j]
                scanned += 1
                if g <= fr:
                    if shadow < 0:
                        shadow, extra = _shadow(fin_j, nfin, start, est, gpus, fr, gh, t)
                    long = t + est[j] > shadow
                    if not long or g <= extra:
                        c = place(pl, bits, kind, compat, g, al, aoff[j])
                        if c:
                            npend -= 1
                            for x in range(k, npend):
                                pend[x] = pend[x + 1]
                            e = t + dur[j]
                            start[j] = t
                            alen[j] = c
                            nfin = _fpush(fin_t, fin_j, nfin, e, j)
                            if long:
                                extra -= g
                            continue
                k += 1
            break


# ---------------------------------------------------------------------------------------------
# preemptive policies (whole_gpu.run_preemptive)
# ---------------------------------------------------------------------------------------------
# The state of a replay is the tuple W = (fs, js, iv, fp, hf, hi, pl, bits, al):
# * fs: float rows per job, and the key rows of the sorted lists;
(F_REM, F_EXEC, F_EXTRA, F_RESUME, F_PRED, F_RKF, F_PKF, F_FIRST, F_END, F_OVH, F_PEND, F_RUN,
 F_VIEW, F_TMP, F_ZERO, F_ROWS) = range(16)  # fmt: skip
# * js: int rows per job, the (key, job, GPUs) rows of the sorted lists, and scratch rows;
(J_GPUS, J_RUN, J_PSEQ, J_RSEQ, J_RKI, J_PKI, J_ALEN, J_AOFF, J_RPOS, J_NPRE, J_PEND, _J_PEND_J,
 _J_PEND_G, J_RUNL, _J_RUNL_J, _J_RUNL_G, J_VIEW, _J_VIEW_J, _J_VIEW_G, J_RSET, J_SEL, J_DROP,
 J_TMP, J_IDX, J_ROWS) = range(25)  # fmt: skip
# * iv: counters, then parameters, then the pending jobs per GPU count from I_SIZES on;
(I_NPEND, I_NRUN, I_NHEAP, I_NSEG, I_RUNTOTAL, I_NRUNNING, I_SEQ, I_MINSIZE, I_NACTIVE,
 Q_RULE, Q_PRED, Q_TIES, Q_STRICT, Q_GPUTIME, Q_HOL, Q_PLACE, Q_COMPAT, Q_RUNMODE, Q_CAP,
 Q_NTHR, I_SIZES) = range(21)  # fmt: skip
# * fp: the Tiresias thresholds (Q_NTHR of them), then the checkpoint overhead per GPU count;
# * hf, hi: event times, and per heap position its slot (H_SLOT) / per slot its position.
H_SLOT, H_POS = 0, 1


@helper
def _lt(af: float, ai: int, bf: float, bi: int) -> bool:
    return af < bf or (af == bf and ai < bi)


@helper
def _bisect(fs: np.ndarray, js: np.ndarray, lf: int, li: int, lo: int, hi: int, xf: float,
            xi: int) -> int:  # fmt: skip
    # bisect_left of (xf, xi) in the sorted list (fs[lf], js[li])[lo:hi]
    while lo < hi:
        mid = (lo + hi) >> 1
        if fs[lf, mid] < xf or (fs[lf, mid] == xf and js[li, mid] < xi):
            lo = mid + 1
        else:
            hi = mid
    return lo


@helper
def _bisect_thr(fp: np.ndarray, nthr: int, x: float, right: bool) -> int:
    # bisect_left / bisect_right of x in the thresholds fp[:nthr]
    lo = 0
    hi = nthr
    while lo < hi:
        mid = (lo + hi) >> 1
        if fp[mid] < x or (right and fp[mid] == x):
            lo = mid + 1
        else:
            hi = mid
    return lo


@helper
def _key(fs: np.ndarray, js: np.ndarray, iv: np.ndarray, fp: np.ndarray, j: int,
         t: float) -> tuple:  # fmt: skip
    # PreemptivePolicy.key of SRTF, ListTieSRTF, Tiresias and StrictTiresias.
    running = js[J_RUN, j] == 1
    if iv[Q_RULE] == SRTF:
        if iv[Q_PRED]:
            done = fs[F_EXEC, j] + (t - fs[F_RESUME, j]) if running else fs[F_EXEC, j]
            left = fs[F_PRED, j] + fs[F_EXTRA, j] - done
            left = left if left > PRED_FLOOR_S else PRED_FLOOR_S
        elif running:
            left = fs[F_REM, j] - (t - fs[F_RESUME, j])
        else:
            left = fs[F_REM, j]
        if iv[Q_TIES]:
            if running:
                return left, (1 << KIND_SHIFT) | js[J_RSEQ, j]
            return left, js[J_PSEQ, j]
        return left, j
    done = fs[F_EXEC, j] + (t - fs[F_RESUME, j]) if running else fs[F_EXEC, j]
    att = done * js[J_GPUS, j] if iv[Q_GPUTIME] else done
    if iv[Q_STRICT]:
        return float(_bisect_thr(fp, iv[Q_NTHR], att, False)), j
    return float(_bisect_thr(fp, iv[Q_NTHR], att + LAS_EPS, True)), j


@helper
def _entry(fs: np.ndarray, js: np.ndarray, iv: np.ndarray, fp: np.ndarray, j: int,
           t: float) -> tuple:  # fmt: skip
    # Tiresias.running_entry / StrictTiresias.running_entry: (key, next change or NaN).
    running = js[J_RUN, j] == 1
    done = fs[F_EXEC, j] + (t - fs[F_RESUME, j]) if running else fs[F_EXEC, j]
    nthr = iv[Q_NTHR]
    if iv[Q_GPUTIME]:
        rate = js[J_GPUS, j]
        att = done * rate
    else:
        rate = 1
        att = done
    if iv[Q_STRICT]:
        k = _bisect_thr(fp, nthr, att, False)
        if k >= nthr:
            return float(k), j, np.nan
        return float(k), j, float(np.floor(t + (fp[k] - att) / rate) + 1)
    k = _bisect_thr(fp, nthr, att + LAS_EPS, True)
    if k >= nthr:
        return float(k), j, np.nan
    when = t + (fp[k] - att) / rate
    low = t + LAS_MIN_STEP_S
    if when < low:
        when = low
    return float(k), j, when


# -- indexed event heap: slot 2j = finish of j, 2j + 1 = priority change of j, 2n = tick -------
@helper
def _hless(hf: np.ndarray, hi: np.ndarray, a: int, b: int) -> bool:
    # (time, kind, job) order: finishes (kind 0) before changes (1) before the tick (2)
    if hf[a] != hf[b]:
        return hf[a] < hf[b]
    cap = hf.shape[0]
    sa = hi[H_SLOT, a]
    sb = hi[H_SLOT, b]
    ra = 2 * cap if sa == cap - 1 else (sa & 1) * cap + (sa >> 1)
    rb = 2 * cap if sb == cap - 1 else (sb & 1) * cap + (sb >> 1)
    return ra < rb


@helper
def _hswap(hf: np.ndarray, hi: np.ndarray, a: int, b: int) -> None:
    hf[a], hf[b] = hf[b], hf[a]
    sa = hi[H_SLOT, b]
    sb = hi[H_SLOT, a]
    hi[H_SLOT, a] = sa
    hi[H_SLOT, b] = sb
    hi[H_POS, sa] = a
    hi[H_POS, sb] = b


@helper
def _hsift(hf: np.ndarray, hi: np.ndarray, i: int, size: int) -> None:
    # Restore the heap order around position i (up, then down).
    while i > 0 and _hless(hf, hi, i, (i - 1) >> 1):
        _hswap(hf, hi, i, (i - 1) >> 1)
        i = (i - 1) >> 1
    while True:
        c = 2 * i + 1
        if c >= size:
            return
        if c + 1 < size and _hless(hf, hi, c + 1, c):
            c += 1
        if not _hless(hf, hi, c, i):
            return
        _hswap(hf, hi, i, c)
        i = c


@helper
def _hpush(hf: np.ndarray, hi: np.ndarray, iv: np.ndarray, slot: int, t: float) -> None:
    i = iv[I_NHEAP]
    iv[I_NHEAP] = i + 1
    hf[i] = t
    hi[H_SLOT, i] = slot
    hi[H_POS, slot] = i
    _hsift(hf, hi, i, i + 1)


@helper
def _hremove(hf: np.ndarray, hi: np.ndarray, iv: np.ndarray, slot: int) -> None:
    i = hi[H_POS, slot]
    if i < 0:
        return
    last = iv[I_NHEAP] - 1
    iv[I_NHEAP] = last
    hi[H_POS, slot] = -1
    if i == last:
        return
    hf[i] = hf[last]
    s = hi[H_SLOT, last]
    hi[H_SLOT, i] = s
    hi[H_POS, s] = i
    _hsift(hf, hi, i, last)


# -- sorted lists: keys in fs[lf], (key, job, GPUs) in js[li], js[li + 1], js[li + 2] ----------
@helper
def _shift(a: np.ndarray, i: int, size: int, up: bool) -> None:
    # up: a[i + 1 : size + 1] = a[i:size]; down: a[i : size - 1] = a[i + 1 : size]. Unsigned
    # indices: numba adds no negative-index wraparound to them, so LLVM turns the loops into
    # memmoves (three times faster).
    if up:
        x = np.uint64(size)
        lo = np.uint64(i)
        while x > lo:
            a[x] = a[x - _ONE]
            x -= _ONE
    else:
        x = np.uint64(i)
        hi = np.uint64(size - 1)
        while x < hi:
            a[x] = a[x + _ONE]
            x += _ONE


@helper
def _ins(fs: np.ndarray, js: np.ndarray, lf: int, li: int, size: int, xf: float, xi: int, j: int,
         g: int) -> None:  # fmt: skip
    if size == 0 or _lt(fs[lf, size - 1], js[li, size - 1], xf, xi):
        i = size
    else:
        i = _bisect(fs, js, lf, li, 0, size, xf, xi)
        _shift(fs[lf], i, size, True)
        _shift(js[li], i, size, True)
        _shift(js[li + 1], i, size, True)
        _shift(js[li + 2], i, size, True)
    fs[lf, i] = xf
    js[li, i] = xi
    js[li + 1, i] = j
    js[li + 2, i] = g


@helper
def _del(fs: np.ndarray, js: np.ndarray, lf: int, li: int, size: int, xf: float,
         xi: int) -> None:  # fmt: skip
    i = _bisect(fs, js, lf, li, 0, size, xf, xi)
    _shift(fs[lf], i, size, False)
    _shift(js[li], i, size, False)
    _shift(js[li + 1], i, size, False)
    _shift(js[li + 2], i, size, False)


# -- the steps of whole_gpu.run_preemptive ------------------------------------------------------
@helper
def _enqueue(W: tuple, j: int, t: float) -> None:
    fs, js, iv, fp = W[0], W[1], W[2], W[3]
    kf, ki = _key(fs, js, iv, fp, j, t)
    fs[F_PKF, j] = kf
    js[J_PKI, j] = ki
    g = js[J_GPUS, j]
    _ins(fs, js, F_PEND, J_PEND, iv[I_NPEND], kf, ki, j, g)
    iv[I_NPEND] += 1
    c = iv[I_SIZES + g]
    iv[I_SIZES + g] = c + 1
    if not c and g < iv[I_MINSIZE]:
        iv[I_MINSIZE] = g


@helper
def _dequeue(W: tuple, j: int) -> None:
    # Take job j out of the pending list (the first step of the Python engine's start()).
    fs, js, iv = W[0], W[1], W[2]
    g = js[J_GPUS, j]
    _del(fs, js, F_PEND, J_PEND, iv[I_NPEND], fs[F_PKF, j], js[J_PKI, j])
    iv[I_NPEND] -= 1
    c = iv[I_SIZES + g] - 1
    iv[I_SIZES + g] = c
    if not c and g == iv[I_MINSIZE]:
        m = iv[Q_CAP] + 1
        for x in range(g + 1, iv.shape[0] - I_SIZES):
            if iv[I_SIZES + x]:
                m = x
                break
        iv[I_MINSIZE] = m


@helper
def _start(W: tuple, j: int, t: float) -> None:
    fs, js, iv, fp, hf, hi = W[0], W[1], W[2], W[3], W[4], W[5]
    g = js[J_GPUS, j]
    iv[I_RUNTOTAL] += g
    if np.isnan(fs[F_FIRST, j]):
        fs[F_FIRST, j] = t
    fs[F_RESUME, j] = t
    js[J_RUN, j] = 1
    iv[I_NRUNNING] += 1
    if iv[Q_TIES]:
        js[J_RSEQ, j] = iv[I_SEQ]
        iv[I_SEQ] += 1
    e = t + fs[F_REM, j]
    _hpush(hf, hi, iv, 2 * j, e)
    mode = iv[Q_RUNMODE]
    c = np.nan
    kf = 0.0
    ki = 0
    if mode == RUN_EXACT:
        kf, ki, c = _entry(fs, js, iv, fp, j, t)
    elif mode == RUN_PROXY:
        kf = fs[F_RESUME, j] + fs[F_REM, j]
        ki = ((1 << KIND_SHIFT) | js[J_RSEQ, j]) if iv[Q_TIES] else j
    if mode != RUN_RECOMPUTE:
        fs[F_RKF, j] = kf
        js[J_RKI, j] = ki
        _ins(fs, js, F_RUN, J_RUNL, iv[I_NRUN], kf, ki, j, g)
    else:
        js[J_RSET, iv[I_NRUN]] = j
        js[J_RPOS, j] = iv[I_NRUN]
    iv[I_NRUN] += 1
    if not np.isnan(c) and c < e:
        _hpush(hf, hi, iv, 2 * j + 1, c)


@helper
def _stop(W: tuple, j: int, t: float, sj: np.ndarray, ss: np.ndarray, se: np.ndarray) -> None:
    fs, js, iv, hf, hi, pl, bits, al = W[0], W[1], W[2], W[4], W[5], W[6], W[7], W[8]
    r0 = fs[F_RESUME, j]
    fs[F_EXEC, j] += t - r0
    js[J_RUN, j] = 0
    iv[I_NRUNNING] -= 1
    iv[I_RUNTOTAL] -= js[J_GPUS, j]
    _hremove(hf, hi, iv, 2 * j)
    _hremove(hf, hi, iv, 2 * j + 1)
    nrun = iv[I_NRUN]
    if iv[Q_RUNMODE] != RUN_RECOMPUTE:
        _del(fs, js, F_RUN, J_RUNL, nrun, fs[F_RKF, j], js[J_RKI, j])
    else:
        p = js[J_RPOS, j]
        last = js[J_RSET, nrun - 1]
        js[J_RSET, p] = last
        js[J_RPOS, last] = p
    iv[I_NRUN] = nrun - 1
    release(pl, bits, al, js[J_AOFF, j], js[J_ALEN, j])
    k = iv[I_NSEG]
    sj[k] = j
    ss[k] = r0
    se[k] = t
    iv[I_NSEG] = k + 1


@helper
def _running_view(W: tuple, t: float) -> tuple:
    # The running jobs in rank order: (count, exact keys?, key row, (key, job, GPUs) rows) -
    # the running list, or the view rows with keys recomputed at t.
    fs, js, iv, fp = W[0], W[1], W[2], W[3]
    nr = iv[I_NRUN]
    mode = iv[Q_RUNMODE]
    if mode != RUN_RECOMPUTE:
        return nr, mode == RUN_EXACT, F_RUN, J_RUNL
    for x in range(nr):
        a, b = _key(fs, js, iv, fp, js[J_RSET, x], t)
        fs[F_TMP, x] = a
        js[J_TMP, x] = b
    order_pairs(fs[F_TMP], js[J_TMP], nr, js[J_IDX])  # (keys are unique)
    for x in range(nr):
        y = js[J_IDX, x]
        j = js[J_RSET, y]
        fs[F_VIEW, x] = fs[F_TMP, y]
        js[J_VIEW, x] = js[J_TMP, y]
        js[J_VIEW + 1, x] = j
        js[J_VIEW + 2, x] = js[J_GPUS, j]
    return nr, True, F_VIEW, J_VIEW


@helper
def _rank_of(W: tuple, lf: int, li: int, nr: int, exact: bool, xf: float, xi: int,
             t: float) -> int:  # fmt: skip
    # Number of running jobs (list lf/li) ranked before the pending key (xf, xi).
    fs, js, iv, fp = W[0], W[1], W[2], W[3]
    if exact:
        return _bisect(fs, js, lf, li, 0, nr, xf, xi)
    i = _bisect(fs, js, lf, li, 0, nr, t + xf, xi)  # pending_order: finish time if started now
    while i > 0:
        yf, yi = _key(fs, js, iv, fp, js[li + 1, i - 1], t)
        if _lt(yf, yi, xf, xi):
            break
        i -= 1
    while i < nr:
        yf, yi = _key(fs, js, iv, fp, js[li + 1, i], t)
        if not _lt(yf, yi, xf, xi):
            break
        i += 1
    return i


@helper
def _gpus_before(js: np.ndarray, li: int, nr: int, i: int, run_total: int) -> int:
    # GPUs of the first i running jobs of the list (summing the shorter side)
    s = 0
    if i <= nr - i:
        for x in range(i):
            s += js[li + 2, x]
        return s
    for x in range(i, nr):
        s += js[li + 2, x]
    return run_total - s


@helper
def _ranked_before(W: tuple, j: int, t: float) -> int:
    # GPUs of the running jobs ranked before pending job j.
    fs, js, iv = W[0], W[1], W[2]
    nr, exact, lf, li = _running_view(W, t)
    i = _rank_of(W, lf, li, nr, exact, fs[F_PKF, j], js[J_PKI, j], t)
    return _gpus_before(js, li, nr, i, iv[I_RUNTOTAL])


@helper
def _place_selected(W: tuple, nsel: int, t: float) -> int:
    # Place the selected pending jobs in rank order; returns the GPUs of those left pending.
    js, iv, pl, bits, al = W[1], W[2], W[6], W[7], W[8]
    unplaced = 0
    for x in range(nsel):
        j = js[J_SEL, x]
        g = js[J_GPUS, j]
        c = 0
        if g <= pl[PL_TOT]:
            c = place(pl, bits, iv[Q_PLACE], iv[Q_COMPAT] == 1, g, al, js[J_AOFF, j])
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
    # The selection of a pass and its preemptions; returns how many jobs the J_SEL row holds.
    fs, js, iv = W[0], W[1], W[2]
    hol = iv[Q_HOL] == 1
    cap = iv[Q_CAP]
    ip = 0
    ir = 0
    quota = cap
    nsel = 0
    npd = iv[I_NPEND]
    pj = J_PEND + 1
    if not hol:
        nr, exact, lf, li = _running_view(W, t)
        fr = cap - iv[I_RUNTOTAL]
        least = iv[I_MINSIZE]
        used = 0
        pos = -1
        before = 0
        found = False
        for x in range(npd):
            j = js[pj, x]
            g = js[J_GPUS, j]
            if exact:
                i = _bisect(fs, js, lf, li, pos if pos > 0 else 0, nr, fs[F_PEND, x], js[J_PEND, x])
            else:
                i = _rank_of(W, lf, li, nr, exact, fs[F_PEND, x], js[J_PEND, x], t)
            if pos < 0:
                before = _gpus_before(js, li, nr, i, iv[I_RUNTOTAL])
            elif i > pos:
                for y in range(pos, i):
                    before += js[li + 2, y]
            pos = i
            qt = cap - before - used
            if qt < least:
                break
            if g <= qt:
                if g > fr - used:
                    ip, ir, quota, found = x, i, qt, True
                    break
                js[J_SEL, nsel] = j
                nsel += 1
                used += g
        if not found:
            return nsel
    nr, exact, lf, li = _running_view(W, t)
    least = iv[I_MINSIZE]
    ndrop = 0
    while ir < nr or ip < npd:
        if ip < npd and (hol or quota >= least):
            if exact:
                nxt = _bisect(fs, js, lf, li, ir, nr, fs[F_PEND, ip], js[J_PEND, ip])
            else:
                nxt = _rank_of(W, lf, li, nr, exact, fs[F_PEND, ip], js[J_PEND, ip], t)
        else:
            nxt = nr
            ip = npd
        stopped = False
        if ir < nxt:
            x = ir
            while x < nxt:
                g = js[li + 2, x]
                if g <= quota:
                    quota -= g
                    x += 1
                    continue
                js[J_DROP, ndrop] = js[li + 1, x]
                ndrop += 1
                x += 1
                if hol:
                    stopped = True
                    break
            if stopped:
                for y in range(x, nr):
                    js[J_DROP, ndrop] = js[li + 1, y]
                    ndrop += 1
                break
            ir = nxt
        if ip < npd:
            j = js[pj, ip]
            ip += 1
            g = js[J_GPUS, j]
            if g <= quota:
                quota -= g
                js[J_SEL, nsel] = j
                nsel += 1
            elif hol:
                for y in range(ir, nr):
                    js[J_DROP, ndrop] = js[li + 1, y]
                    ndrop += 1
                break
    # Preempted in job order (the list rows change as they stop: J_DROP holds copies of the ids)
    order_pairs(fs[F_ZERO], js[J_DROP], ndrop, js[J_IDX])
    for x in range(ndrop):
        j = js[J_DROP, js[J_IDX, x]]
        left = fs[F_REM, j] - (t - fs[F_RESUME, j])
        _stop(W, j, t, sj, ss, se)
        o = W[3][iv[Q_NTHR] + js[J_GPUS, j]]
        fs[F_REM, j] = (left if left > 0.0 else 0.0) + o
        fs[F_EXTRA, j] += o
        fs[F_OVH, j] += o
        js[J_NPRE, j] += 1
    # Preempted jobs re-enter the pending list at its end, in rank order.
    for x in range(ndrop):
        j = js[J_DROP, x]
        if iv[Q_TIES]:
            js[J_PSEQ, j] = iv[I_SEQ]
            iv[I_SEQ] += 1
        _enqueue(W, j, t)
    return nsel


@loop
def preemptive_loop(
    sub: np.ndarray, dur: np.ndarray, gpus: np.ndarray, pred: np.ndarray, iv: np.ndarray,
    fp: np.ndarray, interval: float, origin: float, nodes: int, gpn: int, aoff: np.ndarray,
    asize: int,
) -> tuple:  # fmt: skip
    """Replay one VC under SRTF or Tiresias: rules and variants in the parameters of ``iv``
    (``Q_*``), thresholds and overheads in ``fp``; ``interval`` NaN: passes at events.

    Returns ``(first start, end, preemptions, overhead, seg_job, seg_start, seg_end, al,
    alen, stuck)``: ``stuck`` is a job that can never be placed, or -1.
    """
    n = sub.shape[0]
    fs = np.zeros((F_ROWS, n))
    js = np.zeros((J_ROWS, n), dtype=np.int64)
    # (element loops: numba compiles a row assignment from an array for seconds)
    for j in range(n):
        fs[F_REM, j] = dur[j]
        fs[F_PRED, j] = pred[j]
        fs[F_FIRST, j] = np.nan
        fs[F_END, j] = np.nan
        js[J_GPUS, j] = gpus[j]
        js[J_AOFF, j] = aoff[j]
    iv[I_MINSIZE] = iv[Q_CAP] + 1
    hcap = 2 * n + 1
    hf = np.empty(hcap)
    hi = np.full((2, hcap), -1, dtype=np.int64)
    pl, bits = new_nodes(nodes, gpn)
    al = np.zeros((2, asize), dtype=np.int64)
    W = (fs, js, iv, fp, hf, hi, pl, bits, al)
    scap = 2 * n + 16
    sj = np.empty(scap, dtype=np.int64)
    ss = np.empty(scap)
    se = np.empty(scap)
    tick_slot = hcap - 1
    has_interval = not np.isnan(interval)
    hol = iv[Q_HOL] == 1
    exact_run = iv[Q_RUNMODE] == RUN_EXACT
    cap = iv[Q_CAP]
    place_kind = iv[Q_PLACE]
    compat = iv[Q_COMPAT] == 1
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
        te = hf[0] if iv[I_NHEAP] else INF
        t = ta if ta <= te else te
        if t == INF:
            break
        dirty = False
        released = False
        tick = False
        while iv[I_NHEAP] and hf[0] <= t:
            slot = hi[H_SLOT, 0]
            _hremove(hf, hi, iv, slot)
            if slot == tick_slot:
                tick = True
                tick_at = INF
                continue
            j = slot >> 1
            npend = iv[I_NPEND]
            if not slot & 1:  # finish
                kff = fs[F_RKF, j]
                kfi = js[J_RKI, j]
                _stop(W, j, t, sj, ss, se)
                fs[F_REM, j] = 0.0
                fs[F_END, j] = t
                iv[I_NACTIVE] -= 1
                released = True
                if not dirty and npend:
                    last = npend - 1
                    dirty = not exact_run or _lt(kff, kfi, fs[F_PEND, last], js[J_PEND, last])
            else:  # priority change (Tiresias demotion); only exact running keys have them
                kf, ki, c = _entry(fs, js, iv, fp, j, t)
                old_f = fs[F_RKF, j]
                old_i = js[J_RKI, j]
                nrun = iv[I_NRUN]
                _del(fs, js, F_RUN, J_RUNL, nrun, old_f, old_i)
                _ins(fs, js, F_RUN, J_RUNL, nrun - 1, kf, ki, j, js[J_GPUS, j])
                fs[F_RKF, j] = kf
                js[J_RKI, j] = ki
                if not dirty and npend:
                    i = _bisect(fs, js, F_PEND, J_PEND, 0, npend, old_f, old_i)
                    if i < npend and _lt(fs[F_PEND, i], js[J_PEND, i], kf, ki):
                        dirty = True
                if not np.isnan(c) and c < fs[F_RESUME, j] + fs[F_REM, j]:
                    _hpush(hf, hi, iv, 2 * j + 1, c)
        if released and unplaced:
            dirty = True
        new_from = ai
        while ai < n and sub[ai] <= t:
            ai += 1
        if iv[Q_TIES] and ai > new_from:
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
                    _hpush(hf, hi, iv, tick_slot, nt)
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
        if need > pl[PL_TOT] - unplaced or (hol and iv[I_NACTIVE] > iv[I_NRUNNING] + ai - new_from):
            for j in range(new_from, ai):
                _enqueue(W, j, t)
            if not hol and ai - new_from == 1:
                if gpus[new_from] > cap - _ranked_before(W, new_from, t):
                    continue
            unplaced = _full_pass(W, t, sj, ss, se)
            continue
        # Newcomers start at once, in rank order (their pending keys).
        m = ai - new_from
        js[J_IDX, 0] = 0
        if m > 1:
            for x in range(m):
                a, b = _key(fs, js, iv, fp, new_from + x, t)
                fs[F_TMP, x] = a
                js[J_TMP, x] = b
            order_pairs(fs[F_TMP], js[J_TMP], m, js[J_IDX])
        for x in range(m):
            j = new_from + js[J_IDX, x]
            g = gpus[j]
            c = place(pl, bits, place_kind, compat, g, al, aoff[j])
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
            sj[:k].copy(), ss[:k].copy(), se[:k].copy(), al, js[J_ALEN].copy(),
            stuck)  # fmt: skip
