"""Philly definitions: per-attempt queueing (official notebook vs ours) on hand-made P1-P9
jobs, per-GPU-minute utilization by status x size and placement, host CPU/memory."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from tracekit.analysis import queueing, utilization

TZ = "America/Los_Angeles"

# Hand-made jobs in the store schema: (jobid suffix, vc, status, submit, first-attempt GPUs,
# attempts as (start, end, machines)). Missing times ("None", null, "") are None.
P = [
    ("_14199", "ee9e8c", "completed", "2017-10-07 01:11:39", 8,
     [("2017-10-07 01:12:09", "2017-10-07 01:13:23", ["m47"]),
      ("2017-10-07 01:13:30", "2017-10-09 06:53:12", ["m412"])]),
    ("_90002", "2869ce", "canceled", "2017-10-08 10:00:00", None, []),
    ("_90003", "ee9e8c", "censored", "2017-12-20 07:58:30", 1,
     [("2017-12-20 08:00:00", None, ["m29"])]),
    ("_90004", "ee9e8c", "censored", "2017-12-21 09:00:00", 2,
     [("2017-12-21 09:00:00", None, ["m29"])]),
    ("_90005", "6214e9", "failed", "2017-10-10 10:00:00", 1,
     [(None, "2017-10-10 10:05:00", ["m100"]),
      ("2017-10-10 10:06:00", "2017-10-10 11:06:00", ["m100"])]),
    ("_10238", "2869ce", "completed", "2017-10-05 14:49:31", 8,
     [("2017-10-05 14:50:06", "2017-10-08 21:08:07", ["m193", "m287"]),
      ("2017-10-08 21:10:00", "2017-10-09 01:00:00", ["m56"])]),
    ("_90007", "b436b2", "completed", "2017-11-05 00:29:00", 1,
     [("2017-11-05 00:30:00", "2017-11-05 03:00:00", ["m29"])]),
    ("_12703", "2869ce", "completed", "2017-10-06 14:40:02", 8,
     [("2017-10-06 14:40:02", "2017-10-09 05:19:16", ["m51"])]),
    ("_90009", "ee9e8c", "canceled", "2017-10-11 00:00:00", 1, [(None, None, ["m47"])]),
]


def _ts(values: list[str | None]) -> pl.Series:
    s = pl.Series([None if v is None else datetime.fromisoformat(v) for v in values],
                  dtype=pl.Datetime("us"))
    return s.dt.replace_time_zone(TZ, ambiguous="earliest").dt.convert_time_zone("UTC")


def philly_frames(p: list = P) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(jobs, attempts) frames of the fixture jobs in the store schema (subset of columns)."""
    jobs = pl.DataFrame({
        "trace": ["philly"] * len(p),
        "cluster": ["philly"] * len(p),
        "job_id": [f"application_1506638472019{x[0]}" for x in p],
        "vc": [x[1] for x in p],
        "status": [x[2] for x in p],
        "submit_time": _ts([x[3] for x in p]),
        "num_gpus": pl.Series([x[4] for x in p], dtype=pl.Float64),
    })
    rows = [
        (f"application_1506638472019{x[0]}", k, a[0], a[1], a[2])
        for x in p for k, a in enumerate(x[5])
    ]
    attempts = pl.DataFrame({
        "trace": ["philly"] * len(rows),
        "cluster": ["philly"] * len(rows),
        "job_id": [r[0] for r in rows],
        "attempt": pl.Series([r[1] for r in rows], dtype=pl.Int32),
        "start_time": _ts([r[2] for r in rows]),
        "end_time": _ts([r[3] for r in rows]),
        "machines": [r[4] for r in rows],
    })
    return jobs, attempts


def _minutes(df: pl.DataFrame, vc: str, bucket: str) -> list[float]:
    sub = df.filter((pl.col("vc") == vc) & (pl.col("size_bucket") == bucket))
    return sorted(round(v / 60, 5) for v in sub["delay_s"].to_list())


def test_official_per_attempt_delays_match_hand_worked_p1_p9() -> None:
    jobs, attempts = philly_frames()
    d = queueing.philly_attempt_delays(attempts, jobs, official=True)
    # Worked by hand with the notebook's algorithm: ee9e8c 5-8 -> [0.11667, 0.5], 1 -> [1.5],
    # 2-4 -> []; 2869ce 5-8 -> [0.58333, 1.88333]; 6214e9 1 -> [6.0]; b436b2 1 -> [1.0].
    assert _minutes(d, "ee9e8c", "5-8") == [0.11667, 0.5]
    assert _minutes(d, "ee9e8c", "1") == [1.5]
    assert _minutes(d, "ee9e8c", "2-4") == []
    assert _minutes(d, "2869ce", "5-8") == [0.58333, 1.88333]
    assert _minutes(d, "6214e9", "1") == [6.0]
    assert _minutes(d, "b436b2", "1") == [1.0]
    assert d.height == 7


def test_clean_per_attempt_delays_keep_zeros() -> None:
    jobs, attempts = philly_frames()
    d = queueing.philly_attempt_delays(attempts, jobs, official=False)
    # P4 and P8 start at submission: their zero delays are kept; P9 never started.
    assert _minutes(d, "ee9e8c", "2-4") == [0.0]
    assert _minutes(d, "2869ce", "5-8") == [0.0, 0.58333, 1.88333]
    assert _minutes(d, "6214e9", "1") == [6.0]
    assert "application_1506638472019_90009" not in d["job_id"].to_list()


def test_official_stale_and_frozen_values() -> None:
    p = [
        # attempt 1 has no start: the notebook appends the stale 1-min value again, and
        # attempt 2 waits from attempt 0's end (queue_time was not advanced).
        ("_s1", "vcA", "failed", "2017-10-01 00:00:00", 1,
         [("2017-10-01 00:01:00", "2017-10-01 00:10:00", ["m1"]),
          (None, "2017-10-01 00:20:00", ["m1"]),
          ("2017-10-01 00:13:00", "2017-10-01 00:30:00", ["m1"])]),
        # attempt 0 has no end: queue_time becomes None and attempt 1 is never recomputed.
        ("_s2", "vcA", "failed", "2017-10-01 00:00:00", 1,
         [("2017-10-01 00:02:00", None, ["m1"]),
          ("2017-10-01 00:50:00", "2017-10-01 01:00:00", ["m1"])]),
    ]
    jobs, attempts = philly_frames(p)
    off = queueing.philly_attempt_delays(attempts, jobs, official=True)
    assert [v / 60 for v in off.filter(pl.col("job_id").str.ends_with("_s1"))["delay_s"]] == [
        1.0, 1.0, 3.0]
    assert [v / 60 for v in off.filter(pl.col("job_id").str.ends_with("_s2"))["delay_s"]] == [
        2.0, 2.0]
    ours = queueing.philly_attempt_delays(attempts, jobs, official=False)
    assert [v / 60 for v in ours.filter(pl.col("job_id").str.ends_with("_s1"))["delay_s"]] == [
        1.0, 3.0]
    assert [v / 60 for v in ours.filter(pl.col("job_id").str.ends_with("_s2"))["delay_s"]] == [
        2.0]


def test_vc_queue_table_and_cdf() -> None:
    jobs, attempts = philly_frames()
    t = queueing.philly_vc_queue_table(attempts, jobs)
    row = t.filter((pl.col("vc") == "2869ce") & (pl.col("size_bucket") == "5-8")).row(
        0, named=True)
    assert row["n"] == 2
    assert row["median_min"] == pytest.approx((35 + 113) / 2 / 60)
    cdf = queueing.philly_attempt_delay_cdf(attempts, jobs, grid=[60.0, 600.0])
    one = cdf.filter(pl.col("size_bucket") == "1")  # delays 90, 360, 60 s
    assert one["cdf"].to_list() == pytest.approx([1 / 3, 1.0])


def _gpu_minutes() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    jobs = pl.DataFrame({
        "trace": "philly", "cluster": "philly",
        "job_id": ["j1", "j2", "j3", "j4"],
        "status": ["completed", "canceled", "completed", "completed"],
        "num_gpus": [1.0, 1.0, 8.0, 2.0],
    })
    util = {
        "j1": [0.0, 50.0, 100.0, 40.0],
        "j2": [0.0, 0.0, 9.0],
        "j3": [80.0] * 8 + [20.0] * 8,  # attempt 0 on one server, attempt 1 on two
        "j4": [70.0, 70.0],  # size 2 is not in the notebook's 1/4/8/16
    }
    rows = []
    for job, values in util.items():
        for i, u in enumerate(values):
            attempt = 1 if job == "j3" and i >= 8 else 0
            rows.append((job, attempt, u, job == "j3" and attempt == 1))
    gm = pl.DataFrame(
        {
            "trace": "philly", "cluster": "philly",
            "job_id": [r[0] for r in rows],
            "attempt": pl.Series([r[1] for r in rows], dtype=pl.Int32),
            "util": pl.Series([r[2] for r in rows], dtype=pl.Float32),
            "shared_server": [r[3] for r in rows],
        }
    )
    attempts = pl.DataFrame({
        "trace": "philly", "cluster": "philly",
        "job_id": ["j1", "j2", "j3", "j3", "j4"],
        "attempt": pl.Series([0, 0, 0, 1, 0], dtype=pl.Int32),
        "machines": [["m1"], ["m2"], ["m3"], ["m4", "m5"], ["m6"]],
    })
    return gm, jobs, attempts


def test_philly_gpu_util_by_status_and_size() -> None:
    gm, jobs, _ = _gpu_minutes()
    out = utilization.philly_gpu_util(gm, jobs)
    assert out.height == 3  # j4 (2 GPUs) excluded
    j1 = out.filter((pl.col("status") == "completed") & (pl.col("num_gpus") == 1.0)).row(
        0, named=True)
    assert j1["n_samples"] == 4 and j1["zero_share"] == pytest.approx(0.25)
    assert j1["median_pct"] == pytest.approx(45.0) and j1["mean_pct"] == pytest.approx(47.5)
    j2 = out.filter(pl.col("status") == "canceled").row(0, named=True)
    assert j2["zero_share"] == pytest.approx(2 / 3) and j2["median_pct"] == 0.0
    cdf = utilization.philly_gpu_util_cdf(gm, jobs)
    j3 = cdf.filter((pl.col("num_gpus") == 8.0) & (pl.col("util_pct") == 50.0))
    assert j3["cdf"][0] == pytest.approx(0.5)


def test_philly_placement_official_rule_and_flag() -> None:
    gm, jobs, attempts = _gpu_minutes()
    official = utilization.philly_placement_util(gm, jobs, attempts)
    ded = official.filter(pl.col("placement") == "dedicated").row(0, named=True)
    assert ded["num_gpus"] == 8.0 and ded["median_pct"] == pytest.approx(80.0)
    shared = official.filter(pl.col("placement") == "shared").row(0, named=True)
    assert shared["mean_pct"] == pytest.approx(20.0) and shared["n_samples"] == 8
    flag = utilization.philly_placement_util(gm, jobs)
    assert flag.equals(official)


def test_host_util_summary_matches_official_loader() -> None:
    # Worked by hand with the notebook's code: official cpu list [31.845, 2.5]; mem [99.6156];
    # NA and mem_total 0 rows skipped.
    host = pl.DataFrame({
        "time": [datetime(2017, 10, 3)] * 3,
        "machine_id": ["m29", "m29", "m30"],
        "cpu_util": pl.Series([31.845, None, 2.5], dtype=pl.Float32),
        "mem_total": pl.Series([528272672.0, None, 0.0], dtype=pl.Float32),
        "mem_free": pl.Series([2030730.6667, None, 0.0], dtype=pl.Float32),
    })
    s = utilization.host_util_summary(host)
    cpu = s.filter(pl.col("metric") == "cpu_util").row(0, named=True)
    mem = s.filter(pl.col("metric") == "mem_util").row(0, named=True)
    assert cpu["n_samples"] == 2 and cpu["mean_pct"] == pytest.approx((31.845 + 2.5) / 2, 1e-5)
    assert mem["n_samples"] == 1 and mem["median_pct"] == pytest.approx(99.61559, abs=1e-3)
    assert mem["near_full_share"] == 1.0
    cdf = utilization.host_util_cdf(host)
    assert cdf.filter((pl.col("metric") == "cpu_util") & (pl.col("util_pct") == 10.0))[
        "cdf"][0] == pytest.approx(0.5)
