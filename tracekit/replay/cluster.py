"""Cluster model of the replay: virtual clusters (VCs) made of identical GPU nodes.

A :class:`Cluster` maps each VC name to a :class:`VCSpec` (``nodes``, ``gpus_per_node``). VCs are
hard partitions, as in the Helios/Lucid simulators (replay.md §5): a job only ever runs on the
nodes of its own VC. A single shared pool is just a one-VC cluster (see :meth:`Cluster.pooled`).

Sources of a cluster:

* explicit: ``Cluster.from_dict({"vcA": (4, 8), "vcB": 2})`` (an int means ``nodes`` of 8 GPUs);
* a ``VCS.csv`` file with columns ``vc,nodes[,gpus_per_node]`` (:func:`read_vcs_csv`);
* the store (:func:`cluster_from_store`): the ``capacity`` table (Helios: GPUs per VC per day;
  one snapshot date is used and ``nodes = GPUs // gpus_per_node``, as the official
  ``vc_dict_generator.py`` does), or, when a trace has no capacity rows, the ``machines`` table
  as one pooled VC.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path

import polars as pl

from tracekit.errors import TraceFormatError

DEFAULT_GPUS_PER_NODE = 8
POOL_VC = "pool"


@dataclass(frozen=True)
class VCSpec:
    """Size of one virtual cluster.

    Parameters
    ----------
    nodes : int
        Number of identical nodes (>= 0; a VC with 0 nodes can run nothing).
    gpus_per_node : int
        GPUs per node (>= 1).
    """

    nodes: int
    gpus_per_node: int = DEFAULT_GPUS_PER_NODE

    def __post_init__(self) -> None:
        if int(self.nodes) != self.nodes or self.nodes < 0:
            raise ValueError(f"nodes must be a non-negative integer, got {self.nodes!r}")
        if int(self.gpus_per_node) != self.gpus_per_node or self.gpus_per_node < 1:
            raise ValueError(
                f"gpus_per_node must be a positive integer, got {self.gpus_per_node!r}"
            )

    @property
    def gpus(self) -> int:
        """Total GPUs of the VC."""
        return int(self.nodes) * int(self.gpus_per_node)


class Cluster(Mapping[str, VCSpec]):
    """An immutable mapping ``vc -> VCSpec``.

    Parameters
    ----------
    vcs : mapping
        ``{vc: VCSpec | (nodes, gpus_per_node) | nodes}``.
    source : str, optional
        Where the sizes came from (kept for reports), e.g. ``"capacity@2020-09-10"``.
    """

    def __init__(self, vcs: Mapping[str, VCSpec | tuple[int, int] | int], source: str = "") -> None:
        specs: dict[str, VCSpec] = {}
        for name, spec in vcs.items():
            if isinstance(spec, VCSpec):
                specs[str(name)] = spec
            elif isinstance(spec, tuple | list):
                specs[str(name)] = VCSpec(int(spec[0]), int(spec[1]))
            else:
                specs[str(name)] = VCSpec(int(spec))
        self._vcs = dict(sorted(specs.items()))
        self.source = source

    @classmethod
    def from_dict(cls, vcs: Mapping[str, VCSpec | tuple[int, int] | int]) -> Cluster:
        """Build a cluster from ``{vc: (nodes, gpus_per_node)}`` (or ``{vc: nodes}``)."""
        return cls(vcs, source="explicit")

    def __getitem__(self, vc: str) -> VCSpec:
        return self._vcs[vc]

    def __iter__(self) -> Iterator[str]:
        return iter(self._vcs)

    def __len__(self) -> int:
        return len(self._vcs)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {v.nodes}x{v.gpus_per_node}" for k, v in self._vcs.items())
        return f"Cluster({{{inner}}}, source={self.source!r})"

    @property
    def total_gpus(self) -> int:
        """GPUs summed over all VCs."""
        return sum(v.gpus for v in self._vcs.values())

    def pooled(self, name: str = POOL_VC) -> Cluster:
        """One shared pool holding every node of every VC.

        All VCs must have the same ``gpus_per_node`` (the pool is a set of identical nodes).
        """
        sizes = {v.gpus_per_node for v in self._vcs.values() if v.nodes}
        if len(sizes) > 1:
            raise ValueError(f"cannot pool VCs with different gpus_per_node {sorted(sizes)}")
        gpn = sizes.pop() if sizes else DEFAULT_GPUS_PER_NODE
        nodes = sum(v.nodes for v in self._vcs.values())
        return Cluster({name: VCSpec(nodes, gpn)}, source=f"pooled({self.source})")

    def to_frame(self) -> pl.DataFrame:
        """The cluster as a table ``vc, nodes, gpus_per_node, gpus``."""
        return pl.DataFrame(
            {
                "vc": list(self._vcs),
                "nodes": [v.nodes for v in self._vcs.values()],
                "gpus_per_node": [v.gpus_per_node for v in self._vcs.values()],
                "gpus": [v.gpus for v in self._vcs.values()],
            },
            schema={
                "vc": pl.String,
                "nodes": pl.Int64,
                "gpus_per_node": pl.Int64,
                "gpus": pl.Int64,
            },
        )


def as_cluster(cluster: Cluster | Mapping[str, VCSpec | tuple[int, int] | int]) -> Cluster:
    """Coerce a mapping to a :class:`Cluster` (a Cluster is returned unchanged)."""
    return cluster if isinstance(cluster, Cluster) else Cluster.from_dict(cluster)


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


def cluster_from_capacity(
    capacity: pl.DataFrame,
    snapshot: Date | str | None = None,
    gpus_per_node: int = DEFAULT_GPUS_PER_NODE,
    window: tuple[Date, Date] | None = None,
) -> Cluster:
    """Size VCs from a ``capacity`` table (``date, vc, num_gpus``) at one snapshot date.

    Parameters
    ----------
    capacity : polars.DataFrame
        Rows of the store's ``capacity`` table for one cluster.
    snapshot : date or str, optional
        Day to use. Default: the capacity day closest to the middle of ``window`` (the official
        Helios simulation used 2020-09-10 for its 2020-09-01..26 window), or the last day when no
        window is given.
    gpus_per_node : int
        Node size; ``nodes = num_gpus // gpus_per_node`` (official ``vc_dict_generator.py``).
        VCs with fewer GPUs than one node get 0 nodes (jobs there are flagged by validation).
    window : (date, date), optional
        First and last day of the replayed jobs, used for the default snapshot.
    """
    if capacity.height == 0:
        raise ValueError("capacity table is empty")
    days = capacity["date"].unique().sort()
    if snapshot is None:
        if window is not None:
            mid = window[0] + (window[1] - window[0]) / 2
            snapshot = min(days.to_list(), key=lambda d: (abs((d - mid).days), d))
        else:
            snapshot = days[-1]
    if isinstance(snapshot, str):
        snapshot = Date.fromisoformat(snapshot)
    rows = capacity.filter(pl.col("date") == snapshot)
    if rows.height == 0:
        raise ValueError(f"no capacity rows on {snapshot}; days {days[0]}..{days[-1]}")
    vcs = {
        vc: VCSpec(int(gpus) // gpus_per_node, gpus_per_node)
        for vc, gpus in rows.select("vc", "num_gpus").iter_rows()
        if gpus is not None and not math.isnan(gpus)
    }
    return Cluster(vcs, source=f"capacity@{snapshot}")


def cluster_from_machines(machines: pl.DataFrame, name: str = POOL_VC) -> Cluster:
    """One pooled VC from a ``machines`` table (GPU machines only).

    The node size is the most common ``num_gpus`` among GPU machines and the node count is
    ``total GPUs // node size`` (a heterogeneous list such as Philly's 2- and 8-GPU servers is
    approximated by identical nodes holding the same number of GPUs).
    """
    gpu = machines.filter(pl.col("num_gpus") > 0)
    if gpu.height == 0:
        raise ValueError("machines table has no GPU machines")
    counts = gpu.group_by("num_gpus").len().sort(["len", "num_gpus"], descending=[True, True])
    gpn = int(counts["num_gpus"][0])
    total = int(gpu["num_gpus"].sum())
    return Cluster({name: VCSpec(total // gpn, gpn)}, source="machines")


def cluster_from_store(
    store: object,
    trace: str,
    cluster: str,
    snapshot: Date | str | None = None,
    gpus_per_node: int = DEFAULT_GPUS_PER_NODE,
    window: tuple[Date, Date] | None = None,
) -> Cluster:
    """Size the replay cluster from a store's ``capacity`` (preferred) or ``machines`` table.

    Parameters
    ----------
    store : tracekit.store.Store
        An opened store.
    trace, cluster : str
        Partition to read.
    snapshot, gpus_per_node, window
        See :func:`cluster_from_capacity`.
    """
    cap = store.scan("capacity", trace=trace, cluster=cluster).collect()  # type: ignore[attr-defined]
    if cap.height:
        return cluster_from_capacity(cap, snapshot, gpus_per_node, window)
    machines = store.scan("machines", trace=trace, cluster=cluster).collect()  # type: ignore[attr-defined]
    if machines.height:
        return cluster_from_machines(machines)
    raise ValueError(f"store has neither capacity nor machines rows for {trace}/{cluster}")
