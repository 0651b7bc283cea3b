"""Acme reader on hand-written Seren and Kalos files: offsets, states, never-started jobs,
workload types, the Kalos-only columns, and errors that name file and line."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tracekit as tk
from tracekit.cli import app
from tracekit.errors import TraceFormatError
from tracekit.sources import acme

FIXTURES = Path(__file__).parents[1] / "fixtures" / "acme"
SEREN = FIXTURES / "data" / "job_trace" / "trace_seren.csv"
KALOS = FIXTURES / "data" / "job_trace" / "trace_kalos.csv"
runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tk.Store:
    root = tmp_path_factory.mktemp("acme")
    result = runner.invoke(app, ["ingest", "acme", str(FIXTURES), "--store", str(root)])
    assert result.exit_code == 0, result.output
    assert "Seren" in result.output and "kalos_jobs" in result.output
    return tk.open_store(root)


def _job(store: tk.Store, job_id: str) -> dict:
    return store.jobs("acme").filter(pl.col("job_id") == job_id).collect().row(0, named=True)


def test_two_clusters_and_row_counts(store: tk.Store) -> None:
    assert store.clusters("acme") == ["Kalos", "Seren"]
    rows = {(r["cluster"], r["table"]): r["rows"] for r in store.rows().iter_rows(named=True)}
    assert rows == {("Seren", "jobs"): 13, ("Kalos", "jobs"): 8, ("Kalos", "kalos_jobs"): 8}


def test_each_time_keeps_its_own_offset(store: tk.Store) -> None:
    seren = _job(store, "5778432")  # 2023-03-01 00:18:22+08:00
    assert seren["submit_time"] == datetime(2023, 2, 28, 16, 18, 22, tzinfo=UTC)
    kalos = _job(store, "dlctk696s0jbvitv")  # 2023-05-17 11:00:58+00:00
    assert kalos["submit_time"] == datetime(2023, 5, 17, 11, 0, 58, tzinfo=UTC)
    assert kalos["queue_s"] == 10.0 and kalos["duration_s"] == 8.0


def test_states_map_and_raw_state_is_kept(store: tk.Store) -> None:
    jobs = store.jobs("acme").collect()
    pairs = set(zip(jobs["raw_status"], jobs["status"], strict=True))
    assert pairs == {
        ("COMPLETED", "completed"),
        ("CANCELLED", "canceled"),
        ("FAILED", "failed"),
        ("TIMEOUT", "failed"),
        ("NODE_FAIL", "failed"),
        ("RUNNING", "censored"),
    }
    running = _job(store, "5778560")
    assert running["end_time"] is None and running["duration_s"] is None


def test_never_started_jobs_have_null_start_queue_duration(store: tk.Store) -> None:
    for job_id in ("5778512", "dlcdbg00000001d"):
        job = _job(store, job_id)
        assert job["status"] == "canceled" and job["start_time"] is None
        assert job["queue_s"] is None and job["duration_s"] is None
        assert job["end_time"] is not None


def test_workload_types_sizes_and_gpu_time(store: tk.Store) -> None:
    jobs = store.jobs("acme").collect()
    assert set(jobs["workload"]) == set(acme.WORKLOAD_TYPES)
    pretrain = _job(store, "dlcpre000000001a")
    assert pretrain["num_gpus"] == 1024.0 and pretrain["num_nodes"] == 128
    assert pretrain["gpu_time_s"] == 1024.0 * 604800
    assert _job(store, "5778550")["num_gpus"] == 0.0  # a CPU job
    # the second row with a repeated id is kept under a suffixed id
    assert _job(store, "5778550#1")["user"] == "u0078"


def test_kalos_only_columns(store: tk.Store) -> None:
    kalos = store.scan("kalos_jobs", "acme").collect()
    failed = kalos.filter(pl.col("job_id") == "dlctk696s0jbvitv").row(0, named=True)
    assert failed["mem_per_pod_gb"] == 1000.0 and failed["shared_mem_per_pod_gb"] == 100.0
    assert failed["fail_time"] == datetime(2023, 5, 17, 11, 1, 16, tzinfo=UTC)
    assert failed["stop_time"] is None
    canceled = kalos.filter(pl.col("job_id") == "dlc1t2ypl09b8qtp").row(0, named=True)
    assert canceled["stop_time"] is not None and canceled["fail_time"] is None


def test_quality_counts(store: tk.Store) -> None:
    quality = store.quality().filter(pl.col("count") > 0)
    counts = {(r["cluster"], r["rule"]): r["count"] for r in quality.iter_rows(named=True)}
    assert counts == {
        ("Seren", "acme.unknown_state"): 1,
        ("Seren", "acme.censored_end_cleared"): 1,
        ("Seren", "acme.duplicate_job_id_renamed"): 1,
        ("Seren", "acme.never_started"): 1,
        ("Kalos", "acme.never_started"): 1,
    }
    # checks that found nothing are recorded with count 0
    assert "acme.duration_column_mismatch" in set(store.quality()["rule"])


def test_python_api_one_cluster_from_a_file(tmp_path: Path) -> None:
    summary = tk.ingest("acme", KALOS, tmp_path)
    assert summary == {"Kalos": {"jobs": 8, "kalos_jobs": 8}}
    with pytest.raises(TraceFormatError, match="clusters not found"):
        tk.ingest("acme", KALOS, tmp_path, clusters=["Seren"])


# ---- errors -------------------------------------------------------------------------------------
def _corrupt(tmp_path: Path, source: Path, line: int, old: str, new: str) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    lines = source.read_text().splitlines()
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    (folder / source.name).write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.parametrize(
    ("source", "line", "old", "new", "problem"),
    [
        (SEREN, 3, "2023-03-01 00:24:11+08:00", "2023-03-01 00:24:11", "start_time is not a time"),
        (SEREN, 6, ",1,1,16,", ",1,one,16,", "gpu_num is not a whole number"),
        (SEREN, 7, ",1,1,16,", ",1,1.5,16,", "gpu_num is not a whole number"),
        (KALOS, 4, ",604800,", ",-5,", "duration is not a non-negative number"),
        (KALOS, 2, "FAILED", "FAILED,extra", "expected 17 comma-separated fields, found 18"),
        (SEREN, 8, "5778512", "", "job_id is empty"),
        (SEREN, 1, "gpu_num", "gpus", "unexpected header"),
    ],
)
def test_errors_name_file_and_line(
    tmp_path: Path, source: Path, line: int, old: str, new: str, problem: str
) -> None:
    raw = _corrupt(tmp_path, source, line, old, new)
    with pytest.raises(TraceFormatError) as err:
        tk.ingest("acme", raw, tmp_path / "store")
    assert err.value.path.endswith(source.name) and err.value.line == line
    assert problem in err.value.problem
    result = runner.invoke(app, ["ingest", "acme", str(raw), "--store", str(tmp_path / "s")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{source.name}, line {line}: {problem}" in " ".join(result.output.split())


def test_lenient_mode_counts_bad_rows(tmp_path: Path) -> None:
    raw = _corrupt(tmp_path, SEREN, 6, ",1,1,16,", ",1,one,16,")
    tk.ingest("acme", raw, tmp_path / "store", lenient=True)
    store = tk.open_store(tmp_path / "store")
    assert store.jobs("acme").collect().height == 12
    rule = store.quality().filter(pl.col("rule") == "acme.unparseable_row")
    assert rule["count"].item() == 1


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match="no trace_seren.csv or trace_kalos.csv"):
        tk.ingest("acme", tmp_path, tmp_path / "store")
    with pytest.raises(TraceFormatError, match="no such file"):
        tk.ingest("acme", tmp_path / "nope", tmp_path / "store")
    shutil.copy(SEREN, tmp_path / "trace_seren.csv")
    assert tk.ingest("acme", tmp_path, tmp_path / "store") == {"Seren": {"jobs": 13}}
