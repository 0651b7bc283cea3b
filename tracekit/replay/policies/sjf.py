"""SJF: shortest job first, on the true duration (oracle) or on a prediction."""

from __future__ import annotations

import numpy as np

from tracekit.replay.policies.base import JobView, Policy


class SJF(Policy):
    """Shortest job first, non-preemptive.

    Parameters
    ----------
    predicted : bool
        Key on ``pred_duration_s`` (``sjf-pred``, like PAI's SJU/SJG) instead of the true
        duration (``sjf``, the Helios/Lucid oracle baseline).
    """

    def __init__(self, predicted: bool = False) -> None:
        self.predicted = predicted
        self.name = "sjf-pred" if predicted else "sjf"
        self.needs = ("pred_duration_s",) if predicted else ()
        self.summary = (
            "shortest predicted duration first" if predicted else "shortest true duration first"
        )

    def keys(self, view: JobView) -> np.ndarray:
        """Predicted or true duration."""
        if self.predicted:
            assert view.pred is not None
            return view.pred
        return view.duration

    def estimate(self, view: JobView) -> np.ndarray:
        """EASY reservations use the same duration the policy sorts on."""
        return self.keys(view)
