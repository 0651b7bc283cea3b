"""Lucid-style policy on the shared-GPU replay (tracekit.replay.policies.lucid), on both cores
(tests taking the ``core`` fixture run once per core; the property test compares them on every
example)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracekit.replay import UNITS, Lucid, ReplayResult, replay


def simulate_lucid(
    jobs: pl.DataFrame, pool, policy: Lucid | None = None, core: str = "python", **options
) -> ReplayResult:  # noqa: ANN001
    """The front door with the Lucid policy (shared GPUs). ``core="compiled"``: replay on the
    compiled core, check that every per-job column equals the Python engine's, and return the
    compiled result (the Python one when ``record`` asks for GPU occupancy)."""
    ref = replay(jobs, pool, policy or "lucid", core="python", **options)
    if core == "python":
        return ref
    fast = {k: v for k, v in options.items() if k != "record"}
    got = replay(jobs, pool, policy or "lucid", core="compiled", **fast)
    assert got.config["core"] == "compiled"
    assert got.jobs.equals(ref.jobs), (got.jobs, ref.jobs)
    return ref if options.get("record") else got


def _jobs(rows: list[tuple]) -> pl.DataFrame:
    """rows: (job_id, submit, duration, gpus, util, pred)."""
    return pl.DataFrame(
        {
            "job_id": [r[0] for r in rows],
            "submit_time": [float(r[1]) for r in rows],
            "duration_s": [float(r[2]) for r in rows],
            "num_gpus": [float(r[3]) for r in rows],
            "util": [float(r[4]) for r in rows],
            "pred_duration_s": [None if r[5] is None else float(r[5]) for r in rows],
        },
        schema_overrides={"pred_duration_s": pl.Float64},
    )


def test_low_util_pair_shares_high_util_pair_waits(core: str) -> None:
    low = _jobs([("0", 0, 100, 1, 0.3, 100), ("1", 1, 100, 1, 0.4, 100)])
    out = simulate_lucid(low, {"pool": 1}, core=core).jobs
    assert out["start_time"].to_list() == [0.0, 1.0]  # job id "0" works (it crashes the artifact)
    assert out["colocated"].all()
    high = _jobs([("0", 0, 100, 1, 0.7, 100), ("1", 1, 100, 1, 0.6, 100)])
    out = simulate_lucid(high, {"pool": 1}, core=core).jobs
    assert out["start_time"].to_list() == [0.0, 100.0]
    assert not out["colocated"].any()


def test_priority_ratio_and_same_gpu_count(core: str) -> None:
    long_newcomer = _jobs([("a", 0, 100, 1, 0.2, 100), ("b", 1, 100, 1, 0.2, 300)])
    out = simulate_lucid(long_newcomer, {"pool": 1}, core=core).jobs
    assert out["start_time"][1] >= 100.0  # 300 > 2 x 100: not packed
    ok = simulate_lucid(long_newcomer, {"pool": 1}, Lucid(priority_ratio=4.0), core=core).jobs
    assert ok["start_time"][1] == 1.0
    sizes = _jobs([("a", 0, 100, 2, 0.2, 100), ("b", 1, 100, 1, 0.2, 100)])
    out = simulate_lucid(sizes, {"pool": 2}, core=core).jobs
    assert out["start_time"][1] >= 100.0  # different GPU counts never pair


def test_at_most_two_jobs_per_gpu(core: str) -> None:
    jobs = _jobs([(str(i), i, 100, 1, 0.1, 100) for i in range(3)])
    out = simulate_lucid(jobs, {"pool": 1}, core=core, record=True)
    assert out.gpu_events is not None and out.gpu_events["jobs"].max() == 2
    assert out.jobs["start_time"][2] > 2.0


def test_large_jobs_never_packed(core: str) -> None:
    jobs = _jobs([("a", 0, 100, 16, 0.1, 100), ("b", 1, 100, 16, 0.1, 100)])
    out = simulate_lucid(jobs, {"pool": (2, 8)}, core=core).jobs
    assert out["start_time"].to_list() == [0.0, 100.0]


def test_order_by_predicted_gpu_time_and_missing_prediction(core: str) -> None:
    jobs = _jobs([("run", 0, 50, 1, 1.0, 50), ("long", 1, 10, 1, 1.0, 5000),
                  ("short", 2, 10, 1, 1.0, 20), ("nopred", 3, 10, 1, 1.0, None)])  # fmt: skip
    out = simulate_lucid(jobs, {"pool": 1}, core=core).jobs.sort("start_time")
    # short (20 s) < nopred (filled with 1,000 s) < long (5,000 s)
    assert out["job_id"].to_list() == ["run", "short", "nopred", "long"]
    pol = Lucid()
    assert pol.priority(np.array([-5.0, np.nan, 10.0]), np.array([1.0, 2.0, 0.5])).tolist() == [
        1000.0, 2000.0, 10.0,
    ]  # fmt: skip


def test_colocated_jobs_never_finish_faster_than_alone(core: str) -> None:
    rng = np.random.default_rng(0)
    n = 80
    rows = [
        (str(i), float(rng.integers(0, 2000)), float(rng.integers(10, 600)),
         float(rng.choice([1, 2, 4])), float(rng.uniform(0, 0.6)), None)
        for i in range(n)
    ]  # fmt: skip
    jobs = _jobs(rows).with_columns(
        (pl.col("duration_s") * pl.Series(rng.lognormal(0, 0.5, n))).alias("pred_duration_s")
    )
    out = simulate_lucid(jobs, {"pool": (1, 4)}, core=core).jobs
    assert out["colocated"].sum() > 0
    assert (out["jct_s"] >= out["duration_s"] - 1e-6).all()  # never faster than alone
    np.testing.assert_allclose(out["served_s"], out["duration_s"], rtol=1e-9, atol=1e-6)


def test_policy_options_validated() -> None:
    with pytest.raises(ValueError):
        Lucid(util_cap=1.5)
    with pytest.raises(ValueError):
        Lucid(max_jobs_per_gpu=3)
    jobs = _jobs([("a", 0, 1, 1, 0.1, 1)])
    res = replay(jobs, {"p": 1}, "lucid")
    assert res.config["max_jobs_per_gpu"] == 2 and res.config["share_by"] == "usage"
    # Lucid fixes its pairing rule: another value is refused, not silently replaced.
    with pytest.raises(ValueError, match="lucid sets max_jobs_per_gpu=2 itself; drop"):
        replay(jobs, {"p": 1}, "lucid", max_jobs_per_gpu=4)
    with pytest.raises(ValueError, match="lucid sets share_by='usage' itself; drop share_by"):
        replay(jobs, {"p": 1}, "lucid", share_by="request")
    with pytest.raises(ValueError, match="share_by must be one of"):
        replay(jobs, {"p": 1}, "lucid", share_by="foo")
    # The values it uses itself are accepted.
    same = replay(jobs, {"p": 1}, "lucid", max_jobs_per_gpu=2, share_by="usage")
    assert same.digest() == res.digest()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 40),
            st.integers(1, 50),
            st.sampled_from([1, 2, 4]),
            st.floats(0.0, 1.0),
            st.integers(1, 100),
        ),
        min_size=1,
        max_size=20,
    ),  # fmt: skip
    prefer_exclusive=st.booleans(),
)
def test_lucid_invariants_property(rows, prefer_exclusive) -> None:  # noqa: ANN001
    jobs = _jobs([(str(i), *r) for i, r in enumerate(rows)])
    pol = Lucid(prefer_exclusive=prefer_exclusive)
    res = simulate_lucid(jobs, {"pool": (1, 4)}, pol, record=True)
    out, ev = res.jobs, res.gpu_events
    assert ev is not None
    assert ev["jobs"].max() <= 2 and ev["alloc_units"].max() <= UNITS
    assert (out["start_time"] >= out["submit_time"]).all()
    assert (out["min_rate"] <= 1.0).all()
    np.testing.assert_allclose(out["served_s"], out["duration_s"], rtol=1e-9, atol=1e-6)
    # The same replay on the compiled core: every per-job column equal, so the digest too.
    assert simulate_lucid(jobs, {"pool": (1, 4)}, pol, "compiled").digest() == res.digest()
