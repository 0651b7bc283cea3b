"""``load-balancing``: the node left with the most CPU and GPU (Weng et al., ATC'23, baseline).

The node whose remaining shares of CPU and of GPU capacity, summed, are largest after the job
lands; for a fraction of one GPU, the emptiest GPU; lowest node first on ties.
"""

from __future__ import annotations

import numpy as np

from tracekit.replay.placements.base import NodePlacement, NodeState, Request


class LoadBalancing(NodePlacement):
    """Load balancing on nodes (see the module docstring)."""

    name = "load-balancing"
    kernel = "load-balancing"  # the compiled core's loop places like this class (shared_kernels)
    summary = "most CPU and GPU share left on the node, emptiest GPU"

    def choose(self, nodes: NodeState, req: Request, node: np.ndarray, gpu: np.ndarray) -> int:
        """The candidate with the most remaining share, then the most free GPU."""
        free = nodes.gpu_free(req, node, gpu)
        return int(np.lexsort((-free, -nodes.remaining(req, node)))[0])


__all__ = ["LoadBalancing"]
