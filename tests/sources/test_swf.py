"""The SWF reader on a hand-written log in the Parallel Workloads Archive's layout."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

import tracekit as tk
from tracekit.errors import TraceFormatError
from tracekit.sources.swf import read_options

SWF = Path(__file__).resolve().parents[2] / "examples" / "example.swf"


def _jobs(store: Path, trace: str = "swf") -> dict[str, dict]:
    frame = tk.open_store(store).jobs(trace).collect()
    return {r["job_id"]: r for r in frame.iter_rows(named=True)}


def _line_of(text: str) -> int:
    return next(i for i, ln in enumerate(SWF.read_text().splitlines(), 1) if ln.strip() == text)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("swf") / "store"
    assert tk.ingest("swf", SWF, path) == {"example": {"jobs": 9}}
    return path


def test_fields_times_and_statuses(store):
    job = _jobs(store)
    assert sorted(job, key=int) == [str(i) for i in range(1, 10)]
    first = job["1"]  # UnixStartTime 1136073600 = 2006-01-01 00:00:00 UTC
    assert str(first["submit_time"]) == "2006-01-01 00:00:00+00:00"
    assert (first["queue_s"], first["duration_s"]) == (12.0, 3600.0)
    assert str(first["end_time"]) == "2006-01-01 01:00:12+00:00"
    assert (first["num_cpus"], first["num_gpus"], first["user"], first["vc"]) == (16.0, 0.0,
                                                                                  "3", "1")
    assert job["2"]["status"] == "failed" and job["3"]["status"] == "canceled"
    assert job["3"]["start_time"] is None and job["3"]["num_cpus"] == 8.0  # requested procs
    assert job["4"]["duration_s"] == 5400.0 and job["4"]["mem_gb"] == 0.25  # 8192 KB x 32
    assert job["5"]["status"] == "completed" and job["5"]["raw_status"] == "-1"
    assert job["9"]["status"] == "censored" and job["9"]["end_time"] is None


def test_partial_lines_unknown_statuses_and_the_header_are_recorded(store):
    st = tk.open_store(store)
    quality = dict(st.quality().select("rule", "count").iter_rows())
    assert quality["swf.partial_execution_line"] == 2
    assert quality["swf.unknown_status_completed"] == 1
    assert quality["swf.unknown_status_censored"] == 1
    part = st.partitions[0]
    assert part["timezone"] == "Europe/Berlin"  # from TimeZoneString
    header = part["extra"]["swf_header"]
    comments = [ln for ln in SWF.read_text().splitlines() if ln.startswith(";")]
    assert header == comments and header[0] == "; Version: 2.2"
    assert part["extra"]["processors"] == "cpus"


def test_a_mapping_names_the_trace_and_says_processors_are_gpus(tmp_path):
    mapping = tmp_path / "swf.toml"
    mapping.write_text('[trace]\nname = "pwa"\ncluster = "ex"\n\n[time]\ntimezone = "UTC"\n\n'
                       '[swf]\nprocessors = "gpus"\n')
    store = tmp_path / "store"
    assert tk.ingest("swf", SWF, store, mapping=mapping) == {"ex": {"jobs": 9}}
    job = _jobs(store, "pwa")
    assert job["1"]["num_gpus"] == 16.0 and job["1"]["num_cpus"] is None
    assert tk.open_store(store).partitions[0]["timezone"] == "UTC"


def test_bad_mapping_key_names_the_line(tmp_path):
    mapping = tmp_path / "swf.toml"
    mapping.write_text('[trace]\nname = "pwa"\n\n[swf]\nprocessor = "gpus"\n')
    with pytest.raises(TraceFormatError, match=r"swf.toml, line 5: \[swf\] processor: unknown"):
        read_options(mapping)


def test_gzip_gives_the_same_jobs(store, tmp_path):
    packed = tmp_path / "example.swf.gz"
    packed.write_bytes(gzip.compress(SWF.read_bytes()))
    other = tmp_path / "store"
    tk.ingest("swf", packed, other)
    fields = ["job_id", "submit_time", "start_time", "end_time", "num_cpus", "status"]
    a, b = (tk.open_store(s).jobs("swf").collect().select(fields).sort("job_id")
            for s in (store, other))
    assert a.equals(b)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (" ".join(["10", "96000", "1", "5", "4"] + ["-1"] * 12), "17 fields, SWF has 18"),
        (" ".join(["10", "96000", "1", "5", "four"] + ["-1"] * 13),
         "field 5 (allocated_processors) is not a number: 'four'"),
    ],
)
def test_a_bad_line_is_named(tmp_path, bad, message):
    path = tmp_path / "bad.swf"
    lines = SWF.read_text().splitlines()
    at = _line_of(lines[-1].strip())
    lines.insert(at - 1, bad)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError) as err:
        tk.ingest("swf", path, tmp_path / "store")
    assert str(err.value) == f"{path}, line {at}: {message}"
    assert not (tmp_path / "store").exists()
    lenient = tmp_path / "lenient"
    tk.ingest("swf", path, lenient, lenient=True)
    quality = tk.open_store(lenient).quality()
    assert quality.filter(pl.col("rule") == "swf.unparseable_row")["count"].to_list() == [1]
