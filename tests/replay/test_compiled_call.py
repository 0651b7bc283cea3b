"""The whole replay call around the compiled core: what the static loop derives itself (the
job order from one key array, allocation offsets, a job it never placed), the end times
computed outside the loops, the validation shortcuts, and the default of one process for a
compiled replay.

Results of the two cores against each other are checked by the golden, property, compat and
shortcut tests, which run on both; the shortcuts here are checked against the plain
computations they replace.
"""

from __future__ import annotations

import multiprocessing

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracekit.errors import TraceFormatError
from tracekit.replay import Cluster, validate_jobs
from tracekit.replay.engines import compiled
from tracekit.replay.engines import whole_gpu as engine
from tracekit.replay.engines.whole_gpu import (
    PARALLEL_MIN_JOBS,
    VCPlan,
    rank_order,
    resolve_workers,
    run_vc,
    vc_bounds,
)
from tracekit.replay.inputs import _any_bad, _rules
from tracekit.replay.policies import make_policy
from tracekit.replay.policies.base import JobView

CAPS = {"a": (2, 8), "b": (3, 4), "c": (5, 6)}
PLACEMENTS = ("consolidate", "first_fit", "spread")


def _view(n: int, seed: int, gpn: int = 8) -> JobView:
    rng = np.random.default_rng(seed)
    submit = np.sort(rng.integers(0, 50, n)).astype(np.float64)
    duration = rng.integers(1, 40, n).astype(np.float64) + rng.choice([0.0, 0.25, 0.5], n)
    gpus = rng.choice([1, 2, 3, gpn, gpn + 1, 2 * gpn], n).astype(np.int64)
    return JobView(submit, duration, gpus, duration * rng.choice([0.5, 1.0, 2.0], n))


@pytest.mark.parametrize("backfill", ["none", "greedy", "easy"])
@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("compat", [False, True])
def test_static_loop_orders_one_key_itself(backfill: str, placement: str, compat: bool) -> None:
    # The policy's key packed into priorities in the loop gives the replay of the sorted order.
    for seed in range(4):
        view = _view(60, seed)
        est = view.pred if backfill == "easy" else None
        for key in (view.duration, np.floor(view.duration), np.floor(view.duration) - 20.0):
            args = (est, backfill, 5, compat, 4, 8, placement, compat)
            packed = compiled.run_static(view, key, None, *args)
            sorted_ = compiled.run_static(view, None, rank_order(key), *args)
            for i in (0, 2, 3):  # start, allocation lengths and offsets
                np.testing.assert_array_equal(packed[i], sorted_[i])
            assert compiled.allocations(*packed[1:4]) == compiled.allocations(*sorted_[1:4])
            assert packed[-1] == -1 and not np.isnan(packed[0]).any()


_KEYS = st.one_of(
    st.integers(-3, 3).map(float),
    st.sampled_from([0.5, 1.0, 1.5, 2.0, 1e6, 2.0**60, -0.0, -1.5, np.inf, -np.inf, np.nan]),
    # positive keys equal but for their last bits (they share the packed upper bits)
    st.integers(0, 6).map(lambda k: 1.0 + k * 2.0**-52),
    st.integers(0, 6).map(lambda k: 3.0 - k * 2.0**-51),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_KEYS, min_size=1, max_size=40), st.sampled_from(["none", "greedy", "easy"]))
def test_static_loop_runs_jobs_in_key_order(keys: list[float], backfill: str) -> None:
    # One GPU, every job arrives at 0 and lasts 1 s: the start times are the job order, which
    # must be numpy's stable order of the keys (ties and NaNs included); keys that do not pack
    # say so and run from the sorted order.
    n = len(keys)
    key = np.array(keys)
    view = JobView(np.zeros(n), np.ones(n), np.ones(n, dtype=np.int64), None)
    args = (None, backfill, None, False, 1, 1, "consolidate", False)
    start, *_, stuck = compiled.run_static(view, key, None, *args)
    with np.errstate(invalid="ignore"):  # (inf - inf)
        whole = bool(np.all(key == np.floor(key)) and np.ptp(key) < 2.0**53)
    packs = not np.isnan(key).any() and (whole or (key.min() > 0 and key.max() < np.inf))
    if not packs:
        assert stuck == compiled.NEEDS_ORDER
        start, *_, stuck = compiled.run_static(view, None, rank_order(key), *args)
    assert stuck == -1
    assert start.tolist() == np.argsort(np.argsort(key, kind="stable")).astype(float).tolist()


def test_static_loop_names_the_first_job_it_never_placed() -> None:
    view = _view(30, 1)
    view.gpus[[7, 12]] = 40  # more than 4 nodes x 8 GPUs
    out = compiled.run_static(view, view.submit, None, None, "greedy", None, False, 4, 8,
                              "consolidate", False)  # fmt: skip
    assert out[-1] == 7
    assert np.isnan(out[0][[7, 12]]).all() and not np.isnan(np.delete(out[0], [7, 12])).any()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 70), min_size=0, max_size=30),
    st.integers(1, 12),
    st.integers(0, 9),
    st.sampled_from(PLACEMENTS),
)
def test_allocation_offsets_leave_room_for_each_job(
    gpus: list[int], gpn: int, nodes: int, placement: str
) -> None:
    # Each job gets at most ceil(g / gpn) (node, GPUs) pairs (first fit: one per node it
    # touches), at least one slot.
    g = np.array(gpus, dtype=np.int64)
    off, total = compiled.alloc_offsets(g, gpn, nodes, placement)
    if placement == "first_fit":
        size = [max(min(x, max(nodes, 1)), 1) for x in gpus]
    else:
        size = [max(-(-x // gpn), 1) for x in gpus]
    assert total == sum(size)
    assert off.tolist() == [sum(size[:i]) for i in range(len(size))]


def _plan(policy: str, backfill: str, placement: str, compat: bool, core: str) -> VCPlan:
    rng = np.random.default_rng(5)
    n = 400
    names = sorted(CAPS)
    code = np.sort(rng.integers(0, len(names), n))
    submit = np.concatenate([np.sort(rng.uniform(0, 300, (code == c).sum())) for c in range(3)])
    duration = rng.uniform(0.5, 80, n)
    if compat:
        submit, duration = np.floor(submit), np.ceil(duration)
    gpus = rng.choice([1, 2, 4, 6, 8, 12], n).astype(np.int64)
    for c, (nodes, gpn) in enumerate(CAPS[vc] for vc in names):
        gpus[code == c] = np.minimum(gpus[code == c], nodes * gpn)
    pol = make_policy(policy)
    return VCPlan(
        policy=pol.compat_variant("helios") if compat else pol,
        cluster=Cluster.from_dict(CAPS),
        bounds=vc_bounds(code, names),
        submit=submit,
        duration=duration,
        gpus=gpus,
        pred=duration * rng.choice([0.5, 2.0], n),
        placement=placement,
        compat=compat,
        backfill=backfill,
        backfill_depth=10,
        overhead=engine.overhead_function(None),
        interval=None,
        record_nodes=False,
        seed=7,
        core=core,
    )


@pytest.mark.parametrize("policy", ["fifo", "sjf", "qssf"])
@pytest.mark.parametrize("backfill", ["none", "greedy", "easy"])
@pytest.mark.parametrize("compat", [False, True])
def test_static_loops_end_each_job_at_start_plus_duration(
    policy: str, backfill: str, compat: bool, core: str
) -> None:
    # replay() computes a static policy's end times (and its segments' ends) as start +
    # duration instead of scattering the loops' own: they must be the same floats. The
    # compiled static loop returns none.
    for placement in PLACEMENTS:
        plan = _plan(policy, backfill, placement, compat, core)
        for i, (_, lo, hi) in enumerate(plan.bounds):
            run = run_vc(plan, i)
            start = np.asarray(run.start, dtype=np.float64)
            assert not np.isnan(start).any()
            assert (run.end is None) == (engine.core_of(plan) == "compiled")
            if run.end is not None:
                end = np.asarray(run.end, dtype=np.float64)
                np.testing.assert_array_equal(end, start + plan.duration[lo:hi])


def test_a_compiled_replay_stays_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_cpu_count", lambda: 2)
    monkeypatch.setattr(multiprocessing, "parent_process", lambda: None)
    plan = _plan("fifo", "none", "consolidate", False, "auto")
    n = PARALLEL_MIN_JOBS
    plan.submit, plan.duration = np.zeros(n), np.ones(n)
    plan.gpus = np.ones(n, dtype=np.int64)
    plan.bounds = [("a", 0, n // 2), ("b", n // 2, n)]
    assert resolve_workers(None, plan) == 1  # compiled: less time than a fork
    plan.core = "python"
    assert resolve_workers(None, plan) == 2  # the Python loops of a large replay: parallel
    plan.core = "auto"
    assert resolve_workers(2, plan) == 2  # asked for: as before


_VALUES = st.sampled_from([0.0, -0.0, 1.0, 2.0, 3.5, 8.0, 9.0, 33.0, -1.0, 2e12, np.inf, np.nan])


@st.composite
def _tables(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 20))

    def column(values: st.SearchStrategy) -> list:
        return draw(st.lists(values, min_size=n, max_size=n))

    ids = column(st.sampled_from(["", "j1", "j2", "j3", "a-very-long-job-identifier", None]))
    if draw(st.booleans()):
        ids = [f"job{i}" for i in range(n)]
    frame = pl.DataFrame(
        {"job_id": ids, "vc": column(st.sampled_from(["a", "b", "c", "z", None])),
         "submit_time": column(_VALUES), "duration_s": column(_VALUES),
         "num_gpus": column(_VALUES), "pred_duration_s": column(_VALUES)},
        schema={"job_id": pl.String, "vc": pl.String, "submit_time": pl.Float64,
                "duration_s": pl.Float64, "num_gpus": pl.Float64, "pred_duration_s": pl.Float64},
    )  # fmt: skip
    if draw(st.booleans()):  # whole GPU counts, as an integer column
        frame = frame.with_columns(
            pl.Series("num_gpus", column(st.sampled_from([1, 2, 8, 9, 24, 0, -3])), pl.Int64)
        )
    return frame


@settings(max_examples=200, deadline=None)
@given(_tables(), st.booleans(), st.booleans())
def test_validation_shortcuts_agree_with_the_rules(
    jobs: pl.DataFrame, allow_zero: bool, needs_prediction: bool
) -> None:
    cluster = Cluster.from_dict(CAPS)
    caps = cluster.capacities()
    rules = _rules(allow_zero, needs_prediction, caps, False, "strict")
    floats = jobs.with_columns(pl.col("num_gpus").cast(pl.Float64))
    plain = any(int(floats.select(e).to_series().fill_null(True).sum()) for _, e, _, _ in rules)
    assert _any_bad(jobs, rules, caps, False) == plain
    options = {"allow_zero_duration": allow_zero, "needs_prediction": needs_prediction}
    outcomes = []
    for table in (jobs, floats):  # integer GPU counts: the same verdict, table and message
        try:
            clean, quality = validate_jobs(table, cluster, **options)
            outcomes.append((clean, quality.counts))
        except TraceFormatError as err:
            outcomes.append(str(err))
    if isinstance(outcomes[0], str):
        assert plain and outcomes[0] == outcomes[1]
    else:
        assert not plain and not any(outcomes[0][1].values())
        assert outcomes[0][0].equals(outcomes[1][0]) and outcomes[0][1] == outcomes[1][1]
        assert outcomes[0][0].schema["num_gpus"] == pl.Int64


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([0.5, 1.0, 1.5, 3.0, 1e-300, 1e300]), st.integers(0, 3),
                       st.integers(0, 2**18)), min_size=2, max_size=60),  # fmt: skip
)
def test_stable_argsort_of_positive_keys_that_differ_in_their_last_bits(
    parts: list[tuple[float, int, int]],
) -> None:
    # Keys a few units in the last place apart share the float bits the packed sort keeps:
    # their runs must still come out in (key, index) order, numpy's stable order.
    keys = np.array([b * (1.0 + k * np.finfo(float).eps) + b * m * 2.0**-40
                     for b, k, m in parts])  # fmt: skip
    np.testing.assert_array_equal(engine.stable_argsort(keys), np.argsort(keys, kind="stable"))


def test_stable_argsort_takes_float32_keys() -> None:
    # The packed sort reads float64 bits: a float32 key is widened first, not misread.
    keys = np.array([3.5, 1.25, 3.5, 0.75, 2.0], dtype=np.float32)
    np.testing.assert_array_equal(engine.stable_argsort(keys), np.argsort(keys, kind="stable"))
