"""``balance``: load balancing over GPU groups.

The least-allocated allowed group first (a gang never spans groups), then the emptiest GPUs on
the least-used machines, then the lowest GPU index.
"""

from __future__ import annotations

import numpy as np

from tracekit.replay.placements.base import UNITS, GroupPlacement, GroupView, best_gpus


class Balance(GroupPlacement):
    """Load balancing over the job's groups (see the module docstring)."""

    name = "balance"
    kernel = "balance"  # the compiled core's loop places like this class (shared_kernels._choose)
    summary = "least-allocated group first, emptiest GPUs"

    def choose(self, pool: GroupView, j: int, empty: bool) -> np.ndarray | None:
        """The emptiest fitting GPUs of the least-allocated allowed group that has them."""
        units, k = int(pool.units[j]), int(pool.k[j])
        groups = [g for g in pool.allowed[j] if pool.fits(g, units, k, empty)]
        loads = []
        for g in groups:
            lo, hi = pool.glo[g], pool.ghi[g]
            loads.append((1.0 - pool.free[lo:hi].sum() / (UNITS * (hi - lo)), g))
        for _, g in sorted(loads):
            pick = best_gpus(pool, pool.glo[g], pool.ghi[g], units, k, empty, fullest=False)
            if pick is not None:
                return pick
        return None


__all__ = ["Balance"]
