"""SRTF: preemptive shortest remaining time first (true or predicted remaining time)."""

from __future__ import annotations

from tracekit.replay.policies.base import COMPAT_MODES, KernelSpec, PreemptivePolicy, VCState

# Remaining predicted time of a job that outlived its prediction: it keeps a tiny positive value,
# so such jobs rank first (ties by submit order) - "it should be nearly done".
PRED_FLOOR_S = 1e-6


class SRTF(PreemptivePolicy):
    """Shortest remaining time first with preemption at events.

    Parameters
    ----------
    predicted : bool
        Rank by ``max(pred_duration_s + overheads - executed, PRED_FLOOR_S)`` (``srtf-pred``)
        instead of the true remaining time (``srtf``, the Helios/Lucid oracle).

    Notes
    -----
    Between events running jobs only get shorter and pending ones keep their remaining time.
    A running job that overtakes a pending one changes nobody's selection: if the pending job
    was not selected it stays so (less quota), and if it was, every job ahead of it and it
    itself still fit the capacity. So a pass at every event gives the selection of the
    simulators' per-second re-sort. Ties go by submit order; ``compat`` uses
    :class:`ListTieSRTF`.
    """

    def __init__(self, predicted: bool = False) -> None:
        self.predicted = predicted
        self.name = "srtf-pred" if predicted else "srtf"
        self.needs = ("pred_duration_s",) if predicted else ()
        self.summary = (
            "shortest predicted remaining time first, preemptive"
            if predicted
            else "shortest true remaining time first, preemptive"
        )
        # True remaining times of running jobs all shrink at rate 1, so their order is that of
        # their expected finish times (the predicted variant's floor breaks this).
        self.ordered_running = not predicted

    def compat_variant(self, mode: str) -> SRTF:
        """SRTF with the simulators' list-position tie order."""
        assert mode in COMPAT_MODES
        return ListTieSRTF(self.predicted)

    def kernel_spec(self) -> KernelSpec | None:
        """Compiled rule ``srtf``: true or predicted remaining time, ties by submit order."""
        return KernelSpec("srtf", predicted=self.predicted)

    def key(self, st: VCState, j: int, t: float) -> tuple:
        """(remaining time at ``t``, submit order)."""
        if self.predicted:
            assert st.pred is not None
            left = st.pred[j] + st.extra[j] - st.executed_now(j, t)
            return (left if left > PRED_FLOOR_S else PRED_FLOOR_S, j)
        if st.running[j]:
            return (st.rem[j] - (t - st.resume[j]), j)
        return (st.rem[j], j)

    def running_order(self, st: VCState, j: int) -> tuple:
        """(expected finish time, submit order) of a running job (true remaining time only)."""
        return (st.resume[j] + st.rem[j], j)

    def pending_order(self, k: tuple, t: float) -> tuple:
        """(finish time if started at ``t``, submit order) for the pending key ``k``."""
        return (t + k[0], k[1])

    def running_keys(self, st: VCState, jobs: list[int], t: float) -> list[tuple]:
        """Batched :meth:`key` for running jobs (hot path of every scheduling pass)."""
        if self.predicted:
            return [self.key(st, j, t) for j in jobs]
        rem, resume = st.rem, st.resume
        return [(rem[j] - (t - resume[j]), j) for j in jobs]


class ListTieSRTF(SRTF):
    """SRTF whose ties in remaining time go as in the Helios/Lucid simulators' lists (the
    ``compat`` variant): pending jobs before running ones; pending jobs in the order they entered
    the pending list (on arrival, and again at each preemption); running jobs in the order they
    were (re)started. Keys are ``(remaining, 0 pending | 1 running, insertion number, j)``."""

    uses_list_order = True

    def kernel_spec(self) -> KernelSpec | None:
        """Compiled rule ``srtf`` with the simulators' list ties."""
        return KernelSpec("srtf", predicted=self.predicted, list_ties=True)

    def key(self, st: VCState, j: int, t: float) -> tuple:
        """(remaining time at ``t``, pending 0 / running 1, insertion number, ``j``)."""
        if self.predicted:
            assert st.pred is not None
            left = st.pred[j] + st.extra[j] - st.executed_now(j, t)
            left = left if left > PRED_FLOOR_S else PRED_FLOOR_S
        elif st.running[j]:
            left = st.rem[j] - (t - st.resume[j])
        else:
            return (st.rem[j], 0, st.pseq[j], j)
        return (left, 1, st.rseq[j], j) if st.running[j] else (left, 0, st.pseq[j], j)

    def running_order(self, st: VCState, j: int) -> tuple:
        """(expected finish time, 1, insertion number, ``j``)."""
        return (st.resume[j] + st.rem[j], 1, st.rseq[j], j)

    def pending_order(self, k: tuple, t: float) -> tuple:
        """(finish time if started at ``t``, 0, insertion number, ``j``)."""
        return (t + k[0], k[1], k[2], k[3])

    def running_keys(self, st: VCState, jobs: list[int], t: float) -> list[tuple]:
        """Batched :meth:`key` for running jobs."""
        if self.predicted:
            return [self.key(st, j, t) for j in jobs]
        rem, resume, rseq = st.rem, st.resume, st.rseq
        return [(rem[j] - (t - resume[j]), 1, rseq[j], j) for j in jobs]
