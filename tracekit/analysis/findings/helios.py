"""Helios measures that need the ``capacity`` table: allocation (H15, H16, H18, H19), offered
load, and the per-VC views of H12 and H20."""

from __future__ import annotations

import polars as pl

from tracekit.analysis import utilization
from tracekit.analysis.findings._core import Context, measure, pct, pick

__all__: list[str] = []  # measures are reached through the registry, not imported


def _series(ctx: Context, trace: str, by: str | None = None) -> pl.DataFrame | None:
    """Hourly allocation series of every cluster of ``trace`` (None without capacity)."""
    if not ctx.has("capacity", trace):
        return None
    return ctx.cached(
        ("alloc", trace, by),
        lambda: utilization.allocation_series(
            ctx.jobs(trace), ctx.scan("capacity", trace), by=by, freq="1h"
        ),
    )


@measure("allocation_pct")
def allocation(
    ctx: Context, trace: str, cluster: str, stat: str, month: str = "", jobs: str = "all"
) -> float | None:
    """Mean allocated GPUs / capacity (%): over the window (``stat=mean``), in one ``month``
    (``stat=month``), or the swing between the busiest and quietest local hour
    (``stat=hour_swing``). ``jobs=multi`` / ``single`` counts only multi- / 1-GPU jobs."""
    if jobs == "all":
        s = _series(ctx, trace)
    else:
        s = _series(ctx, trace, "size_class")
        s = None if s is None else s.filter(pl.col("size_class") == jobs).drop("size_class")
    if s is None:
        return None
    s = s.filter(pl.col("cluster") == cluster)
    if stat == "mean":
        return pct(pick(utilization.allocation_profile(s, "all"), "util"))
    if stat == "month":
        prof = utilization.allocation_profile(s, "month")
        return pct(pick(prof.filter(pl.col("month").dt.month() == int(month)), "util"))
    if stat == "hour_swing":
        prof = utilization.allocation_profile(s, "hour")
        if prof.height == 0:
            return None
        return 100.0 * float(prof["util"].max() - prof["util"].min())
    raise ValueError(f"stat must be mean, month or hour_swing; got {stat!r}")


@measure("allocation_min_hour")
def allocation_min_hour(ctx: Context, trace: str, cluster: str) -> float | None:
    """Local hour with the lowest mean allocation."""
    s = _series(ctx, trace)
    if s is None:
        return None
    prof = utilization.allocation_profile(s.filter(pl.col("cluster") == cluster), "hour")
    if prof.height == 0:
        return None
    return float(prof.sort("util", "local_hour")["local_hour"][0])


@measure("offered_load_pct")
def offered_load(ctx: Context, trace: str, cluster: str) -> float | None:
    """GPU time of the GPU jobs / GPU-seconds of capacity over the capacity table's days (%)."""
    if not ctx.has("capacity", trace):
        return None
    cap = (
        ctx.scan("capacity", trace)
        .filter(pl.col("cluster") == cluster)
        .select((pl.col("num_gpus").sum() * 86_400.0).alias("cap"))
        .collect()
        .item()
    )
    used = (
        ctx.jobs(trace)
        .filter((pl.col("cluster") == cluster) & (pl.col("num_gpus") > 0))
        .select((pl.col("num_gpus") * pl.col("duration_s")).sum())
        .collect()
        .item()
    )
    return None if not cap else 100.0 * float(used) / float(cap)


def _vc_month(ctx: Context, trace: str, cluster: str, month: int) -> pl.DataFrame | None:
    """Per VC of ``cluster`` in ``month``: mean allocation, mean capacity and mean GPU-job queue
    (jobs submitted that month)."""
    s = _series(ctx, trace, "vc")
    if s is None:
        return None
    s = s.filter((pl.col("cluster") == cluster) & (pl.col("local_date").dt.month() == month))
    alloc = utilization.allocation_profile(s, "all", by="vc").filter(pl.col("capacity_gpus") > 0)
    queue = (
        ctx.jobs(trace)
        .filter(
            (pl.col("cluster") == cluster)
            & (pl.col("num_gpus") > 0)
            & (pl.col("submit_time").dt.month() == month)
        )
        .group_by("vc")
        .agg(pl.col("queue_s").mean().alias("queue_mean_s"), pl.len().alias("n_jobs"))
        .collect()
    )
    return alloc.join(queue, on="vc", how="left")


@measure("vc_allocation_pct")
def vc_allocation(ctx: Context, trace: str, cluster: str, month: str, stat: str) -> float | None:
    """Per-VC mean allocation in ``month`` (%): GPU-weighted mean, highest or lowest VC."""
    df = _vc_month(ctx, trace, cluster, int(month))
    if df is None or df.height == 0:
        return None
    if stat == "weighted_mean":
        w = df["capacity_gpus"]
        return 100.0 * float((df["util"] * w).sum() / w.sum())
    if stat == "max":
        return 100.0 * float(df["util"].max())
    if stat == "min":
        return 100.0 * float(df["util"].min())
    raise ValueError(f"stat must be weighted_mean, max or min; got {stat!r}")


@measure("vc_queue_rank")
def vc_queue_rank(ctx: Context, trace: str, cluster: str, month: str) -> float | None:
    """Rank by mean allocation (1 = busiest) of the VC whose GPU jobs queue longest in
    ``month``, among the ten VCs with most GPU jobs (as SC'21 Fig. 4 shows the top 10)."""
    df = _vc_month(ctx, trace, cluster, int(month))
    if df is None:
        return None
    # Ties are broken by VC name (and by rank), so equal counts always pick the same VCs.
    top = (
        df.filter(pl.col("n_jobs").is_not_null())
        .sort(["n_jobs", "vc"], descending=[True, False])
        .head(10)
    )
    if top.height < 2 or top["queue_mean_s"].max() in (None, 0):
        return None
    ranked = top.sort(["util", "vc"], descending=[True, False]).with_row_index("rank", offset=1)
    worst = ranked.sort(["queue_mean_s", "rank"], descending=[True, False])["rank"][0]
    return float(worst)
