"""Lucid-style scheduling (ASPLOS'23; replay.md §2.5, findings.md §5.3) for the shared-GPU replay.

What is kept from the Lucid artifact:

* **Order.** Pending jobs are sorted by ``priority = predicted duration x GPUs`` (the artifact
  uses an EBM estimate; here the ``pred_duration`` column, e.g. a store prediction of an
  interpretable model, an oracle or a noisy oracle). Non-positive or missing predictions are
  replaced by ``fill_prediction_s`` = 1,000 s, as the artifact does for its negative EBM outputs.
* **Non-intrusive packing.** For each pending job (at most ``max_gpus`` GPUs) the scheduler takes
  the first running *exclusive* job (alone on its GPUs) with the same GPU count, whose profile
  allows sharing and with ``priority(job) <= priority_ratio x priority(partner)``, and puts the
  job on exactly the partner's GPUs. Otherwise the job gets empty GPUs of its own. Every pending
  job is tried (the artifact's colocation mode acts as backfill). At most 2 jobs per GPU.
* **Profile.** The artifact's "sharescore" (0/1/2 labels from a decision tree on profiled
  ``gpu_util, gmem_util, gmem``) is replaced by measured utilisation: a pair may share when the
  two jobs' GPU utilisations sum to at most ``util_cap`` (100 %). Philly has per-job
  utilisation (``jobs.gpu_util_mean``), PAI its sensors; Helios has none, so
  :func:`tracekit.replay.sharing.fill_utilization` substitutes per-user medians or a per-user
  seeded prior (documented there and in docs/replay_sharing.md).
* **Slots count usage.** A packed slot occupies its utilisation on the GPU (``share_by="usage"``),
  so the sum of the shares on a GPU stays <= 1 GPU.

What is changed or left out (replay.md §8): colocated jobs never run faster than alone (the
artifact's profiled pair speeds exceed 1 for 20.6 % of pairs; here
:class:`~tracekit.replay.sharing.SlowdownModel` gives rates <= 1); job id 0 works; a finishing
job's partner gets its full speed back. The profiler carve-out (2 nodes, 200 s) and
Prescient Adaptive Sharing (colocation off when few arrivals are forecast) are not modelled:
colocation is always on, as in the artifact's Philly runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl


@dataclass(frozen=True)
class LucidPolicy:
    """Lucid-style order and pairing rule for :func:`tracekit.replay.sharing.simulate_shared`.

    Parameters
    ----------
    util_cap : float
        A pair may share a GPU when their utilisations (fractions) sum to at most this.
    priority_ratio : float
        A pending job joins a partner only if its priority <= ratio x the partner's (Lucid: 2).
    max_gpus : int
        Larger jobs are never packed (Lucid: 8).
    fill_prediction_s : float
        Replaces missing or non-positive predictions (Lucid: 1,000 s).
    prefer_exclusive : bool
        Try empty GPUs before a partner (the artifact tries the partner first).
    """

    util_cap: float = 1.0
    priority_ratio: float = 2.0
    max_gpus: int = 8
    fill_prediction_s: float = 1000.0
    prefer_exclusive: bool = False
    name: str = "lucid"
    max_jobs_per_gpu: int = 2
    share_by: str = "usage"

    def __post_init__(self) -> None:
        if not 0.0 < self.util_cap <= 1.0:
            raise ValueError(f"util_cap must be in (0, 1] (shares never exceed 1 GPU), got "
                             f"{self.util_cap}")  # fmt: skip
        if self.priority_ratio <= 0:
            raise ValueError("priority_ratio must be positive")
        if self.max_jobs_per_gpu != 2 or self.share_by != "usage":
            raise ValueError("Lucid packs pairs by usage: max_jobs_per_gpu=2, share_by='usage'")

    def priority(self, pred: np.ndarray, gpus: np.ndarray) -> np.ndarray:
        """``pred x ceil(gpus)``; missing/non-positive predictions become ``fill_prediction_s``."""
        p = np.where(np.isfinite(pred) & (pred > 0), pred, self.fill_prediction_s)
        return p * np.maximum(1.0, np.ceil(gpus - 1e-9))

    def can_pair(self, util_a: float, util_b: float, prio_a: float, prio_b: float) -> bool:
        """Pair rule: utilisations fit, and the newcomer is not much longer than the partner."""
        return util_a + util_b <= self.util_cap + 1e-12 and prio_a <= self.priority_ratio * prio_b


def simulate_lucid(
    jobs: pl.DataFrame,
    pool: Any,
    policy: LucidPolicy | None = None,
    **kwargs: Any,
) -> Any:
    """Run :func:`~tracekit.replay.sharing.simulate_shared` with a :class:`LucidPolicy`.

    Jobs with more than ``policy.max_gpus`` GPUs are always placed on empty GPUs.
    """
    from tracekit.replay.sharing import simulate_shared

    pol = policy or LucidPolicy()
    return simulate_shared(jobs, pool, pol, **kwargs)


__all__ = ["LucidPolicy", "simulate_lucid"]
