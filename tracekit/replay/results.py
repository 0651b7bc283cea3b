"""The one result type of the replay (both engines): per-job table, summaries, utilisation.

Definitions (per job, seconds):

* ``queue_s`` = total time the job waited, the first wait plus every wait after a preemption
  (``start_time - submit_time`` for a non-preemptive policy);
* ``jct_s`` = ``end_time - submit_time``;
* bounded slowdown = ``max(1, jct_s / max(duration_s, BSLD_TAU_S))`` (tau = 10 s);
* "large" jobs need more GPUs than one node (Lucid's Table 5 splits > 8 vs <= 8 GPUs);
* utilisation = allocated GPUs / GPUs (allocation, as Helios defines it), per time bin.

Averages stay floats (the published simulators' summary files truncate them to integers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tracekit.quality import QualityCounter
from tracekit.replay.inputs import feasibility
from tracekit.replay.resources import Cluster, GPUPool

BSLD_TAU_S = 10.0
OUTPUT_COLUMNS = (
    "job_id", "vc", "submit_time", "start_time", "end_time", "queue_s", "jct_s", "preemptions",
)  # fmt: skip


def _stats(prefix: str, col: str) -> list[pl.Expr]:
    c = pl.col(col)
    return [
        c.mean().alias(f"{prefix}_mean_s"),
        c.median().alias(f"{prefix}_p50_s"),
        c.quantile(0.95, "linear").alias(f"{prefix}_p95_s"),
        c.quantile(0.99, "linear").alias(f"{prefix}_p99_s"),
    ]


@dataclass
class ReplayResult:
    """Outcome of :func:`tracekit.replay.replay` (whole or shared GPUs).

    Attributes
    ----------
    jobs : polars.DataFrame
        One row per job, input order: ``job_id, vc, submit_time, start_time, end_time,
        duration_s, num_gpus, queue_s, jct_s, preemptions, overhead_s`` (+ ``pred_duration_s``,
        ``user`` when given; + ``nodes``, the final placement ``node:gpus|...``, in
        artifact-compatible mode). Shared GPUs: ``vc`` is the group the job ran on, plus
        ``group`` (requested; null = any), ``slots, share, util, run_s, served_s, min_rate,
        max_jobs_on_gpu, colocated``.
    resources : Cluster or GPUPool
        What was replayed on (also as ``cluster``).
    config : dict
        Policy, resource model, backfill, placement, compat, overhead, seed, ...
    quality : QualityCounter
        Input repairs and loading decisions (rules ``replay.*``).
    segments : polars.DataFrame
        Run intervals ``vc, start, end, num_gpus`` (one per uninterrupted run). May be given
        as a function of no argument that returns it: it is then built when first read.
    wall_s : float
        Wall-clock time of the replay.
    node_log : list, optional
        With ``record_nodes=True`` (whole GPUs): ``(vc, row, start, end, allocation)`` per run.
    gpu_events : polars.DataFrame, optional
        With ``record=True`` (shared GPUs): ``time, gpu, group, jobs, alloc_units`` after every
        change.
    """

    jobs: pl.DataFrame
    resources: Cluster | GPUPool
    config: dict[str, Any]
    quality: QualityCounter
    segments: pl.DataFrame | Callable[[], pl.DataFrame]
    wall_s: float = 0.0
    node_log: list[tuple[str, int, float, float, tuple[tuple[int, int], ...]]] | None = field(
        default=None, repr=False
    )
    gpu_events: pl.DataFrame | None = field(default=None, repr=False)

    @property
    def cluster(self) -> Cluster | GPUPool:
        """The resources (the earlier name of :attr:`resources`)."""
        return self.resources

    @property
    def policy(self) -> str:
        """Policy name."""
        return str(self.config["policy"])

    @property
    def prediction_model(self) -> str | None:
        """The store's prediction model whose ``pred_duration_s`` the replay read (a replay
        from the store; None otherwise)."""
        return self.config.get("prediction_model")

    @property
    def trained_until(self) -> str | None:
        """When :attr:`prediction_model` was trained until (``2020-08-01``, or a
        ``first..last`` range under weekly retraining); None without store predictions."""
        return self.config.get("trained_until")

    def __post_init__(self) -> None:
        if not isinstance(self.segments, pl.DataFrame):
            self._build_segments = self.segments
            del self.segments

    def __getattr__(self, name: str) -> Any:
        # Reached only for an attribute not set: the deferred segments, built once.
        if name == "segments" and "_build_segments" in self.__dict__:
            self.segments = self.__dict__.pop("_build_segments")()
            return self.segments
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self) -> dict[str, Any]:
        self.segments  # noqa: B018 - a pickle carries the table, not the function
        return self.__dict__

    def summary(self, by_vc: bool | None = None) -> pl.DataFrame:
        """Per-VC (plus ``vc="all"``) statistics; see :func:`summarize`.

        ``by_vc=None``: per VC for a cluster, only the overall row for a GPU pool (whose groups
        are GPU types a job may leave).
        """
        if by_vc is None:
            by_vc = isinstance(self.resources, Cluster)
        return summarize(self.jobs, self.resources, by_vc=by_vc, policy=self.policy)

    def size_split(self) -> pl.DataFrame:
        """Mean JCT and queueing delay of large (multi-node) vs small jobs."""
        return size_split(self.jobs, self.resources)

    def utilization(self, bin_s: float = 60.0) -> pl.DataFrame:
        """Allocated GPUs / capacity per VC and time bin; see :func:`utilization`."""
        return utilization(self.segments, self.resources, bin_s)

    def feasibility(self, period_s: float = 86400.0) -> pl.DataFrame:
        """Offered load per VC and period of the replayed jobs versus capacity (see
        :func:`tracekit.replay.inputs.feasibility`)."""
        return feasibility(self.jobs, self.resources, period_s, validate=False)

    def output(self) -> pl.DataFrame:
        """The per-job table with exactly the CSV output columns."""
        extra = ["nodes"] if "nodes" in self.jobs.columns else []
        return self.jobs.select(*OUTPUT_COLUMNS, *extra)

    def digest(self) -> str:
        """SHA-256 of the per-job output (for determinism checks)."""
        h = hashlib.sha256()
        h.update(self.output().write_csv(float_precision=6).encode())
        return h.hexdigest()


def _replace_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` to a temporary file beside ``path`` (folders created), then rename it into
    place: a failed write leaves the previous file, and no partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_csv_atomic(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV at ``path`` (folders created): a temporary file renamed into
    place, so a failed write leaves the previous file, and no partial one."""
    return _replace_atomic(path, frame.write_csv)


def write_frame_atomic(frame: pl.DataFrame, path: str | Path) -> Path:
    """As :func:`write_csv_atomic`, but as Parquet when the name ends in ``.parquet``."""
    parquet = Path(path).suffix == ".parquet"
    return _replace_atomic(path, frame.write_parquet if parquet else frame.write_csv)


def _node_sizes(resources: Cluster | GPUPool) -> dict[str, int]:
    """GPUs of one node (whole GPUs) or of the largest machine (a pool's group)."""
    if isinstance(resources, Cluster):
        return {vc: spec.gpus_per_node for vc, spec in resources.items()}
    return {g: max(m, default=8) for g, m in resources.machines.items()}


def summarize(
    jobs: pl.DataFrame,
    resources: Cluster | GPUPool,
    by_vc: bool = True,
    policy: str | None = None,
) -> pl.DataFrame:
    """Statistics of a per-job table, per VC and overall (``vc = "all"``).

    Columns: ``policy, vc, jobs, gpus, jct_{mean,p50,p95,p99}_s, queue_{mean,p50,p95,p99}_s,
    bsld_mean, preemptions, makespan_s, utilization`` (GPU-seconds served / (GPUs x makespan));
    shared GPUs add ``colocated_share`` (jobs that shared a GPU) and ``mean_stretch`` (run time /
    duration).
    """
    shared = "colocated" in jobs.columns
    base = jobs.with_columns(
        pl.max_horizontal(
            pl.lit(1.0), pl.col("jct_s") / pl.max_horizontal(pl.col("duration_s"), BSLD_TAU_S)
        ).alias("_bsld"),
        ((pl.col("duration_s") + pl.col("overhead_s")) * pl.col("num_gpus")).alias("_gs"),
    )
    aggs = [
        pl.len().alias("jobs"),
        *_stats("jct", "jct_s"),
        *_stats("queue", "queue_s"),
        pl.col("_bsld").mean().alias("bsld_mean"),
        pl.col("preemptions").sum().alias("preemptions"),
        (pl.col("end_time").max() - pl.col("submit_time").min()).alias("makespan_s"),
        pl.col("_gs").sum().alias("_gs"),
    ]
    extra = []
    if shared:
        extra = ["colocated_share", "mean_stretch"]
        aggs += [
            pl.col("colocated").mean().alias("colocated_share"),
            (pl.col("run_s") / pl.col("duration_s")).mean().alias("mean_stretch"),
        ]
    caps = resources.capacities()
    parts = []
    if by_vc:
        per = (
            base.group_by("vc")
            .agg(aggs)
            .with_columns(
                pl.col("vc").replace_strict(caps, default=0, return_dtype=pl.Int64).alias("gpus")
            )
        )
        parts.append(per)
    total = base.select(aggs).with_columns(
        pl.lit("all").alias("vc"), pl.lit(resources.total_gpus, dtype=pl.Int64).alias("gpus")
    )
    parts.append(total.select(parts[0].columns) if parts else total)
    out = pl.concat(parts).with_columns(
        (pl.col("_gs") / (pl.col("gpus") * pl.col("makespan_s"))).alias("utilization")
    )
    cols = [
        "vc",
        "jobs",
        "gpus",
        "jct_mean_s",
        "jct_p50_s",
        "jct_p95_s",
        "jct_p99_s",
        "queue_mean_s",
        "queue_p50_s",
        "queue_p95_s",
        "queue_p99_s",
        "bsld_mean",
        "preemptions",
        "makespan_s",
        "utilization",
        *extra,
    ]
    out = out.select(cols).sort(pl.col("vc") == "all", "vc")
    if policy is not None:
        out = out.select(pl.lit(policy).alias("policy"), pl.all())
    return out


def size_split(jobs: pl.DataFrame, resources: Cluster | GPUPool) -> pl.DataFrame:
    """JCT and queueing statistics for jobs larger than one node vs the others, per VC + all."""
    gpn = _node_sizes(resources)
    df = jobs.with_columns(
        pl.when(
            pl.col("num_gpus") > pl.col("vc").replace_strict(gpn, default=8, return_dtype=pl.Int64)
        )
        .then(pl.lit("large"))
        .otherwise(pl.lit("small"))
        .alias("size")
    )
    aggs = [pl.len().alias("jobs"), *_stats("jct", "jct_s"), *_stats("queue", "queue_s")]
    per = df.group_by("vc", "size").agg(aggs)
    total = df.group_by("size").agg(aggs).with_columns(pl.lit("all").alias("vc"))
    return pl.concat([per, total.select(per.columns)]).sort(pl.col("vc") == "all", "vc", "size")


def utilization(
    segments: pl.DataFrame, resources: Cluster | GPUPool, bin_s: float = 60.0
) -> pl.DataFrame:
    """Mean allocated GPUs / VC GPUs per time bin (exact time-weighted mean over each bin).

    Returns
    -------
    polars.DataFrame
        ``vc, bin_start_s, busy_gpus, utilization`` for every bin from 0 to the last end.
    """
    frames = []
    for vc, cap_gpus in resources.capacities().items():
        seg = segments.filter(pl.col("vc") == vc)
        if seg.height == 0:
            continue
        s = seg["start"].to_numpy()
        e = seg["end"].to_numpy()
        g = seg["num_gpus"].to_numpy().astype(np.float64)
        nbins = int(np.ceil(e.max() / bin_s)) + 1
        edges = np.arange(nbins + 1, dtype=np.float64) * bin_s
        # Integral of busy GPUs up to each edge: sum of g * overlap([s, e], [0, edge]).
        order_s, order_e = np.argsort(s), np.argsort(e)
        ss, gs = s[order_s], g[order_s]
        ee, ge = e[order_e], g[order_e]
        cs_g, cs_gs = (
            np.concatenate([[0], np.cumsum(gs)]),
            np.concatenate([[0], np.cumsum(gs * ss)]),
        )
        ce_g, ce_ge = (
            np.concatenate([[0], np.cumsum(ge)]),
            np.concatenate([[0], np.cumsum(ge * ee)]),
        )
        i = np.searchsorted(ss, edges, side="right")
        k = np.searchsorted(ee, edges, side="right")
        integral = (cs_g[i] * edges - cs_gs[i]) - (ce_g[k] * edges - ce_ge[k])
        busy = np.diff(integral) / bin_s
        cap = max(cap_gpus, 1)
        frames.append(
            pl.DataFrame(
                {
                    "vc": [vc] * nbins,
                    "bin_start_s": edges[:-1],
                    "busy_gpus": busy,
                    "utilization": busy / cap,
                },
                schema={
                    "vc": pl.String,
                    "bin_start_s": pl.Float64,
                    "busy_gpus": pl.Float64,
                    "utilization": pl.Float64,
                },
            )
        )
    if not frames:
        return pl.DataFrame(
            schema={
                "vc": pl.String,
                "bin_start_s": pl.Float64,
                "busy_gpus": pl.Float64,
                "utilization": pl.Float64,
            }
        )
    return pl.concat(frames)


def compare(results: list[ReplayResult]) -> pl.DataFrame:
    """One row per policy run (overall figures), for a side-by-side table."""
    rows = [r.summary(by_vc=False).with_columns(pl.lit(r.wall_s).alias("wall_s")) for r in results]
    return pl.concat(rows, how="vertical_relaxed")


__all__ = [
    "BSLD_TAU_S",
    "OUTPUT_COLUMNS",
    "ReplayResult",
    "compare",
    "size_split",
    "summarize",
    "utilization",
    "write_csv_atomic",
    "write_frame_atomic",
]
