"""Scheduling policies of the replay: one registry for both resource models.

Each registry line maps a name to a factory of a :class:`~tracekit.replay.policies.base.Policy`.
A policy declares what it needs (predictions, utilisation) and which resource models it runs on;
see :mod:`tracekit.replay.policies.base` for the interface. To add a policy: write one module in
this folder and add one line to :data:`POLICIES`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from tracekit.replay.policies.base import (
    COMPAT_MODES,
    JobView,
    KernelSpec,
    PackingPolicy,
    Policy,
    PreemptivePolicy,
    VCState,
)
from tracekit.replay.policies.fifo import FIFO
from tracekit.replay.policies.lucid import Lucid, LucidPolicy
from tracekit.replay.policies.qssf import QSSF
from tracekit.replay.policies.sjf import SJF
from tracekit.replay.policies.srtf import SRTF
from tracekit.replay.policies.tiresias import PRESETS as TIRESIAS_PRESETS
from tracekit.replay.policies.tiresias import Tiresias, TiresiasParams

POLICIES: dict[str, Callable[..., Policy]] = {
    "fifo": FIFO,
    "sjf": SJF,
    "sjf-pred": partial(SJF, predicted=True),
    "qssf": QSSF,
    "srtf": SRTF,
    "srtf-pred": partial(SRTF, predicted=True),
    "tiresias": Tiresias,
    "lucid": Lucid,
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
        raise ValueError(f"unknown policy {policy!r}; known: {', '.join(POLICIES)}") from None
    return factory(**kwargs)


_NEEDS = {"pred_duration_s": "predictions", "util": "utilisation"}


def describe() -> dict[str, str]:
    """One line per registered policy: what it does, the resource models it runs on and what it
    reads besides the job table (``tracekit replay --help`` prints these)."""
    out = {}
    for name, factory in POLICIES.items():
        pol = factory()
        needs = "".join(f", {_NEEDS.get(x, x)}" for x in pol.needs)
        out[name] = f"{pol.summary} ({'/'.join(pol.resources)} GPUs{needs})"
    return out


__all__ = [
    "COMPAT_MODES",
    "FIFO",
    "POLICIES",
    "QSSF",
    "SJF",
    "SRTF",
    "TIRESIAS_PRESETS",
    "JobView",
    "KernelSpec",
    "Lucid",
    "LucidPolicy",
    "PackingPolicy",
    "Policy",
    "PreemptivePolicy",
    "Tiresias",
    "TiresiasParams",
    "VCState",
    "describe",
    "make_policy",
]
