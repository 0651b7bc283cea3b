"""Tests of the PAI v2020 reader on the fixtures and the real machine spec."""

from __future__ import annotations

import json
import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from tracekit.errors import TraceFormatError
from tracekit.sources import pai
from tracekit.store import open_store
from tracekit.timeutil import PAI_SHIFT_S

FIXTURES = Path(__file__).parents[1] / "fixtures" / "pai"
WORKER = "dddd" + "0" * 54 + "{:02d}"


def _job(n: int) -> str:
    return f"aaaa{n:020d}"


def _copy_fixtures(dest: Path, headers: bool = True) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in FIXTURES.iterdir():
        if headers or f.suffix != ".header":
            shutil.copy(f, dest / f.name)
    return dest


def _ingest(raw: Path, tmp: Path, **kwargs) -> tuple[dict, object]:
    store = tmp / "store"
    rows = pai.ingest(raw, store, **kwargs)
    return rows, open_store(store)


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("pai")
    rows, store = _ingest(FIXTURES, tmp)
    return rows, store


def _table(store, name: str) -> pl.DataFrame:
    return store.scan(name, trace="pai").collect()


def _jobs(store) -> dict[str, dict]:
    return {r["job_id"]: r for r in _table(store, "jobs").iter_rows(named=True)}


def _shift(raw_s: float) -> datetime:
    return datetime.fromtimestamp(raw_s + PAI_SHIFT_S, UTC)


# ---- fixture ingest: row counts, manifest --------------------------------------------------------
def test_rows_and_manifest(fixture_store) -> None:
    rows, store = fixture_store
    assert rows == {
        "pai": {
            "capacity": 6,
            "instances": 11,
            "jobs": 7,
            "machine_metric": 2,
            "machines": 12,
            "sensors": 6,
            "tasks": 8,
        }
    }
    part = store.manifest["partitions"]["pai/pai"]
    assert part["synthetic"] is False
    assert part["time_shift_s"] == PAI_SHIFT_S
    assert part["timezone"] == "Asia/Shanghai"
    assert part["time_origin"] == datetime.fromtimestamp(PAI_SHIFT_S, UTC).isoformat()
    names = {s["path"] for s in part["sources"]}
    assert {f"{n}.csv" for n in pai.RAW_TABLES} | {f"{n}.header" for n in pai.RAW_TABLES} == names
    spec = next(s for s in part["sources"] if s["path"] == "pai_machine_spec.csv")
    assert spec["bytes"] == (FIXTURES / "pai_machine_spec.csv").stat().st_size
    assert len(spec["sha256"]) == 64


def test_quality_counts(fixture_store) -> None:
    _, store = fixture_store
    q = store.manifest["partitions"]["pai/pai"]["quality"]
    assert q["pai.instance.duplicate_worker_name"] == 1  # job 2 worker W03: failed try + retry
    assert q["pai.instance.empty_worker_name"] == 1  # job 5
    assert q["pai.instance.start_time_zero"] == 1  # job 4, W06
    assert q["pai.instance.end_time_zero"] == 1
    assert q["pai.task.start_time_zero"] == 1  # job 4 task
    assert q["pai.job.without_group_tag"] == 3  # jobs 3, 4, 5
    assert q["pai.job.never_started"] == 1  # job 4
    assert q.get("pai.unparseable_row", 0) == 0 and q.get("pai.blank_line", 0) == 0
    for rule in ("pai.job.unknown_status", "pai.task.without_instances", "pai.machine.duplicate"):
        assert q[rule] == 0  # checked, did not fire


# ---- time mapping -------------------------------------------------------------------------------
def test_time_mapping_keeps_hour_and_weekday(fixture_store) -> None:
    _, store = fixture_store
    j7 = _jobs(store)[_job(7)]
    # raw 494319.0 -> 1970-01-07 01:18:39+08:00, a Wednesday.
    local = j7["submit_time"].astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute, local.second, local.isoweekday()) == (1, 18, 39, 3)
    assert j7["submit_time"] == _shift(494319.0)
    assert PAI_SHIFT_S % (7 * 86400) == 0


# ---- tasks ---------------------------------------------------------------------------------------
def test_tasks_units_and_official_definitions(fixture_store) -> None:
    _, store = fixture_store
    t = {(r["job_name"], r["task_name"]): r for r in _table(store, "tasks").iter_rows(named=True)}
    j1 = t[(_job(1), "tensorflow")]
    assert (j1["plan_gpu"], j1["num_gpus"], j1["plan_cpu"], j1["plan_mem_gb"]) == (
        0.5,
        0.5,
        6.0,
        29.296875,
    )
    assert (j1["queue_s"], j1["duration_s"]) == (21.0, 516.0)
    ps = t[(_job(2), "ps")]
    assert ps["plan_gpu"] is None and ps["num_gpus"] is None and ps["gpu_type"] is None
    worker = t[(_job(2), "worker")]
    assert worker["num_gpus"] == 2.0 and worker["num_cpus"] == 8.0
    # Official: duplicates not removed -> earliest start is the failed try, mean of 3 runtimes.
    assert worker["queue_s"] == 18.0
    assert worker["duration_s"] == pytest.approx((120 + 5600 + 5790) / 3)
    j3 = t[(_job(3), "PyTorchWorker")]
    assert j3["end_time"] is None and j3["duration_s"] is None and j3["queue_s"] == 100.0
    j4 = t[(_job(4), "worker")]
    assert j4["start_time"] is None and j4["queue_s"] is None and j4["num_gpus"] == 0.25
    assert t[(_job(6), "worker")]["num_gpus"] == 16.0
    assert t[(_job(7), "OssToVolumeWorker")]["num_gpus"] is None
    assert t[(_job(7), "OssToVolumeWorker")]["inst_num"] == 1.0


# ---- instances, sensors, machine metric ----------------------------------------------------------
def test_instances_keep_every_record(fixture_store) -> None:
    _, store = fixture_store
    inst = _table(store, "instances")
    assert inst.height == 11
    w03 = inst.filter(pl.col("worker_name") == WORKER.format(3)).sort("start_time")
    assert w03["status"].to_list() == ["Failed", "Terminated"]
    assert w03["duration_s"].to_list() == [120.0, 5600.0]
    w06 = inst.filter(pl.col("worker_name") == WORKER.format(6)).row(0, named=True)
    # 0.0 start AND end are missing (the official code forgets the end).
    assert w06["start_time"] is None and w06["end_time"] is None and w06["machine"] is None
    empty = inst.filter(pl.col("worker_name").is_null())
    assert empty["job_name"].to_list() == [_job(5)]
    assert empty["duration_s"].to_list() == [290.0]
    w05 = inst.filter(pl.col("worker_name") == WORKER.format(5)).row(0, named=True)
    assert w05["end_time"] is None and w05["duration_s"] is None
    assert inst["inst_id"].str.len_chars().unique().to_list() == [60]


def test_sensors_and_machine_metric(fixture_store) -> None:
    _, store = fixture_store
    s = _table(store, "sensors")
    assert s.height == 6
    w09 = s.filter(pl.col("worker_name") == WORKER.format(9)).row(0, named=True)
    assert w09["gpu_wrk_util"] is None and w09["cpu_usage"] == 2300.0 and w09["read"] == 4.9e7
    w10 = s.filter(pl.col("worker_name") == WORKER.format(10)).row(0, named=True)
    metrics = [w10[c] for c in pai.NUMERIC_COLUMNS[pai.SENSOR_TABLE]]
    assert metrics == [None] * 10 and w10["gpu_name"] is None
    w08 = s.filter(pl.col("worker_name") == WORKER.format(8)).row(0, named=True)
    assert w08["gpu_wrk_util"] == 612.5 and w08["gpu_name"] == "/dev/nvidia0"
    m = _table(store, "machine_metric").sort("start_time")
    assert m["start_time"].to_list() == [_shift(3000050), _shift(4550900)]
    assert m.row(0, named=True)["machine_gpu"] is None
    assert m.row(1, named=True)["machine_gpu"] == pytest.approx(87.82875849911859)


# ---- jobs ----------------------------------------------------------------------------------------
def test_jobs_aggregation(fixture_store) -> None:
    _, store = fixture_store
    jobs = _jobs(store)
    assert len(jobs) == 7
    j1 = jobs[_job(1)]
    assert j1["job_name"] == _job(1) and j1["vc"] is None and j1["user"] == "cccc00000001"
    assert (j1["num_gpus"], j1["gpu_type"], j1["status"], j1["raw_status"]) == (
        0.5,
        "MISC",
        "completed",
        "Terminated",
    )
    assert (j1["queue_s"], j1["duration_s"], j1["gpu_time_s"]) == (21.0, 516.0, 258.0)
    assert j1["group_tag"] == "99990000000000000000000000000001" and j1["workload"] is None
    assert j1["gpu_util_mean"] == 16.0625 and j1["num_nodes"] == 1
    j2 = jobs[_job(2)]
    # ps (CPU role) counts 0 GPUs; worker 2; start = ps instance at 1739170; end 1745000.
    assert (j2["num_gpus"], j2["gpu_type"], j2["workload"]) == (2.0, "T4", "ctr")
    assert j2["start_time"] == _shift(1739170) and j2["end_time"] == _shift(1745000)
    assert (j2["queue_s"], j2["duration_s"], j2["num_nodes"]) == (8.0, 5830.0, 3)
    assert j2["num_cpus"] == 6.0 + 8.0 and j2["mem_gb"] == pytest.approx(29.296875 * 2)
    assert j2["gpu_util_mean"] == pytest.approx((85.5 + 80.25) / 2)
    j3 = jobs[_job(3)]
    assert (j3["status"], j3["end_time"], j3["duration_s"], j3["queue_s"]) == (
        "censored",
        None,
        None,
        100.0,
    )
    assert j3["group_tag"] is None  # no tag row: null (the official code fills in the user)
    j4 = jobs[_job(4)]
    assert (j4["status"], j4["raw_status"], j4["start_time"], j4["num_gpus"]) == (
        "censored",
        "Waiting",
        None,
        0.25,
    )
    assert j4["submit_time"] == _shift(6100000) and j4["num_nodes"] is None
    j5 = jobs[_job(5)]
    # Failed job with empty job end_time: the end comes from its instance.
    assert (j5["status"], j5["end_time"], j5["duration_s"]) == ("failed", _shift(2000300), 290.0)
    assert j5["gpu_util_mean"] is None  # no sensor rows
    j6 = jobs[_job(6)]
    assert (j6["num_gpus"], j6["gpu_type"], j6["gpu_util_mean"]) == (16.0, "V100M32", 612.5)
    assert j6["duration_s"] == 3090000 - 3000050
    j7 = jobs[_job(7)]
    assert (j7["num_gpus"], j7["gpu_type"], j7["gpu_time_s"]) == (0.0, None, 0.0)
    assert j7["gpu_util_mean"] is None  # all sensor metrics empty: null, not 0


def test_job_gpus_match_fixture_list(fixture_store) -> None:
    # Official code on the fixture: per job 0.5, 2.0, 1.0, 0.25, 0.5, 16.0, NaN (CPU-only -> 0).
    jobs = _jobs(fixture_store[1])
    assert [jobs[_job(n)]["num_gpus"] for n in range(1, 8)] == [0.5, 2.0, 1.0, 0.25, 0.5, 16.0, 0.0]


def test_dispatcher_reads_pai(tmp_path: Path) -> None:
    from tracekit.sources import ingest as ingest_trace

    assert ingest_trace("pai", FIXTURES, tmp_path / "store")["pai"]["tasks"] == 8


def test_jobs_columns_follow_schema(fixture_store) -> None:
    from tracekit.schema import JOBS

    _, store = fixture_store
    jobs = _table(store, "jobs")
    assert jobs.columns[2:] == JOBS.names
    assert set(jobs["status"]) <= {"completed", "failed", "censored"}
    assert jobs["job_id"].n_unique() == jobs.height


# ---- machines and capacity -----------------------------------------------------------------------
def test_machines_and_capacity_fixture(fixture_store) -> None:
    _, store = fixture_store
    m = _table(store, "machines")
    row = m.filter(pl.col("machine_id") == "ffff00000000000000000005").row(0, named=True)
    assert (row["num_gpus"], row["gpu_type"], row["num_cpus"], row["mem_gb"]) == (
        8.0,
        "V100M32",
        96.0,
        384.0,
    )
    assert row["gpu_mem_gb"] is None
    cap = _table(store, "capacity")
    assert cap["date"].null_count() == 0
    assert cap["date"].unique().to_list() == [pai.CAPACITY_DATE]
    assert dict(zip(cap["vc"], cap["num_gpus"], strict=True)) == {
        "CPU": 0.0,
        "MISC": 16.0,
        "P100": 2.0,
        "T4": 4.0,
        "V100": 16.0,
        "V100M32": 24.0,
    }
    first_submit = _table(store, "jobs")["submit_time"].min()
    assert pai.CAPACITY_DATE <= first_submit.date()


@pytest.mark.parametrize("with_header", [True, False])
def test_real_machine_spec_ingests_exactly(
    tmp_path: Path, real_data: Path, with_header: bool
) -> None:
    raw = _copy_fixtures(tmp_path / "raw")
    shutil.copy(real_data / "pai" / "pai_machine_spec.csv", raw / "pai_machine_spec.csv")
    if not with_header:
        (raw / "pai_machine_spec.header").unlink()
    _, store = _ingest(raw, tmp_path)
    m = _table(store, "machines")
    assert m.height == 1897 and m["machine_id"].n_unique() == 1897
    assert m["num_gpus"].sum() == 6742
    assert m["num_cpus"].sum() == 156576 and m["mem_gb"].sum() == 948224
    per_type = dict(m.group_by("gpu_type").len().iter_rows())
    assert per_type == {"P100": 798, "T4": 497, "MISC": 280, "V100M32": 135, "V100": 104, "CPU": 83}
    gpus = dict(m.group_by("gpu_type").agg(pl.col("num_gpus").sum()).iter_rows())
    assert gpus == {
        "MISC": 2240,
        "P100": 1596,
        "V100M32": 1080,
        "T4": 994,
        "V100": 832,
        "CPU": 0,
    }
    configs = m.group_by("gpu_type", "num_cpus", "mem_gb", "num_gpus").len()
    assert configs.height == 7
    assert m.row(0, named=True)["machine_id"] == "7399a758eb02bae1a3621236"  # first line kept
    cap = _table(store, "capacity")
    assert cap["num_gpus"].sum() == 6742
    part = store.manifest["partitions"]["pai/pai"]
    src = next(s for s in part["sources"] if s["path"] == "pai_machine_spec.csv")
    assert src["sha256"] == "251e9e33649155a6a935fdc1dc0e90cd4698206936b60bd8fce60ff2ccd51439"
    expected = "pai_machine_spec.header" if with_header else "built-in"
    assert part["extra"]["headers"]["pai_machine_spec"] == expected


# ---- archives ------------------------------------------------------------------------------------
def _make_archives(raw: Path, dest: Path, prefix: str = "") -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in pai.RAW_TABLES:
        with tarfile.open(dest / f"{name}.tar.gz", "w:gz") as tar:
            tar.add(raw / f"{name}.csv", arcname=f"{prefix}{name}.csv")
        shutil.copy(raw / f"{name}.header", dest / f"{name}.header")
    return dest


def _frames(store) -> dict[str, pl.DataFrame]:
    return {t: _table(store, t).sort(pl.all()) for t in ("jobs", "tasks", "instances", "sensors")}


def test_archives_equal_folder(tmp_path: Path, fixture_store) -> None:
    _, folder_store = fixture_store
    arch = _make_archives(FIXTURES, tmp_path / "arch")
    calls: list[tuple[str, int, int]] = []
    _, store = _ingest(arch, tmp_path, on_progress=lambda *a: calls.append(a))
    # Progress counts compressed bytes read, so it ends at the archive size.
    last = {name: (done, total) for name, done, total in calls}
    assert all(done <= total for done, total in last.values())
    for table, frame in _frames(store).items():
        assert frame.equals(_frames(folder_store)[table]), table
    part = store.manifest["partitions"]["pai/pai"]
    job_src = next(s for s in part["sources"] if s["path"] == "pai_job_table.tar.gz")
    assert job_src["bytes"] == (arch / "pai_job_table.tar.gz").stat().st_size
    import hashlib

    assert (
        job_src["sha256"]
        == hashlib.sha256((arch / "pai_job_table.tar.gz").read_bytes()).hexdigest()
    )


def test_archive_member_in_subfolder_and_blocks(tmp_path: Path, fixture_store) -> None:
    _, folder_store = fixture_store
    arch = _make_archives(FIXTURES, tmp_path / "arch", prefix="./data/")
    # Tiny blocks: lines split across reads must still parse the same.
    _, store = _ingest(arch, tmp_path, block_bytes=97)
    for table, frame in _frames(store).items():
        assert frame.equals(_frames(folder_store)[table]), table


def test_split_archive_parts(tmp_path: Path, fixture_store) -> None:
    # The public mirror splits big archives into .partaa, .partab, ... (reassembled by cat).
    arch = _make_archives(FIXTURES, tmp_path / "arch")
    whole = arch / "pai_instance_table.tar.gz"
    data = whole.read_bytes()
    whole.unlink()
    cut = len(data) // 3
    for suffix, chunk in zip(
        ("aa", "ab", "ac"), (data[:cut], data[cut : 2 * cut], data[2 * cut :]), strict=True
    ):
        (arch / f"pai_instance_table.tar.gz.part{suffix}").write_bytes(chunk)
    _, store = _ingest(arch, tmp_path)
    assert _frames(store)["instances"].equals(_frames(fixture_store[1])["instances"])
    part = store.manifest["partitions"]["pai/pai"]
    src = next(s for s in part["sources"] if s["path"] == "pai_instance_table.tar.gz")
    import hashlib

    assert src["sha256"] == hashlib.sha256(data).hexdigest() and src["bytes"] == len(data)
    assert len(src["parts"]) == 3


def test_truncated_archive_names_file(tmp_path: Path) -> None:
    arch = _make_archives(FIXTURES, tmp_path / "arch")
    path = arch / "pai_instance_table.tar.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TraceFormatError, match="pai_instance_table") as err:
        pai.ingest(arch, tmp_path / "store")
    assert "truncated or corrupt" in str(err.value)
    assert not (tmp_path / "store" / "manifest.json").exists()  # nothing committed


def test_archive_without_member_and_lfs_pointer(tmp_path: Path) -> None:
    arch = _make_archives(FIXTURES, tmp_path / "arch")
    with tarfile.open(arch / "pai_job_table.tar.gz", "w:gz") as tar:
        tar.add(FIXTURES / "pai_task_table.csv", arcname="other.csv")
    with pytest.raises(TraceFormatError, match="no member named pai_job_table.csv"):
        pai.ingest(arch, tmp_path / "store")
    (arch / "pai_job_table.tar.gz").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:5aad\nsize 62065432\n"
    )
    with pytest.raises(TraceFormatError, match="Git LFS pointer"):
        pai.ingest(arch, tmp_path / "store")


def test_missing_file_names_it(tmp_path: Path) -> None:
    raw = _copy_fixtures(tmp_path / "raw")
    (raw / "pai_sensor_table.csv").unlink()
    with pytest.raises(TraceFormatError, match=r"pai_sensor_table\.tar\.gz"):
        pai.ingest(raw, tmp_path / "store")
    with pytest.raises(TraceFormatError, match="expected a folder"):
        pai.ingest(tmp_path / "nowhere", tmp_path / "store")


# ---- bad input -----------------------------------------------------------------------------------
def _corrupt(raw: Path, table: str, line_no: int, new_line: str) -> Path:
    path = raw / f"{table}.csv"
    lines = path.read_text().splitlines()
    lines[line_no - 1] = new_line
    path.write_text("\n".join(lines) + "\n")
    return path


def test_wrong_field_count_strict_and_lenient(tmp_path: Path) -> None:
    raw = _copy_fixtures(tmp_path / "raw")
    _corrupt(raw, "pai_task_table", 3, "aaaa00000000000000000002,worker,2.0,Terminated")
    with pytest.raises(TraceFormatError) as err:
        pai.ingest(raw, tmp_path / "store")
    assert err.value.line == 3 and err.value.path.endswith("pai_task_table.csv")
    assert "expected 10 comma-separated fields, found 4" in str(err.value)
    rows, store = _ingest(raw, tmp_path, lenient=True)
    assert rows["pai"]["tasks"] == 7
    q = store.manifest["partitions"]["pai/pai"]["quality"]
    assert q["pai.unparseable_row"] == 1
    assert q["pai.instance.without_task"] == 3  # job 2 worker's instance records


def test_offsetting_field_counts_are_caught(tmp_path: Path) -> None:
    # One line with an extra field and one with a missing field: the comma total is right.
    raw = _copy_fixtures(tmp_path / "raw")
    path = raw / "pai_job_table.csv"
    lines = path.read_text().splitlines()
    lines[1] += ",extra"
    lines[2] = lines[2].rsplit(",", 1)[0]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError) as err:
        pai.ingest(raw, tmp_path / "store")
    assert err.value.line == 2 and "found 7" in str(err.value)
    rows, store = _ingest(raw, tmp_path, lenient=True)
    assert rows["pai"]["jobs"] == 5
    assert store.manifest["partitions"]["pai/pai"]["quality"]["pai.unparseable_row"] == 2


def test_non_numeric_time_strict_and_lenient(tmp_path: Path) -> None:
    raw = _copy_fixtures(tmp_path / "raw")
    bad = (
        "aaaa00000000000000000009,worker,eeee00000000000000000000000000000000000000000000000000000099,"
        "dddd00000000000000000000000000000000000000000000000000000099,"
        "bbbb00000000000000000000000000000000000000000000000000000009,Terminated,yesterday,5.0,"
    )
    path = raw / "pai_instance_table.csv"
    path.write_text(path.read_text() + bad + "\n")
    with pytest.raises(TraceFormatError) as err:
        pai.ingest(raw, tmp_path / "store", block_bytes=300)  # error found in a later block
    assert err.value.line == 12 and "start_time" in str(err.value) and "yesterday" in str(err.value)
    rows, store = _ingest(raw, tmp_path, lenient=True, block_bytes=300)
    assert rows["pai"]["instances"] == 11
    assert store.manifest["partitions"]["pai/pai"]["quality"]["pai.unparseable_row"] == 1


def test_blank_lines_and_crlf_are_counted_or_tolerated(tmp_path: Path, fixture_store) -> None:
    raw = _copy_fixtures(tmp_path / "raw")
    path = raw / "pai_job_table.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n", 2) + b"\n")
    rows, store = _ingest(raw, tmp_path)
    assert rows["pai"]["jobs"] == 7
    assert store.manifest["partitions"]["pai/pai"]["quality"]["pai.blank_line"] == 1
    assert _frames(store)["jobs"].equals(_frames(fixture_store[1])["jobs"])


def test_bad_header_and_builtin_headers(tmp_path: Path, fixture_store) -> None:
    raw = _copy_fixtures(tmp_path / "raw", headers=False)
    rows, store = _ingest(raw, tmp_path)
    assert rows == fixture_store[0]
    assert set(store.manifest["partitions"]["pai/pai"]["extra"]["headers"].values()) == {"built-in"}
    (raw / "pai_job_table.header").write_text("job_name,inst_id,user,state,start_time,end_time\n")
    with pytest.raises(TraceFormatError, match="status") as err:
        pai.ingest(raw, tmp_path / "store2")
    assert err.value.path.endswith("pai_job_table.header") and err.value.line == 1


def test_header_with_other_column_order(tmp_path: Path) -> None:
    raw = _copy_fixtures(tmp_path / "raw")
    (raw / "pai_group_tag_table.header").write_text("user,inst_id,gpu_type_spec,group,workload\n")
    lines = (raw / "pai_group_tag_table.csv").read_text().splitlines()
    swapped = [",".join([ln.split(",")[1], ln.split(",")[0], *ln.split(",")[2:]]) for ln in lines]
    (raw / "pai_group_tag_table.csv").write_text("\n".join(swapped) + "\n")
    _, store = _ingest(raw, tmp_path)
    assert _jobs(store)[_job(2)]["workload"] == "ctr"


# ---- misc ----------------------------------------------------------------------------------------
def test_synthetic_marker_progress_and_clusters(tmp_path: Path) -> None:
    raw = _copy_fixtures(tmp_path / "raw")
    (raw / "SYNTHETIC.json").write_text(json.dumps({"generator": "test", "seed": 1}))
    calls: list[tuple[str, int, int]] = []
    _, store = _ingest(raw, tmp_path, on_progress=lambda *a: calls.append(a))
    part = store.manifest["partitions"]["pai/pai"]
    assert part["synthetic"] is True and part["extra"]["synthetic_marker"]["seed"] == 1
    assert store.is_synthetic("pai")
    assert {c[0] for c in calls} == set(pai.RAW_TABLES)
    assert all(done <= total for _, done, total in calls)
    with pytest.raises(ValueError, match="one cluster"):
        pai.ingest(raw, tmp_path / "s2", clusters=["Venus"])
    assert pai.ingest(raw, tmp_path / "s3", clusters=["pai"])["pai"]["jobs"] == 7


def test_format_constants_round_trip(tmp_path: Path) -> None:
    assert pai.format_time(4550879.0) == "4550879.0"
    assert pai.format_time(6150435.0, pai.MACHINE_METRIC) == "6150435"
    assert pai.format_float(29.296875) == "29.296875" and pai.format_float(None) == ""
    assert pai.format_float(float("nan")) == ""
    assert pai.HEADERS[pai.MACHINE_SPEC] == tuple(
        (FIXTURES / "pai_machine_spec.header").read_text().strip().split(",")
    )
    for name in pai.RAW_TABLES:
        header = (FIXTURES / f"{name}.header").read_text().strip().split(",")
        assert tuple(header) == pai.HEADERS[name]
    row = [pai.format_time(494319.0), pai.format_time(None), pai.format_float(0.25)]
    assert row == ["494319.0", "", "0.25"]


def test_read_raw_keeps_raw_units() -> None:
    tasks = pai.read_raw(FIXTURES, pai.TASK_TABLE)
    assert tasks.columns == list(pai.HEADERS[pai.TASK_TABLE])
    assert tasks["plan_gpu"].to_list() == [50.0, None, 100.0, 100.0, 25.0, 50.0, 800.0, None]
    assert tasks["start_time"][4] == 0.0  # the 0 sentinel is still there in raw reads


def test_reingest_replaces_partition(tmp_path: Path) -> None:
    raw = _copy_fixtures(tmp_path / "raw")
    _ingest(raw, tmp_path)
    path = raw / "pai_job_table.csv"
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    rows, store = _ingest(raw, tmp_path)
    assert rows["pai"]["jobs"] == 3 and _table(store, "jobs").height == 3
    quality = store.manifest["partitions"]["pai/pai"]["quality"]
    assert quality["pai.task.without_job"] == 4  # the tasks of jobs 4-7
