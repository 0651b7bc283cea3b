"""Philly locality (servers per job vs waiting) and per-VC per-attempt delay CDFs on the Philly
raw fixture (``tests/fixtures/philly``)."""

from __future__ import annotations

import polars as pl
import pytest

import tracekit as tk
from tracekit.analysis import queueing


def _philly(store: tk.Store) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    return store.scan("attempts", trace="philly"), store.scan("jobs", trace="philly")


def test_locality_counts_servers_of_the_first_attempt(fixture_store: tk.Store) -> None:
    loc = queueing.philly_locality(*_philly(fixture_store))
    by_job = {j[-5:]: (s, q) for j, s, q in loc.select("job_id", "servers", "queue_s").rows()}
    # the three 8-GPU jobs: _10238 started on m193 + m287 after 35 s (its retry ran on one
    # server, which does not count), _12703 on one server at once, _14199 on one after 30 s
    assert by_job == {"10238": (2, 35.0), "12703": (1, 0.0), "14199": (1, 30.0)}
    assert set(loc["size_bucket"]) == {"5-8"}
    small = queueing.philly_locality(*_philly(fixture_store), min_gpus=1)
    assert small.height > loc.height and set(small["size_bucket"]) >= {"1", "5-8"}


def test_locality_summary(fixture_store: tk.Store) -> None:
    s = queueing.philly_locality_summary(*_philly(fixture_store)).row(0, named=True)
    assert (s["size_bucket"], s["n_jobs"], s["servers_min"], s["servers_max"]) == ("5-8", 3, 1, 2)
    assert s["queue_median_s"] == pytest.approx(30.0)
    assert s["queue_median_packed_s"] == pytest.approx(15.0)  # one server: 0 s and 30 s
    assert s["queue_median_spread_s"] == pytest.approx(35.0)


def test_attempt_delay_cdf_per_vc(fixture_store: tk.Store) -> None:
    att, jobs = _philly(fixture_store)
    pooled = queueing.philly_attempt_delay_cdf(att, jobs)
    per_vc = queueing.philly_attempt_delay_cdf(att, jobs, by="vc")
    assert "vc" in per_vc.columns and "vc" not in pooled.columns
    # every VC's curve ends at its own count; the counts add up to the pooled ones
    n_vc = (
        per_vc.group_by("vc", "size_bucket").agg(pl.col("n").first())
        .group_by("size_bucket").agg(pl.col("n").sum()).sort("size_bucket")
    )
    n_all = pooled.group_by("size_bucket").agg(pl.col("n").first()).sort("size_bucket")
    assert n_vc["n"].to_list() == n_all["n"].to_list()
    assert per_vc["vc"].n_unique() >= 2


def test_vc_queue_table_pooled(fixture_store: tk.Store) -> None:
    att, jobs = _philly(fixture_store)
    per_vc = queueing.philly_vc_queue_table(att, jobs)
    pooled = queueing.philly_vc_queue_table(att, jobs, per_vc=False)
    assert set(pooled["vc"]) == {"all"} and per_vc["vc"].n_unique() >= 2
    want = per_vc.group_by("size_bucket").agg(pl.col("n").sum()).sort("size_bucket")
    assert pooled.sort("size_bucket")["n"].to_list() == want["n"].to_list()
