"""run_predict: the predictions table in the store and the metrics table."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from tracekit.errors import StoreError
from tracekit.predict import (
    LGBMDurationRegressor,
    build_features,
    compare_models,
    evaluate_temporal,
    make_model,
    run_predict,
)
from tracekit.predict.models import DEFAULT_SEED
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
    with pytest.raises(ValueError, match="helios/Venus: no finished GPU job ended before "
                       "2019-01-01: the training set would be empty"):
        run_predict(store, "helios", cluster="Venus", train_until="2019-01-01")


# ---- on the Helios sample, ingested from its raw files (see conftest.py) ------------------------
def test_unknown_names_list_what_is_present(helios_sample_store: Path) -> None:
    with pytest.raises(StoreError, match=r"no trace 'nope'; present: helios$"):
        run_predict(helios_sample_store, "nope")
    with pytest.raises(StoreError, match=r"\(helios\): no cluster 'Mars'; present: Earth, Saturn, "
                       r"Uranus, Venus$"):
        run_predict(helios_sample_store, "helios", cluster="Mars")
    with pytest.raises(ValueError, match=r"^unknown model 'oracle'; choose one of lgbm, "
                       r"user-median, global-median, helios-mix$"):
        run_predict(helios_sample_store, "helios", model="oracle")


def test_names_match_ignoring_case(helios_store: Path) -> None:
    metrics = run_predict(helios_store, "Helios", cluster="venus", model="global-median")
    assert metrics["trace"].unique().to_list() == ["helios"]
    assert metrics["cluster"].unique().to_list() == ["Venus"]
    preds = open_store(helios_store).scan("predictions", "helios", "Venus").collect()
    assert preds.height > 0 and preds["model"].unique().to_list() == ["global-median"]


def test_no_store_and_an_empty_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no manifest.json; not a tracekit store"):
        run_predict(tmp_path / "none", "helios")
    with begin(tmp_path / "empty", "helios"):
        pass  # a store with a manifest and no partition
    with pytest.raises(StoreError, match=r"empty: the store holds no trace yet; ingest one first"):
        run_predict(tmp_path / "empty", "helios")


@pytest.mark.parametrize("bad", ["garbage", "2020-13-01", "01/09/2020"])
def test_train_until_that_is_not_a_date(helios_sample_store: Path, bad: str) -> None:
    with pytest.raises(ValueError, match=rf"^train_until: '{bad}' is not a date or time: expected "
                       r"YYYY-MM-DD or YYYY-MM-DDTHH:MM\[:SS\]"):
        run_predict(helios_sample_store, "helios", train_until=bad)


def test_train_until_after_the_data_never_scores_an_empty_test_set(helios_store: Path) -> None:
    with pytest.raises(ValueError) as info:
        run_predict(helios_store, "helios", cluster="Venus", train_until="2030-01-01")
    message = str(info.value)
    assert message.startswith("helios/Venus: no finished GPU job was submitted at or after "
                              "2030-01-01: the test set would be empty; choose a train-until after")
    assert "or leave it out for the default (2020-" in message
    assert "predictions" not in open_store(helios_store).tables  # nothing was written
    # the same rule holds for the library's own evaluation
    features = build_features(open_store(helios_store).jobs("helios", "Venus"))
    with pytest.raises(ValueError, match="the test set would be empty"):
        evaluate_temporal(features, make_model("user-median"), "2030-01-01")


def test_read_only_store(helios_store: Path, read_only: Callable[[Path], None]) -> None:
    read_only(helios_store)
    with pytest.raises(StoreError, match=rf"^{helios_store}: cannot write to the store "
                       r"\(Permission denied: .*\); pass a writable --store folder"):
        run_predict(helios_store, "helios", cluster="Earth", model="user-median")


def test_one_default_seed() -> None:
    from tracekit.cli._common import DEFAULT_SEED as CLI_SEED

    assert DEFAULT_SEED == CLI_SEED == 7
    for fn in (run_predict, make_model, compare_models):
        assert inspect.signature(fn).parameters["seed"].default == DEFAULT_SEED
    assert LGBMDurationRegressor().random_state == DEFAULT_SEED
    assert make_model("lgbm").random_state == DEFAULT_SEED
