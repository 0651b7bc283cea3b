"""Queueing delay: CDFs and summaries by size, VC, GPU type and user; Philly per-attempt delays
and locality (servers per job vs waiting).

Two Philly definitions (docs/analysis.md):

* **ours** (``official=False``): one delay per attempt that has a start: the first attempt waits
  from submission, each later one from the end of the previous started attempt; zeros are kept.
* **official** (``official=True``), notebook cell 14 reproduced: a running ``queue_time`` starts at
  submission; for each attempt whose start (and the running ``queue_time``) is present the delay is
  ``start - queue_time`` and ``queue_time`` becomes the attempt's end (possibly missing, which
  freezes it); every attempt appends the *current* delay, stale when not recomputed (initially 0);
  finally ``filter(None, ...)`` drops zeros and missing values.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tracekit.analysis._common import (
    GROUP,
    LOG2_GRID_S,
    Frame,
    gpu_jobs,
    grid_cdf,
    group_cols,
    lazy,
    size_bucket,
)
from tracekit.analysis.jobs import with_bucket_rank


def queue_summary(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, gpu_only: bool = True
) -> pl.DataFrame:
    """Queueing-delay statistics per group (findings H10, H12).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``n_jobs``, ``zero_share``, ``median_s``, ``mean_s``, ``p90_s``, ``p99_s``,
        ``total_s``.
    """
    keys = group_cols(by)
    lf = (gpu_jobs(jobs) if gpu_only else lazy(jobs)).filter(pl.col("queue_s").is_not_null())
    q = pl.col("queue_s")
    aggs = [
        pl.len().cast(pl.Int64).alias("n_jobs"),
        (q <= 0).mean().alias("zero_share"),
        q.median().alias("median_s"),
        q.mean().alias("mean_s"),
        q.quantile(0.9, interpolation="linear").alias("p90_s"),
        q.quantile(0.99, interpolation="linear").alias("p99_s"),
        q.sum().alias("total_s"),
    ]
    out = (lf.group_by(keys).agg(aggs) if keys else lf.select(aggs)).collect()
    return out.sort(keys, nulls_last=True) if keys else out


def queue_cdf(
    jobs: Frame,
    by: str | Sequence[str] | None = GROUP,
    grid: Sequence[float] = LOG2_GRID_S,
    gpu_only: bool = True,
    scheme: str | None = None,
) -> pl.DataFrame:
    """CDF of ``queue_s`` on a log2 grid, optionally per size bucket.

    Returns
    -------
    polars.DataFrame
        ``by...``, [``size_bucket``, ``size_rank``], ``queue_s``, ``cdf``, ``n``.
    """
    keys = group_cols(by)
    lf = gpu_jobs(jobs) if gpu_only else lazy(jobs)
    if scheme:
        lf = lf.with_columns(size_bucket(scheme)).filter(pl.col("size_bucket").is_not_null())
        out = grid_cdf(lf, "queue_s", [*keys, "size_bucket"], grid)
        return with_bucket_rank(out, scheme).sort([*keys, "size_rank", "queue_s"])
    return grid_cdf(lf, "queue_s", keys, grid)


def philly_attempt_delays(attempts: Frame, jobs: Frame, official: bool = True) -> pl.DataFrame:
    """Per-attempt queueing delays of Philly jobs (finding P4; docs/analysis.md).

    Parameters
    ----------
    attempts : LazyFrame or DataFrame
        Store ``attempts`` table (``job_id, attempt, start_time, end_time``; ``trace``/``cluster``
        columns are used as join keys when present).
    jobs : LazyFrame or DataFrame
        Store ``jobs`` table (``submit_time``, ``vc``, ``num_gpus`` = first-attempt GPUs).
    official : bool
        Reproduce the notebook (stale values, zeros dropped) or use the clean definition.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, job_id, vc, num_gpus, size_bucket, attempt, delay_s``; jobs without a
        size (no attempts) are skipped as in the notebook.
    """
    a = lazy(attempts)
    j = lazy(jobs)
    keys = [
        k
        for k in ("trace", "cluster")
        if k in a.collect_schema().names() and k in j.collect_schema().names()
    ]
    jcols = j.select(*keys, "job_id", "vc", "num_gpus", "submit_time")
    lf = (
        a.select(*keys, "job_id", "attempt", "start_time", "end_time")
        .join(jcols, on=[*keys, "job_id"], how="inner")
        .sort([*keys, "job_id", "attempt"])
    )
    job = [*keys, "job_id"]
    started = pl.col("start_time").is_not_null()
    # Among started attempts: the previous started attempt's end is the reference; a missing end
    # freezes the notebook's queue_time (None), so every later attempt is "not recomputed".
    s = (
        lf.filter(started)
        .with_columns(
            pl.col("end_time").shift(1).over(job).alias("_prev_end"),
            pl.col("end_time")
            .is_null()
            .cast(pl.Int32)
            .cum_sum()
            .shift(1, fill_value=0)
            .over(job)
            .alias("_frozen"),
            pl.int_range(pl.len()).over(job).alias("_k"),
        )
        .with_columns(
            pl.when(pl.col("_k") == 0)
            .then(pl.col("submit_time"))
            .otherwise(pl.col("_prev_end"))
            .alias("_ref")
        )
        .with_columns(
            pl.when((pl.col("_frozen") == 0) & pl.col("_ref").is_not_null())
            .then((pl.col("start_time") - pl.col("_ref")).dt.total_microseconds() / 1e6)
            .alias("_delay")
        )
        .select(*job, "attempt", "_delay")
    )
    if official:
        # Every attempt appends the current (possibly stale) value; initial value 0.0.
        out = (
            lf.join(s, on=[*job, "attempt"], how="left")
            .sort([*job, "attempt"])
            .with_columns(pl.col("_delay").forward_fill().over(job).fill_null(0.0))
            .filter(pl.col("_delay") != 0.0)
        )
    else:
        out = lf.join(s, on=[*job, "attempt"], how="inner").filter(pl.col("_delay").is_not_null())
    out = out.with_columns(size_bucket("philly")).filter(pl.col("size_bucket").is_not_null())
    res = out.select(
        *keys,
        "job_id",
        "vc",
        "num_gpus",
        "size_bucket",
        "attempt",
        pl.col("_delay").cast(pl.Float64).alias("delay_s"),
    ).collect()
    for k in ("trace", "cluster"):
        if k not in res.columns:
            res = res.with_columns(pl.lit(None, dtype=pl.String).alias(k))
    return res.select(
        "trace", "cluster", "job_id", "vc", "num_gpus", "size_bucket", "attempt", "delay_s"
    ).sort(["trace", "cluster", "job_id", "attempt"])


def philly_vc_queue_table(
    attempts: Frame, jobs: Frame, official: bool = True, per_vc: bool = True
) -> pl.DataFrame:
    """Median and p90 per-attempt delay (minutes) per VC x size bucket (finding P4, table 2.3).

    ``per_vc=False`` pools the VCs (``vc`` is then ``"all"``).

    Returns
    -------
    polars.DataFrame
        ``vc``, ``size_bucket``, ``size_rank``, ``n``, ``median_min``, ``p90_min``.
    """
    d = philly_attempt_delays(attempts, jobs, official=official)
    if not per_vc:
        d = d.with_columns(pl.lit("all").alias("vc"))
    out = d.group_by(["vc", "size_bucket"]).agg(
        pl.len().cast(pl.Int64).alias("n"),
        (pl.col("delay_s").median() / 60).alias("median_min"),
        (pl.col("delay_s").quantile(0.9, interpolation="linear") / 60).alias("p90_min"),
    )
    return (
        with_bucket_rank(out, "philly")
        .select("vc", "size_bucket", "size_rank", "n", "median_min", "p90_min")
        .sort(["vc", "size_rank"])
    )


def philly_attempt_delay_cdf(
    attempts: Frame,
    jobs: Frame,
    official: bool = True,
    grid: Sequence[float] = LOG2_GRID_S,
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    """CDF of per-attempt delays per size bucket (Philly notebook Fig. 3).

    Parameters
    ----------
    by : str or sequence, optional
        Extra groups, e.g. ``"vc"`` for one curve per VC and size as the notebook's panels;
        default: all VCs pooled.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``size_bucket``, ``size_rank``, ``delay_s``, ``cdf``, ``n``.
    """
    keys = group_cols(by)
    d = philly_attempt_delays(attempts, jobs, official=official)
    out = grid_cdf(d, "delay_s", [*keys, "size_bucket"], grid)
    return with_bucket_rank(out, "philly").sort([*keys, "size_rank", "delay_s"])


def philly_locality(attempts: Frame, jobs: Frame, min_gpus: float = 5) -> pl.DataFrame:
    """Servers of each large job's first attempt beside its queueing delay (Philly notebook
    Fig. 4: do jobs that wait longer get better locality?).

    Parameters
    ----------
    min_gpus : float
        Only jobs of at least this many GPUs (the notebook's 5: jobs that cannot fit one
        8-GPU server's half).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, job_id, num_gpus, size_bucket`` (Philly buckets), ``servers`` (distinct
        machines of the first attempt), ``queue_s``; one row per job with a first attempt.
    """
    a = lazy(attempts)
    keys = [k for k in GROUP if k in a.collect_schema().names()]
    first = (
        a.sort([*keys, "job_id", "attempt"])
        .group_by([*keys, "job_id"])
        .agg(pl.col("machines").first().list.unique().list.len().cast(pl.Int64).alias("servers"))
    )
    return (
        lazy(jobs)
        .filter(pl.col("num_gpus") >= min_gpus)
        .join(first, on=[*keys, "job_id"], how="inner")
        .with_columns(size_bucket("philly"))
        .select(*keys, "job_id", "num_gpus", "size_bucket", "servers", "queue_s")
        .collect()
        .sort([*keys, "job_id"])
    )


def philly_locality_summary(attempts: Frame, jobs: Frame, min_gpus: float = 5) -> pl.DataFrame:
    """Per size bucket: jobs, the range and median of servers per first attempt, and the median
    queueing delay of jobs packed on the fewest servers vs the rest (see :func:`philly_locality`).

    Returns
    -------
    polars.DataFrame
        ``size_bucket, size_rank, n_jobs, servers_min, servers_median, servers_max,
        queue_median_s, queue_median_packed_s, queue_median_spread_s`` (packed = on the
        bucket's fewest servers).
    """
    loc = philly_locality(attempts, jobs, min_gpus)
    packed = pl.col("servers") == pl.col("servers").min()
    out = loc.group_by("size_bucket").agg(
        pl.len().cast(pl.Int64).alias("n_jobs"),
        pl.col("servers").min().alias("servers_min"),
        pl.col("servers").median().alias("servers_median"),
        pl.col("servers").max().alias("servers_max"),
        pl.col("queue_s").median().alias("queue_median_s"),
        pl.col("queue_s").filter(packed).median().alias("queue_median_packed_s"),
        pl.col("queue_s").filter(~packed).median().alias("queue_median_spread_s"),
    )
    return with_bucket_rank(out, "philly").sort("size_rank")


def pai_wait_by(
    tasks: Frame, by: str = "gpu_type", qs: Sequence[float] = (0.5, 0.9)
) -> pl.DataFrame:
    """PAI task wait (official: earliest instance start - task start) by GPU type or request.

    Parameters
    ----------
    tasks : LazyFrame or DataFrame
        Store ``tasks`` table (``queue_s`` follows the official definition).
    by : str
        ``"gpu_type"`` (finding A5b by type) or ``"request"`` (per-instance ``plan_gpu`` bucket).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster``, ``by``, ``n_tasks``, ``p50_s``, ``p90_s``, ``zero_share``.
    """
    lf = lazy(tasks).filter(pl.col("queue_s").is_not_null())
    if by == "request":
        lf = lf.filter(pl.col("plan_gpu").is_not_null()).with_columns(
            size_bucket("pai_request", "plan_gpu").alias("request")
        )
    keys = ["trace", "cluster", by]
    q = pl.col("queue_s")
    aggs = (
        [pl.len().cast(pl.Int64).alias("n_tasks")]
        + [q.quantile(p, interpolation="linear").alias(f"p{round(p * 100)}_s") for p in qs]
        + [(q <= 0).mean().alias("zero_share")]
    )
    return lf.group_by(keys).agg(aggs).collect().sort(keys, nulls_last=True)
