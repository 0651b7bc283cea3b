"""What every exporter shares: the selected partition, the drop/change ledger behind the README,
time and id helpers, and the VC sizes written for the simulators."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

import polars as pl

from tracekit.store import Store

_US = 1_000_000
DEFAULT_GPUS_PER_NODE = 8


@dataclass
class Part:
    """One (trace, cluster) partition of the store, with the jobs an export selected.

    Attributes
    ----------
    store : Store
        The opened store.
    trace, cluster : str
        The partition.
    meta : dict
        Its manifest entry (time zone, synthetic flag, sources, ...).
    jobs : polars.DataFrame
        The selected rows of the ``jobs`` table, ordered by submit time (file order on ties).
    total : int
        Rows of the partition's ``jobs`` table before the time filter.
    start, end : datetime or None
        The submit-time filter ``[start, end)`` (UTC).
    """

    store: Store
    trace: str
    cluster: str
    meta: dict[str, Any]
    jobs: pl.DataFrame
    total: int
    start: datetime | None = None
    end: datetime | None = None

    @property
    def timezone(self) -> str:
        """The trace's local zone, from the manifest."""
        return str(self.meta.get("timezone") or "UTC")

    @property
    def synthetic(self) -> bool:
        """True when the partition came from tracekit's synthetic sample."""
        return bool(self.meta.get("synthetic"))

    def has(self, name: str) -> bool:
        """True when the partition has rows in table ``name`` (per the manifest)."""
        return bool(self.meta.get("rows", {}).get(name))

    def table(self, name: str) -> pl.DataFrame | None:
        """Another table of the partition (``trace``/``cluster`` dropped), None when it has
        no rows."""
        if not self.has(name):
            return None
        frame = self.store.scan(name, self.trace, self.cluster).collect()
        return frame.drop("trace", "cluster")

    def capacity_by_vc(self) -> pl.DataFrame | None:
        """The partition's per-VC ``capacity`` rows (None when it has none)."""
        capacity = self.table("capacity")
        if capacity is None:
            return None
        capacity = capacity.filter(pl.col("vc").is_not_null())
        return capacity if capacity.height else None

    @cached_property
    def origin(self) -> datetime | None:
        """Time zero of formats counting seconds: the filter's start, else the first submit
        (whole seconds, UTC); None without jobs."""
        if self.start is not None:
            return self.start
        if self.jobs.height == 0:
            return None
        first = self.jobs["submit_time"].min()
        assert isinstance(first, datetime)
        return first.replace(microsecond=0)


@dataclass
class Ledger:
    """What an export wrote, dropped and changed, for its README and its return value.

    Every check is recorded, also when nothing was affected (a zero is evidence of the check).
    """

    files: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    remarks: list[str] = field(default_factory=list)

    def drop(self, reason: str, n: int) -> None:
        """Count ``n`` selected jobs left out of the files for ``reason``."""
        self.dropped[reason] = self.dropped.get(reason, 0) + int(n)

    def drop_rows(self, frame: pl.DataFrame, mask: pl.Expr, reason: str) -> pl.DataFrame:
        """``frame`` without the rows where ``mask`` holds, counted under ``reason``."""
        self.drop(reason, self.count(frame, mask))
        return frame.filter(~mask.fill_null(False))

    def change(self, reason: str, n: int) -> None:
        """Count ``n`` written jobs whose values the format could not carry exactly."""
        self.changed[reason] = self.changed.get(reason, 0) + int(n)

    def changes(self, frame: pl.DataFrame, checks: dict[str, pl.Expr]) -> None:
        """Count, in one pass, the rows of ``frame`` matching each ``reason: mask``."""
        if frame.height == 0:
            counts = (0,) * len(checks)
        else:
            counts = frame.select(
                m.fill_null(False).sum().alias(f"_{i}") for i, m in enumerate(checks.values())
            ).row(0)
        for reason, n in zip(checks, counts, strict=True):
            self.change(reason, n)

    def wrote(self, name: str, rows: int) -> None:
        """Record a file written with ``rows`` data rows."""
        self.files[name] = int(rows)

    def note(self, text: str) -> None:
        """Add a remark to the README."""
        self.remarks.append(text)

    def count(self, frame: pl.DataFrame, mask: pl.Expr) -> int:
        """Rows of ``frame`` where ``mask`` holds (nulls count as false)."""
        return int(frame.select(mask.fill_null(False).sum()).item()) if frame.height else 0


# ---- time and value helpers --------------------------------------------------------------------
def local_text(column: str, timezone: str, fmt: str) -> pl.Expr:
    """A UTC timestamp column as naive wall-clock text in ``timezone`` (seconds truncated)."""
    return pl.col(column).dt.convert_time_zone(timezone).dt.strftime(fmt)


def seconds_from(column: str, origin: datetime) -> pl.Expr:
    """A UTC timestamp column as float seconds since ``origin``."""
    return (pl.col(column) - pl.lit(origin)).dt.total_microseconds() / _US


def subsecond(column: str) -> pl.Expr:
    """True where a timestamp has a fraction of a second (lost by whole-second formats)."""
    return pl.col(column).dt.microsecond() != 0


def subsecond_times() -> pl.Expr:
    """True where the submit, start or end time has a fraction of a second."""
    return subsecond("submit_time") | subsecond("start_time") | subsecond("end_time")


def fractional(column: str) -> pl.Expr:
    """True where a number is not whole."""
    return pl.col(column) != pl.col(column).round(0)


def numbering(values: pl.Series) -> dict[str, int]:
    """Numbers 1, 2, ... for the distinct non-null values, in order of first appearance."""
    distinct = values.drop_nulls().unique(maintain_order=True)
    return {v: i for i, v in enumerate(distinct.to_list(), start=1)}


def integer_ids(ids: pl.Series) -> bool:
    """True when every id is a distinct positive integer written plainly (``"42"``)."""
    as_int = ids.str.to_integer(strict=False)
    if as_int.null_count() or ids.n_unique() != ids.len():
        return False
    return bool((as_int > 0).all() and (as_int.cast(pl.String) == ids).all())


_DNS_LABEL = r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$"


def dns_names(ids: pl.Series) -> bool:
    """True when every id is a valid, distinct Kubernetes object name (lower-case DNS label)."""
    valid = ids.str.contains(_DNS_LABEL).fill_null(False)
    return bool(valid.all()) and ids.n_unique() == ids.len()


# ---- VC sizes ----------------------------------------------------------------------------------
def replay_window(part: Part, gpu_jobs: pl.DataFrame) -> tuple[date, date] | None:
    """First and last day of the replayed jobs, as ``tracekit.replay.replay_from_store`` takes it
    (the filter's start day, else the first submit day; the last submit day)."""
    if gpu_jobs.height == 0:
        return None
    first = part.start.date() if part.start is not None else gpu_jobs["submit_time"].min().date()
    return first, gpu_jobs["submit_time"].max().date()


def vc_nodes(part: Part, gpu_jobs: pl.DataFrame) -> tuple[dict[str, int], str]:
    """Nodes of 8 GPUs per VC for the simulators, and where the sizes came from.

    With per-VC ``capacity`` rows the sizes are tracekit's replay's (the capacity day nearest
    the middle of the jobs' window, ``nodes = GPUs // 8``). Otherwise each VC gets the nodes its
    peak concurrent GPU demand needs, so every job fits.
    """
    from tracekit.replay.resources import cluster_from_capacity

    capacity = part.capacity_by_vc()
    if capacity is not None:
        cluster = cluster_from_capacity(capacity, window=replay_window(part, gpu_jobs))
        nodes = {vc: spec.nodes for vc, spec in cluster.items()}
        day = cluster.source.removeprefix("capacity@")
        return nodes, f"the store's capacity table on {day} (GPUs // 8 per VC)"
    return demand_nodes(gpu_jobs), (
        "no per-VC capacity in the store: each VC sized by the peak concurrent GPU demand of "
        "the exported jobs, in whole nodes of 8 GPUs (every job fits; queueing is not the real "
        "cluster's)"
    )


def demand_nodes(jobs: pl.DataFrame, gpus_per_node: int = DEFAULT_GPUS_PER_NODE) -> dict[str, int]:
    """Per VC: nodes needed for its peak concurrent GPU demand (and its largest job)."""
    ran = jobs.filter(
        pl.col("start_time").is_not_null() & pl.col("end_time").is_not_null()
        & (pl.col("num_gpus") > 0)
    ).with_columns(pl.col("vc").fill_null("<none>"), pl.col("num_gpus").ceil())  # fmt: skip
    if ran.height == 0:
        return {}
    events = pl.concat([
        ran.select("vc", pl.col("start_time").alias("t"), pl.col("num_gpus").alias("d")),
        ran.select("vc", pl.col("end_time").alias("t"), (-pl.col("num_gpus")).alias("d")),
    ])  # fmt: skip
    peak = (
        events.sort("vc", "t", "d")  # releases before arrivals at the same instant
        .with_columns(pl.col("d").cum_sum().over("vc").alias("busy"))
        .group_by("vc")
        .agg(pl.col("busy").max())
    )
    largest = ran.group_by("vc").agg(pl.col("num_gpus").max().alias("largest"))
    sized = peak.join(largest, on="vc").sort("vc")
    return {
        vc: math.ceil(max(busy, big) / gpus_per_node)
        for vc, busy, big in sized.iter_rows()
    }


__all__ = [
    "DEFAULT_GPUS_PER_NODE",
    "Ledger",
    "Part",
    "demand_nodes",
    "dns_names",
    "fractional",
    "integer_ids",
    "local_text",
    "numbering",
    "replay_window",
    "seconds_from",
    "subsecond",
    "subsecond_times",
    "vc_nodes",
]
