"""Round trips: export a store's trace, read it back with tracekit's own reader, compare rows.

Each format is compared on the fields it carries; the SYNTHETIC default sample (Helios, Philly)
is the input.
"""

from __future__ import annotations

import shutil

import polars as pl
import pytest

import tracekit as tk
from tracekit.errors import TraceFormatError
from tracekit.predict import run_predict
from tracekit.replay import replay_csv, replay_from_store
from tracekit.sources.swf import FIELDS as SWF_FIELDS
from tracekit.sources.swf import GPU_NOTE

HELIOS_CLUSTERS = ("Earth", "Saturn", "Uranus", "Venus")
REPLAY_COLUMNS = ["job_id", "vc", "submit_time", "start_time", "end_time", "queue_s", "jct_s",
                  "preemptions"]


def test_helios_round_trip_gives_the_same_jobs_and_capacity(sample_store, jobs_of, tmp_path):
    out = tmp_path / "helios"
    result = tk.export(sample_store, "helios", trace="helios", out=out)
    assert sorted(result.ledgers) == list(HELIOS_CLUSTERS)
    back = tmp_path / "back"
    tk.ingest("helios", out, back)
    source, copy = tk.open_store(sample_store), tk.open_store(back)
    for cluster in HELIOS_CLUSTERS:
        before = jobs_of(sample_store, "helios", cluster)
        after = jobs_of(back, "helios", cluster)
        assert before.height > 100
        assert after.equals(before), cluster
        cap = [s.capacity("helios", cluster).collect().sort("date", "vc") for s in (source, copy)]
        assert cap[1].equals(cap[0])
    assert copy.is_synthetic("helios")  # the export carried the SYNTHETIC label along


def test_philly_json_round_trip_keeps_jobs_and_attempts(sample_store, jobs_of, tmp_path):
    out = tmp_path / "philly"
    tk.export(sample_store, "philly-json", trace="philly", out=out)
    back = tmp_path / "back"
    tk.ingest("philly", out / "philly", back)
    fields = (*[f for f in (
        "job_id", "user", "vc", "submit_time", "start_time", "end_time", "queue_s",
        "duration_s", "num_gpus", "num_nodes", "status", "raw_status")], "num_attempts")
    before = jobs_of(sample_store, "philly", "philly", fields)
    assert before["num_attempts"].max() > 1 and before["status"].n_unique() == 4
    assert jobs_of(back, "philly", "philly", fields).equals(before)
    attempts = [
        tk.open_store(s).scan("attempts", "philly").collect().drop("trace", "cluster")
        .sort("job_id", "attempt")
        for s in (sample_store, back)
    ]
    assert attempts[0].height > before.height
    assert attempts[1].equals(attempts[0])


def test_helios_as_philly_json_keeps_gpu_jobs(sample_store, jobs_of, tmp_path):
    out = tmp_path / "p"
    result = tk.export(sample_store, "philly-json", trace="helios", cluster="Venus", out=out)
    before = jobs_of(sample_store, "helios", "Venus")
    cpu_jobs = int((before["num_gpus"] == 0).sum())
    assert result.ledgers["Venus"].dropped[
        "CPU-only jobs (num_gpus = 0; the Philly log holds GPU jobs)"] == cpu_jobs > 0
    back = tmp_path / "back"
    # Venus's 2020 jobs are not Microsoft's Philly cluster: read under their own cluster name,
    # Philly's documented 2017 window does not apply to them (as the README says).
    assert "tracekit ingest philly . --clusters Venus" in (out / "Venus" / "README.md").read_text()
    tk.ingest("philly", out / "Venus", back, clusters=["Venus"])
    fields = ["job_id", "user", "vc", "submit_time", "start_time", "end_time", "queue_s",
              "duration_s", "num_gpus", "num_nodes", "status"]
    after = jobs_of(back, "philly", "Venus", fields)
    assert after.equals(before.filter(pl.col("num_gpus") > 0).select(fields))
    assert tk.open_store(back).clusters("philly") == ["Venus"]


def test_another_cluster_read_as_philly_gets_a_clear_error(sample_store, tmp_path):
    out = tmp_path / "p"
    tk.export(sample_store, "philly-json", trace="helios", cluster="Earth", out=out)
    # Read as Microsoft's cluster, every 2020 job is outside Philly's window: the error says
    # why and how to read it.
    with pytest.raises(TraceFormatError, match=r"outside the Philly trace's window .*--clusters"):
        tk.ingest("philly", out / "Earth", tmp_path / "back")


@pytest.mark.parametrize(("trace", "cluster"), [("helios", "Saturn"), ("philly", "philly")])
def test_swf_round_trip_for_the_fields_swf_carries(sample_store, jobs_of, tmp_path, trace,
                                                   cluster):
    out = tmp_path / "swf"
    tk.export(sample_store, "swf", trace=trace, cluster=cluster, out=out)
    back = tmp_path / "back"
    tk.ingest("swf", out, back)
    fields = ["job_id", "user", "vc", "submit_time", "start_time", "end_time", "queue_s",
              "duration_s", "num_gpus", "status"]
    before = jobs_of(sample_store, trace, cluster, fields).filter(
        pl.col("num_gpus").fill_null(1) > 0
    )
    after = jobs_of(back, "swf", cluster, fields)
    assert before.height > 100
    assert after.equals(before)


def test_every_swf_line_has_18_fields_and_the_header_states_the_gpu_mapping(sample_store,
                                                                             tmp_path):
    out = tmp_path / "swf"
    tk.export(sample_store, "swf", trace="helios", out=out)
    for cluster in HELIOS_CLUSTERS:
        lines = (out / cluster / f"{cluster}.swf").read_text().splitlines()
        header = [ln for ln in lines if ln.startswith(";")]
        data = [ln for ln in lines if not ln.startswith(";")]
        assert len(SWF_FIELDS) == 18
        assert data and all(len(ln.split()) == 18 for ln in data)
        assert all(int(v) >= -1 for ln in data for v in ln.split())
        assert f"; Note: {GPU_NOTE} (fields 5 and 8 count GPUs" in "\n".join(header)
        assert any(ln.startswith("; UnixStartTime: ") for ln in header)
        assert any("SYNTHETIC" in ln for ln in header)
        readme = (out / cluster / "README.md").read_text()
        assert "SYNTHETIC" in readme and "5 allocated processors" in readme


def test_replaying_an_exported_helios_trace_gives_the_store_replay(sample_store, tmp_path):
    out = tmp_path / "helios"
    tk.export(sample_store, "helios", trace="helios", cluster="Earth", out=out)
    back = tmp_path / "back"
    tk.ingest("helios", out, back)
    for policy in ("fifo", "srtf"):
        direct = replay_from_store(sample_store, "helios", "Earth", policy=policy, workers=1)
        exported = replay_from_store(back, "helios", "Earth", policy=policy, workers=1)
        assert direct.jobs.height > 100
        assert exported.jobs.select(REPLAY_COLUMNS).equals(direct.jobs.select(REPLAY_COLUMNS))


def test_csv_export_replays_like_the_store(sample_store, tmp_path):
    out = tmp_path / "csv"
    start, end = "2020-08-28", "2020-09-01"
    result = tk.export(sample_store, "csv", trace="helios", cluster="Uranus", start=start,
                       end=end, out=out)
    direct = replay_from_store(sample_store, "helios", "Uranus", start, end, policy="sjf",
                               workers=1)
    per_job = tmp_path / "per_job.csv"
    replay_csv(out / "Uranus" / "jobs.csv", out / "Uranus" / "vcs.csv", policy="sjf",
               out_csv=per_job, workers=1)
    replayed = pl.read_csv(per_job, schema_overrides={"job_id": pl.String})
    expected = direct.jobs.select(replayed.columns)
    assert replayed.height == expected.height == result.ledgers["Uranus"].files["jobs.csv"]
    assert replayed.sort("job_id").equals(expected.sort("job_id"))
    dropped = result.ledgers["Uranus"].dropped
    assert sum(n for r, n in dropped.items() if r.startswith("replay.")) == sum(
        n for r, n in direct.quality.counts.items() if r != "replay.fractional_gpus_rounded_up"
    )


def test_openb_round_trip_through_tracekits_openb_reader(sample_store, jobs_of, tmp_path):
    out = tmp_path / "openb"
    tk.export(sample_store, "openb", trace="philly", out=out)
    back = tmp_path / "back"
    tk.ingest("openb", out / "philly", back)
    ids = pl.read_csv(out / "philly" / "job_ids.csv")  # Philly ids are not pod names
    after = (
        tk.open_store(back).jobs("openb").collect()
        .join(ids, left_on="job_id", right_on="name")
        .select(pl.col("job_id_right").alias("job_id"), "queue_s", "duration_s", "num_gpus",
                "status")
        .sort("job_id")
    )  # fmt: skip
    fields = ["job_id", "queue_s", "duration_s", "num_gpus", "status"]
    # One pod per job of at most 8 GPUs; openb cannot tell a job canceled before any end time
    # from one still waiting at the end of the trace.
    before = jobs_of(sample_store, "philly", "philly", fields).filter(
        (pl.col("num_gpus") <= 8) & ~((pl.col("status") == "canceled")
                                      & pl.col("duration_s").is_null())
    )
    assert before.height > 100
    assert after.join(before.select("job_id"), on="job_id", how="semi").equals(before)


def test_csv_export_carries_the_one_stored_model(sample_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    run_predict(store, "helios", "Uranus", model="user-median", train_until="2020-08-01")
    out = tmp_path / "csv"
    start, end = "2020-08-28", "2020-09-01"
    result = tk.export(store, "csv", trace="helios", cluster="Uranus", start=start, end=end,
                       out=out)  # fmt: skip
    exported = pl.read_csv(out / "Uranus" / "jobs.csv", schema_overrides={"job_id": pl.String})
    assert "pred_duration_s" in exported.columns
    assert exported["pred_duration_s"].null_count() == 0
    assert any("user-median" in note for note in result.ledgers["Uranus"].remarks)
    # QSSF reads the predictions: the exported files replay like the store.
    direct = replay_from_store(store, "helios", "Uranus", start, end, policy="qssf", workers=1)
    per_job = tmp_path / "per_job.csv"
    replay_csv(out / "Uranus" / "jobs.csv", out / "Uranus" / "vcs.csv", policy="qssf",
               out_csv=per_job, workers=1)  # fmt: skip
    replayed = pl.read_csv(per_job, schema_overrides={"job_id": pl.String})
    assert replayed.sort("job_id").equals(direct.jobs.select(replayed.columns).sort("job_id"))
