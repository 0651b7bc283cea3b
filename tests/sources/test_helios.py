"""Helios reader: every quirk of the fixtures, the real capacity files, errors."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

import tracekit as tk
from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources import helios
from tracekit.sources import ingest as ingest_trace

FIXTURES = Path(__file__).parents[1] / "fixtures" / "helios"
# The real capacity files, in the real-data folder (``real_data``).
REAL_CAPACITY = {"Venus": "helios/Venus/cluster_gpu_number.csv",
                 "Earth": "helios/Earth/Earth_gpu_number.csv"}  # fmt: skip
HEADER = ",".join(helios.LOG_HEADER)


def _zip_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(FIXTURES.rglob("*.csv")):
            zf.write(f, f.relative_to(FIXTURES).as_posix())
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tk.Store:
    root = tmp_path_factory.mktemp("store")
    ingest_trace("helios", FIXTURES, root)
    return tk.open_store(root)


def _jobs(store: tk.Store, cluster: str = "Venus") -> pl.DataFrame:
    return store.jobs(cluster=cluster).collect()


def test_status_mapping_matches_fixture(store: tk.Store) -> None:
    jobs = _jobs(store)
    by_status = {s: set(g["job_id"]) for (s,), g in jobs.group_by("status")}
    assert by_status["completed"] == {"1425511", "1425514", "1000001", "1425518"}
    assert by_status["canceled"] == {"1425513"}
    # TIMEOUT and NODE_FAIL are failures; SUSPENDED is censored (the store's cleaner rule).
    assert by_status["failed"] == {"1425512", "1425515", "1425516", "1425519"}
    assert by_status["censored"] == {"1425517"}
    assert jobs.filter(pl.col("job_id") == "1425513")["raw_status"].item() == "CANCELLED"


def test_gpu_jobs_and_gpu_time(store: tk.Store) -> None:
    jobs = _jobs(store)
    assert set(jobs.filter(pl.col("num_gpus") == 0)["job_id"]) == {"1425514"}
    row = jobs.filter(pl.col("job_id") == "1425516").row(0, named=True)
    assert row["gpu_time_s"] == 16 * 19830 == 317_280
    assert row["num_nodes"] == 2
    assert row["queue_s"] == 4560


def test_times_are_shanghai_wall_clock_stored_as_utc(store: tk.Store) -> None:
    row = _jobs(store).filter(pl.col("job_id") == "1425511").row(0, named=True)
    assert str(row["submit_time"]) == "2020-06-09 10:41:01+00:00"
    local = tk.with_local_time(_jobs(store).filter(pl.col("job_id") == "1425511"))
    assert local["local_hour"].item() == 18
    assert local["local_weekday"].item() == 2  # 2020-06-09 was a Tuesday


def test_censored_job_has_no_end(store: tk.Store) -> None:
    row = _jobs(store).filter(pl.col("job_id") == "1425517").row(0, named=True)
    assert row["end_time"] is None and row["duration_s"] is None
    assert row["start_time"] is not None


def test_quirks_are_kept_and_counted(store: tk.Store) -> None:
    jobs = _jobs(store)
    assert jobs.filter(pl.col("job_id") == "1425519")["duration_s"].item() == 0
    assert jobs.filter(pl.col("job_id") == "1425518")["duration_s"].item() == 1_296_100
    assert jobs.height == 10  # nothing dropped
    q = {
        r["rule"]: r["count"] for r in store.quality().filter(cluster="Venus").iter_rows(named=True)
    }
    assert q["helios.zero_duration_kept"] == 1
    assert q["helios.duration_over_14d_kept"] == 1
    assert q["helios.submitted_before_window_kept"] == 1
    assert q["helios.censored_end_cleared"] == 1
    assert q["helios.unknown_state"] == 0
    assert q["helios.duration_column_mismatch"] == 0


def test_cross_cluster_id_collision_keyed_by_cluster(store: tk.Store) -> None:
    both = store.jobs().filter(pl.col("job_id") == "1425511").collect()
    assert sorted(both["cluster"]) == ["Earth", "Venus"]
    assert both.select("cluster", "job_id").is_unique().all()


def test_capacity_fixture_long_format(store: tk.Store) -> None:
    cap = store.capacity(cluster="Venus").collect()
    assert cap.height == 2 * 4
    totals = cap.group_by("date").agg(pl.col("num_gpus").sum())["num_gpus"]
    assert totals.to_list() == [136.0, 136.0]
    assert cap.filter(pl.col("vc") == "vcIya")["num_gpus"].to_list() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("cluster", "first_total", "mean_total"), [("Venus", 968, 1022.8), ("Earth", 784, 997.7)]
)
def test_real_capacity_files(
    real_data: Path, cluster: str, first_total: int, mean_total: float
) -> None:
    quality = QualityCounter()
    cap = helios.read_capacity(real_data / REAL_CAPACITY[cluster], quality=quality)
    totals = cap.group_by("date").agg(pl.col("num_gpus").sum()).sort("date")
    assert totals.height == 181
    assert str(totals["date"][0]) == "2020-04-01" and str(totals["date"][-1]) == "2020-09-28"
    assert cap["vc"].n_unique() == 25
    assert totals["num_gpus"][0] == first_total
    assert round(totals["num_gpus"].mean(), 1) == mean_total
    assert (cap["num_gpus"] % 8 == 0).all()
    assert quality.counts["helios.capacity_total_mismatch"] == 0


def test_zip_input_equals_folder_input(tmp_path: Path, store: tk.Store) -> None:
    root = tmp_path / "zstore"
    ingest_trace("helios", _zip_fixture(tmp_path), root)
    zipped = tk.open_store(root).jobs().collect().sort("cluster", "job_id")
    assert zipped.equals(store.jobs().collect().sort("cluster", "job_id"))
    assert tk.open_store(root).manifest["partitions"]["helios/Venus"]["sources"][0]["path"] == (
        "data.zip"
    )


def test_cluster_filter(tmp_path: Path) -> None:
    ingest_trace("helios", FIXTURES, tmp_path / "s", clusters=["Earth"])
    assert tk.open_store(tmp_path / "s").clusters("helios") == ["Earth"]
    with pytest.raises(TraceFormatError, match="clusters not found"):
        ingest_trace("helios", FIXTURES, tmp_path / "s", clusters=["Mars"])


def _log(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


GOOD = "7,uA,vcA,1,1,1,COMPLETED,2020-06-09 18:41:01,2020-06-09 18:41:01,2020-06-09 18:42:01,60,0"


def test_unknown_state_and_duplicates_counted() -> None:
    q = QualityCounter()
    raw = helios.parse_log(
        _log(
            GOOD,
            GOOD,  # exact duplicate: dropped, counted
            GOOD.replace("COMPLETED", "PREEMPTED"),  # same id, other content: renamed, counted
        ),
        "x.csv",
        q,
    )
    jobs = helios.normalize_jobs(raw, "Venus", q)
    assert jobs["job_id"].to_list() == ["7", "7#1"]
    assert jobs["status"].to_list() == ["completed", "censored"]
    assert q.counts["helios.unknown_state"] == 1
    assert q.counts["helios.duplicate_row_dropped"] == 1
    assert q.counts["helios.duplicate_job_id_renamed"] == 1


def test_wrong_header_names_file_and_line() -> None:
    with pytest.raises(TraceFormatError, match=r"x\.csv, line 1: unexpected header"):
        helios.parse_log(b"job_id,user\n1,u\n", "x.csv")


def test_non_numeric_gpu_num_names_line() -> None:
    bad = GOOD.replace(",1,1,1,", ",two,1,1,")
    with pytest.raises(TraceFormatError, match=r"x\.csv, line 3: gpu_num is not an integer: 'two'"):
        helios.parse_log(_log(GOOD, bad), "x.csv")


def test_unparseable_time_names_line_and_lenient_counts() -> None:
    bad = GOOD.replace("2020-06-09 18:42:01", "June 9th")
    with pytest.raises(TraceFormatError, match=r"line 2: end_time is not a"):
        helios.parse_log(_log(bad, GOOD), "x.csv")
    q = QualityCounter(lenient=True)
    raw = helios.parse_log(_log(bad, GOOD), "x.csv", q)
    assert raw.height == 1 and q.counts["helios.unparseable_row"] == 1


def test_ragged_row_names_line() -> None:
    with pytest.raises(TraceFormatError, match=r"line 3"):
        helios.parse_log(_log(GOOD, GOOD + ",extra"), "x.csv")


def test_capacity_errors() -> None:
    with pytest.raises(TraceFormatError, match="unexpected header"):
        helios.read_capacity(b"day,vcA,total\n2020-04-01,8,8\n", "c.csv")
    with pytest.raises(TraceFormatError, match=r"c\.csv, line 3: GPU count of vcA"):
        helios.read_capacity(b"date,vcA,total\n2020-04-01,8,8\n2020-04-02,x,8\n", "c.csv")


def test_truncated_zip_is_a_clear_error(tmp_path: Path) -> None:
    data = _zip_fixture(tmp_path).read_bytes()
    broken = tmp_path / "broken" / "data.zip"
    broken.parent.mkdir()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(TraceFormatError, match=r"data\.zip: not a readable zip archive"):
        ingest_trace("helios", broken, tmp_path / "s")


def test_corrupt_member_is_a_clear_error(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("data/Venus/cluster_log.csv", _log(GOOD, GOOD))
    raw = bytearray(buf.getvalue())
    at = raw.index(b"uA,vcA")
    raw[at] = ord("X")  # flip a byte inside the stored member: CRC no longer matches
    path = tmp_path / "data.zip"
    path.write_bytes(bytes(raw))
    with pytest.raises(TraceFormatError, match="CRC"):
        ingest_trace("helios", path, tmp_path / "s")


def test_synthetic_marker_sets_manifest_flag(tmp_path: Path) -> None:
    raw = tmp_path / "helios"
    shutil.copytree(FIXTURES, raw)
    (raw / "SYNTHETIC.json").write_text('{"synthetic": true, "seed": 1}')
    ingest_trace("helios", raw, tmp_path / "s")
    st = tk.open_store(tmp_path / "s")
    assert st.is_synthetic("helios")
    assert st.manifest["partitions"]["helios/Venus"]["extra"]["sample"]["seed"] == 1
