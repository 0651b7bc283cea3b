"""Events per local day (PAI tasks started per day) on the PAI raw fixture."""

from __future__ import annotations

import polars as pl

import tracekit as tk
from tracekit.analysis import arrivals


def test_tasks_started_per_day_with_empty_days(fixture_store: tk.Store) -> None:
    tasks = fixture_store.scan("tasks", trace="pai")
    daily = arrivals.by_day(tasks, gpu_only=False, time="start_time")
    started = tasks.filter(pl.col("start_time").is_not_null()).select(pl.len()).collect().item()
    assert daily["n"].sum() == started
    # the calendar has no gaps: one row per day from the first to the last start
    dates = daily["local_date"]
    assert (dates.max() - dates.min()).days + 1 == daily.height
    assert (daily["n"] == 0).sum() > 0 and daily["n"].max() == 2  # job 2's ps and worker
    # submissions of GPU jobs are what the default counts
    assert arrivals.by_day(fixture_store.scan("jobs", trace="pai"))["n"].sum() == 6
