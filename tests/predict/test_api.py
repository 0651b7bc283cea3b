"""run_predict: the predictions table in the store and the metrics table."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tracekit.errors import StoreError
from tracekit.predict import run_predict
from tracekit.predict.synth import make_jobs
from tracekit.store import begin, open_store


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    with begin(root, "helios") as tx:
        for i, cluster in enumerate(("Venus", "Earth")):
            jobs = make_jobs(1_500, n_users=30, days=20, seed=i, cluster=cluster)
            if cluster == "Earth":  # one CPU job: never predicted
                jobs = jobs.with_columns(
                    pl.when(pl.col("job_id") == "j7").then(0.0).otherwise(pl.col("num_gpus"))
                    .alias("num_gpus")
                )
            tx.write("jobs", cluster, jobs.drop("trace", "cluster"))
            tx.set_meta(cluster, synthetic=True)
    return root


def test_predictions_for_all_gpu_jobs_and_models_coexist(store: Path, tmp_path: Path) -> None:
    csv = tmp_path / "out" / "metrics.csv"
    m1 = run_predict(store, "helios", model="user-median", train_until="2020-04-15",
                     metrics_csv=csv)
    assert csv.is_file() and pl.read_csv(csv).height == m1.height == 4
    assert set(m1["cluster"]) == {"Venus", "Earth"} and set(m1["split"]) == {"train", "test"}
    run_predict(store, "helios", cluster="Venus", model="global-median",
                train_until="2020-04-15")
    # rerunning a model replaces its rows instead of appending
    run_predict(store, "helios", cluster="Venus", model="user-median", train_until="2020-04-16")
    preds = open_store(store).scan("predictions", trace="helios").collect()
    counts = {(r["cluster"], r["model"]): r["len"]
              for r in preds.group_by("cluster", "model").len().to_dicts()}
    assert counts == {("Venus", "user-median"): 1_500, ("Venus", "global-median"): 1_500,
                      ("Earth", "user-median"): 1_499}
    venus = preds.filter((pl.col("cluster") == "Venus") & (pl.col("model") == "user-median"))
    assert venus["trained_until"].dt.day().unique().to_list() == [16]
    assert venus["pred_duration_s"].null_count() == 0
    assert venus["pred_q10_s"].null_count() == venus.height  # baselines give no interval
    # the jobs table is untouched by an update transaction
    assert open_store(store).jobs("helios").collect().height == 3_000


def test_lgbm_writes_intervals_and_rolling_weeks(store: Path) -> None:
    metrics = run_predict(store, "helios", cluster="Earth", model="lgbm", rolling=True,
                          train_until="2020-04-12")
    assert {"train", "test", "rolling"} <= set(metrics["split"])
    assert metrics.filter(pl.col("split").str.starts_with("week")).height == 2
    preds = open_store(store).scan("predictions", cluster="Earth").collect()
    assert preds["pred_q10_s"].null_count() == 0
    assert (preds["pred_q10_s"] <= preds["pred_q90_s"]).all()
    jobs = open_store(store).jobs("helios", "Earth").collect().select("job_id", "submit_time")
    joined = preds.join(jobs, on="job_id")
    late = joined.filter(pl.col("submit_time") >= pl.datetime(2020, 4, 12, time_zone="UTC"))
    assert (late["trained_until"] <= late["submit_time"]).all()
    assert late["trained_until"].n_unique() == 2


def test_errors(store: Path) -> None:
    with pytest.raises(StoreError, match="Saturn"):
        run_predict(store, "helios", cluster="Saturn")
    with pytest.raises(ValueError, match="unknown model"):
        run_predict(store, "helios", model="oracle")
    with pytest.raises(ValueError, match="no job finished"):
        run_predict(store, "helios", cluster="Venus", train_until="2019-01-01")
