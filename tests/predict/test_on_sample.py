"""End to end on the calibrated synthetic PAI sample: generate, ingest, predict."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tracekit.predict import run_predict
from tracekit.store import open_store


def test_lgbm_beats_user_history_on_pai_sample(pai_sample_store: Path) -> None:
    naive = run_predict(pai_sample_store, "pai", model="user-median", train_until="2020-08-18")
    lgbm = run_predict(pai_sample_store, "pai", model="lgbm", train_until="2020-08-18")
    nv = naive.filter(pl.col("split") == "test").row(0, named=True)
    lg = lgbm.filter(pl.col("split") == "test").row(0, named=True)
    assert lg["n"] == nv["n"] > 500
    assert lg["medae_log"] < nv["medae_log"]
    assert lg["spearman"] > nv["spearman"]
    preds = open_store(pai_sample_store).scan("predictions", trace="pai").collect()
    gpu_jobs = open_store(pai_sample_store).jobs("pai").filter(pl.col("num_gpus") > 0).collect()
    assert preds.filter(pl.col("model") == "lgbm").height == gpu_jobs.height
    assert set(preds["model"]) == {"lgbm", "user-median"}
