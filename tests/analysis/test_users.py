"""Users: tied totals get the same ranks on every run and from any row order (PAI raw fixture)."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

import tracekit as tk
from tracekit.analysis import users


def test_tied_users_rank_by_user_id_whatever_the_row_order(fixture_store: tk.Store) -> None:
    jobs = fixture_store.scan("jobs", trace="pai").collect()
    want = users.user_totals(jobs, gpu_only=False)
    # users cccc00000002 (no finished GPU time) and cccc00000004 (a CPU job) both total 0
    tied = want.filter(pl.col("total") == 0)
    assert tied["user"].to_list() == ["cccc00000002", "cccc00000004"]
    assert tied["rank"].to_list() == [3, 4]
    for seed in range(5):
        shuffled = jobs.sample(fraction=1.0, shuffle=True, seed=seed)
        assert_frame_equal(users.user_totals(shuffled, gpu_only=False), want)


def test_cpu_time_is_cpus_times_duration(fixture_store: tk.Store) -> None:
    jobs = fixture_store.scan("jobs", trace="helios").filter(pl.col("num_gpus") == 0)
    top = users.user_totals(jobs, "cpu_time_s", gpu_only=False)
    want = jobs.select((pl.col("num_cpus") * pl.col("duration_s")).sum()).collect().item()
    assert top["total"].sum() == want and want > 0
