"""Utilization — three different things that must never be compared directly:

* **Philly**: nvidia-smi utilization per GPU-minute (store table ``job_gpu_minutes``, the join of
  attempts x machine x GPU x minute), by final status x job size, and on dedicated vs shared
  servers; host CPU / memory from ``host_util``.
* **Helios**: *allocation* = running GPUs / capacity, per minute, following HeliosArtifact's
  ``parse_sequence``: times truncated to the minute, a job occupies minutes
  ``start <= t <= end`` (both inclusive), the running sum is clipped at the day's capacity.
  Computed by an event sweep (+g at the start minute, -g after the end minute, plus zero-delta
  boundaries at every bin), so the cost is O(jobs + bins), never jobs x minutes.
* **PAI**: per-task GPU request (sum of per-instance ``plan_gpu``) vs usage (sum of the
  instances' lifetime-average ``gpu_wrk_util``, % of one GPU) from ``tasks`` and ``sensors``;
  the same per instance for CPU cores and memory; the machines' own CPU, I/O-wait, GPU and
  network metrics from ``machine_metric``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from tracekit.analysis._common import (
    GROUP,
    PCT_GRID,
    Frame,
    eager,
    grid_cdf,
    group_cols,
    lazy,
    quantile_cdf,
    size_bucket,
)
from tracekit.timeutil import timezone_of, with_local_time

PHILLY_UTIL_SIZES: tuple[int, ...] = (1, 4, 8, 16)
#: PAI machine metrics in % (column -> label), as the official notebook's Fig. 8 shows them.
PAI_MACHINE_UTIL: dict[str, str] = {
    "machine_cpu_usr": "user CPU",
    "machine_cpu_kernel": "kernel CPU",
    "machine_cpu_iowait": "I/O wait",
    "machine_gpu": "GPU",
}
#: The machine's network receive rate (bytes/s in the trace) and its label; shown in Gbit/s.
PAI_MACHINE_NET: tuple[str, str] = ("machine_net_receive", "network receive")
#: Resources of :func:`pai_instance_cpu_mem`: label -> (requested column, used column).
PAI_CPU_MEM: dict[str, tuple[str, str]] = {
    "CPU (cores)": ("cpu_requested", "cpu_used"),
    "memory (GB)": ("mem_requested_gb", "mem_used_gb"),
}


# ---- Philly: per-GPU-minute nvidia-smi utilization ----------------------------------------------
def _philly_samples(
    gpu_minutes: Frame,
    jobs: Frame,
    attempts: Frame | None = None,
    sizes: Sequence[int] = PHILLY_UTIL_SIZES,
) -> pl.LazyFrame:
    gm = lazy(gpu_minutes)
    j = lazy(jobs)
    names = gm.collect_schema().names()
    keys = [k for k in ("trace", "cluster") if k in names and k in j.collect_schema().names()]
    lf = (
        gm.select(*keys, "job_id", "attempt", "util", "shared_server")
        .join(j.select(*keys, "job_id", "status", "num_gpus"), on=[*keys, "job_id"], how="inner")
        .filter(pl.col("num_gpus").is_in([float(s) for s in sizes]) & pl.col("util").is_not_null())
    )
    if attempts is not None:
        # Official "dedicated servers" rule (Philly notebook Fig. 6): the attempt uses no more
        # servers than the minimum, len(detail) <= num_gpus / 8.
        a = lazy(attempts).select(
            *keys, "job_id", "attempt", pl.col("machines").list.len().alias("_n_servers")
        )
        lf = lf.join(a, on=[*keys, "job_id", "attempt"], how="left").with_columns(
            (pl.col("_n_servers") <= (pl.col("num_gpus") / 8).ceil()).alias("dedicated")
        )
    else:
        lf = lf.with_columns((~pl.col("shared_server")).alias("dedicated"))
    return lf


def _util_aggs(zero_threshold: float) -> list[pl.Expr]:
    u = pl.col("util").cast(pl.Float64)
    return [
        pl.len().cast(pl.Int64).alias("n_samples"),
        (u <= zero_threshold).mean().alias("zero_share"),
        u.median().alias("median_pct"),
        u.mean().alias("mean_pct"),
    ]


def philly_gpu_util(
    gpu_minutes: Frame,
    jobs: Frame,
    sizes: Sequence[int] = PHILLY_UTIL_SIZES,
    zero_threshold: float = 0.0,
) -> pl.DataFrame:
    """Per-GPU-minute utilization by final status x job size (finding P7, table 2.3).

    Parameters
    ----------
    gpu_minutes : LazyFrame or DataFrame
        Store ``job_gpu_minutes`` table.
    jobs : LazyFrame or DataFrame
        Store ``jobs`` table (status, first-attempt ``num_gpus``).
    sizes : sequence of int
        Job sizes kept (the notebook uses 1, 4, 8, 16).
    zero_threshold : float
        Samples ``<=`` this value count as "util = 0".

    Returns
    -------
    polars.DataFrame
        ``status``, ``num_gpus``, ``n_samples``, ``zero_share`` (0..1), ``median_pct``,
        ``mean_pct``.
    """
    lf = _philly_samples(gpu_minutes, jobs, None, sizes)
    return (
        lf.group_by(["status", "num_gpus"])
        .agg(_util_aggs(zero_threshold))
        .collect()
        .sort(["status", "num_gpus"])
    )


def philly_gpu_util_cdf(
    gpu_minutes: Frame, jobs: Frame, sizes: Sequence[int] = PHILLY_UTIL_SIZES
) -> pl.DataFrame:
    """CDF of per-GPU-minute utilization per status x size on a 1 % grid (notebook Fig. 5).

    Returns
    -------
    polars.DataFrame
        ``status``, ``num_gpus``, ``util_pct``, ``cdf``, ``n``.
    """
    lf = _philly_samples(gpu_minutes, jobs, None, sizes)
    out = grid_cdf(lf, "util", ["status", "num_gpus"], PCT_GRID, x_name="util_pct")
    return out.sort(["status", "num_gpus", "util_pct"])


def philly_placement_util(
    gpu_minutes: Frame,
    jobs: Frame,
    attempts: Frame | None = None,
    sizes: Sequence[int] = (8, 16),
    zero_threshold: float = 0.0,
) -> pl.DataFrame:
    """Utilization on dedicated vs shared servers, all statuses (finding P8, notebook Fig. 6).

    With ``attempts`` the official rule is used (an attempt is dedicated when it spans at most
    ``ceil(num_gpus / 8)`` servers); without, the ``shared_server`` flag of ``job_gpu_minutes``.

    Returns
    -------
    polars.DataFrame
        ``placement`` (dedicated / shared), ``num_gpus``, ``n_samples``, ``zero_share``,
        ``median_pct``, ``mean_pct``.
    """
    lf = _philly_samples(gpu_minutes, jobs, attempts, sizes).with_columns(
        pl.when(pl.col("dedicated"))
        .then(pl.lit("dedicated"))
        .otherwise(pl.lit("shared"))
        .alias("placement")
    )
    return (
        lf.group_by(["placement", "num_gpus"])
        .agg(_util_aggs(zero_threshold))
        .collect()
        .sort(["placement", "num_gpus"])
    )


def _host_long(host_util: Frame) -> pl.LazyFrame:
    h = lazy(host_util)
    mem = pl.when(pl.col("mem_total") > 0).then(
        100.0 * (pl.col("mem_total") - pl.col("mem_free")) / pl.col("mem_total")
    )
    cpu = h.select(
        pl.lit("cpu_util").alias("metric"), pl.col("cpu_util").cast(pl.Float64).alias("util")
    )
    m = h.select(pl.lit("mem_util").alias("metric"), mem.cast(pl.Float64).alias("util"))
    return pl.concat([cpu, m]).filter(pl.col("util").is_not_null())


def host_util_summary(host_util: Frame, near_full_pct: float = 99.0) -> pl.DataFrame:
    """Host CPU and memory utilization statistics (finding P9; memory = 100 (total-free)/total,
    rows with ``mem_total == 0`` skipped as in the notebook).

    Returns
    -------
    polars.DataFrame
        ``metric`` (cpu_util / mem_util), ``n_samples``, ``zero_share``, ``p25_pct``,
        ``median_pct``, ``p75_pct``, ``p90_pct``, ``mean_pct``, ``near_full_share``.
    """
    u = pl.col("util")
    return (
        _host_long(host_util)
        .group_by("metric")
        .agg(
            pl.len().cast(pl.Int64).alias("n_samples"),
            (u <= 0).mean().alias("zero_share"),
            u.quantile(0.25, interpolation="linear").alias("p25_pct"),
            u.median().alias("median_pct"),
            u.quantile(0.75, interpolation="linear").alias("p75_pct"),
            u.quantile(0.9, interpolation="linear").alias("p90_pct"),
            u.mean().alias("mean_pct"),
            (u >= near_full_pct).mean().alias("near_full_share"),
        )
        .collect()
        .sort("metric")
    )


def host_util_cdf(host_util: Frame) -> pl.DataFrame:
    """CDF of host CPU and memory utilization on a 1 % grid (notebook Fig. 7).

    Returns
    -------
    polars.DataFrame
        ``metric``, ``util_pct``, ``cdf``, ``n``.
    """
    return grid_cdf(_host_long(host_util), "util", ["metric"], PCT_GRID, x_name="util_pct")


# ---- Helios: allocation utilization --------------------------------------------------------------
def _windows(cap: pl.DataFrame, start: date | None, end: date | None) -> pl.DataFrame:
    """Per (trace, cluster): the UTC instants of local midnight of the first day and of the day
    after the last one (the official sweep runs 00:00 .. 23:59 local)."""
    rows = []
    span = cap.group_by(["trace", "cluster"]).agg(
        pl.col("date").min().alias("d0"), pl.col("date").max().alias("d1")
    )
    for trace, cluster, d0, d1 in span.iter_rows():  # one iteration per cluster, not per row
        d0 = start or d0
        d1 = end or d1
        tz = timezone_of(trace)
        rows.append(
            {
                "trace": trace,
                "cluster": cluster,
                "_w0": datetime(d0.year, d0.month, d0.day),
                "_w1": datetime(d1.year, d1.month, d1.day) + timedelta(days=1),
                "_tz": tz,
            }
        )
    if not rows:
        return pl.DataFrame(
            schema={
                "trace": pl.String,
                "cluster": pl.String,
                "_w0": pl.Datetime("us", "UTC"),
                "_w1": pl.Datetime("us", "UTC"),
            }
        )
    parts = []
    for r in rows:
        parts.append(
            pl.DataFrame([r])
            .with_columns(
                pl.col("_w0")
                .dt.replace_time_zone(r["_tz"])
                .dt.convert_time_zone("UTC")
                .dt.cast_time_unit("us"),
                pl.col("_w1")
                .dt.replace_time_zone(r["_tz"])
                .dt.convert_time_zone("UTC")
                .dt.cast_time_unit("us"),
            )
            .drop("_tz")
        )
    return pl.concat(parts)


def allocation_series(
    jobs: Frame,
    capacity: Frame,
    by: str | Sequence[str] | None = None,
    freq: str = "1h",
    start: date | None = None,
    end: date | None = None,
    clip: bool = True,
) -> pl.DataFrame:
    """Allocated GPUs / capacity over time (findings H15, H16, H18, H19, H20), binned to ``freq``.

    The official per-minute series (HeliosArtifact's ``parse_sequence``) is built by an event
    sweep per group:
    ``+num_gpus`` at the start minute and ``-num_gpus`` after the end minute, summed with
    ``np.bincount`` and accumulated, so the cost is O(jobs + minutes), never jobs x minutes. The
    minute values are then averaged into ``freq`` bins.

    Parameters
    ----------
    jobs, capacity : LazyFrame or DataFrame
        Store ``jobs`` and ``capacity`` tables (capacity: ``date, vc, num_gpus`` per day).
    by : column(s), optional
        Extra split inside each (trace, cluster): ``"vc"`` (capacity = the VC's GPUs) or
        ``"size_class"`` (single- vs multi-GPU jobs; capacity = the cluster's GPUs).
    freq : str
        Bin width, whole minutes up to one day (``"1m"`` = the official per-minute series).
        Bins start at local midnight of the first day of the window.
    start, end : date, optional
        Local calendar window; default = the capacity table's first and last day.
    clip : bool
        Clip running GPUs at capacity per minute, as the official code does.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster``, [``by``], ``time`` (bin start, UTC), ``local_hour``,
        ``local_weekday``, ``local_date``, ``minutes`` (minutes in the bin), ``running_gpus``
        (time-averaged), ``capacity_gpus``, ``util`` (mean over the bin's minutes of
        running/capacity; minutes with capacity 0 are left out, null if all are).
    """
    extra = group_cols(by)
    keys = ["trace", "cluster", *extra]
    step = _freq_us(freq)
    if step > 86_400_000_000:
        raise ValueError(f"freq must be at most one day; got {freq!r}")
    step_min = step // 60_000_000
    cap = lazy(capacity).filter(pl.col("num_gpus").is_not_null()).collect()
    win = _windows(cap, start, end)
    if win.height == 0:
        return _empty_series(keys)
    minute = timedelta(minutes=1)
    j = lazy(jobs).filter((pl.col("num_gpus") > 0) & pl.col("start_time").is_not_null())
    if "size_class" in extra:
        j = j.with_columns(
            pl.when(pl.col("num_gpus") > 1)
            .then(pl.lit("multi"))
            .otherwise(pl.lit("single"))
            .alias("size_class")
        )
    ev = (
        j.join(win.lazy(), on=["trace", "cluster"], how="inner")
        .with_columns(
            pl.max_horizontal(pl.col("start_time").dt.truncate("1m"), pl.col("_w0")).alias("_s"),
            # Censored jobs (no end) run to the end of the window; the end minute is inclusive.
            (
                pl.min_horizontal(
                    pl.col("end_time").dt.truncate("1m").fill_null(pl.col("_w1")),
                    pl.col("_w1") - minute,
                )
                + minute
            ).alias("_e"),
        )
        .filter(pl.col("_s") < pl.col("_e"))
        .select(
            *keys,
            (pl.col("_s") - pl.col("_w0")).dt.total_minutes().cast(pl.Int64).alias("s"),
            (pl.col("_e") - pl.col("_w0")).dt.total_minutes().cast(pl.Int64).alias("e"),
            pl.col("num_gpus").cast(pl.Float64).alias("g"),
        )
        .collect()
    )
    cap_keys = ["trace", "cluster", "vc"] if "vc" in extra else ["trace", "cluster"]
    day_cap = cap.group_by([*cap_keys, "date"]).agg(pl.col("num_gpus").sum().alias("cap"))
    # Groups: every (cluster, extra) with jobs, plus VCs that have capacity but no jobs.
    groups = ev.select(keys).unique()
    if "vc" in extra:
        groups = pl.concat([groups, day_cap.select(keys).unique()]).unique()
    groups = groups.sort(keys)
    parts: list[pl.DataFrame] = []
    windows = win.select("trace", "cluster", "_w0", "_w1").sort(["trace", "cluster"])
    # One iteration per cluster; its groups (VCs, size classes) are rows of 2-D numpy arrays.
    for trace, cluster, w0, w1 in windows.iter_rows():
        gsub = groups.filter((pl.col("trace") == trace) & (pl.col("cluster") == cluster))
        if gsub.height == 0:
            continue
        gsub = gsub.with_row_index("_lid")
        n_min = int((w1 - w0).total_seconds() // 60)
        day0, day_edges = _local_days(trace, w0, w1)
        e = ev.filter((pl.col("trace") == trace) & (pl.col("cluster") == cluster)).join(
            gsub, on=keys, how="inner"
        )
        n_g, width = gsub.height, n_min + 1
        lid = e["_lid"].to_numpy().astype(np.int64) * width
        w = e["g"].to_numpy()
        delta = np.bincount(lid + e["s"].to_numpy(), w, n_g * width) - np.bincount(
            lid + e["e"].to_numpy(), w, n_g * width
        )
        running = np.cumsum(delta.reshape(n_g, width), axis=1)[:, :n_min]
        # Capacity of each group on each local day, spread over the day's minutes.
        grid = gsub.select("_lid", *cap_keys).join(pl.DataFrame({"date": day0}), how="cross")
        grid = grid.join(day_cap, on=[*cap_keys, "date"], how="left").sort(["_lid", "date"])
        cap_day = grid["cap"].fill_null(0.0).to_numpy().reshape(n_g, len(day0))
        cap_min = np.repeat(cap_day, np.diff(day_edges), axis=1)
        parts.append(_bin_minutes(running, cap_min, step_min, clip, gsub.select(keys), w0))
    if not parts:
        return _empty_series(keys)
    out = with_local_time(pl.concat(parts), "time")
    assert isinstance(out, pl.DataFrame)
    return out.select(
        *keys,
        "time",
        "local_hour",
        "local_weekday",
        "local_date",
        "minutes",
        "running_gpus",
        "capacity_gpus",
        "util",
    )


def _local_days(trace: str, w0: datetime, w1: datetime) -> tuple[list[date], np.ndarray]:
    """Local calendar days of the window and their start minutes from ``w0`` (plus the end).

    Day lengths follow the trace's zone (23 or 25 h on DST days).
    """
    tz = timezone_of(trace)
    first = pl.Series([w0]).dt.convert_time_zone(tz).dt.date()[0]
    last = pl.Series([w1 - timedelta(minutes=1)]).dt.convert_time_zone(tz).dt.date()[0]
    dates = pl.date_range(first, last, "1d", eager=True)
    starts = (
        dates.cast(pl.Datetime("us"))
        .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    mins = ((starts - w0).dt.total_seconds() // 60).to_numpy().astype(np.int64)
    n_min = int((w1 - w0).total_seconds() // 60)
    edges = np.clip(np.append(mins, n_min), 0, n_min)
    return dates.to_list(), edges


def _bin_minutes(
    running: np.ndarray,
    cap: np.ndarray,
    step_min: int,
    clip: bool,
    labels: pl.DataFrame,
    w0: datetime,
) -> pl.DataFrame:
    """Average per-minute running GPUs, capacity and running/capacity into ``step_min`` bins.

    ``running`` and ``cap`` are (groups x minutes); ``labels`` holds one row of key values per
    group. Returns one row per (group, bin) with the bin start as ``time``.
    """
    n_g, n = running.shape
    starts = np.arange(0, n, step_min)
    nb = starts.shape[0]
    run = np.minimum(running, cap) if clip else running
    has_cap = cap > 0
    ratio = np.divide(run, cap, out=np.zeros_like(run), where=has_cap)
    minutes = np.diff(np.append(starts, n)).astype(np.float64)
    n_cap = np.add.reduceat(has_cap.astype(np.float64), starts, axis=1)
    ratio_sum = np.add.reduceat(ratio, starts, axis=1)
    util = np.divide(ratio_sum, n_cap, out=np.full((n_g, nb), np.nan), where=n_cap > 0)
    idx = pl.Series(np.repeat(np.arange(n_g), nb))
    return labels.select(pl.all().gather(idx)).with_columns(
        (pl.lit(w0) + pl.Series(np.tile(starts, n_g)) * pl.duration(minutes=1))
        .dt.cast_time_unit("us")
        .alias("time"),
        pl.Series("minutes", np.tile(minutes, n_g)),
        pl.Series("running_gpus", (np.add.reduceat(run, starts, axis=1) / minutes).ravel()),
        pl.Series("capacity_gpus", (np.add.reduceat(cap, starts, axis=1) / minutes).ravel()),
        pl.Series("util", util.ravel()).fill_nan(None),
    )


def _empty_series(keys: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            **{k: pl.String for k in keys},
            "time": pl.Datetime("us", "UTC"),
            "local_hour": pl.Int8,
            "local_weekday": pl.Int8,
            "local_date": pl.Date,
            "minutes": pl.Float64,
            "running_gpus": pl.Float64,
            "capacity_gpus": pl.Float64,
            "util": pl.Float64,
        }
    )


def _freq_us(freq: str) -> int:
    """Length of a fixed polars duration string (m, h, d units) in microseconds."""
    units = {"m": 60, "h": 3600, "d": 86400}
    num, unit = freq[:-1], freq[-1]
    if unit not in units or not num.isdigit():
        raise ValueError(
            f"freq must be a fixed duration like '1m', '10m', '1h', '1d'; got {freq!r}"
        )
    return int(num) * units[unit] * 1_000_000


def allocation_profile(
    series: Frame, period: str = "hour", by: str | Sequence[str] | None = None
) -> pl.DataFrame:
    """Minute-weighted mean allocation by local hour, weekday or month (findings H16, H18).

    Parameters
    ----------
    series : polars.DataFrame
        Output of :func:`allocation_series` (bins no longer than the period).
    period : str
        ``"hour"``, ``"weekday"``, ``"month"`` or ``"all"`` (the window average, H15).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster``, [``by``], the period column (``local_hour`` / ``local_weekday`` /
        ``month``), ``util``, ``running_gpus``, ``capacity_gpus``.
    """
    keys = ["trace", "cluster", *group_cols(by)]
    s = eager(series).filter(pl.col("util").is_not_null())
    if period == "hour":
        pcol = ["local_hour"]
    elif period == "weekday":
        pcol = ["local_weekday"]
    elif period == "month":
        s = s.with_columns(pl.col("local_date").dt.truncate("1mo").alias("month"))
        pcol = ["month"]
    elif period == "all":
        pcol = []
    else:
        raise ValueError(f"period must be hour, weekday, month or all; got {period!r}")
    w = pl.col("minutes")
    return (
        s.group_by([*keys, *pcol])
        .agg(
            ((pl.col("util") * w).sum() / w.sum()).alias("util"),
            ((pl.col("running_gpus") * w).sum() / w.sum()).alias("running_gpus"),
            ((pl.col("capacity_gpus") * w).sum() / w.sum()).alias("capacity_gpus"),
        )
        .sort([*keys, *pcol])
    )


# ---- PAI: request vs usage ---------------------------------------------------------------------
def pai_task_request_usage(tasks: Frame, sensors: Frame) -> pl.DataFrame:
    """Per task: GPU request vs usage in % of one GPU, summed over the task's sensor rows
    (official notebook cells 10-12, finding A6).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, job_name, task_name, gpu_type, n_instances, request_pct, usage_pct``.
    """
    keys = ["trace", "cluster", "job_name", "task_name"]
    t = lazy(tasks).select(*keys, "plan_gpu", "gpu_type")
    s = lazy(sensors).select(*keys, "gpu_wrk_util")
    return (
        s.join(t, on=keys, how="inner")
        .group_by(keys)
        .agg(
            pl.col("gpu_type").first(),
            pl.len().cast(pl.Int64).alias("n_instances"),
            (pl.col("plan_gpu") * 100.0).sum().alias("request_pct"),
            pl.col("gpu_wrk_util").sum().alias("usage_pct"),
        )
        .filter(pl.col("request_pct") > 0)
        .collect()
        .sort(keys)
    )


def pai_request_usage_summary(tasks: Frame, sensors: Frame) -> pl.DataFrame:
    """Share of tasks whose GPU plan exceeds usage, median request and usage (finding A6).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster``, ``n_tasks``, ``plan_gt_usage_share``, ``plan_lt_usage_share``,
        ``median_request_pct``, ``median_usage_pct``, ``usage_lt_10pct_share``.
    """
    per = pai_task_request_usage(tasks, sensors)
    r, u = pl.col("request_pct"), pl.col("usage_pct")
    return (
        per.group_by(["trace", "cluster"])
        .agg(
            pl.len().cast(pl.Int64).alias("n_tasks"),
            (r > u).mean().alias("plan_gt_usage_share"),
            (r < u).mean().alias("plan_lt_usage_share"),
            r.median().alias("median_request_pct"),
            u.median().alias("median_usage_pct"),
            (u < 10).mean().alias("usage_lt_10pct_share"),
        )
        .sort(["trace", "cluster"])
    )


def pai_request_usage_cdf(tasks: Frame, sensors: Frame) -> pl.DataFrame:
    """CDFs of per-task GPU request and usage (% of one GPU) on a log grid (notebook cells 35-36).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, measure`` (request / usage), ``gpu_pct``, ``cdf``, ``n``.
    """
    per = pai_task_request_usage(tasks, sensors)
    long = pl.concat(
        [
            per.select(
                "trace",
                "cluster",
                pl.lit("request").alias("measure"),
                pl.col("request_pct").alias("v"),
            ),
            per.select(
                "trace", "cluster", pl.lit("usage").alias("measure"), pl.col("usage_pct").alias("v")
            ),
        ]
    )
    grid = [0.0] + [10 ** (k / 10) for k in range(-10, 41)]
    return grid_cdf(long, "v", ["trace", "cluster", "measure"], grid, x_name="gpu_pct")


def pai_instance_cpu_mem(tasks: Frame, sensors: Frame) -> pl.DataFrame:
    """Per instance: CPU cores and memory requested (its task's per-instance plan) vs used (the
    instance's lifetime average in ``sensors``) (PAI notebook Fig. 6; findings A6b, A6c).

    ``cpu_usage`` is in % of one core, so 100 = one core used; memory in GB.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, job_name, task_name, inst_id, cpu_requested, cpu_used,
        mem_requested_gb, mem_used_gb``.
    """
    keys = ["trace", "cluster", "job_name", "task_name"]
    t = lazy(tasks).select(*keys, "plan_cpu", "plan_mem_gb")
    return (
        lazy(sensors)
        .select(*keys, "inst_id", "cpu_usage", "avg_mem")
        .join(t, on=keys, how="inner")
        .select(
            *keys,
            "inst_id",
            pl.col("plan_cpu").alias("cpu_requested"),
            (pl.col("cpu_usage") / 100.0).alias("cpu_used"),
            pl.col("plan_mem_gb").alias("mem_requested_gb"),
            pl.col("avg_mem").alias("mem_used_gb"),
        )
        .collect()
        .sort([*keys, "inst_id"], nulls_last=True)
    )


def pai_cpu_mem_usage_cdf(tasks: Frame, sensors: Frame, points: int = 101) -> pl.DataFrame:
    """CDFs over instances of CPU and memory requested vs used (PAI notebook Fig. 6).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, resource`` (``CPU (cores)``, ``memory (GB)``), ``measure``
        (``requested``, ``used``), ``value``, ``cdf`` (at ``points`` quantiles).
    """
    inst = pai_instance_cpu_mem(tasks, sensors)
    return pl.concat(
        [
            quantile_cdf(inst, {req: "requested", used: "used"}, GROUP, points).select(
                *GROUP, pl.lit(resource).alias("resource"), "measure", "value", "cdf"
            )
            for resource, (req, used) in PAI_CPU_MEM.items()
        ]
    )


def pai_cpu_mem_usage_summary(tasks: Frame, sensors: Frame) -> pl.DataFrame:
    """Per resource: instances, median request and use, and the share of instances whose plan
    exceeds their use (finding A6b/c: 84 % for CPU and 96 % for memory in the PAI analysis).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, resource, n_instances, median_requested, median_used,
        plan_gt_usage_share``.
    """
    inst = pai_instance_cpu_mem(tasks, sensors)
    frames = []
    for resource, (req, used) in PAI_CPU_MEM.items():
        both = inst.filter(pl.col(req).is_not_null() & pl.col(used).is_not_null())
        frames.append(
            both.group_by(GROUP)
            .agg(
                pl.len().cast(pl.Int64).alias("n_instances"),
                pl.col(req).median().alias("median_requested"),
                pl.col(used).median().alias("median_used"),
                (pl.col(req) > pl.col(used)).mean().alias("plan_gt_usage_share"),
            )
            .select(*GROUP, pl.lit(resource).alias("resource"), pl.exclude(GROUP))
        )
    return pl.concat(frames).sort([*GROUP, "resource"])


def _machine_metrics(machine_metric: Frame) -> pl.LazyFrame:
    """``machine_metric`` with the network receive rate in Gbit/s."""
    col = PAI_MACHINE_NET[0]
    return lazy(machine_metric).with_columns(pl.col(col) * 8 / 1e9)


def pai_machine_metric_cdf(
    machine_metric: Frame, kind: str = "utilization", points: int = 101
) -> pl.DataFrame:
    """CDFs of the machines' metrics over (machine, interval) rows (PAI notebook Fig. 8).

    Parameters
    ----------
    kind : str
        ``"utilization"``: user CPU, kernel CPU, I/O wait and GPU in %; ``"network"``: the
        network receive rate in Gbit/s.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, measure, value, cdf`` (at ``points`` quantiles).
    """
    if kind == "utilization":
        columns = PAI_MACHINE_UTIL
    elif kind == "network":
        columns = dict([PAI_MACHINE_NET])
    else:
        raise ValueError(f"kind must be 'utilization' or 'network'; got {kind!r}")
    return quantile_cdf(_machine_metrics(machine_metric), columns, GROUP, points)


def pai_machine_metric_summary(machine_metric: Frame) -> pl.DataFrame:
    """Median and p90 of each machine metric (PAI notebook Fig. 8: median I/O wait about
    0.003 %, user CPU about 31 %).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, measure, unit`` (``%`` or ``Gbit/s``), ``median``, ``p90``.
    """
    lf = _machine_metrics(machine_metric)
    units = {**dict.fromkeys(PAI_MACHINE_UTIL, "%"), PAI_MACHINE_NET[0]: "Gbit/s"}
    names = {**PAI_MACHINE_UTIL, PAI_MACHINE_NET[0]: PAI_MACHINE_NET[1]}
    frames = [
        lf.group_by(GROUP)
        .agg(
            pl.col(col).median().alias("median"),
            pl.col(col).quantile(0.9, interpolation="linear").alias("p90"),
        )
        .select(*GROUP, pl.lit(names[col]).alias("measure"), pl.lit(unit).alias("unit"),
                "median", "p90")  # fmt: skip
        for col, unit in units.items()
    ]
    order = {name: i for i, name in enumerate(names.values())}
    return (
        pl.concat(frames)
        .collect()
        .with_columns(pl.col("measure").replace_strict(order, return_dtype=pl.Int8).alias("_o"))
        .sort([*GROUP, "_o"])
        .drop("_o")
    )


def pai_request_shares(
    tasks: Frame, by: str | Sequence[str] | None = None, include_null: bool = False
) -> pl.DataFrame:
    """Share of tasks per per-instance GPU request bucket (finding A3), optionally per GPU type.

    As in the published figure, shares are over tasks with a ``plan_gpu`` (CPU-only roles have
    none);
    ``include_null=True`` counts those as requesting 0 GPU (bucket ``<0.25``).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster``, [``by``], ``request``, ``n_tasks``, ``task_share``.
    """
    keys = ["trace", "cluster", *group_cols(by)]
    lf = lazy(tasks)
    lf = (
        lf.with_columns(pl.col("plan_gpu").fill_null(0.0))
        if include_null
        else lf.filter(pl.col("plan_gpu").is_not_null())
    )
    lf = lf.with_columns(size_bucket("pai_request", "plan_gpu").alias("request"))
    per = lf.group_by([*keys, "request"]).agg(pl.len().cast(pl.Int64).alias("n_tasks")).collect()
    order = {lab: i for i, lab in enumerate(["<0.25", "[0.25,0.5)", "[0.5,1)", "1", ">1"])}
    return (
        per.with_columns(
            (pl.col("n_tasks") / pl.col("n_tasks").sum().over(keys)).alias("task_share"),
            pl.col("request")
            .replace_strict(order, default=None, return_dtype=pl.Int8)
            .alias("_o"),
        )
        .sort([*keys, "_o"])
        .drop("_o")
    )


def pai_gpu_type_shares(tasks: Frame, include_unassigned: bool = False) -> pl.DataFrame:
    """Share of tasks per assigned GPU type (finding A4).

    Tasks without a GPU type (unassigned / CPU roles) are left out of the shares, as in the
    published figure, unless ``include_unassigned`` (then they appear as a null type).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, gpu_type, n_tasks, task_share``.
    """
    keys = ["trace", "cluster"]
    lf = lazy(tasks)
    if not include_unassigned:
        lf = lf.filter(pl.col("gpu_type").is_not_null())
    per = lf.group_by([*keys, "gpu_type"]).agg(pl.len().cast(pl.Int64).alias("n_tasks")).collect()
    return per.with_columns(
        (pl.col("n_tasks") / pl.col("n_tasks").sum().over(keys)).alias("task_share")
    ).sort([*keys, "n_tasks", "gpu_type"], descending=[False, False, True, False], nulls_last=True)
