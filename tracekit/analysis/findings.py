"""Published vs measured: every finding of findings.md that the store can measure, as a table.

:func:`findings_table` returns one row per (finding, trace, cluster, metric) with the published
value and its provenance tag, the value measured on the store, a tolerance and an agreement
verdict: ``agree`` (|measured - published| <= tolerance), ``close`` (<= 2 x tolerance),
``differs``, or ``n/a`` (nothing published, or the store lacks the data). Tolerances reflect the
source precision (findings.md section 0: digitized figures +-2 pp, vector figures +-0.1 pp) plus
sampling noise; they are not claims about the papers.

Rows are only produced for traces and clusters present in the store, so a store without e.g.
PAI simply has no PAI rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from tracekit.analysis import arrivals, failures, jobs, queueing, users, utilization
from tracekit.analysis._common import gpu_jobs
from tracekit.store import Store

HELIOS_CLUSTERS: tuple[str, ...] = ("Venus", "Earth", "Saturn", "Uranus")
# Which findings each characterization notebook shows (published vs measured).
SECTIONS: dict[str, tuple[str, ...]] = {
    "jobs_users": (
        "P1",
        "P2",
        "P3",
        "P3b",
        "H1",
        "H1b",
        "H2",
        "H3",
        "H4",
        "H5",
        "H6",
        "H13",
        "H17",
        "H18",
        "H21",
        "A1",
        "A11",
        "A13",
    ),
    "utilization": ("P7", "P7b", "P8", "P9", "H15", "H16", "A3", "A4", "A6"),
    "queueing": ("P4", "H10", "H11", "A5b"),
    "failures": ("P6", "P11", "H7", "H8", "H9", "A15"),
}
COLUMNS: dict[str, Any] = {
    "finding_id": pl.String,
    "trace": pl.String,
    "cluster": pl.String,
    "metric": pl.String,
    "statement": pl.String,
    "published": pl.Float64,
    "unit": pl.String,
    "source": pl.String,
    "measured": pl.Float64,
    "tolerance": pl.Float64,
    "agreement": pl.String,
}


@dataclass(frozen=True)
class Finding:
    """One measurable published number.

    ``cluster`` is a store cluster name, or ``"all"`` for the trace pooled over its clusters.
    ``measure`` returns the measured value in ``unit`` (or None when not measurable).
    """

    finding_id: str
    trace: str
    cluster: str
    metric: str
    statement: str
    published: float | None
    unit: str
    source: str
    tolerance: float
    measure: Callable[[_Context], float | None]


_JOB_COLUMNS: tuple[str, ...] = (
    "trace",
    "cluster",
    "job_id",
    "user",
    "vc",
    "job_name",
    "submit_time",
    "start_time",
    "end_time",
    "queue_s",
    "duration_s",
    "num_gpus",
    "status",
    "num_attempts",
    "gpu_time_s",
    "gpu_util_mean",
)


class _Context:
    """Lazily computed, cached analysis frames over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[tuple[Any, ...], Any] = {}

    def cached(self, key: tuple[Any, ...], fn: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def has(self, table: str, trace: str) -> bool:
        return any(
            p["trace"] == trace and p.get("rows", {}).get(table, 0) > 0
            for p in self.store.partitions
        )

    def scan(self, table: str, trace: str) -> pl.LazyFrame:
        return self.store.scan(table, trace=trace)

    def jobs(self, trace: str) -> pl.LazyFrame:
        # Read the trace's jobs once (only the columns the findings use) and reuse them from
        # memory: dozens of findings re-reading Parquet would dominate the run time.
        return self.cached(
            ("jobs", trace),
            lambda: self.scan("jobs", trace).select(_JOB_COLUMNS).collect(),
        ).lazy()


def _pick(df: pl.DataFrame, col: str, **where: Any) -> float | None:
    """The single value of ``col`` in the rows matching ``where`` (None if absent)."""
    sub = df
    for k, v in where.items():
        sub = sub.filter(pl.col(k).is_null() if v is None else pl.col(k) == v)
    if sub.height == 0:
        return None
    val = sub[col][0]
    return None if val is None else float(val)


def _keys(cluster: str) -> list[str]:
    return ["trace"] if cluster == "all" else ["trace", "cluster"]


def _where(cluster: str) -> dict[str, Any]:
    return {} if cluster == "all" else {"cluster": cluster}


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


# ---- measure builders (each returns a closure over the context) ---------------------------------
def _grouped(
    tag: str,
    compute: Callable[[pl.LazyFrame, list[str]], pl.DataFrame],
    trace: str,
    cluster: str,
    col: str,
    pct: bool = False,
    **where: Any,
) -> Callable[[_Context], Any]:
    """Measure ``col`` of ``compute(jobs, keys)`` at ``cluster`` (pooled over the trace when
    ``cluster == "all"``) in the rows matching ``where``; the frame is computed once per
    (tag, trace, pooled) and shared by every finding that reads it."""

    def f(ctx: _Context) -> float | None:
        df = ctx.cached(
            (tag, trace, cluster == "all"), lambda: compute(ctx.jobs(trace), _keys(cluster))
        )
        value = _pick(df, col, **where, **_where(cluster))
        return _pct(value) if pct else value

    return f


def _status_share(trace: str, cluster: str, status: str, col: str) -> Callable[[_Context], Any]:
    return _grouped("status", failures.status_shares, trace, cluster, col, pct=True, status=status)


def _duration_stat(trace: str, cluster: str, col: str) -> Callable[[_Context], Any]:
    return _grouped("dur", jobs.duration_summary, trace, cluster, col)


def _cpu_median(trace: str, cluster: str) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        df = ctx.cached(
            ("cpu_med", trace),
            lambda: (
                ctx.jobs(trace)
                .filter(pl.col("num_gpus") == 0)
                .group_by("cluster")
                .agg(pl.col("duration_s").median())
                .collect()
            ),
        )
        return _pick(df, "duration_s", cluster=cluster)

    return f


def _duration_cdf_at(trace: str, cluster: str, x: float) -> Callable[[_Context], Any]:
    return _grouped(
        "durcdf", jobs.duration_cdf, trace, cluster, "cdf", pct=True, duration_s=float(x)
    )


def _size_share(
    trace: str, cluster: str, bucket: str, col: str, scheme: str = "helios"
) -> Callable[[_Context], Any]:
    def pmf(lf: pl.LazyFrame, keys: list[str]) -> pl.DataFrame:
        return jobs.size_pmf(lf, keys, scheme=scheme)

    return _grouped(f"pmf-{scheme}", pmf, trace, cluster, col, pct=True, size_bucket=bucket)


def _gpu_stat(trace: str, cluster: str, col: str) -> Callable[[_Context], Any]:
    return _grouped("gpus", jobs.gpu_size_stats, trace, cluster, col)


def _coupling(trace: str, cluster: str) -> Callable[[_Context], Any]:
    def pearson(lf: pl.LazyFrame, keys: list[str]) -> pl.DataFrame:
        return jobs.size_duration_correlation(lf, keys, spearman=False)

    return _grouped("corr", pearson, trace, cluster, "coupling")


def _queue_stat(trace: str, cluster: str, col: str) -> Callable[[_Context], Any]:
    return _grouped("queue", queueing.queue_summary, trace, cluster, col)


def _top_share(trace: str, cluster: str, value: str, pct: float) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        df = ctx.cached(
            ("top", trace, value),
            lambda: users.top_share(ctx.jobs(trace), value, ["trace", "cluster"]),
        )
        return _pick(df, "share_pct", top_pct=pct, cluster=cluster)

    return f


def _status_by_size(trace: str, bucket: str, status: str) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        df = ctx.cached(("sbs", trace), lambda: failures.status_by_size(ctx.jobs(trace), ["trace"]))
        return _pct(_pick(df, "job_share", size_bucket=bucket, status=status))

    return f


def _alloc(ctx: _Context, trace: str) -> pl.DataFrame | None:
    if not ctx.has("capacity", trace):
        return None
    return ctx.cached(
        ("alloc", trace),
        lambda: utilization.allocation_series(
            ctx.jobs(trace), ctx.scan("capacity", trace), freq="1h"
        ),
    )


def _alloc_mean(trace: str, cluster: str) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        s = _alloc(ctx, trace)
        if s is None:
            return None
        return _pct(_pick(utilization.allocation_profile(s, "all"), "util", cluster=cluster))

    return f


def _alloc_min_hour(trace: str, cluster: str) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        s = _alloc(ctx, trace)
        if s is None:
            return None
        prof = utilization.allocation_profile(s, "hour").filter(pl.col("cluster") == cluster)
        if prof.height == 0:
            return None
        return float(prof.sort("util")["local_hour"][0])

    return f


def _hourly_peak_trough(
    trace: str, cluster: str, source: str = "jobs"
) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        frame = ctx.jobs(trace) if source == "jobs" else _pai_tasks_as_jobs(ctx)
        df = ctx.cached(
            ("hour", trace, source),
            lambda: arrivals.by_hour(frame, ["trace", "cluster"], gpu_only=source == "jobs"),
        )
        sub = df.filter(pl.col("cluster") == cluster)
        if sub.height == 0 or sub["jobs_per_hour"].min() in (None, 0):
            return None
        return float(sub["jobs_per_hour"].max() / sub["jobs_per_hour"].min())

    return f


def _pai_tasks_as_jobs(ctx: _Context) -> pl.LazyFrame:
    # PAI submissions per hour are counted on tasks (task start = submission of the task).
    return ctx.scan("tasks", "pai").with_columns(pl.col("start_time").alias("submit_time"))


def _dispersion(trace: str, cluster: str) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        df = ctx.cached(
            ("burst", trace), lambda: arrivals.burstiness(ctx.jobs(trace), ["trace", "cluster"])
        )
        return _pick(df, "index_of_dispersion", cluster=cluster)

    return f


def _multi_share(trace: str, cluster: str) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        df = ctx.cached(
            ("multi", trace),
            lambda: (
                gpu_jobs(ctx.jobs(trace))
                .group_by("cluster")
                .agg((pl.col("num_gpus") > 1).mean().alias("share"))
                .collect()
            ),
        )
        return _pct(_pick(df, "share", cluster=cluster))

    return f


def _philly_long_jobs_share(bucket: str, col: str) -> Callable[[_Context], Any]:
    # P1 is measured on jobs of >= 1 h with 1, 2, 4 or 8 GPUs (GAVEL-PKL filter).
    def f(ctx: _Context) -> float | None:
        lf = ctx.jobs("philly").filter(
            (pl.col("duration_s") >= 3600) & pl.col("num_gpus").is_in([1.0, 2.0, 4.0, 8.0])
        )
        df = ctx.cached(("p1",), lambda: jobs.size_pmf(lf, ["trace"]))
        return _pct(_pick(df, col, size_bucket=bucket))

    return f


def _philly_median_by_size(bucket: str) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        df = ctx.cached(
            ("p2",),
            lambda: jobs.duration_quantiles(
                ctx.jobs("philly"), ["trace"], qs=(0.5, 0.9), scheme="philly"
            ),
        )
        v = _pick(df, "value", size_bucket=bucket, quantile=0.5)
        return None if v is None else v / 60.0

    return f


def _philly_delays(ctx: _Context) -> pl.DataFrame | None:
    if not ctx.has("attempts", "philly"):
        return None
    return ctx.cached(
        ("p4",),
        lambda: queueing.philly_attempt_delays(
            ctx.scan("attempts", "philly"), ctx.jobs("philly"), official=True
        ),
    )


def _philly_delay_stat(vc: str | None, bucket: str, q: float) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        d = _philly_delays(ctx)
        if d is None:
            return None
        d = d.filter(pl.col("size_bucket") == bucket)
        if vc is not None:
            d = d.filter(pl.col("vc") == vc)
        if d.height == 0:
            return None
        return float(d["delay_s"].quantile(q, interpolation="linear")) / 60.0

    return f


def _philly_util(status: str, size: int, col: str) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        if not ctx.has("job_gpu_minutes", "philly"):
            return None
        df = ctx.cached(
            ("p7",),
            lambda: utilization.philly_gpu_util(
                ctx.scan("job_gpu_minutes", "philly"), ctx.jobs("philly")
            ),
        )
        v = _pick(df, col, status=status, num_gpus=float(size))
        return _pct(v) if col == "zero_share" else v

    return f


def _philly_dedicated(size: int) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        if not ctx.has("job_gpu_minutes", "philly"):
            return None
        att = ctx.scan("attempts", "philly") if ctx.has("attempts", "philly") else None
        df = ctx.cached(
            ("p8",),
            lambda: utilization.philly_placement_util(
                ctx.scan("job_gpu_minutes", "philly"), ctx.jobs("philly"), att
            ),
        )
        return _pick(df, "median_pct", placement="dedicated", num_gpus=float(size))

    return f


def _philly_job_util_mean(ctx: _Context) -> float | None:
    v = ctx.jobs("philly").select(pl.col("gpu_util_mean").mean()).collect().item()
    return None if v is None else float(v)


def _philly_host(metric: str, col: str) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        if not ctx.has("host_util", "philly"):
            return None
        df = ctx.cached(
            ("p9",), lambda: utilization.host_util_summary(ctx.scan("host_util", "philly"))
        )
        return _pick(df, col, metric=metric)

    return f


def _philly_retried(ctx: _Context) -> float | None:
    df = failures.attempt_stats(ctx.jobs("philly"), ["trace"])
    if df.height == 0:
        return None
    w = (df["retried_share"] * df["n_jobs"]).sum() / df["n_jobs"].sum()
    return 100.0 * float(w)


def _pai_task_duration(stat: str) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        if not ctx.has("tasks", "pai"):
            return None
        d = ctx.scan("tasks", "pai").select(pl.col("duration_s")).collect()["duration_s"]
        d = d.drop_nulls()
        if d.len() == 0:
            return None
        if stat == "median":
            return float(d.median())
        return 100.0 * float((d <= float(stat)).mean())

    return f


def _pai_tasks(
    tag: str,
    compute: Callable[[pl.LazyFrame], pl.DataFrame],
    col: str,
    pct: bool = False,
    **where: Any,
) -> Callable[[_Context], Any]:
    """Measure ``col`` of ``compute(PAI tasks)`` in the rows matching ``where`` (None without
    a PAI ``tasks`` table)."""

    def f(ctx: _Context) -> float | None:
        if not ctx.has("tasks", "pai"):
            return None
        df = ctx.cached((tag,), lambda: compute(ctx.scan("tasks", "pai")))
        value = _pick(df, col, **where)
        return _pct(value) if pct else value

    return f


def _pai_request_share(bucket: str) -> Callable[[_Context], Any]:
    return _pai_tasks("a3", utilization.pai_request_shares, "task_share", True, request=bucket)


def _pai_type_share(gpu_type: str) -> Callable[[_Context], Any]:
    return _pai_tasks("a4", utilization.pai_gpu_type_shares, "task_share", True, gpu_type=gpu_type)


def _pai_wait(gpu_type: str, col: str) -> Callable[[_Context], Any]:
    return _pai_tasks("a5", queueing.pai_wait_by, col, gpu_type=gpu_type)


def _pai_usage(col: str, pct: bool) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        if not (ctx.has("tasks", "pai") and ctx.has("sensors", "pai")):
            return None
        df = ctx.cached(
            ("a6",),
            lambda: utilization.pai_request_usage_summary(
                ctx.scan("tasks", "pai"), ctx.scan("sensors", "pai")
            ),
        )
        v = _pick(df, col)
        return _pct(v) if pct else v

    return f


def _pai_tasks_per_user(ctx: _Context) -> float | None:
    if not ctx.has("tasks", "pai"):
        return None
    t = ctx.scan("tasks", "pai").select("job_name")
    j = ctx.jobs("pai").select("job_name", "user").unique("job_name")
    per = t.join(j, on="job_name", how="inner").group_by("user").len().collect()
    return None if per.height == 0 else float(per["len"].median())


def _pai_status(status: str) -> Callable[[_Context], Any]:
    def f(ctx: _Context) -> float | None:
        df = ctx.cached(
            ("a15",), lambda: failures.status_shares(ctx.jobs("pai"), ["trace"], gpu_only=False)
        )
        return _pct(_pick(df, "job_share", status=status))

    return f


# ---- the catalogue ------------------------------------------------------------------------------
def _single_cluster_adder(
    out: list[Finding], trace: str, cluster: str
) -> Callable[[str, str, str, float | None, str, str, float, Callable[[_Context], Any]], None]:
    """An ``add(fid, metric, statement, pub, unit, src, tol, fn)`` for a one-cluster trace."""

    def add(
        fid: str,
        metric: str,
        statement: str,
        pub: float | None,
        unit: str,
        src: str,
        tol: float,
        fn: Callable[[_Context], Any],
    ) -> None:
        out.append(Finding(fid, trace, cluster, metric, statement, pub, unit, src, tol, fn))

    return add


def _helios_findings() -> list[Finding]:
    out: list[Finding] = []
    t = "helios"

    def add(
        fid: str,
        cluster: str,
        metric: str,
        statement: str,
        pub: float | None,
        unit: str,
        src: str,
        tol: float,
        fn: Callable[[_Context], Any],
    ) -> None:
        out.append(Finding(fid, t, cluster, metric, statement, pub, unit, src, tol, fn))

    med = dict(zip(HELIOS_CLUSTERS, (204, 234, 124, 280), strict=True)) | {"all": 206}
    mean = dict(zip(HELIOS_CLUSTERS, (13041, 5131, 5253, 9164), strict=True)) | {"all": 6652}
    for c in (*HELIOS_CLUSTERS, "all"):
        add(
            "H1",
            c,
            "median GPU-job duration",
            "GPU-job median duration is a few minutes",
            med[c],
            "s",
            "ART",
            0.2 * med[c],
            _duration_stat(t, c, "median_s"),
        )
        add(
            "H1",
            c,
            "mean GPU-job duration",
            "GPU-job mean duration is hours (heavy tail)",
            mean[c],
            "s",
            "ART",
            0.2 * mean[c],
            _duration_stat(t, c, "mean_s"),
        )
    cpu_med = dict(zip(HELIOS_CLUSTERS, (18.0, 1.0, 2.0, 32.0), strict=True))
    for c in HELIOS_CLUSTERS:
        add(
            "H2",
            c,
            "median CPU-job duration",
            "CPU jobs are even shorter",
            cpu_med[c],
            "s",
            "VEC",
            max(2.0, 0.3 * cpu_med[c]),
            _cpu_median(t, c),
        )
    p64 = dict(zip(HELIOS_CLUSTERS, (23.22, 9.09, 35.9, 22.62), strict=True))
    p1024 = dict(zip(HELIOS_CLUSTERS, (72.86, 76.52, 76.28, 72.3), strict=True))
    one_jobs = dict(zip(HELIOS_CLUSTERS, (51.84, 89.17, 68.25, 66.26), strict=True))
    one_time = dict(zip(HELIOS_CLUSTERS, (4.63, 11.49, 5.38, 3.28), strict=True))
    gt8_time = dict(zip(HELIOS_CLUSTERS, (57.9, 53.2, 59.8, 60.2), strict=True))
    for c in HELIOS_CLUSTERS:
        add(
            "H1b",
            c,
            "P(duration <= 64 s)",
            "GPU-job duration CDF (Fig. 5a)",
            p64[c],
            "%",
            "VEC",
            3.0,
            _duration_cdf_at(t, c, 64),
        )
        add(
            "H1b",
            c,
            "P(duration <= 1024 s)",
            "GPU-job duration CDF (Fig. 5a)",
            p1024[c],
            "%",
            "VEC",
            3.0,
            _duration_cdf_at(t, c, 1024),
        )
        add(
            "H3",
            c,
            "1-GPU share of GPU jobs",
            "most jobs are 1-GPU",
            one_jobs[c],
            "%",
            "VEC",
            3.0,
            _size_share(t, c, "1", "job_share"),
        )
        add(
            "H3",
            c,
            "1-GPU share of GPU time",
            "1-GPU jobs use little GPU time",
            one_time[c],
            "%",
            "VEC",
            2.0,
            _size_share(t, c, "1", "gpu_time_share"),
        )
        add(
            "H4",
            c,
            ">8-GPU share of GPU time",
            "large jobs dominate GPU time",
            gt8_time[c],
            "%",
            "VEC",
            5.0,
            _size_share(t, c, ">8", "gpu_time_share", scheme="philly"),
        )
    mg = dict(zip(HELIOS_CLUSTERS, (6.74, 2.10, 4.01, 4.04), strict=True)) | {"all": 3.72}
    cp = dict(zip(HELIOS_CLUSTERS, (1.12, 2.48, 1.88, 2.18), strict=True)) | {"all": 2.00}
    for c in (*HELIOS_CLUSTERS, "all"):
        add(
            "H5",
            c,
            "mean GPUs per GPU job",
            "mean GPUs per GPU job",
            mg[c],
            "GPUs",
            "ART",
            0.1 * mg[c],
            _gpu_stat(t, c, "mean_gpus"),
        )
        add(
            "H6",
            c,
            "E[g*d]/(E[g]E[d])",
            "big jobs run longer (size-duration coupling)",
            cp[c],
            "ratio",
            "DER",
            0.15 * cp[c],
            _coupling(t, c),
        )
    status = {
        "Venus": (52.6, 27.2, 20.2),
        "Earth": (73.5, 13.6, 12.9),
        "Saturn": (58.2, 27.2, 14.5),
        "Uranus": (60.7, 20.1, 19.2),
        "all": (62.4, 22.1, 15.5),
    }
    gtime = {
        "Venus": (51.6, 39.9, 8.5),
        "Earth": (49.9, 41.9, 8.2),
        "Saturn": (52.0, 38.8, 9.2),
        "Uranus": (50.9, 38.7, 10.4),
        "all": (51.3, 39.4, 9.3),
    }
    for c, vals in status.items():
        for s, v, g in zip(("completed", "canceled", "failed"), vals, gtime[c], strict=True):
            add(
                "H7",
                c,
                f"{s} share of GPU jobs",
                "final status of GPU jobs",
                v,
                "%",
                "ART",
                3.0,
                _status_share(t, c, s, "job_share"),
            )
            add(
                "H8",
                c,
                f"{s} share of GPU time",
                "48.7 % of GPU time in non-completed jobs",
                g,
                "%",
                "ART",
                5.0,
                _status_share(t, c, s, "gpu_time_share"),
            )
    for b, comp, canc in (("1", 66.8, 18.5), ("8", 55.1, 29.2), (">=64", 21.3, 68.5)):
        add(
            "H9",
            "all",
            f"completion rate, {b} GPU",
            "completion falls with job size",
            comp,
            "%",
            "VEC",
            5.0,
            _status_by_size(t, b, "completed"),
        )
        add(
            "H9",
            "all",
            f"cancel rate, {b} GPU",
            "cancellation rises with job size",
            canc,
            "%",
            "VEC",
            5.0,
            _status_by_size(t, b, "canceled"),
        )
    mq = dict(zip(HELIOS_CLUSTERS, (1253, 319, 612, 1949), strict=True)) | {"all": 862}
    for c in (*HELIOS_CLUSTERS, "all"):
        add(
            "H10",
            c,
            "median GPU-job queue",
            "most jobs do not wait",
            0.0,
            "s",
            "ART",
            1.0,
            _queue_stat(t, c, "median_s"),
        )
        add(
            "H10",
            c,
            "mean GPU-job queue",
            "mean queueing is driven by a tail",
            mq[c],
            "s",
            "ART",
            0.3 * mq[c],
            _queue_stat(t, c, "mean_s"),
        )
    q1 = dict(zip(HELIOS_CLUSTERS, (35.3, 40.7, 45.6, 71.3), strict=True))
    q5 = dict(zip(HELIOS_CLUSTERS, (62.3, 64.9, 72.0, 82.2), strict=True))
    g1 = dict(zip(HELIOS_CLUSTERS, (31.6, 20.1, 31.4, 20.6), strict=True))
    g5 = dict(zip(HELIOS_CLUSTERS, (59.6, 45.9, 61.3, 50.0), strict=True))
    for c in HELIOS_CLUSTERS:
        add(
            "H11",
            c,
            "top-1 % users' share of queueing",
            "queueing concentrated in few users",
            q1[c],
            "%",
            "VEC",
            5.0,
            _top_share(t, c, "queue_s", 1.0),
        )
        add(
            "H11",
            c,
            "top-5 % users' share of queueing",
            "queueing concentrated in few users",
            q5[c],
            "%",
            "VEC",
            5.0,
            _top_share(t, c, "queue_s", 5.0),
        )
        add(
            "H13",
            c,
            "top-1 % users' share of GPU time",
            "GPU time concentrated in few users",
            g1[c],
            "%",
            "VEC",
            5.0,
            _top_share(t, c, "gpu_time_s", 1.0),
        )
        add(
            "H13",
            c,
            "top-5 % users' share of GPU time",
            "GPU time concentrated in few users",
            g5[c],
            "%",
            "VEC",
            5.0,
            _top_share(t, c, "gpu_time_s", 5.0),
        )
    util = dict(zip(HELIOS_CLUSTERS, (75.9, 72.2, 84.4, 78.8), strict=True))
    minh = dict(zip(HELIOS_CLUSTERS, (8, 9, 8, 8), strict=True))
    ratio = dict(zip(HELIOS_CLUSTERS, (9.9, 1.7, 2.8, 8.3), strict=True))
    multi = dict(zip(HELIOS_CLUSTERS, (47.0, 10.0, 32.0, 33.0), strict=True))
    for c in HELIOS_CLUSTERS:
        add(
            "H15",
            c,
            "mean allocation utilization",
            "allocated GPUs / capacity is high",
            util[c],
            "%",
            "VEC",
            3.0,
            _alloc_mean(t, c),
        )
        add(
            "H16",
            c,
            "hour of minimum utilization",
            "diurnal minimum at 08-09 h",
            minh[c],
            "local hour",
            "VEC",
            1.0,
            _alloc_min_hour(t, c),
        )
        add(
            "H17",
            c,
            "peak/trough hourly GPU-job submissions",
            "strong diurnal submission pattern",
            ratio[c],
            "ratio",
            "VEC",
            0.25 * ratio[c],
            _hourly_peak_trough(t, c),
        )
        add(
            "H18",
            c,
            "multi-GPU share of GPU jobs",
            "monthly trends: multi-GPU share",
            multi[c],
            "%",
            "VEC",
            5.0,
            _multi_share(t, c),
        )
    add(
        "H21",
        "Venus",
        "10-min index of dispersion",
        "arrivals are bursty",
        15.4,
        "ratio",
        "ART",
        0.3 * 15.4,
        _dispersion(t, "Venus"),
    )
    return out


def _philly_findings() -> list[Finding]:
    out: list[Finding] = []
    t, c = "philly", "philly"

    add = _single_cluster_adder(out, t, c)

    add(
        "P1",
        "1-GPU share of jobs >= 1 h",
        "job mix dominated by 1-GPU jobs",
        76.2,
        "%",
        "3P",
        5.0,
        _philly_long_jobs_share("1", "job_share"),
    )
    add(
        "P1",
        "8-GPU share of GPU time (jobs >= 1 h)",
        "8-GPU jobs hold most GPU time",
        59.4,
        "%",
        "3P",
        5.0,
        _philly_long_jobs_share("8", "gpu_time_share"),
    )
    for b, m in (("1", 19), ("2-4", 33), ("5-8", 206), (">8", 136)):
        add(
            "P2",
            f"median run time, {b} GPU",
            "larger jobs run longer",
            float(m),
            "min",
            "NB-DIG",
            0.25 * m,
            _philly_median_by_size(b),
        )
    add(
        "P3",
        "P(duration <= 1024 s)",
        "run time is heavy-tailed",
        44.2,
        "%",
        "VEC",
        3.0,
        _duration_cdf_at(t, c, 1024),
    )
    add(
        "P3b",
        "median duration",
        "run time is heavy-tailed",
        1186.0,
        "s",
        "ART",
        0.25 * 1186,
        _duration_stat(t, c, "median_s"),
    )
    add(
        "P4",
        "median per-attempt delay, 5-8 GPU (all VCs)",
        "large jobs wait ~3 min for locality",
        3.1,
        "min",
        "NB-DIG",
        1.0,
        _philly_delay_stat(None, "5-8", 0.5),
    )
    add(
        "P4",
        "median per-attempt delay, 1 GPU, VC b436b2",
        "queueing depends on VC",
        34.5,
        "min",
        "NB-DIG",
        0.25 * 34.5,
        _philly_delay_stat("b436b2", "1", 0.5),
    )
    add(
        "P4",
        "p90 per-attempt delay, 1 GPU, VC 0e4a51",
        "one VC has a multi-day tail",
        7340.0,
        "min",
        "NB-DIG",
        0.5 * 7340,
        _philly_delay_stat("0e4a51", "1", 0.9),
    )
    shares = (("completed", 69.3, 44.53), ("canceled", 13.5, 37.69), ("failed", 17.2, 17.76))
    for s, n, g in shares:
        add(
            "P6",
            f"{s} share of jobs",
            "final status (ATC'19 Table 6)",
            n,
            "%",
            "SEC",
            3.0,
            _status_share(t, c, s, "job_share"),
        )
        add(
            "P6",
            f"{s} share of GPU time",
            "killed+failed hold 55 % of GPU time",
            g,
            "%",
            "SEC",
            5.0,
            _status_share(t, c, s, "gpu_time_share"),
        )
    add(
        "P7",
        "mean util, completed 1-GPU",
        "GPU utilization is low",
        49.0,
        "%",
        "NB-DIG",
        5.0,
        _philly_util("completed", 1, "mean_pct"),
    )
    add(
        "P7",
        "median util, canceled 1-GPU",
        "killed jobs idle most",
        9.0,
        "%",
        "NB-DIG",
        5.0,
        _philly_util("canceled", 1, "median_pct"),
    )
    add(
        "P7",
        "P(util = 0), canceled 1-GPU",
        "killed jobs idle most",
        47.0,
        "%",
        "NB-DIG",
        5.0,
        _philly_util("canceled", 1, "zero_share"),
    )
    add(
        "P7",
        "median util, failed 8-GPU",
        "failed 8-GPU jobs run hot",
        83.0,
        "%",
        "NB-DIG",
        5.0,
        _philly_util("failed", 8, "median_pct"),
    )
    add(
        "P7b",
        "mean of per-job mean GPU util",
        "average GPU utilization ~52 %",
        52.3,
        "%",
        "SEC",
        5.0,
        _philly_job_util_mean,
    )
    add(
        "P8",
        "median util, dedicated 8-GPU",
        "dedicated 8-GPU jobs use GPUs well",
        74.0,
        "%",
        "NB-DIG",
        5.0,
        _philly_dedicated(8),
    )
    add(
        "P8",
        "median util, dedicated 16-GPU",
        "16-GPU jobs use GPUs worse",
        37.0,
        "%",
        "NB-DIG",
        5.0,
        _philly_dedicated(16),
    )
    add(
        "P9",
        "median host CPU util",
        "host CPU lightly used",
        15.0,
        "%",
        "NB-DIG",
        5.0,
        _philly_host("cpu_util", "median_pct"),
    )
    add(
        "P9",
        "median host memory util",
        "host memory heavily used",
        94.5,
        "%",
        "NB-DIG",
        5.0,
        _philly_host("mem_util", "median_pct"),
    )
    add(
        "P11",
        "share of jobs retried (> 1 attempt)",
        "retries (no published number)",
        None,
        "%",
        "-",
        0.0,
        _philly_retried,
    )
    return out


def _pai_findings() -> list[Finding]:
    out: list[Finding] = []
    t, c = "pai", "pai"

    add = _single_cluster_adder(out, t, c)

    add(
        "A1",
        "median task runtime",
        "task runtimes shorter than Philly",
        510.0,
        "s",
        "NB-DIG",
        0.2 * 510,
        _pai_task_duration("median"),
    )
    add(
        "A1",
        "P(task runtime <= 600 s)",
        "task runtime CDF",
        52.5,
        "%",
        "NB-DIG",
        3.0,
        _pai_task_duration("600"),
    )
    for b, v in (
        ("<0.25", 14.3),
        ("[0.25,0.5)", 26.0),
        ("[0.5,1)", 12.8),
        ("1", 42.3),
        (">1", 2.4),
    ):
        add(
            "A3",
            f"tasks requesting {b} GPU per instance",
            "requests are mostly fractional",
            v,
            "%",
            "NB-DIG",
            3.0,
            _pai_request_share(b),
        )
    for g, v in (("MISC", 66.2), ("T4", 21.3), ("P100", 6.6), ("V100", 2.3), ("V100M32", 1.3)):
        add(
            "A4",
            f"tasks on {g}",
            "tasks by assigned GPU type",
            v,
            "%",
            "NB-DIG",
            3.0,
            _pai_type_share(g),
        )
    for g, p50, p90 in (("T4", 3.0, 8.0), ("MISC", 10.5, 103.0), ("V100", 93.0, 6565.0)):
        add(
            "A5b",
            f"median wait, {g}",
            "high-end GPUs wait longer",
            p50,
            "s",
            "NB-DIG",
            0.5 * p50,
            _pai_wait(g, "p50_s"),
        )
        add(
            "A5b",
            f"p90 wait, {g}",
            "high-end GPUs wait longer",
            p90,
            "s",
            "NB-DIG",
            0.5 * p90,
            _pai_wait(g, "p90_s"),
        )
    add(
        "A6",
        "tasks with GPU plan > usage",
        "GPUs are heavily over-requested",
        98.02,
        "%",
        "NB",
        2.0,
        _pai_usage("plan_gt_usage_share", True),
    )
    add(
        "A6",
        "median task GPU usage",
        "usage is tiny",
        3.0,
        "% of a GPU",
        "NB-DIG",
        2.0,
        _pai_usage("median_usage_pct", False),
    )
    add(
        "A11",
        "peak/trough hourly task submissions",
        "diurnal task submission",
        2.5,
        "ratio",
        "NB-DIG",
        0.25 * 2.5,
        _hourly_peak_trough(t, c, source="tasks"),
    )
    add(
        "A13",
        "median tasks per user",
        "users are skewed",
        69.0,
        "tasks",
        "NB-DIG",
        0.3 * 69,
        _pai_tasks_per_user,
    )
    for s in ("completed", "failed", "censored"):
        add(
            "A15",
            f"{s} share of jobs",
            "job status shares (no published number)",
            None,
            "%",
            "-",
            0.0,
            _pai_status(s),
        )
    return out


def catalogue() -> list[Finding]:
    """All measurable findings, Philly, Helios, PAI."""
    return [*_philly_findings(), *_helios_findings(), *_pai_findings()]


def agreement(measured: float | None, published: float | None, tolerance: float) -> str:
    """Verdict: agree (within tolerance), close (within 2x), differs, or n/a."""
    if measured is None or published is None:
        return "n/a"
    diff = abs(measured - published)
    if diff <= tolerance:
        return "agree"
    if diff <= 2 * tolerance:
        return "close"
    return "differs"


def findings_table(
    store: Store,
    traces: str | Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Published vs measured for every finding the store can measure.

    Parameters
    ----------
    store : Store
        An opened store (:func:`tracekit.open_store`).
    traces : str or sequence, optional
        Restrict to these traces (default: all traces in the store).
    ids : sequence of str, optional
        Restrict to these finding ids (e.g. ``["H7", "H8"]``).

    Returns
    -------
    polars.DataFrame
        ``finding_id, trace, cluster, metric, statement, published, unit, source, measured,
        tolerance, agreement``.
    """
    wanted = set(store.traces)
    if traces is not None:
        wanted &= {traces} if isinstance(traces, str) else set(traces)
    ctx = _Context(store)
    rows = []
    for f in catalogue():
        if f.trace not in wanted or (ids is not None and f.finding_id not in ids):
            continue
        if f.cluster != "all" and f.cluster not in store.clusters(f.trace):
            continue
        measured = f.measure(ctx)
        rows.append(
            {
                "finding_id": f.finding_id,
                "trace": f.trace,
                "cluster": f.cluster,
                "metric": f.metric,
                "statement": f.statement,
                "published": f.published,
                "unit": f.unit,
                "source": f.source,
                "measured": measured,
                "tolerance": f.tolerance,
                "agreement": agreement(measured, f.published, f.tolerance),
            }
        )
    return pl.DataFrame(rows, schema=COLUMNS)
