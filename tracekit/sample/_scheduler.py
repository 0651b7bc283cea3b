"""Start times for the synthetic jobs: the replay engine schedules them on the sample's capacity.

The sample has no scheduler of its own: queueing emerges from running the generated jobs through
:func:`tracekit.replay.replay` on the (scaled) cluster the sample writes. The production
scheduler stands in for Slurm (Helios) and Philly's scheduler: shortest remaining time first on
the true durations (a job's time limit plays that part in Slurm's backfill) with greedy skipping,
which lets short jobs pass long ones as those schedulers do. FIFO replays of the real traces
queue tens of times longer than the traces themselves (SC'21 Table 3 against the Helios
summary), so a FIFO stand-in would not reproduce the published queueing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from tracekit.replay import replay

# The production scheduler of the sample (policy, backfill and placement of tracekit.replay.replay).
POLICY = "srtf"
BACKFILL = "greedy"
PLACEMENT = "first_fit"


@dataclass
class Schedule:
    """Per job (input order): first start, end, total waiting time, number of preemptions, and
    with ``record`` every run interval ``job, vc, start, end, alloc`` (alloc = ((node, gpus),
    ...) on the VC's nodes)."""

    start: np.ndarray
    end: np.ndarray
    wait: np.ndarray
    preemptions: np.ndarray
    intervals: list[tuple[int, str, float, float, tuple[tuple[int, int], ...]]] | None = None


def schedule(
    submit_s: np.ndarray,
    gpus: np.ndarray,
    duration_s: np.ndarray,
    vc: np.ndarray,
    cluster: Mapping[str, tuple[int, int]],
    *,
    policy: str = POLICY,
    backfill: str = BACKFILL,
    placement: str = PLACEMENT,
    seed: int = 0,
    record: bool = False,
) -> Schedule:
    """Schedule jobs on ``cluster`` (``{vc: (nodes, gpus_per_node)}``) with the replay engine.

    Every job must fit its VC (the generators choose sizes and VCs accordingly); zero-length jobs
    start at submission.
    """
    n = len(submit_s)
    frame = pl.DataFrame(
        {
            "job_id": np.arange(n).astype(str),
            "vc": np.asarray(vc).astype(str),
            "submit_time": np.asarray(submit_s, dtype=np.float64),
            "duration_s": np.asarray(duration_s, dtype=np.float64),
            "num_gpus": np.asarray(gpus, dtype=np.int64),
        }
    )
    res = replay(
        frame,
        dict(cluster),
        policy,
        backfill=backfill,
        placement=placement,
        seed=seed,
        allow_zero_duration=True,
        record=record,
        workers=1,
    )
    j = res.jobs
    intervals = None
    if record:
        assert res.node_log is not None
        intervals = [(int(i), str(v), float(s), float(e), a) for v, i, s, e, a in res.node_log]
    return Schedule(
        start=j["start_time"].to_numpy(),
        end=j["end_time"].to_numpy(),
        wait=j["queue_s"].to_numpy(),
        preemptions=j["preemptions"].to_numpy(),
        intervals=intervals,
    )
