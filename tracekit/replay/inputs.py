"""Replay inputs: the only place that reads CSV files or the store, validates and repairs.

The engines read one polars job table (times in seconds from the start of the replayed window):

=====================  =========  =============================================================
column                 dtype      meaning
=====================  =========  =============================================================
``job_id``             String     unique id
``vc``                 String     virtual cluster (whole GPUs: must exist in the cluster)
``submit_time``        Float64    seconds from the window start
``duration_s``         Float64    true run time, seconds (> 0)
``num_gpus``           Int64      GPUs requested (> 0; whole GPUs: at most the VC's GPUs;
                                  shared GPUs: Float64, fractions allowed)
``pred_duration_s``    Float64    optional: predicted run time (prediction policies)
``user``               String     optional, carried through (and keys the utilisation prior)
``group``              String     optional, shared GPUs: the job's GPU type or VC (null = any);
                                  defaults to ``vc``
``util``               Float64    optional, shared GPUs: GPU utilisation, fraction of one GPU
``gpu_util_mean``      Float64    optional, shared GPUs: utilisation in percent (store column)
``num_cpus``           Float64    optional, node placements: cores the job reserves on its node
``mem_gb``             Float64    optional, node placements: memory (GiB) it reserves there
=====================  =========  =============================================================

Under a node placement (``best-fit``, ``packing``, ``load-balancing``, ``fgd``) a job may ask for
no GPU (``num_gpus = 0``: CPU and memory only), and ``group`` may name several groups joined by
``|`` (the GPU models the job may use).

Column names carry their unit as in the store. The earlier names ``duration`` and
``pred_duration`` are still read (CSV files and frames) and renamed.

Bad rows raise :class:`~tracekit.errors.TraceFormatError` naming the file and line, or, with
``repair=True`` (``tracekit replay --repair``), are dropped or fixed and counted under
``replay.*`` rules of a :class:`~tracekit.quality.QualityCounter`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date as Date
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.replay.resources import (
    DEFAULT_GPUS_PER_NODE,
    GROUP_SEPARATOR,
    Cluster,
    GPUPool,
    VCSpec,
    cluster_from_capacity,
    cluster_from_machines,
)
from tracekit.timeutil import as_utc

REQUIRED = ("job_id", "vc", "submit_time", "duration_s", "num_gpus")
OPTIONAL = ("pred_duration_s", "user")
SHARED_OPTIONAL = (
    "pred_duration_s", "user", "group", "util", "gpu_util_mean", "num_cpus", "mem_gb",
)  # fmt: skip

LEGACY_NAMES = {"duration": "duration_s", "pred_duration": "pred_duration_s"}
"""Earlier column names, still accepted and renamed."""
MAX_TIME_S = 1e12
"""Largest accepted time or duration (about 31,700 years): anything above is a unit error."""
_REPAIR_HINT = (
    " (repair=True, or tracekit replay --repair, drops or fixes such rows and counts them)"
)

# Utilisation prior where a trace has none (Helios) or a job lacks it: Philly's per-GPU-minute
# utilisation of completed jobs has a mean of about 48 %. A Beta(1.2, 1.3) draw has that mean and
# a broad shape; one draw per user makes a user's jobs alike (recurring workloads), the way
# Lucid's profiled workload types do.
UTIL_PRIOR_BETA: tuple[float, float] = (1.2, 1.3)


def canonical(jobs: pl.DataFrame) -> pl.DataFrame:
    """Rename the earlier column names (``duration``, ``pred_duration``) to the unit-suffixed
    ones, unless the new name is already there."""
    rename = {old: new for old, new in LEGACY_NAMES.items()
              if old in jobs.columns and new not in jobs.columns}  # fmt: skip
    return jobs.rename(rename) if rename else jobs


# ---- CSV ---------------------------------------------------------------------------------------
def read_jobs_csv(path: str | Path) -> pl.DataFrame:
    """Read ``JOBS.csv``: ``job_id,vc,submit_time,duration_s,num_gpus`` plus any of
    ``pred_duration_s, user, group, util, gpu_util_mean`` (``duration`` and ``pred_duration``
    are read as the earlier names).

    Numbers are parsed leniently here (unparseable cells become null) so that validation can
    name the offending line.

    Raises
    ------
    TraceFormatError
        If the file cannot be read or a required column is missing.
    """
    path = Path(path)
    try:
        raw = canonical(pl.read_csv(path, infer_schema=False))
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise TraceFormatError(path, None, f"cannot read CSV: {exc}") from exc
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise TraceFormatError(path, 1, f"missing columns {missing}; need {','.join(REQUIRED)}")
    number = ("submit_time", "duration_s", "num_gpus", *_NUMBERS[2:])
    cols = []
    for c in (*REQUIRED, *SHARED_OPTIONAL):
        if c not in raw.columns:
            continue
        col = pl.col(c).str.strip_chars()
        cols.append(col.cast(pl.Float64, strict=False) if c in number else col)
    return raw.select(cols)


def read_vcs_csv(path: str | Path) -> Cluster:
    """Read ``VCS.csv``: columns ``vc,nodes[,gpus_per_node]`` (8 GPUs per node by default).

    Raises
    ------
    TraceFormatError
        On a missing column, a non-integer or negative value, or a duplicate VC (names the row).
    """
    path = Path(path)
    try:
        df = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise TraceFormatError(path, None, f"cannot read CSV: {exc}") from exc
    for col in ("vc", "nodes"):
        if col not in df.columns:
            raise TraceFormatError(
                path, 1, f"missing column {col!r}; need vc,nodes[,gpus_per_node]"
            )
    has_gpn = "gpus_per_node" in df.columns
    vcs: dict[str, VCSpec] = {}
    for row, rec in enumerate(df.iter_rows(named=True), start=2):
        vc = (rec["vc"] or "").strip()
        if not vc:
            raise TraceFormatError(path, row, "empty vc name")
        if vc in vcs:
            raise TraceFormatError(path, row, f"duplicate vc {vc!r}")
        try:
            nodes = int(rec["nodes"])
            gpn = int(rec["gpus_per_node"]) if has_gpn and rec["gpus_per_node"] else 8
            vcs[vc] = VCSpec(nodes, gpn)
        except (TypeError, ValueError) as exc:
            raise TraceFormatError(path, row, f"bad size for vc {vc!r}: {exc}") from exc
    if not vcs:
        raise TraceFormatError(path, None, "no VC rows")
    return Cluster(vcs, source=str(path.name))


# ---- validation --------------------------------------------------------------------------------
def validate_jobs(
    jobs: pl.DataFrame,
    resources: Cluster | GPUPool,
    *,
    repair: bool = False,
    needs_prediction: bool = False,
    allow_zero_duration: bool = False,
    type_affinity: str = "strict",
    on_nodes: bool = False,
    quality: QualityCounter | None = None,
    source: str = "<jobs>",
    line_offset: int = 1,
    vc_index: np.ndarray | None = None,
) -> tuple[pl.DataFrame, QualityCounter]:
    """Check (or repair) a job table against a cluster (whole GPUs) or a GPU pool (shared GPUs).

    Parameters
    ----------
    jobs : polars.DataFrame
        Columns as in the module docstring.
    resources : Cluster or GPUPool
        VC sizes (whole GPUs), or GPU groups (shared GPUs: fractional GPUs allowed, ``group``
        instead of ``vc``).
    repair : bool
        Drop (or fix) bad rows and count them instead of raising.
    needs_prediction : bool
        The policy reads ``pred_duration_s``: missing or non-positive predictions are errors, or,
        when repairing, replaced by the median of the valid predictions (counted).
    allow_zero_duration : bool
        Accept ``duration_s == 0`` (the whole-GPU engine handles it; by default it is rejected).
    type_affinity : {"strict", "any"}
        Shared GPUs: a job must fit its own group (strict) or the largest group.
    on_nodes : bool
        Shared GPUs under a node placement: jobs without GPUs are valid, and a job must fit one
        node of its groups, empty (GPUs, ``num_cpus``, ``mem_gb``; ``replay.job_fits_no_node``).
    quality : QualityCounter, optional
        Counter to add to (a new one otherwise).
    source : str
        Name used in error messages (the CSV path).
    line_offset : int
        Added to the 0-based row index in messages (2 for a CSV with a header line).
    vc_index : numpy.ndarray, optional
        Whole GPUs: each row's VC as an index into the cluster's sorted VC names
        (:func:`vc_index`), when the caller has it; the VC checks then need no second look at
        the names.

    Returns
    -------
    (polars.DataFrame, QualityCounter)
        The clean table with canonical names and dtypes, and the counts (rules ``replay.*``).
    """
    quality = quality if quality is not None else QualityCounter()
    shared = isinstance(resources, GPUPool)
    jobs = canonical(jobs)
    if shared and "vc" not in jobs.columns:
        jobs = jobs.with_columns(pl.lit(None, dtype=pl.String).alias("vc"))
    missing = [c for c in REQUIRED if c not in jobs.columns]
    if missing:
        raise TraceFormatError(source, None, f"missing columns {missing}")
    if needs_prediction and "pred_duration_s" not in jobs.columns:
        raise TraceFormatError(
            source, None, "the policy needs predictions but there is no pred_duration_s column"
        )
    keep = [c for c in (*REQUIRED, *(SHARED_OPTIONAL if shared else OPTIONAL)) if c in jobs.columns]
    # Whole GPUs: integer GPU counts stay integers on the fast path (they end as Int64); the
    # rules and their messages see them as floats, as they see every number.
    whole_ints = not shared and jobs.schema["num_gpus"].is_integer()
    df = jobs.select(keep).with_columns(
        pl.col("job_id").cast(pl.String),
        pl.col("vc").cast(pl.String),
        *[pl.col(c).cast(pl.Float64) for c in (*_NUMBERS, "num_gpus") if c in keep
          and not (c == "num_gpus" and whole_ints)],
    )  # fmt: skip
    if shared and "group" not in df.columns:
        df = df.with_columns(pl.col("vc").alias("group"))
    if shared and on_nodes:
        df = df.with_columns(
            pl.lit(None, dtype=pl.Float64).alias(c) for c in ("num_cpus", "mem_gb")
            if c not in df.columns
        )  # fmt: skip
    caps = resources.capacities()
    rules = _rules(allow_zero_duration, needs_prediction, caps, shared, type_affinity)
    if shared and on_nodes:
        rules = _node_rules(rules, resources, type_affinity)  # type: ignore[arg-type]
    gpu_dtype = pl.Float64 if shared else pl.Int64
    # Fast path: a few column-wide checks tell whether any rule finds a row; clean tables (the
    # usual case) stop here.
    if not _any_bad(df, rules, caps, shared, vc_index):
        for rule, _, _, _ in rules:
            quality.add(rule, 0)
        return df.with_columns(pl.col("num_gpus").cast(gpu_dtype)), quality
    df = df.with_columns(pl.col("num_gpus").cast(pl.Float64)).with_row_index("_row")
    # Slow path, rule by rule in order (a repair can change what later rules see).
    for rule, expr, problem, fix in rules:
        mask = df.select(expr).to_series().fill_null(True).to_numpy()
        n = int(mask.sum())
        quality.add(rule, n)
        if not n:
            continue
        if not repair:
            i = int(np.flatnonzero(mask)[0])
            row = int(df["_row"][i])
            shown = {k: v for k, v in df.row(i, named=True).items() if k != "_row"}
            raise TraceFormatError(source, row + line_offset, f"{problem}: {shown}{_REPAIR_HINT}")
        if fix is None:
            df = df.filter(~pl.Series(mask))
        else:
            name = fix.meta.output_name()
            if name == "pred_duration_s":
                valid = df.filter(~pl.Series(mask))["pred_duration_s"]
                fix = pl.lit(float(valid.median()) if valid.len() else 1.0)
            df = df.with_columns(
                pl.when(pl.Series(mask)).then(fix).otherwise(pl.col(name)).alias(name)
            )
    df = df.drop("_row").with_columns(pl.col("num_gpus").cast(gpu_dtype))
    return df, quality


def _any_bad(
    df: pl.DataFrame,
    rules: list[tuple[str, pl.Expr, str, pl.Expr | None]],
    caps: dict[str, int],
    shared: bool,
    vc_index: np.ndarray | None = None,
) -> bool:
    """Whether any rule finds a bad row (the fast path of :func:`validate_jobs`).

    Cheaper equivalents of the rules' masks: the numeric rules are decided from each column's
    smallest and largest value (:func:`_numbers_bad`; NaN and nulls spoil both), empty and
    duplicate ids from the ids' Arrow views when they are short (:func:`_ids_bad`), on whole
    GPUs the two VC rules by comparing each row's GPUs with its VC's size through
    ``vc_index`` (every row's VC known), or else the largest request of each VC name. Any
    other rule's mask is summed, all in one polars pass.
    """
    if df.height == 0:
        return False
    names = [rule for rule, _, _, _ in rules]
    decided = _numbers_bad(df, names)
    if decided is True:
        return True
    quick = set(decided)
    ids = _ids_bad(df["job_id"], "replay.null_job_id" in names)
    if ids:
        return True
    quick |= {"replay.null_job_id", "replay.duplicate_job_id"}
    if "replay.null_vc" in names:
        if df["vc"].null_count():
            return True
        quick.add("replay.null_vc")
    per_vc = not shared and "replay.unknown_vc" in names
    if per_vc:
        quick |= {"replay.unknown_vc", "replay.job_larger_than_vc"}
    rest = [expr.sum().alias(rule) for rule, expr, _, _ in rules if rule not in quick]
    if rest and any(df.select(rest).row(0)):
        return True
    if not per_vc:
        return False
    if vc_index is not None and len(vc_index) == df.height:
        sizes = np.array([caps[vc] for vc in sorted(caps)], dtype=np.int64)
        gpus = df["num_gpus"].to_numpy()
        # (NaN GPUs compare False here; the GPU rule above has flagged them already.)
        if gpus.max() <= sizes.min():  # every job fits the smallest VC
            return False
        return bool((gpus > sizes[vc_index]).any())
    largest = df.group_by("vc").agg(pl.col("num_gpus").max())
    return any(
        vc is not None and (vc not in caps or (top is not None and top > caps[vc]))
        for vc, top in largest.iter_rows()
    )


def _numbers_bad(df: pl.DataFrame, rules: list[str]) -> bool | set[str]:
    """True when a numeric rule among ``rules`` finds a row, else the set of those decided
    (they find none).

    Each is decided by the column's smallest and largest value alone: numpy's ``min`` and
    ``max`` return NaN when any value is NaN (nulls become NaN too), and NaN fails every
    comparison below, as a non-finite value fails the rules.
    """
    limits: dict[str, tuple[Any, Any]] = {}

    def bounds(col: str) -> tuple[Any, Any]:
        if col not in limits:
            values = df[col].to_numpy()
            limits[col] = (values.min(), values.max())
        return limits[col]

    checks = {
        "replay.bad_submit_time": ("submit_time", lambda lo, hi: lo > -np.inf and hi < np.inf),
        "replay.bad_duration": ("duration_s", lambda lo, hi: lo > -np.inf and hi < np.inf),
        "replay.negative_duration": ("duration_s", lambda lo, hi: lo >= 0),
        "replay.nonpositive_duration": ("duration_s", lambda lo, hi: lo > 0),
        "replay.nonpositive_gpus": ("num_gpus", lambda lo, hi: lo > 0 and hi < np.inf),
        "replay.negative_gpus": ("num_gpus", lambda lo, hi: lo >= 0 and hi < np.inf),
        "replay.bad_prediction_filled_with_median": (
            "pred_duration_s", lambda lo, hi: lo > 0 and hi <= MAX_TIME_S),
    }  # fmt: skip
    decided: set[str] = set()
    for rule in rules:
        if rule in checks:
            col, ok = checks[rule]
            if not ok(*bounds(col)):
                return True
        elif rule == "replay.time_out_of_range":
            (slo, shi), (_, dhi) = bounds("submit_time"), bounds("duration_s")
            if not (-MAX_TIME_S <= slo and shi <= MAX_TIME_S and dhi <= MAX_TIME_S):
                return True
        elif rule == "replay.fractional_gpus_rounded_up":
            gpus = df["num_gpus"]
            if not gpus.dtype.is_integer():
                lo, hi = bounds("num_gpus")
                values = gpus.to_numpy()
                # (only finite values reach here: a NaN or inf fails the GPU rule first)
                if not (lo > -np.inf and hi < np.inf) or not (values == np.floor(values)).all():
                    return True
        else:
            continue
        decided.add(rule)
    return decided


def _ids_bad(ids: pl.Series, nonempty: bool) -> bool:
    """Whether a job id is null or empty (when ``nonempty`` is checked) or repeated.

    Short ids are proved distinct from their Arrow views (:func:`_surely_unique`), their
    lengths read from the same views; otherwise ``rows - distinct ids`` decides.
    """
    if ids.null_count():
        # (nulls are repeats of one another too, as ``is_first_distinct`` counts them)
        return nonempty or ids.len() != ids.n_unique()
    short = _short_views(ids)
    views = None if short is None else short[0]
    if nonempty and (short[1] == 0 if short is not None else (ids.str.len_bytes() == 0).any()):
        return True
    if views is not None and _views_distinct(views):
        return False
    return ids.len() != ids.n_unique()


def vc_index(vc: pl.Series, names: list[str]) -> np.ndarray | None:
    """Each row's VC as an index into ``names`` (sorted), by one enum cast; None when a row's
    VC is null or not among them."""
    code = vc.cast(pl.Enum(names), strict=False)
    return None if code.null_count() else code.to_physical().to_numpy()


_MAX_INLINE_BYTES = 12
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)


def _surely_unique(ids: pl.Series) -> bool:
    """True when the strings are certainly all distinct, from their Arrow views alone.

    In Arrow's string-view layout a string of at most 12 bytes lies whole in its 16-byte view
    (length, then the bytes, zero-padded), so equal short strings have equal views. Hashing
    the views and finding no equal hash proves the ids distinct, several times faster than
    hashing the strings; any doubt (longer strings, nulls, another layout, equal hashes) says
    False and the exact count decides.
    """
    short = _short_views(ids)
    return short is not None and _views_distinct(short[0])


def _short_views(ids: pl.Series) -> tuple[np.ndarray, int] | None:
    """The ``(n, 2)`` uint64 Arrow views of at least two strings without nulls that are all at
    most 12 bytes long (each lies whole in its view) and the shortest length, else None."""
    import pyarrow as pa  # (polars' own Arrow export needs it too; not loaded at start-up)

    arr = ids.to_arrow(compat_level=pl.CompatLevel.newest())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.string_view() or arr.null_count or len(arr) < 2:
        return None
    views = np.frombuffer(arr.buffers()[1], dtype=np.uint64).reshape(-1, 2)
    views = views[arr.offset : arr.offset + len(arr)]
    lengths = (views[:, 0] & np.uint64(0xFFFFFFFF)).view(np.int64)
    if int(lengths.max()) > _MAX_INLINE_BYTES:
        return None
    return views, int(lengths.min())


def _views_distinct(views: np.ndarray) -> bool:
    """No two hashes of the views (from :func:`_short_views`) are equal."""
    hashes = views[:, 0] * _HASH_MUL
    hashes ^= views[:, 1]
    hashes.sort()
    return not bool((hashes[1:] == hashes[:-1]).any())


_NUMBERS = (
    "submit_time", "duration_s", "pred_duration_s", "util", "gpu_util_mean", "num_cpus", "mem_gb",
)  # fmt: skip


def _rules(
    allow_zero_duration: bool,
    needs_prediction: bool,
    caps: dict[str, int],
    shared: bool,
    type_affinity: str,
) -> list[tuple[str, pl.Expr, str, pl.Expr | None]]:
    """Validation rules in order: (rule name, bad-row mask, message, fix or None = drop)."""
    gpus, dur, sub = pl.col("num_gpus"), pl.col("duration_s"), pl.col("submit_time")
    known = pl.Series(list(caps), dtype=pl.String)
    rules: list[tuple[str, pl.Expr, str, pl.Expr | None]] = [
        ("replay.null_job_id", pl.col("job_id").is_null() | (pl.col("job_id") == ""),
         "empty job_id", None),
    ]  # fmt: skip
    if not shared:
        rules.append(("replay.null_vc", pl.col("vc").is_null(), "empty vc", None))
    rules += [
        ("replay.bad_submit_time", ~sub.is_finite().fill_null(False),
         "submit_time is not a number", None),
        ("replay.bad_duration", ~dur.is_finite().fill_null(False), "duration_s is not a number",
         None),
        ("replay.time_out_of_range", (sub.abs() > MAX_TIME_S) | (dur > MAX_TIME_S),
         f"submit_time or duration_s beyond {MAX_TIME_S:.0e} s (a unit error?)", None),
    ]  # fmt: skip
    if allow_zero_duration and not shared:
        rules.append(("replay.negative_duration", dur < 0, "duration_s is negative", None))
    else:
        rules.append(("replay.nonpositive_duration", dur <= 0, "duration_s is not positive", None))
    rules.append(
        ("replay.nonpositive_gpus", ~gpus.is_finite().fill_null(False) | (gpus <= 0),
         "num_gpus is not a positive number", None)
    )  # fmt: skip
    if not shared:
        rules.append(
            ("replay.fractional_gpus_rounded_up", gpus != gpus.ceil(),
             "num_gpus is fractional (whole GPUs here; resource_model='shared', or --resources"
             " shared, replays fractions)", gpus.ceil())
        )  # fmt: skip
    rules.append(
        ("replay.duplicate_job_id", ~pl.col("job_id").is_first_distinct(), "duplicate job_id",
         None)
    )  # fmt: skip
    if shared:
        # A gang never spans groups: it must fit its own group (strict) or the largest one.
        slots = gpus.ceil()
        biggest = max(caps.values(), default=0)
        group = pl.col("group")
        if type_affinity == "strict":
            # A job may name several groups ("V100M16|V100M32"): each must be in the pool.
            named = group.str.split(GROUP_SEPARATOR).list.eval(pl.element().is_in(known.implode()))
            rules.append(
                ("replay.unknown_group", group.is_not_null() & ~named.list.all(),
                 f"group (GPU type or VC) not in the pool {known.to_list()}", None)
            )  # fmt: skip
            cap = group.replace_strict(caps, default=biggest, return_dtype=pl.Int64)
        else:
            cap = pl.lit(biggest)
        rules.append(
            ("replay.job_larger_than_group", slots > cap,
             "job needs more GPUs than its group (or the largest group) has", None)
        )  # fmt: skip
    else:
        rules += [
            ("replay.unknown_vc", ~pl.col("vc").is_in(known.implode()),
             f"vc not in cluster {known.to_list()}", None),
            ("replay.job_larger_than_vc",
             gpus > pl.col("vc").replace_strict(caps, default=0, return_dtype=pl.Int64),
             "job needs more GPUs than its VC has", None),
        ]  # fmt: skip
    if needs_prediction:
        pred = pl.col("pred_duration_s")
        rules.append(
            ("replay.bad_prediction_filled_with_median",
             ~pred.is_finite().fill_null(False) | (pred <= 0).fill_null(True)
             | (pred > MAX_TIME_S).fill_null(False),
             "pred_duration_s is missing, not positive or out of range",
             pl.lit(0.0).alias("pred_duration_s"))
        )  # fmt: skip
    return rules


def _node_rules(
    rules: list[tuple[str, pl.Expr, str, pl.Expr | None]], pool: GPUPool, type_affinity: str
) -> list[tuple[str, pl.Expr, str, pl.Expr | None]]:
    """The shared-GPU rules under a node placement: no GPU is a valid request (CPU and memory
    only), and a job must fit one node of its groups when that node is empty."""
    gpus = pl.col("num_gpus")
    out = []
    for rule in rules:
        if rule[0] == "replay.nonpositive_gpus":
            rule = ("replay.negative_gpus", ~gpus.is_finite().fill_null(False) | (gpus < 0),
                    "num_gpus is negative or not a number", None)  # fmt: skip
        out.append(rule)
    cpu, mem = pl.col("num_cpus").fill_null(0.0), pl.col("mem_gb").fill_null(0.0)
    fits_none = pl.struct(gpus, cpu, mem, pl.col("group")).map_batches(
        lambda jobs: _fits_no_node(jobs.struct.unnest(), pool, type_affinity),
        return_dtype=pl.Boolean,
    )
    out += [
        ("replay.bad_cpu_or_memory", ~cpu.is_finite() | ~mem.is_finite() | (cpu < 0) | (mem < 0),
         "num_cpus or mem_gb is negative or not a number", None),
        ("replay.job_fits_no_node", fits_none,
         "no node of the job's groups has that many GPUs, CPU and memory", None),
    ]  # fmt: skip
    return out


def _fits_no_node(jobs: pl.DataFrame, pool: GPUPool, type_affinity: str) -> pl.Series:
    """Per job: no node of its groups could hold it even empty (GPUs, CPU, memory)."""
    sizes: dict[str, set[tuple[int, int, int]]] = {}
    for node in pool.node_list():
        sizes.setdefault(node.group, set()).add((node.gpus, node.cpu_milli, node.memory_mib))
    need = np.column_stack(
        [
            np.ceil(jobs["num_gpus"].fill_nan(0.0).to_numpy() - 1e-9),
            (jobs["num_cpus"].fill_nan(0.0).to_numpy() * 1000).round(),
            (jobs["mem_gb"].fill_nan(0.0).to_numpy() * 1024).round(),
        ]
    )
    groups = jobs["group"].to_list()
    out = np.zeros(len(groups), dtype=bool)
    for name in set(groups):
        own = [] if name is None else [g for g in name.split(GROUP_SEPARATOR) if g in sizes]
        if not own or type_affinity != "strict":
            own = list(sizes)
        caps = np.array(sorted(set().union(*(sizes[g] for g in own))), dtype=np.float64)
        rows = np.flatnonzero([g == name for g in groups])
        fit = (caps[None, :, :] >= need[rows][:, None, :]).all(axis=2).any(axis=1)
        out[rows] = ~fit
    return pl.Series(out)


# ---- utilisation (shared GPUs) -----------------------------------------------------------------
def fill_utilization(jobs: pl.DataFrame, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add ``util`` (fraction of one GPU, in [0, 1]) and ``util_source`` to a job table.

    Order of sources: the job's own ``util`` (fraction) or ``gpu_util_mean`` (percent; Philly's
    per-GPU-minute mean, PAI's sensors) clipped to [0, 1]; else the median of the same user's
    known values in the table; else the median of the known values of jobs of the same GPU
    count; else a seeded draw from Beta(1.2, 1.3) (mean 0.48, Philly's per-GPU-minute mean; the
    substitute for Helios, which has no utilisation at all), one per user (per job when the user
    is unknown). Returns the table and the count per source.
    """
    df = jobs
    for name in ("util", "gpu_util_mean"):
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
    if "user" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.String).alias("user"))
    own = pl.coalesce(
        pl.col("util").cast(pl.Float64).fill_nan(None),
        pl.col("gpu_util_mean").cast(pl.Float64).fill_nan(None) / 100.0,
    ).clip(0.0, 1.0)
    df = df.with_columns(own.alias("_own"), pl.col("num_gpus").ceil().alias("_k"))
    df = df.with_columns(
        pl.col("_own").median().over("user").alias("_user"),
        pl.col("_own").median().over("_k").alias("_size"),
    )
    keys = (
        df.select(pl.coalesce(pl.col("user"), pl.lit("job:") + pl.col("job_id").cast(pl.String)))
        .to_series()
        .to_list()
    )
    a, b = UTIL_PRIOR_BETA
    draws = {k: _prior_draw(k, seed, a, b) for k in set(keys)}
    prior = np.array([draws[k] for k in keys], dtype=np.float64)
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
        .otherwise(pl.lit("prior"))
        .alias("util_source"),
    ).drop("_own", "_user", "_size", "_prior", "_k")
    counts = df.group_by("util_source").len().sort("util_source")
    return df, counts


def _prior_draw(key: str, seed: int, a: float, b: float) -> float:
    # crc32, not hash(): the draw must be the same in every worker process.
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    return float(rng.beta(a, b))


# ---- feasibility -------------------------------------------------------------------------------
def feasibility(
    jobs: pl.DataFrame,
    resources: Cluster | GPUPool,
    period_s: float = 86400.0,
    *,
    validate: bool = True,
    source: str = "<jobs>",
) -> pl.DataFrame:
    """Offered load per VC (or group) and period versus capacity.

    Offered load of a period = GPU-seconds of the jobs submitted in it / (GPUs x period).
    Values above 1 mean the VC cannot keep up during that period (queues will grow).

    Parameters
    ----------
    jobs : polars.DataFrame
        A job table (validated first unless ``validate=False``: a bad row raises
        :class:`~tracekit.errors.TraceFormatError` naming it).
    resources : Cluster or GPUPool
        Capacities per VC (or group; jobs are counted by their ``vc`` column).
    period_s : float
        Period length in seconds (default one day).

    Returns
    -------
    polars.DataFrame
        ``vc, period, period_start_s, jobs, gpu_s, capacity_gpus, offered_load`` plus one row per
        VC with ``period = -1`` for the whole window, sorted by vc and period.
    """
    if not period_s > 0:
        raise ValueError(f"period_s must be positive, got {period_s}")
    if validate:
        jobs, _ = validate_jobs(jobs, resources, source=source)
    caps = resources.capacities()
    df = jobs.select(
        pl.col("vc").fill_null("<any>"),
        # strict=False: never an overflow error on an unvalidated table (it gives null)
        (pl.col("submit_time") // period_s).cast(pl.Int64, strict=False).alias("period"),
        (pl.col("duration_s") * pl.col("num_gpus")).alias("gpu_s"),
    )
    per = df.group_by("vc", "period").agg(pl.len().alias("jobs"), pl.col("gpu_s").sum())
    per = per.with_columns((pl.col("period") * period_s).alias("period_start_s"))
    span = float(jobs["submit_time"].max() - jobs["submit_time"].min()) if jobs.height else 0.0
    span = max(span, period_s)
    whole = (
        df.group_by("vc")
        .agg(pl.len().alias("jobs"), pl.col("gpu_s").sum())
        .with_columns(
            pl.lit(-1, dtype=pl.Int64).alias("period"), pl.lit(0.0).alias("period_start_s")
        )
    )
    out = pl.concat([per, whole.select(per.columns)])
    out = out.with_columns(
        pl.col("vc").replace_strict(caps, default=0, return_dtype=pl.Int64).alias("capacity_gpus"),
        pl.when(pl.col("period") < 0).then(pl.lit(span)).otherwise(pl.lit(period_s)).alias("_len"),
    )
    out = out.with_columns(
        (pl.col("gpu_s") / (pl.col("capacity_gpus") * pl.col("_len"))).alias("offered_load")
    ).drop("_len")
    cols = ["vc", "period", "period_start_s", "jobs", "gpu_s", "capacity_gpus", "offered_load"]
    return out.select(cols).sort("vc", "period")


# ---- the store ---------------------------------------------------------------------------------
def check_partition(store: Any, trace: str | None, cluster: str | None) -> tuple[str, str]:
    """The store's own names of one (trace, cluster) partition (matched ignoring case).

    Raises
    ------
    ValueError or StoreError
        A name is missing or absent; the message lists the traces or clusters present.
    """
    if trace is None:
        raise ValueError(f"store {store.path}: a trace is needed; traces: "
                         f"{', '.join(store.traces) or 'none'}")  # fmt: skip
    if cluster is None:
        present = sorted({p["cluster"] for p in store.select(trace)})
        raise ValueError(f"store {store.path}, trace {trace!r}: a cluster is needed; "
                         f"clusters: {', '.join(present)}")  # fmt: skip
    part = store.select(trace, cluster)[0]
    return part["trace"], part["cluster"]


def prediction_models(store: Any, trace: str, cluster: str) -> list[str]:
    """Models of the ``predictions`` table of one partition, sorted."""
    preds = store.scan("predictions", trace=trace, cluster=cluster)
    return sorted(preds.select(pl.col("model").unique()).collect()["model"].drop_nulls())


def jobs_from_store(
    store: Any,
    trace: str,
    cluster: str,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    prediction_model: str | None = None,
    *,
    needs_prediction: bool = False,
    cpu_jobs: bool = False,
    quality: QualityCounter | None = None,
) -> tuple[pl.DataFrame, datetime]:
    """Replay jobs of one partition: GPU jobs (``num_gpus > 0``; with ``cpu_jobs``, also jobs
    that reserve CPU but no GPU) with a duration, in ``[start, end)`` (UTC).

    Jobs without a duration (never finished in the trace) are left out and counted in
    ``quality`` as ``replay.no_duration``; jobs that ended before their prediction's
    ``trained_until`` (the model learnt from them) are counted as
    ``replay.prediction_in_training_window``.

    Submit times become seconds from ``start`` (or from the first submit). Predictions come from
    the ``predictions`` table (``pred_duration_s`` joined on ``job_id``) of ``prediction_model``;
    without one, they are read only when ``needs_prediction`` and the store holds exactly one
    model (otherwise the error lists the models).

    Returns
    -------
    (polars.DataFrame, datetime)
        ``job_id, vc, gpu_type, submit_time, duration_s, num_gpus, user, gpu_util_mean,
        num_cpus, mem_gb[, pred_duration_s]`` and the time origin (UTC).

    Raises
    ------
    ValueError
        A bound that is not a date, ``end`` not after ``start``, or no job in the window (the
        message gives the submit times the partition has).
    """
    trace, cluster = check_partition(store, trace, cluster)
    lo, hi = window_bounds(start, end)
    model = _choose_model(store, trace, cluster, prediction_model, needs_prediction)
    lf = store.scan("jobs", trace=trace, cluster=cluster)
    if lo is not None:
        lf = lf.filter(pl.col("submit_time") >= lo)
    if hi is not None:
        lf = lf.filter(pl.col("submit_time") < hi)
    wanted = pl.col("num_gpus") > 0
    if cpu_jobs:
        wanted = wanted | (pl.col("num_cpus") > 0)
    columns = ["job_id", "vc", "gpu_type", "submit_time", "duration_s", "num_gpus", "user",
               "gpu_util_mean", "num_cpus", "mem_gb"]  # fmt: skip
    df = lf.filter(wanted).select(columns).collect()
    if not df.height:
        raise ValueError(_empty_window(store, trace, cluster, lo, hi))
    # A job without a duration cannot be replayed: left out, and counted.
    no_duration = int(df["duration_s"].is_null().sum())
    if quality is not None:
        quality.add("replay.no_duration", no_duration)
    df = df.filter(pl.col("duration_s").is_not_null())
    if not df.height:
        raise ValueError(
            f"none of the {no_duration} jobs of {trace}/{cluster} in the window has a duration"
        )
    origin = lo if lo is not None else df["submit_time"].min()
    seconds = (pl.col("submit_time") - pl.lit(origin)).dt.total_microseconds() / 1e6
    df = df.with_columns(seconds.alias("submit_time"), pl.col("vc").fill_null("<none>"))
    if model is not None:
        preds = (
            store.scan("predictions", trace=trace, cluster=cluster)
            .filter(pl.col("model") == model)
            .select("job_id", "pred_duration_s", "trained_until")
            .collect()
            .unique("job_id", keep="first", maintain_order=True)
        )
        df = df.join(preds, on="job_id", how="left", maintain_order="left")
        # The model learnt from the jobs that ended before its trained_until: their predictions
        # are in-sample (a replay on them flatters the predictor). Counted, not refused.
        ended_s = pl.col("submit_time") + pl.col("duration_s")
        cut_s = (pl.col("trained_until") - pl.lit(origin)).dt.total_microseconds() / 1e6
        if quality is not None:
            in_sample = int(df.select((ended_s < cut_s).fill_null(False).sum()).item())
            quality.add("replay.prediction_in_training_window", in_sample)
        df = df.drop("trained_until")
    return df, origin


def prediction_cutoff(store: Any, trace: str, cluster: str, model: str) -> str:
    """When ``model``'s predictions of a partition were trained until: ``2020-08-01`` (one
    model), or ``2020-08-01..2020-09-19`` (weekly retraining: the first and the last)."""
    span = (
        store.scan("predictions", trace=trace, cluster=cluster)
        .filter(pl.col("model") == model)
        .select(pl.col("trained_until").min().alias("a"), pl.col("trained_until").max().alias("b"))
        .collect()
    )
    a, b = span["a"][0], span["b"][0]
    if a is None:
        return "unknown"
    text = [f"{t:%Y-%m-%d}" if (t.hour, t.minute) == (0, 0) else f"{t:%Y-%m-%d %H:%M}"
            for t in (a, b)]  # fmt: skip
    return text[0] if a == b else f"{text[0]}..{text[1]}"


def window_bounds(
    start: datetime | str | None, end: datetime | str | None
) -> tuple[datetime | None, datetime | None]:
    """``start`` and ``end`` as UTC datetimes (None stays None).

    Raises
    ------
    ValueError
        A bound that is not a date or time, or ``end`` not after ``start``.
    """
    bounds = []
    for name, value in (("start", start), ("end", end)):
        try:
            bounds.append(None if value is None else as_utc(value))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: {exc}") from None
    lo, hi = bounds
    if lo is not None and hi is not None and hi <= lo:
        raise ValueError(f"the window is empty: end {hi:%Y-%m-%d %H:%M} is not after start "
                         f"{lo:%Y-%m-%d %H:%M}")  # fmt: skip
    return lo, hi


def _empty_window(
    store: Any, trace: str, cluster: str, lo: datetime | None, hi: datetime | None
) -> str:
    """Why a partition gave no job: the window and the submit times the partition has."""
    span = (
        store.scan("jobs", trace=trace, cluster=cluster)
        .filter(pl.col("num_gpus") > 0)
        .select(pl.col("submit_time").min().alias("a"), pl.col("submit_time").max().alias("b"))
        .collect()
    )
    a, b = span["a"][0], span["b"][0]
    if a is None:
        return f"{trace}/{cluster} has no job that asks for GPUs"
    window = (
        f"[{'…' if lo is None else f'{lo:%Y-%m-%d %H:%M}'}, "
        f"{'…' if hi is None else f'{hi:%Y-%m-%d %H:%M}'})"
    )
    return (
        f"no job of {trace}/{cluster} was submitted in the window {window}; its jobs were "
        f"submitted from {a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M}"
    )


def _choose_model(
    store: Any, trace: str, cluster: str, model: str | None, needs_prediction: bool
) -> str | None:
    if model is None and not needs_prediction:
        return None
    models = prediction_models(store, trace, cluster)
    where = f"{trace}/{cluster}"
    if model is None:
        if len(models) == 1:
            return models[0]
        if not models:
            raise ValueError(
                f"the policy needs predictions and the store has none for {where}; "
                f"run `tracekit predict --trace {trace} --cluster {cluster}` first"
            )
        raise ValueError(
            f"several prediction models for {where}: {', '.join(models)}; choose one "
            "(prediction_model=, or --model on the command line)"
        )
    if model not in models:
        raise ValueError(
            f"no predictions of model {model!r} for {where}; models: {', '.join(models) or 'none'}"
        )
    return model


def cluster_from_store(
    store: Any,
    trace: str,
    cluster: str,
    snapshot: Date | str | None = None,
    gpus_per_node: int = DEFAULT_GPUS_PER_NODE,
    window: tuple[Date, Date] | None = None,
) -> Cluster:
    """Whole-GPU cluster of a partition, from its ``capacity`` (preferred) or ``machines`` table.

    ``capacity`` (GPUs per VC per day) gives one VC per capacity VC at one snapshot day (see
    :func:`~tracekit.replay.resources.cluster_from_capacity`); otherwise the machine list is one
    pooled VC (:func:`~tracekit.replay.resources.cluster_from_machines`).
    """
    trace, cluster = check_partition(store, trace, cluster)
    cap = store.scan("capacity", trace=trace, cluster=cluster).collect()
    if cap.height:
        return cluster_from_capacity(cap, snapshot, gpus_per_node, window)
    machines = store.scan("machines", trace=trace, cluster=cluster).collect()
    if machines.height:
        return cluster_from_machines(machines)
    raise ValueError(f"store has neither capacity nor machines rows for {trace}/{cluster}")


def pool_from_store(
    store: Any,
    trace: str,
    cluster: str,
    scale: float = 1.0,
    gpus_per_node: int = DEFAULT_GPUS_PER_NODE,
    snapshot: Date | str | None = None,
    window: tuple[Date, Date] | None = None,
    *,
    nodes: bool = False,
) -> GPUPool:
    """Shared-GPU pool of a partition.

    ``nodes``: a pool that knows its nodes, from the ``machines`` table
    (:meth:`~tracekit.replay.resources.GPUPool.from_machines`: every machine with its CPU and
    memory, machines without GPUs included), for node placements. Otherwise, partitions whose
    ``machines`` have a ``gpu_type`` (PAI): one group per GPU type, CPU-only machines left out.
    Other partitions: the VC capacity of :func:`cluster_from_store` (one group per VC
    of ``gpus_per_node``-GPU nodes, at ``snapshot`` or the day nearest the middle of
    ``window``), or the machine list as one group ``"pool"``. ``scale`` keeps that fraction of
    the machines of every group (for a what-if on a smaller cluster; the synthetic sample's
    machines are already sized to its jobs).
    """
    trace, cluster = check_partition(store, trace, cluster)
    machines = store.scan("machines", trace=trace, cluster=cluster).collect()
    if nodes and machines.height:
        return GPUPool.from_machines(machines, source=f"nodes:{trace}/{cluster}").scaled(scale)
    typed = machines.filter(pl.col("gpu_type").is_not_null() & (pl.col("num_gpus") > 0))
    if typed.height:
        groups: dict[str, list[int]] = {}
        for gt, n in typed.sort("machine_id").select("gpu_type", "num_gpus").iter_rows():
            groups.setdefault(str(gt), []).append(int(n))
        pool = GPUPool.from_dict(groups, source=f"machines:{trace}/{cluster}")
    else:
        cl = cluster_from_store(store, trace, cluster, snapshot, gpus_per_node, window)
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
    return pool.scaled(scale)


@dataclass
class StoreInputs:
    """What :func:`load_store` read: jobs, resources, time origin and the input notes.

    ``quality`` counts what loading decided (``replay.no_duration``, ``replay.pooled_*``,
    ``replay.util_from_*``, ``replay.group_cleared_single_pool``,
    ``replay.prediction_in_training_window``); validation adds its own rules later.
    ``prediction_model`` is the model whose predictions were read (None: none were), and
    ``trained_until`` when it was trained until (see :func:`prediction_cutoff`).
    """

    jobs: pl.DataFrame
    resources: Cluster | GPUPool
    origin: datetime | None
    quality: QualityCounter = field(default_factory=QualityCounter)
    prediction_model: str | None = None
    trained_until: str | None = None


def load_store(
    store: Any,
    trace: str,
    cluster: str,
    *,
    shared: bool = False,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    prediction_model: str | None = None,
    needs_prediction: bool = False,
    snapshot: Date | str | None = None,
    gpus_per_node: int = DEFAULT_GPUS_PER_NODE,
    capacity_scale: float = 1.0,
    seed: int = 0,
    nodes: bool = False,
) -> StoreInputs:
    """Jobs and resources of one partition, ready for :func:`tracekit.replay.replay`.

    Whole GPUs (``shared=False``): the cluster of :func:`cluster_from_store` (capacity snapshot
    nearest the window's middle, unless ``snapshot``). When the capacity is not split by the
    jobs' VCs (Philly: the machine list; PAI: GPU types), all nodes form one pool and every job
    runs in VC ``"pool"`` (counted as ``replay.pooled_jobs``).

    Shared GPUs: the pool of :func:`pool_from_store` (``nodes``: one that knows its nodes, for
    node placements; jobs that reserve CPU but no GPU are then replayed too); each job's group
    is its GPU type when the pool has GPU types and the jobs name theirs, the GPU models its pod
    may use when the partition has ``pod_specs`` (openb: ``gpu_spec``, null = any; counted as
    ``replay.group_from_pod_specs``), else its VC (cleared when the pool is one ungrouped
    ``"pool"``, counted as ``replay.group_cleared_single_pool``); utilisation from
    :func:`fill_utilization` (counted per source as ``replay.util_from_*``).

    ``capacity_scale`` keeps that fraction of the nodes or machines (a what-if on a smaller
    cluster; the synthetic sample's capacity is already sized to its jobs).
    """
    if isinstance(store, str | Path):
        from tracekit.store import open_store

        store = open_store(store)
    quality = QualityCounter()
    trace, cluster = check_partition(store, trace, cluster)
    model = _choose_model(store, trace, cluster, prediction_model, needs_prediction)
    jobs, origin = jobs_from_store(
        store, trace, cluster, start, end, model, cpu_jobs=shared and nodes, quality=quality,
    )  # fmt: skip
    cutoff = None if model is None else prediction_cutoff(store, trace, cluster, model)
    last_s = origin.timestamp() + float(jobs["submit_time"].max())
    window = (origin.date(), datetime.fromtimestamp(last_s, origin.tzinfo).date())
    if shared:
        pool = pool_from_store(
            store, trace, cluster, capacity_scale, gpus_per_node, snapshot, window, nodes=nodes
        )
        typed = jobs.height > 0 and jobs["gpu_type"].null_count() < jobs.height
        jobs = jobs.with_columns(pl.col("gpu_type" if typed else "vc").alias("group"))
        specs = store.scan("pod_specs", trace=trace, cluster=cluster).select("job_id", "gpu_spec")
        specs = specs.collect()
        if not typed and specs.height:
            # The pod list says which GPU models each pod may use (null: any model).
            allowed = specs.select(
                "job_id", pl.col("gpu_spec").list.join(GROUP_SEPARATOR).alias("group")
            )
            jobs = jobs.drop("group").join(allowed, on="job_id", how="left", maintain_order="left")
            quality.add("replay.group_from_pod_specs", jobs.height)
        elif pool.groups == ["pool"]:
            quality.add("replay.group_cleared_single_pool", int(jobs["group"].is_not_null().sum()))
            jobs = jobs.with_columns(pl.lit(None, dtype=pl.String).alias("group"))
        jobs, counts = fill_utilization(jobs, seed)
        for src, n in counts.iter_rows():
            quality.add(f"replay.util_from_{src}", int(n))
        return StoreInputs(jobs, pool, origin, quality, model, cutoff)
    cl = cluster_from_store(store, trace, cluster, snapshot, gpus_per_node, window)
    job_vcs = set(jobs["vc"].unique().to_list())
    if not set(cl) & job_vcs:
        cl = cl.pooled()
        quality.add("replay.pooled_jobs", jobs.height)
        jobs = jobs.with_columns(pl.lit(next(iter(cl)), dtype=pl.String).alias("vc"))
    return StoreInputs(jobs, cl.scaled(capacity_scale), origin, quality, model, cutoff)


__all__ = [
    "LEGACY_NAMES",
    "MAX_TIME_S",
    "OPTIONAL",
    "REQUIRED",
    "UTIL_PRIOR_BETA",
    "StoreInputs",
    "canonical",
    "check_partition",
    "cluster_from_store",
    "feasibility",
    "fill_utilization",
    "jobs_from_store",
    "load_store",
    "pool_from_store",
    "prediction_cutoff",
    "prediction_models",
    "read_jobs_csv",
    "read_vcs_csv",
    "validate_jobs",
    "vc_index",
    "window_bounds",
]
