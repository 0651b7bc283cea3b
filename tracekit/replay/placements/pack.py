"""``pack``: reserving-and-packing (Weng et al., "MLaaS in the Wild", NSDI'22, Alibaba PAI).

Groups are tried lowest GPU tier first (the pool keeps them in that order), so high-end GPUs stay
free for the jobs that need them; within a group, the fullest GPU that still fits (best fit),
then the fullest machine, then the lowest GPU index. A gang may take GPUs of several machines.
"""

from __future__ import annotations

import numpy as np

from tracekit.replay.placements.base import GroupPlacement, GroupView, best_gpus


class Pack(GroupPlacement):
    """Reserving-and-packing inside the job's groups (see the module docstring)."""

    name = "pack"
    kernel = "pack"  # the compiled core's loop places like this class (shared_kernels._choose)
    summary = "lowest GPU tier first, fullest GPU that fits (PAI)"

    def choose(self, pool: GroupView, j: int, empty: bool) -> np.ndarray | None:
        """The fullest fitting GPUs of the first (lowest-tier) allowed group that has them."""
        units, k = int(pool.units[j]), int(pool.k[j])
        for g in pool.allowed[j]:
            if not pool.fits(g, units, k, empty):
                continue
            pick = best_gpus(pool, pool.glo[g], pool.ghi[g], units, k, empty, fullest=True)
            if pick is not None:
                return pick
        return None


__all__ = ["Pack"]
