"""Placements of the shared-GPU engine: one registry, one file per placement.

=================  =====  ===================================================================
name               scope  choice
=================  =====  ===================================================================
``pack``           group  lowest GPU tier first, fullest GPU that fits (PAI's
                          reserving-and-packing; the default on pools without nodes)
``balance``        group  least-allocated group, emptiest GPUs
``best-fit``       node   least CPU and GPU share left on the node, tightest GPU (the default
                          on pools that know their nodes)
``packing``        node   a partly used GPU, then a node in use, then an idle node
``load-balancing`` node   most CPU and GPU share left on the node, emptiest GPU
``fgd``            node   least increase of the node's expected GPU fragmentation
=================  =====  ===================================================================

Group placements spread a gang over the machines of one group and do not model CPU or memory;
node placements put every job on one node within its CPU, memory and GPUs (see
:mod:`~tracekit.replay.placements.base`). To add a placement: write one module in this folder
with a :class:`~tracekit.replay.placements.base.GroupPlacement` or
:class:`~tracekit.replay.placements.base.NodePlacement` subclass, and add one line to
:data:`PLACEMENTS`.
"""

from __future__ import annotations

from typing import Any

from tracekit.replay.placements.balance import Balance
from tracekit.replay.placements.base import (
    UNITS,
    GroupPlacement,
    NodePlacement,
    NodeState,
    Placement,
    Request,
    Requests,
)
from tracekit.replay.placements.best_fit import BestFit
from tracekit.replay.placements.fgd import FGD
from tracekit.replay.placements.load_balancing import LoadBalancing
from tracekit.replay.placements.pack import Pack
from tracekit.replay.placements.packing import Packing

PLACEMENTS: dict[str, type[Placement]] = {
    "pack": Pack,
    "balance": Balance,
    "best-fit": BestFit,
    "packing": Packing,
    "load-balancing": LoadBalancing,
    "fgd": FGD,
}
NODE_PLACEMENTS: tuple[str, ...] = tuple(k for k, v in PLACEMENTS.items() if v.scope == "node")
"""Names of the placements that put every job on one node."""


def make_placement(placement: str | Placement, **kwargs: Any) -> Placement:
    """A placement instance from a registry name (keyword arguments go to its constructor)."""
    if isinstance(placement, Placement):
        if kwargs:
            raise ValueError("placement options only apply to a placement given by name")
        return placement
    try:
        factory = PLACEMENTS[placement]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown shared-GPU placement {placement!r}; known: {', '.join(PLACEMENTS)}"
        ) from None
    return factory(**kwargs)


def describe() -> dict[str, str]:
    """One line per registered placement (``tracekit replay --help`` prints these)."""
    where = {"group": "GPUs of one group", "node": "each job on one node"}
    return {name: f"{p.summary} ({where[p.scope]})" for name, p in PLACEMENTS.items()}


__all__ = [
    "FGD",
    "NODE_PLACEMENTS",
    "PLACEMENTS",
    "UNITS",
    "Balance",
    "BestFit",
    "GroupPlacement",
    "LoadBalancing",
    "NodePlacement",
    "NodeState",
    "Pack",
    "Packing",
    "Placement",
    "Request",
    "Requests",
    "describe",
    "make_placement",
]
