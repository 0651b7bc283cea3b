"""The policy interface of the replay engine.

Two kinds of policies exist; the engine picks its loop from :attr:`Policy.preemptive`.

*Static-key policies* (FIFO, SJF, QSSF): each job gets one sort key when it is submitted and the
pending queue is served in ``(key, submit order)`` order. Implement :meth:`Policy.keys`, which
returns one float per job for a whole VC at once (vectorised; the engine turns keys into integer
ranks, so the hot loop compares ints only).

*Preemptive policies* (SRTF, Tiresias): at every scheduling pass the engine asks
:meth:`PreemptivePolicy.key` for the priority of every active (pending and running) job,
selects jobs greedily under the VC's GPU quota, preempts running jobs that were not selected and
places the selected pending ones. A policy whose priorities change while a job runs (Tiresias
demotion) reports when via :meth:`PreemptivePolicy.next_change`, so the engine can schedule an
event there instead of ticking.

To add a policy: subclass one of the two classes, give it a ``name``, and register it in
``tracekit.replay.policies.POLICIES`` (or pass an instance to ``simulate``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class JobView:
    """Static per-job arrays of one VC, in submit order (index = local job index ``j``).

    Attributes
    ----------
    submit, duration : numpy.ndarray
        Seconds (float64).
    gpus : numpy.ndarray
        GPUs requested (int64).
    pred : numpy.ndarray or None
        Predicted duration (float64) when the job table has ``pred_duration``.
    """

    submit: np.ndarray
    duration: np.ndarray
    gpus: np.ndarray
    pred: np.ndarray | None


class VCState:
    """Mutable per-job state of one VC, read by preemptive policies (plain lists, fast to index).

    Attributes
    ----------
    gpus, duration, pred : list
        Static fields (``pred`` is a list of floats, or ``None``).
    rem : list[float]
        Remaining work in seconds (true duration + overheads charged so far - executed),
        as of ``resume[j]`` for a running job.
    executed : list[float]
        Seconds run before the current run interval (including overhead time).
    extra : list[float]
        Checkpoint/restart overhead charged so far, seconds.
    resume : list[float]
        Start of the current run interval of a running job.
    running : list[bool]
        Whether the job holds GPUs now.
    """

    def __init__(self, view: JobView) -> None:
        n = len(view.submit)
        self.gpus: list[int] = view.gpus.tolist()
        self.duration: list[float] = view.duration.tolist()
        self.pred: list[float] | None = None if view.pred is None else view.pred.tolist()
        self.rem: list[float] = list(self.duration)
        self.executed: list[float] = [0.0] * n
        self.extra: list[float] = [0.0] * n
        self.resume: list[float] = [0.0] * n
        self.running: list[bool] = [False] * n

    def executed_now(self, j: int, t: float) -> float:
        """Seconds job ``j`` has run (including overhead time) up to ``t``."""
        if self.running[j]:
            return self.executed[j] + (t - self.resume[j])
        return self.executed[j]


class Policy:
    """Base class of all policies (static-key by default).

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"fifo"``.
    preemptive : bool
        False: static-key loop; True: preemptive loop (see :class:`PreemptivePolicy`).
    needs_prediction : bool
        The job table must carry ``pred_duration``.
    default_backfill : str
        Backfill used when ``simulate(backfill=None)``: ``"none"`` (strict head-of-line, as the
        Helios/Lucid FIFO/SJF/QSSF), ``"greedy"`` or ``"easy"``.
    fresh_gpu_order : bool
        Artifact-compat hook for QSSF: when every pending job arrived in the current second, order
        them by GPU count instead of the key (Helios' lazy one-tick-late priority, replay.md §2.3).
    """

    name = "policy"
    preemptive = False
    needs_prediction = False
    default_backfill = "none"
    fresh_gpu_order = False

    def prepare(self, rng: np.random.Generator) -> None:
        """Called once per simulation with a seeded generator (for randomised policies)."""
        self.rng = rng

    def keys(self, view: JobView) -> np.ndarray:
        """Static sort key per job (lower runs first; ties by submit order)."""
        raise TypeError(f"policy {self.name!r} does not define static keys")

    def estimate(self, view: JobView) -> np.ndarray:
        """Run-time estimate used by EASY backfill reservations (true duration by default)."""
        return view.duration

    def __repr__(self) -> str:
        fields = {k: v for k, v in vars(self).items() if k != "rng"}
        return f"{type(self).__name__}({fields})"


class PreemptivePolicy(Policy):
    """Base class of preemptive policies (see the module docstring)."""

    preemptive = True
    default_backfill = "greedy"
    #: True if a running job's key changes only at the times :meth:`next_change` reports; the
    #: engine then keeps running keys in a sorted list instead of recomputing them every pass.
    static_running_keys = False
    #: True if :meth:`running_order` gives a key that is fixed while a job runs and orders
    #: running jobs exactly as :meth:`key` does at every ``t`` (SRTF: the expected finish time);
    #: the engine then keeps running jobs sorted by it and computes keys only where needed.
    ordered_running = False

    def key(self, st: VCState, j: int, t: float) -> tuple:
        """Priority key of job ``j`` at ``t`` (smaller runs first); must end with ``j``.

        Contract: the key of a *pending* job must not change while it waits (the engine keeps
        pending jobs in a sorted list); keys of running jobs may change with ``t``, and
        :meth:`next_change` tells the engine when a change can alter the schedule.
        """
        raise TypeError(f"policy {self.name!r} does not define key()")

    def running_keys(self, st: VCState, jobs: list[int], t: float) -> list[tuple]:
        """Keys of the running ``jobs`` at ``t`` (override to batch :meth:`key` for speed)."""
        key = self.key
        return [key(st, j, t) for j in jobs]

    def running_order(self, st: VCState, j: int) -> tuple:
        """Time-invariant rank key of running job ``j`` (see :attr:`ordered_running`)."""
        raise TypeError(f"policy {self.name!r} does not define running_order()")

    def pending_order(self, k: tuple, t: float) -> tuple:
        """A pending job's key ``k`` mapped to :meth:`running_order` space at ``t`` (a hint
        for bisection; the engine settles ties and rounding with exact keys)."""
        raise TypeError(f"policy {self.name!r} does not define pending_order()")

    def next_change(self, st: VCState, j: int, t: float) -> float | None:
        """Time after ``t`` at which running job ``j``'s priority class changes, or ``None``."""
        return None

    def running_entry(self, st: VCState, j: int, t: float) -> tuple[tuple, float | None]:
        """``(key(st, j, t), next_change(st, j, t))`` of running job ``j``, used by the engine
        when :attr:`static_running_keys` is set (override to compute both at once)."""
        return self.key(st, j, t), self.next_change(st, j, t)
