"""``best-fit``: the node left with the least CPU and GPU (Weng et al., ATC'23, baseline).

The node whose remaining shares of CPU and of GPU capacity, summed, are smallest after the job
lands; for a fraction of one GPU, the tightest GPU that fits; lowest node first on ties.
"""

from __future__ import annotations

import numpy as np

from tracekit.replay.placements.base import NodePlacement, NodeState, Request


class BestFit(NodePlacement):
    """Best fit on nodes (see the module docstring)."""

    name = "best-fit"
    kernel = "best-fit"  # the compiled core's loop places like this class (shared_kernels)
    summary = "least CPU and GPU share left on the node, tightest GPU"

    def choose(self, nodes: NodeState, req: Request, node: np.ndarray, gpu: np.ndarray) -> int:
        """The candidate with the least remaining share, then the least free GPU."""
        free = nodes.gpu_free(req, node, gpu)
        return int(np.lexsort((free, nodes.remaining(req, node)))[0])


__all__ = ["BestFit"]
