"""The store: schemas, atomic partition replacement, manifest, reading."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

import tracekit as tk
from tracekit import store as store_mod
from tracekit.errors import StoreError
from tracekit.sources import ingest as ingest_trace
from tracekit.timeutil import as_utc

FIXTURES = Path(__file__).parent / "fixtures" / "helios"


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

    monkeypatch.setattr(store_mod, "_write_json_atomic", boom)
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
    empty = st.jobs(trace="philly").collect()
    assert empty.height == 0 and empty.columns[:2] == ["trace", "cluster"]
    assert st.traces == ["helios"] and st.clusters() == ["Earth", "Venus"]


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a tracekit store"):
        tk.open_store(tmp_path / "nope")


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
