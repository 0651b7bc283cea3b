"""Synthetic sample: raw files the real readers ingest, calibrated to the published targets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tracekit.analysis.findings import findings_table
from tracekit.sample import check, generate, helios
from tracekit.sample._common import calibrate_tail, inverse_cdf, rank_uniform, round_to_total
from tracekit.sample._scheduler import schedule
from tracekit.sample.helios import (
    HEADROOM,
    capacity_table,
    generate_cluster,
    generate_helios,
    max_job_gpus,
    monthly_gpu_time,
)
from tracekit.sample.philly import runs_from_intervals, vc_cluster
from tracekit.sources import ingest
from tracekit.sources._common import SYNTHETIC_MARKER
from tracekit.store import open_store

SCALE = 0.004  # ~13 k Helios jobs, ~470 Philly jobs: fast, still enough for the checks


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("sample")
    out, store = root / "raw", root / "store"
    summary = generate(out, traces=("helios", "philly"), scale=SCALE, seed=7)
    ingest("helios", out / "helios", store)
    ingest("philly", out / "philly", store)
    return out, store, summary


@pytest.fixture(scope="module")
def findings(sample: tuple[Path, Path, dict]) -> pl.DataFrame:
    return findings_table(open_store(sample[1]))


def _agree(findings: pl.DataFrame, fid: str, metric: str, cluster: str) -> dict:
    rows = findings.filter(
        (pl.col("finding_id") == fid)
        & (pl.col("metric") == metric)
        & (pl.col("cluster") == cluster)
    )
    assert rows.height == 1, f"no row {fid}/{cluster}/{metric}"
    return rows.row(0, named=True)


# ---- layout and markers --------------------------------------------------------------------------
def test_layout_and_markers(sample: tuple[Path, Path, dict]) -> None:
    out, store, summary = sample
    for cluster in ("Venus", "Earth", "Saturn", "Uranus"):
        assert (out / "helios/data" / cluster / "cluster_log.csv").is_file()
        assert (out / "helios/data" / cluster / "cluster_gpu_number.csv").is_file()
    names = sorted(p.name for p in (out / "philly/trace-data").iterdir())
    assert names == sorted(
        [
            "cluster_job_log",
            "cluster_gpu_util",
            "cluster_cpu_util",
            "cluster_mem_util",
            "cluster_machine_list",
        ]
    )
    for trace in ("helios", "philly"):
        marker = json.loads((out / trace / SYNTHETIC_MARKER).read_text())
        assert marker["synthetic"] is True and marker["seed"] == 7 and marker["scale"] == SCALE
        assert "synthetic" in marker["note"]
    st = open_store(store)
    assert st.is_synthetic("helios") and st.is_synthetic("philly")
    assert summary["helios"]["jobs"] == sum(
        st.scan("jobs", trace="helios").select(pl.len()).collect().item() for _ in [0]
    )


def test_quirks_reach_the_readers(sample: tuple[Path, Path, dict]) -> None:
    _, store, _ = sample
    st = open_store(store)
    q = st.quality()
    counts = (
        dict(zip(q["rule"].to_list(), q["count"].to_list(), strict=False))
        if "rule" in q.columns
        else {}
    )
    helios = st.scan("jobs", trace="helios").collect()
    assert (helios["raw_status"] == "RUNNING").sum() >= 4  # one per cluster at least
    assert (helios["raw_status"] == "SUSPENDED").sum() == 1
    assert (helios["duration_s"] == 0).sum() > 0
    assert helios.filter(pl.col("submit_time").dt.month() == 3).height > 0  # warm-up tail
    philly = st.scan("jobs", trace="philly").collect()
    assert (philly["status"] == "censored").sum() > 0  # running at the snapshot
    assert (philly["num_attempts"] == 0).sum() > 0  # empty attempts
    if counts:
        assert counts.get("philly.gpu_util_glued_dst_row", 0) > 0
        assert counts.get("philly.gpu_util_offline_value", 0) > 0


def test_philly_raw_quirks(sample: tuple[Path, Path, dict]) -> None:
    out = sample[0] / "philly/trace-data"
    gpu = (out / "cluster_gpu_util").read_text().splitlines()
    assert gpu[0].startswith("time,machineId,gpu0_util")
    assert all(line.endswith(",") for line in gpu[1:50])  # trailing comma
    fields = {line.count(",") for line in gpu[1:]}
    assert 4 in fields  # 2-GPU short rows: time, machine, 2 values, trailing empty field
    assert 10 in fields  # 8 values (NA-padded for some 2-GPU servers)
    # Glued DST rows: 19 fields (16 values) in the repeated hour of 2017-11-05.
    assert any(line.count(",") == 18 for line in gpu if "2017-11-05 01:" in line)
    assert any(",NA" in line for line in gpu[1:])
    assert any(" PST," in line for line in gpu) and any(" PDT," in line for line in gpu)
    jobs = json.loads((out / "cluster_job_log").read_text())
    assert set(jobs[0]) == {"status", "vc", "jobid", "attempts", "submitted_time", "user"}
    machine_list = (out / "cluster_machine_list").read_text().splitlines()
    assert machine_list[0] == "machineId, number of GPUs, single GPU mem"
    assert {line.split(",")[1] for line in machine_list[1:]} == {"2", "8"}


# ---- calibration ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cluster", ["Venus", "Earth", "Saturn", "Uranus"])
def test_helios_status_shares_by_count(findings: pl.DataFrame, cluster: str) -> None:
    for s in ("completed", "canceled", "failed"):
        r = _agree(findings, "H7", f"{s} share of GPU jobs", cluster)
        assert abs(r["measured"] - r["published"]) <= 4.0, r


def test_helios_gpu_time_by_status_pooled(sample: tuple[Path, Path, dict]) -> None:
    # GPU time is dominated by a few long, large jobs: per cluster at this tiny scale it is
    # noisy (see docs/sample.md), so the test pools the four clusters (published 51/39/9 %).
    jobs = (
        open_store(sample[1])
        .scan("jobs", trace="helios")
        .filter((pl.col("num_gpus") > 0) & (pl.col("status") != "censored"))
        .collect()
    )
    total = jobs["gpu_time_s"].sum()
    shares = {
        s: jobs.filter(pl.col("status") == s)["gpu_time_s"].sum() / total
        for s in ("completed", "canceled", "failed")
    }
    assert abs(shares["completed"] - 0.513) < 0.15, shares
    assert abs(shares["canceled"] - 0.394) < 0.15, shares
    assert abs(shares["failed"] - 0.093) < 0.08, shares


@pytest.mark.parametrize("cluster", ["Venus", "Earth", "Saturn", "Uranus"])
def test_helios_median_duration_and_sizes(findings: pl.DataFrame, cluster: str) -> None:
    r = _agree(findings, "H1", "median GPU-job duration", cluster)
    assert r["agreement"] == "agree", r
    r = _agree(findings, "H3", "1-GPU share of GPU jobs", cluster)
    assert abs(r["measured"] - r["published"]) <= 4.0, r
    assert _agree(findings, "H10", "median GPU-job queue", cluster)["measured"] == 0.0


def test_each_month_holds_the_published_allocation() -> None:
    # The GPU time of each month's submissions is the published monthly allocation x the
    # scaled GPUs x the month's days (the warm-up bucket keeps only jobs still running on
    # April 1, so it is not compared).
    frame, _, _ = generate_cluster("Venus", 0.02, 7)
    gpu = frame.filter(pl.col("gpu_num") > 0)
    submit = gpu["submit_time"].str.to_datetime("%Y-%m-%d %H:%M:%S").dt.epoch("s").to_numpy()
    bucket, target = monthly_gpu_time("Venus", 0.02, submit.astype(float))
    got = np.bincount(bucket, (gpu["gpu_num"] * gpu["duration"]).to_numpy(), len(target))
    assert got[1:] == pytest.approx(target[1:], rel=0.02)
    util = np.asarray(helios._targets.HELIOS_MONTHLY_UTIL_PCT["Venus"]) / 100
    assert target[6] / target[1] == pytest.approx(util[5] * 28 / (util[0] * 30))


def test_cpu_jobs_queue_on_their_partition(monkeypatch: pytest.MonkeyPatch) -> None:
    # CPU jobs wait only when the CPU partition is busy: the replay engine schedules them.
    frame, _, _ = generate_cluster("Uranus", 0.02, 7)
    cpu = frame.filter(pl.col("gpu_num") == 0)
    assert (cpu["queue"] > 0).sum() > 10 and (cpu["queue"] >= 0).all()
    monkeypatch.setattr(helios, "CPU_LOAD", 1e-3)  # a partition far larger than the load
    frame, _, _ = generate_cluster("Uranus", 0.02, 7)
    assert (frame.filter(pl.col("gpu_num") == 0)["queue"] == 0).all()
    # the GPU jobs are scheduled apart from the CPU jobs: their waits are unchanged
    assert frame.filter(pl.col("gpu_num") > 0)["queue"].sum() > 0


def test_helios_hour_of_day_shape(findings: pl.DataFrame) -> None:
    r = _agree(findings, "H22", "correlation of the hourly shape with the published one", "Venus")
    assert r["measured"] > 0.6, r


def test_philly_status_shares(findings: pl.DataFrame) -> None:
    for s in ("completed", "canceled", "failed"):
        r = _agree(findings, "P6", f"{s} share of jobs", "philly")
        assert abs(r["measured"] - r["published"]) <= 5.0, r
    assert _agree(findings, "P3b", "median duration", "philly")["agreement"] in ("agree", "close")


def test_check_on_raw_folder(tmp_path: Path) -> None:
    # check() also accepts a sample folder: it ingests, predicts and replays in a temporary
    # store, and reports the targets of the default run.
    generate(tmp_path, traces=("helios",), scale=0.002, seed=1)
    frame = check(tmp_path)
    assert frame.columns == ["trace", "cluster", "target", "published", "sample", "criterion",
                             "ok"]  # fmt: skip
    assert set(frame["trace"]) == {"helios"}
    assert frame.filter(pl.col("target").str.starts_with("H15")).height == 4
    assert frame.filter(pl.col("target") == "FIFO utilization").height == 4


# ---- determinism and building blocks -------------------------------------------------------------
def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_deterministic(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", traces=("helios", "philly"), scale=0.001, seed=3)
    b = generate(tmp_path / "b", traces=("philly",), scale=0.001, seed=3)
    # Clusters generated in parallel processes give the same bytes.
    b["helios"] = generate_helios(tmp_path / "b/helios", 0.001, 3, workers=2)
    assert a["helios"]["clusters"]["Venus"]["gpus"] == 32  # the smallest cluster: 4 nodes
    generate(tmp_path / "c", traces=("helios",), scale=0.001, seed=4)
    assert a["helios"]["jobs"] == b["helios"]["jobs"]
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a/helios") != _digest(tmp_path / "c/helios")


def test_capacity_is_scaled_and_split_by_the_real_vc_shares() -> None:
    for cluster, mean_gpus in (("Venus", 1022), ("Earth", 997), ("Saturn", 2080)):
        vcs, gpus, lines = capacity_table(cluster, 0.1)
        assert len(vcs) == 25 and (gpus % 8 == 0).all()
        assert abs(gpus.sum() - 0.1 * mean_gpus * HEADROOM[cluster]) <= 8
        assert len(lines) == 182 and lines[1].startswith("2020-04-01,")
        assert lines[-1].startswith("2020-09-28,") and lines[0].endswith(",total")
        assert len({ln.split(",", 1)[1] for ln in lines[1:]}) == 1  # constant over the window
    # the VC with the most GPUs over the real Venus file keeps the most nodes
    real = pl.read_csv(Path(__file__).resolve().parents[2] / "tracekit/sample/data/"
                       "Venus_cluster_gpu_number.csv").drop("date", "total").mean()  # fmt: skip
    vcs, gpus, _ = capacity_table("Venus", 0.5)
    assert vcs[int(np.argmax(gpus))] == max(real.columns, key=lambda c: real[c][0])
    assert max_job_gpus(104) == 48 and max_job_gpus(2000) == 128 and max_job_gpus(8) == 8


def test_scheduler_queueing_emerges() -> None:
    # One VC of one 8-GPU node, shortest remaining time first: the 10-s job submitted at 1 s
    # preempts the 100-s job; the 50-s job submitted at 2 s runs when the 10-s job ends (it is
    # shorter than what the preempted job has left), and the 100-s job resumes last.
    submit = np.array([0.0, 1.0, 2.0])
    gpus = np.array([8, 1, 8])
    dur = np.array([100.0, 10.0, 50.0])
    s = schedule(submit, gpus, dur, np.array(["a"] * 3), {"a": (1, 8)}, record=True)
    assert s.start.tolist() == [0.0, 1.0, 11.0]
    assert s.end.tolist() == [160.0, 11.0, 61.0]
    assert s.preemptions.tolist() == [1, 0, 0]
    assert s.wait.tolist() == [60.0, 0.0, 9.0]
    runs = runs_from_intervals(s.intervals or [], {"a": 0}, np.array([8]), 3)
    assert [len(r) for r in runs] == [2, 1, 1]
    assert runs[1] == [(1, 11, [(0, [0])])]  # the GPU id comes from the free-id sweep


def test_philly_vcs_follow_the_published_shares() -> None:
    cl = vc_cluster(demand_gpus=160.0)
    big = {vc: n for vc, (n, g) in cl.items() if g == 8}
    assert len(big) == 11 and sum(big.values()) == 25  # 160 GPUs / (0.8 x 8)
    assert big["6214e9"] >= big["ed69ec"] and max(big.values()) >= 4
    assert {vc for vc, (_, g) in cl.items() if g == 2} == {"795a4c", "51b7ef", "925e2b", "23dbec"}


def test_calibrate_tail_respects_the_run_time_limit() -> None:
    d = np.exp(np.linspace(0, 11, 1000))  # max about 60 k s
    out = calibrate_tail(d, np.ones_like(d), 1.1 * d.mean(), max_s=1e5)
    assert out.max() <= 1e5
    assert out.mean() == pytest.approx(1.1 * d.mean(), rel=1e-3)  # reached under the cap
    assert (out[:800] == d[:800]).all()  # only the tail above p90 moves


def test_inverse_cdf_and_helpers() -> None:
    u = np.array([0.005, 0.5, 0.999])
    d = inverse_cdf(u, (1, 2, 4), (1.0, 50.0, 100.0))
    assert d[0] < 1 and d[1] == pytest.approx(2.0) and 2 < d[2] <= 4
    assert rank_uniform(np.array([3.0, 1.0, 2.0])).tolist() == pytest.approx([5 / 6, 1 / 6, 0.5])
    assert round_to_total(np.array([1.0, 1.0, 1.0]), 10).sum() == 10


def test_generate_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, traces=("helios",), scale=0)
    with pytest.raises(ValueError, match="unknown trace"):
        generate(tmp_path, traces=("nope",))


def test_generate_never_overwrites_real_data(tmp_path: Path) -> None:
    real = tmp_path / "helios"
    real.mkdir()
    (real / "data.zip").write_bytes(b"real")
    with pytest.raises(FileExistsError, match="not a synthetic sample"):
        generate(tmp_path, traces=("helios",), scale=0.001)
    assert (real / "data.zip").read_bytes() == b"real"
