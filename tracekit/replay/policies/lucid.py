"""Lucid-style scheduling (Hu et al., ASPLOS'23) on shared GPUs.

What is kept from the Lucid artifact (github.com/S-Lab-System-Group/Lucid, ``simulation/``):

* **Order.** Pending jobs are sorted by ``priority = predicted duration x GPUs``. The artifact
  uses an estimate of an interpretable model (EBM); here the ``pred_duration_s`` column (a store
  prediction, an oracle or a noisy oracle). Non-positive or missing predictions become
  ``fill_prediction_s`` = 1,000 s, as the artifact does with its negative estimates.
* **Non-intrusive packing.** For each pending job (at most ``max_gpus`` GPUs) the scheduler takes
  the first running *exclusive* job (alone on its GPUs) with the same GPU count, whose profile
  allows sharing and with ``priority(job) <= priority_ratio x priority(partner)``, and puts the
  job on exactly the partner's GPUs. Otherwise the job gets empty GPUs of its own. Every pending
  job is tried (the artifact's colocation mode acts as backfill). At most 2 jobs per GPU.
* **Profile.** The artifact's "sharescore" (0/1/2 labels of a decision tree on profiled GPU
  utilisation and memory) does not exist for public traces; here a pair may share when the two
  jobs' GPU utilisations sum to at most ``util_cap`` (100 %). Philly has per-job utilisation and
  PAI its sensors; Helios has none, so :func:`tracekit.replay.inputs.fill_utilization`
  substitutes per-user medians or a seeded prior.
* **Slots count usage.** A packed slot occupies its utilisation on the GPU, so the shares on a
  GPU never exceed one GPU.

Changed or left out: colocated jobs never run faster than alone (the artifact's profiled pair
speeds exceed 1 for about a fifth of the pairs; here the shared engine's slowdown model gives
rates <= 1); job id 0 works; a finishing job's partner gets its full speed back. The profiler
carve-out (2 nodes, 200 s) and Prescient Adaptive Sharing (colocation off when few arrivals are
forecast) are not modelled: colocation is always on, as in the artifact's Philly runs.
"""

from __future__ import annotations

import numpy as np

from tracekit.replay.policies.base import JobView, PackingPolicy


class Lucid(PackingPolicy):
    """Lucid-style order and pairing rule (shared GPUs).

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

    name = "lucid"
    summary = "Lucid-style packing by predicted GPU time"
    needs = ("pred_duration_s", "util")
    missing_prediction_ok = True

    def __init__(
        self,
        util_cap: float = 1.0,
        priority_ratio: float = 2.0,
        max_gpus: int = 8,
        fill_prediction_s: float = 1000.0,
        prefer_exclusive: bool = False,
        max_jobs_per_gpu: int = 2,
        share_by: str = "usage",
    ) -> None:
        if not 0.0 < util_cap <= 1.0:
            raise ValueError(
                f"util_cap must be in (0, 1] (shares never exceed 1 GPU), got {util_cap}"
            )
        if priority_ratio <= 0:
            raise ValueError("priority_ratio must be positive")
        if max_jobs_per_gpu != 2 or share_by != "usage":
            raise ValueError("Lucid packs pairs by usage: max_jobs_per_gpu=2, share_by='usage'")
        self.util_cap = util_cap
        self.priority_ratio = priority_ratio
        self.max_gpus = max_gpus
        self.fill_prediction_s = fill_prediction_s
        self.prefer_exclusive = prefer_exclusive

    def priority(self, pred: np.ndarray, gpus: np.ndarray) -> np.ndarray:
        """``pred x ceil(gpus)``; missing/non-positive predictions become ``fill_prediction_s``."""
        p = np.where(np.isfinite(pred) & (pred > 0), pred, self.fill_prediction_s)
        return p * np.maximum(1.0, np.ceil(gpus - 1e-9))

    def keys(self, view: JobView) -> np.ndarray:
        """:meth:`priority` of every job."""
        pred = view.pred if view.pred is not None else np.full(len(view.submit), np.nan)
        return self.priority(np.asarray(pred, dtype=np.float64), view.gpus)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass may change the pairing rule, which the compiled core would not see: it
        # runs in Python unless it declares its own pair_kernel.
        if "pair_kernel" not in cls.__dict__:
            cls.pair_kernel = _no_pair_kernel  # type: ignore[method-assign]

    def pair_kernel(self) -> tuple[float, float] | None:
        """The pairing rule of the shared-GPU compiled core: ``(util_cap, priority_ratio)``, the
        parameters of :meth:`can_pair` (see :mod:`tracekit.replay.engines.shared_compiled`)."""
        return self.util_cap, self.priority_ratio

    def can_pair(self, util_a: float, util_b: float, key_a: float, key_b: float) -> bool:
        """Pair rule: utilisations fit, and the newcomer is not much longer than the partner."""
        return util_a + util_b <= self.util_cap + 1e-12 and key_a <= self.priority_ratio * key_b


def _no_pair_kernel(self: Lucid) -> None:
    """A subclass without its own ``pair_kernel``: no compiled pairing rule (Python)."""
    return None


#: The earlier name of :class:`Lucid`.
LucidPolicy = Lucid


__all__ = ["Lucid", "LucidPolicy"]
