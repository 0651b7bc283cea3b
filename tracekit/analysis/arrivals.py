"""Arrivals: submissions by local hour, weekday and month; burstiness (index of dispersion).

Local time comes from :func:`tracekit.timeutil.with_local_time` (each trace's own zone). Averages
"per hour" and "per day" divide by the number of calendar days in the group's submission window
(first to last local submission date, inclusive), so days without submissions count as zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tracekit.analysis._common import GROUP, Frame, gpu_jobs, group_cols, lazy, quantiles
from tracekit.timeutil import with_local_time

WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _local(
    jobs: Frame, gpu_only: bool, keys: Sequence[str] = (), time: str = "submit_time"
) -> pl.LazyFrame:
    """Submissions (or other events: ``time``) counted per (keys, UTC clock hour), then localized.

    All trace zones have whole-hour UTC offsets, so an hour bin maps to exactly one local hour;
    localizing the few thousand hour bins instead of millions of jobs is what keeps this fast.
    Columns: ``keys``, ``trace``, ``local_hour``, ``local_weekday``, ``local_date``, ``_n`` (jobs)
    and ``_multi`` (jobs with more than one GPU).
    """
    lf = gpu_jobs(jobs) if gpu_only else lazy(jobs)
    by = list(dict.fromkeys([*keys, "trace"]))
    hourly = (
        lf.filter(pl.col(time).is_not_null())
        .group_by([*by, pl.col(time).dt.truncate("1h").alias("_hour")])
        .agg(
            pl.len().cast(pl.Int64).alias("_n"),
            (pl.col("num_gpus") > 1).sum().cast(pl.Int64).alias("_multi"),
        )
        .collect()
    )
    out = with_local_time(hourly, "_hour")
    assert isinstance(out, pl.DataFrame)
    return out.lazy()


def _days(lf: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    agg = [
        pl.col("local_date").min().alias("first_date"),
        pl.col("local_date").max().alias("last_date"),
    ]
    out = lf.group_by(keys).agg(agg) if keys else lf.select(agg)
    return out.with_columns(
        ((pl.col("last_date") - pl.col("first_date")).dt.total_days() + 1).alias("n_days")
    )


def by_hour(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, gpu_only: bool = True
) -> pl.DataFrame:
    """Average submissions per local clock hour (findings H17, H22, A11).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``local_hour`` (0-23), ``n_jobs``, ``jobs_per_hour`` (average over the days of
        the window), ``relative`` (hour's rate / mean hourly rate; mean = 1).
    """
    keys = group_cols(by)
    lf = _local(jobs, gpu_only, keys)
    counts = lf.group_by([*keys, "local_hour"]).agg(pl.col("_n").sum().alias("n_jobs"))
    days = _days(lf, keys).collect()
    hours = pl.DataFrame({"local_hour": list(range(24))}, schema={"local_hour": pl.Int8})
    base = days.join(hours, how="cross")
    out = base.join(counts.collect(), on=[*keys, "local_hour"], how="left").with_columns(
        pl.col("n_jobs").fill_null(0)
    )
    win = keys or None
    mean = pl.col("jobs_per_hour").mean()
    out = out.with_columns((pl.col("n_jobs") / pl.col("n_days")).alias("jobs_per_hour"))
    return (
        out.with_columns(
            (pl.col("jobs_per_hour") / (mean.over(win) if win else mean)).alias("relative")
        )
        .select(*keys, "local_hour", "n_jobs", "jobs_per_hour", "relative")
        .sort([*keys, "local_hour"])
    )


def by_weekday(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, gpu_only: bool = True
) -> pl.DataFrame:
    """Average submissions per day for each local weekday (finding H21 weekday factor).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``local_weekday`` (1=Mon..7=Sun), ``weekday`` (name), ``n_jobs``, ``n_days``
        (occurrences of that weekday in the window), ``jobs_per_day``, ``relative`` (mean = 1).
    """
    keys = group_cols(by)
    lf = _local(jobs, gpu_only, keys)
    daily = lf.group_by([*keys, "local_date"]).agg(pl.col("_n").sum().alias("n"))
    days = _days(lf, keys).collect()
    # Expand each group's window into its calendar days (a few hundred rows per group).
    cal = (
        days.with_columns(pl.date_ranges("first_date", "last_date", "1d").alias("local_date"))
        .explode("local_date")
        .select(*keys, "local_date")
    )
    full = cal.join(daily.collect(), on=[*keys, "local_date"], how="left").with_columns(
        pl.col("n").fill_null(0),
        pl.col("local_date").dt.weekday().cast(pl.Int8).alias("local_weekday"),
    )
    out = (
        full.group_by([*keys, "local_weekday"])
        .agg(pl.col("n").sum().alias("n_jobs"), pl.len().cast(pl.Int64).alias("n_days"))
        .with_columns((pl.col("n_jobs") / pl.col("n_days")).alias("jobs_per_day"))
    )
    win = keys or None
    mean = pl.col("jobs_per_day").mean()
    names = {i + 1: w for i, w in enumerate(WEEKDAYS)}
    return (
        out.with_columns(
            (pl.col("jobs_per_day") / (mean.over(win) if win else mean)).alias("relative"),
            pl.col("local_weekday").replace_strict(names, return_dtype=pl.String).alias("weekday"),
        )
        .select(*keys, "local_weekday", "weekday", "n_jobs", "n_days", "jobs_per_day", "relative")
        .sort([*keys, "local_weekday"])
    )


def hour_weekday(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, gpu_only: bool = True
) -> pl.DataFrame:
    """Average submissions per hour for each (local weekday, local hour) cell (heatmap input).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``local_weekday``, ``local_hour``, ``n_jobs``, ``jobs_per_hour``.
    """
    keys = group_cols(by)
    wd = by_weekday(jobs, keys, gpu_only).select(*keys, "local_weekday", "n_days")
    lf = _local(jobs, gpu_only, keys)
    counts = (
        lf.group_by([*keys, "local_weekday", "local_hour"])
        .agg(pl.col("_n").sum().alias("n_jobs"))
        .collect()
    )
    cells = wd.join(
        pl.DataFrame({"local_hour": list(range(24))}, schema={"local_hour": pl.Int8}), how="cross"
    )
    out = cells.join(counts, on=[*keys, "local_weekday", "local_hour"], how="left").with_columns(
        pl.col("n_jobs").fill_null(0)
    )
    return (
        out.with_columns((pl.col("n_jobs") / pl.col("n_days")).alias("jobs_per_hour"))
        .select(*keys, "local_weekday", "local_hour", "n_jobs", "jobs_per_hour")
        .sort([*keys, "local_weekday", "local_hour"])
    )


def by_month(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, gpu_only: bool = True
) -> pl.DataFrame:
    """Submissions per local calendar month, split single- vs multi-GPU (finding H18).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``month`` (first day, date), ``n_jobs``, ``n_single_gpu``, ``n_multi_gpu``,
        ``multi_gpu_share``.
    """
    keys = group_cols(by)
    lf = _local(jobs, gpu_only, keys).with_columns(
        pl.col("local_date").dt.truncate("1mo").alias("month")
    )
    return (
        lf.group_by([*keys, "month"])
        .agg(
            pl.col("_n").sum().alias("n_jobs"),
            pl.col("_multi").sum().alias("n_multi_gpu"),
        )
        .with_columns(
            (pl.col("n_jobs") - pl.col("n_multi_gpu")).alias("n_single_gpu"),
            (pl.col("n_multi_gpu") / pl.col("n_jobs")).alias("multi_gpu_share"),
        )
        .select(*keys, "month", "n_jobs", "n_single_gpu", "n_multi_gpu", "multi_gpu_share")
        .collect()
        .sort([*keys, "month"])
    )


def burstiness(
    jobs: Frame,
    by: str | Sequence[str] | None = GROUP,
    bin_minutes: int = 10,
    gpu_only: bool = True,
) -> pl.DataFrame:
    """Index of dispersion of submission counts in fixed bins, and daily-count spread (H21).

    Bins run from the group's first to last submission (floored to the bin); empty bins count as
    zeros. ``index_of_dispersion = variance / mean`` (1 for a Poisson process) with the sample
    variance (ddof = 1). Daily statistics use local calendar days.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``bin_minutes``, ``n_bins``, ``mean_per_bin``, ``var_per_bin``,
        ``index_of_dispersion``, ``zero_bin_share``, ``jobs_per_day``, ``daily_cv``.
    """
    keys = group_cols(by)
    lf = _local(jobs, gpu_only, keys)
    width = f"{bin_minutes}m"
    # Bins are counted in UTC: whole-hour zone offsets do not move 10-minute boundaries.
    raw = (gpu_jobs(jobs) if gpu_only else lazy(jobs)).filter(pl.col("submit_time").is_not_null())
    bins = raw.with_columns(pl.col("submit_time").dt.truncate(width).alias("_bin"))
    per_bin = bins.group_by([*keys, "_bin"]).agg(pl.len().alias("c"))
    agg = [
        pl.col("c").sum().cast(pl.Float64).alias("_s"),
        (pl.col("c").cast(pl.Float64) ** 2).sum().alias("_ss"),
        pl.len().cast(pl.Int64).alias("_nz"),
        pl.col("_bin").min().alias("_b0"),
        pl.col("_bin").max().alias("_b1"),
    ]
    stats = (per_bin.group_by(keys).agg(agg) if keys else per_bin.select(agg)).collect()
    n_bins = (pl.col("_b1") - pl.col("_b0")).dt.total_minutes() // bin_minutes + 1
    stats = (
        stats.with_columns(n_bins.cast(pl.Int64).alias("n_bins"))
        .with_columns((pl.col("_s") / pl.col("n_bins")).alias("mean_per_bin"))
        .with_columns(
            (
                (pl.col("_ss") - pl.col("n_bins") * pl.col("mean_per_bin") ** 2)
                / (pl.col("n_bins") - 1)
            ).alias("var_per_bin"),
            (1 - pl.col("_nz") / pl.col("n_bins")).alias("zero_bin_share"),
        )
        .with_columns((pl.col("var_per_bin") / pl.col("mean_per_bin")).alias("index_of_dispersion"))
    )
    daily = lf.group_by([*keys, "local_date"]).agg(pl.col("_n").sum().alias("n"))
    days = _days(lf, keys)
    dagg = [
        pl.col("n").sum().cast(pl.Float64).alias("_ds"),
        (pl.col("n").cast(pl.Float64) ** 2).sum().alias("_dss"),
    ]
    dstats = (daily.group_by(keys).agg(dagg) if keys else daily.select(dagg)).collect()
    dstats = (
        dstats.join(days.collect(), on=keys, how="left")
        if keys
        else pl.concat([dstats, days.collect()], how="horizontal")
    )
    dstats = dstats.with_columns((pl.col("_ds") / pl.col("n_days")).alias("jobs_per_day"))
    dstats = dstats.with_columns(
        (
            (
                (pl.col("_dss") - pl.col("n_days") * pl.col("jobs_per_day") ** 2)
                / (pl.col("n_days") - 1)
            ).sqrt()
            / pl.col("jobs_per_day")
        ).alias("daily_cv")
    )
    out = (
        stats.join(dstats, on=keys, how="left")
        if keys
        else pl.concat([stats, dstats], how="horizontal")
    )
    return (
        out.with_columns(pl.lit(bin_minutes, dtype=pl.Int64).alias("bin_minutes"))
        .select(
            *keys,
            "bin_minutes",
            "n_bins",
            "mean_per_bin",
            "var_per_bin",
            "index_of_dispersion",
            "zero_bin_share",
            "jobs_per_day",
            "daily_cv",
        )
        .sort(keys or "n_bins")
    )


def by_day(
    jobs: Frame,
    by: str | Sequence[str] | None = GROUP,
    gpu_only: bool = True,
    time: str = "submit_time",
) -> pl.DataFrame:
    """Events per local calendar day, days without any included (the PAI analysis' tasks per
    day; ``time="start_time"`` on the ``tasks`` table counts tasks started).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``local_date``, ``n`` (rows whose ``time`` falls on that day).
    """
    keys = group_cols(by)
    lf = _local(jobs, gpu_only, keys, time)
    daily = lf.group_by([*keys, "local_date"]).agg(pl.col("_n").sum().alias("n")).collect()
    days = _days(lf, keys).collect()
    cal = (
        days.with_columns(pl.date_ranges("first_date", "last_date", "1d").alias("local_date"))
        .explode("local_date")
        .select(*keys, "local_date")
    )
    return (
        cal.join(daily, on=[*keys, "local_date"], how="left")
        .with_columns(pl.col("n").fill_null(0).cast(pl.Int64))
        .sort([*keys, "local_date"])
    )


def daily_quantiles(
    jobs: Frame,
    by: str | Sequence[str] | None = GROUP,
    qs: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
    gpu_only: bool = True,
) -> pl.DataFrame:
    """Quantiles of submissions per local day, empty days included (finding H21).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``quantile``, ``value`` (jobs per day).
    """
    keys = group_cols(by)
    full = by_day(jobs, keys, gpu_only).with_columns(pl.col("n").cast(pl.Float64))
    return quantiles(full, "n", keys, qs)
