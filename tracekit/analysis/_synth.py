"""A fast Helios-like ``jobs`` / ``capacity`` generator in the store schema, for benchmarks and
tests of the analysis functions (not the calibrated sample generator of ``tracekit.sample``).

Numbers are rough (size PMF, lognormal durations, zero-inflated queueing, skewed users), enough
to exercise every code path at full scale; they are not meant to reproduce the findings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl

from tracekit.schema import JOBS

CLUSTERS: dict[str, float] = {"Venus": 0.073, "Earth": 0.26, "Saturn": 0.521, "Uranus": 0.146}
CAPACITY_GPUS: dict[str, int] = {"Venus": 1024, "Earth": 1000, "Saturn": 2080, "Uranus": 2120}
_SIZES = np.array([0, 1, 2, 4, 8, 16, 32, 64, 128], dtype=np.float64)
_SIZE_P = np.array([0.53, 0.33, 0.015, 0.04, 0.07, 0.02, 0.01, 0.004, 0.001])
_T0 = datetime(2020, 4, 1, tzinfo=UTC)
_SPAN_S = 181 * 86400


def helios_like_jobs(n: int = 3_362_981, seed: int = 0, n_users: int = 713) -> pl.DataFrame:
    """Generate ``n`` Helios-like jobs (store ``jobs`` schema plus ``trace``/``cluster``).

    Parameters
    ----------
    n : int
        Number of jobs (default: the real Helios job count).
    seed : int
        Random seed.
    n_users : int
        Number of distinct users (per-user activity is lognormal, sigma 1.8).
    """
    rng = np.random.default_rng(seed)
    names = list(CLUSTERS)
    cl = rng.choice(len(names), size=n, p=np.array(list(CLUSTERS.values())) / 1.0)
    # Diurnal submissions: accept a uniform time with a probability following the hour of day.
    hour_w = 0.35 + 0.65 * np.sin(np.linspace(0, np.pi, 24)) ** 2
    t = rng.uniform(0, _SPAN_S, size=n)
    hour = ((t // 3600 + 8) % 24).astype(np.int64)
    t = np.where(rng.uniform(size=n) < hour_w[hour], t, rng.uniform(0, _SPAN_S, size=n))
    t.sort()
    gpus = rng.choice(_SIZES, size=n, p=_SIZE_P / _SIZE_P.sum())
    dur = np.exp(rng.normal(5.3 + 0.35 * np.log2(np.maximum(gpus, 1)), 2.3, size=n)).round()
    queue = np.where(rng.uniform(size=n) < 0.6, 0.0, np.exp(rng.normal(4.0, 2.5, size=n))).round()
    status = rng.choice(
        np.array(["completed", "canceled", "failed"]), size=n, p=[0.7, 0.17, 0.13]
    )
    user_w = np.exp(rng.normal(0, 1.8, size=n_users))
    user = rng.choice(n_users, size=n, p=user_w / user_w.sum())
    vc = rng.integers(0, 16, size=n)
    submit_us = (_T0.timestamp() * 1e6 + t * 1e6).astype(np.int64)
    start_us = submit_us + (queue * 1e6).astype(np.int64)
    end_us = start_us + (dur * 1e6).astype(np.int64)
    frame = pl.DataFrame(
        {
            "trace": pl.Series(["helios"] * 1, dtype=pl.String).extend_constant("helios", n - 1),
            "cluster": pl.Series(np.array(names)[cl], dtype=pl.String),
            "job_id": pl.Series(np.arange(n).astype(str), dtype=pl.String),
            "user": pl.Series(np.char.add("u", user.astype(str)), dtype=pl.String),
            "vc": pl.Series(np.char.add("vc", vc.astype(str)), dtype=pl.String),
            "submit_time": pl.Series(submit_us).cast(pl.Datetime("us", "UTC")),
            "start_time": pl.Series(start_us).cast(pl.Datetime("us", "UTC")),
            "end_time": pl.Series(end_us).cast(pl.Datetime("us", "UTC")),
            "queue_s": queue,
            "duration_s": dur,
            "num_gpus": gpus,
            "status": pl.Series(status, dtype=pl.String),
        }
    )
    return frame.with_columns(
        pl.lit(None, dtype=pl.String).alias("job_name"),
        pl.lit(None, dtype=pl.String).alias("group_tag"),
        pl.lit(None, dtype=pl.String).alias("workload"),
        (pl.col("num_gpus") * 4).alias("num_cpus"),
        pl.lit(None, dtype=pl.Float64).alias("mem_gb"),
        (pl.col("num_gpus") / 8).ceil().cast(pl.Int32).alias("num_nodes"),
        pl.lit(None, dtype=pl.String).alias("gpu_type"),
        pl.col("status").str.to_uppercase().alias("raw_status"),
        pl.lit(None, dtype=pl.Int32).alias("num_attempts"),
        (pl.col("num_gpus") * pl.col("duration_s")).alias("gpu_time_s"),
        pl.lit(None, dtype=pl.Float64).alias("gpu_util_mean"),
    ).select(["trace", "cluster", *JOBS.names])


def helios_like_capacity(vcs: int = 16) -> pl.DataFrame:
    """Daily per-VC capacity for the clusters of :func:`helios_like_jobs` (181 days)."""
    days = pl.date_range(date(2020, 4, 1), date(2020, 9, 28), "1d", eager=True)
    parts = []
    for cluster, total in CAPACITY_GPUS.items():
        per_vc = float(total // vcs)
        parts.append(
            pl.DataFrame({"date": days})
            .join(pl.DataFrame({"vc": [f"vc{i}" for i in range(vcs)]}), how="cross")
            .with_columns(
                pl.lit("helios").alias("trace"),
                pl.lit(cluster).alias("cluster"),
                pl.lit(per_vc).alias("num_gpus"),
            )
        )
    return pl.concat(parts).select("trace", "cluster", "date", "vc", "num_gpus")
