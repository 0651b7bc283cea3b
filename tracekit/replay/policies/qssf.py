"""QSSF (Helios, SC'21): quasi-shortest-service-first = predicted duration x GPUs."""

from __future__ import annotations

import numpy as np

from tracekit.replay.policies.base import JobView, Policy


class QSSF(Policy):
    """Pending jobs ordered by predicted GPU time (``pred_duration * num_gpus``), non-preemptive.

    With ``compat="helios"`` the engine also reproduces Helios' lazy one-tick-late priority: jobs
    that all arrived in the current second are placed in GPU-count order (replay.md §2.3).
    With ``pred_duration == duration`` this is SJF on true GPU time (replay.md §14 item 7).
    """

    name = "qssf"
    needs_prediction = True
    fresh_gpu_order = True

    def keys(self, view: JobView) -> np.ndarray:
        """Predicted GPU-seconds."""
        assert view.pred is not None
        return view.pred * view.gpus

    def estimate(self, view: JobView) -> np.ndarray:
        """EASY reservations use the predicted duration."""
        assert view.pred is not None
        return view.pred
