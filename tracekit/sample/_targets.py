"""Calibration targets of the synthetic sample, read from the published numbers.

Every published value comes from ``tracekit/analysis/published/<trace>.csv`` (the rows the
findings table compares against), so no published number is written twice. What stays in code
here are the generator's own parameters that no paper publishes (fits and guesses, each
commented with its basis).
"""

from __future__ import annotations

import polars as pl

from tracekit.analysis.findings import published_series, published_table, published_value

HELIOS_CLUSTERS: tuple[str, ...] = ("Venus", "Earth", "Saturn", "Uranus")
STATUSES3: tuple[str, ...] = ("completed", "canceled", "failed")


def _series(trace: str, fid: str, cluster: str, key: str, measure: str | None = None) -> tuple:
    return tuple(published_series(trace, fid, cluster, key, measure)["published"].to_list())


# ---- Helios --------------------------------------------------------------------------------------
# (GPU jobs, CPU jobs) per cluster over the whole trace.
HELIOS_JOBS: dict[str, tuple[int, int]] = {
    c: (
        round(published_value("helios", "H0", c, "", kind="gpu")),
        round(published_value("helios", "H0", c, "", kind="all"))
        - round(published_value("helios", "H0", c, "", kind="gpu")),
    )
    for c in HELIOS_CLUSTERS
}
# Time-averaged GPUs of each cluster.
HELIOS_MEAN_CAPACITY: dict[str, float] = {
    c: published_value("helios", "H0", c, "", stat="mean") for c in HELIOS_CLUSTERS
}
# GPU- and CPU-job duration CDF (%) at t = 2^0 .. 2^21 s.
DURATION_GRID_S: tuple[int, ...] = tuple(
    int(x) for x in published_series("helios", "H1b", "Venus", "at")["at"]
)
HELIOS_GPU_DURATION_CDF: dict[str, tuple[float, ...]] = {
    c: _series("helios", "H1b", c, "at") for c in HELIOS_CLUSTERS
}
HELIOS_CPU_DURATION_CDF: dict[str, tuple[float, ...]] = {
    c: _series("helios", "H2", c, "at", "duration_cdf_pct") for c in HELIOS_CLUSTERS
}
HELIOS_MEDIAN_GPU_DURATION_S: dict[str, float] = {
    c: published_value("helios", "H1", c, "duration_stat_s", stat="median_s")
    for c in HELIOS_CLUSTERS
}


def _size_cdf(cluster: str, of: str) -> tuple[float, ...]:
    rows = published_table("helios").filter(
        (pl.col("id") == "H3")
        & (pl.col("cluster") == cluster)
        & pl.col("params").str.ends_with(f";of={of}")
    )
    at = rows["params"].str.extract(r"at=([\d.]+)").cast(pl.Float64)
    return (*rows.with_columns(at.alias("at")).sort("at")["published"].to_list(), 100.0)


# Job-size CDF (% of GPU jobs) and GPU-time CDF (%) at gpu_num <= these points; the last point
# stands for ">64": the published figure has no points above 64, so that mass sits at 128 GPUs
# (a guess that reproduces Venus' mean of 6.74 GPUs per job).
SIZE_POINTS: tuple[int, ...] = (1, 2, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64, 128)
HELIOS_SIZE_CDF: dict[str, tuple[float, ...]] = {c: _size_cdf(c, "jobs") for c in HELIOS_CLUSTERS}
HELIOS_GPU_TIME_SIZE_CDF: dict[str, tuple[float, ...]] = {
    c: _size_cdf(c, "gpu_time") for c in HELIOS_CLUSTERS
}


def _shares(
    cluster: str, fid: str, of: str, jobs: str = "", trace: str = "helios"
) -> tuple[float, float, float]:
    """Published status shares (completed, canceled, failed) as fractions."""
    extra = {"jobs": jobs} if jobs else {}
    vals = [
        published_value(trace, fid, cluster, "status_share_pct", status=s, of=of, **extra)
        for s in STATUSES3
    ]
    return (round(vals[0] / 100, 6), round(vals[1] / 100, 6), round(vals[2] / 100, 6))


# GPU-job status shares by count and by GPU time (completed, canceled, failed).
HELIOS_STATUS_COUNT: dict[str, tuple[float, float, float]] = {
    c: _shares(c, "H7", "job_share") for c in HELIOS_CLUSTERS
}
HELIOS_STATUS_GPU_TIME: dict[str, tuple[float, float, float]] = {
    c: _shares(c, "H8", "gpu_time_share") for c in HELIOS_CLUSTERS
}
HELIOS_CPU_STATUS_COUNT: tuple[float, float, float] = _shares("all", "H7", "job_share", "cpu")
# Status by exact gpu_num, all clusters pooled (H9): sizes 1, 2, 4, 8, 16, 32, >= 64.
H9_SIZES: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
H9_STATUS_BY_SIZE: tuple[tuple[float, float, float], ...] = tuple(
    tuple(
        round(
            published_value("helios", "H9", "all", "status_by_size_pct", size=label, status=s)
            / 100,
            6,
        )
        for s in STATUSES3
    )
    for label in ("1", "2", "4", "8", "16", "32", ">=64")
)  # type: ignore[assignment]
HELIOS_MEAN_QUEUE_S: dict[str, float] = {
    c: published_value("helios", "H10", c, "queue_stat_s", stat="mean_s") for c in HELIOS_CLUSTERS
}
HELIOS_MEAN_CPU_QUEUE_S: dict[str, float] = {
    c: published_value("helios", "H10", c, "queue_stat_s", stat="mean_s", jobs="cpu")
    for c in HELIOS_CLUSTERS
}
# Average GPU-job submissions per clock hour (h = 0..23).
HELIOS_HOURLY_SUBMISSIONS: dict[str, tuple[float, ...]] = {
    c: _series("helios", "H17", c, "hour") for c in HELIOS_CLUSTERS
}
# Venus GPU jobs per weekday, Mon..Sun (used for every cluster: the only published shape).
WEEKDAY_FACTOR: tuple[float, ...] = _series("helios", "H21", "Venus", "weekday")
# GPU jobs per month Apr..Sep and monthly allocation (%): the slow trend of the arrival rate.
HELIOS_MONTHLY_GPU_JOBS: dict[str, tuple[float, ...]] = {
    c: _series("helios", "H18", c, "month", "") for c in HELIOS_CLUSTERS
}
HELIOS_MONTHLY_UTIL_PCT: dict[str, tuple[float, ...]] = {
    c: _series("helios", "H18", c, "month", "allocation_pct") for c in HELIOS_CLUSTERS
}
# Allocation-based utilization: GPU time / (mean GPUs x 181 days), as a fraction.
HELIOS_ALLOC_UTIL: dict[str, float] = {
    c: published_value("helios", "H15", c, "offered_load_pct") / 100 for c in HELIOS_CLUSTERS
}
# Not published (fits): the per-user lognormal sigma of GPU time that reproduces the top-k %
# users' shares of H13, and a user count per cluster (about 713 users over the four clusters,
# split by job volume).
HELIOS_USER_SIGMA: dict[str, float] = {"Venus": 1.9, "Earth": 1.6, "Saturn": 1.95, "Uranus": 1.7}
HELIOS_USERS: dict[str, int] = {"Venus": 140, "Earth": 150, "Saturn": 270, "Uranus": 153}

# ---- Philly --------------------------------------------------------------------------------------
PHILLY_JOBS = round(published_value("philly", "P0", "philly", "", kind="all"))
PHILLY_STATUS_COUNT = _shares("philly", "P6", "job_share", trace="philly")
PHILLY_STATUS_GPU_TIME = _shares("philly", "P6", "gpu_time_share", trace="philly")
# Not published (a placeholder until recomputed on the real log): the size PMF, the first four
# from the third-party Gavel extract renormalized, the > 8 tail a guess.
PHILLY_SIZE_PMF: dict[int, float] = {1: 0.74, 2: 0.03, 4: 0.09, 8: 0.12, 16: 0.015, 32: 0.005}
# Run-time quantiles (s) of philly_runtime.csv: probability -> value (q = 1 is the maximum).
PHILLY_RUNTIME_QUANTILES: dict[float, float] = dict(
    published_series("philly", "P3b", "philly", "q", "duration_quantile_s").iter_rows()
)
PHILLY_MEDIAN_RUNTIME_S = PHILLY_RUNTIME_QUANTILES[0.5]
PHILLY_MEAN_RUNTIME_S = published_value("philly", "P3b", "philly", "duration_stat_s", stat="mean_s")
# Per-GPU-minute utilization (P(util ~ 0) %, median %, mean %) by status and size.
_RAW_STATUS = {"completed": "Pass", "failed": "Failed", "canceled": "Killed"}
PHILLY_UTIL: dict[str, dict[int, tuple[float, float, float]]] = {
    raw: {
        size: tuple(
            published_value(
                "philly", "P7", "philly", "gpu_util_pct", status=s, size=size, stat=stat
            )
            for stat in ("zero_share", "median_pct", "mean_pct")
        )
        for size in (1, 4, 8, 16)
    }
    for s, raw in _RAW_STATUS.items()
}  # type: ignore[misc]
# The official machine list: 2-GPU and 8-GPU servers.
PHILLY_MACHINES_2GPU = round(published_value("philly", "P0", "philly", "", gpus="2"))
PHILLY_MACHINES_8GPU = round(published_value("philly", "P0", "philly", "", gpus="8"))
# 8-GPU nodes of the 11 VCs of the Helios artifact's Philly replay.
PHILLY_VC_NODES: dict[str, int] = {
    row["params"].split("=", 1)[1]: round(row["published"])
    for row in published_table("philly")
    .filter((pl.col("id") == "P0") & pl.col("params").str.starts_with("vc="))
    .iter_rows(named=True)
}
