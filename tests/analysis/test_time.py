"""Arrivals (local hour/weekday/month, burstiness), Helios allocation utilization (official
per-minute definition via the event sweep) and PAI request/usage on hand-computed fixtures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from tracekit.analysis import arrivals, queueing, utilization

SH = timedelta(hours=8)  # Asia/Shanghai, no DST


def local(*args: int) -> datetime:
    """A Shanghai wall-clock time as a UTC datetime."""
    return datetime(*args, tzinfo=UTC) - SH


def jobs_frame(submits: list[datetime], gpus: list[float] | None = None) -> pl.DataFrame:
    n = len(submits)
    return pl.DataFrame({
        "trace": ["helios"] * n,
        "cluster": ["Venus"] * n,
        "submit_time": pl.Series(submits, dtype=pl.Datetime("us", "UTC")),
        "num_gpus": pl.Series(gpus or [1.0] * n, dtype=pl.Float64),
    })


# Mon 2020-06-01 10:00 x2 and 11:00, Wed 2020-06-03 10:00 (local) -> a 3-day window.
ARR = jobs_frame(
    [local(2020, 6, 1, 10, 0), local(2020, 6, 1, 10, 5), local(2020, 6, 1, 11, 0),
     local(2020, 6, 3, 10, 0)],
    [1.0, 2.0, 8.0, 1.0],
)


def test_by_hour_averages_over_window_days() -> None:
    h = arrivals.by_hour(ARR)
    assert h.height == 24
    rate = dict(zip(h["local_hour"].to_list(), h["jobs_per_hour"].to_list(), strict=True))
    assert rate[10] == pytest.approx(1.0) and rate[11] == pytest.approx(1 / 3)
    assert rate[0] == 0.0
    assert h["relative"].mean() == pytest.approx(1.0)
    assert dict(zip(h["local_hour"], h["relative"], strict=True))[10] == pytest.approx(18.0)


def test_by_weekday_and_heatmap() -> None:
    w = arrivals.by_weekday(ARR)
    assert w["weekday"].to_list() == ["Mon", "Tue", "Wed"]
    assert w["jobs_per_day"].to_list() == pytest.approx([3.0, 0.0, 1.0])
    assert w["n_days"].to_list() == [1, 1, 1]
    hw = arrivals.hour_weekday(ARR)
    assert hw.height == 3 * 24
    mon10 = hw.filter((pl.col("local_weekday") == 1) & (pl.col("local_hour") == 10))
    assert mon10["jobs_per_hour"][0] == pytest.approx(2.0)


def test_by_month_multi_gpu_share() -> None:
    m = arrivals.by_month(ARR)
    assert m["month"].to_list() == [date(2020, 6, 1)]
    assert m["n_jobs"][0] == 4 and m["multi_gpu_share"][0] == pytest.approx(0.5)


def test_burstiness_index_of_dispersion_counts_empty_bins() -> None:
    b = arrivals.burstiness(ARR, bin_minutes=10).row(0, named=True)
    # Bins from Mon 10:00 to Wed 10:00 local: 2 days * 144 + 1 = 289; counts 2, 1, 1.
    counts = np.zeros(289)
    counts[[0, 6, 288]] = [2, 1, 1]
    assert b["n_bins"] == 289
    assert b["mean_per_bin"] == pytest.approx(counts.mean())
    assert b["var_per_bin"] == pytest.approx(counts.var(ddof=1))
    assert b["index_of_dispersion"] == pytest.approx(counts.var(ddof=1) / counts.mean())
    assert b["zero_bin_share"] == pytest.approx(286 / 289)
    daily = np.array([3.0, 0.0, 1.0])
    assert b["jobs_per_day"] == pytest.approx(daily.mean())
    assert b["daily_cv"] == pytest.approx(daily.std(ddof=1) / daily.mean())
    q = arrivals.daily_quantiles(ARR, qs=(0.5,))
    assert q["value"][0] == pytest.approx(1.0)


def _alloc_fixture() -> tuple[pl.DataFrame, pl.DataFrame]:
    jobs = pl.DataFrame({
        "trace": "helios", "cluster": "Venus",
        "vc": ["a", "b", "a"],
        "num_gpus": [4.0, 8.0, 0.0],
        "start_time": pl.Series([local(2020, 6, 1, 0, 0, 30), local(2020, 6, 1, 0, 30),
                                 local(2020, 6, 1, 5)], dtype=pl.Datetime("us", "UTC")),
        "end_time": pl.Series([local(2020, 6, 1, 0, 59, 10), local(2020, 6, 1, 1, 29, 59),
                               local(2020, 6, 1, 6)], dtype=pl.Datetime("us", "UTC")),
    })
    cap = pl.DataFrame({
        "trace": "helios", "cluster": "Venus", "date": [date(2020, 6, 1)] * 2,
        "vc": ["a", "b"], "num_gpus": [4.0, 6.0],
    })
    return jobs, cap


def test_allocation_official_minute_definition() -> None:
    jobs, cap = _alloc_fixture()
    s = utilization.allocation_series(jobs, cap, freq="1m")
    assert s.height == 1440 and s["minutes"].sum() == 1440
    # Minutes 00:00-00:29 run 4 GPUs, 00:30-00:59 run 12 (clipped at 10), 01:00-01:29 run 8.
    expected = np.zeros(1440)
    expected[0:30], expected[30:60], expected[60:90] = 0.4, 1.0, 0.8
    assert s["util"].to_numpy() == pytest.approx(expected)
    assert s["local_hour"][0] == 0 and s["local_date"][0] == date(2020, 6, 1)
    hourly = utilization.allocation_series(jobs, cap, freq="1h")
    assert hourly["util"].to_list()[:3] == pytest.approx([0.7, 0.4, 0.0])
    unclipped = utilization.allocation_series(jobs, cap, freq="1h", clip=False)
    assert unclipped["running_gpus"][0] == pytest.approx(8.0)
    prof = utilization.allocation_profile(hourly, "hour")
    assert prof.filter(pl.col("local_hour") == 1)["util"][0] == pytest.approx(0.4)
    total = utilization.allocation_profile(hourly, "all")["util"][0]
    assert total == pytest.approx((30 * 0.4 + 30 * 1.0 + 30 * 0.8) / 1440)
    month = utilization.allocation_profile(hourly, "month")
    assert month["month"].to_list() == [date(2020, 6, 1)]


def test_allocation_by_vc_and_size_class() -> None:
    jobs, cap = _alloc_fixture()
    vc = utilization.allocation_series(jobs, cap, by="vc", freq="1h")
    a0 = vc.filter((pl.col("vc") == "a") & (pl.col("local_hour") == 0)).row(0, named=True)
    assert a0["capacity_gpus"] == 4.0 and a0["util"] == pytest.approx(1.0)
    b0 = vc.filter((pl.col("vc") == "b") & (pl.col("local_hour") == 0)).row(0, named=True)
    assert b0["util"] == pytest.approx(0.5)  # 8 GPUs clipped at 6 for 30 of 60 minutes
    sc = utilization.allocation_series(jobs, cap, by="size_class", freq="1d")
    assert sorted(sc["size_class"].to_list()) == ["multi"]  # both GPU jobs have > 1 GPU
    with pytest.raises(ValueError):
        utilization.allocation_series(jobs, cap, freq="2d")


def test_allocation_window_and_censored_jobs() -> None:
    jobs, cap = _alloc_fixture()
    # A censored job (no end) started before the window runs to the window's end.
    extra = pl.DataFrame({
        "trace": ["helios"], "cluster": ["Venus"], "vc": ["a"], "num_gpus": [1.0],
        "start_time": pl.Series([local(2020, 5, 31, 12)], dtype=pl.Datetime("us", "UTC")),
        "end_time": pl.Series([None], dtype=pl.Datetime("us", "UTC")),
    })
    s = utilization.allocation_series(pl.concat([jobs, extra]), cap, freq="1h")
    assert s.height == 24
    assert s["running_gpus"][23] == pytest.approx(1.0)
    empty = utilization.allocation_series(jobs, cap.head(0), freq="1h")
    assert empty.height == 0 and "util" in empty.columns


def _pai() -> tuple[pl.DataFrame, pl.DataFrame]:
    tasks = pl.DataFrame({
        "trace": "pai", "cluster": "pai",
        "job_name": ["j1", "j2", "j3", "j4", "j5"],
        "task_name": ["w"] * 5,
        "plan_gpu": [0.5, 1.0, None, 0.1, 2.0],
        "gpu_type": ["T4", "V100", None, "T4", "MISC"],
        "queue_s": [1.0, 100.0, 0.0, 3.0, 10.0],
    })
    sensors = pl.DataFrame({
        "trace": "pai", "cluster": "pai",
        "job_name": ["j1", "j1", "j2"],
        "task_name": ["w"] * 3,
        "gpu_wrk_util": [10.0, 5.0, 150.0],
    })
    return tasks, sensors


def test_pai_request_vs_usage() -> None:
    tasks, sensors = _pai()
    per = utilization.pai_task_request_usage(tasks, sensors)
    assert per["request_pct"].to_list() == pytest.approx([100.0, 100.0])
    assert per["usage_pct"].to_list() == pytest.approx([15.0, 150.0])
    s = utilization.pai_request_usage_summary(tasks, sensors).row(0, named=True)
    assert s["plan_gt_usage_share"] == pytest.approx(0.5)
    assert s["median_usage_pct"] == pytest.approx(82.5)
    cdf = utilization.pai_request_usage_cdf(tasks, sensors)
    assert set(cdf["measure"].unique()) == {"request", "usage"}


def test_pai_request_and_type_shares_and_waits() -> None:
    tasks, _ = _pai()
    r = utilization.pai_request_shares(tasks)  # the CPU role (no plan_gpu) is left out
    share = dict(zip(r["request"].to_list(), r["task_share"].to_list(), strict=True))
    assert share == pytest.approx({"<0.25": 0.25, "[0.5,1)": 0.25, "1": 0.25, ">1": 0.25})
    r0 = utilization.pai_request_shares(tasks, include_null=True)
    assert r0.filter(pl.col("request") == "<0.25")["task_share"][0] == pytest.approx(0.4)
    t = utilization.pai_gpu_type_shares(tasks)
    assert t["gpu_type"][0] == "T4" and t["task_share"][0] == pytest.approx(0.5)
    assert utilization.pai_gpu_type_shares(tasks, include_unassigned=True)["n_tasks"].sum() == 5
    w = queueing.pai_wait_by(tasks)
    t4 = w.filter(pl.col("gpu_type") == "T4").row(0, named=True)
    assert t4["n_tasks"] == 2 and t4["p50_s"] == pytest.approx(2.0)
    by_req = queueing.pai_wait_by(tasks, by="request")
    assert by_req.filter(pl.col("request") == ">1")["p90_s"][0] == pytest.approx(10.0)
