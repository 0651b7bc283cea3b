"""Unit tests of the replay engine: placement, policies, validation, CSV and store inputs."""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np
import polars as pl
import pytest

from tracekit.errors import TraceFormatError
from tracekit.replay import (
    Cluster,
    Consolidate,
    FirstFit,
    ReplayResult,
    Spread,
    Tiresias,
    cluster_from_capacity,
    feasibility,
    replay_csv,
    simulate,
)
from tracekit.replay.engines.whole_gpu import overhead_function


def frame(rows: list[tuple]) -> pl.DataFrame:
    """Jobs from (job_id, vc, submit, duration, gpus[, pred]) tuples."""
    cols = ["job_id", "vc", "submit_time", "duration_s", "num_gpus", "pred_duration_s"]
    data = {c: [r[i] if i < len(r) else None for r in rows] for i, c in enumerate(cols)}
    df = pl.DataFrame(data, strict=False).with_columns(
        pl.col("submit_time", "duration_s", "num_gpus").cast(pl.Float64),
        pl.col("pred_duration_s").cast(pl.Float64),
    )
    return df if any(len(r) > 5 for r in rows) else df.drop("pred_duration_s")


# ---- placement ---------------------------------------------------------------------------------
def test_consolidate_best_fit_lowest_id_and_whole_nodes() -> None:
    p = Consolidate(3, 8)
    assert p.place(3) == ((0, 3),)
    assert p.place(6) == ((1, 6),)
    # best fit: node 1 has 2 free, node 0 has 5 free
    assert p.place(2) == ((1, 2),)
    assert p.place(4) == ((0, 4),)
    # 9 GPUs: whole idle node 2 plus remainder 1 on the best-fit node (node 0, 1 free)
    assert p.place(9) == ((2, 8), (0, 1))
    assert p.free_total == 0
    assert p.place(1) is None
    p.release(((2, 8), (0, 1)))
    assert p.free == [1, 0, 8]


def test_consolidate_compat_remainder_on_most_free_node() -> None:
    p = Consolidate(3, 8, compat=True)
    p.place(7)  # node 0 has 1 free
    p.place(4)  # node 1 best fit -> node 1 (4 free)
    assert p.place(9) == ((2, 8), (1, 1))  # remainder on the node with most free GPUs
    clean = Consolidate(3, 8)
    clean.place(7)
    clean.place(4)
    assert clean.place(9) == ((2, 8), (0, 1))


def test_first_fit_and_spread() -> None:
    f = FirstFit(2, 4)
    assert f.place(3) == ((0, 3),)
    assert f.place(3) == ((0, 1), (1, 2))
    s = Spread(3, 4)
    assert s.place(1) == ((0, 1),)
    assert s.place(1) == ((1, 1),)
    assert s.place(3) == ((2, 3),)
    assert s.place(8) is None


def test_multi_node_needs_idle_nodes() -> None:
    p = Consolidate(2, 8)
    p.place(1)
    assert p.place(16) is None
    assert p.free_total == 15


# ---- policies ----------------------------------------------------------------------------------
def test_fifo_hol_blocks_and_backfill_does_not(core: str) -> None:
    jobs = frame([("a", "v", 0, 10, 4), ("b", "v", 1, 5, 8), ("c", "v", 2, 3, 2)])
    hol = simulate(jobs, {"v": (1, 8)}, "fifo", core=core).jobs
    assert hol["start_time"].to_list() == [0.0, 10.0, 15.0]
    greedy = simulate(jobs, {"v": (1, 8)}, "fifo", backfill="greedy", core=core).jobs
    assert greedy["start_time"].to_list() == [0.0, 10.0, 2.0]
    # EASY: b is reserved at t=10; c (3 s) ends at 5 <= 10, so it may start at 2
    easy = simulate(jobs, {"v": (1, 8)}, "fifo", backfill="easy", core=core).jobs
    assert easy["start_time"].to_list() == [0.0, 10.0, 2.0]
    # a long c would delay b: EASY refuses, greedy does not
    jobs2 = frame([("a", "v", 0, 10, 4), ("b", "v", 1, 5, 8), ("c", "v", 2, 30, 2)])
    easy2 = simulate(jobs2, {"v": (1, 8)}, "fifo", backfill="easy", core=core).jobs
    assert easy2["start_time"].to_list() == [0.0, 10.0, 15.0]
    greedy2 = simulate(jobs2, {"v": (1, 8)}, "fifo", backfill="greedy", core=core).jobs
    assert greedy2["start_time"].to_list() == [0.0, 32.0, 2.0]


def test_easy_extends_a_prediction_that_has_run_out(core: str) -> None:
    # a (4 GPUs) runs 100 s but is predicted to take 10 s; b (8 GPUs) heads the queue from t=1.
    # At t=20 a has outlived its prediction: its end is taken as 0 + 10 x 2 x 2 = 40 s, not
    # "now", so c (2 GPUs, 15 s, ends at 35 <= 40) backfills at once instead of waiting behind b.
    jobs = frame([("a", "v", 0, 100, 4, 10), ("b", "v", 1, 5, 8, 5), ("c", "v", 20, 15, 2, 15)])
    out = simulate(jobs, {"v": (1, 8)}, "sjf-pred", backfill="easy", core=core).jobs
    assert out["start_time"].to_list() == [0.0, 100.0, 20.0]
    # c running past the doubled end (40 s) would delay b's reservation: it waits for b.
    jobs2 = jobs.with_columns(
        pl.when(pl.col("job_id") == "c").then(25.0).otherwise(pl.col(c)).alias(c)
        for c in ("duration_s", "pred_duration_s")
    )
    out2 = simulate(jobs2, {"v": (1, 8)}, "sjf-pred", backfill="easy", core=core).jobs
    assert out2["start_time"].to_list() == [0.0, 100.0, 105.0]


def test_expected_end_doubles_a_passed_estimate() -> None:
    from tracekit.replay.engines.whole_gpu import expected_end

    assert expected_end(0.0, 10.0, 5.0) == 10.0  # still ahead: the estimate itself
    assert expected_end(0.0, 10.0, 10.0) == 20.0  # passed (ends are not "ahead" at t)
    assert expected_end(3.0, 10.0, 40.0) == 43.0  # 10 -> 20 -> 40
    assert expected_end(0.0, 0.0, 7.0) == 7.0  # nothing to extend: ends now
    assert expected_end(0.0, float("nan"), 7.0) == 7.0


def test_sjf_and_qssf_orders(core: str) -> None:
    jobs = frame(
        [("x", "v", 0, 100, 1, 100), ("l", "v", 1, 50, 1, 10), ("s", "v", 1, 20, 1, 40),
         ("g", "v", 1, 10, 1, 30)]
    )  # fmt: skip
    one = {"v": (1, 1)}
    sjf = simulate(jobs, one, "sjf", core=core).jobs["start_time"].to_list()
    assert sjf == [0.0, 130.0, 110.0, 100.0]
    pred = simulate(jobs, one, "sjf-pred", core=core).jobs["start_time"].to_list()
    assert pred == [0.0, 100.0, 160.0, 150.0]
    assert simulate(jobs, one, "qssf", core=core).jobs["start_time"].to_list() == pred


def test_qssf_compat_lazy_priority(core: str) -> None:
    # Two jobs arrive together on an idle 8-GPU node. Helios places fresh arrivals in GPU-count
    # order: the 1-GPU job first (even though its priority is worse), then the 8-GPU one waits.
    jobs = frame([("big", "v", 0, 10, 8, 1), ("small", "v", 0, 10, 1, 100)])
    clean = simulate(jobs, {"v": (1, 8)}, "qssf", core=core).jobs["start_time"].to_list()
    assert clean == [0.0, 10.0]
    compat = simulate(jobs, {"v": (1, 8)}, "qssf", compat="helios", core=core).jobs
    assert compat["start_time"].to_list() == [10.0, 0.0]


def test_srtf_preempts_with_overhead(core: str) -> None:
    jobs = frame([("long", "v", 0, 100, 1), ("short", "v", 10, 5, 1)])
    res = simulate(jobs, {"v": (1, 1)}, "srtf", ckpt_overhead="helios", core=core).jobs
    assert res["preemptions"].to_list() == [1, 0]
    assert res["end_time"].to_list() == [107.0 + 5.0, 15.0]
    assert res["overhead_s"].to_list() == [7.0, 0.0]
    # compat conventions charge 7 s for 1 GPU (helios) and 40 s (lucid)
    assert overhead_function("helios")(16) == 60.0
    assert overhead_function("lucid")(1) == 40.0


def test_tiresias_demotion_event_and_interval(core: str) -> None:
    jobs = frame([("a", "v", 0, 100, 1), ("b", "v", 60, 10, 1)])
    pol = Tiresias(num_queues=2, thresholds=[50.0], service="time", interval=None)
    res = simulate(jobs, {"v": (1, 1)}, pol, core=core).jobs
    # a is demoted at t=50; b (queue 0) preempts it on arrival at t=60
    assert res["start_time"].to_list() == [0.0, 60.0]
    assert res["end_time"].to_list() == [110.0, 70.0]
    # b arrives before a reaches the threshold: FIFO within queue 0, no preemption
    jobs2 = frame([("a", "v", 0, 100, 1), ("b", "v", 30, 10, 1)])
    res2 = simulate(jobs2, {"v": (1, 1)}, pol, core=core).jobs
    assert res2["start_time"].to_list() == [0.0, 50.0]
    assert res2["preemptions"].to_list() == [1, 0]
    # 60-s cadence: b waits for the next pass at t=60 although it arrives at 30
    tick = Tiresias(num_queues=2, thresholds=[50.0], service="time", interval=60.0)
    res3 = simulate(jobs2, {"v": (1, 1)}, tick, core=core).jobs
    assert res3["start_time"].to_list() == [0.0, 60.0]


def test_tiresias_presets() -> None:
    assert Tiresias(preset="lucid").thresholds == (18000.0,)
    assert Tiresias(preset="tiresias").thresholds == (3250.0, 7200.0)
    assert Tiresias(preset="pollux").interval == 60.0
    with pytest.raises(ValueError, match="thresholds"):
        Tiresias(num_queues=3, thresholds=[10.0])


def test_zero_and_fractional_durations(core: str) -> None:
    jobs = frame(
        [("z", "v", 0, 0, 1), ("f", "v", 0, 0.3, 1), ("g", "v", 0.1, 1e-9, 1),
         ("h", "v", 0.2, 2.5, 1)]
    )  # fmt: skip
    for policy in ("fifo", "sjf", "srtf", "tiresias"):
        res = simulate(jobs, {"v": (1, 1)}, policy, allow_zero_duration=True, core=core).jobs
        assert res["end_time"].is_not_null().all()
        assert res["end_time"].max() == pytest.approx(0.2 + 2.5 + 0.3, abs=0.31)
    with pytest.raises(TraceFormatError, match="duration_s is not positive"):
        simulate(jobs, {"v": (1, 1)}, "fifo")


def test_pool_and_summary_and_utilization(core: str) -> None:
    jobs = frame([("a", "x", 0, 60, 8), ("b", "y", 0, 60, 8), ("c", "y", 0, 60, 8)])
    sep = simulate(jobs, {"x": (1, 8), "y": (1, 8)}, "fifo", core=core)
    assert sep.jobs["start_time"].to_list() == [0.0, 0.0, 60.0]
    pooled = simulate(jobs, {"x": (1, 8), "y": (1, 8)}, "fifo", pool=True, core=core)
    assert pooled.jobs["start_time"].to_list() == [0.0, 0.0, 60.0]
    assert pooled.jobs["vc"].unique().to_list() == ["pool"]
    summ = sep.summary()
    assert summ["vc"].to_list() == ["x", "y", "all"]
    row = summ.filter(pl.col("vc") == "all").row(0, named=True)
    assert row["jobs"] == 3 and row["makespan_s"] == 120.0
    assert row["jct_mean_s"] == pytest.approx(80.0)
    util = sep.utilization(60.0)
    y = util.filter(pl.col("vc") == "y")["utilization"].to_list()
    assert y[:2] == [1.0, 1.0]
    assert sep.size_split()["size"].unique().to_list() == ["small"]


# ---- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("row", "message", "rule"),
    [
        (("b", "v", 0, 10, 16), "more GPUs than its VC", "replay.job_larger_than_vc"),
        (("b", "v", 0, -1, 1), "not positive", "replay.nonpositive_duration"),
        (("b", "v", 0, 10, 0), "num_gpus", "replay.nonpositive_gpus"),
        (("b", "w", 0, 10, 1), "vc not in cluster", "replay.unknown_vc"),
        (("a", "v", 0, 10, 1), "duplicate job_id", "replay.duplicate_job_id"),
        (("b", "v", float("nan"), 10, 1), "submit_time", "replay.bad_submit_time"),
    ],
)
def test_validation_rejects_or_repairs(row: tuple, message: str, rule: str) -> None:
    jobs = frame([("a", "v", 0, 10, 1), row])
    with pytest.raises(TraceFormatError, match=message) as err:
        simulate(jobs, {"v": (1, 8)}, "fifo")
    assert err.value.line == 2
    res = simulate(jobs, {"v": (1, 8)}, "fifo", repair=True)
    assert res.quality.counts[rule] == 1
    assert res.jobs.height == 1


def test_validation_predictions_and_fractional_gpus() -> None:
    jobs = frame([("a", "v", 0, 10, 1, 5), ("b", "v", 0, 10, 1.5, None), ("c", "v", 0, 1, 1, 7)])
    with pytest.raises(TraceFormatError, match="fractional"):
        simulate(jobs, {"v": (1, 8)}, "qssf")
    res = simulate(jobs, {"v": (1, 8)}, "qssf", repair=True)
    assert res.jobs["num_gpus"].to_list() == [1, 2, 1]
    assert res.jobs["pred_duration_s"].to_list() == [5.0, 6.0, 7.0]
    assert res.quality.counts["replay.bad_prediction_filled_with_median"] == 1
    with pytest.raises(TraceFormatError, match="needs predictions"):
        simulate(jobs.drop("pred_duration_s"), {"v": (1, 8)}, "qssf", repair=True)


def test_feasibility_report() -> None:
    jobs = frame([("a", "v", 0, 86400, 8), ("b", "v", 90000, 43200, 8)])
    rep = feasibility(jobs, Cluster.from_dict({"v": (1, 8)}))
    by = {r["period"]: r["offered_load"] for r in rep.iter_rows(named=True)}
    assert by[0] == pytest.approx(1.0)
    assert by[1] == pytest.approx(0.5)


# ---- CSV and store inputs -----------------------------------------------------------------------
def test_replay_csv(tmp_path) -> None:  # noqa: ANN001 - pytest fixture
    jobs = tmp_path / "JOBS.csv"
    jobs.write_text(
        "job_id,vc,submit_time,duration,num_gpus,pred_duration\n"
        "1,a,0,100,8,90\n2,a,10,50,4,40\n3,b,5,30,1,20\n4,a,20,10,4,5\n"
    )
    vcs = tmp_path / "VCS.csv"
    vcs.write_text("vc,nodes\na,1\nb,2\n")
    out = tmp_path / "out" / "OUT.csv"
    summary = replay_csv(jobs, vcs, "qssf", False, "consolidate", None, out)
    assert summary.filter(pl.col("vc") == "all")["jobs"][0] == 4
    got = pl.read_csv(out)
    assert got.columns == [
        "job_id", "vc", "submit_time", "start_time", "end_time", "queue_s", "jct_s", "preemptions",
    ]  # fmt: skip
    assert got["start_time"].to_list() == [0.0, 100.0, 5.0, 100.0]
    bad = tmp_path / "BAD.csv"
    bad.write_text("job_id,vc,submit_time,duration,num_gpus\n1,a,0,100,8\n2,a,x,5,1\n")
    with pytest.raises(TraceFormatError) as err:
        replay_csv(bad, vcs, "fifo", None, "consolidate", None, None)
    assert err.value.line == 3 and "BAD.csv" in str(err.value)
    badvcs = tmp_path / "V2.csv"
    badvcs.write_text("vc,nodes\na,1\na,2\n")
    with pytest.raises(TraceFormatError, match="duplicate vc"):
        replay_csv(jobs, badvcs, "fifo", None, "consolidate", None, None)


def test_cluster_from_capacity_snapshot() -> None:
    cap = pl.DataFrame(
        {
            "date": [date(2020, 9, 1), date(2020, 9, 1), date(2020, 9, 10), date(2020, 9, 10)],
            "vc": ["a", "b", "a", "b"],
            "num_gpus": [16.0, 12.0, 24.0, 4.0],
        }
    )
    last = cluster_from_capacity(cap)
    assert last["a"].nodes == 3 and last["b"].nodes == 0
    first = cluster_from_capacity(cap, snapshot="2020-09-01")
    assert first["b"].nodes == 1
    mid = cluster_from_capacity(cap, window=(date(2020, 9, 1), date(2020, 9, 5)))
    assert mid.source == "capacity@2020-09-01"


def test_tiresias_demotion_at_large_times_terminates(core: str) -> None:
    # Regression: at t ~ 1e7 s float rounding once put a demotion event at the current time
    # again and again (an endless loop).

    rng = np.random.default_rng(3)
    n = 60
    jobs = pl.DataFrame(
        {
            "job_id": [str(i) for i in range(n)],
            "vc": ["v"] * n,
            "submit_time": np.sort(1.5e7 + rng.uniform(0, 5000, n)),
            "duration_s": rng.uniform(1, 4000, n),
            "num_gpus": rng.choice([1, 3, 8, 24], n).astype(np.int64),
        }
    )
    for preset in ("tiresias", "lucid", "pollux"):
        res = simulate(jobs, {"v": (4, 8)}, "tiresias", policy_options={"preset": preset},
                       core=core)  # fmt: skip
        assert res.jobs["end_time"].is_not_null().all()


# ---- golden digests of the preemptive policies -------------------------------------------------
# Recorded with the engine before its incremental speed-ups (running keys recomputed and sorted
# at every pass); the engine must reproduce every start, end, preemption count, overhead and run
# segment bit for bit.
GOLDEN_CONFIGS: dict[str, tuple[str, dict]] = {
    "srtf-int": ("srtf", {}),
    "srtf-float": ("srtf", {}),
    "srtf-hol-int": ("srtf", {"backfill": "none"}),
    "srtf-helios-float": ("srtf", {"ckpt_overhead": "helios"}),
    "srtf-first-fit-float": ("srtf", {"placement": "first_fit", "ckpt_overhead": 5.5}),
    "srtf-pred-float": ("srtf-pred", {}),
    "tiresias-int": ("tiresias", {}),
    "tiresias-float": ("tiresias", {}),
    "tiresias-hol-float": ("tiresias", {"backfill": "none"}),
    "tiresias-time-float": ("tiresias", {"policy_options": {"service": "time"}}),
    "tiresias-lucid-int": ("tiresias", {"policy_options": {"preset": "lucid"}}),
    "tiresias-compat-int": ("tiresias", {"compat": "helios"}),
}
GOLDEN_TRACE_OF = {name: "int" if name.endswith("-int") else "float" for name in GOLDEN_CONFIGS}

# Portable digests (times rounded to 1 µs, inputs quantized to 1 ms; see conftest.py), recorded
# when the inputs were quantized; the integer traces' exact digests below predate that change and
# prove the engine's output did not move.
GOLDEN = {
    "srtf-int": "7fb62fa62eb3894d",
    "srtf-float": "f6bce76cc4f9948c",
    "srtf-hol-int": "8aa7aac2fa730edf",
    "srtf-helios-float": "e2c3be95520afeee",
    "srtf-first-fit-float": "309d5a3848870b1d",
    "srtf-pred-float": "018d85132bd25295",
    "tiresias-int": "6a18956ebf8934af",
    "tiresias-float": "35f39c105f706ed9",
    "tiresias-hol-float": "569b605b6b40ca31",
    "tiresias-time-float": "5ba16d2c8b1ff00f",
    "tiresias-lucid-int": "ea7e1528cb6cd123",
    # Changed when compat mode began to follow the Lucid simulator rule by rule (the +1 s end,
    # demotion above the threshold, the 60-s clock from the first submit, list tie order).
    "tiresias-compat-int": "20ba0c3150bc0a34",
}
# Full-precision digests of the integer traces: whole seconds are exact on every CPU.
GOLDEN_EXACT = {
    "srtf-int": "098f7f304f1287df",
    "srtf-hol-int": "bb2e9e1a3a498079",
    "tiresias-int": "c980e19d72b1f1ad",
    "tiresias-lucid-int": "8228bed4693b08f4",
    "tiresias-compat-int": "40bff69c9a111c0b",  # (see GOLDEN)
}


def exact_digest(res: ReplayResult) -> str:
    """SHA-256 (16 hex digits) of per-job times at full precision and of all run segments.

    Only for integer traces, where every time is a whole number and so exact on every CPU."""
    h = hashlib.sha256()
    cols = ["job_id", "start_time", "end_time", "preemptions", "overhead_s"]
    h.update(res.jobs.select(cols).write_csv(float_precision=None).encode())
    h.update(res.segments.write_csv().encode())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("name", list(GOLDEN_CONFIGS))
def test_preemptive_digest_unchanged(name: str, core: str, golden_trace, portable_digest) -> None:
    policy, options = GOLDEN_CONFIGS[name]
    jobs, cluster = golden_trace(GOLDEN_TRACE_OF[name])
    res = simulate(jobs, cluster, policy, **options, core=core)
    assert res.config["core"] == core
    assert res.jobs["preemptions"].sum() > 0 or options.get("backfill") == "none"
    assert portable_digest(res) == GOLDEN[name]
    if name in GOLDEN_EXACT:
        assert exact_digest(res) == GOLDEN_EXACT[name]
