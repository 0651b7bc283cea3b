"""The two resource models of the replay: whole GPUs on nodes, and individually shared GPUs.

* :class:`Cluster` (whole GPUs): each virtual cluster (VC) is a set of identical nodes
  (:class:`VCSpec`: ``nodes`` x ``gpus_per_node``). VCs are hard partitions, as in the Helios and
  Lucid simulators: a job only ever runs on the nodes of its own VC, and each VC is replayed on
  its own. A single shared pool is a one-VC cluster (:meth:`Cluster.pooled`).
* :class:`GPUPool` (shared GPUs): groups of machines (a GPU type, as in Alibaba PAI, or a VC),
  each GPU modelled on its own so that fractional requests and packed jobs can share it.
  :meth:`Cluster.to_pool` turns VCs into groups. A pool may also know its nodes
  (:class:`Node`: each machine's GPU model, GPUs, CPU and memory, machines without GPUs
  included), as the Alibaba GPU-sharing trace (openb) describes them: node placements then put
  every job on one node.

Reading sizes from files or the store is :mod:`tracekit.replay.inputs`' job; this module only
builds the models from tables already in memory (``capacity`` and ``machines`` rows).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date as Date
from typing import Any

import numpy as np
import polars as pl

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

    def capacities(self) -> dict[str, int]:
        """``{vc: GPUs}``."""
        return {vc: spec.gpus for vc, spec in self._vcs.items()}

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

    def scaled(self, factor: float) -> Cluster:
        """Keep ``round(factor x nodes)`` nodes of every VC (at least one if it had any)."""
        if factor == 1.0:
            return self
        out = {
            vc: VCSpec(max(1, round(s.nodes * factor)) if s.nodes else 0, s.gpus_per_node)
            for vc, s in self._vcs.items()
        }
        return Cluster(out, source=f"{self.source} x{factor:g}")

    def to_pool(self) -> GPUPool:
        """The same GPUs as a :class:`GPUPool` with one group per VC (for the shared model)."""
        return GPUPool.from_dict(
            {vc: (spec.nodes, spec.gpus_per_node) for vc, spec in self._vcs.items()},
            source=self.source or "explicit",
        )

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


GPU_TIERS: tuple[str, ...] = ("T4", "MISC", "P100", "V100", "V100M32")
"""Alibaba PAI GPU types from low-end to high-end: the order reserving-and-packing fills them."""
CPU_GROUP = "cpu"
"""Group of the machines without GPUs in a pool built from a machine list (they host CPU jobs)."""
UNLIMITED = 1 << 62
"""Capacity of a node resource the machine list does not state (never binding)."""
GROUP_SEPARATOR = "|"
"""Separates the groups a shared-GPU job may use (``"V100M16|V100M32"``: GPU models)."""


@dataclass(frozen=True)
class Node:
    """One machine of a pool that knows its nodes: its group (GPU model), GPUs, CPU and memory.

    Attributes
    ----------
    machine_id : str
        Name of the machine (the store's ``machine_id``).
    group : str
        GPU model (or VC) of its GPUs; :data:`CPU_GROUP` for a machine without GPUs.
    gpus : int
        GPUs on the machine (>= 0).
    cpu_milli, memory_mib : int
        CPU in thousandths of a core and memory in MiB (:data:`UNLIMITED` when unknown).
    """

    machine_id: str
    group: str
    gpus: int
    cpu_milli: int = UNLIMITED
    memory_mib: int = UNLIMITED


@dataclass(frozen=True)
class GPUPool:
    """GPUs grouped by type or VC: ``{group: (gpus of machine 0, gpus of machine 1, ...)}``.

    Build with :meth:`from_dict` (``{"T4": (497, 2)}`` = 497 machines of 2 GPUs),
    :meth:`Cluster.to_pool`, :meth:`from_nodes`, :meth:`from_machines` or
    :func:`tracekit.replay.inputs.pool_from_store`. Groups are kept low tier first
    (:data:`GPU_TIERS`, then other names alphabetically).

    A pool may also know its **nodes** (:attr:`nodes`: every machine's name, CPU and memory, in
    the pool's own machine order, machines without GPUs included). The shared-GPU engine then
    lets the node placements (``best-fit``, ``packing``, ``load-balancing``, ``fgd``) put each
    job on one node within its CPU, memory and GPUs.
    """

    machines: Mapping[str, tuple[int, ...]]
    source: str = "explicit"
    nodes: tuple[Node, ...] | None = None

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

    @classmethod
    def from_nodes(cls, nodes: Sequence[Node], source: str = "explicit") -> GPUPool:
        """A pool that knows its nodes (kept in the given order; names must be unique)."""
        seen: set[str] = set()
        groups: dict[str, list[int]] = {}
        for node in nodes:
            if node.machine_id in seen:
                raise ValueError(f"duplicate machine {node.machine_id!r}")
            seen.add(node.machine_id)
            if node.gpus < 0 or node.cpu_milli < 0 or node.memory_mib < 0:
                raise ValueError(f"machine {node.machine_id!r}: negative capacity {node}")
            groups.setdefault(node.group, []).append(int(node.gpus))
        machines = {g: tuple(groups[g]) for g in sorted(groups, key=_tier_key)}
        return cls(machines, source, tuple(nodes))

    @classmethod
    def from_machines(cls, machines: pl.DataFrame, source: str = "machines") -> GPUPool:
        """A pool that knows its nodes, from rows of the store's ``machines`` table.

        One group per ``gpu_type`` (machines with GPUs but no type: group ``"pool"``; machines
        without GPUs: :data:`CPU_GROUP`); CPU ``num_cpus x 1000`` thousandths of a core and
        memory ``mem_gb x 1024`` MiB (:data:`UNLIMITED` where null). Machines sorted by
        ``machine_id``.
        """
        if machines.height == 0:
            raise ValueError("the machines table is empty")
        nodes = []
        rows = machines.sort("machine_id").select(
            "machine_id", "num_gpus", "gpu_type", "num_cpus", "mem_gb"
        )
        for mid, gpus, gtype, cpus, mem in rows.iter_rows():
            n = int(gpus or 0)
            group = CPU_GROUP if n == 0 else (gtype or POOL_VC)
            nodes.append(Node(str(mid), group, n, _scaled(cpus, 1000), _scaled(mem, 1024)))
        return cls.from_nodes(nodes, source)

    @property
    def groups(self) -> list[str]:
        """Group names, low tier first."""
        return list(self.machines)

    @property
    def has_nodes(self) -> bool:
        """The pool knows every machine's name, CPU and memory (see :attr:`nodes`)."""
        return self.nodes is not None

    def node_list(self) -> tuple[Node, ...]:
        """The pool's nodes; for a pool that does not know them, one node per machine
        (``"<group>/<index>"``) with unlimited CPU and memory, group by group."""
        if self.nodes is not None:
            return self.nodes
        return tuple(
            Node(f"{g}/{i}", g, size) for g, sizes in self.machines.items()
            for i, size in enumerate(sizes)
        )  # fmt: skip

    def gpus(self, group: str | None = None) -> int:
        """GPUs of one group (or all)."""
        if group is None:
            return sum(sum(m) for m in self.machines.values())
        return sum(self.machines.get(group, ()))

    @property
    def total_gpus(self) -> int:
        """GPUs summed over all groups."""
        return self.gpus()

    def capacities(self) -> dict[str, int]:
        """``{group: GPUs}``."""
        return {g: sum(m) for g, m in self.machines.items()}

    def scaled(self, factor: float) -> GPUPool:
        """Keep ``round(factor x machines)`` machines of each group (at least one if any)."""
        if factor == 1.0:
            return self
        if self.nodes is not None:
            kept: list[Node] = []
            for g in self.groups:
                members = [n for n in self.nodes if n.group == g]
                k = max(1, round(len(members) * factor)) if members else 0
                kept += [
                    n if i < len(members) else replace(n, machine_id=f"{n.machine_id}#{i}")
                    for i, n in ((i, members[i % len(members)]) for i in range(k))
                ]
            order = {n.machine_id: i for i, n in enumerate(self.nodes)}
            kept.sort(key=lambda n: (order[n.machine_id.split("#")[0]], n.machine_id))
            return GPUPool.from_nodes(kept, f"{self.source} x{factor:g}")
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


def _scaled(value: float | None, unit: int) -> int:
    """A capacity in the store's unit (cores, GiB) as an integer of the finer unit."""
    if value is None or not math.isfinite(value):
        return UNLIMITED
    return int(round(value * unit))


def _tier_key(group: str) -> tuple[int, str]:
    return (GPU_TIERS.index(group), group) if group in GPU_TIERS else (len(GPU_TIERS), group)


Resources = Cluster | GPUPool
"""Either resource model (what :func:`tracekit.replay.replay` accepts besides a mapping)."""


def as_pool(resources: Cluster | GPUPool | Mapping[str, Any]) -> GPUPool:
    """Coerce to a :class:`GPUPool` (a Cluster becomes one group per VC; a mapping goes
    through :meth:`GPUPool.from_dict`)."""
    if isinstance(resources, GPUPool):
        return resources
    if isinstance(resources, Cluster):
        return resources.to_pool()
    return GPUPool.from_dict(resources)


__all__ = [
    "CPU_GROUP",
    "DEFAULT_GPUS_PER_NODE",
    "GPU_TIERS",
    "GROUP_SEPARATOR",
    "POOL_VC",
    "Cluster",
    "GPUPool",
    "Node",
    "Resources",
    "UNLIMITED",
    "VCSpec",
    "as_cluster",
    "as_pool",
    "cluster_from_capacity",
    "cluster_from_machines",
]
