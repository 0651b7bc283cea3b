"""The default sample shows the science: its targets at the default scale (seed 7).

One default run per session (``default_run``): generated, ingested through the real readers,
predicted and replayed, exactly the path of ``make reports``.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from tracekit.analysis.findings import findings_table
from tracekit.sample import DEFAULT_SCALES, DEFAULT_TRACES
from tracekit.store import open_store


def _targets(run: dict[str, Any], prefix: str) -> pl.DataFrame:
    return run["check"].filter(pl.col("target").str.starts_with(prefix))


def test_helios_allocation_within_eight_points(default_run: dict[str, Any]) -> None:
    rows = _targets(default_run, "H15")
    assert sorted(rows["cluster"]) == ["Earth", "Saturn", "Uranus", "Venus"]
    assert rows["ok"].all(), rows


def test_helios_mean_queue_within_a_factor_of_two(default_run: dict[str, Any]) -> None:
    rows = _targets(default_run, "H10")
    assert rows.height == 4 and rows["ok"].all(), rows


def test_philly_mean_queue_and_per_attempt_waits(default_run: dict[str, Any]) -> None:
    rows = _targets(default_run, "P4")
    assert rows.height == 5 and rows["ok"].all(), rows  # mean queue + 4 size buckets


def test_study_has_contention_everywhere(default_run: dict[str, Any]) -> None:
    chk = default_run["check"]
    for target in ("FIFO mean queue", "FIFO utilization", "SJF (oracle) mean JCT",
                   "SRTF (oracle) mean JCT"):  # fmt: skip
        rows = chk.filter(pl.col("target") == target)
        assert rows.height == 6, target  # 4 Helios clusters, Philly, PAI
        assert rows["ok"].all(), rows


def test_study_table_shape(default_run: dict[str, Any]) -> None:
    summary = default_run["study"].summary
    assert summary.columns == [
        "trace", "cluster", "policy", "predictor", "jobs", "jct_mean_s", "queue_mean_s",
        "jct_p99_s", "utilization", "mode",
    ]  # fmt: skip
    assert summary.select("trace", "cluster").unique().height == 6
    runs = set(summary.select("policy", "predictor").iter_rows())
    assert {("fifo", "none"), ("sjf", "oracle"), ("srtf", "oracle"), ("tiresias", "none"),
            ("qssf", "lgbm"), ("qssf", "user-median"), ("sjf", "lgbm"),
            ("sjf", "user-median"), ("lucid", "lgbm")} == runs  # fmt: skip
    jobs = default_run["study"].jobs
    assert jobs.columns == [
        "trace", "cluster", "policy", "predictor", "vc", "job_id", "jct_s", "queue_s",
    ]  # fmt: skip
    # one per-job row per replayed job and run
    assert jobs.height == int(summary["jobs"].sum())


def test_study_replays_the_scaled_sample_with_easy_backfill(default_run: dict[str, Any]) -> None:
    # The published simulators block at the head of the queue; a scaled sample is replayed with
    # EASY backfill instead (a tenth of the GPUs would idle behind jobs sized for the full
    # cluster) and first-fit placement (EASY's GPU-count reservations hold); every cluster of
    # the sample is one pool of its nodes.
    summary = default_run["study"].summary
    mode = dict(zip(summary.select(pl.format("{}/{}/{}", "cluster", "policy", "predictor"))
                    .to_series(), summary["mode"], strict=True))  # fmt: skip
    assert mode["Venus/fifo/none"] == "EASY backfill; first_fit; one pool"
    assert mode["philly/qssf/lgbm"] == "EASY backfill; first_fit; one pool"
    assert mode["philly/lucid/lgbm"] == "shared GPUs, packing; one pool"
    assert mode["Earth/srtf/oracle"].startswith("preemptive")
    inputs = default_run["study"].inputs
    assert inputs.filter(pl.col("trace") == "helios")["window_start"].dt.day().to_list() == [1] * 4


def test_fifo_over_sjf_near_the_published_experiments(default_run: dict[str, Any]) -> None:
    # SC'21 Table 3 for each Helios cluster, the Helios artifact's Philly replay and the PAI
    # simulator's log: FIFO/SJF mean-JCT ratio and FIFO's mean JCT within a factor of 2.
    rows = _targets(default_run, "FIFO/SJF")
    assert dict(zip(rows["cluster"], rows["published"], strict=True)) == pytest.approx({
        "Venus": 3.07, "Earth": 2.87, "Saturn": 6.59, "Uranus": 1.49, "philly": 2.51,
        "pai": 1.32,
    })  # fmt: skip
    assert rows["ok"].all(), rows
    # FIFO's mean JCT: within 2x everywhere but Saturn, 27,024 s against Table 3's 55,984 s
    # at seed 7 (docs/sample.md, "Known misses"); a change here must update the docs.
    rows = _targets(default_run, "FIFO mean JCT")
    assert rows.height == 6, rows
    assert rows.filter(~pl.col("ok"))["cluster"].to_list() == ["Saturn"], rows


def test_qssf_between_sjf_oracle_and_fifo(default_run: dict[str, Any]) -> None:
    # QSSF with LightGBM predictions lies between SJF with the true durations and FIFO on every
    # replayed cluster (4 Helios clusters, Philly, PAI), as in the Helios artifact's Philly replay.
    rows = _targets(default_run, "QSSF (LightGBM)")
    assert rows.height == 6
    assert rows["ok"].all(), rows
    summary = default_run["study"].summary
    jct = {(c, p, q): v for c, p, q, v in summary.select(
        "cluster", "policy", "predictor", "jct_mean_s").iter_rows()}  # fmt: skip
    for cluster in ("Venus", "Earth", "Saturn", "Uranus", "philly", "pai"):
        assert jct[cluster, "sjf", "oracle"] < jct[cluster, "qssf", "lgbm"], cluster
        assert jct[cluster, "qssf", "lgbm"] < jct[cluster, "fifo", "none"], cluster


def test_sample_spans_the_trace_period_with_warm_up(default_run: dict[str, Any]) -> None:
    st = open_store(default_run["store"])
    jobs = (
        st.scan("jobs", trace="helios")
        .group_by("cluster")
        .agg(pl.col("submit_time").min().alias("first"), pl.col("submit_time").max().alias("last"))
        .collect()
    )
    for row in jobs.iter_rows(named=True):
        assert row["first"].month == 3, row  # warm-up submissions before 2020-04-01
        assert (row["last"].month, row["last"].day) >= (9, 27), row
    cap = st.scan("capacity", trace="helios").collect()
    assert cap["date"].min().isoformat() == "2020-04-01"
    assert cap["date"].max().isoformat() == "2020-09-28"
    for cluster, gpus in (
        cap.group_by("cluster", "date")
        .agg(pl.col("num_gpus").sum())
        .group_by("cluster")
        .agg(pl.col("num_gpus").max())
        .iter_rows()
    ):
        # scaled with the sample: about 0.1 x the published 1,000-2,100 GPUs
        assert 80 <= gpus <= 240, (cluster, gpus)
    assert default_run["summary"]["helios"]["scale"] == DEFAULT_SCALES["helios"]


def test_findings_table_marks_the_sample_synthetic(default_run: dict[str, Any]) -> None:
    ft = findings_table(open_store(default_run["store"]))
    assert set(ft["data"]) == {"synthetic"}
    assert set(ft["trace"]) == set(DEFAULT_TRACES)
    # the calibrated inputs agree with what they were calibrated to
    for fid, metric in (("H7", "completed share of GPU jobs"), ("P6", "completed share of jobs"),
                        ("A4", "tasks on MISC"), ("H1", "median GPU-job duration")):  # fmt: skip
        rows = ft.filter((pl.col("finding_id") == fid) & (pl.col("metric") == metric))
        assert rows.height >= 1 and (rows["agreement"] == "agree").all(), rows
