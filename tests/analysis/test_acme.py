"""Acme findings on the hand-written fixtures: every value below is worked out by hand from
tests/fixtures/acme (GPU jobs with a final status only)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import tracekit as tk
from tracekit.analysis import acme
from tracekit.analysis.findings import findings_table

FIXTURES = Path(__file__).parents[1] / "fixtures" / "acme"


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> pl.LazyFrame:
    root = tmp_path_factory.mktemp("acme")
    tk.ingest("acme", FIXTURES, root)
    return tk.open_store(root).jobs("acme")


def _row(df: pl.DataFrame, **where: str) -> dict:
    for col, value in where.items():
        df = df.filter(pl.col(col) == value)
    assert df.height == 1
    return df.row(0, named=True)


def test_status_shares(jobs: pl.LazyFrame) -> None:
    shares = acme.status_shares(jobs)
    # Kalos GPU jobs: 2 completed, 2 canceled, 3 failed (FAILED, NODE_FAIL, TIMEOUT)
    kalos_failed = _row(shares, cluster="Kalos", status="failed")
    assert kalos_failed["n_jobs"] == 3 and kalos_failed["job_share"] == pytest.approx(3 / 7)
    assert kalos_failed["gpu_time_s"] == 512 + 120 + 32 * 86400
    # Seren: the RUNNING job is censored and left out: 10 GPU jobs with a final state
    seren = shares.filter(pl.col("cluster") == "Seren")
    assert seren["n_jobs"].sum() == 10
    assert seren["gpu_time_share"].sum() == pytest.approx(1.0)
    canceled = _row(shares, cluster="Seren", status="canceled")
    assert canceled["gpu_time_s"] == 2 * 600  # the never-started job adds nothing


def test_gpu_job_stats(jobs: pl.LazyFrame) -> None:
    stats = acme.gpu_job_stats(jobs)
    kalos = _row(stats, cluster="Kalos")
    # durations of the 7 GPU jobs with a start: 8, 70, 604800, 120, 120, 86400 (+ 1 never ran)
    assert kalos["gpu_jobs"] == 7 and kalos["median_run_time_s"] == pytest.approx(120.0)
    assert kalos["mean_gpus"] == pytest.approx((64 + 64 + 1024 + 1 + 1 + 8 + 32) / 7)
    assert _row(stats, cluster="Seren")["median_gpus"] == 8.0


def test_gpu_time_by_workload(jobs: pl.LazyFrame) -> None:
    shares = acme.gpu_time_by_workload(jobs)
    kalos = shares.filter(pl.col("cluster") == "Kalos")
    assert kalos["workload"][0] == "Pretrain"  # largest GPU time first
    assert kalos["gpu_time_share"][0] == pytest.approx(
        1024 * 604800 / (1024 * 604800 + 32 * 86400 + 512 + 4480 + 240)
    )
    assert set(shares.filter(pl.col("cluster") == "Seren")["workload"]) == {
        "Pretrain", "SFT", "MLLM", "Eval", "Debug", "Other"
    }  # fmt: skip


def test_cluster_summary_columns_and_values(jobs: pl.LazyFrame) -> None:
    summary = acme.cluster_summary(jobs)
    assert summary.columns == ["id", *acme.SUMMARY_COLUMNS]
    assert summary["id"].to_list() == ["Kalos", "Seren"]
    kalos = _row(summary, id="Kalos")
    assert (kalos["job_num"], kalos["cpu_job_num"], kalos["gpu_job_num"]) == (8, 1, 7)
    assert kalos["complete_rate_gpu"] == pytest.approx(2 / 7)
    assert kalos["max_gpu"] == 1024.0 and kalos["max_run_time_gpu"] == 604800.0
    assert kalos["med_que_time_gpu"] == pytest.approx(150.0)  # 10, 12, 60, 240, 300, 3600
    assert kalos["complete_rate_cpu"] == 1.0


def test_cluster_summary_pools_other_traces(tmp_path: Path, jobs: pl.LazyFrame) -> None:
    other = jobs.collect().with_columns(
        pl.lit("helios").alias("trace"), pl.lit("Venus").alias("cluster")
    )
    both = pl.concat([jobs.collect(), other])
    ids = acme.cluster_summary(both)["id"].to_list()
    assert ids == ["Helios", "Kalos", "Seren"]
    helios = _row(acme.cluster_summary(both), id="Helios")
    assert helios["job_num"] == 21  # Seren and Kalos rows relabelled, pooled into one id


def test_findings_rows(jobs: pl.LazyFrame, tmp_path: Path) -> None:
    tk.ingest("acme", FIXTURES, tmp_path)
    table = findings_table(tk.open_store(tmp_path), traces="acme", detail=True)
    assert set(table["finding_id"]) >= {"AC1", "AC2", "AC3", "AC4", "AC5", "AC7"}
    row = _row(table, finding_id="AC2", cluster="Kalos", metric="max_gpu")
    assert row["measured"] == 1024 and row["agreement"] == "agree"
    failed = _row(table, finding_id="AC3", cluster="Kalos", metric="fail_rate_gpu")
    assert failed["measured"] == pytest.approx(100 * 3 / 7) and failed["published"] == 39.7
    pretrain = _row(table, finding_id="AC7", cluster="Kalos")
    assert pretrain["published"] is None and pretrain["agreement"] == "n/a"
    assert pretrain["measured"] > 99
