"""Event-driven GPU-level replay with shared (fractional) GPUs and heterogeneous GPU types.

The whole-GPU engine of :mod:`tracekit.replay.simulator` counts free GPUs per node. This module
models every GPU on its own, which the Alibaba PAI trace (fractional ``plan_gpu``, five GPU types)
and Lucid-style packing need (replay.md §2.5, §2.7; findings.md §4 A3, A7, A10). See
docs/replay_sharing.md for the model and its assumptions; in short:

* **GPU pool.** GPUs are grouped: by GPU type (PAI machines: T4/P100/V100/V100M32/MISC) or by VC
  (Helios/Philly capacity). Each GPU has ``UNITS`` capacity units (1 GPU) and holds at most
  ``max_jobs_per_gpu`` jobs. The sum of the shares on a GPU never exceeds one GPU.
* **Jobs.** A job asking for ``num_gpus = d`` GPUs is a gang of ``k = ceil(d)`` slots of
  ``d / k`` GPU each, placed on ``k`` distinct GPUs at once (PAI's 0.5-GPU instance is one slot
  of 0.5; 2.6 GPUs are 3 slots of 0.867). Jobs are not preempted or migrated.
* **Share.** ``share_by="request"``: a slot counts its requested fraction against the GPU
  (PAI's scheduler). ``share_by="usage"``: it counts its measured utilisation (non-intrusive
  packing as in Lucid: jobs are admitted by what they use, not by what they ask for).
* **Placement.** ``"pack"`` (reserving-and-packing, NSDI'22): best fit on the fullest GPU that
  still fits, and, with ``type_affinity="any"``, the lowest GPU tier first so that high-end GPUs
  stay free for jobs that need them. ``"balance"`` (load-balancing): the emptiest GPUs first, over
  every allowed group. ``type_affinity="strict"`` keeps a job on its own group.
* **Slowdown.** Colocated jobs progress at a rate <= 1 given by :class:`SlowdownModel`; a gang
  job progresses at the rate of its slowest GPU. Work is conserved: for every job the integral
  of its rate over its run equals its duration.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import time
import zlib
from bisect import bisect_left, insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.replay.jobs import gpu_jobs_in_window, predicted_durations, seconds_since

UNITS = 1000
"""Capacity units per GPU: shares are whole units, so sums never drift past one GPU."""

GPU_TIERS: tuple[str, ...] = ("T4", "MISC", "P100", "V100", "V100M32")
"""PAI GPU types from low-end to high-end: the order reserving-and-packing fills them in."""

POLICIES: tuple[str, ...] = ("fifo", "sjf", "sjf-pred", "qssf", "lucid")
PLACEMENTS: tuple[str, ...] = ("pack", "balance")
AFFINITIES: tuple[str, ...] = ("strict", "any")
SHARE_MODES: tuple[str, ...] = ("request", "usage")

# Utilisation prior where a trace has none (Helios) or a job lacks it: Philly's per-GPU-minute
# utilisation of completed jobs has mean ~48 % (findings.md §2 P7). A Beta(1.2, 1.3) draw per
# user has that mean and a broad, U-ish shape; one draw per user makes a user's jobs alike
# (recurring workloads), the way Lucid's profiled workload types do.
UTIL_PRIOR_BETA: tuple[float, float] = (1.2, 1.3)


@dataclass(frozen=True)
class SlowdownModel:
    """Progress rate of jobs sharing a GPU (all parameters of the model live here).

    For a GPU holding ``n`` jobs whose utilisations (fractions of one GPU) sum to ``U``::

        rate = 1                                   if n == 1
        rate = min(1, 1 / U) * (1 - kappa) ** (n - 1)   otherwise

    ``min(1, 1/U)``: when the co-runners together want more than the GPU's compute, they split
    it in proportion (time slicing). ``(1 - kappa)`` per extra co-runner: context switches and
    cache/memory contention even when ``U < 1`` (PAI reports up to 28 % co-location slowdown,
    findings.md §4 A9; Lucid's profiled pairs mostly lose 0-30 %). The rate is never above 1,
    unlike Lucid's profiled pair speeds (replay.md §8 bug 5). A gang job runs at the minimum
    rate over its GPUs (synchronous training waits for the slowest worker).

    Parameters
    ----------
    kappa : float
        Interference loss per extra co-runner, in [0, 1).
    """

    kappa: float = 0.05

    def __post_init__(self) -> None:
        if not 0.0 <= self.kappa < 1.0:
            raise ValueError(f"kappa must be in [0, 1), got {self.kappa}")

    def gpu_rate(self, n_jobs: int, util_sum: float) -> float:
        """Rate of every job on a GPU with ``n_jobs`` jobs of total utilisation ``util_sum``."""
        if n_jobs <= 1:
            return 1.0
        return min(1.0, 1.0 / max(util_sum, 1e-12)) * (1.0 - self.kappa) ** (n_jobs - 1)


class SharingPolicy(Protocol):
    """What :func:`simulate_shared` needs from a packing policy (see ``policies/lucid.py``)."""

    name: str
    max_jobs_per_gpu: int
    share_by: str
    prefer_exclusive: bool
    max_gpus: int

    def priority(self, pred: np.ndarray, gpus: np.ndarray) -> np.ndarray:
        """Queue key per job (lower first)."""
        ...

    def can_pair(self, util_a: float, util_b: float, prio_a: float, prio_b: float) -> bool:
        """May a pending job (a) join the running exclusive job (b)?"""
        ...


@dataclass(frozen=True)
class GPUPool:
    """GPUs grouped by type or VC: ``{group: (gpus of machine 0, gpus of machine 1, ...)}``.

    Build with :meth:`from_dict` (``{"T4": (497, 2)}`` = 497 machines of 2 GPUs) or
    :func:`pool_from_store`.
    """

    machines: Mapping[str, tuple[int, ...]]
    source: str = "explicit"

    @classmethod
    def from_dict(
        cls, groups: Mapping[str, tuple[int, int] | Sequence[int] | int], source: str = "explicit"
    ) -> GPUPool:
        """``{group: (machines, gpus_per_machine)}``, ``{group: [gpus per machine]}`` or
        ``{group: gpus}`` (one machine)."""
        out: dict[str, tuple[int, ...]] = {}
        for name, spec in groups.items():
            if isinstance(spec, int | np.integer):
                sizes: tuple[int, ...] = (int(spec),) if spec > 0 else ()
            elif isinstance(spec, tuple) and len(spec) == 2:
                n, g = int(spec[0]), int(spec[1])
                if n < 0 or g < 1:
                    raise ValueError(f"group {name!r}: need machines >= 0, gpus >= 1, got {spec}")
                sizes = (g,) * n
            else:
                sizes = tuple(int(s) for s in spec)
            if any(s < 1 for s in sizes):
                raise ValueError(f"group {name!r}: every machine needs >= 1 GPU")
            out[str(name)] = sizes
        return cls(dict(sorted(out.items(), key=lambda kv: _tier_key(kv[0]))), source)

    @property
    def groups(self) -> list[str]:
        """Group names, low tier first."""
        return list(self.machines)

    def gpus(self, group: str | None = None) -> int:
        """GPUs of one group (or all)."""
        if group is None:
            return sum(sum(m) for m in self.machines.values())
        return sum(self.machines.get(group, ()))

    def scaled(self, factor: float) -> GPUPool:
        """Keep ``round(factor x machines)`` machines of each group (at least one if any)."""
        out = {}
        for g, sizes in self.machines.items():
            n = max(1, round(len(sizes) * factor)) if sizes else 0
            out[g] = sizes[:n] if n <= len(sizes) else sizes + sizes[: n - len(sizes)]
        return GPUPool(out, f"{self.source} x{factor:g}")

    def to_frame(self) -> pl.DataFrame:
        """``group, machines, gpus`` per group."""
        return pl.DataFrame(
            {
                "group": self.groups,
                "machines": [len(m) for m in self.machines.values()],
                "gpus": [sum(m) for m in self.machines.values()],
            },
            schema={"group": pl.String, "machines": pl.Int64, "gpus": pl.Int64},
        )


def _tier_key(group: str) -> tuple[int, str]:
    return (GPU_TIERS.index(group), group) if group in GPU_TIERS else (len(GPU_TIERS), group)


def pool_from_store(
    store: Any, trace: str, cluster: str, scale: float = 1.0, gpus_per_node: int = 8
) -> GPUPool:
    """GPU pool of a store partition.

    PAI-like partitions (``machines`` with a ``gpu_type``): one group per GPU type, CPU-only
    machines left out. Otherwise the VC capacity of
    :func:`~tracekit.replay.cluster.cluster_from_store` (one group per VC, ``gpus_per_node`` GPU
    nodes), or the machine list as one group ``"pool"``. ``scale`` keeps that fraction of
    the machines of every group (to load a small sample as heavily as the full trace).
    """
    machines = store.scan("machines", trace=trace, cluster=cluster).collect()
    typed = machines.filter(pl.col("gpu_type").is_not_null() & (pl.col("num_gpus") > 0))
    if typed.height:
        groups: dict[str, list[int]] = {}
        for gt, n in typed.sort("machine_id").select("gpu_type", "num_gpus").iter_rows():
            groups.setdefault(str(gt), []).append(int(n))
        pool = GPUPool.from_dict(groups, source=f"machines:{trace}/{cluster}")
    else:
        from tracekit.replay.cluster import cluster_from_store

        cl = cluster_from_store(store, trace, cluster, gpus_per_node=gpus_per_node)
        if cl.source == "machines" or list(cl) == ["None"]:
            sizes = [int(n) for n in machines.filter(pl.col("num_gpus") > 0)["num_gpus"]]
            if not sizes:  # capacity without VC names (Philly): one pool of its nodes
                spec = next(iter(cl.values()))
                sizes = [spec.gpus_per_node] * spec.nodes
            pool = GPUPool.from_dict({"pool": sizes}, source=f"machines:{trace}/{cluster}")
        else:
            pool = GPUPool.from_dict(
                {vc: (spec.nodes, spec.gpus_per_node) for vc, spec in cl.items()},
                source=f"{cl.source}:{trace}/{cluster}",
            )
    return pool if scale == 1.0 else pool.scaled(scale)


def fill_utilization(jobs: pl.DataFrame, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add ``util`` (fraction of one GPU, in [0, 1]) and ``util_source`` to a job table.

    Order of sources: the job's own ``gpu_util_mean`` (percent; Philly per-GPU-minute mean, PAI
    sensors) clipped to [0, 100]; else the median of the same user's known values in the table;
    else the median of the known values of jobs of the same GPU count; else a per-user seeded
    draw from Beta(1.2, 1.3) (mean 0.48, Philly's per-GPU-minute mean; the substitute for Helios,
    which has no utilisation at all). Returns the table and the count per source.
    """
    df = jobs
    if "gpu_util_mean" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.Float64).alias("gpu_util_mean"))
    if "user" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.String).alias("user"))
    own = (pl.col("gpu_util_mean").cast(pl.Float64).clip(0.0, 100.0) / 100.0).fill_nan(None)
    df = df.with_columns(own.alias("_own"), pl.col("num_gpus").ceil().alias("_k"))
    df = df.with_columns(
        pl.col("_own").median().over("user").alias("_user"),
        pl.col("_own").median().over("_k").alias("_size"),
    )
    users = df["user"].fill_null("").to_list()
    a, b = UTIL_PRIOR_BETA
    draws = {u: _user_draw(u, seed, a, b) for u in set(users)}
    prior = np.array([draws[u] for u in users], dtype=np.float64)
    df = df.with_columns(pl.Series("_prior", prior, dtype=pl.Float64))
    df = df.with_columns(
        pl.coalesce(
            "_own",
            pl.when(pl.col("user").is_not_null()).then(pl.col("_user")),
            "_size",
            "_prior",
        ).alias("util"),
        pl.when(pl.col("_own").is_not_null())
        .then(pl.lit("own"))
        .when(pl.col("user").is_not_null() & pl.col("_user").is_not_null())
        .then(pl.lit("user_median"))
        .when(pl.col("_size").is_not_null())
        .then(pl.lit("size_median"))
        .otherwise(pl.lit("user_prior"))
        .alias("util_source"),
    ).drop("_own", "_user", "_size", "_prior", "_k")
    counts = df.group_by("util_source").len().sort("util_source")
    return df, counts


def _user_draw(user: str, seed: int, a: float, b: float) -> float:
    # crc32, not hash(): the draw must be the same in every worker process.
    rng = np.random.default_rng([seed, zlib.crc32(user.encode())])
    return float(rng.beta(a, b))


SHARED_COLUMNS = ("job_id", "submit_time", "duration", "num_gpus")


def validate_shared_jobs(
    jobs: pl.DataFrame,
    pool: GPUPool,
    type_affinity: str = "strict",
    *,
    repair: bool = False,
    quality: QualityCounter | None = None,
    source: str = "<jobs>",
) -> tuple[pl.DataFrame, QualityCounter]:
    """Check (or, with ``repair``, drop and count) bad rows of a shared-GPU job table.

    Columns: ``job_id, submit_time, duration, num_gpus`` (float, fractional allowed),
    optional ``group`` (GPU type or VC; null = any group), ``util``, ``pred_duration``,
    ``user``. Rules (``sharing.*``): bad times, non-positive duration or GPUs, duplicate id,
    unknown group (strict affinity), more GPU slots than the allowed groups have.
    """
    quality = quality if quality is not None else QualityCounter()
    missing = [c for c in SHARED_COLUMNS if c not in jobs.columns]
    if missing:
        raise TraceFormatError(source, None, f"missing columns {missing}")
    df = jobs.with_columns(
        pl.col("job_id").cast(pl.String),
        pl.col("submit_time").cast(pl.Float64),
        pl.col("duration").cast(pl.Float64),
        pl.col("num_gpus").cast(pl.Float64),
    )
    if "group" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.String).alias("group"))
    known = pl.Series(pool.groups, dtype=pl.String)
    caps = {g: pool.gpus(g) for g in pool.groups}
    slots = pl.col("num_gpus").ceil()
    # A gang never spans groups: it must fit its own group (strict) or the largest one.
    biggest = max(caps.values(), default=0)
    cap_col = (
        pl.col("group").replace_strict(caps, default=biggest, return_dtype=pl.Int64)
        if type_affinity == "strict"
        else pl.lit(biggest)
    )
    rules: list[tuple[str, pl.Expr, str]] = [
        ("sharing.null_job_id", pl.col("job_id").is_null(), "empty job_id"),
        ("sharing.bad_submit_time", ~pl.col("submit_time").is_finite().fill_null(False),
         "submit_time is not a number"),
        ("sharing.nonpositive_duration", ~(pl.col("duration") > 0).fill_null(False)
         | ~pl.col("duration").is_finite().fill_null(False), "duration is not a positive number"),
        ("sharing.nonpositive_gpus", ~(pl.col("num_gpus") > 0).fill_null(False)
         | ~pl.col("num_gpus").is_finite().fill_null(False), "num_gpus is not positive"),
        ("sharing.duplicate_job_id", ~pl.col("job_id").is_first_distinct(), "duplicate job_id"),
    ]  # fmt: skip
    if type_affinity == "strict":
        rules.append(
            ("sharing.unknown_group",
             pl.col("group").is_not_null() & ~pl.col("group").is_in(known.implode()),
             f"group (GPU type / VC) not in the pool {known.to_list()}")
        )  # fmt: skip
    rules.append(
        ("sharing.job_larger_than_pool", slots > cap_col,
         "job needs more GPUs than its group (or the largest group) has")
    )  # fmt: skip
    for rule, expr, problem in rules:
        mask = df.select(expr.fill_null(True)).to_series().to_numpy()
        n = int(mask.sum())
        quality.add(rule, n)
        if not n:
            continue
        if not repair:
            i = int(np.flatnonzero(mask)[0])
            raise TraceFormatError(
                source, i + 1, f"{problem}: {df.row(i, named=True)} (repair=True drops such rows)"
            )
        df = df.filter(~pl.Series(mask))
    return df, quality


@dataclass
class SharedResult:
    """Outcome of :func:`simulate_shared`.

    Attributes
    ----------
    jobs : polars.DataFrame
        Per job (input order): ``job_id, group, placed_group, submit_time, start_time,
        end_time, duration, num_gpus, slots, share, util, queue_s, jct_s, run_s, served_s,
        min_rate, max_jobs_on_gpu, colocated`` (+ ``pred_duration``). ``served_s`` = integral
        of the progress rate over the run (equals ``duration``: work conservation).
    pool : GPUPool
    config : dict
    quality : QualityCounter
    gpu_events : polars.DataFrame or None
        With ``record=True``: ``time, gpu, group, jobs, alloc_units`` after every change.
    wall_s : float
    """

    jobs: pl.DataFrame
    pool: GPUPool
    config: dict[str, Any]
    quality: QualityCounter
    gpu_events: pl.DataFrame | None = field(default=None, repr=False)
    wall_s: float = 0.0

    @property
    def policy(self) -> str:
        """Policy name."""
        return str(self.config["policy"])

    def summary(self) -> pl.DataFrame:
        """One row: ``policy, jobs, jct_*, queue_*, bsld_mean, makespan_s, colocated_share,
        mean_stretch, gpu_s_requested, utilization`` (requested GPU-time served / (GPUs x
        makespan))."""
        j = self.jobs
        if j.height == 0:
            return pl.DataFrame({"policy": [self.policy], "jobs": [0]})
        makespan = float(j["end_time"].max() - j["submit_time"].min())
        out = j.select(
            pl.len().alias("jobs"),
            pl.col("jct_s").mean().alias("jct_mean_s"),
            pl.col("jct_s").median().alias("jct_p50_s"),
            pl.col("jct_s").quantile(0.99, "linear").alias("jct_p99_s"),
            pl.col("queue_s").mean().alias("queue_mean_s"),
            pl.col("queue_s").median().alias("queue_p50_s"),
            pl.col("queue_s").quantile(0.99, "linear").alias("queue_p99_s"),
            pl.max_horizontal(pl.lit(1.0), pl.col("jct_s") / pl.col("duration").clip(10.0))
            .mean()
            .alias("bsld_mean"),
            pl.col("colocated").mean().alias("colocated_share"),
            (pl.col("run_s") / pl.col("duration")).mean().alias("mean_stretch"),
            (pl.col("num_gpus") * pl.col("duration")).sum().alias("gpu_s_requested"),
        ).with_columns(
            pl.lit(self.policy).alias("policy"),
            pl.lit(makespan).alias("makespan_s"),
            (pl.col("gpu_s_requested") / (self.pool.gpus() * makespan)).alias("utilization"),
        )
        first = ["policy", "jobs"]
        return out.select(first + [c for c in out.columns if c not in first])

    def digest(self) -> str:
        """SHA-256 of ``job_id, start_time, end_time`` (determinism checks)."""
        h = hashlib.sha256()
        text = self.jobs.select("job_id", "start_time", "end_time").write_csv(float_precision=6)
        h.update(text.encode())
        return h.hexdigest()


def _resolve_policy(policy: str | SharingPolicy) -> tuple[str, SharingPolicy | None]:
    if not isinstance(policy, str):
        return policy.name, policy
    if policy == "lucid":
        from tracekit.replay.policies.lucid import LucidPolicy

        return "lucid", LucidPolicy()
    if policy not in POLICIES:
        raise ValueError(f"unknown sharing policy {policy!r}; known: {POLICIES}")
    return policy, None


def simulate_shared(
    jobs: pl.DataFrame,
    pool: GPUPool | Mapping[str, Any],
    policy: str | SharingPolicy = "fifo",
    *,
    placement: str = "pack",
    type_affinity: str = "strict",
    max_jobs_per_gpu: int = 4,
    share_by: str = "request",
    slowdown: SlowdownModel | None = None,
    backfill: bool = True,
    repair: bool = False,
    seed: int = 0,
    record: bool = False,
    source: str = "<jobs>",
) -> SharedResult:
    """Replay jobs on individually modelled, shareable GPUs.

    Parameters
    ----------
    jobs : polars.DataFrame
        ``job_id, submit_time, duration, num_gpus`` (seconds; fractional GPUs allowed), optional
        ``group`` (the job's GPU type or VC), ``util`` (fraction of one GPU; filled by
        :func:`fill_utilization` when absent), ``pred_duration``, ``user``.
    pool : GPUPool or mapping
        The GPUs (mapping: see :meth:`GPUPool.from_dict`).
    policy : {"fifo", "sjf", "sjf-pred", "qssf", "lucid"} or SharingPolicy
        Queue order: submit time; true duration; predicted duration; predicted GPU-time.
        ``"lucid"``: :class:`~tracekit.replay.policies.lucid.LucidPolicy` (predicted GPU-time
        order plus pairwise packing by utilisation).
    placement : {"pack", "balance"}
        Reserving-and-packing or load-balancing (module docstring).
    type_affinity : {"strict", "any"}
        Jobs run on their own group only, or on any group (jobs with a null group: any).
    max_jobs_per_gpu : int
        Most jobs on one GPU (a sharing policy's own limit wins).
    share_by : {"request", "usage"}
        What a slot counts against its GPU (a sharing policy's own choice wins).
    slowdown : SlowdownModel, optional
        Colocation slowdown (default ``SlowdownModel()``).
    backfill : bool
        Try every pending job in order (PAI's greedy skipping, Lucid with colocation) or stop at
        the first that does not fit (head-of-line).
    repair : bool
        Drop invalid rows and count them instead of raising.
    seed : int
        Seeds the utilisation prior (the engine itself is deterministic).
    record : bool
        Keep per-GPU occupancy after every change in ``result.gpu_events``.

    Returns
    -------
    SharedResult
    """
    t0 = time.perf_counter()
    name, pol = _resolve_policy(policy)
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
    if type_affinity not in AFFINITIES:
        raise ValueError(f"type_affinity must be one of {AFFINITIES}, got {type_affinity!r}")
    if pol is not None:
        max_jobs_per_gpu, share_by = pol.max_jobs_per_gpu, pol.share_by
    if share_by not in SHARE_MODES:
        raise ValueError(f"share_by must be one of {SHARE_MODES}, got {share_by!r}")
    if max_jobs_per_gpu < 1:
        raise ValueError("max_jobs_per_gpu must be >= 1")
    gpool = pool if isinstance(pool, GPUPool) else GPUPool.from_dict(pool)
    model = slowdown or SlowdownModel()
    df, quality = validate_shared_jobs(jobs, gpool, type_affinity, repair=repair, source=source)
    if "util" not in df.columns:
        df, _ = fill_utilization(df, seed)
    needs_pred = name in ("sjf-pred", "qssf", "lucid")
    if needs_pred and "pred_duration" not in df.columns:
        raise TraceFormatError(source, None, f"policy {name} needs a pred_duration column")
    df = df.with_row_index("_order")
    state = _Engine(df, gpool, name, pol, placement, type_affinity, max_jobs_per_gpu, share_by,
                    model, backfill, record)  # fmt: skip
    state.run()
    out = state.output(df)
    config = {
        "policy": name,
        "policy_repr": repr(pol) if pol is not None else name,
        "placement": placement,
        "type_affinity": type_affinity,
        "max_jobs_per_gpu": max_jobs_per_gpu,
        "share_by": share_by,
        "slowdown": repr(model),
        "backfill": backfill,
        "seed": seed,
        "pool": gpool.source,
    }
    events = state.gpu_event_frame(gpool) if record else None
    return SharedResult(out, gpool, config, quality, events, time.perf_counter() - t0)


class _Engine:
    """Mutable state of one run (struct of arrays; see simulate_shared)."""

    def __init__(
        self,
        df: pl.DataFrame,
        pool: GPUPool,
        policy: str,
        pol: SharingPolicy | None,
        placement: str,
        affinity: str,
        max_jobs: int,
        share_by: str,
        model: SlowdownModel,
        backfill: bool,
        record: bool,
    ) -> None:
        n = df.height
        self.n = n
        self.pol = pol
        self.placement = placement
        self.max_jobs = max_jobs
        self.model = model
        self.backfill = backfill
        self.record = record
        self.submit = df["submit_time"].to_numpy().astype(np.float64)
        self.dur = df["duration"].to_numpy().astype(np.float64)
        gpus = df["num_gpus"].to_numpy().astype(np.float64)
        self.k = np.maximum(1, np.ceil(gpus - 1e-9)).astype(np.int64)
        self.util = df["util"].fill_null(0.48).to_numpy().astype(np.float64).clip(0.0, 1.0)
        request = gpus / self.k
        frac = request if share_by == "request" else np.maximum(self.util, 0.01)
        self.units = np.clip(np.ceil(frac * UNITS - 1e-6), 1, UNITS).astype(np.int64)
        pred = df["pred_duration"].to_numpy() if "pred_duration" in df.columns else None
        if policy == "fifo":
            key = self.submit
        elif policy == "sjf":
            key = self.dur
        elif policy == "sjf-pred":
            key = np.asarray(pred, dtype=np.float64)
        elif policy == "qssf":
            key = np.asarray(pred, dtype=np.float64) * gpus
        else:
            assert pol is not None
            key = pol.priority(np.asarray(pred, dtype=np.float64), gpus)
        self.key = np.nan_to_num(np.asarray(key, dtype=np.float64), nan=np.inf)
        # GPU arrays, grouped contiguously, low tier first.
        self.group_names = pool.groups
        self.gidx = {g: i for i, g in enumerate(self.group_names)}
        machine_of, group_of, lo, hi = [], [], [], []
        m = 0
        for gi, g in enumerate(self.group_names):
            lo.append(len(group_of))
            for size in pool.machines[g]:
                machine_of += [m] * size
                group_of += [gi] * size
                m += 1
            hi.append(len(group_of))
        self.glo, self.ghi = lo, hi
        self.machine_of = np.array(machine_of, dtype=np.int64)
        self.group_of = np.array(group_of, dtype=np.int64)
        ng = len(group_of)
        self.free = np.full(ng, UNITS, dtype=np.int64)
        self.nj = np.zeros(ng, dtype=np.int64)
        self.usum = np.zeros(ng, dtype=np.float64)
        self.on_gpu: list[list[int]] = [[] for _ in range(ng)]
        self.machine_used = np.zeros(m, dtype=np.int64)
        # Allowed groups per job, in search order.
        jg = df["group"].to_list()
        all_groups = list(range(len(self.group_names)))
        self.allowed: list[list[int]] = []
        self.own_group = np.full(n, -1, dtype=np.int64)
        for i, g in enumerate(jg):
            gi = self.gidx.get(g, -1) if g is not None else -1
            self.own_group[i] = gi
            if gi < 0:
                self.allowed.append(all_groups)
            elif affinity == "strict":
                self.allowed.append([gi])
            else:  # own group first, then the others from the lowest tier up
                self.allowed.append([gi] + [g for g in all_groups if g != gi])
        # Per-group cache of the sorted free units of open GPUs (nj < max_jobs).
        self.cache: list[list[int] | None] = [None] * len(self.group_names)
        # A placement attempt depends only on the state of the job's allowed groups: a job that
        # failed is not retried until one of them changed (epoch = changes per group).
        self.epoch = [0] * len(self.group_names)
        self.tried = [-1] * n  # Python lists: scalar access in the hot loop
        self.single = [a[0] if len(a) == 1 else -1 for a in self.allowed]
        # Job state.
        self.start = np.full(n, np.nan)
        self.end = np.full(n, np.nan)
        self.rem = self.dur.copy()
        self.rate = np.zeros(n)
        self.last = np.zeros(n)
        self.served = np.zeros(n)
        self.min_rate = np.ones(n)
        self.max_co = np.zeros(n, dtype=np.int64)
        self.version = np.zeros(n, dtype=np.int64)
        self.placed_on: list[np.ndarray | None] = [None] * n
        self.exclusive: dict[int, dict[int, None]] = {}
        self.events: list[tuple[float, int, int, int]] = []
        self.gpu_log: list[tuple[float, int, int, int]] = []
        self.seq = 0

    # -- capacity index ---------------------------------------------------------------------
    def _open_sorted(self, g: int) -> list[int]:
        c = self.cache[g]
        if c is None:
            lo, hi = self.glo[g], self.ghi[g]
            f = self.free[lo:hi][self.nj[lo:hi] < self.max_jobs]
            c = np.sort(f).tolist()  # a list: bisect on it is far cheaper than numpy calls
            self.cache[g] = c
        return c

    def _fits(self, g: int, units: int, k: int, empty: bool) -> bool:
        c = self._open_sorted(g)
        return len(c) - bisect_left(c, UNITS if empty else units) >= k

    def _choose(self, j: int, empty: bool) -> np.ndarray | None:
        units, k = int(self.units[j]), int(self.k[j])
        groups = [g for g in self.allowed[j] if self._fits(g, units, k, empty)]
        if not groups:
            return None
        if self.placement == "pack":
            # Reserving-and-packing: lowest tier first, fullest GPU that fits (best fit),
            # then the fullest machine, then GPU index.
            for g in groups:
                lo, hi = self.glo[g], self.ghi[g]
                pick = self._best(lo, hi, units, k, empty, fullest=True)
                if pick is not None:
                    return pick
            return None
        # Load-balancing: the least-allocated group (a gang never spans groups), then the
        # emptiest GPUs on the least-used machines.
        loads = [
            (
                1.0
                - self.free[self.glo[g] : self.ghi[g]].sum()
                / (UNITS * (self.ghi[g] - self.glo[g])),
                g,
            )
            for g in groups
        ]
        for _, g in sorted(loads):
            pick = self._best(self.glo[g], self.ghi[g], units, k, empty, fullest=False)
            if pick is not None:
                return pick
        return None

    def _best(
        self, lo: int, hi: int, units: int, k: int, empty: bool, fullest: bool
    ) -> np.ndarray | None:
        free = self.free[lo:hi]
        ok = (free >= (UNITS if empty else units)) & (self.nj[lo:hi] < self.max_jobs)
        idx = np.flatnonzero(ok)
        if len(idx) < k:
            return None
        gpu = idx + lo
        mload = self.machine_used[self.machine_of[gpu]]
        if fullest:
            order = np.lexsort((gpu, -mload, free[idx]))
        else:
            order = np.lexsort((gpu, mload, -free[idx]))
        return gpu[order[:k]]

    # -- state changes ----------------------------------------------------------------------
    def _touch(self, gpus: np.ndarray, t: float) -> None:
        for g in {int(self.group_of[x]) for x in gpus}:
            self.cache[g] = None
            self.epoch[g] += 1
        if self.record:
            for x in gpus:
                self.gpu_log.append((t, int(x), int(self.nj[x]), int(UNITS - self.free[x])))

    def _reschedule(self, jobs: set[int], t: float) -> None:
        for j in sorted(jobs):
            self.rem[j] = max(0.0, self.rem[j] - self.rate[j] * (t - self.last[j]))
            self.served[j] += self.rate[j] * (t - self.last[j])
            self.last[j] = t
            gpus = self.placed_on[j]
            assert gpus is not None
            r = min(self.model.gpu_rate(int(self.nj[x]), float(self.usum[x])) for x in gpus)
            self.rate[j] = r
            self.min_rate[j] = min(self.min_rate[j], r)
            self.max_co[j] = max(self.max_co[j], int(self.nj[gpus].max()))
            self.version[j] += 1
            self.seq += 1
            heapq.heappush(self.events, (t + self.rem[j] / r, self.seq, j, int(self.version[j])))

    def _start(self, j: int, gpus: np.ndarray, t: float) -> None:
        u = int(self.units[j])
        affected: set[int] = {j}
        for x in gpus:
            self.free[x] -= u
            self.nj[x] += 1
            self.usum[x] += self.util[j]
            affected.update(self.on_gpu[x])
            self.on_gpu[x].append(j)
            assert self.free[x] >= 0 and self.nj[x] <= self.max_jobs
        self.machine_used[self.machine_of[gpus]] += u
        self.placed_on[j] = gpus
        self.start[j] = t
        self.last[j] = t
        if self.pol is not None:
            for p in affected - {j}:
                self.exclusive.get(int(self.k[p]), {}).pop(p, None)
            if all(self.nj[x] == 1 for x in gpus):
                self.exclusive.setdefault(int(self.k[j]), {})[j] = None
        self._touch(gpus, t)
        self._reschedule(affected, t)

    def _finish(self, j: int, t: float) -> None:
        self.served[j] += self.rate[j] * (t - self.last[j])
        self.rem[j] = 0.0
        self.end[j] = t
        gpus = self.placed_on[j]
        assert gpus is not None
        u = int(self.units[j])
        affected: set[int] = set()
        for x in gpus:
            self.free[x] += u
            self.nj[x] -= 1
            self.usum[x] -= self.util[j]
            if self.nj[x] == 0:
                self.usum[x] = 0.0  # no float residue on an empty GPU
            self.on_gpu[x].remove(j)
            affected.update(self.on_gpu[x])
        self.machine_used[self.machine_of[gpus]] -= u
        if self.pol is not None:
            self.exclusive.get(int(self.k[j]), {}).pop(j, None)
            for p in sorted(affected):
                pg = self.placed_on[p]
                if pg is not None and all(self.nj[x] == 1 for x in pg):
                    self.exclusive.setdefault(int(self.k[p]), {})[p] = None
        self._touch(gpus, t)
        self._reschedule(affected, t)

    # -- scheduling -------------------------------------------------------------------------
    def _partner(self, j: int) -> np.ndarray | None:
        pol = self.pol
        assert pol is not None
        if self.k[j] > pol.max_gpus:
            return None
        cands = self.exclusive.get(int(self.k[j]))
        if not cands:
            return None
        allowed = set(self.allowed[j])
        for p in cands:
            gpus = self.placed_on[p]
            assert gpus is not None
            if int(self.group_of[gpus[0]]) not in allowed:
                continue
            if not pol.can_pair(self.util[j], self.util[p], self.key[j], self.key[p]):
                continue
            if (self.free[gpus] >= self.units[j]).all():
                return gpus
        return None

    def _try_place(self, j: int) -> np.ndarray | None:
        if self.pol is None:
            return self._choose(j, empty=False)
        if self.pol.prefer_exclusive:
            gpus = self._choose(j, empty=True)
            return gpus if gpus is not None else self._partner(j)
        gpus = self._partner(j)
        return gpus if gpus is not None else self._choose(j, empty=True)

    def _any_open(self) -> bool:
        return any(len(self._open_sorted(g)) for g in range(len(self.group_names)))

    def run(self) -> None:
        order = np.lexsort((np.arange(self.n), self.submit))
        nxt = 0
        pending: list[tuple[float, float, int]] = []
        while nxt < self.n or self.events:
            t_arr = self.submit[order[nxt]] if nxt < self.n else math.inf
            t_fin = self.events[0][0] if self.events else math.inf
            t = min(t_arr, t_fin)
            # Phase order at one instant: finishes, then arrivals, then one scheduling pass.
            while self.events and self.events[0][0] <= t:
                _, _, j, ver = heapq.heappop(self.events)
                if ver == self.version[j] and np.isnan(self.end[j]):
                    self._finish(j, t)
            while nxt < self.n and self.submit[order[nxt]] <= t:
                j = int(order[nxt])
                insort(pending, (float(self.key[j]), float(self.submit[j]), j))
                nxt += 1
            if pending and self._any_open():
                pending = self._pass(pending, t)

    def _pass(self, pending: list[tuple[float, float, int]], t: float) -> list:
        keep = []
        epoch, tried, single, allowed = self.epoch, self.tried, self.single, self.allowed
        for i, item in enumerate(pending):
            j = item[2]
            g = single[j]
            sig = epoch[g] if g >= 0 else sum([epoch[x] for x in allowed[j]])
            gpus = None if sig == tried[j] else self._try_place(j)
            if gpus is None:
                tried[j] = sig
                keep.append(item)
                if not self.backfill:  # head-of-line: nothing behind a blocked job starts
                    keep.extend(pending[i + 1 :])
                    break
                continue
            self._start(j, gpus, t)
            if self.backfill and not self._any_open():
                keep.extend(pending[i + 1 :])
                break
        return keep

    # -- output -----------------------------------------------------------------------------
    def output(self, df: pl.DataFrame) -> pl.DataFrame:
        placed = [
            self.group_names[int(self.group_of[g[0]])] if g is not None else None
            for g in self.placed_on
        ]
        out = df.select(
            "job_id", pl.col("group").cast(pl.String), "submit_time", "duration", "num_gpus"
        ).with_columns(
            pl.Series("placed_group", placed, dtype=pl.String),
            pl.Series("start_time", self.start, dtype=pl.Float64),
            pl.Series("end_time", self.end, dtype=pl.Float64),
            pl.Series("slots", self.k, dtype=pl.Int64),
            pl.Series("share", self.units / UNITS, dtype=pl.Float64),
            pl.Series("util", self.util, dtype=pl.Float64),
            pl.Series("served_s", self.served, dtype=pl.Float64),
            pl.Series("min_rate", self.min_rate, dtype=pl.Float64),
            pl.Series("max_jobs_on_gpu", self.max_co, dtype=pl.Int64),
        )
        out = out.with_columns(
            (pl.col("start_time") - pl.col("submit_time")).alias("queue_s"),
            (pl.col("end_time") - pl.col("submit_time")).alias("jct_s"),
            (pl.col("end_time") - pl.col("start_time")).alias("run_s"),
            (pl.col("max_jobs_on_gpu") > 1).alias("colocated"),
        )
        cols = ["job_id", "group", "placed_group", "submit_time", "start_time", "end_time",
                "duration", "num_gpus", "slots", "share", "util", "queue_s", "jct_s", "run_s",
                "served_s", "min_rate", "max_jobs_on_gpu", "colocated"]  # fmt: skip
        if "pred_duration" in df.columns:
            out = out.with_columns(df["pred_duration"])
            cols.append("pred_duration")
        return out.select(cols)

    def gpu_event_frame(self, pool: GPUPool) -> pl.DataFrame:
        log = self.gpu_log
        return pl.DataFrame(
            {
                "time": [e[0] for e in log],
                "gpu": [e[1] for e in log],
                "group": [self.group_names[int(self.group_of[e[1]])] for e in log],
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


def shared_jobs_from_store(
    store: Any,
    trace: str,
    cluster: str,
    start: Any = None,
    end: Any = None,
    prediction_model: str | None = None,
    group_by: str = "auto",
) -> pl.DataFrame:
    """Jobs of one store partition for :func:`simulate_shared`.

    GPU jobs with a duration in ``[start, end)``; ``submit_time`` in seconds from the first
    submit (or ``start``); ``group`` = ``gpu_type`` (``group_by="gpu_type"``, PAI) or ``vc``
    (``"vc"``); ``"auto"`` picks ``gpu_type`` when the partition has any. Keeps
    ``gpu_util_mean`` and ``user`` for :func:`fill_utilization`, and ``pred_duration`` from the
    ``predictions`` table when ``prediction_model`` is given.
    """
    columns = [
        "job_id", "user", "vc", "gpu_type", "submit_time", "duration_s", "num_gpus",
        "gpu_util_mean",
    ]  # fmt: skip
    df, origin = gpu_jobs_in_window(store, trace, cluster, start, end, columns)
    if group_by == "auto":
        group_by = "gpu_type" if df["gpu_type"].null_count() < df.height else "vc"
    out = df.sort("submit_time", "job_id").select(
        "job_id",
        "user",
        pl.col(group_by).alias("group"),
        seconds_since(origin) if origin is not None else pl.col("submit_time").cast(pl.Float64),
        pl.col("duration_s").alias("duration"),
        "num_gpus",
        "gpu_util_mean",
    )
    if prediction_model is not None:
        preds = store.scan("predictions", trace=trace, cluster=cluster)
        p = predicted_durations(preds, prediction_model)
        if p.height == 0:
            raise ValueError(f"no predictions of model {prediction_model!r} for {trace}/{cluster}")
        out = out.join(p, on="job_id", how="left", maintain_order="left")
    return out


def shared_slice_from_store(
    store: Any,
    trace: str,
    cluster: str,
    start: Any = None,
    end: Any = None,
    prediction_model: str | None = None,
    scale: float = 1.0,
    seed: int = 0,
) -> tuple[pl.DataFrame, GPUPool, QualityCounter]:
    """Jobs (with ``util``) and GPU pool of one partition, ready for :func:`simulate_shared`.

    When the pool is a single ungrouped ``"pool"`` (Philly: capacity without VC names), the
    jobs' groups are cleared so they may run anywhere (counted as
    ``sharing.group_cleared_single_pool``).
    """
    quality = QualityCounter()
    jobs = shared_jobs_from_store(store, trace, cluster, start, end, prediction_model)
    pool = pool_from_store(store, trace, cluster, scale)
    if pool.groups == ["pool"]:
        n = int(jobs["group"].is_not_null().sum())
        quality.add("sharing.group_cleared_single_pool", n)
        jobs = jobs.with_columns(pl.lit(None, dtype=pl.String).alias("group"))
    jobs, counts = fill_utilization(jobs, seed)
    for src, n in counts.iter_rows():
        quality.add(f"sharing.util_from_{src}", int(n))
    return jobs, pool, quality
