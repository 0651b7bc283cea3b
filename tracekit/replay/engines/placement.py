"""Whole-GPU placement inside one VC: a bucketed free-GPU index over identical nodes.

A placer owns the free-GPU counts of the nodes of one VC. ``place(g)`` returns an allocation (a
tuple of ``(node, gpus)`` pairs) or ``None`` when the job cannot be placed now; ``release(alloc)``
gives the GPUs back. The engine only uses these two methods plus ``free_total`` (for the O(1)
"cannot fit" test), so a new placement (Lucid packing, fractional sharing) is a subclass of
:class:`Placer` registered in :data:`PLACERS` or passed as a factory to ``simulate``.

Index: ``_bucket[f]`` is a bit mask of the nodes with exactly ``f`` free GPUs. The lowest node id
in a mask is ``(m & -m).bit_length() - 1``, so best fit for ``g <= gpus_per_node`` costs
O(gpus_per_node) integer operations, independent of the number of nodes.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

Alloc = tuple[tuple[int, int], ...]


class Placer(abc.ABC):
    """Base placer: bookkeeping of free GPUs per node and the bucket index.

    Parameters
    ----------
    nodes : int
        Number of nodes of the VC.
    gpus_per_node : int
        GPUs per node.
    compat : bool
        Reproduce the Helios/Lucid remainder rule for multi-node jobs (see :class:`Consolidate`).
    """

    name = "base"

    def __init__(self, nodes: int, gpus_per_node: int, compat: bool = False) -> None:
        self.nodes = int(nodes)
        self.gpn = int(gpus_per_node)
        self.compat = compat
        self.capacity = self.nodes * self.gpn
        self.free_total = self.capacity
        self.free = [self.gpn] * self.nodes
        self._bucket = [0] * (self.gpn + 1)
        self._bucket[self.gpn] = (1 << self.nodes) - 1

    # -- index maintenance ------------------------------------------------------------------
    def _take(self, node: int, g: int) -> None:
        f = self.free[node]
        if g > f or g <= 0:
            raise RuntimeError(f"placement bug: node {node} has {f} free GPUs, asked {g}")
        bit = 1 << node
        self._bucket[f] &= ~bit
        self._bucket[f - g] |= bit
        self.free[node] = f - g
        self.free_total -= g

    def release(self, alloc: Alloc) -> None:
        """Give back the GPUs of an allocation returned by :meth:`place`."""
        bucket = self._bucket
        free = self.free
        if len(alloc) == 1:
            node, g = alloc[0]
            f = free[node]
            if f + g <= self.gpn:
                bit = 1 << node
                bucket[f] &= ~bit
                bucket[f + g] |= bit
                free[node] = f + g
                self.free_total += g
                return
        for node, g in alloc:
            f = free[node]
            if f + g > self.gpn:
                raise RuntimeError(f"placement bug: node {node} would have {f + g} free GPUs")
            bit = 1 << node
            bucket[f] &= ~bit
            bucket[f + g] |= bit
            free[node] = f + g
            self.free_total += g

    @abc.abstractmethod
    def place(self, g: int) -> Alloc | None:
        """Allocate ``g`` GPUs now, or return ``None`` if this placement cannot."""

    # -- helpers shared by the subclasses ---------------------------------------------------
    def _whole_nodes(self, g: int, best_fit_rest: bool) -> Alloc | None:
        """``k = g // gpn`` idle nodes (lowest ids), plus the remainder on one other node.

        The remainder goes to the best-fit node (``best_fit_rest``), or, as in the Helios/Lucid
        placer, to the node with the most free GPUs (the next node in descending-free order).
        """
        k, r = divmod(g, self.gpn)
        idle = self._bucket[self.gpn]
        if idle.bit_count() < k:
            return None
        chosen = []
        rest = idle
        for _ in range(k):
            low = rest & -rest
            chosen.append(low.bit_length() - 1)
            rest ^= low
        rem_node = -1
        if r:
            order = range(r, self.gpn + 1) if best_fit_rest else range(self.gpn, r - 1, -1)
            for f in order:
                m = rest if f == self.gpn else self._bucket[f]
                if m:
                    rem_node = (m & -m).bit_length() - 1
                    break
            if rem_node < 0:
                return None
        for node in chosen:
            self._take(node, self.gpn)
        alloc = [(node, self.gpn) for node in chosen]
        if r:
            self._take(rem_node, r)
            alloc.append((rem_node, r))
        return tuple(alloc)


class Consolidate(Placer):
    """Best fit, the Helios/Lucid simulators' ``consolidate``: the node with the fewest free GPUs
    that still fit, lowest id on ties; a multi-node job takes whole idle nodes (lowest ids) plus
    a remainder node (the best-fit one; with ``compat``, the node with the most free GPUs, as
    the simulators' descending-free order gives it)."""

    summary = "fewest free GPUs that fit (best fit; the default)"

    name = "consolidate"

    def place(self, g: int) -> Alloc | None:
        """Allocate ``g`` GPUs by best fit (whole idle nodes for jobs above one node)."""
        if g > self.free_total:
            return None
        gpn = self.gpn
        if g <= gpn:
            bucket = self._bucket
            for f in range(g, gpn + 1):
                m = bucket[f]
                if m:
                    # Inlined _take: this is the hot path of every replay.
                    low = m & -m
                    node = low.bit_length() - 1
                    bucket[f] = m ^ low
                    bucket[f - g] |= low
                    self.free[node] = f - g
                    self.free_total -= g
                    return ((node, g),)
            return None
        return self._whole_nodes(g, best_fit_rest=not self.compat)


class FirstFit(Placer):
    """First fit in node-id order, spreading a job over as many nodes as needed (this is what the
    Helios/Lucid ``random`` placer really does). Succeeds whenever enough GPUs are free."""

    summary = "first nodes in id order, spread over as many as needed"

    name = "first_fit"

    def place(self, g: int) -> Alloc | None:
        """Take free GPUs from the lowest-id nodes until ``g`` are allocated."""
        if g > self.free_total:
            return None
        need = g
        alloc = []
        for node in range(self.nodes):
            f = self.free[node]
            if f:
                take = f if f < need else need
                alloc.append((node, take))
                need -= take
                if not need:
                    break
        for node, take in alloc:
            self._take(node, take)
        return tuple(alloc)


class Spread(Placer):
    """Load balancing: a job of at most one node goes to the node with the most free GPUs (lowest
    id on ties); larger jobs take whole idle nodes as in :class:`Consolidate`."""

    summary = "most free GPUs (load balancing)"

    name = "spread"

    def place(self, g: int) -> Alloc | None:
        """Allocate ``g`` GPUs on the least-loaded node that fits."""
        if g > self.free_total:
            return None
        if g <= self.gpn:
            bucket = self._bucket
            for f in range(self.gpn, g - 1, -1):
                m = bucket[f]
                if m:
                    node = (m & -m).bit_length() - 1
                    self._take(node, g)
                    return ((node, g),)
            return None
        return self._whole_nodes(g, best_fit_rest=False)


PlacerFactory = Callable[[int, int, bool], Placer]

PLACERS: dict[str, PlacerFactory] = {
    "consolidate": Consolidate,
    "first_fit": FirstFit,
    "spread": Spread,
}


def describe_placers() -> dict[str, str]:
    """One line per whole-GPU placement (``tracekit replay --help`` prints these)."""
    return {name: str(getattr(factory, "summary", "")) for name, factory in PLACERS.items()}


def make_placer(placement: str | PlacerFactory, nodes: int, gpn: int, compat: bool) -> Placer:
    """Instantiate a placer by name (``consolidate``, ``first_fit``, ``spread``) or factory."""
    if callable(placement):
        return placement(nodes, gpn, compat)
    try:
        return PLACERS[placement](nodes, gpn, compat)
    except KeyError:
        raise ValueError(f"unknown placement {placement!r}; known: {sorted(PLACERS)}") from None
