"""Former location of the policy comparison, kept so ``from tracekit.replay import study`` in
existing notebooks still works; use :mod:`tracekit.replay.studies`."""

from tracekit.replay.studies.comparison import (
    held_out_inputs,
    held_out_start,
    needs_pool,
    policy_comparison,
)

__all__ = ["held_out_inputs", "held_out_start", "needs_pool", "policy_comparison"]
