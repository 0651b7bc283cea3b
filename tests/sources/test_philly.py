"""Philly reader: every quirk of the fixture, official outputs, errors, round trip."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources import philly
from tracekit.sources.philly import official as off
from tracekit.store import open_store

FIXTURES = Path(__file__).parents[1] / "fixtures" / "philly"
RAW = FIXTURES / "trace-data"
J = "application_1506638472019_"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def records() -> list[dict]:
    return json.loads((RAW / philly.JOB_LOG).read_text())


def make_tarball(dest: Path, src: Path = RAW, truncate_to: int | None = None) -> Path:
    tar = dest / philly.ARCHIVE_NAME
    with tarfile.open(tar, "w:gz") as tf:
        for name in philly.FILE_NAMES:
            tf.add(src / name, arcname=f"{philly.ARCHIVE_DIR}/{name}")
    if truncate_to is not None:
        data = tar.read_bytes()
        tar.write_bytes(data[:truncate_to])
    return tar


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("store")
    rows = philly.ingest(FIXTURES, path)
    return open_store(path), rows


def jobs_by_id(store) -> dict[str, dict]:
    df = store[0].scan("jobs").collect()
    return {r["job_id"].removeprefix(J): r for r in df.iter_rows(named=True)}


# ---- cluster_job_log: P1-P9 ---------------------------------------------------------------------
def test_rows_written(store) -> None:
    _, rows = store
    assert rows["philly"]["jobs"] == 9
    assert rows["philly"]["attempts"] == 11
    assert rows["philly"]["machines"] == 3
    # 8+8+8+2+8+16+8+8 values in the 8 data rows of cluster_gpu_util
    assert rows["philly"]["gpu_util"] == 66


def test_p1_two_attempts_localized(store) -> None:
    p1 = jobs_by_id(store)["14199"]
    assert p1["submit_time"] == utc(2017, 10, 7, 8, 11, 39)  # PDT = UTC-7
    assert p1["queue_s"] == 30.0
    assert p1["duration_s"] == pytest.approx(3221.05 * 60)  # spans both attempts
    assert p1["num_gpus"] == 8 and p1["num_nodes"] == 1 and p1["num_attempts"] == 2
    assert p1["status"] == "completed" and p1["raw_status"] == "Pass"
    assert p1["gpu_time_s"] == pytest.approx(8 * 3221.05 * 60)


def test_p2_empty_attempts(store) -> None:
    p2 = jobs_by_id(store)["90002"]
    assert p2["num_attempts"] == 0
    assert p2["start_time"] is None and p2["end_time"] is None
    assert p2["num_gpus"] is None and p2["queue_s"] is None
    assert p2["status"] == "canceled"


@pytest.mark.parametrize("suffix", ["90003", "90004"])
def test_p3_p4_censored(store, suffix: str) -> None:
    job = jobs_by_id(store)[suffix]
    assert job["status"] == "censored"
    assert job["end_time"] is None and job["duration_s"] is None and job["gpu_time_s"] is None
    assert job["start_time"] is not None


def test_p4_zero_queue_and_gpus(store) -> None:
    p4 = jobs_by_id(store)["90004"]
    assert p4["queue_s"] == 0.0 and p4["num_gpus"] == 2


def test_p5_missing_first_start_uses_first_known_start(store) -> None:
    p5 = jobs_by_id(store)["90005"]
    assert p5["start_time"] == utc(2017, 10, 10, 17, 6)
    assert p5["queue_s"] == 360.0 and p5["duration_s"] == 3600.0
    assert p5["status"] == "failed"


def test_p6_first_attempt_gpus_and_nodes(store) -> None:
    p6 = jobs_by_id(store)["10238"]
    assert p6["num_gpus"] == 8 and p6["num_nodes"] == 2
    assert p6["duration_s"] == pytest.approx(4929.9 * 60)
    att = store[0].scan("attempts").filter(pl.col("job_id") == J + "10238").collect()
    assert att["num_gpus"].to_list() == [8.0, 2.0]
    assert att["machines"][0].to_list() == ["m193", "m287"]
    assert att["gpus"][0].to_list()[:4] == ["m193/gpu0", "m193/gpu4", "m193/gpu5", "m193/gpu7"]


def test_p7_dst_localized_duration(store) -> None:
    p7 = jobs_by_id(store)["90007"]
    assert p7["duration_s"] == 210 * 60  # 00:30 PDT -> 03:00 PST; the naive value is 150 min


def test_p8_and_p9(store) -> None:
    jobs = jobs_by_id(store)
    assert jobs["12703"]["queue_s"] == 0.0 and jobs["12703"]["num_gpus"] == 8
    p9 = jobs["90009"]
    assert p9["start_time"] is None and p9["status"] == "censored" and p9["num_gpus"] == 1


def test_null_encodings_counted(store) -> None:
    q = store[0].manifest["partitions"]["philly/philly"]["quality"]
    assert q["philly.null_time.none_string"] == 1  # P3
    assert q["philly.null_time.json_null"] == 2  # P4 end, P5 start
    assert q["philly.null_time.empty"] == 2  # P9 start and end
    assert q["philly.job_no_attempts"] == 1
    assert q["philly.job_censored"] == 3


# ---- official notebook outputs on the fixture (computed by hand) --------------------------------
OFFICIAL = {  # suffix: (num_gpus, run_time_min, queueing_delay_min)
    "14199": (8, 3221.05, 0.5),
    "90002": (None, None, None),
    "90003": (1, None, 1.5),
    "90004": (2, None, 0.0),
    "90005": (1, None, None),
    "10238": (8, 4929.9, 0.58333),
    "90007": (1, 150.0, 1.0),
    "12703": (8, 3759.2333, 0.0),
    "90009": (1, None, None),
}


def _approx(v: float | None) -> object:
    return None if v is None else pytest.approx(v, abs=1e-4)


@pytest.mark.parametrize("suffix", sorted(OFFICIAL))
def test_official_job_attributes_raw(suffix: str) -> None:
    job = next(j for j in records() if j["jobid"] == J + suffix)
    gpus, run, queue = OFFICIAL[suffix]
    assert off.official_num_gpus(job) == gpus
    assert off.official_run_time_min(job) == _approx(run)
    assert off.official_queueing_delay_min(job) == _approx(queue)


def test_official_job_attributes_from_store(store) -> None:
    s = store[0]
    metrics = off.official_job_metrics(s.scan("jobs").collect(), s.scan("attempts").collect())
    by_id = {r["job_id"].removeprefix(J): r for r in metrics.iter_rows(named=True)}
    for suffix, (gpus, run, queue) in OFFICIAL.items():
        row = by_id[suffix]
        assert row["num_gpus_official"] == (None if gpus is None else float(gpus))
        assert row["run_time_min_official"] == _approx(run)
        assert row["queueing_delay_min_official"] == _approx(queue)


FIG3 = {
    "ee9e8c": {2: [0.11667, 0.5], 0: [1.5], 1: []},
    "2869ce": {2: [0.58333, 1.88333]},
    "6214e9": {0: [6.0]},
    "b436b2": {0: [1.0]},
}


def test_official_fig3_per_vc() -> None:
    got = off.official_fig3_queueing_delays(records())
    assert set(got) == set(FIG3)
    for vc, buckets in FIG3.items():
        assert set(got[vc]) == set(buckets), vc
        for b, values in buckets.items():
            assert got[vc][b] == [pytest.approx(v, abs=1e-4) for v in values]


def test_official_stale_value_is_reappended() -> None:
    job = {"submitted_time": "2017-10-10 10:00:00", "attempts": [
        {"start_time": "2017-10-10 10:05:00", "end_time": "2017-10-10 10:06:00", "detail": []},
        {"start_time": None, "end_time": "2017-10-10 10:07:00", "detail": []},
        {"start_time": "2017-10-10 10:09:00", "end_time": None, "detail": []},
    ]}
    # second attempt: stale 5.0 again; third: measured from the first attempt's end
    assert off.official_attempt_delays(job) == [5.0, 5.0, 3.0]
    p5 = next(j for j in records() if j["jobid"] == J + "90005")
    assert off.official_attempt_delays(p5) == [0.0, 6.0]


def test_attempt_queueing_delays_official_matches_fig3(store) -> None:
    s = store[0]
    jobs, attempts = s.scan("jobs").collect(), s.scan("attempts").collect()
    delays = off.attempt_queueing_delays(jobs, attempts, official=True)
    for vc, buckets in FIG3.items():
        for b, values in buckets.items():
            got = sorted(delays.filter((pl.col("vc") == vc) & (pl.col("bucket") == b))
                         ["delay_s"].to_list())
            assert got == [pytest.approx(v * 60, abs=0.01) for v in values]


def test_attempt_queueing_delays_store_definition(store) -> None:
    s = store[0]
    d = off.attempt_queueing_delays(s.scan("jobs").collect(), s.scan("attempts").collect(),
                                    official=False)
    by = {(r["job_id"].removeprefix(J), r["attempt"]): r["delay_s"]
          for r in d.iter_rows(named=True)}
    assert by[("90004", 0)] == 0.0  # zeros kept
    assert by[("12703", 0)] == 0.0
    assert by[("90005", 0)] is None  # no start
    assert by[("90005", 1)] == 60.0  # from the previous attempt's end, not from submission
    assert by[("14199", 1)] == 7.0


def test_official_run_times_buckets() -> None:
    runs = off.official_run_times(records())
    assert sorted(runs) == [0, 1, 2]
    assert runs[0] == [pytest.approx(150.0)]
    assert runs[1] == []


# ---- util files ---------------------------------------------------------------------------------
def test_official_gpu_util_loader_shapes() -> None:
    lines = (RAW / philly.GPU_UTIL).read_text().splitlines()
    util = off.load_official_gpu_util(lines)
    assert "2017-11-05 01:30:00" in util["m29"]
    lengths = [len(line.split(",")[2:-1]) for line in lines[1:]]
    assert lengths == [8, 8, 8, 2, 8, 16, 8, 8]
    assert util["m29"]["2017-11-27 00:04:00"][1] == ""
    p7 = next(j for j in records() if j["jobid"] == J + "90007")
    assert off.official_job_gpu_util(p7, util) == [10.0, 11.0, 13.0]


def test_official_host_util() -> None:
    assert off.official_cpu_util((RAW / philly.CPU_UTIL).read_text().splitlines()) == [31.845, 2.5]
    mem = off.official_mem_util((RAW / philly.MEM_UTIL).read_text().splitlines())
    assert mem == [pytest.approx(99.61559043760265)]


def gpu_rows(store, machine: str, when: datetime) -> list[float | None]:
    df = store[0].scan("gpu_util").filter(
        (pl.col("machine_id") == machine) & (pl.col("time") == when)
    ).sort("gpu").collect()
    return df["util"].to_list()


def test_gpu_util_long_layout(store) -> None:
    first = gpu_rows(store, "m29", utc(2017, 10, 3, 7, 8))
    assert first[0] == pytest.approx(60.8) and first[1] == pytest.approx(99.366666667)
    assert gpu_rows(store, "m29", utc(2017, 10, 3, 7, 9)) == [None] * 8  # all NA = offline
    assert gpu_rows(store, "m51", utc(2017, 10, 3, 7, 8))[:2] == [12.5, 0.0]  # NA padded
    assert len(gpu_rows(store, "m51", utc(2017, 10, 3, 7, 8))) == 8
    assert gpu_rows(store, "m52", utc(2017, 10, 3, 7, 8)) == [12.5, 0.0]  # short row


def test_gpu_util_dst_glued_row(store) -> None:
    assert gpu_rows(store, "m29", utc(2017, 11, 5, 7, 59))[0] == 10.0  # 00:59 PDT
    assert gpu_rows(store, "m29", utc(2017, 11, 5, 8, 30))[0] == 11.0  # 01:30 PDT
    assert gpu_rows(store, "m29", utc(2017, 11, 5, 9, 30))[0] == 12.0  # 01:30 PST (glued half)
    assert gpu_rows(store, "m29", utc(2017, 11, 5, 10, 0))[0] == 13.0  # 02:00 PST


def test_gpu_util_pst_empty_and_na(store) -> None:
    row = gpu_rows(store, "m29", utc(2017, 11, 27, 8, 4))
    assert row == [0.0, None, 100.0, 5.5, None, 0.0, 0.0, 0.0]
    q = store[0].manifest["partitions"]["philly/philly"]["quality"]
    assert q["philly.gpu_util_empty_value"] == 1
    assert q["philly.gpu_util_glued_dst_row"] == 1


def test_host_util(store) -> None:
    df = store[0].scan("host_util").collect()
    m29 = df.filter(pl.col("machine_id") == "m29").sort("time")
    first = m29.row(0, named=True)
    assert first["time"] == utc(2017, 10, 3, 7, 6)
    assert first["mem_total"] == pytest.approx(528272672.0)
    assert first["cpu_util"] is None
    cpu = m29.filter(pl.col("time") == utc(2017, 11, 27, 8, 4))["cpu_util"].to_list()
    assert cpu == [pytest.approx(31.845)]
    m30 = df.filter(pl.col("machine_id") == "m30").row(0, named=True)
    assert m30["mem_total"] is None and m30["mem_free"] is None  # mem_total 0 -> missing
    assert df.height == 6


def test_machines_capacity_and_issue8(store) -> None:
    m = store[0].scan("machines").collect().sort("machine_id")
    assert m["machine_id"].to_list() == ["m29", "m31", "m51"]
    assert m["num_gpus"].to_list() == [8.0, 8.0, 2.0]
    assert m["gpu_mem_gb"].to_list() == [24.0, 24.0, 12.0]
    cap = store[0].scan("capacity").collect()
    assert cap["vc"].null_count() == cap.height and set(cap["num_gpus"]) == {18.0}
    assert cap["date"].min().isoformat() == "2017-10-05"
    q = store[0].manifest["partitions"]["philly/philly"]["quality"]
    assert q["philly.machine_list_gpu_mismatch"] == 1  # m51: 8 GPUs used, 2 listed (warning)


def test_check_machine_list_names_m51() -> None:
    qc = QualityCounter()
    jobs, attempts = philly.parse_job_log(records(), "x", qc)
    with open(RAW / philly.MACHINE_LIST, "rb") as fh:
        machines = philly.read_machine_list(fh, "x", qc)
    bad = philly.check_machine_list(machines, attempts, qc)
    assert bad["machine_id"].to_list() == ["m51"] and bad["used"].to_list() == [8]


# ---- per-job GPU utilization --------------------------------------------------------------------
def test_job_gpu_minutes_p7(store) -> None:
    s = store[0]
    m = s.scan("job_gpu_minutes").collect()
    assert set(m["job_id"]) == {J + "90007"}
    assert m.sort("time")["util"].to_list() == [10.0, 11.0, 12.0, 13.0]
    assert not m["shared_server"].any()
    assert jobs_by_id(store)["90007"]["gpu_util_mean"] == pytest.approx(11.5)
    assert jobs_by_id(store)["14199"]["gpu_util_mean"] is None  # no util for m47/m412


def test_shared_server_and_minute_rule() -> None:
    t0 = utc(2017, 10, 3, 7, 0)
    attempts = pl.DataFrame({
        "job_id": ["a", "b", "c"],
        "attempt": [0, 0, 0],
        "start_time": [t0, utc(2017, 10, 3, 7, 2, 30), utc(2017, 10, 3, 7, 0, 10)],
        "end_time": [utc(2017, 10, 3, 7, 5), utc(2017, 10, 3, 7, 4), None],
        "machines": [["m1"], ["m1"], ["m2"]],
        "gpus": [["m1/gpu0"], ["m1/gpu1"], ["m2/gpu0"]],
        "num_gpus": [1.0, 1.0, 1.0],
    }, schema_overrides={"attempt": pl.Int32})
    util = pl.DataFrame({
        "time": [utc(2017, 10, 3, 7, i) for i in range(7)] * 3,
        "machine_id": ["m1"] * 7 + ["m1"] * 7 + ["m2"] * 7,
        "gpu": [0] * 7 + [1] * 7 + [0] * 7,
        "util": [float(i) for i in range(21)],
    }, schema_overrides={"gpu": pl.Int8, "util": pl.Float32})
    iv = philly.gpu_intervals(attempts)
    out = philly.join_job_minutes(util, iv, philly.shared_segments(iv))
    a = out.filter(pl.col("job_id") == "a").sort("time")
    assert [t.minute for t in a["time"]] == [0, 1, 2, 3, 4]  # floor(start) <= m < end
    assert a["shared_server"].to_list() == [False, False, True, True, False]
    b = out.filter(pl.col("job_id") == "b").sort("time")
    assert [t.minute for t in b["time"]] == [2, 3]  # start 07:02:30 floors to 07:02
    c = out.filter(pl.col("job_id") == "c")
    assert c.height == 7 and not c["shared_server"].any()  # censored: open-ended


def test_double_booking_counted() -> None:
    t = utc(2017, 10, 3, 7, 0)
    attempts = pl.DataFrame({
        "job_id": ["a", "b"], "attempt": [0, 0], "start_time": [t, t],
        "end_time": [utc(2017, 10, 3, 8), utc(2017, 10, 3, 8)],
        "machines": [["m1"], ["m1"]], "gpus": [["m1/gpu0"], ["m1/gpu0"]],
        "num_gpus": [1.0, 1.0],
    }, schema_overrides={"attempt": pl.Int32})
    qc = QualityCounter()
    philly.gpu_intervals(attempts, qc)
    assert qc.counts["philly.gpu_double_booked"] == 1


# ---- inputs: tarball, chunking, store round trip, synthetic --------------------------------------
def test_tarball_equals_folder(store, tmp_path: Path) -> None:
    tar = make_tarball(tmp_path)
    rows = philly.ingest(tar, tmp_path / "s")
    assert rows == store[1]
    a = open_store(tmp_path / "s").scan("jobs").collect().sort("job_id")
    b = store[0].scan("jobs").collect().sort("job_id")
    assert a.equals(b)
    src = open_store(tmp_path / "s").manifest["partitions"]["philly/philly"]["sources"]
    assert src[0]["path"] == philly.ARCHIVE_NAME and len(src[0]["sha256"]) == 64


def test_folder_holding_the_tarball(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    make_tarball(tmp_path / "raw")
    rows = philly.ingest(tmp_path / "raw", tmp_path / "s")
    assert rows["philly"]["jobs"] == 9


def test_small_chunks_give_same_rows() -> None:
    def read(chunk: int) -> pl.DataFrame:
        with open(RAW / philly.GPU_UTIL, "rb") as fh:
            return pl.concat(list(philly.iter_gpu_util(fh, "x", QualityCounter(),
                                                       chunk_bytes=chunk)))
    keys = ["time", "machine_id", "gpu"]
    assert read(37).sort(keys).equals(read(1 << 20).sort(keys))


def test_fast_and_exact_paths_agree() -> None:
    lines = pl.Series("line", (RAW / philly.GPU_UTIL).read_text().splitlines())
    df = pl.DataFrame({"line": lines}).with_row_index("lineno", offset=1).slice(1)
    qa, qb = QualityCounter(), QualityCounter()
    keys = ["time", "machine_id", "gpu"]
    fast = philly._gpu_chunk_fast(df, "x", qa).sort(keys)
    exact = philly._gpu_chunk(df, "x", qb).sort(keys)
    assert fast.equals(exact)
    assert qa.nonzero() == qb.nonzero()


def test_reingest_replaces_and_marks_synthetic(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURES, raw)
    philly.ingest(raw, tmp_path / "s")
    assert not open_store(tmp_path / "s").is_synthetic("philly")
    (raw / "SYNTHETIC.json").write_text(json.dumps({"generator": "test", "seed": 1}))
    philly.ingest(raw, tmp_path / "s")
    s = open_store(tmp_path / "s")
    assert s.is_synthetic("philly")
    assert s.rows().filter(pl.col("table") == "jobs")["rows"].to_list() == [9]
    assert len(list((tmp_path / "s" / "jobs").rglob("*.parquet"))) == 1


def test_optional_files_missing_are_counted(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(RAW / philly.JOB_LOG, raw)
    rows = philly.ingest(raw, tmp_path / "s")
    assert "gpu_util" not in rows["philly"] and rows["philly"]["jobs"] == 9
    q = open_store(tmp_path / "s").manifest["partitions"]["philly/philly"]["quality"]
    assert q["philly.missing_file.cluster_gpu_util"] == 1


def test_clusters_argument() -> None:
    with pytest.raises(ValueError, match="one cluster"):
        philly.ingest(FIXTURES, "unused", clusters=["Venus", "Earth"])
    with pytest.raises(ValueError, match="cluster names are letters"):
        philly.ingest(FIXTURES, "unused", clusters=["../up"])


def test_another_cluster_in_the_philly_format_has_no_philly_window(tmp_path: Path) -> None:
    # A Philly-format log of another cluster (e.g. an export of a 2020 trace) is stored under
    # its own name, without Philly's 2017 window; read as Microsoft's cluster, 2020 is refused.
    raw = tmp_path / "raw"
    raw.mkdir()
    text = (RAW / philly.JOB_LOG).read_text()
    (raw / philly.JOB_LOG).write_text(text.replace('"2017-', '"2020-'))
    assert philly.ingest(raw, tmp_path / "s", clusters=["mine"])["mine"]["jobs"] == 9
    jobs = open_store(tmp_path / "s").jobs("philly", "mine").collect()
    assert jobs["submit_time"].dt.year().unique().to_list() == [2020]
    with pytest.raises(TraceFormatError, match="outside the Philly trace's window"):
        philly.ingest(raw, tmp_path / "s2")


# ---- bad input --------------------------------------------------------------------------------
def copy_raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    return raw


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    raw = copy_raw(tmp_path)
    text = (raw / philly.JOB_LOG).read_text().replace("},{", "},\n{")
    (raw / philly.JOB_LOG).write_text(text.replace('"vc": "6214e9"', '"vc": 6214e9,'))
    for lenient in (False, True):
        with pytest.raises(TraceFormatError) as err:
            philly.ingest(raw, tmp_path / "s", lenient=lenient)
        assert err.value.path.endswith(philly.JOB_LOG) and err.value.line == 5
    assert not (tmp_path / "s" / "manifest.json").exists()


def test_bad_job_object_strict_and_lenient(tmp_path: Path) -> None:
    raw = copy_raw(tmp_path)
    data = records()
    del data[3]["user"]
    data[4]["submitted_time"] = "2017-13-45 00:00:00"
    (raw / philly.JOB_LOG).write_text(json.dumps(data))
    with pytest.raises(TraceFormatError, match="missing keys"):
        philly.ingest(raw, tmp_path / "s")
    rows = philly.ingest(raw, tmp_path / "s", lenient=True)
    # The job whose submission time is unreadable has no submit_time, which the store contract
    # requires: it is dropped and counted, not stored with a null.
    assert rows["philly"]["jobs"] == 7
    q = open_store(tmp_path / "s").manifest["partitions"]["philly/philly"]["quality"]
    assert q["philly.bad_job_record"] == 1 and q["philly.bad_time"] == 1
    assert q["philly.jobs.submit_time_missing_row_dropped"] == 1


def test_truncated_tarball(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.mkdir()
    for name in philly.FILE_NAMES:
        shutil.copy(RAW / name, big)
    # Make the archive large enough that truncation hits a member's data.
    lines = (RAW / philly.GPU_UTIL).read_text().splitlines()
    (big / philly.GPU_UTIL).write_text("\n".join([lines[0]] + lines[1:3] * 4000) + "\n")
    full = make_tarball(tmp_path, big)
    size = full.stat().st_size
    make_tarball(tmp_path, big, truncate_to=size // 2)
    with pytest.raises(TraceFormatError, match="truncated or corrupt") as err:
        philly.ingest(full, tmp_path / "s")
    assert philly.ARCHIVE_NAME in err.value.path


def test_lfs_pointer_is_rejected(tmp_path: Path) -> None:
    ptr = tmp_path / philly.ARCHIVE_NAME
    ptr.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:2037\nsize 1055988361\n")
    with pytest.raises(TraceFormatError, match="LFS pointer"):
        philly.ingest(ptr, tmp_path / "s")


def test_missing_job_log(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match="cluster_job_log not found"):
        philly.ingest(tmp_path, tmp_path / "s")


def test_bad_util_timestamp_names_line(tmp_path: Path) -> None:
    raw = copy_raw(tmp_path)
    lines = (raw / philly.GPU_UTIL).read_text().splitlines()
    lines[4] = lines[4].replace(" PDT", " XYZ")  # line 5 of the file
    (raw / philly.GPU_UTIL).write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError) as err:
        philly.ingest(raw, tmp_path / "s")
    assert err.value.line == 5 and err.value.path.endswith(philly.GPU_UTIL)
    rows = philly.ingest(raw, tmp_path / "s", lenient=True)
    assert rows["philly"]["gpu_util"] == 64
    q = open_store(tmp_path / "s").manifest["partitions"]["philly/philly"]["quality"]
    assert q["philly.gpu_util_bad_row"] == 1


def test_bad_util_value_and_line_numbers_across_chunks() -> None:
    text = (RAW / philly.GPU_UTIL).read_text().replace("63.333333333", "x63")
    with pytest.raises(TraceFormatError) as err:
        list(philly.iter_gpu_util(io.BytesIO(text.encode()), "f", QualityCounter(),
                                  chunk_bytes=50))
    assert err.value.line == 2
    qc = QualityCounter(lenient=True)
    list(philly.iter_gpu_util(io.BytesIO(text.encode()), "f", qc, chunk_bytes=50))
    assert qc.counts["philly.gpu_util_bad_value"] == 1


def test_bad_cpu_row(tmp_path: Path) -> None:
    text = (RAW / philly.CPU_UTIL).read_text() + "2017-11-27 00:06:00 PST,m29\n"
    with pytest.raises(TraceFormatError) as err:
        list(philly.iter_host_util(io.BytesIO(text.encode()), "cpu", "cpu", QualityCounter()))
    assert err.value.line == 5


def test_bad_machine_list_row() -> None:
    text = (RAW / philly.MACHINE_LIST).read_text() + "m99,eight, 24GB\n"
    with pytest.raises(TraceFormatError) as err:
        philly.read_machine_list(io.BytesIO(text.encode()), "ml", QualityCounter())
    assert err.value.line == 5


def test_format_constants() -> None:
    assert philly.GPU_UTIL_HEADER.startswith("time,machineId,gpu0_util")
    assert philly.MACHINE_LIST_HEADER == "machineId, number of GPUs, single GPU mem"
    assert philly.UTIL_TIME_SUFFIXES == {" PDT": -7, " PST": -8}
    assert (RAW / philly.GPU_UTIL).read_text().splitlines()[0] == philly.GPU_UTIL_HEADER


def test_host_util_buckets_agree(tmp_path: Path) -> None:
    def joined(buckets: int) -> pl.DataFrame:
        folder = tmp_path / f"b{buckets}"
        folder.mkdir()
        join = philly._HostUtilJoin(folder, buckets)
        qc = QualityCounter()
        for name, kind in ((philly.CPU_UTIL, "cpu"), (philly.MEM_UTIL, "mem")):
            with open(RAW / name, "rb") as fh:
                for frame in philly.iter_host_util(fh, name, kind, qc):
                    join.add(kind, frame)
        return pl.concat(list(join.finish())).sort("time", "machine_id")

    one, four = joined(1), joined(4)
    assert one.height == 6 and one.equals(four)


def test_bad_gpu_id_and_time_type() -> None:
    data = records()
    data[0]["attempts"][0]["detail"][0]["gpus"][0] = "gpuX"
    with pytest.raises(TraceFormatError, match="GPU ids"):
        philly.parse_job_log(data, "log", QualityCounter())
    data[5]["attempts"][0]["start_time"] = 1507000000
    qc = QualityCounter(lenient=True)
    jobs, attempts = philly.parse_job_log(data, "log", qc)
    assert jobs.height == 7 and qc.counts["philly.bad_job_record"] == 2
    assert J + "14199" not in jobs["job_id"].to_list()
    assert set(attempts["job_id"]) <= set(jobs["job_id"])


@pytest.mark.parametrize("edit", ["none", "numeric_vc", "extra_key", "missing_attempt_key"])
def test_native_and_exact_job_log_paths_agree(edit: str) -> None:
    data = records()
    if edit == "numeric_vc":
        data[2]["vc"] = 6214
    elif edit == "extra_key":
        data[2]["queue"] = "x"
    elif edit == "missing_attempt_key":
        del data[0]["attempts"][1]["end_time"]
    raw = json.dumps(data).encode()
    qa, qb = QualityCounter(lenient=True), QualityCounter(lenient=True)
    fast = philly._frames_from_json_bytes(raw, QualityCounter())
    assert (fast is not None) == (edit == "none")  # anything unusual takes the exact path
    ja, aa = philly.read_job_log(io.BytesIO(raw), "log", qa)
    jb, ab = philly.parse_job_log(json.loads(raw), "log", qb)
    assert ja.equals(jb) and aa.equals(ab) and qa.counts == qb.counts
    if edit != "none":
        assert qa.counts.get("philly.bad_job_record", 0) + qa.counts.get(
            "philly.job_extra_keys", 0) == 1


def test_dispatch_and_progress(tmp_path: Path) -> None:
    from tracekit.sources import ingest as ingest_trace

    calls: list[tuple[str, int, int | None]] = []
    rows = ingest_trace("philly", FIXTURES, tmp_path / "s",
                        on_progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert rows["philly"]["jobs"] == 9
    stages = {c[0] for c in calls}
    assert set(philly.FILE_NAMES) <= stages and "job_gpu_minutes" in stages
    size = (RAW / philly.GPU_UTIL).stat().st_size
    assert (philly.GPU_UTIL, size, size) in calls
