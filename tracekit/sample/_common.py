"""Helpers shared by the per-trace sample generators: seeding, inverse CDFs, ids, rounding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tracekit.sources._common import SYNTHETIC_MARKER

GENERATOR_VERSION = "2.0"
_ALNUM = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
_HEX = np.array(list("0123456789abcdef"))


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """An independent numpy Generator for ``seed`` and a path of integer keys (trace, cluster)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))


def inverse_cdf(u: np.ndarray, grid_s: tuple[int, ...], cdf_pct: tuple[float, ...]) -> np.ndarray:
    """Durations (s, float) at probabilities ``u`` for a CDF known at the points ``grid_s``.

    Between grid points the CDF is interpolated linearly in log2(t); below the first point
    (1 s) linearly in t from 0, so sub-second jobs become 0 s once floored.
    """
    cdf = np.asarray(cdf_pct, dtype=float) / 100.0
    log_t = np.log2(np.asarray(grid_s, dtype=float))
    out = np.empty_like(u, dtype=float)
    low = u < cdf[0]
    out[low] = grid_s[0] * u[low] / cdf[0]
    # Flat stretches of the CDF would make interp ambiguous: nudge them to strictly increasing.
    xp = np.maximum.accumulate(cdf + np.arange(len(cdf)) * 1e-12)
    out[~low] = np.exp2(np.interp(u[~low], xp, log_t))
    return out


def rank_uniform(score: np.ndarray) -> np.ndarray:
    """Map scores to (0, 1) by rank (ties broken by position), keeping their order."""
    n = len(score)
    ranks = np.empty(n, dtype=float)
    ranks[np.argsort(score, kind="stable")] = np.arange(n)
    return (ranks + 0.5) / max(n, 1)


def calibrate_tail(
    duration: np.ndarray,
    gpus: np.ndarray,
    target_mean_gpu_time: float,
    q: float = 0.9,
    max_s: float = np.inf,
) -> np.ndarray:
    """Bend the duration tail so the mean GPU time per job hits a published value.

    Pass ``gpus`` of ones to calibrate the mean duration instead. GPU time is dominated by the
    few longest, largest jobs, so a sample's load varies a lot between draws and a cluster near
    85 % load tips into an ever-growing queue. Durations above
    the ``q`` quantile become ``t_q * (d / t_q) ** gamma`` with ``gamma`` in [0.5, 1.5] found by
    bisection; everything below ``t_q`` (median included) is untouched. Durations are capped at
    ``max_s`` (a scheduler's run-time limit) while the target is sought, so a later cap does not
    undo the calibration.
    """
    if duration.size == 0:
        return duration
    t_q = float(np.quantile(duration, q))
    tail = duration > t_q
    ratio = np.ones_like(duration, dtype=float)
    ratio[tail] = duration[tail] / max(t_q, 1.0)
    target = target_mean_gpu_time * duration.size

    def bent(gamma: float) -> np.ndarray:
        return np.minimum(np.where(tail, t_q * ratio**gamma, duration), max_s)

    def total(gamma: float) -> float:
        return float((gpus * bent(gamma)).sum())

    lo, hi = 0.5, 1.5
    if total(lo) > target:
        gamma = lo
    elif total(hi) < target:
        gamma = hi
    else:
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if total(mid) < target else (lo, mid)
        gamma = (lo + hi) / 2
    return bent(gamma)


def assign_vcs(activity: np.ndarray, vc_capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Home VC of each user, balancing expected load against VC capacity (greedy, heaviest
    users first). Users heavier than half their VC's share spread their jobs over all VCs.

    Returns (home VC per user, spread flag per user). Random homes would put a heavy user in a
    small VC and make its queue explode, which the real VC quotas (sized to demand) avoid.
    """
    share = activity / activity.sum()
    cap = np.asarray(vc_capacity, dtype=float)
    cap_share = np.where(cap > 0, cap / cap.sum(), np.nan)
    load = np.zeros(len(cap))
    home = np.zeros(len(share), dtype=np.int64)
    for u in np.argsort(-share, kind="stable"):
        k = int(np.nanargmin((load + share[u]) / cap_share))
        home[u] = k
        load[k] += share[u]
    spread = share > 0.5 * np.nan_to_num(cap_share[home])
    return home, spread


def random_ids(
    rng: np.random.Generator, n: int, prefix: str, length: int, hexa: bool = False
) -> list[str]:
    """``n`` distinct random ids ``prefix + length`` characters (alphanumeric or hex)."""
    alphabet = _HEX if hexa else _ALNUM
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        chars = rng.choice(alphabet, size=(n, length))
        for row in chars:
            s = prefix + "".join(row)
            if s not in seen:
                seen.add(s)
                out.append(s)
                if len(out) == n:
                    break
    return out


def round_to_total(shares: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``shares`` that sum exactly to ``total`` (largest remainder)."""
    shares = np.asarray(shares, dtype=float)
    if total <= 0 or shares.sum() <= 0:
        return np.zeros(len(shares), dtype=np.int64)
    raw = shares / shares.sum() * total
    base = np.floor(raw).astype(np.int64)
    rest = total - int(base.sum())
    if rest > 0:
        base[np.argsort(-(raw - base), kind="stable")[:rest]] += 1
    return base


def group_noise_ceiling(duration_s: np.ndarray, group: np.ndarray) -> dict[str, float]:
    """Best achievable accuracy of a duration predictor: an oracle knowing each group's mean.

    Returns the median absolute error in natural-log seconds (``log1p``) of predicting every job
    by its group's mean log duration (groups with at least two jobs), and the share of jobs in
    groups that recur at least five times.
    """
    if len(duration_s) == 0:
        return {"median_abs_log_error": float("nan"), "recurring_share": 0.0}
    y = np.log1p(np.asarray(duration_s, dtype=float))
    _, inv, counts = np.unique(group, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=y)
    mean = sums[inv] / counts[inv]
    multi = counts[inv] >= 2
    err = np.abs(y - mean)[multi]
    return {
        "median_abs_log_error": float(np.median(err)) if err.size else float("nan"),
        "recurring_share": float((counts[inv] >= 5).mean()),
    }


def write_marker(folder: Path, trace: str, seed: int, scale: float, extra: dict[str, Any]) -> Path:
    """Write ``SYNTHETIC.json`` saying this raw folder is a synthetic sample."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = {
        "synthetic": True,
        "note": "synthetic sample generated by tracekit.sample; not real trace data",
        "trace": trace,
        "generator": "tracekit.sample",
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "scale": float(scale),
        **extra,
    }
    path = folder / SYNTHETIC_MARKER
    path.write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")
    return path
