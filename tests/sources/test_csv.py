"""The generic reader: a job table + a column mapping (TOML) -> the store.

Inputs: a hand-written Slurm ``sacct --parsable2`` file (job steps, array jobs, "CANCELLED by N",
None/Unknown times, a job across a DST change) and rows of the Acme traces' published examples,
read with the mappings shipped in ``examples/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tracekit as tk
from tracekit.cli import app
from tracekit.errors import TraceFormatError
from tracekit.replay import replay_from_store

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SACCT = Path(__file__).resolve().parents[2] / "examples" / "slurm_sacct.txt"
SLURM_MAP = ROOT / "examples" / "slurm_sacct.toml"
runner = CliRunner()


def _line_of(path: Path, text: str) -> int:
    """1-based line of the first line of ``path`` containing ``text``."""
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def _snapshot(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in store.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def slurm_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("slurm") / "store"
    tk.ingest("csv", SACCT, store, mapping=SLURM_MAP)
    return store


@pytest.fixture()
def slurm_jobs(slurm_store: Path) -> pl.DataFrame:
    return tk.open_store(slurm_store).jobs("slurm", "mycluster").collect()


def test_sacct_rows_become_jobs_steps_and_placeholders_are_counted(slurm_store, slurm_jobs):
    ids = slurm_jobs["job_id"].to_list()
    assert len(ids) == 23 and len(set(ids)) == 23
    assert not any("." in i or "[" in i for i in ids)
    assert {"71010_1", "71010_2", "71010_3"} <= set(ids)
    st = tk.open_store(slurm_store)
    quality = dict(st.quality().select("rule", "count").iter_rows())
    steps = sum(1 for ln in SACCT.read_text().splitlines()[1:] if "." in ln.split("|")[0])
    assert quality["slurm.job_step"] == steps == 19
    assert quality["slurm.unexpanded_array"] == 1
    assert quality["slurm.missing_start_time"] == 2  # one canceled while pending, one pending
    part = st.partitions[0]
    assert part["timezone"] == "Europe/Berlin"
    assert [s["path"] for s in part["sources"]] == [SACCT.name, SLURM_MAP.name]
    assert part["extra"]["mapping"]["trace"]["name"] == "slurm"


def test_sacct_statuses_gpus_and_times(slurm_jobs):
    job = {r["job_id"]: r for r in slurm_jobs.iter_rows(named=True)}
    assert (job["71004"]["status"], job["71004"]["raw_status"]) == ("canceled",
                                                                    "CANCELLED by 1001")
    assert job["71005"]["status"] == "canceled" and job["71005"]["start_time"] is None
    assert job["71005"]["queue_s"] is None and job["71005"]["duration_s"] is None
    assert job["71014"]["status"] == "failed"  # PREEMPTED
    assert job["71020"]["status"] == "censored" and job["71020"]["end_time"] is None
    assert job["71021"]["status"] == "censored" and job["71021"]["start_time"] is None
    assert (job["71002"]["num_gpus"], job["71002"]["num_nodes"]) == (16.0, 2)
    assert job["71009"]["num_gpus"] == 0.0  # no gres/gpu in its TRES: a CPU job
    assert job["71001"]["queue_s"] == 38.0 and job["71001"]["duration_s"] == 13591.0
    # 2024-03-31 01:30 CET -> 04:10 CEST is 1 h 40 min (the clocks jumped at 02:00).
    assert job["71019"]["duration_s"] == 6000.0
    assert str(job["71001"]["submit_time"]) == "2024-03-04 08:15:02+00:00"


def test_sacct_runs_through_an_analysis_and_a_replay(slurm_store):
    st = tk.open_store(slurm_store)
    jobs = st.jobs("slurm")
    hours = tk.analysis.arrivals.by_hour(jobs)
    per_hour = dict(hours.select("local_hour", "n_jobs").iter_rows())
    # GPU jobs by local (Berlin) submit hour, counted by hand from the sacct file.
    assert per_hour[10] == 5 and per_hour[9] == 4 and per_hour[8] == 3 and per_hour[23] == 1
    shares = tk.analysis.failures.status_shares(jobs)
    n = dict(shares.select("status", "n_jobs").iter_rows())
    assert n == {"completed": 10, "canceled": 2, "failed": 8, "censored": 2}
    result = replay_from_store(st, "slurm", "mycluster", policy="fifo", workers=1)
    replayed = result.jobs
    # 19 GPU jobs ran; the one that ran 0 s is dropped by the replay's validation (counted).
    assert replayed.height == 18
    assert result.quality.counts["replay.nonpositive_duration"] == 1
    assert sorted(replayed["vc"].unique()) == ["debug", "gpu", "gpu-long"]
    assert (replayed["start_time"] >= replayed["submit_time"]).all()
    capacity = st.capacity("slurm").collect()
    assert dict(capacity.filter(pl.col("date") == capacity["date"].min())
                .select("vc", "num_gpus").iter_rows()) == {"debug": 8, "gpu": 32, "gpu-long": 16}


@pytest.mark.parametrize("cluster", ["seren", "kalos"])
def test_acme_examples_ingest(tmp_path, cluster):
    store = tmp_path / "store"
    data = FIXTURES / "csv" / f"trace_{cluster}.csv"
    summary = tk.ingest("csv", data, store, mapping=ROOT / "examples" / f"acme_{cluster}.toml")
    jobs = tk.open_store(store).jobs("acme-csv", cluster).collect()
    assert summary == {cluster: {"jobs": jobs.height}}
    raw = pl.read_csv(data, infer_schema=False)
    assert jobs["job_id"].to_list() == raw["job_id"].to_list()
    first = jobs.row(0, named=True)
    if cluster == "seren":  # "2023-03-01 00:18:22+08:00"
        assert str(first["submit_time"]) == "2023-02-28 16:18:22+00:00"
        assert first["duration_s"] == 117.0 and first["workload"] == "Other"
    else:  # "2023-05-17 11:01:08+00:00" -> "... 11:01:16+00:00": 8 s of run time
        assert str(first["start_time"]) == "2023-05-17 11:01:08+00:00"
        assert first["duration_s"] == 8.0 and first["queue_s"] == 10.0
    assert set(jobs["status"]) <= {"completed", "canceled", "failed"}
    assert tk.open_store(store).partitions[0]["timezone"] == "Asia/Shanghai"


# ---- bad mappings: one clear message naming file, line and column; the store is untouched -----
def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = SLURM_MAP.read_text()
    assert old in text
    path = tmp_path / "mapping.toml"
    path.write_text(text.replace(old, new))
    return path


@pytest.fixture()
def used_store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    tk.ingest("helios", FIXTURES / "helios", store)
    return store


@pytest.mark.parametrize(
    ("old", "new", "at", "message"),
    [
        # a missing column: the mapping's line and the column
        ('submit_time = "Submit"', 'submit_time = "Submitted"', "mapping",
         f"[columns] submit_time: column 'Submitted' is not in {SACCT.name}"),
        # an unknown status word: the data file's line and column
        ('"OUT_OF_MEMORY", ', "", "|OUT_OF_MEMORY|",
         "column 'State': unknown status word 'OUT_OF_MEMORY'"),
        # an unparseable time: the data file's line and column
        ('format = "%Y-%m-%dT%H:%M:%S"', 'format = "%Y-%m-%d %H:%M:%S"', "2024-03-04T09:15:02",
         "column 'Submit': not a time in format '%Y-%m-%d %H:%M:%S' (zone Europe/Berlin): "
         "'2024-03-04T09:15:02'"),
    ],
)
def test_a_bad_mapping_names_file_line_and_column_and_leaves_the_store(
    tmp_path, used_store, old, new, at, message
):
    mapping = _variant(tmp_path, old, new)
    before = _snapshot(used_store)
    with pytest.raises(TraceFormatError) as err:
        tk.ingest("csv", SACCT, used_store, mapping=mapping)
    path, line = (mapping, _line_of(mapping, new)) if at == "mapping" else (SACCT,
                                                                           _line_of(SACCT, at))
    assert str(err.value).startswith(f"{path}, line {line}: {message}")
    assert _snapshot(used_store) == before


def test_lenient_mode_counts_and_drops_bad_rows(tmp_path):
    data = tmp_path / "sacct.txt"
    lines = SACCT.read_text().splitlines()
    lines[1] = lines[1].replace("2024-03-04T09:15:02", "yesterday")
    data.write_text("\n".join(lines) + "\n")
    store = tmp_path / "store"
    tk.ingest("csv", data, store, mapping=SLURM_MAP, lenient=True)
    st = tk.open_store(store)
    assert "71001" not in st.jobs("slurm").collect()["job_id"].to_list()
    quality = dict(st.quality().select("rule", "count").iter_rows())
    assert quality["slurm.unparseable_row"] == 1


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ('name = "slurm"', 'name = "philly"', 'name = "philly"', "built-in reader's trace"),
        ('timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus"', "Mars/Olympus",
         "unknown time zone 'Mars/Olympus'"),
        ('match = "first_word"', 'matching = "first_word"', "matching",
         "[status] matching: unknown key"),
        ("pattern = '\\.'", "pattern = '(['", "pattern = '(['", "not a valid regular expression"),
        ('status = "State"', 'status = "State"\nstatus = "State"', None, "not valid TOML"),
    ],
)
def test_bad_mapping_keys_name_the_line(tmp_path, old, new, key, message):
    mapping = _variant(tmp_path, old, new)
    with pytest.raises(TraceFormatError) as err:
        tk.ingest("csv", SACCT, tmp_path / "store", mapping=mapping)
    text = str(err.value)
    assert text.startswith(f"{mapping}, line ") and message in text
    line = int(re.match(rf"{re.escape(str(mapping))}, line (\d+)", text).group(1))
    if key is not None:
        assert key in mapping.read_text().splitlines()[line - 1]
    assert not (tmp_path / "store").exists()


def test_too_many_fields_names_the_line(tmp_path):
    data = tmp_path / "sacct.txt"
    lines = SACCT.read_text().splitlines()
    lines[4] += "|extra"
    data.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError, match=r"line 5: 16 fields, but the header has 15"):
        tk.ingest("csv", data, tmp_path / "store", mapping=SLURM_MAP)


def test_cli_ingest_csv_and_a_bad_mapping_exits_2_on_one_line(tmp_path):
    store = tmp_path / "store"
    ok = runner.invoke(app, ["ingest", "csv", str(SACCT), "--mapping", str(SLURM_MAP),
                             "--store", str(store)])
    assert ok.exit_code == 0, ok.output
    assert "mycluster" in ok.output
    mapping = _variant(tmp_path, 'user = "User"', 'user = "Owner"')
    before = _snapshot(store)
    bad = runner.invoke(app, ["ingest", "csv", str(SACCT), "--mapping", str(mapping),
                              "--store", str(store)])
    assert bad.exit_code == 2
    lines = [ln for ln in bad.output.splitlines() if ln.strip()]
    assert lines[-1].startswith(f"error: {mapping}, line ")
    assert "column 'Owner' is not in" in bad.output and "Traceback" not in bad.output
    assert _snapshot(store) == before
    missing = runner.invoke(app, ["ingest", "csv", str(SACCT), "--store", str(store)])
    assert missing.exit_code == 2 and "needs a column mapping" in missing.output


def test_headerless_table_with_unix_times_scales_patterns_and_constants(tmp_path):
    mapping = tmp_path / "k8s.toml"
    mapping.write_text("""
[trace]
name = "k8s"
cluster = "prod"

[file]
delimiter = ";"
comment = "#"
header = false
names = ["name", "namespace", "created", "queued_s", "ran_min", "resources", "phase"]

[time]
format = "unix"
timezone = "UTC"

[columns]
job_id = "name"
user = "namespace"
vc = { value = "default" }
submit_time = "created"
queue_s = "queued_s"
duration_s = { column = "ran_min", scale = 60 }
num_gpus = { column = "resources", pattern = 'nvidia\\.com/gpu=(\\d+)', default = 0 }
num_cpus = { column = "resources", pattern = 'cpu=(\\d+)' }
status = "phase"

[status]
completed = ["Succeeded"]
failed = ["Failed"]
other = "failed"
""")
    store = tmp_path / "store"
    tk.ingest("csv", FIXTURES / "csv" / "k8s_jobs.txt", store, mapping=mapping)
    st = tk.open_store(store)
    jobs = {r["job_id"]: r for r in st.jobs("k8s").collect().iter_rows(named=True)}
    assert list(jobs) == ["train-a1", "train-a2", "eval-b1", "train-c1"]
    a1 = jobs["train-a1"]
    assert str(a1["submit_time"]) == "2024-03-04 09:15:02+00:00"
    assert str(a1["start_time"]) == "2024-03-04 09:15:14+00:00"
    assert (a1["duration_s"], a1["num_gpus"], a1["num_cpus"], a1["vc"]) == (3690.0, 2.0, 8.0,
                                                                           "default")
    assert jobs["eval-b1"]["num_gpus"] == 0.0
    assert (jobs["train-c1"]["status"], jobs["train-c1"]["raw_status"]) == ("failed", "Evicted")
    quality = dict(st.quality().select("rule", "count").iter_rows())
    assert quality["k8s.unknown_status"] == 1 and quality["k8s.blank_line"] == 1
    with pytest.raises(TraceFormatError, match="line 8: column 'created': not a time"):
        bad = tmp_path / "bad.txt"
        lines = (FIXTURES / "csv" / "k8s_jobs.txt").read_text().splitlines()
        lines[7] = lines[7].replace("1709550000", "soon")
        bad.write_text("\n".join(lines) + "\n")
        tk.ingest("csv", bad, tmp_path / "other", mapping=mapping)


def test_strict_refuses_repairs_and_an_empty_table_needs_allow_empty(tmp_path):
    data = tmp_path / "sacct.txt"
    lines = SACCT.read_text().splitlines()
    data.write_text("\n".join([*lines, lines[1]]) + "\n")  # job 71001 twice
    store = tmp_path / "store"
    tk.ingest("csv", data, store, mapping=SLURM_MAP)
    quality = dict(tk.open_store(store).quality().select("rule", "count").iter_rows())
    assert quality["slurm.duplicate_row_dropped"] == 1
    with pytest.raises(TraceFormatError, match="job id '71001' appears more than once"):
        tk.ingest("csv", data, tmp_path / "strict", mapping=SLURM_MAP, strict=True)
    header_only = tmp_path / "empty.txt"
    header_only.write_text(lines[0] + "\n")
    with pytest.raises(TraceFormatError, match="no job rows; pass --allow-empty"):
        tk.ingest("csv", header_only, tmp_path / "e", mapping=SLURM_MAP)
    assert tk.ingest("csv", header_only, tmp_path / "e", mapping=SLURM_MAP,
                     allow_empty=True) == {"mycluster": {"jobs": 0}}
