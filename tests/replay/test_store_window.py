"""What a store replay takes in: the submit window (an empty one is an error that says where
the jobs are), and every job it leaves out counted by a named rule."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tracekit.cli import app
from tracekit.replay import replay_from_store
from tracekit.replay.sweep import SweepConfig, sweep
from tracekit.store import open_store

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
VENUS = ("--trace", "helios", "--cluster", "Venus")


def on_venus(store: Path, *args: str):  # noqa: ANN201 - click Result
    """``tracekit replay --store STORE --trace helios --cluster Venus ARGS``."""
    return runner.invoke(app, ["replay", "--store", str(store), *VENUS, *args], env=WIDE)


def test_an_empty_window_says_where_the_jobs_are(sample_store: Path) -> None:
    result = on_venus(sample_store, "--start", "2021-09-01")
    assert result.exit_code == 2, result.output
    line = " ".join(result.output.split())
    assert "no job of helios/Venus was submitted in the window [2021-09-01 00:00, …)" in line
    assert "its jobs were submitted from 2020-03-31" in line
    with pytest.raises(ValueError, match="no job of helios/Venus was submitted in the window"):
        replay_from_store(sample_store, "helios", "Venus", start="2021-09-01", end="2021-10-01")


def test_end_before_start_is_refused(sample_store: Path) -> None:
    result = on_venus(sample_store, "--start", "2020-09-10", "--end", "2020-09-01")
    assert result.exit_code == 2
    assert "end 2020-09-01 00:00 is not after start 2020-09-10 00:00" in result.output
    with pytest.raises(ValueError, match="the window is empty"):
        replay_from_store(sample_store, "helios", "Venus", start="2020-09-10", end="2020-09-10")
    with pytest.raises(ValueError, match="start: 'Sept' is not a date"):
        replay_from_store(sample_store, "helios", "Venus", start="Sept")


def test_a_sweep_with_an_empty_window_names_its_config(sample_store: Path) -> None:
    ok = SweepConfig("helios", "Venus", "fifo", store=str(sample_store))
    empty = SweepConfig("helios", "Venus", "fifo", store=str(sample_store), seed=3,
                        start="2021-09-01", end="2021-10-01")  # fmt: skip
    with pytest.raises(ValueError) as info:
        sweep([ok, empty], "sequential", progress=False)
    assert str(info.value).startswith(
        "sweep config 2 of 2 (helios/Venus fifo oracle seed 3 window [2021-09-01, 2021-10-01)): "
        "no job of helios/Venus was submitted in the window"
    )


def test_every_job_left_out_is_counted(sample_store: Path) -> None:
    jobs = open_store(sample_store).scan("jobs", trace="helios", cluster="Venus").collect()
    gpu = jobs.filter(pl.col("num_gpus") > 0)
    no_duration = gpu["duration_s"].null_count()
    assert no_duration >= 1  # the sample has jobs that never ended, like the real trace
    res = replay_from_store(sample_store, "helios", "Venus", policy="fifo")
    counts = res.quality.nonzero()
    assert counts["replay.no_duration"] == no_duration
    dropped = sum(n for rule, n in counts.items() if not rule.endswith("rounded_up"))
    assert res.jobs.height + dropped == gpu.height
    result = on_venus(sample_store)
    assert result.exit_code == 0, result.output
    assert f"'replay.no_duration': {no_duration}" in result.output


def test_openb_jobs_without_a_duration_are_counted(real_data: Path, tmp_path: Path) -> None:
    from tracekit.sources import ingest

    store = tmp_path / "store"
    ingest("openb", real_data / "openb", store)
    st = open_store(store)
    jobs = st.scan("jobs", trace="openb", cluster="default").collect()
    res = replay_from_store(st, "openb", "default", placement="fgd")
    counts = res.quality.nonzero()
    assert counts["replay.no_duration"] == jobs["duration_s"].null_count() > 0
    assert (
        res.jobs.height
        + sum(
            n
            for rule, n in counts.items()
            if rule.startswith("replay.")
            and not rule.startswith(("replay.util_from", "replay.group_from"))
        )
        == jobs.height
    )
