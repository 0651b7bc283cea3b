"""Scheduling policies of the replay (see :mod:`tracekit.replay.policies.base` for the interface).

Registry names: ``fifo``, ``sjf`` (oracle), ``sjf-pred``, ``qssf``, ``srtf`` (oracle),
``srtf-pred``, ``tiresias``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracekit.replay.policies.base import JobView, Policy, PreemptivePolicy, VCState
from tracekit.replay.policies.fifo import FIFO
from tracekit.replay.policies.qssf import QSSF
from tracekit.replay.policies.sjf import SJF
from tracekit.replay.policies.srtf import SRTF
from tracekit.replay.policies.tiresias import PRESETS as TIRESIAS_PRESETS
from tracekit.replay.policies.tiresias import Tiresias, TiresiasParams

POLICIES: dict[str, Callable[..., Policy]] = {
    "fifo": FIFO,
    "sjf": lambda: SJF(predicted=False),
    "sjf-pred": lambda: SJF(predicted=True),
    "qssf": QSSF,
    "srtf": lambda: SRTF(predicted=False),
    "srtf-pred": lambda: SRTF(predicted=True),
    "tiresias": Tiresias,
}


def make_policy(policy: str | Policy, **kwargs: Any) -> Policy:
    """Return a policy instance from a registry name (keyword arguments go to its constructor)."""
    if isinstance(policy, Policy):
        if kwargs:
            raise ValueError("policy options only apply to a policy given by name")
        return policy
    try:
        factory = POLICIES[policy]
    except KeyError:
        raise ValueError(f"unknown policy {policy!r}; known: {sorted(POLICIES)}") from None
    return factory(**kwargs)


__all__ = [
    "FIFO",
    "POLICIES",
    "QSSF",
    "SJF",
    "SRTF",
    "TIRESIAS_PRESETS",
    "JobView",
    "Policy",
    "PreemptivePolicy",
    "Tiresias",
    "TiresiasParams",
    "VCState",
    "make_policy",
]
