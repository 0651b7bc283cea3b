"""Artifact-compatible mode (``compat="lucid"`` / ``"helios"``) against the published rules.

``tick_reference`` is a plain 1-second loop written straight from the rules of the Lucid and
Helios simulators (docs/replay.md, "Artifact-compatible mode"): every second, completions, then
arrivals, then ordering, placement and (SRTF/Tiresias) preemption. The event-driven engine must
give the same per-job start, end, queue, preemption count and final node placement on integer
traces with distinct submit times: on >= 1,000 random traces (hypothesis; set
``TRACEKIT_COMPAT_TRACES`` for a bigger run) and on schedules worked out by hand below, on both
replay cores (the Python loops and the compiled core).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracekit.replay import replay

GPN = 8
CORES = ("python", "compiled")  # the replay cores (conftest.CORES)
Job = tuple[str, int, int, int, int]  # (job_id, submit, duration, gpus, pred)
Outcome = tuple[int, int, int, int, str]  # (start, end, queue, preemptions, nodes)


# ---- the reference: one iteration per second, straight from the rules ------------------------
def consolidate(free: list[int], g: int) -> list[tuple[int, int]] | None:
    """The simulators' ``consolidate`` placement on 8-GPU nodes (None = fail)."""
    if sum(free) < g:
        return None
    if g <= GPN:
        fits = [(f, i) for i, f in enumerate(free) if f >= g]
        return [(min(fits)[1], g)] if fits else None  # fewest free GPUs, then lowest index
    k, r = divmod(g, GPN)
    order = sorted(range(len(free)), key=lambda i: (-free[i], i))
    if sum(1 for f in free if f == GPN) < k:
        return None
    alloc = [(i, GPN) for i in order[:k]]  # the k lowest-indexed idle nodes
    if r:
        if k >= len(order) or free[order[k]] < r:  # the next node must hold the remainder
            return None
        alloc.append((order[k], r))
    return alloc


def overhead_of(mode: str) -> Callable[[int], int]:
    """Checkpoint overhead per preemption of the Lucid or the Helios simulator."""
    if mode == "lucid":
        return lambda g: 40 if g <= 8 else 60
    return lambda g: 7 if g <= 1 else (30 if g <= 8 else 60)


def tick_reference(
    jobs: list[Job],
    nodes: int,
    policy: str,
    mode: str = "lucid",
    origin: int = 0,
    threshold: int = 18_000,
) -> dict[str, Outcome]:
    """Replay one VC second by second; ``jobs`` in submit order, distinct submit times."""
    n = len(jobs)
    sub = [j[1] for j in jobs]
    dur = [j[2] for j in jobs]
    gpus = [j[3] for j in jobs]
    pred = [j[4] for j in jobs]
    free = [GPN] * nodes
    cap = nodes * GPN
    ovh = overhead_of(mode)
    remain = list(dur)
    attained = [0] * n
    start: list[int | None] = [None] * n
    end: list[int | None] = [None] * n
    end_at: list[int | None] = [None] * n  # non-preemptive: planned end
    queue = [0] * n
    npre = [0] * n
    paused = [0] * n  # when a preempted job re-entered the pending list
    alloc: list[list[tuple[int, int]] | None] = [None] * n
    prio: list[int | None] = [None] * n
    pending: list[int] = []
    running: list[int] = []
    preemptive = policy in ("srtf", "tiresias")
    done = 0
    t = origin

    def place(j: int) -> bool:
        a = consolidate(free, gpus[j])
        if a is None:
            return False
        for node, g in a:
            free[node] -= g
        alloc[j] = a
        return True

    def release(j: int) -> None:
        for node, g in alloc[j]:  # type: ignore[union-attr]
            free[node] += g

    while done < n:
        # 1. completions (preemptive policies: the countdown)
        for j in list(running):
            if preemptive:
                if remain[j] == 0:
                    end[j] = t
                else:
                    remain[j] -= 1
                    attained[j] += gpus[j]
                    continue
            elif end_at[j] != t:
                continue
            else:
                end[j] = t
            release(j)
            running.remove(j)
            done += 1
        # 2. arrivals
        for j in range(n):
            if sub[j] == t:
                pending.append(j)
        # 3. ordering, placement, preemption
        if not preemptive:
            if policy == "qssf":
                pending.sort(key=lambda j: gpus[j])
                if any(sub[j] < t for j in pending):  # lazy, one-tick-late priorities
                    for j in pending:
                        if prio[j] is None:
                            prio[j] = pred[j] * gpus[j]
                    pending.sort(key=lambda j: prio[j])  # type: ignore[arg-type, return-value]
            else:
                pending.sort(key=lambda j: sub[j] if policy == "fifo" else dur[j])
            while pending:
                j = pending[0]
                if not place(j):
                    break  # strict head-of-line blocking
                pending.pop(0)
                running.append(j)
                start[j] = t
                queue[j] = t - sub[j]
                end_at[j] = t + dur[j]
        elif policy == "srtf" or (t - origin) % 60 == 0:
            every = pending + running
            if policy == "srtf":
                every.sort(key=lambda j: remain[j])
            else:
                every.sort(key=lambda j: (attained[j] > threshold, sub[j]))
            quota = cap
            selected, preempted = [], []
            for j in every:
                if gpus[j] <= quota:
                    quota -= gpus[j]
                    if j in pending:
                        selected.append(j)
                elif j in running:
                    preempted.append(j)
            for j in preempted:
                npre[j] += 1
                remain[j] += ovh(gpus[j])
                release(j)
                running.remove(j)
                pending.append(j)
                paused[j] = t
            for j in selected:
                if place(j):
                    pending.remove(j)
                    running.append(j)
                    if npre[j] == 0:
                        start[j] = t
                        queue[j] = t - sub[j]
                    else:
                        queue[j] += t - paused[j]
        t += 1
    return {
        jobs[j][0]: (
            start[j], end[j], queue[j], npre[j],  # type: ignore[misc]
            "|".join(f"{node}:{g}" for node, g in alloc[j]),  # type: ignore[union-attr]
        )
        for j in range(n)
    }  # fmt: skip


# ---- the engine on the same traces ------------------------------------------------------------
def frame(traces: list[tuple[str, int, list[Job]]]) -> pl.DataFrame:
    """One job table; every trace is its own VC ``(vc, nodes, jobs)``."""
    rows = [(jid, vc, float(s), float(d), g, float(p)) for vc, _, jobs in traces
            for jid, s, d, g, p in jobs]  # fmt: skip
    return pl.DataFrame(
        rows,
        schema=["job_id", "vc", "submit_time", "duration_s", "num_gpus", "pred_duration_s"],
        orient="row",
    )


def engine_outcome(
    traces: list[tuple[str, int, list[Job]]], policy: str, mode: str, core: str = "python",
    **options: object,
) -> dict[str, Outcome]:  # fmt: skip
    cluster = {vc: (nodes, GPN) for vc, nodes, _ in traces}
    res = replay(frame(traces), cluster, policy, compat=mode, workers=1, core=core, **options)
    assert res.config["core"] == core
    cols = ["job_id", "start_time", "end_time", "queue_s", "preemptions", "nodes"]
    return {
        jid: (int(s), int(e), int(q), int(p), nodes)
        for jid, s, e, q, p, nodes in res.jobs.select(cols).iter_rows()
    }


def reference_outcome(
    traces: list[tuple[str, int, list[Job]]], policy: str, mode: str, threshold: int = 18_000
) -> dict[str, Outcome]:
    origin = min(s for _, _, jobs in traces for _, s, _, _, _ in jobs)  # the global clock
    out: dict[str, Outcome] = {}
    for _, nodes, jobs in traces:
        out.update(tick_reference(jobs, nodes, policy, mode, origin, threshold))
    return out


# ---- hypothesis: random integer traces with distinct submit times ------------------------------
SIZES = [1, 1, 1, 2, 2, 3, 4, 4, 6, 8, 12, 16]


@st.composite
def vc_traces(draw: st.DrawFn, vc: str) -> tuple[str, int, list[Job]]:
    """One VC of 1-3 nodes and 1-9 jobs with distinct integer submit times."""
    nodes = draw(st.integers(1, 3))
    n = draw(st.integers(1, 9))
    submits = sorted(draw(st.lists(st.integers(0, 150), min_size=n, max_size=n, unique=True)))
    jobs = []
    for i, s in enumerate(submits):
        g = draw(st.sampled_from([x for x in SIZES if x <= nodes * GPN]))
        d = draw(st.integers(1, 90))
        # Few distinct predictions: equal QSSF priorities (prediction x GPUs) are common.
        p = draw(st.sampled_from([1, 2, 3, 4, 6, 8, 12, 24, 48]))
        jobs.append((f"{vc}-{i}", s, d, g, p))
    return vc, nodes, jobs


@st.composite
def batches(draw: st.DrawFn, size: int = 50) -> list[tuple[str, int, list[Job]]]:
    """``size`` independent traces, each replayed as its own VC."""
    return [draw(vc_traces(f"v{i:02d}")) for i in range(size)]


BATCH = 50
TRACES = int(os.environ.get("TRACEKIT_COMPAT_TRACES", "1000"))
COMPAT_SETTINGS = settings(
    max_examples=max(1, TRACES // BATCH),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RUNS = [
    ("fifo", "lucid", {}),
    ("sjf", "lucid", {}),
    ("qssf", "lucid", {}),
    ("srtf", "lucid", {}),
    ("srtf", "helios", {}),
    ("tiresias", "lucid", {}),
    # A low threshold so that demotions happen within these short traces; a 4-GPU job that
    # started at a decision tick reaches exactly 240 GPU-s at the next one.
    ("tiresias", "lucid", {"policy_options": {"preset": "lucid", "thresholds": [240.0]}}),
]


@COMPAT_SETTINGS
@given(batches(BATCH))
def test_compat_equals_the_one_second_tick_rules(traces: list[tuple[str, int, list[Job]]]) -> None:
    for policy, mode, options in RUNS:
        threshold = int(options.get("policy_options", {}).get("thresholds", [18_000])[0])
        want = reference_outcome(traces, policy, mode, threshold)
        for core in CORES:
            got = engine_outcome(traces, policy, mode, core, **options)
            bad = [jid for jid in want if got[jid] != want[jid]]
            assert not bad, (policy, mode, options, core,
                             [(j, got[j], want[j]) for j in bad[:5]])  # fmt: skip


# ---- schedules worked out by hand ----------------------------------------------------------------
def check(traces: list[tuple[str, int, list[Job]]], policy: str, expected: dict[str, Outcome],
          mode: str = "lucid", threshold: int = 18_000) -> None:  # fmt: skip
    """Both engine cores and the tick reference give the hand-worked outcome."""
    for core in CORES:
        assert engine_outcome(traces, policy, mode, core) == expected, core
    assert reference_outcome(traces, policy, mode, threshold) == expected


def test_srtf_quota_walk_skips_a_big_job_and_selects_a_smaller_later_one() -> None:
    # One 8-GPU node. t=1: B (10 s left) ranks before A (99 s left): quota 8 - 4 = 4 < 6, so A
    # is preempted (+40 s: 139 s left). t=3: order C(4) B(8) A(139) D(200): C and B take 6,
    # A (6 GPUs) is skipped, D (2) still fits the quota and starts ahead of A. A resumes when B
    # ends (t=12): queue 1..12 = 11 s. Every end is one second late: end = submit + queue +
    # duration + overheads + 1.
    jobs = [("A", 0, 100, 6, 1), ("B", 1, 10, 4, 1), ("C", 2, 5, 2, 1), ("D", 3, 200, 2, 1)]
    check(
        [("v", 1, jobs)],
        "srtf",
        {
            "A": (0, 0 + 11 + 100 + 40 + 1, 11, 1, "0:6"),
            "B": (1, 12, 0, 0, "0:4"),
            "C": (2, 8, 0, 0, "0:2"),
            "D": (3, 3 + 200 + 1, 0, 0, "0:2"),
        },
    )


def test_srtf_ties_pending_before_running() -> None:
    # At t=10 Q (40 s) ties with P (50 - 10 = 40 s left): the pending job ranks first, so P is
    # preempted (a tie by submit order would keep P running).
    jobs = [("P", 0, 50, 8, 1), ("Q", 10, 40, 8, 1)]
    check(
        [("v", 1, jobs)],
        "srtf",
        {"P": (0, 132, 41, 1, "0:8"), "Q": (10, 51, 0, 0, "0:8")},
    )
    clean = replay(frame([("v", 1, jobs)]), {"v": (1, 8)}, "srtf").jobs
    assert clean["preemptions"].to_list() == [0, 0]


def test_srtf_ties_pending_in_insertion_order() -> None:
    # C (135 s) waits from t=3. At t=5, B preempts A, which re-enters the pending list at its
    # end with 95 + 40 = 135 s left: a tie with C. When B ends (t=56) C goes first, because it
    # entered the list first, although A has the lower row index.
    jobs = [("A", 0, 100, 8, 1), ("C", 3, 135, 8, 1), ("B", 5, 50, 8, 1)]
    check(
        [("v", 1, jobs)],
        "srtf",
        {
            "A": (0, 328, 187, 1, "0:8"),
            "C": (56, 192, 53, 0, "0:8"),
            "B": (5, 56, 0, 0, "0:8"),
        },
    )


def test_tiresias_decides_on_the_60_second_clock() -> None:
    # Decisions only at t = first submit + 60 k. B (t=10) waits for t=60 although A's GPUs are
    # free from t=31; C (t=61) waits for t=120 on an idle VC.
    jobs = [("A", 0, 30, 8, 1), ("B", 10, 20, 8, 1), ("C", 61, 5, 1, 1)]
    want = {
        "A": (0, 31, 0, 0, "0:8"),
        "B": (60, 81, 50, 0, "0:8"),
        "C": (120, 126, 59, 0, "0:1"),
    }
    check([("v", 1, jobs)], "tiresias", want)
    # The clock starts at the first submit: everything shifted by 7 s keeps the same schedule.
    shifted = [(j, s + 7, d, g, p) for j, s, d, g, p in jobs]
    moved = {k: (s + 7, e + 7, q, n, nodes) for k, (s, e, q, n, nodes) in want.items()}
    check([("v", 1, shifted)], "tiresias", moved)


def test_tiresias_demotes_only_above_the_threshold() -> None:
    # A (5 GPUs) reaches exactly 18,000 GPU-s at t=3600, a decision tick: it stays in the high
    # queue (demotion needs more than the threshold). At t=3660 (18,300 GPU-s) it is demoted, B
    # (high queue) takes the node, A is preempted (+40 s) and resumes at the next decision tick
    # after B's end (t=3780).
    jobs = [("A", 0, 5000, 5, 1), ("B", 100, 100, 8, 1)]
    left = 5000 - 3660 + 40
    check(
        [("v", 1, jobs)],
        "tiresias",
        {
            "A": (0, 3780 + left + 1, 3780 - 3660, 1, "0:5"),
            "B": (3660, 3761, 3560, 0, "0:8"),
        },
    )


def test_qssf_equal_priorities_fewer_gpus_first() -> None:
    # X (8 GPUs x 5 s predicted) and Y (1 GPU x 40 s) have the same priority, 40. After H ends,
    # Y (fewer GPUs) goes first and X, blocked at the head, waits for Y's end.
    jobs = [("H", 0, 100, 8, 1), ("X", 1, 50, 8, 5), ("Y", 2, 50, 1, 40)]
    check(
        [("v", 1, jobs)],
        "qssf",
        {
            "H": (0, 100, 0, 0, "0:8"),
            "X": (150, 200, 149, 0, "0:8"),
            "Y": (100, 150, 98, 0, "0:1"),
        },
    )


def test_fifo_head_blocked_by_consolidation() -> None:
    # C (4 GPUs) cannot be consolidated on 2 + 2 free GPUs; the head blocks D (1 GPU) until B
    # ends. Then C takes the emptied node 1 and D the best fit, node 0.
    jobs = [("A", 0, 100, 6, 1), ("B", 1, 50, 6, 1), ("C", 2, 10, 4, 1), ("D", 3, 10, 1, 1)]
    check(
        [("v", 2, jobs)],
        "fifo",
        {
            "A": (0, 100, 0, 0, "0:6"),
            "B": (1, 51, 0, 0, "1:6"),
            "C": (51, 61, 49, 0, "1:4"),
            "D": (51, 61, 48, 0, "0:1"),
        },
    )


def test_helios_overheads() -> None:
    # The same preemption as the tie example, with Helios' overhead for 8 GPUs: 30 s.
    jobs = [("P", 0, 50, 8, 1), ("Q", 10, 40, 8, 1)]
    check(
        [("v", 1, jobs)],
        "srtf",
        {"P": (0, 51 + 40 + 30 + 1, 41, 1, "0:8"), "Q": (10, 51, 0, 0, "0:8")},
        mode="helios",
    )


def test_compat_output_columns_and_summary() -> None:
    jobs = [("P", 0, 50, 8, 1), ("Q", 10, 40, 8, 1)]
    res = replay(frame([("v", 1, jobs)]), {"v": (1, 8)}, "srtf", compat="lucid")
    assert res.output().columns[-1] == "nodes"
    assert res.config["compat"] == "lucid" and res.config["ckpt_overhead"] == "lucid"
    with pytest.raises(ValueError, match="compat"):
        replay(frame([("v", 1, jobs)]), {"v": (1, 8)}, "srtf", compat="slurm")
