"""A compact per-pool FIFO scheduler with EASY backfill, used to give the sample real queueing.

Each pool (a Helios VC, or the whole Philly cluster) has a GPU capacity that may change once a
day. Jobs are started in submission order; when the head of the queue does not fit, later jobs
(up to ``lookahead`` of them) may start now if they fit and either finish before the head's
reserved start (its "shadow time") or use only GPUs the head will not need (EASY backfill). Run
times are known exactly (the sample knows its own durations), as with user-given time limits.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable

import numpy as np

DAY_S = 86_400
_INF = float("inf")


def schedule(
    submit_s: np.ndarray,
    gpus: np.ndarray,
    duration_s: np.ndarray,
    pool: np.ndarray,
    capacity: np.ndarray,
    day0_s: int,
    lookahead: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Start times of jobs scheduled per pool with FIFO + EASY backfill.

    Parameters
    ----------
    submit_s, gpus, duration_s : numpy arrays (int64)
        Per job: submission time (s), GPUs, run time (s).
    pool : numpy array (int)
        Pool index of each job (row of ``capacity``).
    capacity : 2-D numpy array (int)
        GPUs of each pool per day, ``capacity[pool, day]``; day 0 starts at ``day0_s``. Times
        before the first or after the last day use the nearest day's capacity.
    day0_s : int
        Start of day 0 in the same time base as ``submit_s``.
    lookahead : int
        How many queued jobs behind a blocked head are considered for backfill.

    Returns
    -------
    start_s : numpy array (int64)
        Start time of every job.
    borrowed : numpy array (bool)
        Jobs that could never fit their pool (bigger than its largest daily capacity); they start
        at submission without counting against the pool, as Slurm lets such jobs borrow nodes.
    """
    n = len(submit_s)
    start = np.zeros(n, dtype=np.int64)
    borrowed = np.zeros(n, dtype=bool)
    order = np.argsort(submit_s, kind="stable")
    pools = pool[order]
    for p in np.unique(pools):
        idx = order[pools == p]
        s, b = _schedule_pool(
            submit_s[idx].tolist(),
            gpus[idx].tolist(),
            duration_s[idx].tolist(),
            capacity[int(p)].tolist(),
            int(day0_s),
            lookahead,
        )
        start[idx] = s
        borrowed[idx] = b
    return start, borrowed


def _schedule_pool(
    sub: list[int],
    g: list[int],
    d: list[int],
    cap_row: list[int],
    day0: int,
    lookahead: int,
) -> tuple[list[int], list[bool]]:
    """Simulate one pool; jobs are given in submission order."""
    n = len(sub)
    start = [0] * n
    borrowed = [False] * n
    last_day = len(cap_row) - 1
    max_cap = max(cap_row) if cap_row else 0
    running: list[tuple[int, int]] = []  # heap of (end time, gpus)
    pending: deque[int] = deque()
    used = 0
    i = 0
    t = sub[0] if n else 0

    def day_of(x: float) -> int:
        k = int((x - day0) // DAY_S)
        return 0 if k < 0 else (last_day if k > last_day else k)

    def launch(j: int, now: int) -> None:
        nonlocal used
        start[j] = now
        heapq.heappush(running, (now + d[j], g[j]))
        used += g[j]

    while i < n or pending:
        next_arr = sub[i] if i < n else _INF
        next_end = running[0][0] if running else _INF
        next_day = _INF
        if pending:
            k = (t - day0) // DAY_S
            if k < last_day:  # capacity can still change: wake up at the next midnight
                next_day = day0 + (max(k, -1) + 1) * DAY_S
        nxt = min(next_arr, next_end, next_day)
        if nxt == _INF:
            # Nothing will ever free enough GPUs (capacity fell below a queued job): let the
            # remaining jobs borrow, so the sample never drops a job.
            for j in pending:
                start[j] = t
                borrowed[j] = True
            break
        t = int(nxt)
        while running and running[0][0] <= t:
            used -= heapq.heappop(running)[1]
        while i < n and sub[i] <= t:
            if g[i] > max_cap:
                start[i] = sub[i]
                borrowed[i] = True
            else:
                pending.append(i)
            i += 1
        cap = cap_row[day_of(t)]
        while pending and used + g[pending[0]] <= cap:
            launch(pending.popleft(), t)
        if len(pending) > 1 and used < cap:
            _backfill(pending, running, g, d, cap - used, t, lookahead, launch)
    return start, borrowed


def _backfill(
    pending: deque[int],
    running: list[tuple[int, int]],
    g: list[int],
    d: list[int],
    free: int,
    now: int,
    lookahead: int,
    launch: Callable[[int, int], None],
) -> None:
    """EASY backfill behind a blocked queue head (modifies ``pending`` in place)."""
    candidates = [j for j in list(pending)[1 : lookahead + 1] if g[j] <= free]
    if not candidates:
        return
    need = g[pending[0]] - free
    freed = 0
    shadow = _INF
    for end, gg in sorted(running):
        freed += gg
        if freed >= need:
            shadow = end
            break
    extra = freed - need if shadow != _INF else 0
    started = []
    for j in candidates:
        if g[j] > free:
            continue
        ends_before = now + d[j] <= shadow
        if ends_before or g[j] <= extra:
            if not ends_before:
                extra -= g[j]
            free -= g[j]
            launch(j, now)
            started.append(j)
    for j in started:
        pending.remove(j)


def schedule_shared(
    submit_s: np.ndarray,
    gpus: np.ndarray,
    duration_s: np.ndarray,
    pool: np.ndarray,
    capacity: np.ndarray,
    day0_s: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pool FIFO queues on a shared cluster: idle GPUs of other pools can be borrowed.

    A queue head starts when the cluster has enough idle GPUs (Slurm partitions sharing nodes;
    Helios' median queueing delay is 0 s even in its busiest VCs). When several heads fit, those
    within their pool's quota go first, then borrowers, oldest first. The cluster never runs
    more GPUs than the day's total capacity. Same arguments and returns as :func:`schedule`;
    ``borrowed`` marks jobs larger than the whole cluster ever is.
    """
    n = len(submit_s)
    start = np.zeros(n, dtype=np.int64)
    borrowed = np.zeros(n, dtype=bool)
    order = np.argsort(submit_s, kind="stable")
    sub_sorted = submit_s[order].tolist()
    order_l = order.tolist()
    sub = submit_s.tolist()
    g = gpus.tolist()
    d = duration_s.tolist()
    pl_ = pool.tolist()
    caps = capacity.T.tolist()  # [day][pool]
    totals = capacity.sum(axis=0).tolist()
    last_day = len(totals) - 1
    max_total = max(totals) if totals else 0
    used = [0] * capacity.shape[0]
    used_all = 0
    running: list[tuple[int, int]] = []
    pending: dict[int, deque[int]] = {}
    start_l = [0] * n
    i = 0
    t = sub_sorted[0] if n else 0
    day = 0
    day_end = day0_s + DAY_S  # end of the current day (days past the last reuse its capacity)
    cap = caps[0] if totals else []
    total = totals[0] if totals else 0

    while i < n or pending:
        next_arr = sub_sorted[i] if i < n else _INF
        next_end = running[0][0] if running else _INF
        if not pending and next_arr < next_end:
            # Fast path (most jobs): empty queues, the next event is an arrival.
            t = next_arr
            while t >= day_end and day < last_day:
                day += 1
                day_end += DAY_S
                cap, total = caps[day], totals[day]
            j = order_l[i]
            i += 1
            gj, p = g[j], pl_[j]
            if gj > max_total:
                start_l[j] = t
                borrowed[j] = True
            elif used_all + gj <= total:
                start_l[j] = t
                used[p] += gj
                used_all += gj
                heapq.heappush(running, (t + d[j], j))
            else:
                pending[p] = deque([j])
            continue
        next_day = day_end if pending and day < last_day else _INF
        nxt = min(next_arr, next_end, next_day)
        if nxt == _INF:  # capacity fell below every queued head for good: let them borrow
            for q in pending.values():
                for j in q:
                    start_l[j] = t
                    borrowed[j] = True
            break
        t = int(nxt)
        while t >= day_end and day < last_day:
            day += 1
            day_end += DAY_S
            cap, total = caps[day], totals[day]
        while running and running[0][0] <= t:
            j = heapq.heappop(running)[1]
            used[pl_[j]] -= g[j]
            used_all -= g[j]
        while i < n and sub_sorted[i] <= t:
            j = order_l[i]
            i += 1
            if g[j] > max_total:
                start_l[j] = sub[j]
                borrowed[j] = True
            else:
                pending.setdefault(pl_[j], deque()).append(j)
        free_all = total - used_all
        # Only queues whose head fits in the idle GPUs are served: heads within their VC's
        # quota first, then borrowers, oldest first. Checking heads is cheap; sorting every
        # queue at every event is not.
        ready = [p for p, q in pending.items() if g[q[0]] <= free_all]
        if len(ready) > 1:
            ready.sort(key=lambda r: (used[r] + g[pending[r][0]] > cap[r], sub[pending[r][0]]))
        for p in ready:
            q = pending[p]
            while q:
                j = q[0]
                if g[j] <= free_all:
                    q.popleft()
                    start_l[j] = t
                    used[p] += g[j]
                    used_all += g[j]
                    free_all -= g[j]
                    heapq.heappush(running, (t + d[j], j))
                else:
                    break
            if not q:
                del pending[p]
    start[:] = start_l
    return start, borrowed
