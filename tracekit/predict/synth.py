"""A structured synthetic ``jobs`` frame for tests and benchmarks of the predictors.

This is *not* the calibrated trace sample (that is :mod:`tracekit.sample`); it only needs the
structure a duration predictor can learn from: users with habits (a typical duration and a
preferred job size), recurring groups inside users, a size effect, a diurnal submit pattern,
failures that end early and jobs still running at the end of the trace (censored).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

_ORIGIN = datetime(2020, 4, 1, tzinfo=UTC)
_SIZES = np.array([1.0, 1.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0])


def make_jobs(
    n_jobs: int = 20_000,
    *,
    n_users: int | None = None,
    days: float = 60.0,
    seed: int = 0,
    trace: str = "helios",
    cluster: str = "Venus",
) -> pl.DataFrame:
    """Generate a jobs frame with the store's ``jobs`` columns plus ``trace`` and ``cluster``.

    Parameters
    ----------
    n_jobs : int
        Number of jobs.
    n_users : int, optional
        Number of users (default ``max(5, n_jobs // 60)``); activity is Zipf-like.
    days : float
        Span of submit times.
    seed : int
        Seed of every random choice.
    trace, cluster : str
        Partition values written into the ``trace`` and ``cluster`` columns.

    Returns
    -------
    polars.DataFrame
        Sorted by ``submit_time``; ``job_id`` is ``j<k>`` in submit order.
    """
    rng = np.random.default_rng(seed)
    n_users = n_users or max(5, n_jobs // 60)
    # Users: a habitual log-duration, a preferred size, a VC; Zipf-like activity.
    user_mu = rng.normal(7.5, 1.4, n_users)
    user_size = rng.integers(0, len(_SIZES), n_users)
    user_vc = rng.integers(0, max(2, n_users // 20 + 1), n_users)
    activity = 1.0 / np.arange(1, n_users + 1) ** 0.9
    user = rng.choice(n_users, size=n_jobs, p=activity / activity.sum())
    # Recurring groups: up to 6 per user, each with its own offset around the user's habit.
    n_groups = 6
    group_local = rng.integers(0, n_groups, n_jobs)
    group_id = user * n_groups + group_local
    group_offset = rng.normal(0.0, 0.9, n_users * n_groups)
    # Size: mostly the user's preferred size, sometimes another one.
    own = rng.random(n_jobs) < 0.75
    size_idx = np.where(own, user_size[user], rng.integers(0, len(_SIZES), n_jobs))
    num_gpus = _SIZES[size_idx]
    # Submit times: uniform days with a diurnal bump (more submissions in working hours).
    day = rng.uniform(0.0, days, n_jobs).astype(np.int64)
    hour = np.clip(rng.normal(14.0, 4.5, n_jobs), 0.0, 23.999)
    submit_s = np.sort(day * 86_400.0 + hour * 3_600.0 + rng.uniform(0, 60, n_jobs))
    # Duration: habit + group + size effect + a slow drift + noise; failures end early.
    drift = 0.3 * np.sin(submit_s / (86_400.0 * days) * np.pi)
    log_dur = (
        user_mu[user] + group_offset[group_id] + 0.25 * np.log2(num_gpus) + drift
        + rng.normal(0.0, 0.6, n_jobs)
    )
    u = rng.random(n_jobs)
    status = np.where(u < 0.72, "completed", np.where(u < 0.87, "failed", "canceled"))
    log_dur = np.where(status == "failed", log_dur - rng.uniform(0.5, 3.0, n_jobs), log_dur)
    duration = np.clip(np.exp(log_dur), 1.0, 30 * 86_400.0).round()
    queue = np.round(rng.exponential(300.0, n_jobs) * np.sqrt(num_gpus))
    start_s = submit_s + queue
    end_s = start_s + duration
    # Censor at the end of the trace window: still running (or not started) at the cut.
    cut = days * 86_400.0
    censored = end_s > cut
    not_started = start_s > cut
    status = np.where(censored, "censored", status)

    def ts(seconds: np.ndarray) -> pl.Series:
        us = (seconds * 1e6).astype(np.int64) + int(_ORIGIN.timestamp() * 1e6)
        return pl.Series(us).cast(pl.Datetime("us", "UTC"))

    start = ts(start_s).set(pl.Series(not_started), None)
    end = ts(end_s).set(pl.Series(censored), None)
    dur = pl.Series(duration, dtype=pl.Float64).set(pl.Series(censored), None)
    gpu_types = np.array(["V100", "P100", "T4"])
    frame = pl.DataFrame(
        {
            "trace": pl.Series([trace] * n_jobs, dtype=pl.String),
            "cluster": pl.Series([cluster] * n_jobs, dtype=pl.String),
            "job_id": [f"j{k}" for k in range(n_jobs)],
            "user": [f"u{k}" for k in user],
            "vc": [f"vc{k}" for k in user_vc[user]],
            "job_name": pl.Series([None] * n_jobs, dtype=pl.String),
            "group_tag": [f"g{k}" for k in group_id],
            "workload": pl.Series([None] * n_jobs, dtype=pl.String),
            "submit_time": ts(submit_s),
            "start_time": start,
            "end_time": end,
            "duration_s": dur,
            "num_gpus": num_gpus,
            "num_cpus": num_gpus * 6.0,
            "mem_gb": pl.Series([None] * n_jobs, dtype=pl.Float64),
            "num_nodes": pl.Series(np.ceil(num_gpus / 8.0).astype(np.int32)),
            "gpu_type": gpu_types[user % 3],
            "status": status,
            "raw_status": status,
            "num_attempts": pl.Series([None] * n_jobs, dtype=pl.Int32),
            "gpu_util_mean": pl.Series([None] * n_jobs, dtype=pl.Float64),
        }
    )
    return frame.with_columns(
        ((pl.col("start_time") - pl.col("submit_time")).dt.total_microseconds() / 1e6)
        .alias("queue_s"),
        (pl.col("num_gpus") * pl.col("duration_s")).alias("gpu_time_s"),
    ).select(
        "trace", "cluster", "job_id", "user", "vc", "job_name", "group_tag", "workload",
        "submit_time", "start_time", "end_time", "queue_s", "duration_s", "num_gpus", "num_cpus",
        "mem_gb", "num_nodes", "gpu_type", "status", "raw_status", "num_attempts", "gpu_time_s",
        "gpu_util_mean",
    )


__all__ = ["make_jobs"]
