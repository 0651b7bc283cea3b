"""Tiresias (NSDI'19): discretized two-dimensional least-attained-service (2D-LAS).

Jobs sit in ``num_queues`` priority queues by attained service; a job moves to queue ``k`` once
its attained service reaches ``thresholds[k-1]``. Queues are served in order and FIFO (by submit
order) inside a queue. Attained service is run time (``service="time"``, Tiresias ``dlas``) or
GPU time (``service="gpu_time"``, ``dlas-gpu``). There is no starvation promotion (as in the
Lucid artifact).

Three published parameter sets disagree (Tiresias' own simulator, the Lucid artifact and the
Pollux simulator); they are :data:`PRESETS`:

=========  ======  =====================  ========  ========  ============
preset     queues  thresholds             service   interval  overhead
=========  ======  =====================  ========  ========  ============
tiresias   3       3,250 / 7,200 GPU-s    gpu_time  events    none
lucid      2       18,000 GPU-s           gpu_time  60 s      40 s / 60 s
pollux     2       57,600 GPU-s           gpu_time  60 s      none
=========  ======  =====================  ========  ========  ============

With ``compat`` (the Lucid simulator's rules) attained service counts whole seconds of GPU time,
a job is demoted once it has *more* than a threshold (18,000 GPU-s), and decisions happen only on
the 60-s clock that starts at the first submit.
"""

from __future__ import annotations

import bisect
import math
from bisect import bisect_right
from dataclasses import dataclass

from tracekit.replay.policies.base import COMPAT_MODES, KernelSpec, PreemptivePolicy, VCState

# Slack (GPU-seconds) when comparing attained service with a threshold, so a demotion event
# computed as t + (thr - a) / rate is not missed by float rounding at large t.
_EPS = 1e-6
# Demotion events are at least this far in the future, so float rounding can never produce an
# event at the current time over and over (an endless loop).
_MIN_STEP_S = 1e-6


@dataclass(frozen=True)
class TiresiasParams:
    """One parameter set of discretized 2D-LAS."""

    num_queues: int
    thresholds: tuple[float, ...]
    service: str
    interval: float | None
    overhead: str


PRESETS: dict[str, TiresiasParams] = {
    "tiresias": TiresiasParams(3, (3250.0, 7200.0), "gpu_time", None, "none"),
    "lucid": TiresiasParams(2, (18000.0,), "gpu_time", 60.0, "lucid"),
    "pollux": TiresiasParams(2, (57600.0,), "gpu_time", 60.0, "none"),
}


class Tiresias(PreemptivePolicy):
    """Discretized 2D-LAS.

    Parameters
    ----------
    num_queues : int
        Number of priority queues (>= 1).
    thresholds : sequence of float
        Service thresholds between queues; only the first ``num_queues - 1`` are used (as in
        Tiresias' own simulator, which lists 3 limits for 3 queues).
    service : {"gpu_time", "time"}
        Attained-service measure.
    interval : float or None
        Scheduling cadence in seconds: passes (placement, preemption, demotion) happen only at
        multiples of ``interval``; ``None`` = at events, with exact demotion times.
    preset : str, optional
        Start from :data:`PRESETS` (explicit arguments override it). The replay also uses the
        preset's checkpoint overhead unless one is given.

    Notes
    -----
    A job is demoted at the exact instant its attained service reaches a threshold; ``compat``
    uses :class:`StrictTiresias` (the Lucid simulator's rule).
    """

    name = "tiresias"
    summary = "discretized 2D-LAS: queues by attained GPU time, preemptive"
    static_running_keys = True  # the queue of a running job changes only at demotion events

    def __init__(
        self,
        num_queues: int | None = None,
        thresholds: tuple[float, ...] | list[float] | None = None,
        service: str | None = None,
        interval: float | None | str = "preset",
        preset: str = "tiresias",
    ) -> None:
        try:
            base = PRESETS[preset]
        except KeyError:
            raise ValueError(f"unknown Tiresias preset {preset!r}; known {list(PRESETS)}") from None
        self.preset = preset
        self.num_queues = int(num_queues if num_queues is not None else base.num_queues)
        thr = tuple(float(x) for x in (thresholds if thresholds is not None else base.thresholds))
        self.service = service or base.service
        self.interval = base.interval if interval == "preset" else interval
        self.default_overhead = base.overhead
        if self.num_queues < 1:
            raise ValueError("num_queues must be >= 1")
        if len(thr) < self.num_queues - 1:
            raise ValueError(f"{self.num_queues} queues need {self.num_queues - 1} thresholds")
        self.thresholds = thr[: self.num_queues - 1]
        if list(self.thresholds) != sorted(self.thresholds) or any(x <= 0 for x in thr):
            raise ValueError(f"thresholds must be positive and increasing: {thr}")
        if self.service not in ("gpu_time", "time"):
            raise ValueError(f"service must be 'gpu_time' or 'time', got {self.service!r}")
        if self.interval is not None and not self.interval > 0:
            raise ValueError(f"interval must be positive or None, got {self.interval!r}")

    def compat_variant(self, mode: str) -> Tiresias:
        """The same parameters with the Lucid simulator's whole-second, strict demotion."""
        assert mode in COMPAT_MODES
        return StrictTiresias(self.num_queues, self.thresholds, self.service, self.interval,
                              self.preset)  # fmt: skip

    def kernel_spec(self) -> KernelSpec | None:
        """Compiled rule ``las``: these thresholds and service measure, exact demotion."""
        return KernelSpec("las", thresholds=self.thresholds, gpu_time=self.service == "gpu_time")

    def _attained(self, st: VCState, j: int, t: float) -> float:
        done = st.executed_now(j, t)
        return done * st.gpus[j] if self.service == "gpu_time" else done

    def queue_of(self, st: VCState, j: int, t: float) -> int:
        """Queue index of job ``j`` at ``t`` (0 = highest priority)."""
        return bisect.bisect_right(self.thresholds, self._attained(st, j, t) + _EPS)

    def key(self, st: VCState, j: int, t: float) -> tuple[int, int]:
        """(queue index, submit order): FIFO inside a queue."""
        # Inlined _attained (hot path); the same float operations in the same order.
        done = st.executed[j] + (t - st.resume[j]) if st.running[j] else st.executed[j]
        att = done * st.gpus[j] if self.service == "gpu_time" else done
        return (bisect.bisect_right(self.thresholds, att + _EPS), j)

    def running_keys(self, st: VCState, jobs: list[int], t: float) -> list[tuple[int, int]]:
        """Batched :meth:`key` for running jobs (hot path of every scheduling pass)."""
        thr = self.thresholds
        if not thr:
            return [(0, j) for j in jobs]
        executed, resume, gpus = st.executed, st.resume, st.gpus
        gpu = self.service == "gpu_time"
        right = bisect.bisect_right
        return [
            (right(thr, (executed[j] + t - resume[j]) * (gpus[j] if gpu else 1) + _EPS), j)
            for j in jobs
        ]

    def next_change(self, st: VCState, j: int, t: float) -> float | None:
        """Time at which running job ``j`` crosses its next threshold."""
        return self.running_entry(st, j, t)[1]

    def running_entry(self, st: VCState, j: int, t: float) -> tuple[tuple[int, int], float | None]:
        """:meth:`key` and the time of the next demotion (``None``: no threshold left) at once;
        the engine's hot path at every start and demotion, and what :meth:`next_change` reads."""
        thr = self.thresholds
        done = st.executed[j] + (t - st.resume[j]) if st.running[j] else st.executed[j]
        if self.service == "gpu_time":
            rate = st.gpus[j]
            att = done * rate
        else:
            rate = 1
            att = done
        k = bisect_right(thr, att + _EPS)
        if k >= len(thr):
            return (k, j), None
        when = t + (thr[k] - att) / rate
        low = t + _MIN_STEP_S
        if when < low:
            when = low
        return (k, j), when


class StrictTiresias(Tiresias):
    """Tiresias with the Lucid simulator's demotion (the ``compat`` variant): a job leaves a
    queue once its attained service is *above* the threshold (at most the threshold keeps it),
    checked at whole seconds. Times are whole seconds in compat mode, so every comparison here
    is exact."""

    def kernel_spec(self) -> KernelSpec | None:
        """Compiled rule ``las`` with demotion above a threshold at whole seconds."""
        return KernelSpec("las", thresholds=self.thresholds,
                          gpu_time=self.service == "gpu_time", strict=True)  # fmt: skip

    def queue_of(self, st: VCState, j: int, t: float) -> int:
        """Queue index of job ``j`` at ``t``: thresholds strictly below its service."""
        return bisect.bisect_left(self.thresholds, self._attained(st, j, t))

    def key(self, st: VCState, j: int, t: float) -> tuple[int, int]:
        """(queue index, submit order)."""
        return (self.queue_of(st, j, t), j)

    def running_keys(self, st: VCState, jobs: list[int], t: float) -> list[tuple[int, int]]:
        """:meth:`key` of the running ``jobs``."""
        return [(self.queue_of(st, j, t), j) for j in jobs]

    def running_entry(self, st: VCState, j: int, t: float) -> tuple[tuple[int, int], float | None]:
        """:meth:`key` and the first whole second with service above the next threshold."""
        thr = self.thresholds
        rate = st.gpus[j] if self.service == "gpu_time" else 1
        att = self._attained(st, j, t)
        k = bisect.bisect_left(thr, att)
        if k >= len(thr):
            return (k, j), None
        return (k, j), float(math.floor(t + (thr[k] - att) / rate) + 1)
