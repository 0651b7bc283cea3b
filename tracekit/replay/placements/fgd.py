"""``fgd``: Fragmentation Gradient Descent (Weng et al., "Beware of Fragmentation", ATC'23).

Every feasible choice (a node, and for a fraction of one GPU, which GPU) is scored by how much it
increases the node's expected fragmentation ``F_n(M)`` of the target workload ``M``
(:mod:`~tracekit.replay.placements.fragmentation`); the smallest increase wins, lowest node
first on ties. Scores are integers (``F_n(M)`` times the workload's task count), so equal
increases are exact ties. The target workload is given (``FGD(workload=...)``: the openb study
uses the pod list) or, by default, the request mix of the replayed jobs themselves.

Identical node states (same model, free CPU, free memory and multiset of free GPU amounts) have
the same fragmentation, so each distinct state is computed once and remembered.
"""

from __future__ import annotations

import numpy as np

from tracekit.replay.placements.base import NodePlacement, NodeState, Request, Requests
from tracekit.replay.placements.fragmentation import Workload, weighted_fragmentation

_CACHE_LIMIT = 1_000_000  # distinct node states whose fragmentation is remembered


class FGD(NodePlacement):
    """Fragmentation Gradient Descent on nodes (see the module docstring).

    Parameters
    ----------
    workload : Workload, optional
        The target workload ``M``; default: the task types of the replayed jobs.
    """

    name = "fgd"
    summary = "least increase of the node's expected GPU fragmentation (FGD)"

    def __init__(self, workload: Workload | None = None) -> None:
        self.workload = workload

    def __repr__(self) -> str:
        given = "given" if self.workload is not None else "the replayed jobs"
        return f"FGD(workload={given})"

    def bind(self, nodes: NodeState, jobs: Requests) -> None:
        """Fix the target workload and compute every node's fragmentation."""
        super().bind(nodes, jobs)
        if self.workload is None:
            wl = Workload.from_requests(
                jobs.cpu_milli, jobs.memory_mib, jobs.k, jobs.units, jobs.allowed, nodes.groups
            )
        else:
            wl = _for_models(self.workload, tuple(nodes.groups))
        self.target = wl
        self.cache: dict[tuple[int, ...], int] = {}
        self.frag = self._frag(nodes, np.arange(len(nodes)), nodes.free)

    def choose(self, nodes: NodeState, req: Request, node: np.ndarray, gpu: np.ndarray) -> int:
        """The candidate whose placement increases its node's fragmentation least."""
        after = self._frag(nodes, node, nodes.after(req, node, gpu), req.cpu_milli,
                           req.memory_mib)  # fmt: skip
        return int(np.argmin(after - self.frag[node]))

    def update(self, nodes: NodeState, changed: list[int]) -> None:
        """Recompute the fragmentation of the nodes that changed."""
        idx = np.asarray(changed, dtype=np.int64)
        self.frag[idx] = self._frag(nodes, idx, nodes.free[idx])

    def _frag(
        self, nodes: NodeState, node: np.ndarray, free_gpu: np.ndarray, cpu: int = 0, mem: int = 0
    ) -> np.ndarray:
        model = nodes.group[node]
        free_cpu = nodes.free_cpu[node] - cpu
        free_mem = nodes.free_mem[node] - mem
        gpus = np.sort(free_gpu, axis=1)
        first, inverse, keys = _distinct_rows(model, free_cpu, free_mem, gpus)
        # States recur from job to job (unchanged nodes, the same request): remember them.
        names = [tuple(k) for k in keys.tolist()]
        frag = np.array([self.cache.get(k, -1) for k in names], dtype=np.int64)
        todo = np.flatnonzero(frag < 0)
        if todo.size:
            rows = first[todo]
            frag[todo] = weighted_fragmentation(
                free_cpu[rows], free_mem[rows], gpus[rows], model[rows], self.target
            )
            if len(self.cache) > _CACHE_LIMIT:
                self.cache.clear()
            self.cache.update(zip((names[i] for i in todo), frag[todo].tolist(), strict=True))
        return frag[inverse]


def _for_models(workload: Workload, models: tuple[str, ...]) -> Workload:
    """``workload`` with its ``allowed`` columns in the order of ``models`` (a model it does not
    name is allowed to no type)."""
    if workload.models == models:
        return workload
    cols = [workload.models.index(m) if m in workload.models else -1 for m in models]
    allowed = np.zeros((len(workload.count), len(models)), dtype=bool)
    for i, c in enumerate(cols):
        if c >= 0:
            allowed[:, i] = workload.allowed[:, c]
    return Workload(workload.cpu_milli, workload.memory_mib, workload.num_gpu,
                    workload.gpu_milli, allowed, models, workload.count)  # fmt: skip


def _distinct_rows(
    model: np.ndarray, cpu: np.ndarray, mem: np.ndarray, gpus: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index of the first row of each distinct state, every row's state number, and each
    distinct state's packed key (one row of int64).

    Rows are packed exactly into int64 keys (model, CPU and memory in one; GPU frees, each in
    0..1000 or -1, ten bits apiece, six to a key) and sorted with :func:`numpy.lexsort`, which is
    much faster than ``numpy.unique(axis=0)`` on small integer rows.
    """
    too_wide = model.max(initial=0) >= 1 << 9 or cpu.max(initial=0) >= 1 << 24
    if too_wide or mem.max(initial=0) >= 1 << 30:
        rows = np.column_stack((model, cpu, mem, gpus))
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        return first, inverse.reshape(-1), rows[first]
    keys = [(model << 54) | (cpu << 30) | mem]
    shifted = gpus + 1
    for lo in range(0, gpus.shape[1], 6):
        key = np.zeros(len(model), dtype=np.int64)
        for col in range(lo, min(lo + 6, gpus.shape[1])):
            key = (key << 10) | shifted[:, col]
        keys.append(key)
    order = np.lexsort(keys[::-1])
    new = np.ones(order.size, dtype=bool)
    new[1:] = np.logical_or.reduce([key[order][1:] != key[order][:-1] for key in keys])
    inverse = np.empty(order.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    first = order[new]
    return first, inverse, np.column_stack(keys)[first]


__all__ = ["FGD"]
