"""Submit-time features: leakage, row-order invariance and a brute-force reference."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tracekit.predict.features import (
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    build_features,
)
from tracekit.predict.synth import make_jobs

FEATURES = [*NUMERIC_FEATURES, *CATEGORICAL_FEATURES]


@pytest.fixture(scope="module")
def jobs() -> pl.DataFrame:
    return make_jobs(1_500, n_users=25, days=10, seed=3)


def _feats(frame: pl.DataFrame) -> pl.DataFrame:
    return build_features(frame).select("job_id", *FEATURES).sort("job_id")


def test_one_row_per_gpu_job_in_input_order(jobs: pl.DataFrame) -> None:
    with_cpu = jobs.with_columns(
        pl.when(pl.col("job_id") == "j5").then(0.0).otherwise(pl.col("num_gpus")).alias("num_gpus")
    )
    feats = build_features(with_cpu)
    assert feats.height == jobs.height - 1
    assert "j5" not in feats["job_id"].to_list()
    assert feats["job_id"].to_list() == [j for j in jobs["job_id"].to_list() if j != "j5"]
    assert feats.filter(pl.col("status") == "censored")["is_target"].sum() == 0


def test_row_order_does_not_matter(jobs: pl.DataFrame) -> None:
    shuffled = jobs.sample(fraction=1.0, shuffle=True, seed=11)
    assert_frame_equal(_feats(jobs), _feats(shuffled))


def test_future_rows_do_not_change_past_features(jobs: pl.DataFrame) -> None:
    """Rewrite everything unknown at t0 (future jobs, outcomes after t0): features before t0
    must be identical."""
    t0 = jobs["submit_time"].sort()[jobs.height // 2]
    rng = np.random.default_rng(5)
    factor = pl.Series(rng.uniform(0.1, 10.0, jobs.height))
    future = pl.col("submit_time") >= t0
    ends_after = pl.col("end_time") >= t0
    perturbed = jobs.with_columns(factor.alias("_f")).with_columns(
        # future jobs: other sizes, other users' habits, other durations
        pl.when(future).then(pl.col("num_gpus") * 2).otherwise(pl.col("num_gpus"))
        .alias("num_gpus"),
        pl.when(future).then(pl.col("user").reverse()).otherwise(pl.col("user")).alias("user"),
        # outcomes revealed after t0 (also of jobs submitted before t0): stretched
        pl.when(ends_after)
        .then(pl.max_horizontal(
            t0 + timedelta(seconds=1),
            pl.col("start_time") + pl.duration(seconds=pl.col("duration_s") * pl.col("_f")),
        ))
        .otherwise(pl.col("end_time")).alias("end_time"),
        pl.when(ends_after & (pl.col("_f") > 5)).then(pl.lit("failed"))
        .otherwise(pl.col("status")).alias("status"),
    ).with_columns(
        ((pl.col("end_time") - pl.col("start_time")).dt.total_microseconds() / 1e6)
        .alias("duration_s")
    ).drop("_f")
    # ... plus extra jobs submitted in the future
    extra = make_jobs(300, n_users=25, days=10, seed=99).with_columns(
        (pl.col("submit_time") + (t0 - jobs["submit_time"].min())).alias("submit_time"),
        (pl.col("start_time") + (t0 - jobs["submit_time"].min())).alias("start_time"),
        (pl.col("end_time") + (t0 - jobs["submit_time"].min())).alias("end_time"),
        ("x" + pl.col("job_id")).alias("job_id"),
    )
    perturbed = pl.concat([perturbed, extra])
    past = jobs.filter(pl.col("submit_time") < t0)["job_id"]
    before = _feats(jobs).filter(pl.col("job_id").is_in(past.implode()))
    after = _feats(perturbed).filter(pl.col("job_id").is_in(past.implode()))
    assert before.height == past.len() > 100
    assert_frame_equal(before, after)
    # and the perturbation is strong enough to change later features
    later = jobs.filter(pl.col("submit_time") >= t0)["job_id"].implode()
    assert not _feats(jobs).filter(pl.col("job_id").is_in(later)).equals(
        _feats(perturbed).filter(pl.col("job_id").is_in(later))
    )


def test_own_outcome_never_leaks(jobs: pl.DataFrame) -> None:
    base = _feats(jobs)
    finished = jobs.filter(pl.col("status") == "completed")
    for job_id in finished["job_id"].sample(5, seed=1).to_list():
        # zero-length job ending at its submit instant: the worst case for an inclusive as-of
        changed = jobs.with_columns(
            pl.when(pl.col("job_id") == job_id).then(pl.col("submit_time"))
            .otherwise(pl.col("start_time")).alias("start_time"),
        ).with_columns(
            pl.when(pl.col("job_id") == job_id).then(pl.col("submit_time"))
            .otherwise(pl.col("end_time")).alias("end_time"),
            pl.when(pl.col("job_id") == job_id).then(0.0)
            .otherwise(pl.col("duration_s")).alias("duration_s"),
        )
        row = _feats(changed).filter(pl.col("job_id") == job_id)
        assert_frame_equal(row, base.filter(pl.col("job_id") == job_id))


def _reference(jobs: pl.DataFrame) -> dict[str, dict[str, float | None]]:
    """Per-row Python loop over the definitions (small inputs only)."""
    rows = jobs.filter(pl.col("num_gpus") > 0).to_dicts()
    out: dict[str, dict[str, float | None]] = {}
    for r in rows:
        t = r["submit_time"]
        hist = sorted(
            (
                (o["end_time"], o["job_id"], math.log(max(o["duration_s"], 1.0)),
                 o["status"] == "completed")
                for o in rows
                if o["user"] == r["user"] and o["status"] != "censored"
                and o["duration_s"] is not None and o["end_time"] < t
            ),
        )
        logs = [h[2] for h in hist]
        running = sum(
            o["num_gpus"] for o in rows
            if o["start_time"] is not None and o["start_time"] < t
            and (o["end_time"] is None or o["end_time"] >= t)
        )
        pending = sum(
            o["num_gpus"] for o in rows
            if o["submit_time"] < t
            and ((o["start_time"] or o["end_time"]) is None
                 or (o["start_time"] or o["end_time"]) >= t)
        )
        out[r["job_id"]] = {
            "user_n": float(len(logs)),
            "user_median_log_s": float(np.median(logs[-20:])) if logs else None,
            "user_mean_log_s": float(np.mean(logs)) if logs else None,
            "user_last_log_s": logs[-1] if logs else None,
            "user_completion_rate": float(np.mean([h[3] for h in hist])) if hist else None,
            "cluster_running_gpus": float(running),
            "cluster_pending_gpus": float(pending),
        }
    return out


def _with_ties(small: pl.DataFrame) -> pl.DataFrame:
    """Make two jobs of one user end at the same instant and a third one submit right then;
    cancel one job before it starts."""
    rows = small.to_dicts()
    a = next(r for r in rows if r["status"] == "completed" and r["job_id"] != "j0")
    later = [r for r in rows if r["user"] == a["user"] and r["submit_time"] > a["submit_time"]
             and r["end_time"] is not None]
    b = next(r for r in later if r["start_time"] < a["end_time"])
    b["end_time"] = a["end_time"]
    b["status"] = "failed"
    c = next(r for r in later if r is not b and r["submit_time"] > a["end_time"])
    shift = c["submit_time"] - a["end_time"]
    c["submit_time"] = a["end_time"]
    c["start_time"] = c["start_time"] - shift
    c["end_time"] = c["end_time"] - shift
    # canceled while pending: never started, but it left the queue at its end
    d = next(r for r in rows if r["status"] == "completed" and r is not a and r is not c)
    d["start_time"] = None
    d["status"] = "canceled"
    out = pl.DataFrame(rows, schema=small.schema)
    return out.with_columns(
        ((pl.col("end_time") - pl.col("start_time")).dt.total_microseconds() / 1e6)
        .alias("duration_s")
    )


def test_matches_brute_force_reference() -> None:
    small = _with_ties(make_jobs(250, n_users=6, days=3, seed=8))
    ref = _reference(small)
    feats = build_features(small).to_dicts()
    for row in feats:
        want = ref[row["job_id"]]
        for name, value in want.items():
            if value is None:
                assert row[name] is None, (row["job_id"], name)
            else:
                assert row[name] == pytest.approx(value, abs=1e-9), (row["job_id"], name)


def test_histories_do_not_cross_clusters(jobs: pl.DataFrame) -> None:
    other = jobs.with_columns(pl.lit("Earth").alias("cluster"))
    both = build_features(pl.concat([jobs, other]))
    venus = both.filter(pl.col("cluster") == "Venus").select("job_id", *FEATURES).sort("job_id")
    assert_frame_equal(venus, _feats(jobs))
