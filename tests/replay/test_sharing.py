"""Shared-GPU replay (resource model "shared"): capacity, slowdown, placement, invariants.

Every replay's result is checked on both cores: tests taking the ``core`` fixture run once per
core, and the property tests compare the compiled core with the Python engine on every example
(:func:`simulate_shared`)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracekit.errors import TraceFormatError
from tracekit.replay import UNITS, GPUPool, ReplayResult, SlowdownModel, replay
from tracekit.replay.inputs import fill_utilization


def simulate_shared(
    jobs: pl.DataFrame, pool, policy: str = "fifo", core: str = "python", **options  # noqa: ANN001
) -> ReplayResult:
    """The front door on shared GPUs. ``core="compiled"``: replay on the compiled core, check
    that every per-job column equals the Python engine's, and return the compiled result (the
    Python one when ``record`` asks for GPU occupancy, which only the Python engine records)."""
    ref = replay(jobs, pool, policy, resource_model="shared", core="python", **options)
    if core == "python":
        return ref
    fast = {k: v for k, v in options.items() if k != "record"}
    got = replay(jobs, pool, policy, resource_model="shared", core="compiled", **fast)
    assert got.config["core"] == "compiled"
    assert got.jobs.equals(ref.jobs), (got.jobs, ref.jobs)
    return ref if options.get("record") else got


def _jobs(rows: list[tuple], pred: bool = False) -> pl.DataFrame:
    """rows: (job_id, submit, duration, gpus, group, util)."""
    df = pl.DataFrame(
        {
            "job_id": [r[0] for r in rows],
            "submit_time": [float(r[1]) for r in rows],
            "duration_s": [float(r[2]) for r in rows],
            "num_gpus": [float(r[3]) for r in rows],
            "group": [r[4] for r in rows],
            "util": [float(r[5]) for r in rows],
        },
        schema_overrides={"group": pl.String},
    )
    return df.with_columns(pl.col("duration_s").alias("pred_duration_s")) if pred else df


def test_two_half_gpu_jobs_share_one_gpu_and_slow_down(core: str) -> None:
    jobs = _jobs([("a", 0, 100, 0.5, "T4", 0.3), ("b", 0, 100, 0.5, "T4", 0.3)])
    res = simulate_shared(jobs, {"T4": 1}, "fifo", core=core)
    out = res.jobs
    assert out["start_time"].to_list() == [0.0, 0.0]
    # U = 0.6 < 1, so only the interference term: rate = 0.95
    assert out["end_time"].to_list() == pytest.approx([100 / 0.95] * 2)
    assert out["colocated"].to_list() == [True, True]
    assert out["served_s"].to_list() == pytest.approx([100.0, 100.0])


def test_rate_restored_when_partner_finishes(core: str) -> None:
    jobs = _jobs([("a", 0, 50, 0.5, "T4", 0.8), ("b", 0, 100, 0.5, "T4", 0.8)])
    out = simulate_shared(jobs, {"T4": 1}, "fifo", core=core).jobs
    r = (1 / 1.6) * 0.95  # both slowed while together
    end_a = 50 / r
    assert out["end_time"][0] == pytest.approx(end_a)
    # b did end_a * r work together, the rest alone at rate 1
    assert out["end_time"][1] == pytest.approx(end_a + (100 - end_a * r))
    assert out["min_rate"][1] == pytest.approx(r)


def test_whole_gpu_requests_never_share(core: str) -> None:
    jobs = _jobs([("a", 0, 10, 1, "V100", 0.1), ("b", 0, 10, 1, "V100", 0.1)])
    out = simulate_shared(jobs, {"V100": 1}, "fifo", core=core).jobs
    assert out["start_time"].to_list() == [0.0, 10.0]
    assert not out["colocated"].any()


def test_max_jobs_per_gpu(core: str) -> None:
    jobs = _jobs([(str(i), 0, 10, 0.1, "T4", 0.1) for i in range(5)])
    out = simulate_shared(jobs, {"T4": 1}, "fifo", core=core, max_jobs_per_gpu=2, record=True)
    assert out.jobs["max_jobs_on_gpu"].max() == 2
    assert out.gpu_events is not None and out.gpu_events["jobs"].max() == 2
    assert sorted(out.jobs["start_time"].to_list())[2] > 0


def test_multi_gpu_job_is_a_gang_of_slots(core: str) -> None:
    jobs = _jobs([("g", 0, 10, 2.5, "MISC", 0.5)])
    out = simulate_shared(jobs, {"MISC": (1, 8)}, "fifo", core=core, record=True)
    assert out.jobs["slots"][0] == 3
    assert out.jobs["share"][0] == pytest.approx(0.834, abs=1e-3)
    ev = out.gpu_events
    assert ev is not None and ev.filter(pl.col("time") == 0)["gpu"].n_unique() == 3


def test_strict_affinity_waits_any_affinity_moves(core: str) -> None:
    jobs = _jobs([("a", 0, 100, 1, "V100", 0.5), ("b", 1, 100, 1, "V100", 0.5)])
    pool = {"T4": (1, 2), "V100": (1, 1)}
    strict = simulate_shared(jobs, pool, "fifo", core=core, type_affinity="strict").jobs
    assert strict["start_time"].to_list() == [0.0, 100.0]
    anyt = simulate_shared(jobs, pool, "fifo", core=core, type_affinity="any").jobs
    assert anyt["start_time"].to_list() == [0.0, 1.0]
    assert anyt["vc"].to_list() == ["V100", "T4"]


def test_packing_reserves_high_end_balance_spreads(core: str) -> None:
    # Flexible jobs (no group) fill the lowest tier first under reserving-and-packing.
    jobs = _jobs([(str(i), i, 1000, 0.5, None, 0.2) for i in range(4)])
    pool = {"T4": (1, 2), "V100": (1, 2)}
    packed = simulate_shared(jobs, pool, "fifo", core, placement="pack", type_affinity="any").jobs
    assert set(packed["vc"]) == {"T4"}
    assert packed["max_jobs_on_gpu"].max() == 2
    spread = simulate_shared(jobs, pool, "fifo", core, placement="balance",
                             type_affinity="any").jobs  # fmt: skip
    assert set(spread["vc"]) == {"T4", "V100"}
    assert not spread["colocated"].any()  # 4 jobs, 4 empty GPUs: balance never stacks


def test_hol_blocks_backfill_skips(core: str) -> None:
    jobs = _jobs([("big", 0, 100, 2, "T4", 1), ("big2", 1, 100, 2, "T4", 1),
                  ("small", 2, 10, 1, "T4", 1)])  # fmt: skip
    pool = {"T4": (1, 3)}
    hol = simulate_shared(jobs, pool, "fifo", core=core, backfill=False).jobs
    assert hol["start_time"].to_list() == [0.0, 100.0, 100.0]
    bf = simulate_shared(jobs, pool, "fifo", core=core, backfill=True).jobs
    assert bf["start_time"].to_list() == [0.0, 100.0, 2.0]


def test_validation_and_repair(core: str) -> None:
    jobs = _jobs([("a", 0, 10, 1, "T4", 1), ("b", 0, 10, 1, "H100", 1), ("c", 0, 10, 9, "T4", 1)])
    with pytest.raises(TraceFormatError, match="group"):
        simulate_shared(jobs, {"T4": (1, 2)}, core=core)
    res = simulate_shared(jobs, {"T4": (1, 2)}, core=core, repair=True)
    assert res.jobs["job_id"].to_list() == ["a"]
    assert res.quality.counts["replay.unknown_group"] == 1
    assert res.quality.counts["replay.job_larger_than_group"] == 1
    with pytest.raises(ValueError, match="placement"):
        simulate_shared(jobs, {"T4": 1}, core=core, placement="nope")


def test_slowdown_model_rates_at_most_one() -> None:
    m = SlowdownModel(kappa=0.1)
    for n in range(1, 6):
        for u in (0.0, 0.3, 1.0, 2.5, 7.0):
            assert 0 < m.gpu_rate(n, u) <= 1.0
    assert m.gpu_rate(1, 5.0) == 1.0
    with pytest.raises(ValueError):
        SlowdownModel(kappa=1.0)


def test_fill_utilization_sources_and_determinism() -> None:
    df = pl.DataFrame(
        {
            "job_id": ["1", "2", "3", "4"],
            "user": ["u", "u", "v", None],
            "num_gpus": [1.0, 1.0, 2.0, 4.0],
            "gpu_util_mean": [40.0, None, None, None],
        }
    )
    out, counts = fill_utilization(df, seed=3)
    assert out["util_source"].to_list() == ["own", "user_median", "prior", "prior"]
    assert out["util"][0] == pytest.approx(0.4) and out["util"][1] == pytest.approx(0.4)
    again, _ = fill_utilization(df, seed=3)
    assert out["util"].to_list() == again["util"].to_list()
    assert counts["len"].sum() == 4


def test_pool_scaling() -> None:
    pool = GPUPool.from_dict({"V100": (10, 8), "T4": (4, 2)})
    assert pool.groups == ["T4", "V100"]  # low tier first
    assert pool.scaled(0.5).gpus() == 5 * 8 + 2 * 2
    assert pool.scaled(0.01).gpus("T4") == 2  # at least one machine


job_rows = st.lists(
    st.tuples(
        st.integers(0, 50),  # submit
        st.integers(1, 60),  # duration
        st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]),  # gpus
        st.sampled_from(["T4", "V100", None]),
        st.floats(0.0, 1.0),  # util
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=job_rows,
    policy=st.sampled_from(["fifo", "sjf", "qssf"]),
    placement=st.sampled_from(["pack", "balance"]),
    affinity=st.sampled_from(["strict", "any"]),
    max_jobs=st.integers(1, 4),
    share_by=st.sampled_from(["request", "usage"]),
)
def test_invariants_property(rows, policy, placement, affinity, max_jobs, share_by) -> None:  # noqa: ANN001
    jobs = _jobs([(str(i), *r) for i, r in enumerate(rows)], pred=True)
    pool = {"T4": (2, 2), "V100": (1, 4)}
    res = simulate_shared(jobs, pool, policy, placement=placement, type_affinity=affinity,
                          max_jobs_per_gpu=max_jobs, share_by=share_by, record=True)  # fmt: skip
    out = res.jobs
    ev = res.gpu_events
    assert ev is not None
    assert out.height == len(rows)  # nothing dropped: every job fits the pool
    assert ev["jobs"].max() <= max_jobs  # at most max jobs per GPU
    assert ev["alloc_units"].max() <= UNITS  # shares never exceed one GPU
    assert (out["start_time"] >= out["submit_time"]).all()
    assert (out["min_rate"] <= 1.0).all() and (out["min_rate"] > 0).all()
    assert (out["run_s"] >= out["duration_s"] - 1e-6).all()  # never faster than alone
    np.testing.assert_allclose(out["served_s"], out["duration_s"], rtol=1e-9, atol=1e-6)
    strict = out.filter(pl.col("group").is_not_null()) if affinity == "strict" else None
    if strict is not None:
        assert (strict["group"] == strict["vc"]).all()
    # The same replay on the compiled core: every per-job column equal, so the digest too.
    again = simulate_shared(jobs, pool, policy, "compiled", placement=placement,
                            type_affinity=affinity, max_jobs_per_gpu=max_jobs,
                            share_by=share_by)  # fmt: skip
    assert again.digest() == res.digest()


def test_work_conservation_alone(core: str) -> None:
    """Jobs that never share run exactly their duration (end = start + duration)."""
    rng = np.random.default_rng(1)
    n = 60
    jobs = _jobs([(str(i), float(rng.integers(0, 500)), float(rng.integers(1, 100)), 1.0, "V100",
                   float(rng.uniform())) for i in range(n)])  # fmt: skip
    out = simulate_shared(jobs, {"V100": (2, 4)}, "sjf", core=core).jobs
    np.testing.assert_allclose(out["end_time"] - out["start_time"], out["duration_s"])
    assert out["queue_s"].min() >= 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=job_rows, placement=st.sampled_from(["pack", "balance"]))
def test_hol_fifo_starts_in_submit_order(rows, placement) -> None:  # noqa: ANN001
    """Head-of-line FIFO starts jobs in (submit, input) order."""
    jobs = _jobs([(str(i), *r) for i, r in enumerate(rows)])
    out = simulate_shared(jobs, {"T4": (2, 2), "V100": (1, 4)}, "fifo", "compiled",
                          placement=placement, backfill=False).jobs  # fmt: skip
    starts = out.with_row_index("i").sort("submit_time", "i")["start_time"].to_numpy()
    assert (np.diff(starts) >= 0).all()


def test_any_affinity_gang_must_fit_one_group() -> None:
    """A gang never spans groups, so a job larger than every group is invalid even under 'any'."""
    jobs = _jobs([("a", 0, 10, 5, None, 0.5)])
    with pytest.raises(TraceFormatError, match="more GPUs"):
        simulate_shared(jobs, {"T4": (1, 4), "V100": (1, 4)}, type_affinity="any")
