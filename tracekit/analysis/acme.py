"""Characterization of the Acme traces (Hu et al., "Characterization of Large Language Model
Development in the Datacenter", NSDI'24) and the cross-trace summary of the AcmeTrace
repository's ``cluster_summary.csv``, measured on whatever traces the store holds.

Every function takes the store's ``jobs`` frame (polars LazyFrame or DataFrame) and returns a
tidy polars DataFrame. The authors' conventions are followed: "GPU jobs" ask for at least one
GPU; a job's run time is ``duration_s``, its GPU time ``num_gpus x duration_s``; shares by final
state are over jobs that reached one (``completed``, ``canceled``, ``failed``: TIMEOUT and
NODE_FAIL count as failed), so censored jobs are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tracekit.analysis import failures
from tracekit.analysis._common import GROUP, Frame, gpu_time, lazy
from tracekit.analysis.jobs import workload_shares

FINAL_STATUSES: tuple[str, ...] = ("completed", "canceled", "failed")
# cluster_summary.csv calls its status columns complete/cancel/fail.
_SUMMARY_STATUS: dict[str, str] = {"completed": "complete", "canceled": "cancel", "failed": "fail"}
# Row names of cluster_summary.csv for traces whose clusters it pools.
SUMMARY_IDS: dict[str, str] = {"philly": "Philly", "helios": "Helios", "pai": "PAI"}
# Traces whose other clusters are published resamples of one production list (openb's
# gpushare100, multigpu50, gpuspec33): only that list is summarized.
PRODUCTION_CLUSTER: dict[str, str] = {"openb": "default"}
SUMMARY_COLUMNS: tuple[str, ...] = (
    "job_num", "cpu_job_num", "gpu_job_num", "avg_run_time_gpu", "avg_que_time_gpu",
    "avg_gpu_num", "med_run_time_gpu", "med_que_time_gpu", "med_gpu_num", "max_run_time_gpu",
    "max_gpu", "complete_rate_gpu", "cancel_rate_gpu", "fail_rate_gpu", "complete_gpu_time",
    "cancel_gpu_time", "fail_gpu_time", "complete_rate_gpu_time", "cancel_rate_gpu_time",
    "fail_rate_gpu_time", "avg_run_time_cpu", "avg_que_time_cpu", "med_run_time_cpu",
    "med_que_time_cpu", "complete_rate_cpu", "cancel_rate_cpu", "fail_rate_cpu",
)  # fmt: skip


def _by(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def status_shares(jobs: Frame, by: str | Sequence[str] = GROUP) -> pl.DataFrame:
    """Share of GPU jobs and of their GPU time by final status (censored jobs left out).

    Returns
    -------
    polars.DataFrame
        ``by..., status, n_jobs, job_share, gpu_time_s, gpu_time_share`` (as
        :func:`tracekit.analysis.failures.status_shares`, without the censored status).
    """
    final = lazy(jobs).filter(pl.col("status").is_in(list(FINAL_STATUSES)))
    shares = failures.status_shares(final, _by(by), gpu_only=True)
    return shares.filter(pl.col("status") != "censored")


def gpu_job_stats(jobs: Frame, by: str | Sequence[str] = GROUP) -> pl.DataFrame:
    """Run time and size of GPU jobs: median and mean run time, mean and median GPUs per job.

    Returns
    -------
    polars.DataFrame
        ``by..., gpu_jobs, median_run_time_s, mean_run_time_s, mean_gpus, median_gpus``.
    """
    keys = _by(by)
    return (
        lazy(jobs)
        .filter(pl.col("num_gpus") > 0)
        .group_by(keys)
        .agg(
            pl.len().alias("gpu_jobs"),
            pl.col("duration_s").median().alias("median_run_time_s"),
            pl.col("duration_s").mean().alias("mean_run_time_s"),
            pl.col("num_gpus").mean().alias("mean_gpus"),
            pl.col("num_gpus").median().alias("median_gpus"),
        )
        .sort(keys)
        .collect()
    )


def gpu_time_by_workload(jobs: Frame, by: str | Sequence[str] = GROUP) -> pl.DataFrame:
    """Share of GPU jobs and of GPU time by workload type (Acme's ``type``: Pretrain, SFT, ...).

    Returns
    -------
    polars.DataFrame
        ``by..., workload, jobs, gpu_time_s, job_share, gpu_time_share``, largest GPU time first.
    """
    return workload_shares(jobs, _by(by), gpu_only=True)


def _summary_id() -> pl.Expr:
    """cluster_summary.csv's row name: the cluster for Acme, the pooled trace otherwise."""
    expr: pl.Expr = pl.col("trace")
    for trace, name in SUMMARY_IDS.items():
        expr = pl.when(pl.col("trace") == trace).then(pl.lit(name)).otherwise(expr)
    return pl.when(pl.col("trace") == "acme").then(pl.col("cluster")).otherwise(expr).alias("id")


def cluster_summary(jobs: Frame) -> pl.DataFrame:
    """The columns of AcmeTrace's ``cluster_summary.csv``, measured on the store's jobs.

    One row per Acme cluster and per other trace (its clusters pooled, as the summary does:
    ``Philly``, ``Helios``, ``PAI``; other traces by their store name; for openb only the
    production pod list, not its resampled variants). Times in seconds; rates are shares of jobs
    (or of GPU time) with a final status; ``*_gpu_time`` in GPU seconds.

    Returns
    -------
    polars.DataFrame
        ``id`` and :data:`SUMMARY_COLUMNS`.
    """
    lf = lazy(jobs)
    for trace, cluster in PRODUCTION_CLUSTER.items():
        lf = lf.filter((pl.col("trace") != trace) | (pl.col("cluster") == cluster))
    lf = lf.with_columns(_summary_id(), gpu_time().fill_null(0).alias("_gt"))
    gpu = pl.col("num_gpus") > 0
    final = pl.col("status").is_in(list(FINAL_STATUSES))

    def rate(status: str, mask: pl.Expr, weight: pl.Expr | None = None) -> pl.Expr:
        hit = (pl.col("status") == status) & mask
        if weight is None:
            return hit.sum() / (mask & final).sum()
        return weight.filter(hit).sum() / weight.filter(mask & final).sum()

    aggs: list[pl.Expr] = [
        pl.len().alias("job_num"),
        (~gpu).sum().alias("cpu_job_num"),
        gpu.sum().alias("gpu_job_num"),
        pl.col("duration_s").filter(gpu).mean().alias("avg_run_time_gpu"),
        pl.col("queue_s").filter(gpu).mean().alias("avg_que_time_gpu"),
        pl.col("num_gpus").filter(gpu).mean().alias("avg_gpu_num"),
        pl.col("duration_s").filter(gpu).median().alias("med_run_time_gpu"),
        pl.col("queue_s").filter(gpu).median().alias("med_que_time_gpu"),
        pl.col("num_gpus").filter(gpu).median().alias("med_gpu_num"),
        pl.col("duration_s").filter(gpu).max().alias("max_run_time_gpu"),
        pl.col("num_gpus").max().alias("max_gpu"),
    ]
    for status, word in _SUMMARY_STATUS.items():
        aggs.append(rate(status, gpu).alias(f"{word}_rate_gpu"))
    for status, word in _SUMMARY_STATUS.items():
        aggs.append(
            pl.col("_gt").filter(gpu & (pl.col("status") == status)).sum().alias(f"{word}_gpu_time")
        )
    for status, word in _SUMMARY_STATUS.items():
        aggs.append(rate(status, gpu, pl.col("_gt")).alias(f"{word}_rate_gpu_time"))
    aggs += [
        pl.col("duration_s").filter(~gpu).mean().alias("avg_run_time_cpu"),
        pl.col("queue_s").filter(~gpu).mean().alias("avg_que_time_cpu"),
        pl.col("duration_s").filter(~gpu).median().alias("med_run_time_cpu"),
        pl.col("queue_s").filter(~gpu).median().alias("med_que_time_cpu"),
    ]
    for status, word in _SUMMARY_STATUS.items():
        aggs.append(rate(status, ~gpu).alias(f"{word}_rate_cpu"))
    out = lf.group_by("id").agg(aggs).collect()
    return out.select(
        "id",
        *[pl.col(c).cast(pl.Float64) if c not in ("job_num", "cpu_job_num", "gpu_job_num")
          else pl.col(c).cast(pl.Int64) for c in SUMMARY_COLUMNS],
    ).sort("id")  # fmt: skip


__all__ = [
    "FINAL_STATUSES",
    "SUMMARY_COLUMNS",
    "cluster_summary",
    "gpu_job_stats",
    "gpu_time_by_workload",
    "status_shares",
]
