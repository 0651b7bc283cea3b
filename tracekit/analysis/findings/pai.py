"""PAI measures, at the task level as the official notebook works: runtime (A1, A2), requests
(A3, A4), waits (A5, A5b), request vs usage (A6), instance sensors (A6b, A6c), GPU sharing (A7),
recurrence (A8), CPU per GPU (A9), allocation by machine type (A10), submissions (A11, A12),
users (A13) and machine resources (A14)."""

from __future__ import annotations

import polars as pl

from tracekit.analysis import arrivals, queueing, utilization
from tracekit.analysis.findings._core import Context, measure, pct, pick, quantile
from tracekit.timeutil import timezone_of

__all__: list[str] = []  # measures are reached through the registry, not imported

_TASK_COLUMNS = (
    "trace",
    "cluster",
    "job_name",
    "task_name",
    "inst_num",
    "status",
    "start_time",
    "end_time",
    "plan_cpu",
    "plan_gpu",
    "gpu_type",
    "num_gpus",
    "queue_s",
    "duration_s",
)
# Raw task status of a completed task (the tasks table keeps PAI's own words).
_COMPLETED = "Terminated"


def _tasks(ctx: Context, trace: str) -> pl.LazyFrame | None:
    return ctx.table("tasks", trace, _TASK_COLUMNS)


def _stat(values: pl.Series, stat: str) -> float | None:
    values = values.drop_nulls()
    if values.len() == 0:
        return None
    if stat == "mean":
        return float(values.mean())
    if stat == "median":
        return float(values.median())
    if stat.startswith("p"):
        return quantile(values, float(stat[1:]) / 100.0)
    raise ValueError(f"stat must be mean, median or pNN; got {stat!r}")


@measure("task_runtime_s")
def task_runtime(
    ctx: Context,
    trace: str,
    cluster: str,
    stat: str,
    gpu_type: str = "",
    status: str = "",
    gpu: str = "",
) -> float | None:
    """A statistic of task runtime (mean instance runtime), optionally of one GPU type, of
    completed tasks only (``status=completed``) or of GPU tasks only (``gpu=1``)."""
    t = _tasks(ctx, trace)
    if t is None:
        return None
    if gpu_type:
        t = t.filter(pl.col("gpu_type") == gpu_type)
    if status == "completed":
        t = t.filter(pl.col("status") == _COMPLETED)
    if gpu:
        t = t.filter(pl.col("plan_gpu") > 0)
    return _stat(t.select("duration_s").collect()["duration_s"], stat)


@measure("task_runtime_cdf_pct")
def task_runtime_cdf(ctx: Context, trace: str, cluster: str, at: str) -> float | None:
    """P(task runtime <= ``at`` s) (%)."""
    t = _tasks(ctx, trace)
    if t is None:
        return None
    d = t.select("duration_s").collect()["duration_s"].drop_nulls()
    return None if d.len() == 0 else 100.0 * float((d <= float(at)).mean())


@measure("request_share_pct")
def request_share(ctx: Context, trace: str, cluster: str, bucket: str) -> float | None:
    """Share (%) of tasks whose per-instance GPU request falls in ``bucket``."""
    t = _tasks(ctx, trace)
    if t is None:
        return None
    df = ctx.cached(("a3", trace), lambda: utilization.pai_request_shares(t))
    return pct(pick(df, "task_share", request=bucket))


@measure("task_gpus")
def task_gpus(ctx: Context, trace: str, cluster: str, stat: str) -> float | None:
    """A statistic of the per-instance GPU request of GPU tasks (GPUs)."""
    t = _tasks(ctx, trace)
    if t is None:
        return None
    g = t.filter(pl.col("plan_gpu") > 0).select("plan_gpu").collect()["plan_gpu"]
    return _stat(g, stat)


@measure("gpu_type_share_pct")
def gpu_type_share(ctx: Context, trace: str, cluster: str, gpu_type: str) -> float | None:
    """Share (%) of tasks with an assigned GPU type that run on ``gpu_type``."""
    t = _tasks(ctx, trace)
    if t is None:
        return None
    df = ctx.cached(("a4", trace), lambda: utilization.pai_gpu_type_shares(t))
    return pct(pick(df, "task_share", gpu_type=gpu_type))


@measure("wait_ratio_pct")
def wait_ratio(ctx: Context, trace: str, cluster: str, half: str, stat: str) -> float | None:
    """Wait / completion time (wait + runtime) of tasks, split at the median runtime
    (``half=short|long|all``): its median (%) or the share (%) of tasks waiting more than half
    of their completion time (``stat=over_half``)."""
    t = _tasks(ctx, trace)
    if t is None:
        return None
    df = (
        t.filter(pl.col("queue_s").is_not_null() & pl.col("duration_s").is_not_null())
        .filter((pl.col("queue_s") + pl.col("duration_s")) > 0)
        .select(
            "duration_s",
            (pl.col("queue_s") / (pl.col("queue_s") + pl.col("duration_s"))).alias("r"),
        )
        .collect()
    )
    if df.height == 0:
        return None
    mid = float(df["duration_s"].median())
    if half == "short":
        df = df.filter(pl.col("duration_s") <= mid)
    elif half == "long":
        df = df.filter(pl.col("duration_s") > mid)
    if df.height == 0:
        return None
    if stat == "median":
        return 100.0 * float(df["r"].median())
    return 100.0 * float((df["r"] > 0.5).mean())


@measure("task_wait_s")
def task_wait(ctx: Context, trace: str, cluster: str, gpu_type: str, stat: str) -> float | None:
    """Median (``p50_s``) or p90 (``p90_s``) wait of the tasks on ``gpu_type``."""
    t = _tasks(ctx, trace)
    if t is None:
        return None
    df = ctx.cached(("a5b", trace), lambda: queueing.pai_wait_by(t, "gpu_type"))
    return pick(df, stat, gpu_type=gpu_type)


@measure("task_queue_s")
def task_queue(ctx: Context, trace: str, cluster: str, stat: str) -> float | None:
    """A statistic of the wait of GPU tasks (s)."""
    t = _tasks(ctx, trace)
    if t is None:
        return None
    q = t.filter(pl.col("plan_gpu") > 0).select("queue_s").collect()["queue_s"]
    return _stat(q, stat)


@measure("pai_usage")
def pai_usage(ctx: Context, trace: str, cluster: str, col: str, pct: str) -> float | None:
    """A column of :func:`tracekit.analysis.utilization.pai_request_usage_summary` (task GPU
    request vs usage), as percent when ``pct=1``."""
    t = _tasks(ctx, trace)
    if t is None or not ctx.has("sensors", trace):
        return None
    df = ctx.cached(
        ("a6", trace),
        lambda: utilization.pai_request_usage_summary(t, ctx.scan("sensors", trace)),
    )
    v = pick(df, col)
    return None if v is None else (100.0 * v if pct == "1" else v)


def _sensor_rows(ctx: Context, trace: str) -> pl.DataFrame | None:
    """Instance sensor rows with the task's per-instance requests (GPU in % of one GPU, CPU in %
    of one core, as the sensors report usage)."""
    t = _tasks(ctx, trace)
    if t is None or not ctx.has("sensors", trace):
        return None

    def build() -> pl.DataFrame:
        s = ctx.scan("sensors", trace).select(
            "job_name", "task_name", "gpu_wrk_util", "cpu_usage", "read"
        )
        plan = t.select(
            "job_name",
            "task_name",
            (pl.col("plan_gpu") * 100).alias("plan_gpu_pct"),
            (pl.col("plan_cpu") * 100).alias("plan_cpu_pct"),
        )
        return s.join(plan, on=["job_name", "task_name"], how="left").collect()

    return ctx.cached(("sensor_rows", trace), build)


@measure("sensor_util")
def sensor_util(ctx: Context, trace: str, cluster: str, stat: str) -> float | None:
    """Instance-level GPU utilization (``gpu_wrk_util``, % of one GPU): mean, median, share (%)
    at 0, below 10 %, at or above 50 %, above the GPU request (``over_plan_pct``) or CPU usage
    above the CPU request (``over_plan_cpu_pct``)."""
    s = _sensor_rows(ctx, trace)
    if s is None:
        return None
    u = s["gpu_wrk_util"].drop_nulls()
    if u.len() == 0:
        return None
    if stat in ("mean", "median"):
        return _stat(u, stat)
    if stat == "zero_pct":
        return 100.0 * float((u == 0).mean())
    if stat == "below10_pct":
        return 100.0 * float((u < 10).mean())
    if stat == "ge50_pct":
        return 100.0 * float((u >= 50).mean())
    if stat == "over_plan_pct":
        g = s.filter((pl.col("plan_gpu_pct") > 0) & pl.col("gpu_wrk_util").is_not_null())
        return (
            None if g.height == 0 else 100.0 * float((g["gpu_wrk_util"] > g["plan_gpu_pct"]).mean())
        )
    if stat == "over_plan_cpu_pct":
        c = s.filter((pl.col("plan_cpu_pct") > 0) & pl.col("cpu_usage").is_not_null())
        return None if c.height == 0 else 100.0 * float((c["cpu_usage"] > c["plan_cpu_pct"]).mean())
    raise ValueError(f"unknown sensor statistic {stat!r}")


def _instances(ctx: Context, trace: str) -> pl.DataFrame | None:
    """Started instances with times (s from the first start), machine and the task's
    per-instance requests."""
    t = _tasks(ctx, trace)
    if t is None or not ctx.has("instances", trace):
        return None

    def build() -> pl.DataFrame:
        inst = (
            ctx.scan("instances", trace)
            .filter(pl.col("start_time").is_not_null() & pl.col("end_time").is_not_null())
            .filter(pl.col("end_time") > pl.col("start_time"))
            .select("job_name", "task_name", "machine", "start_time", "end_time")
        )
        plan = t.select("job_name", "task_name", "plan_gpu", "plan_cpu")
        df = inst.join(plan, on=["job_name", "task_name"], how="inner").collect()
        if df.height == 0:
            return df
        t0 = df["start_time"].min()
        return df.with_columns(
            ((pl.col("start_time") - t0).dt.total_seconds()).alias("s"),
            ((pl.col("end_time") - t0).dt.total_seconds()).alias("e"),
        )

    return ctx.cached(("inst", trace), build)


@measure("sharing_saving_pct")
def sharing_saving(ctx: Context, trace: str, cluster: str) -> float | None:
    """GPUs saved by sharing (%): 1 - (fractional GPU-seconds requested) / (GPU-seconds if every
    instance held whole GPUs), over instances with a GPU request."""
    i = _instances(ctx, trace)
    if i is None:
        return None
    g = i.filter(pl.col("plan_gpu") > 0)
    if g.height == 0:
        return None
    dur = g["e"] - g["s"]
    frac = float((g["plan_gpu"] * dur).sum())
    whole = float((g["plan_gpu"].ceil() * dur).sum())
    return None if whole == 0 else 100.0 * (1.0 - frac / whole)


def _groups(ctx: Context, trace: str) -> pl.DataFrame | None:
    """Tasks with their recurrence group (group tag, else the user) and its number of runs."""
    t = _tasks(ctx, trace)
    j = ctx.table("jobs", trace, ("job_name", "user", "group_tag"))
    if t is None or j is None:
        return None

    def build() -> pl.DataFrame:
        df = t.select("job_name", "task_name", "status", "duration_s").join(
            j.unique("job_name"), on="job_name", how="inner"
        )
        df = df.with_columns(pl.coalesce("group_tag", "user").alias("group")).collect()
        runs = df.group_by("group").agg(pl.col("job_name").n_unique().alias("runs"))
        return df.join(runs, on="group", how="left")

    return ctx.cached(("groups", trace), build)


@measure("recurring_share_pct")
def recurring_share(ctx: Context, trace: str, cluster: str) -> float | None:
    """Share (%) of tasks whose group (group tag, else user) runs at least 5 times."""
    g = _groups(ctx, trace)
    return None if g is None or g.height == 0 else 100.0 * float((g["runs"] >= 5).mean())


@measure("recurring_within_pct")
def recurring_within(ctx: Context, trace: str, cluster: str, within: str) -> float | None:
    """Share (%) of completed tasks of recurring groups whose runtime is within ``within`` % of
    the median runtime of their group and role."""
    g = _groups(ctx, trace)
    if g is None:
        return None
    rec = (
        g.filter(
            (pl.col("status") == _COMPLETED)
            & (pl.col("runs") >= 5)
            & pl.col("duration_s").is_not_null()
            & (pl.col("duration_s") > 0)
        )
        .with_columns(
            pl.col("duration_s").median().over("group", "task_name").alias("med"),
            pl.len().over("group", "task_name").alias("n"),
        )
        .filter(pl.col("n") >= 5)
    )
    if rec.height == 0:
        return None
    err = (rec["duration_s"] / rec["med"] - 1).abs()
    return 100.0 * float((err <= float(within) / 100.0).mean())


def _machines(ctx: Context, trace: str) -> pl.DataFrame | None:
    m = ctx.table("machines", trace, ("machine_id", "num_gpus", "num_cpus", "gpu_type"))
    return None if m is None else m.collect()


@measure("cpu_per_gpu")
def cpu_per_gpu(ctx: Context, trace: str, cluster: str, of: str) -> float | None:
    """vCPUs per GPU on 8-GPU machines: offered (``of=machines``) or requested by the instances
    placed there (``of=requests``: their summed CPU request over their summed GPU request)."""
    m = _machines(ctx, trace)
    if m is None:
        return None
    big = m.filter(pl.col("num_gpus") == 8)
    if big.height == 0:
        return None
    if of == "machines":
        return float(big["num_cpus"].sum() / big["num_gpus"].sum())
    i = _instances(ctx, trace)
    if i is None:
        return None
    on_big = i.join(big.select(pl.col("machine_id").alias("machine")), on="machine", how="inner")
    on_big = on_big.filter(pl.col("plan_gpu") > 0)
    gpus = float(on_big["plan_gpu"].sum())
    return None if gpus == 0 else float(on_big["plan_cpu"].sum()) / gpus


@measure("type_allocation_pct")
def type_allocation(
    ctx: Context, trace: str, cluster: str, gpu_type: str, resource: str
) -> float | None:
    """Time-averaged share (%) of the GPUs (or CPUs) of ``gpu_type`` machines requested by the
    instances running on them, over the span of the instance records."""
    m = _machines(ctx, trace)
    i = _instances(ctx, trace)
    if m is None or i is None or i.height == 0:
        return None
    mm = m.filter(pl.col("gpu_type") == gpu_type)
    cap = float(mm["num_gpus" if resource == "gpu" else "num_cpus"].sum())
    if cap == 0:
        return None
    on = i.join(mm.select(pl.col("machine_id").alias("machine")), on="machine", how="inner")
    col = "plan_gpu" if resource == "gpu" else "plan_cpu"
    used = float((on[col].fill_null(0.0) * (on["e"] - on["s"])).sum())
    span = float(i["e"].max() - i["s"].min())
    return None if span <= 0 else 100.0 * used / (cap * span)


def _tasks_as_jobs(ctx: Context, trace: str) -> pl.LazyFrame | None:
    # Submissions per hour are counted on tasks (task start = submission of the task).
    t = _tasks(ctx, trace)
    return None if t is None else t.with_columns(pl.col("start_time").alias("submit_time"))


@measure("task_hourly_peak_trough")
def task_hourly_peak_trough(ctx: Context, trace: str, cluster: str) -> float | None:
    """Busiest over quietest local hour of task submissions (average over days)."""
    t = _tasks_as_jobs(ctx, trace)
    if t is None:
        return None
    df = ctx.cached(("a11", trace), lambda: arrivals.by_hour(t, ["trace", "cluster"], False))
    if df.height == 0 or not df["jobs_per_hour"].min():
        return None
    return float(df["jobs_per_hour"].max() / df["jobs_per_hour"].min())


def _task_hours(ctx: Context, trace: str) -> pl.DataFrame | None:
    """Task submissions per local clock hour over the whole span (empty hours included)."""
    t = _tasks(ctx, trace)
    if t is None:
        return None
    tz = timezone_of(trace)
    df = (
        t.filter(pl.col("start_time").is_not_null())
        .select(pl.col("start_time").dt.convert_time_zone(tz).dt.truncate("1h").alias("h"))
        .group_by("h")
        .len()
        .collect()
    )
    if df.height == 0:
        return None
    full = pl.datetime_range(df["h"].min(), df["h"].max(), "1h", eager=True, time_zone=tz)
    return (
        pl.DataFrame({"h": full})
        .join(df, on="h", how="left")
        .with_columns(pl.col("len").fill_null(0))
    )


@measure("task_week_range")
def task_week_range(ctx: Context, trace: str, cluster: str) -> float | None:
    """Max over min of the hour-of-week profile of task submissions (mean over weeks)."""
    h = _task_hours(ctx, trace)
    if h is None:
        return None
    prof = h.group_by(pl.col("h").dt.weekday(), pl.col("h").dt.hour().alias("hod")).agg(
        pl.col("len").mean()
    )
    lo = float(prof["len"].min())
    return None if lo <= 0 else float(prof["len"].max()) / lo


@measure("task_weekend_ratio")
def task_weekend_ratio(ctx: Context, trace: str, cluster: str) -> float | None:
    """Mean task submissions per weekend hour over the mean per weekday hour."""
    h = _task_hours(ctx, trace)
    if h is None:
        return None
    wd = h["h"].dt.weekday()
    end = float(h.filter(wd >= 6)["len"].mean() or 0)
    week = float(h.filter(wd <= 5)["len"].mean() or 0)
    return None if week == 0 else end / week


@measure("tasks_per_user")
def tasks_per_user(ctx: Context, trace: str, cluster: str, q: str) -> float | None:
    """Quantile ``q`` of the number of tasks per user."""
    t = _tasks(ctx, trace)
    j = ctx.table("jobs", trace, ("job_name", "user"))
    if t is None or j is None:
        return None
    per = (
        t.select("job_name")
        .join(j.unique("job_name"), on="job_name", how="inner")
        .group_by("user")
        .len()
        .collect()
    )
    return quantile(per["len"].cast(pl.Float64), float(q))


@measure("net_receive_gbps")
def net_receive(ctx: Context, trace: str, cluster: str, q: str) -> float | None:
    """Quantile ``q`` of the instances' network receive, ``8 x read / 1024^3`` as the official
    notebook computes "Gbps"."""
    s = _sensor_rows(ctx, trace)
    if s is None:
        return None
    return quantile(s["read"] * 8 / 1024**3, float(q))


@measure("machine_metric_pct")
def machine_metric(ctx: Context, trace: str, cluster: str, col: str, q: str) -> float | None:
    """Quantile ``q`` of a ``machine_metric`` column (%)."""
    m = ctx.table("machine_metric", trace, (col,))
    if m is None:
        return None
    return quantile(m.collect()[col], float(q))
