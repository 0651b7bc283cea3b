"""``fgd``: Fragmentation Gradient Descent (Weng et al., "Beware of Fragmentation", ATC'23).

Every feasible choice (a node, and for a fraction of one GPU, which GPU) is scored by how much it
increases the node's expected fragmentation ``F_n(M)`` of the target workload ``M``
(:mod:`~tracekit.replay.placements.fragmentation`); the smallest increase wins, lowest node
first on ties. Scores are integers (``F_n(M)`` times the workload's task count), so equal
increases are exact ties. The target workload is given (``FGD(workload=...)``: the openb study
uses the pod list) or, by default, the request mix of the replayed jobs themselves.

Identical node states (same model, free CPU, free memory and multiset of free GPU amounts) have
the same fragmentation: nodes carry a state number, each distinct (state, free amount of the
chosen GPU) is scored once per request, and the scores are remembered.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tracekit.replay.placements.base import UNITS, NodePlacement, NodeState, Request, Requests
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
        # Node state (model, free CPU, free memory, sorted GPU frees) -> number, fragmentation.
        self.state_ids: dict[tuple[int, ...], int] = {}
        self.values: dict[tuple[int, ...], int] = {}
        # Per request: (state number, free amount of the chosen GPU) -> fragmentation after.
        self.after: dict[Request, dict[int, int]] = {}
        self.remembered = 0
        self.chosen: tuple[tuple[int, ...], int] | None = None
        self.state = np.zeros(len(nodes), dtype=np.int64)
        self.frag = np.zeros(len(nodes), dtype=np.int64)
        self.update(nodes, range(len(nodes)))

    def choose(self, nodes: NodeState, req: Request, node: np.ndarray, gpu: np.ndarray) -> int:
        """The candidate whose placement increases its node's fragmentation least."""
        if req.k > 1 and req.units < UNITS:
            # Slots of a fraction on several GPUs: which GPUs a node gives depends on their
            # order, not only on the node's state; score every candidate.
            rows = nodes.after(req, node, gpu)
            after = self._score(nodes, req, node, rows)
            i = int(np.argmin(after - self.frag[node]))
            self._remember(nodes, req, int(node[i]), rows[i], int(after[i]))
            return i
        # Nodes in the same state, choosing a GPU with the same free amount, end in the same
        # state: score each distinct (state, amount) once, and remember it per request.
        amount = nodes.gpu_free(req, node, gpu)
        pairs, first, inverse = np.unique(
            self.state[node] * (UNITS + 1) + amount, return_index=True, return_inverse=True
        )
        memo = self.after.setdefault(req, {})
        keys = pairs.tolist()
        after = np.array([memo.get(x, -1) for x in keys], dtype=np.int64)
        todo = np.flatnonzero(after < 0)
        if todo.size:
            n1 = node[first[todo]]
            after[todo] = self._score(nodes, req, n1, nodes.after(req, n1, gpu[first[todo]]))
            self.remembered += todo.size
            if self.remembered > _CACHE_LIMIT:
                self.after.clear()
                self.remembered = 0
            memo.update(zip((keys[i] for i in todo), after[todo].tolist(), strict=True))
        i = int(np.argmin((after - self.frag[node[first]])[inverse.reshape(-1)]))
        k = int(inverse.reshape(-1)[i])
        n1, g1 = node[first[k] : first[k] + 1], gpu[first[k] : first[k] + 1]
        self._remember(nodes, req, int(n1[0]), nodes.after(req, n1, g1)[0], int(after[k]))
        return i

    def update(self, nodes: NodeState, changed: Iterable[int]) -> None:
        """Recompute the state number and fragmentation of the nodes that changed."""
        for n in changed:
            key = _key(nodes, n, nodes.free[n])
            value = self.values.get(key)
            if value is None:
                if self.chosen is not None and self.chosen[0] == key:
                    value = self.chosen[1]  # choose() scored this very state
                else:
                    one = [n]
                    value = int(weighted_fragmentation(nodes.free_cpu[one], nodes.free_mem[one],
                                                       nodes.free[one], nodes.group[one],
                                                       self.target)[0])  # fmt: skip
                if len(self.values) > _CACHE_LIMIT:
                    self.values.clear()
                self.values[key] = value
            self.frag[n] = value
            self.state[n] = self.state_ids.setdefault(key, len(self.state_ids))
        self.chosen = None

    def _score(
        self, nodes: NodeState, req: Request, node: np.ndarray, rows: np.ndarray
    ) -> np.ndarray:
        """Weighted fragmentation of ``node`` after ``req`` leaves its GPUs as ``rows``."""
        return weighted_fragmentation(
            nodes.free_cpu[node] - req.cpu_milli, nodes.free_mem[node] - req.memory_mib, rows,
            nodes.group[node], self.target,
        )  # fmt: skip

    def _remember(
        self, nodes: NodeState, req: Request, node: int, row: np.ndarray, value: int
    ) -> None:
        """Keep the chosen node's state after placement and its score, for :meth:`update`."""
        key = (int(nodes.group[node]), int(nodes.free_cpu[node]) - req.cpu_milli,
               int(nodes.free_mem[node]) - req.memory_mib, *sorted(row.tolist()))  # fmt: skip
        self.chosen = (key, value)


def _key(nodes: NodeState, n: int, row: np.ndarray) -> tuple[int, ...]:
    """A node's state: model, free CPU, free memory and its GPU frees, sorted."""
    return (int(nodes.group[n]), int(nodes.free_cpu[n]), int(nodes.free_mem[n]),
            *sorted(row.tolist()))  # fmt: skip


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


__all__ = ["FGD"]
