"""Cross-trace overview (in the spirit of Helios' Table 2) and data provenance."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tracekit.analysis._common import GROUP, Frame, group_cols, lazy
from tracekit.analysis._common import gpu_time as gpu_time_expr
from tracekit.store import Store


def overview(jobs: Frame, by: str | Sequence[str] | None = GROUP) -> pl.DataFrame:
    """One row per group: volume, window, users, sizes, durations, queueing, status (GPU jobs).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``n_jobs``, ``n_gpu_jobs``, ``gpu_job_share``, ``n_users``, ``n_vcs``,
        ``first_submit``, ``last_submit``, ``days``, ``gpu_jobs_per_day``, ``mean_gpus``,
        ``gpu_hours``, ``median_duration_s``, ``mean_duration_s``, ``median_queue_s``,
        ``mean_queue_s``, ``completed_share``, ``canceled_share``, ``failed_share``,
        ``censored_share`` (duration, queue and status over GPU jobs).
    """
    keys = group_cols(by)
    st = pl.col("status")
    lf = lazy(jobs)
    # Two grouped passes (all jobs; GPU jobs) instead of one pass with many filtered aggregates.
    all_aggs = [
        pl.len().cast(pl.Int64).alias("n_jobs"),
        pl.col("user").n_unique().cast(pl.Int64).alias("n_users"),
        pl.col("vc").drop_nulls().n_unique().cast(pl.Int64).alias("n_vcs"),
        pl.col("submit_time").min().alias("first_submit"),
        pl.col("submit_time").max().alias("last_submit"),
    ]
    gpu_time = gpu_time_expr()
    gpu_aggs = [
        pl.len().cast(pl.Int64).alias("n_gpu_jobs"),
        pl.col("num_gpus").mean().alias("mean_gpus"),
        (gpu_time.sum() / 3600.0).alias("gpu_hours"),
        pl.col("duration_s").median().alias("median_duration_s"),
        pl.col("duration_s").mean().alias("mean_duration_s"),
        pl.col("queue_s").median().alias("median_queue_s"),
        pl.col("queue_s").mean().alias("mean_queue_s"),
        *[
            (st == s).mean().alias(f"{s}_share")
            for s in ("completed", "canceled", "failed", "censored")
        ],
    ]
    gl = lf.filter(pl.col("num_gpus") > 0)
    if keys:
        a_df, g_df = pl.collect_all(
            [lf.group_by(keys).agg(all_aggs), gl.group_by(keys).agg(gpu_aggs)]
        )
        out = a_df.join(g_df, on=keys, how="left").with_columns(pl.col("n_gpu_jobs").fill_null(0))
    else:
        a_df, g_df = pl.collect_all([lf.select(all_aggs), gl.select(gpu_aggs)])
        out = pl.concat([a_df, g_df], how="horizontal")
    days = (pl.col("last_submit") - pl.col("first_submit")).dt.total_seconds() / 86400.0
    out = out.with_columns(
        (pl.col("n_gpu_jobs") / pl.col("n_jobs")).alias("gpu_job_share"),
        days.alias("days"),
    ).with_columns((pl.col("n_gpu_jobs") / pl.col("days")).alias("gpu_jobs_per_day"))
    cols = [
        *keys,
        "n_jobs",
        "n_gpu_jobs",
        "gpu_job_share",
        "n_users",
        "n_vcs",
        "first_submit",
        "last_submit",
        "days",
        "gpu_jobs_per_day",
        "mean_gpus",
        "gpu_hours",
        "median_duration_s",
        "mean_duration_s",
        "median_queue_s",
        "mean_queue_s",
        "completed_share",
        "canceled_share",
        "failed_share",
        "censored_share",
    ]
    return out.select(cols).sort(keys) if keys else out.select(cols)


def pai_volume(jobs: Frame, tasks: Frame) -> pl.DataFrame:
    """The size of a PAI workload (the official analysis' overview): jobs, users, tasks and
    instances per cluster.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, jobs, users, tasks, instances``.
    """
    j = lazy(jobs).group_by(GROUP).agg(
        pl.len().cast(pl.Int64).alias("jobs"),
        pl.col("user").n_unique().cast(pl.Int64).alias("users"),
    )
    t = lazy(tasks).group_by(GROUP).agg(
        pl.len().cast(pl.Int64).alias("tasks"),
        pl.col("inst_num").sum().cast(pl.Int64).alias("instances"),
    )
    return j.join(t, on=list(GROUP), how="full", coalesce=True).collect().sort(GROUP)


def select_traces(
    store: Store, traces: str | Sequence[str] | None = None
) -> tuple[list[str], list[str]]:
    """Split requested traces into (present in the store, missing from it).

    ``traces`` may be None (every trace in the store), a list, or a comma-separated string
    (as papermill passes parameters).
    """
    if traces is None:
        return list(store.traces), []
    wanted = [t for t in traces.split(",") if t] if isinstance(traces, str) else list(traces)
    present = [t for t in wanted if t in store.traces]
    return present, [t for t in wanted if t not in store.traces]


def data_kinds(store: Store, traces: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Which of ``traces`` (default: every trace in the store) come from the synthetic sample and
    which from real trace files.

    Returns
    -------
    dict
        ``{"synthetic": [...], "real": [...]}`` in the store's trace order; pass it to
        ``tracekit.plots.mark_data(**...)`` so every figure says what it shows.
    """
    wanted = list(store.traces) if traces is None else [t for t in store.traces if t in traces]
    synthetic = [t for t in wanted if store.is_synthetic(t)]
    return {"synthetic": synthetic, "real": [t for t in wanted if t not in synthetic]}


def data_banner(
    store: Store, missing: Sequence[str] = (), traces: Sequence[str] | None = None
) -> str:
    """Markdown that every notebook shows first: what the data is and which traces are skipped.

    Parameters
    ----------
    traces : sequence of str, optional
        The traces the notebook shows (default: every trace in the store).
    """
    kinds = data_kinds(store, traces)
    lines = []
    if kinds["synthetic"]:
        lines.append(
            "**⚠️ SYNTHETIC DATA** — the calibrated synthetic sample"
            + (f" ({', '.join(kinds['synthetic'])})" if kinds["real"] else "")
            + ", not the real traces."
        )
    if kinds["real"]:
        lines.append(f"**REAL DATA**: {', '.join(kinds['real'])}, read from the published files.")
    if missing:
        lines.append(f"Not in this store (skipped): {', '.join(missing)}")
    return "\n\n".join(lines)


def main_cluster(store: Store, trace: str, clusters: Sequence[str] | None = None) -> str:
    """The cluster of ``trace`` a single-cluster study uses.

    The first of ``clusters`` that the trace has, else the cluster with the most jobs.
    """
    have = store.clusters(trace)
    for cluster in clusters or ():
        if cluster in have:
            return cluster
    rows = store.rows().filter((pl.col("trace") == trace) & (pl.col("table") == "jobs"))
    if rows.is_empty():
        raise ValueError(f"trace {trace!r} has no jobs in this store")
    return rows.sort(["rows", "cluster"], descending=[True, False])["cluster"][0]


def provenance(store: Store) -> pl.DataFrame:
    """Where each (trace, cluster) came from: synthetic flag, source files, rows, quality repairs.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, synthetic, sources`` (comma-separated file names), ``n_sources``,
        ``jobs_rows``, ``tables``, ``quality_repairs`` (sum of counted repairs/drops),
        ``ingested_at``.
    """
    records = []
    for p in store.partitions:
        srcs = p.get("sources") or []
        records.append(
            {
                "trace": p["trace"],
                "cluster": p["cluster"],
                "synthetic": bool(p.get("synthetic")),
                "sources": ", ".join(str(s.get("path")) for s in srcs),
                "n_sources": len(srcs),
                "jobs_rows": int(p.get("rows", {}).get("jobs", 0)),
                "tables": ", ".join(sorted(p.get("files", {}))),
                "quality_repairs": int(sum((p.get("quality") or {}).values())),
                "ingested_at": str(p.get("ingested_at", "")),
            }
        )
    schema = {
        "trace": pl.String,
        "cluster": pl.String,
        "synthetic": pl.Boolean,
        "sources": pl.String,
        "n_sources": pl.Int64,
        "jobs_rows": pl.Int64,
        "tables": pl.String,
        "quality_repairs": pl.Int64,
        "ingested_at": pl.String,
    }
    return pl.DataFrame(records, schema=schema)
