"""The preemptive engine's shortcuts and its parallel VCs change nothing.

The engine skips scheduling passes that cannot change the schedule (stale events, arrivals
that fit the unselected GPUs, demotions with no pending job in range) and starts newcomers
directly. ``engine.PASS_AT_EVERY_EVENT`` turns every shortcut off: a full greedy pass at every
event is the reference semantics, and the per-job outcome and every node allocation must be
identical; so must the compiled core's per-job outcome and run segments (it takes the same
shortcuts). ``simulate(workers=k)`` replays VCs in forked processes; the output must not depend
on ``k``, on either core.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tracekit.replay import simulate
from tracekit.replay.engines import whole_gpu as engine
from tracekit.replay.engines.whole_gpu import PARALLEL_MIN_JOBS, VCPlan, resolve_workers
from tracekit.replay.policies import SRTF
from tracekit.replay.policies.base import PreemptivePolicy, VCState

CONFIGS = [
    ("srtf", {}),
    ("srtf", {"backfill": "none"}),
    ("srtf", {"ckpt_overhead": "helios", "placement": "spread"}),
    ("srtf", {"placement": "first_fit"}),
    ("srtf-pred", {}),
    ("tiresias", {}),
    ("tiresias", {"policy_options": {"service": "time", "thresholds": [600, 3000]}}),
    ("tiresias", {"backfill": "none"}),
    ("tiresias", {"policy_options": {"preset": "lucid"}}),
    ("tiresias", {"compat": "helios"}),
]


def outcome(res) -> tuple[list, list]:  # noqa: ANN001 - ReplayResult
    """Per-job (start, end, preemptions, overhead) and every run interval with its nodes."""
    rows = res.jobs.select("job_id", "start_time", "end_time", "preemptions", "overhead_s").rows()
    return rows, sorted(res.node_log)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("policy", "options"), CONFIGS)
def test_shortcuts_match_a_pass_at_every_event(
    policy: str, options: dict, seed: int, monkeypatch: pytest.MonkeyPatch, crowded_trace
) -> None:
    jobs, cluster = crowded_trace(seed)
    fast = simulate(jobs, cluster, policy, record_nodes=True, workers=1, **options)
    compiled = simulate(jobs, cluster, policy, workers=1, core="compiled", **options)
    monkeypatch.setattr(engine, "PASS_AT_EVERY_EVENT", True)
    ref = simulate(jobs, cluster, policy, record_nodes=True, workers=1, **options)
    assert fast.jobs["end_time"].is_not_null().all()
    assert outcome(fast) == outcome(ref)
    assert compiled.jobs.equals(fast.jobs) and compiled.segments.equals(fast.segments)


def test_simultaneous_newcomers_are_placed_in_rank_order() -> None:
    # Node 0 has 3 free GPUs, node 1 has 8. Two 2-GPU jobs arrive together; SRTF ranks the
    # later-submitted shorter one first, so a pass gives it the best-fit node 0 and the other
    # one node 1 (no pass is needed to start them, but the shortcut must place them alike).
    jobs = pl.DataFrame(
        {
            "job_id": ["big", "long", "short"],
            "vc": ["v"] * 3,
            "submit_time": [0.0, 10.0, 10.0],
            "duration_s": [1000.0, 500.0, 50.0],
            "num_gpus": [5, 2, 2],
        }
    )
    res = simulate(jobs, {"v": (2, 8)}, "srtf", record_nodes=True, workers=1)
    nodes = {res.jobs["job_id"][i]: alloc for _vc, i, _s, _e, alloc in res.node_log}
    assert nodes["big"] == ((0, 5),)
    assert nodes["short"] == ((0, 2),)
    assert nodes["long"] == ((1, 2),)


@pytest.mark.parametrize(
    ("policy", "options"), [CONFIGS[0], CONFIGS[5], ("fifo", {}), ("qssf", {})]
)
def test_parallel_vcs_give_the_same_output(policy: str, options: dict, crowded_trace) -> None:
    jobs, cluster = crowded_trace(5, n=900)
    one = simulate(jobs, cluster, policy, record_nodes=True, workers=1, **options)
    two = simulate(jobs, cluster, policy, record_nodes=True, workers=2, **options)
    assert outcome(one) == outcome(two)
    assert one.segments.equals(two.segments)
    for workers in (1, 2):
        fast = simulate(jobs, cluster, policy, workers=workers, core="compiled", **options)
        assert fast.config["workers"] == workers
        assert fast.jobs.equals(one.jobs) and fast.segments.equals(one.segments)


class RandomTieSRTF(SRTF):
    """SRTF on remaining time rounded to 100 s, ties broken at random: its outcome depends on
    the generator ``prepare`` hands it."""

    name = "srtf-random-ties"
    running_keys = PreemptivePolicy.running_keys  # every key through key()

    def __init__(self) -> None:
        super().__init__()
        self.ordered_running = False  # the rounded keys break the finish-time proxy

    def prepare(self, rng: np.random.Generator) -> None:
        super().prepare(rng)
        self.noise = rng.random(10_000).tolist()

    def key(self, st: VCState, j: int, t: float) -> tuple[float, float, int]:
        left = super().key(st, j, t)[0]
        return (round(left, -2), self.noise[j], j)


def test_random_policy_is_seeded_per_vc_whatever_the_workers(crowded_trace) -> None:
    # prepare() is called once per VC with default_rng([seed, VC index]), in the process that
    # replays the VC, so a randomised policy gives the same output for any ``workers``.
    jobs, cluster = crowded_trace(4, n=600)

    def run(workers: int, seed: int) -> tuple[list, list]:
        res = simulate(
            jobs, cluster, RandomTieSRTF(), workers=workers, seed=seed, record_nodes=True
        )
        return outcome(res)

    assert run(1, seed=0) == run(2, seed=0)
    assert run(1, seed=0) != run(1, seed=1)
    # A subclass of SRTF that changes the keys inherits no compiled kernel: it runs in Python.
    assert simulate(jobs, cluster, RandomTieSRTF()).config["core"] == "python"


def test_workers_resolution() -> None:
    def plan(n: int, vcs: int) -> VCPlan:
        per = n // vcs
        return VCPlan(
            policy=SRTF(),
            cluster=None,  # type: ignore[arg-type]
            bounds=[(f"v{i}", i * per, (i + 1) * per) for i in range(vcs)],
            submit=np.zeros(n),
            duration=np.zeros(n),
            gpus=np.zeros(n, dtype=np.int64),
            pred=None,
            placement="consolidate",
            compat=False,
            backfill="greedy",
            backfill_depth=None,
            overhead=engine.overhead_function(None),
            interval=None,
            record_nodes=False,
            seed=0,
        )

    assert resolve_workers(None, plan(1000, 4)) == 1  # small: not worth a fork
    assert resolve_workers(None, plan(PARALLEL_MIN_JOBS, 1)) == 1  # one VC
    assert resolve_workers(3, plan(1000, 2)) == 2  # never more processes than VCs
    with pytest.raises(ValueError, match="workers must be >= 1"):
        resolve_workers(0, plan(1000, 2))


@pytest.mark.parametrize("workers", [1, 2])
def test_an_unplaceable_job_is_reported_from_any_worker(workers: int, core: str) -> None:
    # validate=False lets a 24-GPU job into a 2-node VC of 8-GPU nodes: the engine must stop
    # with a message naming the job and the VC shape, also when the VC ran in a worker.
    jobs = pl.DataFrame(
        {
            "job_id": ["ok", "huge", "fine"],
            "vc": ["a", "b", "b"],
            "submit_time": [0.0, 0.0, 5.0],
            "duration_s": [10.0, 10.0, 10.0],
            "num_gpus": [1, 24, 1],
        }
    )
    with pytest.raises(RuntimeError, match=r"\(24 GPUs\) can never be placed on a VC of 2 nodes"):
        simulate(jobs, {"a": (1, 8), "b": (2, 8)}, "srtf", validate=False, workers=workers,
                 core=core)  # fmt: skip
    with pytest.raises(RuntimeError, match=r"\(24 GPUs\) can never be placed"):
        simulate(jobs, {"a": (1, 8), "b": (2, 8)}, "fifo", validate=False, workers=workers,
                 core=core)  # fmt: skip
