"""Job characterization: size mix, GPU-time share by size, durations, size-duration coupling.

Definitions (docs/analysis.md): a GPU job has ``num_gpus > 0``; ``gpu_time_s`` is
``num_gpus * duration_s``; duration is the store's ``duration_s`` (Philly: spans all attempts, as in
the official notebook). Functions take a ``jobs`` frame and return tidy polars DataFrames.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tracekit.analysis._common import (
    GROUP,
    LOG2_GRID_S,
    QUANTILES,
    Frame,
    bucket_order,
    eager,
    gpu_jobs,
    gpu_time,
    grid_cdf,
    group_cols,
    lazy,
    quantiles,
    size_bucket,
)


def with_bucket_rank(df: Frame, scheme: str) -> pl.DataFrame:
    """Add ``size_rank`` (position of ``size_bucket`` in ``scheme``) so frames sort by size."""
    order = {label: i for i, label in enumerate(bucket_order(scheme))}
    return eager(df).with_columns(
        pl.col("size_bucket")
        .replace_strict(order, default=None, return_dtype=pl.Int32)
        .alias("size_rank")
    )


def size_pmf(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, scheme: str | None = None
) -> pl.DataFrame:
    """Share of GPU jobs and of GPU time per job size (findings H3, H4, P1).

    Parameters
    ----------
    jobs : LazyFrame or DataFrame
        Store ``jobs`` table.
    by : column(s)
        Groups (default trace, cluster).
    scheme : str, optional
        Size-bucket scheme (``"helios"``, ``"philly"``, ...). ``None`` keeps the exact GPU count
        (as a string label) in ``size_bucket``.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``size_bucket``, ``num_gpus_min`` (smallest size in the bucket), ``n_jobs``,
        ``job_share``, ``gpu_time_s``, ``gpu_time_share`` (shares 0..1, within each group),
        ``job_cdf`` and ``gpu_time_cdf`` (cumulative shares in size order).
    """
    keys = group_cols(by)
    lf = gpu_jobs(jobs).with_columns(gpu_time().alias("_gt"))
    label = (
        size_bucket(scheme)
        if scheme
        else pl.col("num_gpus").cast(pl.Float64).round(3).cast(pl.String).alias("size_bucket")
    )
    per = (
        lf.with_columns(label)
        .group_by([*keys, "size_bucket"])
        .agg(
            pl.col("num_gpus").min().alias("num_gpus_min"),
            pl.len().cast(pl.Int64).alias("n_jobs"),
            pl.col("_gt").sum().alias("gpu_time_s"),
        )
        .collect()
    )
    win = keys or None
    per = per.sort([*keys, "num_gpus_min"])

    def over(e: pl.Expr) -> pl.Expr:
        return e.over(win) if win else e

    return (
        per.with_columns(
            (pl.col("n_jobs") / over(pl.col("n_jobs").sum())).alias("job_share"),
            (pl.col("gpu_time_s") / over(pl.col("gpu_time_s").sum())).alias("gpu_time_share"),
        )
        .with_columns(
            over(pl.col("job_share").cum_sum()).alias("job_cdf"),
            over(pl.col("gpu_time_share").cum_sum()).alias("gpu_time_cdf"),
        )
        .select(
            *keys,
            "size_bucket",
            "num_gpus_min",
            "n_jobs",
            "job_share",
            "gpu_time_s",
            "gpu_time_share",
            "job_cdf",
            "gpu_time_cdf",
        )
    )


def duration_cdf(
    jobs: Frame,
    by: str | Sequence[str] | None = GROUP,
    grid: Sequence[float] = LOG2_GRID_S,
    kind: str = "gpu",
) -> pl.DataFrame:
    """CDF of job duration on a log2-second grid (findings H1b, P3; H2 with ``kind="cpu"``).

    Parameters
    ----------
    kind : str
        ``"gpu"`` (GPU jobs, default), ``"cpu"`` (``num_gpus == 0``) or ``"all"``.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``duration_s`` (grid point), ``cdf`` (0..1), ``n``.
    """
    if kind == "gpu":
        lf = gpu_jobs(jobs)
    elif kind == "cpu":
        lf = lazy(jobs).filter(pl.col("num_gpus") == 0)
    elif kind == "all":
        lf = lazy(jobs)
    else:
        raise ValueError(f"kind must be 'gpu', 'cpu' or 'all'; got {kind!r}")
    return grid_cdf(lf, "duration_s", by, grid)


def duration_cdf_by_size(
    jobs: Frame,
    by: str | Sequence[str] | None = GROUP,
    scheme: str = "philly",
    grid: Sequence[float] = LOG2_GRID_S,
) -> pl.DataFrame:
    """Duration CDF per size bucket (finding P2: larger jobs run longer).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``size_bucket``, ``duration_s``, ``cdf``, ``n``, ``size_rank``.
    """
    keys = group_cols(by)
    lf = (
        gpu_jobs(jobs).with_columns(size_bucket(scheme)).filter(pl.col("size_bucket").is_not_null())
    )
    out = grid_cdf(lf, "duration_s", [*keys, "size_bucket"], grid)
    return with_bucket_rank(out, scheme).sort([*keys, "size_rank", "duration_s"])


def duration_cdf_by_status(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, grid: Sequence[float] = LOG2_GRID_S
) -> pl.DataFrame:
    """Duration CDF per final status, GPU jobs (time to completion / cancel / failure).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``status``, ``duration_s``, ``cdf``, ``n``.
    """
    keys = group_cols(by)
    out = grid_cdf(gpu_jobs(jobs), "duration_s", [*keys, "status"], grid)
    return out.sort([*keys, "status", "duration_s"])


def duration_quantiles(
    jobs: Frame,
    by: str | Sequence[str] | None = GROUP,
    qs: Sequence[float] = QUANTILES,
    gpu_only: bool = True,
    scheme: str | None = None,
) -> pl.DataFrame:
    """Duration quantiles (s) per group, optionally per size bucket (findings P2, P3b, 3.3).

    Returns
    -------
    polars.DataFrame
        ``by...``, [``size_bucket``], ``quantile``, ``value`` (seconds).
    """
    keys = group_cols(by)
    lf = gpu_jobs(jobs) if gpu_only else lazy(jobs)
    if scheme:
        lf = lf.with_columns(size_bucket(scheme)).filter(pl.col("size_bucket").is_not_null())
        keys = [*keys, "size_bucket"]
    return quantiles(lf, "duration_s", keys, qs)


def duration_summary(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, gpu_only: bool = True
) -> pl.DataFrame:
    """Count, median, mean and mean/median of durations (finding H1).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``n_jobs``, ``median_s``, ``mean_s``, ``mean_over_median``.
    """
    keys = group_cols(by)
    lf = (gpu_jobs(jobs) if gpu_only else lazy(jobs)).filter(pl.col("duration_s").is_not_null())
    aggs = [
        pl.len().cast(pl.Int64).alias("n_jobs"),
        pl.col("duration_s").median().alias("median_s"),
        pl.col("duration_s").mean().alias("mean_s"),
    ]
    out = (lf.group_by(keys).agg(aggs) if keys else lf.select(aggs)).collect()
    return out.with_columns((pl.col("mean_s") / pl.col("median_s")).alias("mean_over_median")).sort(
        keys or "n_jobs", nulls_last=True
    )


def size_duration_correlation(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, spearman: bool = True
) -> pl.DataFrame:
    """How strongly job size and duration co-vary (finding H6).

    ``coupling = E[g*d] / (E[g] * E[d])`` over GPU jobs with a duration (1 = independent); also
    the Spearman rank correlation of ``num_gpus`` and ``duration_s`` (null when
    ``spearman=False``, which skips the costly ranking).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``n_jobs``, ``mean_gpus``, ``mean_duration_s``, ``mean_gpu_time_s``,
        ``coupling``, ``spearman``.
    """
    keys = group_cols(by)
    lf = gpu_jobs(jobs).filter(pl.col("duration_s").is_not_null())
    aggs = [
        pl.len().cast(pl.Int64).alias("n_jobs"),
        pl.col("num_gpus").mean().alias("mean_gpus"),
        pl.col("duration_s").mean().alias("mean_duration_s"),
        (pl.col("num_gpus") * pl.col("duration_s")).mean().alias("mean_gpu_time_s"),
        (
            pl.corr("num_gpus", "duration_s", method="spearman")
            if spearman
            else pl.lit(None, dtype=pl.Float64)
        ).alias("spearman"),
    ]
    out = (lf.group_by(keys).agg(aggs) if keys else lf.select(aggs)).collect()
    return (
        out.with_columns(
            (pl.col("mean_gpu_time_s") / (pl.col("mean_gpus") * pl.col("mean_duration_s"))).alias(
                "coupling"
            )
        )
        .select(
            *keys,
            "n_jobs",
            "mean_gpus",
            "mean_duration_s",
            "mean_gpu_time_s",
            "coupling",
            "spearman",
        )
        .sort(keys or "n_jobs")
    )


def gpu_size_stats(jobs: Frame, by: str | Sequence[str] | None = GROUP) -> pl.DataFrame:
    """Mean and median GPUs per GPU job and the GPU-job share of all jobs (findings H5, 3.1).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``n_jobs``, ``n_gpu_jobs``, ``gpu_job_share``, ``mean_gpus``, ``median_gpus``.
    """
    keys = group_cols(by)
    g = pl.col("num_gpus")
    aggs = [
        pl.len().cast(pl.Int64).alias("n_jobs"),
        (g > 0).sum().cast(pl.Int64).alias("n_gpu_jobs"),
        g.filter(g > 0).mean().alias("mean_gpus"),
        g.filter(g > 0).median().alias("median_gpus"),
    ]
    lf = lazy(jobs)
    out = (lf.group_by(keys).agg(aggs) if keys else lf.select(aggs)).collect()
    return (
        out.with_columns((pl.col("n_gpu_jobs") / pl.col("n_jobs")).alias("gpu_job_share"))
        .select(*keys, "n_jobs", "n_gpu_jobs", "gpu_job_share", "mean_gpus", "median_gpus")
        .sort(keys or "n_jobs")
    )


def workload_shares(
    jobs: Frame,
    by: str | Sequence[str] | None = GROUP,
    gpu_only: bool = True,
    untagged: str | None = None,
) -> pl.DataFrame:
    """Share of jobs and of GPU time per workload tag (PAI's model families, Acme's job types).

    Parameters
    ----------
    gpu_only : bool
        Only GPU jobs (default) or every job.
    untagged : str, optional
        The label of jobs without a tag (default: they stay a null ``workload``).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``workload``, ``jobs``, ``gpu_time_s``, ``job_share``, ``gpu_time_share``;
        largest GPU time first (ties by tag).
    """
    keys = group_cols(by)
    lf = gpu_jobs(jobs) if gpu_only else lazy(jobs)
    if untagged is not None:
        lf = lf.with_columns(pl.col("workload").fill_null(untagged))

    def share(col: str) -> pl.Expr:
        total = pl.col(col).sum()
        return pl.col(col) / (total.over(keys) if keys else total)

    return (
        lf.group_by([*keys, "workload"])
        .agg(pl.len().alias("jobs"), gpu_time().fill_null(0).sum().alias("gpu_time_s"))
        .with_columns(share("jobs").alias("job_share"), share("gpu_time_s").alias("gpu_time_share"))
        .sort([*keys, "gpu_time_s", "workload"], descending=[False] * len(keys) + [True, False],
              nulls_last=True)  # fmt: skip
        .collect()
    )


RECURRENCE_RUNS: tuple[int, ...] = (1, 2, 5, 10, 50)


def recurring_share(
    jobs: Frame,
    at_least: Sequence[int] = RECURRENCE_RUNS,
    by: str | Sequence[str] | None = GROUP,
) -> pl.DataFrame:
    """Share of jobs whose recurring group (``group_tag``) ran at least k times (PAI NSDI'22:
    65 % of tasks recur five times or more, which makes their durations predictable).

    Shares are over the jobs that have a ``group_tag``.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``at_least_runs``, ``jobs`` (in such groups), ``share``.
    """
    keys = group_cols(by)
    runs = (
        lazy(jobs)
        .filter(pl.col("group_tag").is_not_null())
        .group_by([*keys, "group_tag"])
        .agg(pl.len().alias("runs"))
    )
    aggs = [
        pl.col("runs").filter(pl.col("runs") >= k).sum().alias(str(k)) for k in at_least
    ] + [pl.col("runs").sum().alias("_all")]
    wide = (runs.group_by(keys).agg(aggs) if keys else runs.select(aggs)).collect()
    return (
        wide.unpivot(index=[*keys, "_all"], variable_name="at_least_runs", value_name="jobs")
        .with_columns(
            pl.col("at_least_runs").cast(pl.Int64),
            pl.col("jobs").cast(pl.Int64),
            (pl.col("jobs") / pl.col("_all")).alias("share"),
        )
        .select(*keys, "at_least_runs", "jobs", "share")
        .sort([*keys, "at_least_runs"])
    )
