"""Over-dispersed arrival times: a gamma-modulated (doubly stochastic) Poisson process.

The rate of each 10-minute bin is ``hour shape x weekday factor x slow trend x G_day x G_bin``
with ``G_day ~ Gamma(k_day)`` and ``G_bin ~ Gamma(k_bin)`` (mean 1). Given the bin weights, the
number of events per bin is multinomial, so the total is exact. Jobs then arrive in *sessions*
(a user submitting several jobs of one group within seconds or minutes), which adds the
burstiness a plain Poisson process lacks (Venus: 10-minute index of dispersion 15.4).

All times are naive local seconds since the Unix epoch (the traces' wall clock read as UTC).
"""

from __future__ import annotations

import numpy as np

BIN_S = 600
DAY_S = 86_400


def bin_weights(
    rng: np.random.Generator,
    start_s: int,
    end_s: int,
    hour_shape: np.ndarray,
    weekday: np.ndarray,
    trend: np.ndarray | None = None,
    k_day: float = 7.0,
    k_bin: float = 0.6,
) -> tuple[np.ndarray, np.ndarray]:
    """Random relative rates of the 10-minute bins covering ``[start_s, end_s)``.

    Parameters
    ----------
    rng : numpy Generator
    start_s, end_s : int
        Window, naive local seconds.
    hour_shape : array of 24 floats
        Relative rate by clock hour.
    weekday : array of 7 floats
        Relative rate Monday..Sunday.
    trend : array, optional
        Relative rate per day of the window (slow trend); default flat.
    k_day, k_bin : float
        Gamma shapes of the daily and per-bin modulation (smaller = burstier).

    Returns
    -------
    bin_start_s, weight : numpy arrays
        Bin start times and weights summing to 1.
    """
    starts = np.arange(start_s - start_s % BIN_S, end_s, BIN_S, dtype=np.int64)
    day = (starts - starts[0]) // DAY_S
    n_days = int(day[-1]) + 1
    hour = (starts // 3600) % 24
    wd = ((starts // DAY_S) + 3) % 7  # 1970-01-01 was a Thursday (Mon = 0)
    g_day = rng.gamma(k_day, 1.0 / k_day, size=n_days)
    g_bin = rng.gamma(k_bin, 1.0 / k_bin, size=len(starts))
    w = hour_shape[hour] * weekday[wd] * g_day[day] * g_bin
    if trend is not None:
        w = w * trend[np.minimum(day, len(trend) - 1)]
    w[(starts < start_s) | (starts >= end_s)] = 0.0
    return starts, w / w.sum()


def session_sizes(rng: np.random.Generator, n_jobs: int, zipf_a: float = 3.0) -> np.ndarray:
    """Split ``n_jobs`` into sessions of Zipf-distributed sizes (mean about 1.4, capped at 50)."""
    if n_jobs <= 0:
        return np.zeros(0, dtype=np.int64)
    guess = int(n_jobs / 1.3) + 16
    sizes = np.minimum(rng.zipf(zipf_a, size=guess), 50)
    while sizes.sum() < n_jobs:
        sizes = np.concatenate([sizes, np.minimum(rng.zipf(zipf_a, size=guess), 50)])
    cum = np.cumsum(sizes)
    m = int(np.searchsorted(cum, n_jobs)) + 1
    sizes = sizes[:m].copy()
    sizes[-1] -= int(cum[m - 1] - n_jobs)
    return sizes.astype(np.int64)


def session_times(
    rng: np.random.Generator,
    bin_start_s: np.ndarray,
    weight: np.ndarray,
    sizes: np.ndarray,
    gap_mean_s: float = 30.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Submission times of the jobs of each session, and each job's session index.

    Session starts are drawn per bin from a multinomial on ``weight``; jobs of a session follow
    with exponential gaps of mean ``gap_mean_s``.
    """
    m = len(sizes)
    counts = rng.multinomial(m, weight)
    starts = np.repeat(bin_start_s, counts) + rng.integers(0, BIN_S, size=m)
    starts = starts[rng.permutation(m)]  # decouple session size from time order
    session = np.repeat(np.arange(m), sizes)
    first = np.cumsum(sizes) - sizes
    gaps = rng.exponential(gap_mean_s, size=int(sizes.sum()))
    gaps[first] = 0.0
    offset = np.cumsum(gaps)
    offset = offset - np.repeat(offset[first], sizes)
    times = starts[session] + offset.astype(np.int64)
    return times, session
