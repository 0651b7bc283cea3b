"""The replay study: every policy and predictor on the held-out jobs of every replayable cluster.

For each (trace, cluster) of the store the jobs submitted after the predictors' training cut-off
(``trained_until`` of the ``predictions`` table, so predictions are out of sample) are replayed
on the cluster's capacity under each entry of :data:`STUDY_RUNS`: FIFO, SJF and SRTF with the
true durations (oracle), Tiresias (needs no durations), QSSF and SJF with each trained
predictor, and the Lucid-style packing policy with LightGBM predictions. The result is one
summary row per run and a per-job table (for JCT CDFs and per-VC queueing).

Cluster model: Helios clusters are replayed as one pool of their nodes (the synthetic sample's
VCs share their cluster's nodes when it is scheduled, see docs/sample.md); Philly and PAI as
their machine lists pooled (PAI requests of a fraction of a GPU take one whole GPU in the
whole-GPU engine; the Lucid-style run packs them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from tracekit.replay.cluster import Cluster, cluster_from_store
from tracekit.replay.jobs import jobs_from_store
from tracekit.replay.policies.lucid import simulate_lucid
from tracekit.replay.sharing import GPUPool
from tracekit.replay.simulator import simulate
from tracekit.replay.studies.comparison import held_out_start

# (policy, predictor): "oracle" = true durations, "none" = the policy needs no durations,
# otherwise the ``model`` of the store's predictions table.
STUDY_RUNS: tuple[tuple[str, str], ...] = (
    ("fifo", "none"),
    ("sjf", "oracle"),
    ("srtf", "oracle"),
    ("tiresias", "none"),
    ("qssf", "lgbm"),
    ("qssf", "user-median"),
    ("sjf", "lgbm"),
    ("sjf", "user-median"),
    ("lucid", "lgbm"),
)
PREDICTORS: tuple[str, ...] = ("lgbm", "user-median")
SUMMARY_COLUMNS: dict[str, Any] = {
    "trace": pl.String,
    "cluster": pl.String,
    "policy": pl.String,
    "predictor": pl.String,
    "jobs": pl.Int64,
    "jct_mean_s": pl.Float64,
    "queue_mean_s": pl.Float64,
    "jct_p99_s": pl.Float64,
    "utilization": pl.Float64,
}
JOB_COLUMNS: dict[str, Any] = {
    "trace": pl.String,
    "cluster": pl.String,
    "policy": pl.String,
    "predictor": pl.String,
    "vc": pl.String,
    "job_id": pl.String,
    "jct_s": pl.Float64,
    "queue_s": pl.Float64,
}


@dataclass
class StudyResult:
    """Outcome of :func:`replay_study_runs`.

    Attributes
    ----------
    summary : polars.DataFrame
        One row per (trace, cluster, policy, predictor): :data:`SUMMARY_COLUMNS`.
    jobs : polars.DataFrame
        One row per replayed job and run: :data:`JOB_COLUMNS` (``vc`` is the job's own VC, even
        when the cluster was replayed as one pool).
    inputs : polars.DataFrame
        Per (trace, cluster): ``window_start`` (UTC), ``jobs``, ``gpus`` of the replay.
    """

    summary: pl.DataFrame
    jobs: pl.DataFrame
    inputs: pl.DataFrame = field(default_factory=pl.DataFrame)


def study_inputs(
    store: Any, trace: str, cluster: str, predictors: Sequence[str] = PREDICTORS
) -> tuple[pl.DataFrame, Cluster, datetime | None]:
    """Held-out GPU jobs of one partition with a ``pred_<model>`` column per predictor, and the
    pooled cluster they are replayed on.

    Returns
    -------
    (jobs, cluster, window_start)
        ``jobs``: ``job_id, vc, submit_time, duration, num_gpus, user, pred_<model>...``
        (seconds from ``window_start``; whole GPUs, fractional requests rounded up).
    """
    present = (
        store.scan("predictions", trace=trace, cluster=cluster)
        .select(pl.col("model").unique())
        .collect()["model"]
        .to_list()
    )
    models = [m for m in predictors if m in present]
    start = held_out_start(store, trace, cluster, models) if models else None
    jobs, origin = jobs_from_store(
        store, trace, cluster, start=start, prediction_model=models[0] if models else None
    )
    if "pred_duration" in jobs.columns:
        jobs = jobs.drop("pred_duration")
    jobs = jobs.filter(pl.col("duration") > 0).with_columns(
        pl.col("num_gpus").ceil().cast(pl.Int64), pl.col("job_id").cast(pl.String)
    )
    for m in models:
        pred = (
            store.scan("predictions", trace=trace, cluster=cluster)
            .filter(pl.col("model") == m)
            .select(pl.col("job_id").cast(pl.String), pl.col("pred_duration_s").alias(f"pred_{m}"))
            .collect()
            .unique("job_id", keep="first")
        )
        jobs = jobs.join(pred, on="job_id", how="left", maintain_order="left")
    window = None
    if origin is not None and jobs.height:
        last = datetime.fromtimestamp(origin.timestamp() + float(jobs["submit_time"].max()))
        window = (origin.date(), last.date())
    cl = cluster_from_store(store, trace, cluster, window=window).pooled()
    return jobs, cl, origin


def _window_utilization(
    starts: np.ndarray, ends: np.ndarray, gpus: np.ndarray, horizon: float, capacity: int
) -> float:
    """GPU-seconds allocated inside ``[0, horizon]`` / (capacity x horizon)."""
    if horizon <= 0 or capacity <= 0:
        return float("nan")
    busy = (np.clip(ends, 0, horizon) - np.clip(starts, 0, horizon)) * gpus
    return float(busy.sum() / (capacity * horizon))


def _run(
    jobs: pl.DataFrame, cl: Cluster, policy: str, predictor: str, seed: int
) -> tuple[pl.DataFrame, float]:
    """Replay one (policy, predictor); returns the per-job table and the window utilization."""
    df = jobs.with_columns(pl.lit("pool").alias("vc"))
    pred = None if predictor in ("none", "oracle") else f"pred_{predictor}"
    if pred is not None:
        # A missing or non-positive prediction falls back to the median prediction.
        med = df[pred].filter(df[pred] > 0).median() or 1.0
        df = df.with_columns(
            pl.when(pl.col(pred) > 0).then(pl.col(pred)).otherwise(med).alias("pred_duration")
        )
    keep = ["job_id", "vc", "submit_time", "duration", "num_gpus", "user"]
    keep += ["pred_duration"] if pred is not None else []
    df = df.select(keep)
    horizon = float(jobs["submit_time"].max()) if jobs.height else 0.0
    if policy == "lucid":
        spec = next(iter(cl.values()))
        pool = GPUPool.from_dict({"pool": (spec.nodes, spec.gpus_per_node)})
        res = simulate_lucid(df.rename({"vc": "group"}), pool, seed=seed, repair=True)
        out = res.jobs.select("job_id", "jct_s", "queue_s")
        j = res.jobs
        # Work done inside the window: the run's overlap with it, at the job's mean rate.
        frac = (
            (j["end_time"].clip(0, horizon) - j["start_time"].clip(0, horizon))
            / (j["end_time"] - j["start_time"]).clip(1e-9)
        ).to_numpy()
        work = frac * (j["duration"] * j["num_gpus"]).to_numpy()
        util = float(work.sum() / (pool.gpus() * horizon)) if horizon > 0 else float("nan")
        return out, util
    name = {"sjf": "sjf", "srtf": "srtf", "qssf": "qssf", "fifo": "fifo", "tiresias": "tiresias"}
    engine_policy = name[policy]
    if policy in ("sjf", "srtf") and pred is not None:
        engine_policy = f"{policy}-pred"
    res = simulate(df, cl, engine_policy, seed=seed, repair=True)
    seg = res.segments
    util = _window_utilization(
        seg["start"].to_numpy(),
        seg["end"].to_numpy(),
        seg["num_gpus"].to_numpy(),
        horizon,
        cl.total_gpus,
    )
    return res.jobs.select("job_id", "jct_s", "queue_s"), util


def replay_study_runs(
    store: Any,
    traces: str | Sequence[str] | None = None,
    seed: int = 7,
    runs: Sequence[tuple[str, str]] = STUDY_RUNS,
) -> StudyResult:
    """Run the replay study on every (trace, cluster) of ``traces`` in the store.

    Parameters
    ----------
    store : Store or path
        A store with ``jobs``, capacity (``capacity`` or ``machines``) and ``predictions``
        (runs whose predictor is missing from the store are skipped).
    traces : str or sequence, optional
        Default: every trace of the store.
    seed : int
        Seeds the replays (the policies are deterministic; Lucid's utilisation prior is seeded).
    runs : sequence of (policy, predictor)
        Default :data:`STUDY_RUNS`.

    Returns
    -------
    StudyResult
        ``summary`` (the ``reports/replay_study.csv`` table), ``jobs`` (per job and run),
        ``inputs`` (window and size of each replay).
    """
    if isinstance(store, str) or hasattr(store, "__fspath__"):
        from tracekit.store import open_store

        store = open_store(store)
    wanted = (
        list(store.traces)
        if traces is None
        else ([traces] if isinstance(traces, str) else list(traces))
    )
    rows: list[dict[str, Any]] = []
    per_job: list[pl.DataFrame] = []
    inputs: list[dict[str, Any]] = []
    for trace in wanted:
        for cluster in store.clusters(trace):
            jobs, cl, origin = study_inputs(store, trace, cluster)
            if jobs.height == 0:
                continue
            inputs.append(
                {"trace": trace, "cluster": cluster, "window_start": origin,
                 "jobs": jobs.height, "gpus": cl.total_gpus}
            )  # fmt: skip
            vc_of = jobs.select("job_id", "vc")
            for policy, predictor in runs:
                if predictor not in ("none", "oracle") and f"pred_{predictor}" not in jobs.columns:
                    continue
                out, util = _run(jobs, cl, policy, predictor, seed)
                rows.append(
                    {
                        "trace": trace,
                        "cluster": cluster,
                        "policy": policy,
                        "predictor": predictor,
                        "jobs": out.height,
                        "jct_mean_s": float(out["jct_s"].mean()),
                        "queue_mean_s": float(out["queue_s"].mean()),
                        "jct_p99_s": float(out["jct_s"].quantile(0.99, "linear")),
                        "utilization": util if not math.isnan(util) else None,
                    }
                )
                per_job.append(
                    out.join(vc_of, on="job_id", how="left").select(
                        pl.lit(trace).alias("trace"),
                        pl.lit(cluster).alias("cluster"),
                        pl.lit(policy).alias("policy"),
                        pl.lit(predictor).alias("predictor"),
                        "vc",
                        "job_id",
                        "jct_s",
                        "queue_s",
                    )
                )
    summary = pl.DataFrame(rows, schema=SUMMARY_COLUMNS)
    jobs_frame = (
        pl.concat(per_job).cast(JOB_COLUMNS) if per_job else pl.DataFrame(schema=JOB_COLUMNS)
    )
    return StudyResult(summary, jobs_frame, pl.DataFrame(inputs))


def replay_study(
    store: Any, traces: str | Sequence[str] | None = None, seed: int = 7
) -> pl.DataFrame:
    """The study's summary table: one row per (trace, cluster, policy, predictor) with ``jobs,
    jct_mean_s, queue_mean_s, jct_p99_s, utilization`` (see :func:`replay_study_runs`).

    ``utilization`` is the GPU-seconds allocated between the first and the last submission of
    the replayed window over the cluster's GPU-seconds in that time (the drain after the last
    arrival is left out, so an idle tail does not dilute it).
    """
    return replay_study_runs(store, traces, seed).summary
