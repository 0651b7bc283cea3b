"""Philly measures: long-job size mix (P1), run time by size (P2), per-attempt waits (P4),
locality (P5), per-GPU-minute utilization (P7, P8), host utilization (P9), server occupancy
(P10) and retries (P11)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from tracekit.analysis import failures, queueing, utilization
from tracekit.analysis._common import gpu_time, size_bucket
from tracekit.analysis.findings._core import Context, measure, pct, pick, quantile
from tracekit.timeutil import as_utc, timezone_of

__all__: list[str] = []  # measures are reached through the registry, not imported


@measure("long_jobs_share_pct")
def long_jobs_share(ctx: Context, trace: str, cluster: str, size: str, of: str) -> float | None:
    """Among jobs of at least 1 h with 1, 2, 4 or 8 GPUs (the published extract's filter), the
    share (%) of jobs (``of=job_share``) or of GPU time (``of=gpu_time_share``) with ``size``
    GPUs."""
    lf = ctx.jobs(trace).filter(
        (pl.col("duration_s") >= 3600) & pl.col("num_gpus").is_in([1.0, 2.0, 4.0, 8.0])
    )
    if cluster != "all":
        lf = lf.filter(pl.col("cluster") == cluster)
    g = pl.col("num_gpus") == float(size)
    out = (
        lf.with_columns(gpu_time().alias("_gt"))
        .select(
            g.mean().alias("job_share"),
            (pl.col("_gt").filter(g).sum() / pl.col("_gt").sum()).alias("gpu_time_share"),
        )
        .collect()
    )
    return pct(pick(out, of))


def _in_bucket(ctx: Context, trace: str, cluster: str, size: str) -> pl.LazyFrame:
    lf = ctx.jobs(trace).filter(pl.col("num_gpus") > 0).with_columns(size_bucket("philly"))
    lf = lf.filter(pl.col("size_bucket") == size)
    return lf if cluster == "all" else lf.filter(pl.col("cluster") == cluster)


@measure("runtime_quantile_min")
def runtime_quantile(ctx: Context, trace: str, cluster: str, size: str, q: str) -> float | None:
    """Quantile ``q`` of run time (minutes) of the jobs in Philly size bucket ``size``."""
    d = _in_bucket(ctx, trace, cluster, size).select("duration_s").collect()["duration_s"]
    v = quantile(d, float(q))
    return None if v is None else v / 60.0


@measure("runtime_cdf_pct")
def runtime_cdf(ctx: Context, trace: str, cluster: str, size: str, at: str) -> float | None:
    """P(run time <= ``at`` s) (%) of the jobs in Philly size bucket ``size``."""
    d = _in_bucket(ctx, trace, cluster, size).select("duration_s").collect()["duration_s"]
    d = d.drop_nulls()
    return None if d.len() == 0 else 100.0 * float((d <= float(at)).mean())


def _attempts(ctx: Context, trace: str) -> pl.LazyFrame | None:
    cols = ("trace", "cluster", "job_id", "attempt", "start_time", "end_time", "machines")
    return ctx.table("attempts", trace, cols)


def _delays(ctx: Context, trace: str) -> pl.DataFrame | None:
    att = _attempts(ctx, trace)
    if att is None:
        return None
    return ctx.cached(
        ("p4", trace),
        lambda: queueing.philly_attempt_delays(att, ctx.jobs(trace), official=True),
    )


@measure("attempt_wait_min")
def attempt_wait(
    ctx: Context, trace: str, cluster: str, size: str, q: str, vc: str
) -> float | None:
    """Quantile ``q`` (minutes) of the non-zero per-attempt waits of size bucket ``size`` in VC
    ``vc``, counted as the official notebook does; ``vc=median-over-vcs`` gives the median over
    VCs of that per-VC quantile."""
    d = _delays(ctx, trace)
    if d is None:
        return None
    d = d.filter(pl.col("size_bucket") == size)
    if cluster != "all":
        d = d.filter(pl.col("cluster") == cluster)
    if vc != "median-over-vcs":
        v = quantile(d.filter(pl.col("vc") == vc)["delay_s"], float(q))
        return None if v is None else v / 60.0
    per_vc = d.group_by("vc").agg(pl.col("delay_s").quantile(float(q), interpolation="linear"))
    v = quantile(per_vc["delay_s"], 0.5)
    return None if v is None else v / 60.0


def _first_attempt_servers(ctx: Context, trace: str, cluster: str, size: str) -> pl.Series | None:
    att = _attempts(ctx, trace)
    if att is None:
        return None
    first = (
        att.filter(pl.col("attempt") == pl.col("attempt").min().over("job_id"))
        .select("job_id", pl.col("machines").list.len().alias("servers"))
        .unique("job_id")
    )
    jobs = _in_bucket(ctx, trace, cluster, size).select("job_id")
    return jobs.join(first, on="job_id", how="inner").collect()["servers"]


@measure("max_servers")
def max_servers(ctx: Context, trace: str, cluster: str, size: str) -> float | None:
    """Most servers a first attempt of a job in size bucket ``size`` was placed on."""
    s = _first_attempt_servers(ctx, trace, cluster, size)
    return None if s is None or s.len() == 0 else float(s.max())


@measure("multi_server_share_pct")
def multi_server_share(ctx: Context, trace: str, cluster: str, size: str) -> float | None:
    """Share (%) of first attempts in size bucket ``size`` that span more than one server."""
    s = _first_attempt_servers(ctx, trace, cluster, size)
    return None if s is None or s.len() == 0 else 100.0 * float((s > 1).mean())


@measure("gpu_util_pct")
def gpu_util(
    ctx: Context, trace: str, cluster: str, status: str, size: str, stat: str
) -> float | None:
    """Per-GPU-minute utilization of jobs with ``size`` GPUs ending in ``status``: the share of
    minutes at 0 (``zero_share``), the median or the mean (%)."""
    if not ctx.has("job_gpu_minutes", trace):
        return None
    df = ctx.cached(
        ("p7", trace),
        lambda: utilization.philly_gpu_util(ctx.scan("job_gpu_minutes", trace), ctx.jobs(trace)),
    )
    v = pick(df, stat, status=status, num_gpus=float(size))
    return pct(v) if stat == "zero_share" else v


@measure("job_util_mean_pct")
def job_util_mean(ctx: Context, trace: str, cluster: str) -> float | None:
    """Mean over jobs of each job's mean GPU utilization (%)."""
    v = ctx.jobs(trace).select(pl.col("gpu_util_mean").mean()).collect().item()
    return None if v is None else float(v)


@measure("dedicated_util_pct")
def dedicated_util(ctx: Context, trace: str, cluster: str, size: str, stat: str) -> float | None:
    """Per-GPU-minute utilization of ``size``-GPU attempts on the fewest possible servers."""
    if not ctx.has("job_gpu_minutes", trace):
        return None
    df = ctx.cached(
        ("p8", trace),
        lambda: utilization.philly_placement_util(
            ctx.scan("job_gpu_minutes", trace), ctx.jobs(trace), _attempts(ctx, trace)
        ),
    )
    v = pick(df, stat, placement="dedicated", num_gpus=float(size))
    return pct(v) if stat == "zero_share" else v


@measure("host_util_pct")
def host_util(ctx: Context, trace: str, cluster: str, metric: str, stat: str) -> float | None:
    """Host CPU or memory utilization: median, p90 or share of samples at 0 (%)."""
    if not ctx.has("host_util", trace):
        return None
    df = ctx.cached(
        ("p9", trace), lambda: utilization.host_util_summary(ctx.scan("host_util", trace))
    )
    if stat == "zero_pct":
        return pct(pick(df, "zero_share", metric=metric))
    return pick(df, stat, metric=metric)


def _occupancy(ctx: Context, trace: str, start: str, end: str) -> pl.DataFrame | None:
    """Hourly share of GPU servers running at least one attempt, in ``[start, end)`` (UTC)."""
    att = _attempts(ctx, trace)
    if att is None or not ctx.has("machines", trace):
        return None
    n_servers = (
        ctx.scan("machines", trace).filter(pl.col("num_gpus") > 0).select(pl.len()).collect().item()
    )
    t0, t1 = as_utc(start), as_utc(end)
    spans = (
        att.filter(pl.col("start_time").is_not_null())
        .with_columns(pl.col("end_time").fill_null(pl.lit(t1)))
        .explode("machines")
        .filter(pl.col("machines").is_not_null())
        .select(
            pl.col("machines").alias("m"),
            ((pl.col("start_time") - pl.lit(t0)).dt.total_seconds() // 60).alias("s"),
            ((pl.col("end_time") - pl.lit(t0)).dt.total_seconds() // 60 + 1).alias("e"),
        )
        .collect()
    )
    n_min = int((t1 - t0).total_seconds() // 60)
    if spans.height == 0 or n_servers == 0 or n_min <= 0:
        return None
    # Busy minutes per server: overlapping attempts on one server are merged first, so a server
    # counts once per minute however many jobs share it.
    merged = (
        spans.with_columns(pl.col("s").clip(0, n_min), pl.col("e").clip(0, n_min))
        .filter(pl.col("s") < pl.col("e"))
        .sort("m", "s")
        .with_columns(pl.col("e").cum_max().shift(1).over("m").alias("_prev"))
        .with_columns((pl.col("_prev").is_null() | (pl.col("s") > pl.col("_prev"))).alias("_new"))
        .with_columns(pl.col("_new").cum_sum().over("m").alias("_run"))
        .group_by("m", "_run")
        .agg(pl.col("s").min(), pl.col("e").max())
    )
    delta = np.bincount(merged["s"].to_numpy(), minlength=n_min + 1) - np.bincount(
        merged["e"].to_numpy(), minlength=n_min + 1
    )
    busy = np.cumsum(delta)[:n_min] / n_servers
    minutes = pl.datetime_range(t0, t1 - timedelta(minutes=1), "1m", eager=True)
    local = minutes.dt.convert_time_zone(timezone_of(trace))
    return pl.DataFrame({"hour": local.dt.hour(), "share": busy})


@measure("node_occupancy_pct")
def node_occupancy(
    ctx: Context,
    trace: str,
    cluster: str,
    stat: str,
    start: str = "2017-10-03",
    end: str = "2017-12-15",
) -> float | None:
    """Share (%) of GPU servers running at least one attempt, per minute in ``[start, end)``:
    its mean (``stat=mean``) or the swing of its local-hour profile (``stat=hour_swing``)."""
    df = ctx.cached(("p10", trace, start, end), lambda: _occupancy(ctx, trace, start, end))
    if df is None:
        return None
    if stat == "mean":
        return 100.0 * float(df["share"].mean())
    prof = df.group_by("hour").agg(pl.col("share").mean())
    return 100.0 * float(prof["share"].max() - prof["share"].min())


@measure("retried_share_pct")
def retried_share(ctx: Context, trace: str, cluster: str) -> float | None:
    """Share (%) of jobs with more than one scheduling attempt."""
    df = failures.attempt_stats(ctx.jobs(trace), ["trace"])
    if df.height == 0:
        return None
    w = (df["retried_share"] * df["n_jobs"]).sum() / df["n_jobs"].sum()
    return 100.0 * float(w)
