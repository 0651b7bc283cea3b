"""A store replay says which predictions it read (model and ``trained_until``) and counts the
jobs whose predictions are in-sample (the model learnt from them), without refusing them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from tracekit.cli import app
from tracekit.replay import replay_from_store
from tracekit.store import open_store

runner = CliRunner()
RULE = "replay.prediction_in_training_window"


def _cutoff(store: Path):  # noqa: ANN202 - datetime
    preds = open_store(store).scan("predictions", trace="helios", cluster="Venus").collect()
    assert preds["trained_until"].n_unique() == 1
    return preds["trained_until"][0]


def test_the_result_names_its_predictions_and_counts_in_sample_jobs(sample_store: Path) -> None:
    cut = _cutoff(sample_store)
    res = replay_from_store(sample_store, "helios", "Venus", policy="qssf")  # the one model
    assert res.prediction_model == "lgbm"
    assert res.trained_until == f"{cut:%Y-%m-%d}" or res.trained_until == f"{cut:%Y-%m-%d %H:%M}"
    jobs = open_store(sample_store).scan("jobs", trace="helios", cluster="Venus").collect()
    ended = pl.col("submit_time") + pl.duration(seconds=pl.col("duration_s"))
    learnt = jobs.filter((pl.col("num_gpus") > 0) & (ended < cut)).height
    assert res.quality.counts[RULE] == learnt > 0
    # Jobs submitted after the cut-off were not learnt from; FIFO reads no predictions.
    later = replay_from_store(sample_store, "helios", "Venus", start=cut, policy="qssf")
    assert later.quality.counts[RULE] == 0
    fifo = replay_from_store(sample_store, "helios", "Venus", policy="fifo")
    assert fifo.prediction_model is None and RULE not in fifo.quality.counts


def test_the_cli_names_the_model_and_warns_on_in_sample_predictions(sample_store: Path) -> None:
    cut = _cutoff(sample_store)
    base = ["replay", "--store", str(sample_store), "--trace", "helios", "--cluster", "Venus",
            "--policy", "qssf"]  # fmt: skip
    result = runner.invoke(app, base, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        f"replay qssf on helios/Venus with lgbm's predictions (trained until {cut:%Y-%m-%d}" in text
    )
    assert f"jobs ended before lgbm's trained_until {cut:%Y-%m-%d}" in text
    assert f"'{RULE}':" in text
    after = f"{cut + timedelta(days=1):%Y-%m-%d}"
    result = runner.invoke(app, [*base, "--start", after], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output and "with lgbm's predictions" in result.output
