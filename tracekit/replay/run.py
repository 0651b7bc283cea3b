"""The front door of the replay: :func:`replay` (alias :func:`simulate`), :func:`replay_csv`,
:func:`replay_from_store` and :func:`compare_policies`.

:func:`replay` picks the resource model (whole GPUs on nodes, or shared GPUs) from the
resources, the policy and the options, validates the job table (:mod:`~tracekit.replay.inputs`),
runs the engine of that model (:mod:`~tracekit.replay.engines`) and returns one
:class:`~tracekit.replay.results.ReplayResult`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tracekit.quality import QualityCounter
from tracekit.replay.engines.compiled import CORES
from tracekit.replay.engines.placement import PLACERS, PlacerFactory
from tracekit.replay.engines.shared_compiled import run_shared
from tracekit.replay.engines.shared_gpu import (
    AFFINITIES,
    PLACEMENTS,
    SHARE_MODES,
    UNITS,
    SharedOptions,
    SlowdownModel,
)
from tracekit.replay.engines.whole_gpu import (
    BACKFILL_MODES,
    VCPlan,
    core_of,
    is_sorted,
    overhead_function,
    replay_vcs,
    resolve_workers,
    vc_bounds,
)
from tracekit.replay.inputs import (
    canonical,
    fill_utilization,
    load_store,
    read_jobs_csv,
    read_vcs_csv,
    validate_jobs,
    vc_index,
)
from tracekit.replay.placements import (
    NODE_PLACEMENTS,
    NodePlacement,
    Placement,
    make_placement,
)
from tracekit.replay.policies import COMPAT_MODES, Policy, make_policy
from tracekit.replay.policies.base import JobView, PackingPolicy
from tracekit.replay.resources import POOL_VC, Cluster, GPUPool, as_cluster, as_pool
from tracekit.replay.results import ReplayResult, compare, write_csv_atomic

RESOURCE_MODELS = ("auto", "whole", "shared")
#: Shared GPUs: most jobs on one GPU unless the caller or a packing policy says otherwise.
DEFAULT_MAX_JOBS_PER_GPU = 4
ClusterLike = Cluster | GPUPool | Mapping[str, Any]
_SHARED_OPTIONS = ("type_affinity", "max_jobs_per_gpu", "share_by", "slowdown")


def choose_resource_model(
    policy: Policy, resources: ClusterLike, requested: str = "auto", **options: Any
) -> str:
    """``"whole"`` or ``"shared"``: the model a replay of ``policy`` on ``resources`` uses.

    ``auto``: shared GPUs for a :class:`~tracekit.replay.resources.GPUPool`, for a policy that
    runs only there (Lucid), or when a shared-GPU option (``type_affinity``,
    ``max_jobs_per_gpu``, ``share_by``, ``slowdown``, a shared-GPU placement such as ``pack``
    or ``fgd``) is given; whole GPUs otherwise.
    """
    if requested not in RESOURCE_MODELS:
        raise ValueError(f"resource_model must be one of {RESOURCE_MODELS}, got {requested!r}")
    model = requested
    if model == "auto":
        shared = (
            isinstance(resources, GPUPool)
            or "whole" not in policy.resources
            or any(options.get(k) is not None for k in _SHARED_OPTIONS)
            or _shared_placement(options.get("placement"))
        )
        model = "shared" if shared else "whole"
    if model not in policy.resources:
        raise ValueError(
            f"policy {policy.name!r} runs on {'/'.join(policy.resources)} GPUs only, not "
            f"{model} GPUs"
        )
    if model == "whole" and isinstance(resources, GPUPool):
        raise ValueError("whole GPUs need a Cluster of VCs (nodes x GPUs), not a GPUPool")
    return model


def check_shared_options(
    policy: Policy,
    type_affinity: str | None = None,
    max_jobs_per_gpu: int | None = None,
    share_by: str | None = None,
) -> None:
    """Refuse a shared-GPU option that is invalid, or that ``policy`` fixes to another value.

    A packing policy (Lucid) pairs jobs by its own rule: it sets ``max_jobs_per_gpu`` and
    ``share_by`` itself, so a different value given by the user is an error, not silently
    replaced. ``None`` means "not given".

    Raises
    ------
    ValueError
        Names the parameter, the value given and what is accepted.
    """
    if type_affinity is not None and type_affinity not in AFFINITIES:
        raise ValueError(f"type_affinity must be one of {AFFINITIES}, got {type_affinity!r}")
    if share_by is not None and share_by not in SHARE_MODES:
        raise ValueError(f"share_by must be one of {SHARE_MODES}, got {share_by!r}")
    if max_jobs_per_gpu is not None and (
        isinstance(max_jobs_per_gpu, bool) or int(max_jobs_per_gpu) != max_jobs_per_gpu
        or max_jobs_per_gpu < 1
    ):  # fmt: skip
        raise ValueError(f"max_jobs_per_gpu must be an integer >= 1, got {max_jobs_per_gpu!r}")
    if isinstance(policy, PackingPolicy):
        for name, given in (("max_jobs_per_gpu", max_jobs_per_gpu), ("share_by", share_by)):
            own = getattr(policy, name)
            if given is not None and given != own:
                raise ValueError(f"{policy.name} sets {name}={own!r} itself; drop {name}")


def replay(
    jobs: pl.DataFrame,
    cluster: ClusterLike,
    policy: str | Policy = "fifo",
    *,
    resource_model: str = "auto",
    backfill: bool | str | None = None,
    placement: str | PlacerFactory | None = None,
    compat: str | None = None,
    seed: int = 7,
    ckpt_overhead: str | float | Callable[[int], float] | None = None,
    backfill_depth: int | None = 100,
    pool: bool = False,
    type_affinity: str | None = None,
    max_jobs_per_gpu: int | None = None,
    share_by: str | None = None,
    slowdown: SlowdownModel | float | None = None,
    repair: bool = False,
    validate: bool = True,
    allow_zero_duration: bool = False,
    record: bool = False,
    record_nodes: bool = False,
    policy_options: Mapping[str, Any] | None = None,
    source: str = "<jobs>",
    line_offset: int = 1,
    workers: int | None = None,
    core: str = "auto",
    until: float | None = None,
) -> ReplayResult:
    """Replay a job table on a cluster (whole GPUs) or a GPU pool (shared GPUs) under a policy.

    Parameters
    ----------
    jobs : polars.DataFrame
        ``job_id, vc, submit_time, duration_s, num_gpus[, pred_duration_s][, user]`` (seconds
        from the window start; see :mod:`tracekit.replay.inputs`, which also lists the
        shared-GPU columns ``group, util, gpu_util_mean``).
    cluster : Cluster, GPUPool or mapping
        ``{vc: (nodes, gpus_per_node)}``, ``{vc: nodes}``, a :class:`Cluster`, or a
        :class:`GPUPool` (shared GPUs).
    policy : str or Policy
        A registry name (``tracekit.replay.policies.describe()`` lists them: ``fifo``, ``sjf``,
        ``sjf-pred``, ``qssf``, ``srtf``, ``srtf-pred``, ``tiresias``, ``lucid``) or an instance.
    resource_model : {"auto", "whole", "shared"}
        See :func:`choose_resource_model` (for shared GPUs a cluster becomes one group per VC).
    backfill : bool or {"none", "greedy", "easy"}, optional
        Whole GPUs: ``None`` = the policy's published default (strict head-of-line for
        FIFO/SJF/QSSF, greedy skipping for SRTF/Tiresias); ``True`` = EASY (non-preemptive) or
        greedy (preemptive). Shared GPUs: ``None``/``True`` try every pending job (PAI's greedy
        skipping, Lucid), ``False`` stops at the first that does not fit.
    placement : str, factory or Placement, optional
        Whole GPUs: ``consolidate`` (default), ``first_fit``, ``spread``, or a factory
        ``f(nodes, gpus_per_node, compat) -> Placer``. Shared GPUs: a name of
        :data:`tracekit.replay.placements.PLACEMENTS` or an instance: ``pack`` (default) or
        ``balance`` (a gang within one group), or a node placement, ``best-fit`` (the default
        on a pool that knows its nodes), ``packing``, ``load-balancing`` or ``fgd`` (every job
        on one node, within its CPU and memory; output columns ``node``, ``node_gpus``
        and ``nodes``, the CSV's ``machine:GPUs``).
    compat : {None, "lucid", "helios"}
        Whole GPUs. ``None``: clean continuous-time semantics. ``"lucid"``: the Lucid
        simulator's rules (whole seconds on one clock from the first submit, completions then
        arrivals then scheduling every second, head-of-line FIFO/SJF/QSSF with the simulator's
        tie order, SRTF and Tiresias re-ranking pending and running jobs with their list tie
        order, Tiresias deciding every 60 s with 2 queues at 18,000 GPU-s, the "+1 s end" of
        preemptive jobs, checkpoint overhead 40 s / 60 s). ``"helios"``: the same rules with
        the Helios simulator's overheads (7 s / 30 s / 60 s). Inputs are floored (submit) and
        rounded up (duration) to whole seconds. The simulators' bugs (hangs, crashes, jobs
        finishing faster than alone) are not copied; docs/replay.md lists every rule.
    seed : int
        Seeds the generators handed to ``Policy.prepare``, one per VC (``[seed, VC index]``),
        and the shared-GPU utilisation prior.
    ckpt_overhead : str, float or callable, optional
        Whole GPUs: seconds added to a job's remaining work at each preemption (see
        :func:`~tracekit.replay.engines.whole_gpu.overhead_function`). Default: 0, or the
        compat mode's / Tiresias preset's convention.
    backfill_depth : int or None
        EASY: queued jobs examined per pass after the blocked head (None = all).
    pool : bool
        Whole GPUs: ignore VCs, one shared pool of all nodes (jobs' ``vc`` become ``"pool"``).
    type_affinity : {"strict", "any"}, optional
        Shared GPUs: jobs run on their own group only (default), or on any group.
    max_jobs_per_gpu : int, optional
        Shared GPUs: most jobs on one GPU, at least 1 (default 4; a packing policy such as
        Lucid sets its own, and refuses another value).
    share_by : {"request", "usage"}, optional
        Shared GPUs: what a slot counts against its GPU (default ``request``; a packing
        policy sets its own, and refuses another value).
    slowdown : SlowdownModel or float, optional
        Shared GPUs: colocation slowdown (a float is ``kappa``; default ``SlowdownModel()``).
    repair : bool
        Drop or fix invalid rows and count them instead of raising (see ``result.quality``).
    validate : bool
        Skip validation only if the table is known to be clean.
    allow_zero_duration : bool
        Whole GPUs: accept zero-length jobs (they start and end at the same instant).
    record : bool
        Keep every run's node allocation (whole GPUs: ``result.node_log``) or every GPU's
        occupancy after each change (shared GPUs: ``result.gpu_events``).
    record_nodes : bool
        The earlier name of ``record`` for whole GPUs.
    policy_options : mapping, optional
        Constructor arguments of a policy given by name (e.g. Tiresias ``num_queues``).
    source, line_offset : str, int
        Used in validation error messages (CSV path and header offset).
    workers : int, optional
        Whole GPUs: processes replaying VCs in parallel (the output is identical for every
        value). ``None``: all CPUs for replays of at least
        :data:`~tracekit.replay.engines.whole_gpu.PARALLEL_MIN_JOBS` jobs on several VCs, run
        from a top-level process on Linux, when the Python loops replay them; otherwise 1.
    core : {"auto", "compiled", "python"}
        ``auto`` replays on the compiled core (numba) whenever it can: whole GPUs when the
        policy declares a kernel (every built-in whole-GPU policy; not with ``record`` or a
        placement factory); shared GPUs with a placement that declares one (every built-in
        placement but ``fgd``) under a static-key policy or Lucid (not with ``record``, a
        custom slowdown model, or jobs without GPUs under a group placement). ``compiled``
        insists on it (an error naming
        why otherwise), ``python`` runs the reference Python engines. All give identical
        results; ``result.config["core"]`` says which ran.
    until : float, optional
        Shared GPUs: stop the replay at this time (seconds); jobs still running then have no
        end time, jobs still pending no start time.

    Returns
    -------
    ReplayResult
        ``.jobs`` (per-job table), ``.summary()``, ``.utilization()``, ``.size_split()``,
        ``.feasibility()``, ``.digest()``.
    """
    t0 = time.perf_counter()
    if core not in CORES:
        raise ValueError(f"core must be one of {CORES}, got {core!r}")
    if compat is not None and compat not in COMPAT_MODES:
        raise ValueError(f"compat must be None or one of {COMPAT_MODES}, got {compat!r}")
    options = dict(policy_options or {})
    if compat and policy == "tiresias" and "preset" not in options:
        options["preset"] = "lucid"
    pol = make_policy(policy, **options)
    check_shared_options(pol, type_affinity, max_jobs_per_gpu, share_by)
    model = choose_resource_model(
        pol, cluster, resource_model, type_affinity=type_affinity,
        max_jobs_per_gpu=max_jobs_per_gpu, share_by=share_by, slowdown=slowdown,
        placement=placement,
    )  # fmt: skip
    common = {"repair": repair, "validate": validate, "seed": seed, "source": source,
              "line_offset": line_offset}  # fmt: skip
    if model == "shared":
        if compat is not None:
            raise ValueError("compat applies to whole GPUs (the published simulators' model)")
        if pool or workers not in (None, 1) or ckpt_overhead is not None:
            raise ValueError("pool, workers and ckpt_overhead apply to whole GPUs only")
        result = _replay_shared(
            jobs, as_pool(cluster), pol, backfill=backfill, placement=placement,
            type_affinity=type_affinity or "strict",
            max_jobs_per_gpu=DEFAULT_MAX_JOBS_PER_GPU if max_jobs_per_gpu is None
            else max_jobs_per_gpu, share_by=share_by or "request", slowdown=slowdown,
            record=record, until=until, core=core, **common,
        )  # fmt: skip
    else:
        if until is not None:
            raise ValueError("until applies to shared GPUs only")
        result = _replay_whole(
            jobs, as_cluster(cluster), pol, backfill=backfill, placement=placement or
            "consolidate", compat=compat, ckpt_overhead=ckpt_overhead,
            backfill_depth=backfill_depth, pool=pool, allow_zero_duration=allow_zero_duration,
            record=record or record_nodes, workers=workers, core=core, **common,
        )  # fmt: skip
    result.wall_s = time.perf_counter() - t0
    return result


simulate = replay
"""The earlier name of :func:`replay`."""


def _shared_placement(placement: Any) -> bool:
    """``placement`` is one of the shared-GPU engine's (a registry name or an instance)."""
    return isinstance(placement, Placement) or (
        isinstance(placement, str) and placement in PLACEMENTS
    )


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


def _validated(
    jobs: pl.DataFrame,
    resources: Cluster | GPUPool,
    pol: Policy,
    *,
    repair: bool,
    validate: bool,
    source: str,
    line_offset: int,
    allow_zero_duration: bool = False,
    type_affinity: str = "strict",
    on_nodes: bool = False,
    vc_codes: np.ndarray | None = None,
) -> tuple[pl.DataFrame, QualityCounter]:
    quality = QualityCounter()
    frame = canonical(jobs)
    if not validate:
        return frame, quality
    return validate_jobs(
        frame,
        resources,
        repair=repair,
        needs_prediction=pol.needs_prediction and not pol.missing_prediction_ok,
        allow_zero_duration=allow_zero_duration,
        type_affinity=type_affinity,
        on_nodes=on_nodes,
        quality=quality,
        source=source,
        line_offset=line_offset,
        vc_index=vc_codes,
    )


def _replay_whole(
    jobs: pl.DataFrame,
    cl: Cluster,
    pol: Policy,
    *,
    backfill: bool | str | None,
    placement: str | PlacerFactory,
    compat: str | None,
    ckpt_overhead: str | float | Callable[[int], float] | None,
    backfill_depth: int | None,
    pool: bool,
    allow_zero_duration: bool,
    record: bool,
    workers: int | None,
    core: str,
    repair: bool,
    validate: bool,
    seed: int,
    source: str,
    line_offset: int,
) -> ReplayResult:
    if isinstance(placement, str) and placement not in PLACERS:
        raise ValueError(f"unknown placement {placement!r}; known: {', '.join(PLACERS)}")
    frame = canonical(jobs)
    if pool:
        cl = cl.pooled()
        frame = frame.with_columns(pl.lit(POOL_VC).alias("vc"))
    # Each row's VC as an index into the sorted VC names, looked up once for validation and
    # for the engines' order (again only if validation dropped rows).
    names = sorted(cl)
    known = "vc" in frame.columns and frame.schema["vc"] == pl.String
    code = vc_index(frame["vc"], names) if known else None
    frame, quality = _validated(
        frame, cl, pol, repair=repair, validate=validate, source=source,
        line_offset=line_offset, allow_zero_duration=allow_zero_duration, vc_codes=code,
    )  # fmt: skip
    if code is None or len(code) != frame.height:
        code = vc_index(frame["vc"], names)
    if code is None:  # not validated: VCs outside the cluster fail in the engines, as before
        names = frame["vc"].unique().sort().to_list()
        code = frame["vc"].cast(pl.Enum(names)).to_physical().to_numpy()
    if not validate:
        frame = frame.with_columns(pl.col("num_gpus").cast(pl.Int64))
    mode = _backfill_mode(backfill, pol)
    origin = 0.0
    # Seconds a preemptive job holds its GPUs beyond its work: the simulators' "+1 s end".
    tail_s = 0.0
    if compat:
        pol = pol.compat_variant(compat)
        # Whole seconds, as the simulators' inputs are; a positive duration lasts >= 1 s.
        frame = frame.with_columns(
            pl.col("submit_time").floor(),
            pl.when(pl.col("duration_s") > 0)
            .then(pl.max_horizontal(pl.col("duration_s").ceil(), pl.lit(1.0)))
            .otherwise(pl.col("duration_s"))
            .alias("duration_s"),
        )
        if frame.height:
            origin = float(frame["submit_time"].min())
        tail_s = 1.0 if pol.preemptive else 0.0
    if ckpt_overhead is None:
        ckpt_overhead = compat if compat else getattr(pol, "default_overhead", None)
    overhead = overhead_function(ckpt_overhead)
    interval = getattr(pol, "interval", None)
    has_pred = "pred_duration_s" in frame.columns

    # VCs in name order, jobs by submit time, ties in row order (a stable sort): the engines'
    # order. Only the numeric columns are reordered; results are scattered back to row order.
    n = frame.height
    submit_in = frame["submit_time"].to_numpy()
    order = submit_vc_order(submit_in, code)
    gpu_all = frame["num_gpus"].to_numpy().astype(np.int64, copy=False)[order]
    work = frame["duration_s"].to_numpy()[order]
    plan = VCPlan(
        policy=pol,
        cluster=cl,
        bounds=vc_bounds(code, names),
        submit=submit_in[order],
        duration=work + tail_s if tail_s else work,
        gpus=gpu_all,
        pred=frame["pred_duration_s"].to_numpy()[order] if has_pred else None,
        placement=placement,
        compat=compat is not None,
        backfill=mode,
        backfill_depth=backfill_depth,
        overhead=overhead,
        interval=interval,
        record_nodes=record,
        seed=seed,
        origin=origin,
        core=core,
    )
    used_core = core_of(plan)
    n_workers = resolve_workers(workers, plan)
    runs = replay_vcs(plan, n_workers)
    # Every row is in one VC's slice, so every start (and end) is written below. The loops of
    # a static policy end a job at start + duration, one addition done here as there.
    own_ends = pol.preemptive or used_core == "kernel"
    starts = np.empty(n)
    ends = np.empty(n) if own_ends else None
    npre = np.zeros(n, dtype=np.int64) if pol.preemptive else None
    ovh = np.zeros(n) if pol.preemptive else None
    final: list[Any] | None = [None] * n if compat else None
    seg_parts: list[tuple[int, np.ndarray, np.ndarray, bool, np.ndarray]] = []
    node_log: list[Any] | None = [] if record else None
    for (vc, lo, hi), run in zip(plan.bounds, runs, strict=True):
        rows = order[lo:hi]
        starts[rows] = run.start
        if ends is not None:
            ends[rows] = run.end
        vc_code = names.index(vc)
        if npre is not None and ovh is not None:  # (a static policy never preempts)
            npre[rows] = run.preemptions
            ovh[rows] = run.overhead
        if final is not None:
            for r, a in zip(rows.tolist(), run.alloc, strict=True):  # type: ignore[arg-type]
                final[r] = a
        if pol.preemptive:
            sj = np.asarray(run.seg_job, dtype=np.int64)
            seg_s, seg_e, seg_g = run.seg_start, run.seg_end, gpu_all[lo:hi][sj]
        else:
            # The loops of a static policy end each job at start + duration: the durations
            # stand in for the ends, added when the segments are first read.
            seg_s, seg_e, seg_g = run.start, run.end if own_ends else None, gpu_all[lo:hi]
        seg_parts.append((vc_code, np.asarray(seg_s, np.float64),
                          plan.duration[lo:hi] if seg_e is None else np.asarray(seg_e, np.float64),
                          seg_e is None, seg_g))  # fmt: skip
        if node_log is not None and run.nodes is not None:
            node_log += [(vc, int(rows[j]), s, e, a) for j, s, e, a in run.nodes]
    # The derived columns in numpy, the operations of the polars expressions they replace in
    # the same order: jct_s = end - submit; queue_s = jct - duration - overhead - tail,
    # clipped at 0 as polars' clip does (a value below 0 becomes 0; NaN and -0.0 stay).
    # Subtracting a zero overhead or tail changes no float, so it is skipped.
    duration_in = frame["duration_s"].to_numpy()
    if ends is None:
        ends = starts + duration_in
    jct = ends - submit_in
    queue = jct - duration_in
    if ovh is not None:
        queue -= ovh
    if tail_s:
        queue -= tail_s
    queue[queue < 0.0] = 0.0
    zero = pl.lit(0, dtype=pl.Int64) if npre is None else pl.Series(npre, dtype=pl.Int64)
    extra = [c for c in ("pred_duration_s", "user") if c in frame.columns]
    out = frame.select(
        "job_id", "vc", "submit_time",
        pl.Series("start_time", starts, dtype=pl.Float64),
        pl.Series("end_time", ends, dtype=pl.Float64),
        "duration_s", "num_gpus",
        pl.Series("queue_s", queue, dtype=pl.Float64),
        pl.Series("jct_s", jct, dtype=pl.Float64),
        zero.alias("preemptions"),
        (pl.lit(0.0) if ovh is None else pl.Series(ovh, dtype=pl.Float64)).alias("overhead_s"),
        *extra,
    )  # fmt: skip
    if final is not None:
        out = out.with_columns(pl.Series("nodes", [_node_text(a) for a in final], pl.String))

    def segments() -> pl.DataFrame:  # built when first read (summaries do not need it)
        codes, seg_s, seg_e, plus, seg_g = zip(*seg_parts, strict=True) if seg_parts else ((),) * 5
        seg_e = [s + e if add else e for s, e, add in zip(seg_s, seg_e, plus, strict=True)]
        return pl.DataFrame(
            {
                "vc": pl.Series(names, dtype=pl.String).gather(
                    np.repeat(np.asarray(codes, np.int64), [len(x) for x in seg_s])
                ),
                "start": np.concatenate([*seg_s, np.zeros(0)]),
                "end": np.concatenate([*seg_e, np.zeros(0)]),
                "num_gpus": np.concatenate([*seg_g, np.zeros(0, np.int64)]),
            },
            schema={"vc": pl.String, "start": pl.Float64, "end": pl.Float64, "num_gpus": pl.Int64},
        )

    config = {
        "policy": pol.name,
        "policy_repr": repr(pol),
        "resource_model": "whole",
        "backfill": mode,
        "backfill_depth": backfill_depth,
        "placement": placement if isinstance(placement, str) else repr(placement),
        "compat": compat,
        "ckpt_overhead": ckpt_overhead if not callable(ckpt_overhead) else repr(ckpt_overhead),
        "interval": interval,
        "seed": seed,
        "pool": pool,
        "workers": n_workers,
        "core": used_core,
    }
    return ReplayResult(out, cl, config, quality, segments, 0.0, node_log)


def submit_vc_order(submit: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Row order by VC code, then submit time, ties in row order (``np.lexsort((submit,
    code))``), as two stable sorts: the first is skipped on a submit-sorted table (the usual
    trace), the second sorts small unsigned codes, which numpy does by radix sort."""
    n = len(submit)
    top = int(code.max()) if n else 0
    small = code.astype(np.uint8 if top < 2**8 else np.uint16 if top < 2**16 else np.int64)
    if n < 2 or is_sorted(submit):
        return np.argsort(small, kind="stable")
    order = np.argsort(submit, kind="stable")
    return order[np.argsort(small[order], kind="stable")]


def _node_text(alloc: Any) -> str | None:
    """``node:gpus|node:gpus`` (the simulators' ``nodes`` field) of an allocation."""
    return None if alloc is None else "|".join(f"{node}:{g}" for node, g in alloc)


def _replay_shared(
    jobs: pl.DataFrame,
    gpool: GPUPool,
    pol: Policy,
    *,
    backfill: bool | str | None,
    placement: str | PlacerFactory | None,
    type_affinity: str,
    max_jobs_per_gpu: int,
    share_by: str,
    slowdown: SlowdownModel | float | None,
    record: bool,
    until: float | None,
    core: str,
    repair: bool,
    validate: bool,
    seed: int,
    source: str,
    line_offset: int,
) -> ReplayResult:
    placer = _shared_placer(placement, gpool, pol)
    on_nodes = isinstance(placer, NodePlacement)
    if isinstance(pol, PackingPolicy):
        max_jobs_per_gpu, share_by = pol.max_jobs_per_gpu, pol.share_by
    if backfill not in (None, True, False):
        raise ValueError(f"shared GPUs take backfill=True/False, got {backfill!r}")
    model = slowdown if isinstance(slowdown, SlowdownModel) else SlowdownModel(
        0.05 if slowdown is None else float(slowdown)
    )  # fmt: skip
    df, quality = _validated(
        jobs, gpool, pol, repair=repair, validate=validate, source=source,
        line_offset=line_offset, type_affinity=type_affinity, on_nodes=on_nodes,
    )  # fmt: skip
    if validate and pol.needs_prediction and "pred_duration_s" not in df.columns:
        raise ValueError(f"policy {pol.name!r} needs a pred_duration_s column")
    if "group" not in df.columns:
        df = df.with_columns(pl.col("vc").cast(pl.String).alias("group"))
    if "util" not in df.columns or df["util"].null_count():
        df, _ = fill_utilization(df, seed)
    has_pred = "pred_duration_s" in df.columns
    view = JobView(
        df["submit_time"].to_numpy().astype(np.float64),
        df["duration_s"].to_numpy().astype(np.float64),
        df["num_gpus"].to_numpy().astype(np.float64),
        df["pred_duration_s"].to_numpy().astype(np.float64) if has_pred else None,
        df["util"].to_numpy().astype(np.float64),
    )
    pol.prepare(np.random.default_rng([seed, 0]))
    node_requests = {}
    if on_nodes:
        # Integers of the ledger's units: thousandths of a core, MiB.
        for col, unit, name in (("num_cpus", 1000, "cpu_milli"), ("mem_gb", 1024, "memory_mib")):
            have = col in df.columns
            values = (df[col].fill_null(0.0) * unit).round(0) if have else None
            node_requests[name] = None if values is None else values.to_numpy().astype(np.int64)
    options = SharedOptions(type_affinity, max_jobs_per_gpu, share_by, model,
                            backfill is not False, until, **node_requests)  # fmt: skip
    engine, used_core = run_shared(view, df["group"], gpool, pol, placer, options, record,
                                   core=core)  # fmt: skip
    placed = engine.placed_groups()
    out = (
        df.select(
            "job_id",
            pl.Series("vc", placed, dtype=pl.String),
            pl.col("group").cast(pl.String),
            "submit_time",
            pl.Series("start_time", engine.start, dtype=pl.Float64),
            pl.Series("end_time", engine.end, dtype=pl.Float64),
            "duration_s",
            "num_gpus",
        )
        .with_columns(
            (pl.col("start_time") - pl.col("submit_time")).alias("queue_s"),
            (pl.col("end_time") - pl.col("submit_time")).alias("jct_s"),
            pl.lit(0, dtype=pl.Int64).alias("preemptions"),
            pl.lit(0.0).alias("overhead_s"),
            pl.Series("slots", engine.k, dtype=pl.Int64),
            pl.Series("share", engine.units / UNITS, dtype=pl.Float64),
            pl.Series("util", engine.util, dtype=pl.Float64),
            (pl.col("end_time") - pl.col("start_time")).alias("run_s"),
            pl.Series("served_s", engine.served, dtype=pl.Float64),
            pl.Series("min_rate", engine.min_rate, dtype=pl.Float64),
            pl.Series("max_jobs_on_gpu", engine.max_co, dtype=pl.Int64),
        )
        .with_columns((pl.col("max_jobs_on_gpu") > 1).alias("colocated"))
    )
    if on_nodes:
        out = out.with_columns(
            pl.Series("node", engine.placed_nodes(), dtype=pl.String),
            pl.Series("node_gpus", engine.placed_columns(), dtype=pl.List(pl.Int64)),
        ).with_columns(
            # The per-job CSV's "node:gpus" allocation text, as in the compat mode.
            (pl.col("node") + ":" + pl.col("node_gpus").list.len().cast(pl.String)).alias("nodes")
        )
    for extra in ("pred_duration_s", "user"):
        if extra in df.columns:
            out = out.with_columns(df[extra])
    segments = out.select(
        "vc", pl.col("start_time").alias("start"), pl.col("end_time").alias("end"), "num_gpus"
    )
    events = None
    if record:
        log = engine.gpu_log
        events = pl.DataFrame(
            {
                "time": [e[0] for e in log],
                "gpu": [e[1] for e in log],
                "group": [gpool.groups[int(engine.group_of[e[1]])] for e in log],
                "jobs": [e[2] for e in log],
                "alloc_units": [e[3] for e in log],
            },
            schema={
                "time": pl.Float64,
                "gpu": pl.Int64,
                "group": pl.String,
                "jobs": pl.Int64,
                "alloc_units": pl.Int64,
            },  # fmt: skip
        )
    config = {
        "policy": pol.name,
        "policy_repr": repr(pol),
        "resource_model": "shared",
        "placement": placer.name if isinstance(placement, str | None) else repr(placer),
        "type_affinity": type_affinity,
        "max_jobs_per_gpu": max_jobs_per_gpu,
        "share_by": share_by,
        "slowdown": repr(model),
        "backfill": backfill is not False,
        "compat": None,
        "seed": seed,
        "pool": gpool.source,
        "until": until,
        "core": used_core,
    }
    return ReplayResult(out, gpool, config, quality, segments, 0.0, None, events)


def _node_placement(placement: Any) -> bool:
    """``placement`` puts every job on one node (a node placement's name or instance)."""
    if isinstance(placement, str):
        return placement in NODE_PLACEMENTS
    return isinstance(placement, NodePlacement)


def _shared_placer(placement: Any, gpool: GPUPool, pol: Policy) -> Placement:
    """The shared-GPU placement of a replay: the one given, or the default of the pool (``pack``,
    or ``best-fit`` on a pool that knows its nodes). Group placements do not model nodes, and a
    packing policy (Lucid) pairs jobs with group placements only."""
    if placement is None:
        placement = "best-fit" if gpool.has_nodes else "pack"
    if not _shared_placement(placement):
        raise ValueError(
            f"shared-GPU placement must be one of {', '.join(PLACEMENTS)} (or a Placement), got "
            f"{placement!r}"
        )
    placer = make_placement(placement)
    if not isinstance(placer, NodePlacement):
        if gpool.has_nodes:
            raise ValueError(
                f"placement {placer.name!r} spreads jobs over a group's GPUs without CPU or "
                "memory; this pool knows its nodes: use "
                f"{', '.join(NODE_PLACEMENTS)}"
            )
    elif isinstance(pol, PackingPolicy):
        raise ValueError(
            f"policy {pol.name!r} pairs jobs on a partner's GPUs with the group placements "
            f"(pack, balance), not with {placer.name!r}"
        )
    return placer


def compare_policies(
    jobs: pl.DataFrame,
    cluster: ClusterLike,
    policies: Sequence[str | Policy] = ("fifo", "sjf", "qssf", "srtf", "tiresias"),
    **kwargs: Any,
) -> pl.DataFrame:
    """Run several policies on the same jobs and return one overall summary row per policy."""
    return compare([replay(jobs, cluster, p, **kwargs) for p in policies])


def replay_csv(
    jobs_csv: str | Path,
    vcs_csv: str | Path,
    policy: str | Policy = "fifo",
    backfill: bool | str | None = None,
    placement: str | None = None,
    compat: str | None = None,
    out_csv: str | Path | None = None,
    *,
    repair: bool = False,
    seed: int = 7,
    **kwargs: Any,
) -> pl.DataFrame:
    """Replay ``JOBS.csv`` on ``VCS.csv``, write the per-job CSV and return the summary table.

    Parameters
    ----------
    jobs_csv : path
        ``job_id,vc,submit_time,duration_s,num_gpus`` plus optional columns (see
        :func:`~tracekit.replay.inputs.read_jobs_csv`).
    vcs_csv : path
        ``vc,nodes[,gpus_per_node]`` (for shared GPUs, one group per VC).
    policy, backfill, placement, compat, repair, seed, **kwargs
        As in :func:`replay`.
    out_csv : path, optional
        Where to write ``job_id,vc,submit_time,start_time,end_time,queue_s,jct_s,preemptions``.

    Returns
    -------
    polars.DataFrame
        :meth:`ReplayResult.summary`.
    """
    result = replay(
        read_jobs_csv(jobs_csv), read_vcs_csv(vcs_csv), policy, backfill=backfill,
        placement=placement, compat=compat, repair=repair, seed=seed, source=str(jobs_csv),
        line_offset=2, **kwargs,
    )  # fmt: skip
    if out_csv is not None:
        write_output(result, out_csv)
    return result.summary()


def write_output(result: ReplayResult, path: str | Path) -> Path:
    """Write the per-job output CSV (see :func:`~tracekit.replay.results.write_csv_atomic`)."""
    return write_csv_atomic(result.output(), path)


def replay_from_store(
    store: Any,
    trace: str,
    cluster: str,
    start: Any = None,
    end: Any = None,
    prediction_model: str | None = None,
    policy: str | Policy = "fifo",
    *,
    vcs: ClusterLike | None = None,
    snapshot: date | str | None = None,
    gpus_per_node: int = 8,
    capacity_scale: float = 1.0,
    repair: bool = True,
    **kwargs: Any,
) -> ReplayResult:
    """Replay the GPU jobs of one store partition.

    Parameters
    ----------
    store : Store or path
        An opened store (or its path).
    trace, cluster : str
        Partition, e.g. ``("helios", "Venus")``; an absent one is an error that lists the
        traces or clusters present.
    start, end : datetime or ISO string, optional
        Submit-time window ``[start, end)`` (UTC); times become seconds from ``start``.
    prediction_model : str, optional
        ``model`` of the ``predictions`` table used as ``pred_duration_s`` (what
        ``tracekit predict`` wrote). Read only when given or when the policy needs predictions;
        a policy that needs them and a store with several models require it.
    policy : str or Policy
        See :func:`replay`; FIFO, SJF, SRTF and Tiresias need no predictions.
    vcs : Cluster or mapping, optional
        Explicit cluster; default: the store's capacity (see
        :func:`~tracekit.replay.inputs.load_store`).
    snapshot : date or str, optional
        Capacity day to use.
    gpus_per_node : int
        Node size for capacity given in GPUs.
    capacity_scale : float
        Keep this fraction of the nodes or machines (a what-if on a smaller cluster; the
        synthetic sample's capacity is already sized to its jobs: keep 1.0).
    repair : bool
        Default True: store data is real and messy (jobs in zero-capacity VCs, oversize jobs);
        every dropped row is counted in ``result.quality``.
    **kwargs
        Passed to :func:`replay` (``resource_model``, ``backfill``, ``placement``, ...). With a
        node placement (``best-fit``, ``packing``, ``load-balancing``, ``fgd``) the pool knows
        its nodes (CPU and memory from the ``machines`` table) and jobs that reserve CPU but no
        GPU are replayed too.
    """
    options = dict(kwargs.get("policy_options") or {})
    if kwargs.get("compat") and policy == "tiresias" and "preset" not in options:
        options["preset"] = "lucid"
    pol = make_policy(policy, **options)
    # Refuse a bad option before reading the store.
    check_shared_options(pol, *(kwargs.get(k) for k in _SHARED_OPTIONS[:3]))
    shared = "shared" == choose_resource_model(
        pol, vcs if vcs is not None else {}, kwargs.get("resource_model", "auto"),
        **{k: kwargs.get(k) for k in (*_SHARED_OPTIONS, "placement")},
    )  # fmt: skip
    data = load_store(
        store, trace, cluster, shared=shared, start=start, end=end,
        prediction_model=prediction_model, needs_prediction=pol.needs_prediction,
        snapshot=snapshot, gpus_per_node=gpus_per_node, capacity_scale=capacity_scale,
        seed=kwargs.get("seed", 7), nodes=shared and _node_placement(kwargs.get("placement")),
    )  # fmt: skip
    resources = data.resources if vcs is None else vcs
    kwargs.pop("policy_options", None)
    kwargs.setdefault("source", f"{getattr(store, 'path', store)} ({trace}/{cluster} jobs)")
    result = replay(data.jobs, resources, pol, repair=repair, **kwargs)
    result.quality.merge(data.quality)
    result.config.update(
        {
            "trace": trace,
            "cluster": cluster,
            "origin": str(data.origin),
            "cluster_source": getattr(resources, "source", "explicit"),
            "prediction_model": data.prediction_model,
            "trained_until": data.trained_until,
        }  # fmt: skip
    )
    return result


__all__ = [
    "CORES",
    "DEFAULT_MAX_JOBS_PER_GPU",
    "RESOURCE_MODELS",
    "compare_policies",
    "replay",
    "replay_csv",
    "replay_from_store",
    "check_shared_options",
    "choose_resource_model",
    "simulate",
    "submit_vc_order",
    "write_output",
]
