"""Failures: final-status shares by count and GPU time, status by size, wasted GPU time,
time to failure, Philly attempts/retries.

Status vocabulary is the store's (``completed``, ``canceled``, ``failed``, ``censored``); Helios
TIMEOUT/NODE_FAIL are already ``failed`` (as in the SC'21 completion-rate figure).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tracekit.analysis._common import (
    GROUP,
    LOG2_GRID_S,
    QUANTILES,
    Frame,
    gpu_jobs,
    gpu_time,
    group_cols,
    lazy,
    quantiles,
    size_bucket,
)
from tracekit.analysis.jobs import duration_cdf_by_status, with_bucket_rank
from tracekit.schema import STATUSES


def status_shares(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, gpu_only: bool = True
) -> pl.DataFrame:
    """Share of jobs and of GPU time per final status (findings P6, H7, H8, A15).

    Every status of the vocabulary appears in each group (zeros included).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``status``, ``n_jobs``, ``job_share``, ``gpu_time_s``, ``gpu_time_share``.
    """
    keys = group_cols(by)
    lf = gpu_jobs(jobs) if gpu_only else lazy(jobs)
    per = (
        lf.group_by([*keys, "status"])
        .agg(
            pl.len().cast(pl.Int64).alias("n_jobs"),
            gpu_time().fill_null(0.0).sum().alias("gpu_time_s"),
        )
        .collect()
    )
    groups = per.select(keys).unique() if keys else pl.DataFrame({"_x": [0]})
    full = groups.join(pl.DataFrame({"status": list(STATUSES)}), how="cross")
    full = full.join(per, on=[*keys, "status"], how="left").with_columns(
        pl.col("n_jobs").fill_null(0), pl.col("gpu_time_s").fill_null(0.0)
    )
    win = keys or None

    def over(e: pl.Expr) -> pl.Expr:
        return e.over(win) if win else e

    order = {s: i for i, s in enumerate(STATUSES)}
    return (
        full.with_columns(
            (pl.col("n_jobs") / over(pl.col("n_jobs").sum())).alias("job_share"),
            (pl.col("gpu_time_s") / over(pl.col("gpu_time_s").sum())).alias("gpu_time_share"),
            pl.col("status").replace_strict(order, return_dtype=pl.Int8).alias("_o"),
        )
        .sort([*keys, "_o"])
        .select(*keys, "status", "n_jobs", "job_share", "gpu_time_s", "gpu_time_share")
    )


JOB_KINDS: dict[str, str] = {"cpu": "CPU jobs", "gpu": "GPU jobs"}


def status_by_kind(jobs: Frame, by: str | Sequence[str] | None = GROUP) -> pl.DataFrame:
    """Status shares of CPU jobs (``num_gpus == 0``) beside those of GPU jobs (Helios Fig. 7a:
    CPU jobs complete far more often).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``kind`` (``CPU jobs``, ``GPU jobs``), then the columns of
        :func:`status_shares`; a kind without jobs is left out.
    """
    keys = group_cols(by)
    lf = lazy(jobs)
    parts = {
        "cpu": status_shares(lf.filter(pl.col("num_gpus") == 0), keys, gpu_only=False),
        "gpu": status_shares(lf, keys, gpu_only=True),
    }
    return pl.concat(
        [
            df.filter(pl.col("n_jobs").sum().over(keys or pl.lit(1)) > 0)
            .with_columns(pl.col("gpu_time_share").fill_nan(None))  # CPU jobs: 0 / 0
            .select(*keys, pl.lit(JOB_KINDS[kind]).alias("kind"), pl.exclude(keys))
            for kind, df in parts.items()
        ]
    )


def status_by_size(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, scheme: str = "helios_status"
) -> pl.DataFrame:
    """Status shares per job size (finding H9: completion falls and cancels rise with size).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``size_bucket``, ``size_rank``, ``status``, ``n_jobs``, ``job_share``,
        ``gpu_time_s``, ``gpu_time_share`` (shares within the size bucket).
    """
    keys = group_cols(by)
    lf = (
        gpu_jobs(jobs).with_columns(size_bucket(scheme)).filter(pl.col("size_bucket").is_not_null())
    )
    out = status_shares(lf, [*keys, "size_bucket"], gpu_only=True)
    return (
        with_bucket_rank(out, scheme)
        .sort([*keys, "size_rank"], maintain_order=True)
        .select(
            *keys,
            "size_bucket",
            "size_rank",
            "status",
            "n_jobs",
            "job_share",
            "gpu_time_s",
            "gpu_time_share",
        )
    )


def wasted_gpu_time(jobs: Frame, by: str | Sequence[str] | None = GROUP) -> pl.DataFrame:
    """GPU time spent on GPU jobs that did not complete (canceled + failed), finding H8 / P6.

    Censored jobs are excluded from both numerator and denominator.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``gpu_time_s``, ``not_completed_gpu_time_s``, ``not_completed_share``,
        ``not_completed_job_share``.
    """
    keys = group_cols(by)
    lf = gpu_jobs(jobs).filter(pl.col("status") != "censored").with_columns(gpu_time().alias("_g"))
    bad = pl.col("status").is_in(["canceled", "failed"])
    aggs = [
        pl.col("_g").sum().alias("gpu_time_s"),
        pl.col("_g").filter(bad).sum().alias("not_completed_gpu_time_s"),
        bad.mean().alias("not_completed_job_share"),
    ]
    out = (lf.group_by(keys).agg(aggs) if keys else lf.select(aggs)).collect()
    return (
        out.with_columns(
            (pl.col("not_completed_gpu_time_s") / pl.col("gpu_time_s")).alias("not_completed_share")
        )
        .select(
            *keys,
            "gpu_time_s",
            "not_completed_gpu_time_s",
            "not_completed_share",
            "not_completed_job_share",
        )
        .sort(keys or "gpu_time_s")
    )


def time_to_failure(
    jobs: Frame,
    by: str | Sequence[str] | None = GROUP,
    qs: Sequence[float] = QUANTILES,
) -> pl.DataFrame:
    """Quantiles of run time before the final status, per status (how long jobs run before
    failing or being canceled, compared with completed ones).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``status``, ``quantile``, ``value`` (seconds).
    """
    keys = group_cols(by)
    return quantiles(gpu_jobs(jobs), "duration_s", [*keys, "status"], qs)


def time_to_failure_cdf(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, grid: Sequence[float] = LOG2_GRID_S
) -> pl.DataFrame:
    """CDF of run time per final status (log2 grid): the failure view of
    :func:`tracekit.analysis.jobs.duration_cdf_by_status`, which computes it.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``status``, ``duration_s``, ``cdf``, ``n``.
    """
    return duration_cdf_by_status(jobs, by, grid)


def attempt_stats(jobs: Frame, by: str | Sequence[str] | None = GROUP) -> pl.DataFrame:
    """Philly scheduling attempts per job by final status (finding P11): retries are attempts
    beyond the first.

    Jobs without ``num_attempts`` (other traces) are skipped.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``status``, ``n_jobs``, ``mean_attempts``, ``retried_share`` (attempts > 1),
        ``max_attempts``, ``no_attempt_share``.
    """
    keys = group_cols(by)
    lf = lazy(jobs).filter(pl.col("num_attempts").is_not_null())
    a = pl.col("num_attempts")
    return (
        lf.group_by([*keys, "status"])
        .agg(
            pl.len().cast(pl.Int64).alias("n_jobs"),
            a.mean().alias("mean_attempts"),
            (a > 1).mean().alias("retried_share"),
            a.max().cast(pl.Int64).alias("max_attempts"),
            (a == 0).mean().alias("no_attempt_share"),
        )
        .collect()
        .sort([*keys, "status"])
    )
