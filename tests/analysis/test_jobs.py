"""Jobs, users, failures and queueing-summary definitions on tiny hand-computed frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from tracekit.analysis import failures, jobs, queueing, summary, users
from tracekit.analysis._common import grid_cdf, quantiles, size_bucket

T0 = datetime(2020, 6, 1, tzinfo=UTC)


def make_jobs(rows: list[dict]) -> pl.DataFrame:
    """Build a jobs frame from a few columns; the rest get store-like defaults."""
    base = {
        "trace": "helios",
        "cluster": "Venus",
        "vc": "vc1",
        "queue_s": 0.0,
        "status": "completed",
        "submit_time": T0,
        "gpu_time_s": None,
    }
    full = [base | {"job_id": str(i)} | r for i, r in enumerate(rows)]
    df = pl.DataFrame(full).with_columns(
        pl.col("num_gpus").cast(pl.Float64),
        pl.col("duration_s").cast(pl.Float64),
        pl.col("queue_s").cast(pl.Float64),
        pl.col("gpu_time_s").cast(pl.Float64),
        pl.col("submit_time").cast(pl.Datetime("us", "UTC")),
    )
    return df


# Six GPU jobs and one CPU job; GPU time = 1*10 + 1*20 + 2*30 + 8*100 + 8*40 + 16*50 = 2010.
SIX = make_jobs(
    [
        {"user": "a", "num_gpus": 1, "duration_s": 10, "status": "completed", "queue_s": 0},
        {"user": "a", "num_gpus": 1, "duration_s": 20, "status": "failed", "queue_s": 0},
        {"user": "b", "num_gpus": 2, "duration_s": 30, "status": "completed", "queue_s": 5},
        {"user": "b", "num_gpus": 8, "duration_s": 100, "status": "canceled", "queue_s": 100},
        {"user": "c", "num_gpus": 8, "duration_s": 40, "status": "completed", "queue_s": 0},
        {"user": "a", "num_gpus": 16, "duration_s": 50, "status": "canceled", "queue_s": 15},
        {"user": "d", "num_gpus": 0, "duration_s": 1, "status": "completed", "queue_s": 7},
    ]
)


def test_size_bucket_schemes() -> None:
    df = pl.DataFrame({"num_gpus": [0.5, 1.0, 2.0, 3.0, 4.0, 8.0, 9.0, 64.0, 65.0]})
    philly = df.select(size_bucket("philly"))["size_bucket"].to_list()
    assert philly == ["1", "1", "2-4", "2-4", "2-4", "5-8", ">8", ">8", ">8"]
    helios = df.select(size_bucket("helios"))["size_bucket"].to_list()
    assert helios == ["1", "1", "2", "3-4", "3-4", "5-8", "9-16", "33-64", ">64"]
    status = df.select(size_bucket("helios_status"))["size_bucket"].to_list()
    assert status == ["1", "1", "2", None, "4", "8", None, ">=64", ">=64"]
    with pytest.raises(KeyError):
        size_bucket("nope")


def test_grid_cdf_counts_values_at_or_below_each_point() -> None:
    df = pl.DataFrame({"g": ["x"] * 4 + ["y"], "v": [1.0, 2.0, 3.0, 100.0, 5.0]})
    out = grid_cdf(df, "v", "g", grid=[1.0, 2.0, 4.0])
    x = out.filter(pl.col("g") == "x")
    assert x["cdf"].to_list() == pytest.approx([0.25, 0.5, 0.75])  # 100 is beyond the grid
    assert x["n"][0] == 4
    y = out.filter(pl.col("g") == "y")
    assert y["cdf"].to_list() == pytest.approx([0.0, 0.0, 0.0])


def test_quantiles_long_format() -> None:
    df = pl.DataFrame({"g": ["x"] * 5, "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    out = quantiles(df, "v", "g", qs=(0.5, 0.25))
    assert out["quantile"].to_list() == [0.25, 0.5]
    assert out["value"].to_list() == pytest.approx([2.0, 3.0])


def test_size_pmf_job_and_gpu_time_shares() -> None:
    out = jobs.size_pmf(SIX, scheme="philly")
    by = {r["size_bucket"]: r for r in out.iter_rows(named=True)}
    assert by["1"]["n_jobs"] == 2 and by["1"]["job_share"] == pytest.approx(2 / 6)
    assert by["1"]["gpu_time_share"] == pytest.approx(30 / 2010)
    assert by["5-8"]["gpu_time_share"] == pytest.approx(1120 / 2010)
    assert by[">8"]["gpu_time_share"] == pytest.approx(800 / 2010)
    assert out["job_cdf"][-1] == pytest.approx(1.0)
    exact = jobs.size_pmf(SIX)  # exact sizes, sorted by size
    assert exact["num_gpus_min"].to_list() == [1.0, 2.0, 8.0, 16.0]


def test_duration_summary_cdf_and_quantiles() -> None:
    s = jobs.duration_summary(SIX)
    assert s["n_jobs"][0] == 6
    assert s["median_s"][0] == pytest.approx(35.0)  # 10 20 30 40 50 100
    assert s["mean_s"][0] == pytest.approx(250 / 6)
    cdf = jobs.duration_cdf(SIX, grid=[16.0, 64.0])
    assert cdf["cdf"].to_list() == pytest.approx([1 / 6, 5 / 6])
    cpu = jobs.duration_cdf(SIX, grid=[1.0], kind="cpu")
    assert cpu["cdf"].to_list() == [1.0] and cpu["n"][0] == 1
    assert jobs.duration_cdf(SIX, grid=[1.0], kind="all")["n"][0] == 7
    with pytest.raises(ValueError):
        jobs.duration_cdf(SIX, kind="tpu")
    by_size = jobs.duration_cdf_by_size(SIX, grid=[32.0])
    assert by_size["size_bucket"].to_list() == ["1", "2-4", "5-8", ">8"]
    assert by_size["cdf"].to_list() == pytest.approx([1.0, 1.0, 0.0, 0.0])
    q = jobs.duration_quantiles(SIX, qs=(0.5,), scheme="philly")
    assert q.filter(pl.col("size_bucket") == "5-8")["value"][0] == pytest.approx(70.0)
    st = jobs.duration_cdf_by_status(SIX, grid=[64.0])
    assert st.filter(pl.col("status") == "canceled")["cdf"][0] == pytest.approx(0.5)


def test_size_duration_coupling() -> None:
    out = jobs.size_duration_correlation(SIX)
    mean_g, mean_d = 36 / 6, 250 / 6
    assert out["coupling"][0] == pytest.approx((2010 / 6) / (mean_g * mean_d))
    assert out["spearman"][0] > 0.5
    fast = jobs.size_duration_correlation(SIX, spearman=False)
    assert fast["spearman"][0] is None and fast["coupling"][0] == out["coupling"][0]
    # Independent size and duration give coupling 1.
    ind = make_jobs([{"user": "a", "num_gpus": g, "duration_s": d}
                     for g in (1, 2) for d in (10, 30)])
    assert jobs.size_duration_correlation(ind)["coupling"][0] == pytest.approx(1.0)


def test_gpu_size_stats() -> None:
    out = jobs.gpu_size_stats(SIX)
    assert out["n_jobs"][0] == 7 and out["n_gpu_jobs"][0] == 6
    assert out["mean_gpus"][0] == pytest.approx(6.0)
    assert out["median_gpus"][0] == pytest.approx(5.0)


def test_user_top_share_interpolates_between_users() -> None:
    # GPU time per user: a 10+20+800 = 830, b 60+800 = 860, c 320.
    t = users.user_totals(SIX)
    assert t["user"].to_list() == ["b", "a", "c"]
    assert t["total"].to_list() == pytest.approx([860, 830, 320])
    top = users.top_share(SIX, pcts=(50.0, 100.0, 20.0))
    # 50 % of 3 users = 1.5 users: 860 + 0.5 * 830 = 1275 of 2010.
    by = dict(zip(top["top_pct"].to_list(), top["share_pct"].to_list(), strict=True))
    assert by[50.0] == pytest.approx(100 * 1275 / 2010)
    assert by[100.0] == pytest.approx(100.0)
    assert by[20.0] == pytest.approx(100 * 0.6 * 860 / 2010)


def test_lorenz_curve_and_gini() -> None:
    lz = users.lorenz_curve(SIX)
    assert lz["user_frac"].to_list() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert lz["share"].to_list() == pytest.approx([0, 860 / 2010, 1690 / 2010, 1.0])
    equal = make_jobs([{"user": u, "num_gpus": 1, "duration_s": 5} for u in "abcd"])
    assert users.gini(equal)["gini"][0] == pytest.approx(0.0)
    # Gini of (320, 830, 860): sum((2i-n-1) x_i) / (n sum x) with ascending x.
    g = ((-2) * 320 + 0 * 830 + 2 * 860) / (3 * 2010)
    assert users.gini(SIX)["gini"][0] == pytest.approx(g)


def test_queue_concentration_uses_queue_s() -> None:
    top = users.top_share(SIX, "queue_s", pcts=(100 / 3,))
    # Queue per user: a 15, b 105, c 0 -> top third = b = 105 / 120.
    assert top["share_pct"][0] == pytest.approx(100 * 105 / 120)


def test_completion_rates_and_histogram() -> None:
    r = users.completion_rates(SIX)
    rate = dict(zip(r["user"].to_list(), r["completion_rate"].to_list(), strict=True))
    assert rate == pytest.approx({"a": 1 / 3, "b": 0.5, "c": 1.0})
    h = users.completion_rate_histogram(SIX, bins=4)
    assert h["n_users"].to_list() == [0, 1, 1, 1]  # 1/3 -> bin 1, 0.5 -> bin 2, 1.0 -> last bin


def test_status_shares_by_count_and_gpu_time() -> None:
    out = failures.status_shares(SIX)
    assert out["status"].to_list() == ["completed", "canceled", "failed", "censored"]
    by = {r["status"]: r for r in out.iter_rows(named=True)}
    assert by["completed"]["job_share"] == pytest.approx(3 / 6)
    assert by["canceled"]["gpu_time_share"] == pytest.approx(1600 / 2010)
    assert by["censored"]["n_jobs"] == 0
    allj = failures.status_shares(SIX, gpu_only=False)
    assert allj.filter(pl.col("status") == "completed")["n_jobs"][0] == 4


def test_status_by_size_and_wasted_time() -> None:
    out = failures.status_by_size(SIX)
    one = out.filter(pl.col("size_bucket") == "1")
    assert one.filter(pl.col("status") == "failed")["job_share"][0] == pytest.approx(0.5)
    eight = out.filter(pl.col("size_bucket") == "8")
    assert eight.filter(pl.col("status") == "canceled")["job_share"][0] == pytest.approx(0.5)
    assert out["size_rank"].to_list() == sorted(out["size_rank"].to_list())
    w = failures.wasted_gpu_time(SIX)
    assert w["not_completed_share"][0] == pytest.approx((20 + 800 + 800) / 2010)
    assert w["not_completed_job_share"][0] == pytest.approx(0.5)


def test_time_to_failure_and_attempt_stats() -> None:
    ttf = failures.time_to_failure(SIX, qs=(0.5,))
    assert ttf.filter(pl.col("status") == "canceled")["value"][0] == pytest.approx(75.0)
    ph = SIX.with_columns(pl.Series("num_attempts", [1, 3, 1, 2, 1, 1, 1], dtype=pl.Int32))
    a = failures.attempt_stats(ph)
    can = a.filter(pl.col("status") == "canceled")
    assert can["mean_attempts"][0] == pytest.approx(1.5)
    assert can["retried_share"][0] == pytest.approx(0.5)
    assert a.filter(pl.col("status") == "failed")["max_attempts"][0] == 3


def test_queue_summary_and_cdf() -> None:
    q = queueing.queue_summary(SIX)
    assert q["zero_share"][0] == pytest.approx(0.5)
    assert q["median_s"][0] == pytest.approx(2.5)
    assert q["mean_s"][0] == pytest.approx(120 / 6)
    by_vc = queueing.queue_summary(SIX, ["trace", "cluster", "vc"])
    assert by_vc.height == 1
    cdf = queueing.queue_cdf(SIX, grid=[1.0, 16.0], scheme="philly")
    assert cdf.filter(pl.col("size_bucket") == "5-8")["cdf"].to_list() == pytest.approx([0.5, 0.5])


def test_overview_row() -> None:
    df = SIX.with_columns(
        (pl.col("submit_time") + pl.duration(days=pl.int_range(pl.len()))).alias("submit_time")
    )
    ov = summary.overview(df)
    row = ov.row(0, named=True)
    assert row["n_jobs"] == 7 and row["n_gpu_jobs"] == 6 and row["n_users"] == 4
    assert row["days"] == pytest.approx(6.0)
    assert row["gpu_hours"] == pytest.approx(2010 / 3600)
    assert row["completed_share"] == pytest.approx(0.5)
    assert row["first_submit"] == T0 and row["last_submit"] == T0 + timedelta(days=6)


def test_workload_shares_on_the_pai_fixture(fixture_store) -> None:  # noqa: ANN001 - fixture
    pj = fixture_store.scan("jobs", trace="pai")
    every = jobs.workload_shares(pj, gpu_only=False, untagged="(untagged)")
    # 7 jobs: one tagged bert (16 GPUs, the most GPU time), one ctr, five untagged
    assert every["workload"].to_list() == ["bert", "ctr", "(untagged)"]
    assert every["jobs"].to_list() == [1, 1, 5]
    assert every["job_share"].to_list() == pytest.approx([1 / 7, 1 / 7, 5 / 7])
    assert every["gpu_time_share"].sum() == pytest.approx(1.0)
    gpu = jobs.workload_shares(pj)  # the CPU-only job 7 drops out; untagged stays null
    assert gpu.filter(pl.col("workload").is_null())["jobs"].to_list() == [4]


def test_recurring_share_on_the_pai_fixture(recurring_pai_store) -> None:  # noqa: ANN001
    out = jobs.recurring_share(recurring_pai_store.scan("jobs", trace="pai"))
    # tagged jobs 1, 2, 6, 7; jobs 2, 6 and 7 share one group (3 runs), job 1 runs once
    got = dict(zip(out["at_least_runs"], out["share"], strict=True))
    assert got == {1: 1.0, 2: 0.75, 5: 0.0, 10: 0.0, 50: 0.0}
    assert out.filter(pl.col("at_least_runs") == 2)["jobs"].to_list() == [3]
