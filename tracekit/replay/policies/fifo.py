"""FIFO: serve jobs in submit order (ties by input row order)."""

from __future__ import annotations

import numpy as np

from tracekit.replay.policies.base import JobView, Policy


class FIFO(Policy):
    """First in, first out; strict head-of-line blocking by default (Helios/Lucid ``fifo``)."""

    name = "fifo"
    summary = "first in, first out; head-of-line blocking by default"

    def keys(self, view: JobView) -> np.ndarray:
        """The submit time."""
        return view.submit
