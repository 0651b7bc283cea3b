"""The replay study: every policy and predictor on the held-out jobs of every replayable cluster.

For each (trace, cluster) of the store the jobs submitted in the trace's study window
(:data:`STUDY_WINDOWS`; the predictors are trained up to its start, :func:`study_train_until`,
so predictions are out of sample) are replayed on the cluster's capacity under each entry of
:data:`STUDY_RUNS`: FIFO, SJF and SRTF with the true durations (oracle), Tiresias (needs no
durations), QSSF and SJF with each trained predictor, and the Lucid-style packing policy with
LightGBM predictions. The result is one summary row per run and a per-job table (for JCT CDFs and
per-VC queueing).

Mode (:data:`STUDY_MODE`, stated in every row's ``mode``): the published simulators' — the
Helios artifact's QSSF service, which produced SC'21 Table 3 and its Philly replay — FIFO, SJF
and QSSF block at the head of the queue (no backfill), SRTF and Tiresias preempt and skip jobs
that do not fit, placement consolidates (best fit on one node, whole idle nodes for multi-node
jobs); times stay continuous (the artifact-compatible rounding is not used). A synthetic sample,
which is scaled, replays FIFO, SJF and QSSF with EASY backfill and first-fit placement instead
(:data:`SAMPLE_MODE`; :func:`study_mode` picks; SRTF and Tiresias place first fit too), because
strict head-of-line blocking on a tenth of the GPUs idles behind jobs sized for the full cluster,
and EASY's GPU-count reservations hold only when a job may take any free GPUs;
``mode=STUDY_MODE`` replays a sample as published.
Windows: Helios 2020-09-01 .. 09-26 (SC'21 Table 3), Philly 2017-10-01 .. 11-30 (the
artifact's Philly replay), PAI its last two weeks; the cluster starts empty, as in those
experiments. Clusters: Helios per
VC on real data (as Table 3); every synthetic sample's cluster as one pool of its nodes (a scaled
sample's VCs are a node or a few, whose load a handful of long jobs decide); Philly on its
machine list pooled; PAI on its machine list pooled (a request of a fraction of a GPU takes one
whole GPU; the Lucid-style run packs them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from tracekit.replay.inputs import cluster_from_store, jobs_from_store, prediction_models
from tracekit.replay.resources import Cluster
from tracekit.replay.run import replay
from tracekit.timeutil import as_utc

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
# The traces the study replays (each has a published scheduling result to set beside it).
STUDY_TRACES: tuple[str, ...] = ("helios", "philly", "pai")
# Replay windows [start, end) per trace (UTC dates): the published experiments' windows where
# they are known (Helios: SC'21 Table 3; Philly: the Helios artifact's replay); PAI: the last
# two weeks of the trace (the PAI simulator's window is not published).
STUDY_WINDOWS: dict[str, tuple[str | None, str | None]] = {
    "helios": ("2020-09-01", "2020-09-26"),
    "philly": ("2017-10-01", "2017-11-30"),
    "pai": ("2020-08-17", None),
}
# How the whole-GPU policies are replayed (options of tracekit.replay.replay): as the published
# simulators do (SC'21 Table 3 and the Helios artifact's Philly replay). ``backfill=None`` is
# each policy's published default: FIFO, SJF and QSSF block at the head of the queue, SRTF and
# Tiresias skip jobs that do not fit their GPU quota; placement consolidates.
STUDY_MODE: dict[str, Any] = {"backfill": None, "placement": "consolidate"}
# How they are replayed on a synthetic sample, which is scaled (a tenth of the GPUs, the published
# job sizes): EASY backfill with first-fit placement. Under strict head-of-line blocking a scaled
# pool idles behind jobs sized for the full cluster (a 40-GPU head job on an 88-GPU pool waits
# for five whole nodes to drain) far more than the full-size VCs the published experiments
# replayed; EASY removes that idling and keeps the queue order. EASY's reservation counts GPUs,
# so it holds only where a job may take any free GPUs (first fit): with consolidation a wide head
# job can miss its reservation again and again on a pool of a dozen nodes, which hits SJF (short
# wide jobs first) far harder than QSSF. docs/sample.md gives the figures.
SAMPLE_MODE: dict[str, Any] = {"backfill": "easy", "placement": "first_fit"}
NONPREEMPTIVE: tuple[str, ...] = ("fifo", "sjf", "qssf")
# Default warm-up: jobs submitted this many days before the window can be replayed too (and
# left out of the results) so the window does not start on an empty cluster. 0: the published
# experiments replay their window alone.
WARMUP_DAYS = 0


def study_train_until(trace: str) -> str | None:
    """The cut-off at which the study's predictors must be trained (``run_predict(...,
    train_until=...)``): the start of the trace's study window, so every replayed job is held
    out (None for a trace without a window: the predictor's default split)."""
    return STUDY_WINDOWS.get(trace, (None, None))[0]


def study_mode(store: Any, trace: str, mode: dict[str, Any] | None = None) -> dict[str, Any]:
    """The replay options of ``trace``'s study: ``mode`` when given, else :data:`SAMPLE_MODE`
    for a synthetic sample and :data:`STUDY_MODE` (the published simulators') for real data."""
    if mode is not None:
        return dict(mode)
    return dict(SAMPLE_MODE if store.is_synthetic(trace) else STUDY_MODE)


def study_mode_label(mode: dict[str, Any] | None = None, policy: str = "fifo", vcs: int = 1) -> str:
    """How one policy was replayed, in words (the ``mode`` column of the study's tables).

    Parameters
    ----------
    mode : dict, optional
        The study's replay options (default :data:`STUDY_MODE`).
    policy : str
        The study policy (``fifo``, ``sjf``, ``qssf``, ``srtf``, ``tiresias``, ``lucid``).
    vcs : int
        VCs of the replayed cluster (1: one pool of its nodes).
    """
    mode = STUDY_MODE if mode is None else mode
    layout = "one pool" if vcs == 1 else f"{vcs} VCs"
    if policy == "lucid":
        return f"shared GPUs, packing; {layout}"
    placement = mode.get("placement", "consolidate")
    if policy in NONPREEMPTIVE:
        backfill = mode.get("backfill")
        hol = backfill in (None, False, "none", "hol")
        name = "EASY" if backfill == "easy" else backfill
        order = "head-of-line, no backfill" if hol else f"{name} backfill"
        return f"{order}; {placement}; {layout}"
    return f"preemptive, skips what does not fit; {placement}; {layout}"


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
    "mode": pl.String,
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
        Per (trace, cluster): ``window_start`` (UTC), ``jobs``, ``warmup_jobs``, ``gpus`` and
        ``mode`` (how it was replayed: pooled or per VC, and :func:`study_mode_label`).
    """

    summary: pl.DataFrame
    jobs: pl.DataFrame
    inputs: pl.DataFrame = field(default_factory=pl.DataFrame)


def study_inputs(
    store: Any,
    trace: str,
    cluster: str,
    predictors: Sequence[str] = PREDICTORS,
    warmup_days: float = WARMUP_DAYS,
) -> tuple[pl.DataFrame, Cluster, datetime | None]:
    """GPU jobs of one partition in the trace's study window, with a ``pred_<model>`` column per
    predictor present in the store, and the cluster they are replayed on.

    The predictions must be out of sample: trained with ``train_until=study_train_until(trace)``
    (``tracekit reports`` and :func:`tracekit.sample.check` do).

    Returns
    -------
    (jobs, cluster, window_start)
        ``jobs``: ``job_id, vc, replay_vc, submit_time, duration_s, num_gpus, user,
        pred_<model>...`` (seconds from ``window_start``; whole GPUs, fractional requests rounded
        up; ``replay_vc`` is the cluster VC the job runs on).
    """
    present = prediction_models(store, trace, cluster)
    models = [m for m in predictors if m in present]
    w0, w1 = STUDY_WINDOWS.get(trace, (None, None))
    start = as_utc(w0) if w0 is not None else None
    first = None if start is None else start - timedelta(days=warmup_days)
    jobs, origin = jobs_from_store(store, trace, cluster, start=first, end=w1)
    if origin is not None and start is not None and origin != start:
        # Times count from the window's start; warm-up jobs have negative submit times.
        jobs = jobs.with_columns(pl.col("submit_time") - (start - origin).total_seconds())
        origin = start
    jobs = jobs.filter(pl.col("duration_s") > 0).with_columns(
        pl.col("num_gpus").ceil().cast(pl.Int64), pl.col("job_id").cast(pl.String)
    )
    for m in models:
        pred, _ = jobs_from_store(store, trace, cluster, start=first, end=w1, prediction_model=m)
        pred = pred.select(
            pl.col("job_id").cast(pl.String), pl.col("pred_duration_s").alias(f"pred_{m}")
        ).unique("job_id", keep="first", maintain_order=True)
        jobs = jobs.join(pred, on="job_id", how="left", maintain_order="left")
    jobs = jobs.sort("submit_time", maintain_order=True)
    window = None
    if origin is not None and jobs.height:
        last = origin + timedelta(seconds=float(jobs["submit_time"].max()))
        window = (origin.date(), last.date())
    cl = cluster_from_store(store, trace, cluster, window=window)
    per_vc = len(cl) > 1 and not store.is_synthetic(trace) and set(cl) & set(jobs["vc"])
    if per_vc:
        # Real VC quotas are partitions, as in SC'21 Table 3 (jobs of VCs without capacity on
        # the snapshot day are dropped by the replay's repair, and counted).
        return jobs.with_columns(pl.col("vc").alias("replay_vc")), cl, origin
    # One pool of the cluster's nodes: Philly's machine list and PAI's GPU types do not split
    # the capacity by the jobs' VCs, and a scaled sample's VCs are a node or a few (at scale
    # 0.1), where a handful of long multi-GPU jobs decide a VC's load: in the Philly sample's
    # study window the demand on its VCs ranged from almost nothing to 1.82 times their GPUs
    # (docs/sample.md, "Clusters").
    cl = cl.pooled()
    return jobs.with_columns(pl.lit(next(iter(cl))).alias("replay_vc")), cl, origin


def _window_utilization(
    starts: np.ndarray, ends: np.ndarray, gpus: np.ndarray, lo: float, hi: float, capacity: int
) -> float:
    """GPU-seconds allocated inside ``[lo, hi]`` / (capacity x (hi - lo))."""
    if hi <= lo or capacity <= 0:
        return float("nan")
    busy = (np.clip(ends, lo, hi) - np.clip(starts, lo, hi)) * gpus
    return float(busy.sum() / (capacity * (hi - lo)))


def _run(
    jobs: pl.DataFrame,
    cl: Cluster,
    policy: str,
    predictor: str,
    seed: int,
    mode: dict[str, Any],
) -> tuple[pl.DataFrame, float]:
    """Replay one (policy, predictor); returns the per-job table and the window utilization."""
    # The engine's clock starts at the first (warm-up) submission; the window starts at shift.
    shift = max(0.0, -float(jobs["submit_time"].min())) if jobs.height else 0.0
    df = jobs.with_columns(
        pl.col("replay_vc").alias("vc"), (pl.col("submit_time") + shift).alias("submit_time")
    )
    pred = None if predictor in ("none", "oracle") else f"pred_{predictor}"
    if pred is not None:
        # A missing or non-positive prediction falls back to the median prediction.
        med = df[pred].filter(df[pred] > 0).median() or 1.0
        df = df.with_columns(
            pl.when(pl.col(pred) > 0).then(pl.col(pred)).otherwise(med).alias("pred_duration_s")
        )
    keep = ["job_id", "vc", "submit_time", "duration_s", "num_gpus", "user"]
    keep += ["pred_duration_s"] if pred is not None else []
    df = df.select(keep)
    horizon = float(jobs["submit_time"].max()) if jobs.height else 0.0
    lo, hi = shift, shift + horizon
    if policy == "lucid":
        pool = cl.to_pool()
        res = replay(df, pool, "lucid", seed=seed, repair=True)
        j = res.jobs
        # Work done inside the window: the run's overlap with it, at the job's mean rate.
        frac = (
            (j["end_time"].clip(lo, hi) - j["start_time"].clip(lo, hi))
            / (j["end_time"] - j["start_time"]).clip(1e-9)
        ).to_numpy()
        work = frac * (j["duration_s"] * j["num_gpus"]).to_numpy()
        util = float(work.sum() / (pool.gpus() * horizon)) if horizon > 0 else float("nan")
        return j.select("job_id", "jct_s", "queue_s"), util
    engine_policy = policy
    if policy in ("sjf", "srtf") and pred is not None:
        engine_policy = f"{policy}-pred"
    options = dict(mode)
    if policy not in NONPREEMPTIVE:
        options.pop("backfill", None)  # SRTF and Tiresias keep their quota walk
    res = replay(df, cl, engine_policy, seed=seed, repair=True, **options)
    seg = res.segments
    util = _window_utilization(
        seg["start"].to_numpy(),
        seg["end"].to_numpy(),
        seg["num_gpus"].to_numpy(),
        lo,
        hi,
        cl.total_gpus,
    )
    return res.jobs.select("job_id", "jct_s", "queue_s"), util


def replay_study_runs(
    store: Any,
    traces: str | Sequence[str] | None = None,
    seed: int = 7,
    runs: Sequence[tuple[str, str]] = STUDY_RUNS,
    warmup_days: float = WARMUP_DAYS,
    mode: dict[str, Any] | None = None,
) -> StudyResult:
    """Run the replay study on every (trace, cluster) of ``traces`` in the store.

    Parameters
    ----------
    store : Store or path
        A store with ``jobs``, capacity (``capacity`` or ``machines``) and ``predictions``
        (runs whose predictor is missing from the store are skipped).
    traces : str or sequence, optional
        Default: every trace of :data:`STUDY_TRACES` in the store.
    seed : int
        Seeds the replays (the policies are deterministic; Lucid's utilisation prior is seeded).
    runs : sequence of (policy, predictor)
        Default :data:`STUDY_RUNS`.
    warmup_days : float
        Also replay the jobs submitted this many days before each window (not reported).
    mode : dict, optional
        Options of :func:`tracekit.replay.replay` for the whole-GPU policies (default
        :data:`STUDY_MODE`: the published simulators' head-of-line blocking and consolidated
        placement; ``{"backfill": "easy"}`` replays FIFO/SJF/QSSF with EASY backfill).

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
        [t for t in store.traces if t in STUDY_TRACES]
        if traces is None
        else ([traces] if isinstance(traces, str) else list(traces))
    )
    rows: list[dict[str, Any]] = []
    per_job: list[pl.DataFrame] = []
    inputs: list[dict[str, Any]] = []
    for trace in wanted:
        trace_mode = study_mode(store, trace, mode)
        for cluster in store.clusters(trace):
            jobs, cl, origin = study_inputs(store, trace, cluster, warmup_days=warmup_days)
            if jobs.height == 0:
                continue
            inputs.append(
                {"trace": trace, "cluster": cluster, "window_start": origin,
                 "jobs": int((jobs["submit_time"] >= 0).sum()),
                 "warmup_jobs": int((jobs["submit_time"] < 0).sum()), "gpus": cl.total_gpus,
                 "vcs": len(cl), "mode": study_mode_label(trace_mode, "fifo", len(cl))}
            )  # fmt: skip
            vc_of = jobs.select("job_id", "vc")
            measured = jobs.filter(pl.col("submit_time") >= 0)["job_id"]
            for policy, predictor in runs:
                if predictor not in ("none", "oracle") and f"pred_{predictor}" not in jobs.columns:
                    continue
                out, util = _run(jobs, cl, policy, predictor, seed, trace_mode)
                out = out.filter(pl.col("job_id").is_in(measured.implode()))
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
                        "mode": study_mode_label(trace_mode, policy, len(cl)),
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
    jct_mean_s, queue_mean_s, jct_p99_s, utilization, mode`` (see :func:`replay_study_runs`).

    ``utilization`` is the GPU-seconds allocated between the first and the last submission of
    the replayed window over the cluster's GPU-seconds in that time (the drain after the last
    arrival is left out, so an idle tail does not dilute it).
    """
    return replay_study_runs(store, traces, seed).summary
