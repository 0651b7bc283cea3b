"""Measures any trace's ``jobs`` table supports: durations, sizes, status, queueing, users,
arrivals. A published row uses them by name; ``cluster == "all"`` pools the trace's clusters.
"""

from __future__ import annotations

import polars as pl

from tracekit.analysis import arrivals, failures, queueing, users
from tracekit.analysis import jobs as job_stats
from tracekit.analysis._common import LOG2_GRID_S, gpu_time
from tracekit.analysis.findings._core import Context, measure, pct, per_cluster, pick
from tracekit.analysis.findings._published import published_table

__all__: list[str] = []  # measures are reached through the registry, not imported


def _jobs_of(ctx: Context, trace: str, kind: str) -> pl.LazyFrame:
    """GPU jobs (``gpu``), CPU-only jobs (``cpu``) or every job (``all``) of the trace."""
    lf = ctx.jobs(trace)
    if kind == "gpu":
        return lf.filter(pl.col("num_gpus") > 0)
    if kind == "cpu":
        return lf.filter(pl.col("num_gpus") == 0)
    if kind == "all":
        return lf
    raise ValueError(f"jobs must be gpu, cpu or all; got {kind!r}")


@measure("duration_stat_s")
def duration_stat(ctx: Context, trace: str, cluster: str, stat: str) -> float | None:
    """Median (``median_s``) or mean (``mean_s``) GPU-job duration."""
    df = per_cluster(
        ctx, "dur", trace, cluster, lambda k: job_stats.duration_summary(ctx.jobs(trace), k)
    )
    return pick(df, stat)


@measure("duration_quantile_s")
def duration_quantile(ctx: Context, trace: str, cluster: str, q: str) -> float | None:
    """A quantile of GPU-job duration (``q = 1`` is the maximum)."""
    qs = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
    df = per_cluster(
        ctx, "durq", trace, cluster, lambda k: job_stats.duration_quantiles(ctx.jobs(trace), k, qs)
    )
    return pick(df, "value", quantile=float(q))


@measure("duration_cdf_pct")
def duration_cdf(
    ctx: Context, trace: str, cluster: str, at: str, jobs: str = "gpu"
) -> float | None:
    """P(duration <= ``at`` s), % of GPU jobs (or of CPU jobs with ``jobs=cpu``)."""
    x = float(at)
    if x in LOG2_GRID_S:
        df = per_cluster(
            ctx,
            f"durcdf-{jobs}",
            trace,
            cluster,
            lambda k: _duration_cdf(ctx, trace, k, jobs),
        )
        return pct(pick(df, "cdf", duration_s=x))
    lf = _jobs_of(ctx, trace, jobs).filter(pl.col("duration_s").is_not_null())
    if cluster != "all":
        lf = lf.filter(pl.col("cluster") == cluster)
    v = lf.select((pl.col("duration_s") <= x).mean()).collect().item()
    return pct(v)


def _duration_cdf(ctx: Context, trace: str, keys: list[str], kind: str) -> pl.DataFrame:
    return job_stats.duration_cdf(ctx.jobs(trace), keys, kind=kind)


@measure("cpu_duration_median_s")
def cpu_duration_median(ctx: Context, trace: str, cluster: str) -> float | None:
    """Median duration of CPU-only jobs."""
    df = per_cluster(
        ctx,
        "cpu_med",
        trace,
        cluster,
        lambda k: (
            _jobs_of(ctx, trace, "cpu").group_by(k).agg(pl.col("duration_s").median()).collect()
        ),
    )
    return pick(df, "duration_s")


def _size_cdf(ctx: Context, trace: str, keys: list[str], at: float) -> pl.DataFrame:
    return (
        _jobs_of(ctx, trace, "gpu")
        .with_columns(gpu_time().alias("_gt"))
        .group_by(keys)
        .agg(
            (pl.col("num_gpus") <= at).mean().alias("jobs"),
            (pl.col("_gt").filter(pl.col("num_gpus") <= at).sum() / pl.col("_gt").sum()).alias(
                "gpu_time"
            ),
        )
        .collect()
    )


@measure("size_cdf_pct")
def size_cdf(ctx: Context, trace: str, cluster: str, at: str, of: str) -> float | None:
    """Share (%) of GPU jobs (``of=jobs``) or of GPU time (``of=gpu_time``) in jobs of at
    most ``at`` GPUs."""
    x = float(at)
    df = per_cluster(ctx, f"sizecdf-{x}", trace, cluster, lambda k: _size_cdf(ctx, trace, k, x))
    return pct(pick(df, of))


@measure("size_share_above_pct")
def size_share_above(ctx: Context, trace: str, cluster: str, above: str, of: str) -> float | None:
    """Share (%) of GPU jobs (``of=job_share``) or GPU time (``of=gpu_time_share``) in jobs of
    more than ``above`` GPUs."""
    x = float(above)
    df = per_cluster(ctx, f"sizecdf-{x}", trace, cluster, lambda k: _size_cdf(ctx, trace, k, x))
    below = pick(df, {"job_share": "jobs", "gpu_time_share": "gpu_time"}[of])
    return None if below is None else 100.0 * (1.0 - below)


@measure("gpu_stat")
def gpu_stat(ctx: Context, trace: str, cluster: str, stat: str) -> float | None:
    """Mean (``mean_gpus``) or median (``median_gpus``) GPUs per GPU job."""
    df = per_cluster(
        ctx, "gpus", trace, cluster, lambda k: job_stats.gpu_size_stats(ctx.jobs(trace), k)
    )
    return pick(df, stat)


@measure("size_duration_coupling")
def size_duration_coupling(ctx: Context, trace: str, cluster: str) -> float | None:
    """E[g d] / (E[g] E[d]) over GPU jobs (1 = size and duration independent)."""
    df = per_cluster(
        ctx,
        "corr",
        trace,
        cluster,
        lambda k: job_stats.size_duration_correlation(ctx.jobs(trace), k, spearman=False),
    )
    return pick(df, "coupling")


@measure("status_share_pct")
def status_share(
    ctx: Context, trace: str, cluster: str, status: str, of: str, jobs: str = "gpu"
) -> float | None:
    """Share (%) of jobs (``of=job_share``) or of GPU time (``of=gpu_time_share``) that ended
    with ``status``; GPU jobs unless ``jobs`` says ``cpu`` or ``all``."""
    df = per_cluster(
        ctx,
        f"status-{jobs}",
        trace,
        cluster,
        lambda k: failures.status_shares(_jobs_of(ctx, trace, jobs), k, gpu_only=False),
    )
    return pct(pick(df, of, status=status))


@measure("status_by_size_pct")
def status_by_size(ctx: Context, trace: str, cluster: str, size: str, status: str) -> float | None:
    """Share (%) of GPU jobs of one size (Helios Fig. 9b sizes) that ended with ``status``."""
    df = per_cluster(
        ctx, "sbs", trace, cluster, lambda k: failures.status_by_size(ctx.jobs(trace), k)
    )
    return pct(pick(df, "job_share", size_bucket=size, status=status))


@measure("queue_stat_s")
def queue_stat(
    ctx: Context, trace: str, cluster: str, stat: str, jobs: str = "gpu"
) -> float | None:
    """Median (``median_s``) or mean (``mean_s``) queueing delay of GPU (or CPU) jobs."""
    df = per_cluster(
        ctx,
        f"queue-{jobs}",
        trace,
        cluster,
        lambda k: queueing.queue_summary(_jobs_of(ctx, trace, jobs), k, gpu_only=False),
    )
    return pick(df, stat)


@measure("top_users_share_pct")
def top_users_share(ctx: Context, trace: str, cluster: str, value: str, top: str) -> float | None:
    """Share (%) of the GPU jobs' total ``value`` held by the top ``top`` % of users."""
    df = per_cluster(
        ctx, f"top-{value}", trace, cluster, lambda k: users.top_share(ctx.jobs(trace), value, k)
    )
    return pick(df, "share_pct", top_pct=float(top))


def _by_hour(ctx: Context, trace: str, cluster: str) -> pl.DataFrame:
    return per_cluster(ctx, "hour", trace, cluster, lambda k: arrivals.by_hour(ctx.jobs(trace), k))


@measure("hourly_peak_trough")
def hourly_peak_trough(ctx: Context, trace: str, cluster: str) -> float | None:
    """Busiest over quietest local hour of GPU-job submissions (average over days)."""
    sub = _by_hour(ctx, trace, cluster)
    if sub.height == 0 or not sub["jobs_per_hour"].min():
        return None
    return float(sub["jobs_per_hour"].max() / sub["jobs_per_hour"].min())


@measure("hourly_relative")
def hourly_relative(ctx: Context, trace: str, cluster: str, hour: str) -> float | None:
    """GPU-job submissions in local hour ``hour`` relative to the mean hour (mean = 1)."""
    return pick(_by_hour(ctx, trace, cluster), "relative", local_hour=int(hour))


@measure("hourly_shape_corr")
def hourly_shape_corr(ctx: Context, trace: str, cluster: str) -> float | None:
    """Pearson correlation of the hourly submission shape with the published one (the
    ``hourly_relative`` rows of the same trace and cluster)."""
    pub = published_table(trace).filter(
        (pl.col("measure") == "hourly_relative") & (pl.col("cluster") == cluster)
    )
    if pub.height != 24:
        return None
    want = pub.with_columns(
        pl.col("params").str.extract(r"hour=(\d+)").cast(pl.Int8).alias("local_hour")
    ).select("local_hour", "published")
    got = _by_hour(ctx, trace, cluster).join(want, on="local_hour", how="inner")
    if got.height < 24:
        return None
    return float(got.select(pl.corr("relative", "published")).item())


@measure("weekday_relative")
def weekday_relative(ctx: Context, trace: str, cluster: str, weekday: str) -> float | None:
    """GPU-job submissions on a weekday (0 = Monday) relative to the mean day."""
    df = per_cluster(
        ctx, "weekday", trace, cluster, lambda k: arrivals.by_weekday(ctx.jobs(trace), k)
    )
    return pick(df, "relative", local_weekday=int(weekday) + 1)


def _burst(ctx: Context, trace: str, cluster: str) -> pl.DataFrame:
    return per_cluster(
        ctx, "burst", trace, cluster, lambda k: arrivals.burstiness(ctx.jobs(trace), k)
    )


@measure("dispersion")
def dispersion(ctx: Context, trace: str, cluster: str) -> float | None:
    """Index of dispersion of GPU-job submissions per 10 minutes (1 = Poisson)."""
    return pick(_burst(ctx, trace, cluster), "index_of_dispersion")


@measure("daily_cv")
def daily_cv(ctx: Context, trace: str, cluster: str) -> float | None:
    """Coefficient of variation of GPU-job submissions per local day."""
    return pick(_burst(ctx, trace, cluster), "daily_cv")


@measure("multi_gpu_share_pct")
def multi_gpu_share(ctx: Context, trace: str, cluster: str) -> float | None:
    """Share (%) of GPU jobs with more than one GPU."""
    df = per_cluster(
        ctx,
        "multi",
        trace,
        cluster,
        lambda k: (
            _jobs_of(ctx, trace, "gpu")
            .group_by(k)
            .agg((pl.col("num_gpus") > 1).mean().alias("share"))
            .collect()
        ),
    )
    return pct(pick(df, "share"))


def _user_completion(ctx: Context, trace: str, keys: list[str]) -> pl.DataFrame:
    # As in Helios Fig. 9b: every user counts, a user without GPU jobs at completion 0.
    return (
        ctx.jobs(trace)
        .group_by([*keys, "user"])
        .agg(
            (pl.col("num_gpus") > 0).sum().alias("n"),
            ((pl.col("num_gpus") > 0) & (pl.col("status") == "completed")).sum().alias("done"),
        )
        .with_columns(
            pl.when(pl.col("n") > 0).then(pl.col("done") / pl.col("n")).otherwise(0.0).alias("r")
        )
        .collect()
    )


@measure("user_completion_hist_pct")
def user_completion_hist(ctx: Context, trace: str, cluster: str, bin: str) -> float | None:
    """Share (%) of users whose GPU-job completion rate falls in 10 % bin ``bin`` (0..9)."""
    df = per_cluster(ctx, "ucomp", trace, cluster, lambda k: _user_completion(ctx, trace, k))
    if df.height == 0:
        return None
    b = (df["r"] * 10).floor().clip(0, 9)
    return 100.0 * float((b == int(bin)).mean())


@measure("user_completion_below_pct")
def user_completion_below(ctx: Context, trace: str, cluster: str, below: str) -> float | None:
    """Share (%) of users completing fewer than ``below`` % of their GPU jobs."""
    df = per_cluster(ctx, "ucomp", trace, cluster, lambda k: _user_completion(ctx, trace, k))
    if df.height == 0:
        return None
    return 100.0 * float((df["r"] < float(below) / 100.0).mean())
