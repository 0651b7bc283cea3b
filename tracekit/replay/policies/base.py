"""The policy seam of the replay: one interface for every policy and both resource models.

A policy is a small class. What it declares decides where it can run:

* :attr:`Policy.needs` - the input columns it reads beyond the basic job table
  (``"pred_duration_s"``: predictions; ``"util"``: GPU utilisation);
* :attr:`Policy.resources` - the resource models it supports: ``"whole"`` (whole GPUs on nodes,
  :class:`~tracekit.replay.resources.Cluster`) and/or ``"shared"`` (individually modelled,
  shareable GPUs, :class:`~tracekit.replay.resources.GPUPool`).

Three kinds exist, and each engine picks its loop from the kind:

*Static-key policies* (:class:`Policy`: FIFO, SJF, QSSF): each job gets one sort key when it
is submitted and pending jobs are served in ``(key, submit order)`` order. Implement
:meth:`Policy.keys`, which returns the keys of a whole VC at once (vectorised; the engine turns
them into integer ranks, so its hot loop compares ints). Both resource models run them.

*Preemptive policies* (:class:`PreemptivePolicy`: SRTF, Tiresias; whole GPUs): at every
scheduling pass the engine asks :meth:`PreemptivePolicy.key` for the priority of every active
(pending and running) job, selects jobs greedily under the VC's GPU quota, preempts running jobs
that were not selected and places the selected pending ones. A policy whose priorities change
while a job runs (Tiresias demotion) reports when via :meth:`PreemptivePolicy.next_change`, so
the engine schedules an event there instead of ticking.

*Packing policies* (:class:`PackingPolicy`: Lucid; shared GPUs): a static key plus a pairing rule
that lets a pending job join a running job's GPUs.

Adding a policy is one file in this folder plus one line in the registry
(``tracekit/replay/policies/__init__.py``); a policy instance can also be passed to
:func:`tracekit.replay.replay` directly.

**Compiled kernels.** The whole-GPU engine replays a VC with compiled code (numba) when the
policy declares how, and with its Python loop otherwise; both give identical results, and the
Python loop stays the reference (``replay(core="python")``). Two seams:

* :meth:`Policy.kernel_spec` returns a :class:`KernelSpec`: which rule of the built-in compiled
  core replays the policy. Every static-key policy qualifies (the compiled loop needs only its
  :meth:`Policy.keys` and :meth:`Policy.estimate` arrays); SRTF and Tiresias declare their rule
  and parameters. A subclass of a preemptive policy inherits *no* kernel (it may change keys):
  it runs in Python unless it defines ``kernel_spec`` itself.
* :attr:`Policy.kernel`, a callable ``kernel(view, nodes, gpus_per_node, options) -> VCRun``,
  replaces the engine for one VC with code of the policy's own (job arrays in,
  :class:`~tracekit.replay.engines.whole_gpu.VCRun` out); it must give identical results.

Neither is used for runs that record node allocations or use a custom placement factory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

COMPAT_MODES = ("helios", "lucid")
"""Artifact-compatible modes: the Lucid simulator's rules, with Lucid's or Helios' overheads."""


@dataclass(frozen=True)
class KernelSpec:
    """The rule of the compiled core that replays a policy (see :meth:`Policy.kernel_spec`).

    Attributes
    ----------
    rule : {"static", "srtf", "las"}
        ``static``: the static-key loop on the policy's :meth:`Policy.keys`; ``srtf``: shortest
        remaining time first; ``las``: Tiresias' discretized least attained service.
    predicted : bool
        SRTF on ``max(pred_duration_s + overheads - executed, 1e-6 s)`` instead of the true
        remaining time.
    list_ties : bool
        SRTF ties in the published simulators' list order (pending before running, then
        insertion order).
    thresholds : tuple of float
        Tiresias: service thresholds between queues.
    gpu_time : bool
        Tiresias: attained service in GPU-seconds (else seconds).
    strict : bool
        Tiresias: demotion once service is *above* a threshold, at whole seconds (the Lucid
        simulator's rule) instead of at the exact instant it reaches it.
    """

    rule: str
    predicted: bool = False
    list_ties: bool = False
    thresholds: tuple[float, ...] = ()
    gpu_time: bool = True
    strict: bool = False


@dataclass
class JobView:
    """Static per-job arrays of one VC (or GPU pool), in submit order (index = local job ``j``).

    Attributes
    ----------
    submit, duration : numpy.ndarray
        Seconds (float64).
    gpus : numpy.ndarray
        GPUs requested: int64 for whole GPUs, float64 (fractions allowed) for shared GPUs.
    pred : numpy.ndarray or None
        Predicted duration in seconds, when the job table has ``pred_duration_s``.
    util : numpy.ndarray or None
        GPU utilisation as a fraction of one GPU (shared GPUs only).
    """

    submit: np.ndarray
    duration: np.ndarray
    gpus: np.ndarray
    pred: np.ndarray | None
    util: np.ndarray | None = None


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
    pseq, rseq : list[int]
        Insertion number of a pending job in the pending list (set on arrival and again on each
        preemption) and of a running job in the running list (set at each start). They order
        ties the way the published simulators' lists do (see ``SRTF(list_ties=True)``).
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
        self.pseq: list[int] = [0] * n
        self.rseq: list[int] = [0] * n

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
    summary : str
        One line for ``tracekit replay --help`` and :func:`~tracekit.replay.policies.describe`.
    needs : tuple of str
        Input columns the policy reads beyond ``job_id, vc, submit_time, duration_s,
        num_gpus``: ``"pred_duration_s"`` and/or ``"util"``.
    resources : tuple of str
        Resource models the policy supports: ``"whole"`` and/or ``"shared"``.
    preemptive : bool
        False: static-key loop; True: preemptive loop (see :class:`PreemptivePolicy`).
    default_backfill : str
        Backfill of the whole-GPU engine when ``backfill=None``: ``"none"`` (strict head-of-line,
        as the Helios/Lucid FIFO/SJF/QSSF), ``"greedy"`` or ``"easy"``.
    fresh_gpu_order : bool
        Artifact-compatible QSSF: when every pending job arrived in the current second, order
        them by GPU count instead of the key (Helios' lazy, one-tick-late priority).
    kernel : callable or None
        A replay of one VC of the policy's own (see the module docstring); ``None``: the
        built-in cores (:meth:`kernel_spec`).
    """

    name = "policy"
    summary = ""
    needs: tuple[str, ...] = ()
    resources: tuple[str, ...] = ("whole", "shared")
    preemptive = False
    default_backfill = "none"
    fresh_gpu_order = False
    #: The policy has its own value for a missing prediction (Lucid: 1,000 s), so validation
    #: only requires the ``pred_duration_s`` column, not a value in every row.
    missing_prediction_ok = False
    kernel: ClassVar[Callable[..., Any] | None] = None

    @property
    def needs_prediction(self) -> bool:
        """The job table must carry ``pred_duration_s``."""
        return "pred_duration_s" in self.needs

    def prepare(self, rng: np.random.Generator) -> None:
        """Called once per VC with a seeded generator (for randomised policies)."""
        self.rng = rng

    def keys(self, view: JobView) -> np.ndarray | tuple[np.ndarray, ...]:
        """Static sort key per job (lower runs first; ties by submit order).

        A tuple of arrays is a lexicographic key, most significant first.
        """
        raise TypeError(f"policy {self.name!r} does not define static keys")

    def estimate(self, view: JobView) -> np.ndarray:
        """Run-time estimate used by EASY backfill reservations (true duration by default)."""
        return view.duration

    def kernel_spec(self) -> KernelSpec | None:
        """The compiled-core rule that replays this policy on whole GPUs, or ``None`` (Python).

        A static-key policy runs on the compiled static loop, which reads only :meth:`keys`,
        :meth:`estimate` and :attr:`fresh_gpu_order`, as the Python loop does.
        """
        return KernelSpec("static")

    def compat_variant(self, mode: str) -> Policy:
        """This policy under the artifact-compatible rules of ``mode`` (``"lucid"`` or
        ``"helios"``); the default is the policy itself."""
        return self

    def __repr__(self) -> str:
        fields = {k: v for k, v in vars(self).items() if k != "rng"}
        return f"{type(self).__name__}({fields})"


class PreemptivePolicy(Policy):
    """Base class of preemptive policies (see the module docstring)."""

    preemptive = True
    resources = ("whole",)
    default_backfill = "greedy"
    #: Scheduling cadence in seconds (passes only at multiples of it); ``None``: at events.
    interval: float | None = None
    #: True if a running job's key changes only at the times :meth:`next_change` reports; the
    #: engine then keeps running keys in a sorted list instead of recomputing them every pass.
    static_running_keys = False
    #: True if :meth:`running_order` gives a key that is fixed while a job runs and orders
    #: running jobs exactly as :meth:`key` does at every ``t`` (SRTF: the expected finish time);
    #: the engine then keeps running jobs sorted by it and computes keys only where needed.
    ordered_running = False
    #: True if keys use the insertion numbers of the pending and running lists
    #: (``VCState.pseq``/``rseq``); the engine maintains them only then.
    uses_list_order = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass may change keys, running order or priority changes, which a compiled rule
        # would not see: it runs in Python unless it declares its own kernel_spec.
        if "kernel_spec" not in cls.__dict__:
            cls.kernel_spec = PreemptivePolicy.kernel_spec  # type: ignore[method-assign]

    def kernel_spec(self) -> KernelSpec | None:
        """``None``: preemptive policies run in Python unless they declare a compiled rule."""
        return None

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


class PackingPolicy(Policy):
    """A static-key policy that may also put a pending job on a running job's GPUs (shared
    GPUs only).

    Attributes
    ----------
    max_jobs_per_gpu : int
        Most jobs on one GPU under this policy.
    share_by : {"request", "usage"}
        What a job's slot counts against its GPU (see :mod:`tracekit.replay.engines.shared_gpu`).
    prefer_exclusive : bool
        Try empty GPUs before a partner.
    max_gpus : int
        Larger jobs are never packed.
    """

    resources = ("shared",)
    max_jobs_per_gpu = 2
    share_by = "usage"
    prefer_exclusive = False
    max_gpus = 8

    def kernel_spec(self) -> KernelSpec | None:
        """``None``: packing policies run on the shared-GPU engine (Python)."""
        return None

    def can_pair(self, util_a: float, util_b: float, key_a: float, key_b: float) -> bool:
        """May pending job ``a`` join running job ``b``, which is alone on its GPUs?"""
        raise TypeError(f"policy {self.name!r} does not define can_pair()")
