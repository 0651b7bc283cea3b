"""The measure registry and the per-store context that measures share.

A *measure* turns a store into one number for one published row: ``fn(ctx, trace, cluster,
**params) -> float | None`` (None = the store lacks the data). Trace modules register theirs with
:func:`measure`; a row of a published CSV names its measure in the ``measure`` column and its
parameters in ``params`` (``key=value;key=value``, values passed as strings).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from tracekit.store import Store

Measure = Callable[..., float | None]
MEASURES: dict[str, Measure] = {}

# Columns of the jobs table the measures read; the jobs are read once per trace and kept in
# memory (dozens of measures re-reading Parquet would dominate the run time).
JOB_COLUMNS: tuple[str, ...] = (
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


def measure(key: str) -> Callable[[Measure], Measure]:
    """Register ``fn`` as the measure named ``key`` (a published row's ``measure`` column).

    Raises
    ------
    ValueError
        When ``key`` is already registered (two traces must not silently share a name).
    """

    def register(fn: Measure) -> Measure:
        if key in MEASURES:
            raise ValueError(f"measure {key!r} is registered twice")
        MEASURES[key] = fn
        return fn

    return register


class Context:
    """Lazily computed, cached frames over one store, shared by every measure of a run."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[tuple[Any, ...], Any] = {}

    def cached(self, key: tuple[Any, ...], fn: Callable[[], Any]) -> Any:
        """``fn()`` computed once per ``key``."""
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def has(self, table: str, trace: str) -> bool:
        """True when some partition of ``trace`` has rows in ``table``."""
        return any(
            p["trace"] == trace and p.get("rows", {}).get(table, 0) > 0
            for p in self.store.partitions
        )

    def scan(self, table: str, trace: str) -> pl.LazyFrame:
        """The store's ``table`` for ``trace`` (lazy)."""
        return self.store.scan(table, trace=trace)

    def table(self, table: str, trace: str, columns: tuple[str, ...]) -> pl.LazyFrame | None:
        """``columns`` of ``table`` read once into memory (None when the table is empty)."""
        if not self.has(table, trace):
            return None
        return self.cached(
            ("table", table, trace, columns),
            lambda: self.scan(table, trace).select(columns).collect(),
        ).lazy()

    def jobs(self, trace: str) -> pl.LazyFrame:
        """The trace's jobs (the columns of :data:`JOB_COLUMNS`), read once."""
        return self.cached(
            ("jobs", trace), lambda: self.scan("jobs", trace).select(JOB_COLUMNS).collect()
        ).lazy()


def keys_for(cluster: str) -> list[str]:
    """Group keys of a row: per cluster, or the trace pooled when ``cluster == "all"``."""
    return ["trace"] if cluster == "all" else ["trace", "cluster"]


def per_cluster(
    ctx: Context,
    tag: str,
    trace: str,
    cluster: str,
    compute: Callable[[list[str]], pl.DataFrame],
) -> pl.DataFrame:
    """Rows of ``compute(keys)`` for ``cluster`` (the pooled frame when ``cluster == "all"``).

    The frame is computed once per (tag, trace, pooled) and shared by every row reading it.
    """
    pooled = cluster == "all"
    df = ctx.cached((tag, trace, pooled), lambda: compute(keys_for(cluster)))
    return df if pooled else df.filter(pl.col("cluster") == cluster)


def pick(df: pl.DataFrame | None, col: str, **where: Any) -> float | None:
    """The first value of ``col`` in the rows of ``df`` matching ``where`` (None if absent)."""
    if df is None:
        return None
    sub = df
    for k, v in where.items():
        sub = sub.filter(pl.col(k).is_null() if v is None else pl.col(k) == v)
    if sub.height == 0:
        return None
    val = sub[col][0]
    return None if val is None else float(val)


def pct(x: float | None) -> float | None:
    """A 0..1 share as percent (None stays None)."""
    return None if x is None else 100.0 * x


def quantile(values: pl.Series, q: float) -> float | None:
    """Linear-interpolation quantile of the non-null values (None when there are none)."""
    v = values.drop_nulls()
    if v.len() == 0:
        return None
    out = v.quantile(q, interpolation="linear")
    return None if out is None else float(out)
