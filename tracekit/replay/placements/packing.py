"""``packing``: GPU packing on nodes (Weng et al., ATC'23, baseline).

A job asking a fraction of one GPU goes to a GPU already partly used if one fits, else to a free
GPU of a node already in use, else to an idle node; other jobs go to a node in use before an
idle one. Within each class the tightest choice wins (least free GPU for a fraction, least
remaining CPU and GPU share otherwise), lowest node first on ties.
"""

from __future__ import annotations

import numpy as np

from tracekit.replay.placements.base import UNITS, NodePlacement, NodeState, Request


class Packing(NodePlacement):
    """GPU packing on nodes (see the module docstring)."""

    name = "packing"
    kernel = "packing"  # the compiled core's loop places like this class (shared_kernels)
    summary = "a partly used GPU, then a node in use, then an idle node"

    def choose(self, nodes: NodeState, req: Request, node: np.ndarray, gpu: np.ndarray) -> int:
        """The candidate of the best class (partly used GPU, node in use, idle), tightest."""
        in_use = nodes.in_use(node)
        if req.sharing:
            tight = nodes.gpu_free(req, node, gpu)
            klass = np.where(tight < UNITS, 0, np.where(in_use, 1, 2))
        else:
            klass = np.where(in_use, 1, 2)
            tight = nodes.remaining(req, node)
        return int(np.lexsort((tight, klass))[0])


__all__ = ["Packing"]
