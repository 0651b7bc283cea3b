"""Synthetic Acme sample: raw format the reader accepts, SYNTHETIC label, reproducible bytes,
and the published cluster_summary numbers it is calibrated to."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tracekit as tk
from tracekit.analysis import acme
from tracekit.cli import app
from tracekit.sample import check
from tracekit.sample.acme import generate_acme, targets
from tracekit.sources.acme import FILES, HEADERS, JOB_TRACE_DIR

SCALE = 0.02


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tk.Store]:
    raw = tmp_path_factory.mktemp("raw")
    generate_acme(raw, SCALE, 7)
    store = tmp_path_factory.mktemp("store")
    tk.ingest("acme", raw, store)
    return raw, tk.open_store(store)


def test_raw_format_and_label(sample: tuple[Path, tk.Store]) -> None:
    raw, store = sample
    for cluster, name in FILES.items():
        lines = (raw / JOB_TRACE_DIR / name).read_text().splitlines()
        assert lines[0] == ",".join(HEADERS[cluster])
        assert '""' not in lines[1]  # missing is an empty field, never a quoted empty string
    offsets = {"Seren": "+08:00", "Kalos": "+00:00"}
    for cluster, offset in offsets.items():
        first = (raw / JOB_TRACE_DIR / FILES[cluster]).read_text().splitlines()[1]
        assert offset in first
    marker = json.loads((raw / "SYNTHETIC.json").read_text())
    assert marker["synthetic"] is True and marker["trace"] == "acme"
    assert store.is_synthetic("acme")


def test_same_seed_same_bytes(tmp_path: Path, sample: tuple[Path, tk.Store]) -> None:
    raw, _ = sample
    generate_acme(tmp_path, SCALE, 7)
    for name in FILES.values():
        a = (raw / JOB_TRACE_DIR / name).read_bytes()
        assert (tmp_path / JOB_TRACE_DIR / name).read_bytes() == a


# (metric, tolerance): relative for times and sizes, absolute for shares.
CALIBRATED = {
    "med_run_time_gpu": 0.1,
    "avg_run_time_gpu": 0.1,
    "med_gpu_num": 0.0,
    "max_gpu": 0.0,
    "avg_run_time_cpu": 0.1,
    "complete_rate_gpu": 0.01,
    "cancel_rate_gpu": 0.01,
    "fail_rate_gpu": 0.01,
    "complete_rate_cpu": 0.01,
    "fail_rate_cpu": 0.01,
    "complete_rate_gpu_time": 0.05,
    "cancel_rate_gpu_time": 0.05,
    "fail_rate_gpu_time": 0.05,
}


@pytest.mark.parametrize("cluster", ["Seren", "Kalos"])
def test_calibrated_to_cluster_summary(sample: tuple[Path, tk.Store], cluster: str) -> None:
    _, store = sample
    measured = acme.cluster_summary(store.jobs("acme")).filter(pl.col("id") == cluster)
    published = targets(cluster)
    for metric, tol in CALIBRATED.items():
        got, want = measured[metric].item(), published[metric]
        if "rate" in metric:
            assert got == pytest.approx(want, abs=tol), metric
        else:
            assert got == pytest.approx(want, rel=tol), metric
    assert measured["gpu_job_num"].item() == round(published["gpu_job_num"] * SCALE)
    # mean GPUs per GPU job: the heavy pretraining tail makes it noisy at small scale
    assert measured["avg_gpu_num"].item() == pytest.approx(published["avg_gpu_num"], rel=0.25)


def test_every_quirk_appears(sample: tuple[Path, tk.Store]) -> None:
    _, store = sample
    jobs = store.jobs("acme").collect()
    assert {"TIMEOUT", "NODE_FAIL"} <= set(jobs["raw_status"])
    assert jobs.filter(pl.col("start_time").is_null()).height > 0
    assert set(jobs.filter(pl.col("cluster") == "Seren")["workload"]) == {
        "Pretrain", "SFT", "MLLM", "Eval", "Debug", "Other"
    }  # fmt: skip
    shares = acme.gpu_time_by_workload(store.jobs("acme"))
    top = shares.group_by("cluster").agg(pl.col("workload").first())
    assert set(top["workload"]) == {"Pretrain"}  # pretraining takes the most GPU time


def test_check_reports_the_acme_targets(sample: tuple[Path, tk.Store]) -> None:
    # check() on a store with the Acme sample lists every calibrated cluster-summary value.
    _, store = sample
    rows = check(store.path)
    assert set(rows["trace"]) == {"acme"} and set(rows["cluster"]) == {"Seren", "Kalos"}
    names = set(rows["target"])
    assert {"cluster summary gpu_job_num (x scale)", "cluster summary avg_que_time_gpu",
            "cluster summary fail_rate_gpu_time"} <= names  # fmt: skip
    assert rows["ok"].all(), rows.filter(~pl.col("ok"))


def test_sample_command_writes_and_checks_acme(tmp_path: Path) -> None:
    out = tmp_path / "sample"
    args = ["sample", "--out", str(out), "--traces", "acme", "--scale", "0.01", "--seed", "7"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "acme" / JOB_TRACE_DIR / FILES["Seren"]).is_file()
    checked = CliRunner().invoke(app, [*args, "--check"])
    assert checked.exit_code == 0, checked.output
    assert "of 32 targets hold" in checked.output  # 16 summary values x 2 clusters
