"""The export front door: filters, READMEs, the openb pod list, atomic output, the CLI."""

from __future__ import annotations

import math

import polars as pl
import pytest
from typer.testing import CliRunner

import tracekit as tk
from tracekit.cli import app
from tracekit.errors import StoreError
from tracekit.export import FORMATS, formats

runner = CliRunner()


def test_registry_lists_the_five_formats():
    assert list(FORMATS) == ["helios", "philly-json", "swf", "openb", "csv"]
    assert formats()["format"].to_list() == list(FORMATS)


def test_time_window_selects_jobs_and_the_readme_says_so(sample_store, jobs_of, tmp_path):
    out = tmp_path / "w"
    result = tk.export(sample_store, "helios", trace="helios", cluster="Venus",
                       start="2020-08-29", end="2020-08-31T12:00", out=out)
    log = pl.read_csv(out / "Venus" / "cluster_log.csv", schema_overrides={"job_id": pl.String})
    jobs = tk.open_store(sample_store).jobs("helios", "Venus").collect()
    lo = pl.datetime(2020, 8, 29, time_zone="UTC")
    hi = pl.datetime(2020, 8, 31, 12, time_zone="UTC")
    inside = jobs.filter((pl.col("submit_time") >= lo) & (pl.col("submit_time") < hi))
    assert 0 < log.height == inside.height < jobs.height
    assert sorted(log["job_id"]) == sorted(inside["job_id"])
    readme = (out / "Venus" / "README.md").read_text()
    assert "submitted from 2020-08-29T00:00:00+00:00 (inclusive) to 2020-08-31T12:00:00+00:00" \
        in readme
    assert f"selected: {inside.height:,}" in readme
    assert result.files()["rows"].to_list()[0] == inside.height


def test_openb_pod_list_matches_the_real_header_and_splits_large_jobs(sample_store, real_data,
                                                                      tmp_path):
    out = tmp_path / "o"
    result = tk.export(sample_store, "openb", trace="helios", cluster="Saturn", out=out)
    pods = pl.read_csv(out / "Saturn" / "openb_pod_list_default.csv", infer_schema_length=None)
    real_header = (real_data / "openb/openb_pod_list_default.csv").read_text().splitlines()[0]
    assert ",".join(pods.columns) == real_header
    assert pods["num_gpu"].max() <= 8
    jobs = tk.open_store(sample_store).jobs("helios", "Saturn").collect()
    big = jobs.filter(pl.col("num_gpus") > 8)
    assert big.height > 0
    for job_id, gpus in big.select("job_id", "num_gpus").head(5).iter_rows():
        parts = pods.filter(pl.col("name").cast(pl.String).str.starts_with(f"{job_id}-"))
        assert parts.height == math.ceil(gpus / 8)
        assert parts["num_gpu"].sum() == gpus
    assert pods["num_gpu"].sum() == jobs["num_gpus"].sum()
    phases = dict(zip(*pods.group_by("pod_phase").len().sort("pod_phase").to_dict().values(),
                      strict=True))
    pods_per_job = ((pl.col("num_gpus") / 8).ceil().clip(lower_bound=1)).cast(pl.Int64)
    completed = jobs.filter(pl.col("status") == "completed").select(pods_per_job.sum()).item()
    assert phases["Succeeded"] == completed
    ledger = result.ledgers["Saturn"]
    assert ledger.changed["jobs of more than 8 GPUs split into several pods"] == big.height


def test_openb_renames_ids_that_are_not_pod_names(sample_store, tmp_path):
    out = tmp_path / "o"
    tk.export(sample_store, "openb", trace="philly", out=out)
    ids = pl.read_csv(out / "philly" / "job_ids.csv")
    pods = pl.read_csv(out / "philly" / "openb_pod_list_default.csv")
    assert ids["name"].str.starts_with("tk-pod-").all()
    names = pl.col("name")
    job_of_pod = pods.select(
        pl.when(names.is_in(ids["name"].implode())).then(names)
        .otherwise(names.str.replace(r"-\d+$", ""))
    )["name"]
    assert set(job_of_pod) == set(ids["name"]) and ids.height == ids["job_id"].n_unique()
    assert (out / "philly" / "openb_node_list_all_node.csv").is_file()


def test_existing_output_is_refused_then_replaced_atomically(sample_store, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        tk.export(sample_store, "swf", trace="philly", out=out)
    assert (out / "keep.txt").read_text() == "mine"
    tk.export(sample_store, "swf", trace="philly", out=out, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "philly" / "philly.swf").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["o"]  # no staging leftovers


def test_a_failed_export_leaves_the_previous_output_and_no_leftovers(sample_store, tmp_path,
                                                                     monkeypatch):
    out = tmp_path / "o"
    tk.export(sample_store, "helios", trace="helios", cluster="Venus", out=out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))

    def broken(part, folder, ledger):
        (folder / "half.csv").write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(FORMATS["helios"], "write", broken)
    with pytest.raises(OSError, match="disk full"):
        tk.export(sample_store, "helios", trace="helios", out=out, overwrite=True)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


def test_unknown_trace_cluster_format_and_empty_window_are_clear_errors(sample_store, tmp_path):
    with pytest.raises(StoreError, match="no trace 'slurm'"):
        tk.export(sample_store, "helios", trace="slurm", out=tmp_path / "a")
    with pytest.raises(StoreError, match="has no cluster 'Mars'"):
        tk.export(sample_store, "helios", trace="helios", cluster="Mars", out=tmp_path / "a")
    with pytest.raises(ValueError, match="unknown export format 'gavel'"):
        tk.export(sample_store, "gavel", trace="helios", out=tmp_path / "a")
    with pytest.raises(ValueError, match="the window is empty"):
        tk.export(sample_store, "swf", trace="helios", start="2020-09-02", end="2020-09-01",
                  out=tmp_path / "a")
    assert not (tmp_path / "a").exists()


def test_cli_export_writes_files_and_reports_errors_on_one_line(sample_store, tmp_path):
    out = tmp_path / "cli"
    result = runner.invoke(app, [
        "export", "swf", "--trace", "helios", "--cluster", "Venus", "--from", "2020-08-28",
        "--to", "2020-09-01", "--store", str(sample_store), "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Venus.swf" in result.output and "CPU-only jobs" in result.output
    assert (out / "Venus" / "Venus.swf").is_file() and (out / "Venus" / "README.md").is_file()
    bad = runner.invoke(app, ["export", "gavel", "--trace", "helios", "--store",
                              str(sample_store), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert "error: unknown export format 'gavel'" in bad.output
    assert "Traceback" not in bad.output
    again = runner.invoke(app, ["export", "swf", "--trace", "helios", "--store",
                                str(sample_store), "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_cluster_without_jobs_in_the_window_gets_empty_files(sample_store, tmp_path, fmt):
    from dataclasses import replace

    from tracekit.export import select
    from tracekit.export._common import Ledger

    (part,) = select(tk.open_store(sample_store), "helios", "Venus")
    empty = replace(part, jobs=part.jobs.clear())
    ledger = Ledger()
    FORMATS[fmt].write(empty, tmp_path, ledger)
    data_files = {f: n for f, n in ledger.files.items() if not f.endswith(("vcs.csv",
                                                                           "vc_config.csv",
                                                                           "gpu_number.csv"))}
    assert data_files and all(n == 0 for n in data_files.values())
    assert all((tmp_path / f).is_file() for f in ledger.files)
    assert all(n == 0 for n in ledger.dropped.values())


def test_a_window_without_any_job_is_an_error(sample_store, tmp_path):
    with pytest.raises(ValueError, match="no job of helios was submitted in the window"):
        tk.export(sample_store, "helios", trace="helios", start="2030-01-01", out=tmp_path / "o")
    assert not (tmp_path / "o").exists()
