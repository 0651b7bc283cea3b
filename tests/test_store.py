"""The store: schemas, atomic partition replacement, manifest, reading, cleanup, stale readers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

import tracekit as tk
from tracekit import store as store_mod
from tracekit.errors import ManifestError, StoreError
from tracekit.sources import ingest as ingest_trace
from tracekit.store import _write
from tracekit.timeutil import as_utc

FIXTURES = Path(__file__).parent / "fixtures" / "helios"
PHILLY = Path(__file__).parent / "fixtures" / "philly" / "trace-data"


def _cap(n: float) -> pl.DataFrame:
    return pl.DataFrame({"date": [date(2020, 4, 1)], "vc": ["vcA"], "num_gpus": [n]})


def test_round_trip_and_manifest(tmp_path: Path) -> None:
    with tk.begin(tmp_path, "helios") as tx:
        tx.write("capacity", "Venus", _cap(8))
        tx.set_meta("Venus", synthetic=True, quality={"helios.x": 2})
    st = tk.open_store(tmp_path)
    frame = st.capacity().collect()
    assert frame.columns == ["trace", "cluster", "date", "vc", "num_gpus"]
    assert frame.row(0) == ("helios", "Venus", date(2020, 4, 1), "vcA", 8.0)
    part = st.manifest["partitions"]["helios/Venus"]
    assert part["rows"] == {"capacity": 1}
    assert part["synthetic"] is True and part["timezone"] == "Asia/Shanghai"
    assert st.quality().row(0) == ("helios", "Venus", "helios.x", 2)
    assert st.read_pandas("capacity")["num_gpus"].tolist() == [8.0]


def test_hive_layout_on_disk(tmp_path: Path) -> None:
    with tk.begin(tmp_path, "helios") as tx:
        tx.write("capacity", "Venus", _cap(8))
    files = list((tmp_path / "capacity" / "trace=helios" / "cluster=Venus").glob("*.parquet"))
    assert len(files) == 1
    assert not (tmp_path / ".staging").exists()


def test_reingest_replaces_exactly_its_partition(tmp_path: Path) -> None:
    for cluster, n in (("Venus", 8), ("Earth", 16)):
        with tk.begin(tmp_path, "helios") as tx:
            tx.write("capacity", cluster, _cap(n))
    with tk.begin(tmp_path, "helios") as tx:
        tx.write("capacity", "Venus", _cap(24))
    cap = tk.open_store(tmp_path).capacity().collect().sort("cluster")
    assert cap["num_gpus"].to_list() == [16.0, 24.0]
    # the replaced file is gone from disk
    assert len(list((tmp_path / "capacity").rglob("*.parquet"))) == 2


def test_failed_ingest_leaves_previous_store_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_trace("helios", FIXTURES, tmp_path)
    before = tk.open_store(tmp_path).jobs().collect().sort("cluster", "job_id")
    manifest_before = (tmp_path / "manifest.json").read_text()
    calls = {"n": 0}
    real_write = store_mod.Transaction.write

    def failing_write(self, table, cluster, data):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 2:  # after one table was staged: fail half-way
            raise RuntimeError("disk on fire")
        return real_write(self, table, cluster, data)

    monkeypatch.setattr(store_mod.Transaction, "write", failing_write)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest_trace("helios", FIXTURES, tmp_path)
    monkeypatch.undo()
    after = tk.open_store(tmp_path).jobs().collect().sort("cluster", "job_id")
    assert after.equals(before)
    assert (tmp_path / "manifest.json").read_text() == manifest_before
    assert not (tmp_path / ".staging").exists()


def test_failure_during_commit_keeps_previous_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tk.begin(tmp_path, "helios") as tx:
        tx.write("capacity", "Venus", _cap(8))

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError("no space left")

    monkeypatch.setattr(_write, "write_json_atomic", boom)
    with pytest.raises(OSError, match="no space"):
        with tk.begin(tmp_path, "helios") as tx:
            tx.write("capacity", "Venus", _cap(99))
    monkeypatch.undo()
    assert tk.open_store(tmp_path).capacity().collect()["num_gpus"].to_list() == [8.0]


def test_streaming_writer_and_update_mode(tmp_path: Path) -> None:
    with tk.begin(tmp_path, "helios") as tx:
        w = tx.open_writer("capacity", "Venus")
        w.write(_cap(8))
        w.write(_cap(16))
    with tk.begin(tmp_path, "helios", mode="update") as tx:
        tx.write(
            "predictions",
            "Venus",
            pl.DataFrame(
                {
                    "job_id": ["1"],
                    "model": ["m"],
                    "pred_duration_s": [1.0],
                    "pred_q10_s": [None],
                    "pred_q90_s": [None],
                    "trained_until": [None],
                }
            ),
        )
    st = tk.open_store(tmp_path)
    assert st.capacity().collect().height == 2  # kept by update mode
    assert st.scan("predictions").collect()["job_id"].to_list() == ["1"]


def test_schema_is_enforced(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing columns"):
        with tk.begin(tmp_path, "helios") as tx:
            tx.write("capacity", "Venus", pl.DataFrame({"date": [date(2020, 1, 1)]}))
    with pytest.raises(StoreError, match="cannot cast"):
        with tk.begin(tmp_path, "helios") as tx:
            tx.write("capacity", "Venus", _cap(8).with_columns(pl.lit("x").alias("num_gpus")))
    # a cast Arrow does not implement at all (list -> integer) gets the same clear error
    listed = _cap(8).with_columns(pl.Series("num_gpus", [[8]]))
    with pytest.raises(StoreError, match="table 'capacity': cannot cast to the store schema"):
        with tk.begin(tmp_path, "helios") as tx:
            tx.write("capacity", "Venus", listed)
    assert not (tmp_path / "capacity").exists()  # nothing was committed by the failed writes


def test_filters_and_empty_scan(tmp_path: Path) -> None:
    ingest_trace("helios", FIXTURES, tmp_path)
    st = tk.open_store(tmp_path)
    assert st.jobs(cluster="Earth").collect().height == 1
    assert st.jobs(trace="helios", cluster="Venus,Earth").collect().height == 11
    # a table the selected partitions do not have is an empty frame with the table's columns
    empty = st.scan("attempts", trace="helios").collect()
    assert empty.height == 0 and empty.columns[:3] == ["trace", "cluster", "job_id"]
    assert st.traces == ["helios"] and st.clusters() == ["Earth", "Venus"]


def test_scan_matches_names_ignoring_case_and_refuses_unknown_ones(tmp_path: Path) -> None:
    ingest_trace("helios", FIXTURES, tmp_path)
    st = tk.open_store(tmp_path)
    assert st.scan("jobs", trace="Helios").collect().height == 11
    venus = st.scan("jobs", cluster="venus").collect()
    assert venus.height == 10 and set(venus["cluster"]) == {"Venus"}
    assert st.clusters("HELIOS") == ["Earth", "Venus"]
    with pytest.raises(StoreError, match=r"no trace 'philly'; present: helios$"):
        st.scan("jobs", trace="philly")
    with pytest.raises(StoreError, match=r"\(helios\): no cluster 'Saturn'; present: Earth, Venus"):
        st.jobs("helios", "Saturn")
    with pytest.raises(StoreError, match="no cluster 'Mars'"):
        st.read_pandas("jobs", cluster=["Venus", "Mars"])


def test_empty_table_never_replaces_a_good_partition(tmp_path: Path) -> None:
    ingest_trace("helios", FIXTURES, tmp_path)
    manifest = (tmp_path / "manifest.json").read_text()
    no_jobs = tk.open_store(tmp_path).jobs("helios", "Venus").collect().head(0)
    with pytest.raises(StoreError, match=r"helios/Venus: refusing to store an empty 'jobs' table "
                       r"\(0 rows\); the 10 rows stored now are kept.*allow-empty"):
        with tk.begin(tmp_path, "helios") as tx:
            tx.write("jobs", "Venus", no_jobs)
    # a streamed table is checked when it is committed
    with pytest.raises(StoreError, match="refusing to store an empty 'capacity' table"):
        with tk.begin(tmp_path, "helios") as tx:
            tx.write("jobs", "Venus", tk.open_store(tmp_path).jobs("helios", "Venus").collect())
            tx.open_writer("capacity", "Venus")
    assert (tmp_path / "manifest.json").read_text() == manifest
    assert not (tmp_path / ".staging").exists()
    # allowed on purpose: for the whole transaction, or for one table
    with tk.begin(tmp_path, "helios", allow_empty=True) as tx:
        tx.write("jobs", "Earth", no_jobs)
    with tk.begin(tmp_path, "helios", mode="update") as tx:
        tx.write("capacity", "Venus", _cap(8).head(0), allow_empty=True)
    st = tk.open_store(tmp_path)
    assert st.jobs("helios", "Earth").collect().height == 0
    assert st.capacity("helios", "Venus").collect().height == 0
    assert st.jobs("helios", "Venus").collect().height == 10


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a tracekit store"):
        tk.open_store(tmp_path / "nope")


def test_a_file_given_as_the_store_is_a_clear_error(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a store\n")
    expected = f"^{afile}: not a store folder \\(it is a file\\)$"
    with pytest.raises(StoreError, match=expected):
        tk.open_store(afile)
    with pytest.raises(StoreError, match=expected):
        tk.ingest("helios", FIXTURES, afile)
    with pytest.raises(StoreError, match=expected):
        store_mod.drop(afile, "helios")
    with pytest.raises(StoreError, match=expected):
        store_mod.sweep(afile)
    assert afile.read_text() == "not a store\n"


def test_local_time_per_trace() -> None:
    frame = pl.DataFrame(
        {
            "trace": ["philly", "helios"],
            "submit_time": pl.Series(
                ["2017-10-03 16:00:00", "2017-10-03 16:00:00"]
            ).str.to_datetime(time_zone="UTC"),
        }
    )
    out = tk.with_local_time(frame)
    assert out["local_hour"].to_list() == [9, 0]  # PDT = UTC-7, CST = UTC+8
    assert out["local_weekday"].to_list() == [2, 3]


def test_as_utc_parses_text_dates_and_datetimes() -> None:
    noon = datetime(2020, 8, 1, 12, tzinfo=UTC)
    assert as_utc("2020-08-01T12:00") == noon and as_utc("2020-08-01T12:00").tzinfo == UTC
    assert as_utc("2020-08-01T20:00+08:00") == noon  # an offset is honoured
    assert as_utc(date(2020, 8, 1)) == noon - timedelta(hours=12)
    shanghai = datetime(2020, 8, 1, 20, tzinfo=timezone(timedelta(hours=8)))
    assert as_utc(shanghai) == noon and as_utc(shanghai).tzinfo == UTC


# ---- cleanup: the store folder holds exactly what its manifest lists --------------------------
def _listed(root: Path) -> set[str]:
    manifest = json.loads((root / "manifest.json").read_text())
    return {f for p in manifest["partitions"].values() for fs in p["files"].values() for f in fs}


def _on_disk(root: Path) -> set[str]:
    """Files (and empty folders, with a trailing slash) in the store folder."""
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir()}
    empty = {f"{d.relative_to(root).as_posix()}/" for d in root.rglob("*")
             if d.is_dir() and not any(d.iterdir())}
    return files - {"manifest.json", ".lock"} | empty


def assert_exactly_listed(root: Path) -> None:
    assert _on_disk(root) == _listed(root)


def _age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_a_write_removes_what_interrupted_writes_left(tmp_path: Path) -> None:
    ingest_trace("helios", FIXTURES, tmp_path)
    venus = sorted((tmp_path / "jobs" / "trace=helios" / "cluster=Venus").iterdir())[0]
    # a killed writer's staging folder (no live lock), a file moved in before the manifest swap,
    # a half-written manifest copy, an empty partition folder and a killed reader's scratch
    dead = tmp_path / ".staging" / "20200101T000000-deadbeef" / "jobs" / "trace=helios"
    dead.mkdir(parents=True)
    shutil.copy(venus, dead / "part.parquet")
    shutil.copy(venus, venus.with_name("part-orphan-1.parquet"))
    (tmp_path / ".manifest.json.0badf00d.tmp").write_text("{")
    (tmp_path / "capacity" / "trace=pai" / "cluster=pai").mkdir(parents=True)
    scratch = tmp_path / ".philly-k1ll3d_0"
    (scratch / "bucket").mkdir(parents=True)
    _age(scratch, 3600)
    # not the store's, so left alone: a file of the user's, one in a table folder, and an old
    # hidden folder that only looks like a reader's scratch
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "jobs" / "trace=helios" / "notes.csv").write_text("mine")
    (tmp_path / ".python-eggs").mkdir()
    _age(tmp_path / ".python-eggs", 3600)
    mine = {"notes.txt", "jobs/trace=helios/notes.csv", ".python-eggs/"}
    found = tk.open_store(tmp_path).leftovers()
    assert (len(found.staging), len(found.orphans), found.scratch) == (1, 2, [scratch.name])
    ingest_trace("helios", FIXTURES, tmp_path)
    assert _on_disk(tmp_path) == _listed(tmp_path) | mine
    assert not (tmp_path / ".staging").exists() and not scratch.exists()
    assert len(tk.open_store(tmp_path).leftovers()) == 0


def test_cleanup_spares_live_writers_and_fresh_scratch(tmp_path: Path) -> None:
    ingest_trace("helios", FIXTURES, tmp_path)
    old = tmp_path / ".philly-old_0000"  # a reader's folder from before the slow write began
    old.mkdir()
    _age(old, 3600)
    with tk.begin(tmp_path, "pai") as slow:  # a live writer in the middle of staging
        slow.write("capacity", "pai", _cap(4))
        scratch = slow.scratch_dir()
        (scratch / "spill.bin").write_bytes(b"x")
        fresh = tmp_path / ".philly-fresh000"  # a reader's folder made while the slow write runs
        fresh.mkdir()
        ingest_trace("helios", FIXTURES, tmp_path)  # sweeps before and after its own commit
        assert store_mod.sweep(tmp_path).staging == []
        # while anyone writes, nobody can tell a reader's folder is dead: all are kept
        assert (scratch / "spill.bin").exists() and old.exists() and fresh.exists()
    assert not scratch.exists()  # the transaction's scratch goes with its staging folder
    assert not old.exists()  # older than the slow write and nobody writes any more
    assert fresh.exists()  # newer than the slow write: maybe a reader that has not begun yet
    fresh.rmdir()
    assert_exactly_listed(tmp_path)
    assert tk.open_store(tmp_path).capacity("pai").collect()["num_gpus"].to_list() == [4.0]


_KILLER = """
import os, signal, sys, tempfile
trace, raw, store, point, nth = sys.argv[1:6]
calls = [0]

def kill_at_call(real, after=False):
    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == int(nth) and not after:
            os.kill(os.getpid(), signal.SIGKILL)
        out = real(*args, **kwargs)
        if calls[0] == int(nth) and after:
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    return wrapper

import pathlib
import pyarrow.parquet as pq
if point == "stage":  # the n-th Parquet file staged
    pq.write_table = kill_at_call(pq.write_table)
elif point == "rename":  # the n-th rename: staged files into place, the last is the manifest swap
    os.replace = kill_at_call(os.replace)
elif point == "unlink":  # after the swap, while deleting the replaced files
    pathlib.Path.unlink = kill_at_call(pathlib.Path.unlink)
elif point == "mkdtemp":  # a reader's scratch folder was just made
    tempfile.mkdtemp = kill_at_call(tempfile.mkdtemp, after=True)
from tracekit.sources import ingest
ingest(trace, raw, store)
"""


@pytest.mark.parametrize(
    ("trace", "point", "nth"),
    [
        ("helios", "stage", 2),  # one of three tables staged
        ("helios", "rename", 1),  # committing, nothing moved yet
        ("helios", "rename", 2),  # one file moved into place, manifest not swapped
        ("helios", "rename", 4),  # every file moved, manifest copy written, not swapped
        ("helios", "unlink", 1),  # manifest swapped, replaced files not yet deleted
        ("philly", "mkdtemp", 1),  # a reader's scratch folder made, no transaction yet
        ("philly", "stage", 1),  # staging with the reader's scratch folder in use
    ],
)
def test_kill_9_then_one_ingest_leaves_exactly_the_listed_files(
    tmp_path: Path, trace: str, point: str, nth: int
) -> None:
    root = tmp_path / "store"
    ingest_trace("helios", FIXTURES, root)
    before = tk.open_store(root).rows()
    raw = FIXTURES if trace == "helios" else PHILLY
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, trace, str(raw), str(root), point, str(nth)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == -9, proc.stderr  # killed, not finished or failed
    st = tk.open_store(root)  # the store stays readable whatever the point
    if point != "unlink":
        assert st.rows().equals(before)
    assert st.jobs("helios").collect().height == 11
    assert _on_disk(root) != _listed(root)  # the kill did leave garbage behind
    ingest_trace("helios", FIXTURES, root)
    assert_exactly_listed(root)
    assert tk.open_store(root).verify().is_empty()


def test_concurrent_ingests_keep_each_other_and_leave_nothing(tmp_path: Path) -> None:
    root = tmp_path / "store"
    raws = {"helios": FIXTURES, "philly": PHILLY, "pai": FIXTURES.parent / "pai"}
    code = "import sys; from tracekit.sources import ingest; ingest(*sys.argv[1:4])"
    for _ in range(2):  # the second round replaces every partition while the others write
        procs = [
            subprocess.Popen([sys.executable, "-c", code, trace, str(raw), str(root)],
                             stderr=subprocess.PIPE, text=True)
            for trace, raw in raws.items()
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        st = tk.open_store(root)
        assert st.traces == ["helios", "pai", "philly"]
        assert st.verify().is_empty()
        assert_exactly_listed(root)


# ---- stale readers and verification -------------------------------------------------------------
def test_store_held_open_across_a_reingest(tmp_path: Path) -> None:
    ingest_trace("helios", FIXTURES, tmp_path)
    st = tk.open_store(tmp_path)
    ingest_trace("helios", FIXTURES, tmp_path)
    with pytest.raises(StoreError, match=r"part-.*\.parquet: this file is gone because the store "
                       r"was rewritten after it was opened .*call \.refresh\(\)"):
        st.jobs().collect()
    assert st.refresh().jobs().collect().height == 11


def test_file_deleted_by_hand_and_verify(tmp_path: Path) -> None:
    ingest_trace("helios", FIXTURES, tmp_path)
    st = tk.open_store(tmp_path)
    assert st.verify().is_empty()
    victim = st.manifest["partitions"]["helios/Earth"]["files"]["jobs"][0]
    (tmp_path / victim).unlink()
    with pytest.raises(StoreError, match=rf"{victim}: listed in the manifest for helios/Earth but "
                       r"missing \(deleted by hand\?\); rewrite the partition with `tracekit "
                       r"ingest helios RAW_PATH"):
        st.jobs("helios", "earth")
    assert st.jobs("helios", "Venus").collect().height == 10  # other partitions still read
    # a file replaced by another with a different row count, and a truncated file
    cap = st.manifest["partitions"]["helios/Venus"]["files"]["capacity"][0]
    jobs = st.manifest["partitions"]["helios/Venus"]["files"]["jobs"][0]
    pq.write_table(pq.read_table(tmp_path / cap).slice(0, 1), tmp_path / cap)
    (tmp_path / jobs).write_bytes((tmp_path / jobs).read_bytes()[:100])
    problems = st.verify().sort("cluster", "table")
    assert problems.select("cluster", "table", "file").rows() == [
        ("Earth", "jobs", victim), ("Venus", "capacity", None), ("Venus", "jobs", jobs)
    ]
    assert problems["problem"][0] == "missing"
    venus_rows = st.manifest["partitions"]["helios/Venus"]["rows"]["capacity"]
    assert problems["problem"][1] == f"rows: manifest {venus_rows}, files 1"
    assert problems["problem"][2].startswith("unreadable: ")
    assert set(problems["fix"]) == {f"`tracekit ingest helios RAW_PATH --store {tmp_path}`"}
    ingest_trace("helios", FIXTURES, tmp_path)
    assert tk.open_store(tmp_path).verify().is_empty()


# ---- damaged manifests and stores that cannot be written ----------------------------------------
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"partitions": {', "not valid JSON (Expecting property name"),
        ("\xff\xfe", "not valid JSON"),
        ("[]", "the top level is a list, not an object"),
        ("{}", "no 'partitions' object"),
        ('{"partitions": {"helios/Venus": {"trace": "helios"}}}',
         "partition 'helios/Venus' has no valid 'cluster'"),
        ('{"partitions": {"h/V": {"trace": "h", "cluster": "V", "rows": {},'
         ' "files": {"jobs": ["../../etc/passwd"]}}}}',
         "partition 'h/V': '../../etc/passwd' is not a file of its 'jobs' table"),
    ],
)
def test_damaged_manifest_names_the_file_and_the_rebuild(
    tmp_path: Path, text: str, problem: str
) -> None:
    ingest_trace("helios", FIXTURES, tmp_path)
    path = tmp_path / "manifest.json"
    path.write_bytes(text.encode("latin-1"))
    for action in (lambda: tk.open_store(tmp_path), lambda: ingest_trace("helios", FIXTURES,
                                                                          tmp_path)):
        with pytest.raises(ManifestError) as info:
            action()
        message = str(info.value)
        assert message.startswith(f"{path}: damaged store manifest: {problem}")
        assert "re-ingesting the traces with files here: helios with `tracekit ingest TRACE " \
               f"RAW_PATH --store {tmp_path}`" in message
        assert isinstance(info.value, StoreError) and "\n" not in message
    assert path.read_bytes() == text.encode("latin-1")  # nothing was written
    # the documented rebuild: move the manifest aside, re-ingest
    path.rename(tmp_path / "manifest.broken")
    ingest_trace("helios", FIXTURES, tmp_path)
    assert _on_disk(tmp_path) - {"manifest.broken"} == _listed(tmp_path)


def test_read_only_store_is_one_clear_error(
    tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    ingest_trace("helios", FIXTURES, tmp_path)
    read_only(tmp_path)
    with pytest.raises(StoreError, match=rf"^{tmp_path}: cannot write to the store "
                       r"\(Permission denied: .*\); pass a writable --store folder"):
        ingest_trace("helios", FIXTURES, tmp_path)
    assert tk.open_store(tmp_path).verify().is_empty()


@pytest.mark.parametrize(("trace", "cluster"), [("helios", "../up"), ("a/b", "Venus"),
                                                ("helios", "")])
def test_names_that_cannot_be_partition_folders(tmp_path: Path, trace: str, cluster: str) -> None:
    with pytest.raises(StoreError, match="name .* cannot name a partition folder"):
        with tk.begin(tmp_path, trace) as tx:
            tx.write("capacity", cluster, _cap(8))
    assert _on_disk(tmp_path) == set()


def test_empty_frames_match_the_contract_types_without_pandas() -> None:
    # Empty tables are built from polars types mapped from the contract, equal to what
    # pl.from_arrow gives, so that an empty scan does not import pandas.
    import pyarrow as pa

    from tracekit import schema
    from tracekit.store._read import polars_dtype

    tables = [v for v in vars(schema).values() if isinstance(v, pa.Schema)]
    assert len(tables) >= 8
    for table in tables:
        expected = pl.from_arrow(table.empty_table()).schema
        assert pl.Schema({f.name: polars_dtype(f.type) for f in table}) == expected
    with pytest.raises(TypeError, match="no polars type"):
        polars_dtype(pa.float16())
