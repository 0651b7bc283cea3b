"""SRTF: preemptive shortest remaining time first (true or predicted remaining time)."""

from __future__ import annotations

from tracekit.replay.policies.base import PreemptivePolicy, VCState

# Remaining predicted time of a job that outlived its prediction: it keeps a tiny positive value,
# so such jobs rank first (ties by submit order) - "it should be nearly done".
PRED_FLOOR_S = 1e-6


class SRTF(PreemptivePolicy):
    """Shortest remaining time first with preemption at events.

    Parameters
    ----------
    predicted : bool
        Rank by ``max(pred_duration + overheads - executed, PRED_FLOOR_S)`` (``srtf-pred``)
        instead of the true remaining time (``srtf``, the Helios/Lucid oracle).

    Notes
    -----
    Between events running jobs only get shorter and pending ones keep their remaining time, so
    the ranking can only change at arrivals and finishes: an event-driven pass is exact (the
    artifacts' per-second re-sort gives the same selection).
    """

    def __init__(self, predicted: bool = False) -> None:
        self.predicted = predicted
        self.name = "srtf-pred" if predicted else "srtf"
        self.needs_prediction = predicted
        # True remaining times of running jobs all shrink at rate 1, so their order is that of
        # their expected finish times (the predicted variant's floor breaks this).
        self.ordered_running = not predicted

    def key(self, st: VCState, j: int, t: float) -> tuple[float, int]:
        """(remaining time at ``t``, submit order)."""
        if self.predicted:
            assert st.pred is not None
            left = st.pred[j] + st.extra[j] - st.executed_now(j, t)
            return (left if left > PRED_FLOOR_S else PRED_FLOOR_S, j)
        if st.running[j]:
            return (st.rem[j] - (t - st.resume[j]), j)
        return (st.rem[j], j)

    def running_order(self, st: VCState, j: int) -> tuple[float, int]:
        """(expected finish time, submit order) of a running job (true remaining time only)."""
        return (st.resume[j] + st.rem[j], j)

    def pending_order(self, k: tuple, t: float) -> tuple:
        """(finish time if started at ``t``, submit order) for the pending key ``k``."""
        return (t + k[0], k[1])

    def running_keys(self, st: VCState, jobs: list[int], t: float) -> list[tuple[float, int]]:
        """Batched :meth:`key` for running jobs (hot path of every scheduling pass)."""
        if self.predicted:
            return [self.key(st, j, t) for j in jobs]
        rem, resume = st.rem, st.resume
        return [(rem[j] - (t - resume[j]), j) for j in jobs]
