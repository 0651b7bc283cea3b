"""Public entry points of the replay: :func:`simulate`, :func:`replay_csv`,
:func:`replay_from_store` and :func:`compare_policies`.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tracekit.quality import QualityCounter
from tracekit.replay.cluster import POOL_VC, Cluster, VCSpec, as_cluster, cluster_from_store
from tracekit.replay.cluster import read_vcs_csv as _read_vcs
from tracekit.replay.engine import (
    BACKFILL_MODES,
    VCRun,
    overhead_function,
    run_preemptive,
    run_static,
)
from tracekit.replay.jobs import jobs_from_store, read_jobs_csv, validate_jobs
from tracekit.replay.metrics import ReplayResult, compare
from tracekit.replay.placement import PlacerFactory, make_placer
from tracekit.replay.policies import Policy, PreemptivePolicy, Tiresias, make_policy
from tracekit.replay.policies.base import JobView

COMPAT_MODES = ("helios", "lucid")


def _backfill_mode(backfill: bool | str | None, policy: Policy) -> str:
    if backfill is None:
        return policy.default_backfill
    if backfill is True:
        return "greedy" if policy.preemptive else "easy"
    if backfill is False or backfill == "hol":
        return "none"
    if backfill not in BACKFILL_MODES:
        raise ValueError(f"backfill must be one of {BACKFILL_MODES} or a bool, got {backfill!r}")
    if backfill == "easy" and policy.preemptive:
        raise ValueError("EASY backfill applies to non-preemptive policies; use 'greedy'")
    return backfill


def simulate(
    jobs: pl.DataFrame,
    cluster: Cluster | Mapping[str, VCSpec | tuple[int, int] | int],
    policy: str | Policy = "fifo",
    *,
    backfill: bool | str | None = None,
    placement: str | PlacerFactory = "consolidate",
    compat: str | None = None,
    seed: int = 0,
    ckpt_overhead: str | float | Callable[[int], float] | None = None,
    backfill_depth: int | None = 100,
    pool: bool = False,
    repair: bool = False,
    validate: bool = True,
    allow_zero_duration: bool = False,
    record_nodes: bool = False,
    policy_options: Mapping[str, Any] | None = None,
    source: str = "<jobs>",
    line_offset: int = 1,
    workers: int | None = None,
) -> ReplayResult:
    """Replay a job table on a cluster under one scheduling policy.

    Parameters
    ----------
    jobs : polars.DataFrame
        ``job_id, vc, submit_time, duration, num_gpus[, pred_duration][, user]`` (seconds from
        trace start; see :mod:`tracekit.replay.jobs`).
    cluster : Cluster or mapping
        ``{vc: (nodes, gpus_per_node)}``, ``{vc: nodes}`` or a :class:`Cluster`.
    policy : str or Policy
        ``fifo``, ``sjf`` (oracle), ``sjf-pred``, ``qssf``, ``srtf`` (oracle), ``srtf-pred``,
        ``tiresias``, or a policy instance.
    backfill : bool or {"none", "greedy", "easy"}, optional
        ``None``: the policy's published default (strict head-of-line for FIFO/SJF/QSSF, greedy
        skipping for SRTF/Tiresias). ``True`` = EASY (non-preemptive) / greedy (preemptive).
    placement : {"consolidate", "first_fit", "spread"} or factory
        Node choice (replay.md §3); a factory ``f(nodes, gpus_per_node, compat) -> Placer``
        plugs in a new placement.
    compat : {None, "helios", "lucid"}
        ``None``: clean continuous-time semantics. ``"helios"``/``"lucid"``: the artifacts'
        conventions: submit times floored and durations rounded up to whole seconds (min 1 s),
        QSSF's lazy one-tick-late priority, the artifacts' multi-node remainder rule, checkpoint
        overhead 7/30/60 s (helios) or 40/60 s (lucid), Tiresias with Lucid's parameters
        (2 queues, 18,000 GPU-s, 60-s passes). The artifacts' bugs (replay.md §8) are not copied.
    seed : int
        Seeds the generators handed to ``Policy.prepare``, one per VC (``[seed, VC index]``), so
        the result does not depend on ``workers`` (built-in policies are deterministic).
    ckpt_overhead : str, float or callable, optional
        Seconds added to a job's remaining work at each preemption (see
        :func:`~tracekit.replay.engine.overhead_function`). Default: 0, or the compat/Tiresias
        preset's convention.
    backfill_depth : int or None
        EASY: queued jobs examined per pass after the blocked head (None = all).
    pool : bool
        Ignore VCs: one shared pool of all nodes (jobs' ``vc`` become ``"pool"``).
    repair : bool
        Drop or fix invalid rows and count them instead of raising (see ``result.quality``).
    validate : bool
        Skip validation only if the table is known to be clean.
    allow_zero_duration : bool
        Accept zero-length jobs (they start and end at the same instant).
    record_nodes : bool
        Keep every run interval's node allocation in ``result.node_log`` (tests, debugging).
    policy_options : mapping, optional
        Constructor arguments of a policy given by name (e.g. Tiresias ``num_queues``).
    source, line_offset : str, int
        Used in validation error messages (CSV path and header offset).
    workers : int, optional
        Processes replaying VCs in parallel (VCs are independent, so the output is identical
        for every value). ``None``: all CPUs for replays of at least
        :data:`PARALLEL_MIN_JOBS` jobs on several VCs, run from a top-level process on Linux;
        otherwise 1. Worker processes are forked and run only the pure-Python engine.

    Returns
    -------
    ReplayResult
        ``.jobs`` (per-job table), ``.summary()``, ``.utilization()``, ``.size_split()``.
    """
    t0 = time.perf_counter()
    if compat is not None and compat not in COMPAT_MODES:
        raise ValueError(f"compat must be None or one of {COMPAT_MODES}, got {compat!r}")
    options = dict(policy_options or {})
    if compat and policy == "tiresias" and "preset" not in options:
        options["preset"] = "lucid"
    pol = make_policy(policy, **options)
    cl = as_cluster(cluster)
    frame = jobs
    if pool:
        cl = cl.pooled()
        frame = frame.with_columns(pl.lit(POOL_VC).alias("vc"))
    quality = QualityCounter()
    if validate:
        frame, quality = validate_jobs(
            frame,
            cl,
            repair=repair,
            needs_prediction=pol.needs_prediction,
            allow_zero_duration=allow_zero_duration,
            quality=quality,
            source=source,
            line_offset=line_offset,
        )
    else:
        frame = frame.with_columns(pl.col("num_gpus").cast(pl.Int64))
    if compat:
        # Whole seconds, as the artifacts' inputs are; a positive duration lasts >= 1 s.
        frame = frame.with_columns(
            pl.col("submit_time").floor(),
            pl.when(pl.col("duration") > 0)
            .then(pl.max_horizontal(pl.col("duration").ceil(), pl.lit(1.0)))
            .otherwise(pl.col("duration"))
            .alias("duration"),
        )
    mode = _backfill_mode(backfill, pol)
    if ckpt_overhead is None:
        ckpt_overhead = compat if compat else getattr(pol, "default_overhead", None)
    overhead = overhead_function(ckpt_overhead)
    interval = getattr(pol, "interval", None)
    if isinstance(pol, Tiresias):
        pol.round_up = compat is not None
    has_pred = "pred_duration" in frame.columns

    frame = frame.with_row_index("_order")
    frame = frame.sort("vc", "submit_time", "_order")
    gpu_all = frame["num_gpus"].to_numpy().astype(np.int64)
    plan = _Plan(
        policy=pol,
        cluster=cl,
        bounds=_vc_bounds(frame["vc"].to_numpy()),
        submit=frame["submit_time"].to_numpy(),
        duration=frame["duration"].to_numpy(),
        gpus=gpu_all,
        pred=frame["pred_duration"].to_numpy() if has_pred else None,
        placement=placement,
        compat=compat is not None,
        backfill=mode,
        backfill_depth=backfill_depth,
        overhead=overhead,
        interval=interval,
        record_nodes=record_nodes,
        seed=seed,
    )
    n_workers = _resolve_workers(workers, plan)
    runs = _run_vcs(plan, n_workers)
    starts = np.full(frame.height, np.nan)
    ends = np.full(frame.height, np.nan)
    npre = np.zeros(frame.height, dtype=np.int64)
    ovh = np.zeros(frame.height)
    seg_vc: list[np.ndarray] = []
    seg_s: list[np.ndarray] = []
    seg_e: list[np.ndarray] = []
    seg_g: list[np.ndarray] = []
    node_log: list[Any] | None = [] if record_nodes else None
    for (vc, lo, hi), run in zip(plan.bounds, runs, strict=True):
        starts[lo:hi] = run.start
        ends[lo:hi] = run.end
        npre[lo:hi] = run.preemptions
        ovh[lo:hi] = run.overhead
        if pol.preemptive:
            sj = (
                np.frombuffer(run.seg_job, dtype=np.int64)
                if len(run.seg_job)
                else np.zeros(0, dtype=np.int64)
            )
            seg_vc.append(np.full(len(run.seg_job), vc, dtype=object))
            seg_s.append(np.frombuffer(run.seg_start, dtype=np.float64))
            seg_e.append(np.frombuffer(run.seg_end, dtype=np.float64))
            seg_g.append(gpu_all[lo:hi][sj])
        else:
            seg_vc.append(np.full(hi - lo, vc, dtype=object))
            seg_s.append(starts[lo:hi].copy())
            seg_e.append(ends[lo:hi].copy())
            seg_g.append(gpu_all[lo:hi])
        if node_log is not None and run.nodes is not None:
            node_log += [(vc, j + lo, s, e, a) for j, s, e, a in run.nodes]
    out = frame.with_columns(
        pl.Series("start_time", starts, dtype=pl.Float64),
        pl.Series("end_time", ends, dtype=pl.Float64),
        pl.Series("preemptions", npre, dtype=pl.Int64),
        pl.Series("overhead_s", ovh, dtype=pl.Float64),
    )
    out = out.with_columns(
        (pl.col("end_time") - pl.col("submit_time")).alias("jct_s"),
    ).with_columns(
        (pl.col("jct_s") - pl.col("duration") - pl.col("overhead_s")).clip(0.0).alias("queue_s"),
    )
    cols = [
        "job_id",
        "vc",
        "submit_time",
        "start_time",
        "end_time",
        "duration",
        "num_gpus",
        "queue_s",
        "jct_s",
        "preemptions",
        "overhead_s",
    ]
    if has_pred:
        cols.append("pred_duration")
    if "user" in out.columns:
        cols.append("user")
    if node_log is not None:
        # Map sorted positions back to output rows (input order).
        order = out["_order"].to_numpy()
        node_log = [(vc, int(order[i]), s, e, a) for vc, i, s, e, a in node_log]
    out = out.sort("_order").select(cols)
    segments = pl.DataFrame(
        {
            "vc": np.concatenate(seg_vc) if seg_vc else np.zeros(0, dtype=object),
            "start": np.concatenate(seg_s) if seg_s else np.zeros(0),
            "end": np.concatenate(seg_e) if seg_e else np.zeros(0),
            "num_gpus": np.concatenate(seg_g) if seg_g else np.zeros(0, dtype=np.int64),
        },
        schema={"vc": pl.String, "start": pl.Float64, "end": pl.Float64, "num_gpus": pl.Int64},
    )
    config = {
        "policy": pol.name,
        "policy_repr": repr(pol),
        "backfill": mode,
        "backfill_depth": backfill_depth,
        "placement": placement if isinstance(placement, str) else repr(placement),
        "compat": compat,
        "ckpt_overhead": ckpt_overhead if not callable(ckpt_overhead) else repr(ckpt_overhead),
        "interval": interval,
        "seed": seed,
        "pool": pool,
        "workers": n_workers,
    }
    return ReplayResult(out, cl, config, quality, segments, time.perf_counter() - t0, node_log)


PARALLEL_MIN_JOBS = 200_000
"""Smallest replay that ``workers=None`` spreads over processes (a fork costs ~10 ms, a VC of
200 k jobs 5-30 s of engine time)."""


@dataclass
class _Plan:
    """Everything the replay of one VC needs (inherited by forked workers, never pickled)."""

    policy: Policy
    cluster: Cluster
    bounds: list[tuple[str, int, int]]
    submit: np.ndarray
    duration: np.ndarray
    gpus: np.ndarray
    pred: np.ndarray | None
    placement: str | PlacerFactory
    compat: bool
    backfill: str
    backfill_depth: int | None
    overhead: Callable[[int], float]
    interval: float | None
    record_nodes: bool
    seed: int


def _run_vc(plan: _Plan, i: int) -> VCRun:
    """Replay VC number ``i`` of the plan."""
    vc, lo, hi = plan.bounds[i]
    spec = plan.cluster[vc]
    placer = make_placer(plan.placement, spec.nodes, spec.gpus_per_node, plan.compat)
    view = JobView(
        plan.submit[lo:hi],
        plan.duration[lo:hi],
        plan.gpus[lo:hi],
        None if plan.pred is None else plan.pred[lo:hi],
    )
    pol = plan.policy
    pol.prepare(np.random.default_rng([plan.seed, i]))
    if pol.preemptive:
        assert isinstance(pol, PreemptivePolicy)
        return run_preemptive(
            view, pol, placer, plan.backfill, plan.overhead, plan.interval, plan.record_nodes
        )
    return run_static(
        view,
        pol,
        placer,
        plan.backfill,
        plan.backfill_depth,
        pol.fresh_gpu_order and plan.compat,
        plan.record_nodes,
    )


# The plan of the parallel replay in progress. Forked workers inherit it, so the policy, the
# placement factory and the overhead function (often lambdas) need not be picklable.
_FORKED_PLAN: _Plan | None = None


def _run_forked_vc(i: int) -> VCRun:
    assert _FORKED_PLAN is not None
    return _run_vc(_FORKED_PLAN, i)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _resolve_workers(workers: int | None, plan: _Plan) -> int:
    """Number of processes for ``plan`` (see ``simulate(workers=)``)."""
    if workers is not None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        return min(workers, len(plan.bounds)) if sys.platform == "linux" else 1
    if (
        sys.platform != "linux"
        or len(plan.bounds) < 2
        or len(plan.submit) < PARALLEL_MIN_JOBS
        # Not inside a worker of somebody else's pool (a sweep, dask): it owns the CPUs.
        or multiprocessing.parent_process() is not None
    ):
        return 1
    return min(_cpu_count(), len(plan.bounds))


def _cost_estimate(plan: _Plan, i: int) -> float:
    """Rough engine time of VC ``i``: jobs / (1 - offered load).

    Passes and preemptions grow steeply with the load (on the 1 M-job benchmark this orders
    the VCs by their measured replay time), and only the order of the tasks depends on it.
    """
    vc, lo, hi = plan.bounds[i]
    span = float(plan.submit[hi - 1] - plan.submit[lo]) or 1.0
    work = float(np.dot(plan.duration[lo:hi], plan.gpus[lo:hi]))
    load = min(work / (max(plan.cluster[vc].gpus, 1) * span), 0.97)
    return (hi - lo) / (1.0 - load)


def _run_vcs(plan: _Plan, workers: int) -> list[VCRun]:
    """Replay every VC of the plan, in ``workers`` forked processes when more than one."""
    if workers <= 1:
        return [_run_vc(plan, i) for i in range(len(plan.bounds))]
    global _FORKED_PLAN
    # Costliest VCs first, so the last task to finish is a cheap one (LPT scheduling).
    cost = [_cost_estimate(plan, i) for i in range(len(plan.bounds))]
    order = sorted(range(len(plan.bounds)), key=lambda i: -cost[i])
    _FORKED_PLAN = plan
    try:
        # fork, not spawn: no re-import of tracekit or of the user's __main__ per worker. The
        # children only run the engine (Python lists, numpy) and never touch polars, whose
        # thread pool does not survive a fork.
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", "This process .* is multi-threaded", DeprecationWarning
            )
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = {i: pool.submit(_run_forked_vc, i) for i in order}
                return [futures[i].result() for i in range(len(plan.bounds))]
    finally:
        _FORKED_PLAN = None


def _vc_bounds(vcs: np.ndarray) -> list[tuple[str, int, int]]:
    """(vc, lo, hi) runs of a vc-sorted array."""
    if len(vcs) == 0:
        return []
    change = np.flatnonzero(vcs[1:] != vcs[:-1]) + 1
    lows = np.concatenate([[0], change])
    highs = np.concatenate([change, [len(vcs)]])
    return [(str(vcs[lo]), int(lo), int(hi)) for lo, hi in zip(lows, highs, strict=True)]


def compare_policies(
    jobs: pl.DataFrame,
    cluster: Cluster | Mapping[str, VCSpec | tuple[int, int] | int],
    policies: Sequence[str | Policy] = ("fifo", "sjf", "qssf", "srtf", "tiresias"),
    **kwargs: Any,
) -> pl.DataFrame:
    """Run several policies on the same jobs and return one overall summary row per policy."""
    return compare([simulate(jobs, cluster, p, **kwargs) for p in policies])


def read_vcs_csv(path: str | Path) -> Cluster:
    """Read ``VCS.csv`` (``vc,nodes[,gpus_per_node]``; 8 GPUs per node by default)."""
    return _read_vcs(path)


def replay_csv(
    jobs_csv: str | Path,
    vcs_csv: str | Path,
    policy: str = "fifo",
    backfill: bool | str | None = None,
    placement: str = "consolidate",
    compat: str | None = None,
    out_csv: str | Path | None = None,
    *,
    repair: bool = False,
    seed: int = 0,
    **kwargs: Any,
) -> pl.DataFrame:
    """Replay ``JOBS.csv`` on ``VCS.csv`` and write the per-job CSV; return the summary table.

    Parameters
    ----------
    jobs_csv : path
        ``job_id,vc,submit_time,duration,num_gpus[,pred_duration][,user]``.
    vcs_csv : path
        ``vc,nodes[,gpus_per_node]``.
    policy, backfill, placement, compat, repair, seed
        As in :func:`simulate`.
    out_csv : path, optional
        Where to write ``job_id,vc,submit_time,start_time,end_time,queue_s,jct_s,preemptions``.

    Returns
    -------
    polars.DataFrame
        :meth:`ReplayResult.summary` (per VC and ``all``).
    """
    cluster = _read_vcs(vcs_csv)
    jobs = read_jobs_csv(jobs_csv)
    result = simulate(
        jobs,
        cluster,
        policy,
        backfill=backfill,
        placement=placement,
        compat=compat,
        repair=repair,
        seed=seed,
        source=str(jobs_csv),
        line_offset=2,
        **kwargs,
    )
    if out_csv is not None:
        Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
        result.output().write_csv(out_csv)
    return result.summary()


def replay_from_store(
    store: Any,
    trace: str,
    cluster: str,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    prediction_model: str | None = None,
    policy: str | Policy = "fifo",
    *,
    vcs: Cluster | Mapping[str, VCSpec | tuple[int, int] | int] | None = None,
    snapshot: date | str | None = None,
    gpus_per_node: int = 8,
    repair: bool = True,
    **kwargs: Any,
) -> ReplayResult:
    """Replay the GPU jobs of one store partition.

    Parameters
    ----------
    store : Store or path
        An opened store (or its path).
    trace, cluster : str
        Partition, e.g. ``("helios", "Venus")``.
    start, end : datetime or ISO string, optional
        Submit-time window ``[start, end)`` (UTC); times become seconds from ``start``.
    prediction_model : str, optional
        ``model`` of the ``predictions`` table to use as ``pred_duration`` (required when the
        store holds several).
    policy : str or Policy
        See :func:`simulate`.
    vcs : Cluster or mapping, optional
        Explicit cluster; default: :func:`~tracekit.replay.cluster.cluster_from_store` (capacity
        snapshot nearest the window's middle, ``nodes = GPUs // gpus_per_node``; or the machines
        table as one pool).
    snapshot : date or str, optional
        Capacity day to use.
    repair : bool
        Default True: store data is real and messy (jobs in zero-capacity VCs, oversize jobs);
        every dropped row is counted in ``result.quality``.
    **kwargs
        Passed to :func:`simulate`.
    """
    if isinstance(store, str | Path):
        from tracekit.store import open_store

        store = open_store(store)
    jobs, origin = jobs_from_store(store, trace, cluster, start, end, prediction_model)
    if vcs is None:
        window = None
        if origin is not None and jobs.height:
            first = origin.date()
            last = datetime.fromtimestamp(
                origin.timestamp() + float(jobs["submit_time"].max()), UTC
            ).date()
            window = (first, last)
        cl = cluster_from_store(store, trace, cluster, snapshot, gpus_per_node, window)
        if cl.source == "machines":
            kwargs["pool"] = True
    else:
        cl = as_cluster(vcs)
    result = simulate(jobs, cl, policy, repair=repair, **kwargs)
    result.config.update(
        {"trace": trace, "cluster": cluster, "origin": str(origin), "cluster_source": cl.source}
    )
    return result
