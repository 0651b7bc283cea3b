"""QSSF (Helios, SC'21): quasi-shortest-service-first = predicted duration x GPUs."""

from __future__ import annotations

import numpy as np

from tracekit.replay.policies.base import COMPAT_MODES, JobView, Policy


class QSSF(Policy):
    """Pending jobs ordered by predicted GPU time (``pred_duration_s * num_gpus``),
    non-preemptive. With ``pred_duration_s == duration_s`` this is SJF on true GPU time.

    Parameters
    ----------
    artifact_order : bool
        The Helios simulator's order (set by ``compat``): equal priorities go to the job with
        fewer GPUs first (its queue is sorted by GPU count before the stable sort by priority),
        and when every pending job arrived in the current second they are placed in GPU-count
        order, one tick before priorities are assigned.
    """

    name = "qssf"
    needs = ("pred_duration_s",)
    summary = "Helios' QSSF: least predicted GPU time first"

    def __init__(self, artifact_order: bool = False) -> None:
        self.artifact_order = artifact_order
        self.fresh_gpu_order = artifact_order

    def keys(self, view: JobView) -> np.ndarray | tuple[np.ndarray, ...]:
        """Predicted GPU-seconds (then GPUs, with ``artifact_order``)."""
        assert view.pred is not None
        key = view.pred * view.gpus
        return (key, view.gpus) if self.artifact_order else key

    def estimate(self, view: JobView) -> np.ndarray:
        """EASY reservations use the predicted duration."""
        assert view.pred is not None
        return view.pred

    def compat_variant(self, mode: str) -> QSSF:
        """QSSF with the Helios simulator's tie and fresh-arrival order."""
        assert mode in COMPAT_MODES
        return QSSF(artifact_order=True)
