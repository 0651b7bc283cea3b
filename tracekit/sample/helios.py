"""Synthetic Helios sample: ``data/<Cluster>/cluster_log.csv`` and ``cluster_gpu_number.csv``.

Per cluster: arrivals from a gamma-modulated Poisson process with the published hour-of-day,
weekday and monthly shapes, grouped in user sessions; job size from the published PMF; status
conditioned on size; duration conditioned on size and status through a rank (Gaussian-copula)
construction that reproduces the published duration CDF exactly while matching GPU time by size
and by status; users with lognormal activity; recurring job groups.

Scale: ``scale`` is the fraction of the trace's jobs. Every sample spans the whole trace period,
2020-04-01 .. 09-28, plus a warm-up from 2020-03-18 (the real log has such early submissions),
so the window never starts empty; the capacity is scaled with the jobs (``scale`` x the published
time-averaged GPUs, in whole 8-GPU nodes, constant over the window), so the allocation is the
published one at any scale. Start times are not drawn: the replay engine schedules the GPU jobs
on that capacity (:mod:`tracekit.sample._scheduler`) and queueing emerges from the load.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tracekit.sample import _arrivals, _fitted, _targets
from tracekit.sample._common import (
    assign_vcs,
    calibrate_tail,
    group_noise_ceiling,
    inverse_cdf,
    random_ids,
    rank_uniform,
    rng_for,
    round_to_total,
    write_marker,
)
from tracekit.sample._formats import (
    HELIOS_CAPACITY_FILE,
    HELIOS_CAPACITY_HEADER_FIRST,
    HELIOS_CAPACITY_HEADER_LAST,
    HELIOS_CLUSTERS,
    HELIOS_LOG_FILE,
    HELIOS_LOG_HEADER,
    HELIOS_SLURM_MAX_S,
    HELIOS_TIME_FORMAT,
)
from tracekit.sample._scheduler import schedule

TRACE_INDEX = 2  # seeds: philly 1, helios 2 (pai 3 is the PAI generator's business)
FIRST_DAY = date(2020, 4, 1)
FULL_DAYS = 181  # 2020-04-01 .. 2020-09-28
WARMUP_FIRST_DAY = date(2020, 3, 18)  # the real log's earliest submissions
RUNNING_RATE = 54 / 1_580_464  # RUNNING+SUSPENDED rows per GPU job of the real log [3P]
GPUS_PER_NODE = 8
MIN_NODES = 4  # so even a tiny sample has jobs of more than one node
# The largest job takes at most this share of the sample's cluster (a scaled-down cluster cannot
# run the published 128-GPU jobs as they are; see max_job_gpus).
MAX_JOB_SHARE = 0.5
# Capacity = scale x published mean GPUs x headroom. 1 = the published size; below 1 the cluster
# runs a little above the published allocation and queues more. Uranus, whose published queue is
# the longest, gets 5 % less (docs/sample.md, "Queueing").
# The 10 % of jobs with the most GPU time carry most of the load; in the real clusters they do not
# arrive in the bursts of the many short jobs (the allocation swings only 4-7 points over the
# day, H16), so their submissions move by up to +-SMOOTH_DAYS whole days from the drawn time.
SMOOTH_DAYS = 3
SMOOTH_QUANTILE = 0.9
HEADROOM: dict[str, float] = {"Venus": 1.0, "Earth": 0.9, "Saturn": 1.0, "Uranus": 0.9}
FAILED_SPLIT = {"FAILED": 0.88, "NODE_FAIL": 0.05, "TIMEOUT": 0.07}  # unpublished: a guess
STATE_WORDS: tuple[str, ...] = ("COMPLETED", "CANCELLED", *FAILED_SPLIT, "RUNNING", "SUSPENDED")
RUNNING, SUSPENDED = STATE_WORDS.index("RUNNING"), STATE_WORDS.index("SUSPENDED")
# Latent-duration structure: group effect (recurring jobs) and user habit (share of the group
# effect). Noise = 1 - GROUP_RHO**2 of the latent variance; see docs/sample.md for the ceiling.
GROUP_RHO = 0.8
USER_SHARE = 0.3
PARALLEL_SCALE = 0.25  # from this scale on, clusters are generated in parallel processes
# The fitted sigma (HELIOS_USER_SIGMA) describes per-user GPU *time*; activity here sets job counts
# and the heavy duration tail adds its own concentration, so a smaller sigma reproduces the
# published top-5 % shares (checked by ``check``).
USER_SIGMA_FACTOR = 0.7
# Gamma shape of the 10-minute rate modulation: gives Venus a 10-minute index of dispersion of
# about 15 (published 15.4) and a daily CV of 0.46 (published 0.47) at full scale.
K_BIN = 0.6
# Fixed-point iterations of the per-month duration shift (GPU time by month, see
# gpu_job_attributes).
MONTH_ITERATIONS = 8
# CPU jobs: cores per job (not published: a guess), and the CPU partition they queue on, in
# nodes of CPU_NODE_CORES cores sized so their mean core demand is CPU_LOAD of it (the CPU
# partitions' size is not published either).
CPU_JOB_SIZES = np.array([1, 2, 4, 8, 16, 32, 64])
CPU_JOB_SIZE_P = np.array([0.4, 0.2, 0.15, 0.1, 0.08, 0.05, 0.02])
CPU_NODE_CORES = 64
CPU_LOAD = 0.7
# Days of the warm-up (2020-03-18 .. 03-31) and of April .. September 28.
MONTH_DAYS: tuple[int, ...] = (14, 30, 31, 30, 31, 31, 28)
_EPOCH = datetime(1970, 1, 1)
_DATA = Path(__file__).parent / "data"
_DERIVED_FROM = {"Saturn": "Venus", "Uranus": "Earth"}


def _day_s(d: date) -> int:
    return int((datetime(d.year, d.month, d.day) - _EPOCH).total_seconds())


# ---- window and capacity -------------------------------------------------------------------------
def _vc_shares(cluster: str) -> tuple[list[str], np.ndarray]:
    """VC names and each VC's share of the cluster's GPUs over the trace period.

    Venus and Earth: the time average of their real ``cluster_gpu_number.csv``. Saturn and
    Uranus have no published VC split: they take Venus' and Earth's shares under synthetic VC
    names.
    """
    src = _DERIVED_FROM.get(cluster, cluster)
    lines = (_DATA / f"{src}_cluster_gpu_number.csv").read_text().splitlines()
    vcs = lines[0].split(",")[1:-1]
    values = np.array([[int(v) for v in ln.split(",")[1:-1]] for ln in lines[1:]], dtype=float)
    shares = values.sum(axis=0) / values.sum()
    if cluster in _DERIVED_FROM:
        rng = rng_for(20_200_401, TRACE_INDEX, HELIOS_CLUSTERS.index(cluster))  # fixed names
        vcs = random_ids(rng, len(vcs), "vc", 3)
    return vcs, shares


def cluster_nodes(cluster: str, scale: float) -> int:
    """8-GPU nodes of ``cluster`` at ``scale``: scale x published mean GPUs x the cluster's
    headroom (see :data:`HEADROOM`), at least :data:`MIN_NODES`."""
    gpus = scale * _targets.HELIOS_MEAN_CAPACITY[cluster] * HEADROOM[cluster]
    return max(MIN_NODES, round(gpus / GPUS_PER_NODE))


def capacity_table(cluster: str, scale: float) -> tuple[list[str], np.ndarray, list[str]]:
    """VCs, their GPUs (constant over the window) and the ``cluster_gpu_number.csv`` lines.

    The cluster's nodes are split over the VCs by their published shares (largest remainder,
    whole nodes); small samples leave the smallest VCs at 0 GPUs, as real VCs sometimes are.
    """
    vcs, shares = _vc_shares(cluster)
    nodes = round_to_total(shares, cluster_nodes(cluster, scale))
    gpus = nodes * GPUS_PER_NODE
    header = ",".join([HELIOS_CAPACITY_HEADER_FIRST, *vcs, HELIOS_CAPACITY_HEADER_LAST])
    row = ",".join([*map(str, gpus), str(int(gpus.sum()))])
    days = [FIRST_DAY + timedelta(days=k) for k in range(FULL_DAYS)]
    return vcs, gpus, [header] + [f"{d.isoformat()},{row}" for d in days]


def max_job_gpus(total_gpus: int) -> int:
    """Largest job the sample's cluster takes: :data:`MAX_JOB_SHARE` of it in whole nodes, at
    most the largest published size point (a small sample cannot run a 128-GPU job)."""
    share = int(MAX_JOB_SHARE * total_gpus) // GPUS_PER_NODE * GPUS_PER_NODE
    return int(min(_targets.SIZE_POINTS[-1], max(GPUS_PER_NODE, share)))


def cpu_nodes(cores: np.ndarray, duration_s: np.ndarray, span_s: float) -> int:
    """CPU nodes (of :data:`CPU_NODE_CORES`) of the sample's CPU partition: the CPU jobs' mean
    core demand over the span at :data:`CPU_LOAD`, at least one node."""
    demand = float((cores * duration_s).sum()) / span_s
    return max(1, int(np.ceil(demand / (CPU_LOAD * CPU_NODE_CORES))))


def _arrival_trend(cluster: str, days: list[date]) -> np.ndarray:
    """Relative GPU-job arrival rate per day: the published monthly counts per day (the
    warm-up days before April take April's rate)."""
    monthly = np.asarray(_targets.HELIOS_MONTHLY_GPU_JOBS[cluster], dtype=float)
    month_len = np.array([30, 31, 30, 31, 31, 30], dtype=float)
    idx = np.array([min(max(d.month - 4, 0), 5) if d.year == 2020 else 0 for d in days])
    return monthly[idx] / month_len[idx]


# ---- job attributes ------------------------------------------------------------------------------
def _size_pmf(cluster: str) -> np.ndarray:
    cdf = np.asarray(_targets.HELIOS_SIZE_CDF[cluster], dtype=float)
    return np.diff(np.concatenate([[0.0], cdf])) / 100.0


def status_given_size(cluster: str) -> np.ndarray:
    """P(status | size point) for ``cluster``: the pooled H9 shape, scaled (iterative
    proportional fitting) so the cluster's overall status shares match the published ones."""
    h9 = np.asarray(_targets.H9_STATUS_BY_SIZE, dtype=float)
    sizes = np.asarray(_targets.SIZE_POINTS)
    row = np.searchsorted(np.asarray(_targets.H9_SIZES), sizes, side="right") - 1
    table = h9[row].copy()
    pmf = _size_pmf(cluster)
    target = np.asarray(_targets.HELIOS_STATUS_COUNT[cluster])
    for _ in range(200):
        achieved = pmf @ table
        table = table * (target / achieved)
        table /= table.sum(axis=1, keepdims=True)
    return table


def gpu_job_attributes(
    rng: np.random.Generator,
    cluster: str,
    n: int,
    user_of_session: np.ndarray,
    session: np.ndarray,
    size_shift: np.ndarray | None = None,
    status_shift: np.ndarray | None = None,
    month: np.ndarray | None = None,
    month_share: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Size, status and duration of ``n`` GPU jobs (jobs of a session share size and group).

    Duration: latent score = GROUP_RHO * group effect + noise + size shift + status shift; the
    rank of the score maps through the published duration CDF, so the marginal CDF is exact and
    the shifts (fitted in ``_fitted``) set GPU time by size and by status. With ``month`` (index
    of each job's submission month) and ``month_share`` (target share of GPU time per month), a
    shift per month is found by fixed-point iteration so the GPU time by month matches: Helios'
    monthly allocation is nearly flat while monthly job counts vary up to 3x (H18), so quiet
    months need longer jobs.
    """
    n_sessions = len(user_of_session)
    pmf = _size_pmf(cluster)
    size_idx_s = rng.choice(len(pmf), size=n_sessions, p=pmf)
    # A user reuses a few groups per size: group number within (user, size) is geometric.
    group_no = np.minimum(rng.geometric(0.35, size=n_sessions) - 1, 63)
    key_s = (user_of_session * 16 + size_idx_s) * 64 + group_no
    size_idx = size_idx_s[session]
    key = key_s[session]
    groups, group = np.unique(key, return_inverse=True)
    n_users = int(user_of_session.max()) + 1 if n_sessions else 0
    z_user = rng.standard_normal(n_users)
    z_group = np.sqrt(USER_SHARE) * z_user[groups // (16 * 64)] + np.sqrt(
        1 - USER_SHARE
    ) * rng.standard_normal(len(groups))
    table = status_given_size(cluster)
    u = rng.random(n)
    status = (u[:, None] > np.cumsum(table[size_idx], axis=1)[:, :2]).sum(axis=1)
    if size_shift is None:
        size_shift = np.asarray(_fitted.HELIOS_SIZE_SHIFT[cluster])
    if status_shift is None:
        status_shift = np.asarray(_fitted.HELIOS_STATUS_SHIFT[cluster])
    score = (
        GROUP_RHO * z_group[group]
        + np.sqrt(1 - GROUP_RHO**2) * rng.standard_normal(n)
        + size_shift[size_idx]
        + status_shift[status]
    )
    gpus = np.asarray(_targets.SIZE_POINTS)[size_idx].astype(np.int64)

    def durations(s: np.ndarray) -> np.ndarray:
        return inverse_cdf(
            rank_uniform(s), _targets.DURATION_GRID_S, _targets.HELIOS_GPU_DURATION_CDF[cluster]
        )

    if month is not None and month_share is not None:
        shift = np.zeros(len(month_share))
        for _ in range(MONTH_ITERATIONS):
            got = np.bincount(month, gpus * durations(score + shift[month]), len(month_share))
            got = np.maximum(got / got.sum(), 1e-9)
            # GPU time moves by about exp(2 x shift) through the heavy duration tail.
            shift += 0.5 * np.log(month_share / got)
        score = score + shift[month]
    dur = durations(score)
    return {
        "size_idx": size_idx,
        "gpus": gpus,
        "status": status,
        "duration": dur,
        "group": group,
    }


def _slurm_clip(rng: np.random.Generator, dur: np.ndarray) -> np.ndarray:
    """Floor to whole seconds; Slurm's 14-day limit, overshot by up to 10 minutes (trap 21)."""
    d = np.floor(dur).astype(np.int64)
    over = d > HELIOS_SLURM_MAX_S
    d[over] = HELIOS_SLURM_MAX_S + rng.integers(0, 600, size=int(over.sum()))
    return d


def month_targets(cluster: str, submit_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each job's submission month (0 = April; warm-up days count as April) and the target share
    of GPU time per month: published monthly allocation x the month's days in the window."""
    util = np.asarray(_targets.HELIOS_MONTHLY_UTIL_PCT[cluster], dtype=float)
    days = np.array(MONTH_DAYS[1:], dtype=float)
    idx = np.clip(_month_bucket(submit_s) - 1, 0, 5)
    share = util * days
    return idx, share / share.sum()


def _month_bucket(submit_s: np.ndarray) -> np.ndarray:
    """0 for the warm-up days before April, 1..6 for April..September."""
    month = (
        pl.Series(submit_s * 1_000_000, dtype=pl.Int64).cast(pl.Datetime("us")).dt.month()
    ).to_numpy()
    return np.where(month.astype(np.int64) < 4, 0, np.clip(month.astype(np.int64) - 3, 1, 6))


def monthly_gpu_time(cluster: str, scale: float, submit_s: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each job's month bucket (:func:`_month_bucket`) and the GPU-seconds the jobs submitted in
    each bucket should hold: the published monthly allocation x scale x the published
    time-averaged GPUs x the bucket's days (the warm-up at April's allocation)."""
    util = np.asarray(_targets.HELIOS_MONTHLY_UTIL_PCT[cluster], dtype=float) / 100
    util = np.concatenate([[util[0]], util])
    gpus = scale * _targets.HELIOS_MEAN_CAPACITY[cluster]
    return _month_bucket(submit_s), util * gpus * np.asarray(MONTH_DAYS, dtype=float) * 86_400


# ---- one cluster ---------------------------------------------------------------------------------
def generate_cluster(
    cluster: str, scale: float, seed: int
) -> tuple[pl.DataFrame, list[str], dict[str, Any]]:
    """Generate one cluster: (log frame in raw columns, capacity csv lines, summary)."""
    ci = HELIOS_CLUSTERS.index(cluster)
    rng = rng_for(seed, TRACE_INDEX, ci)
    vcs, vc_gpus, cap_lines = capacity_table(cluster, scale)
    total_gpus = int(vc_gpus.sum())
    t_warm, t0 = _day_s(WARMUP_FIRST_DAY), _day_s(FIRST_DAY)
    t1 = t0 + FULL_DAYS * 86_400
    days = [WARMUP_FIRST_DAY + timedelta(days=k) for k in range((t1 - t_warm) // 86_400)]
    trend = _arrival_trend(cluster, days)
    # Jobs in the window are the published count x scale; the warm-up adds its days' share.
    in_window = trend[(t0 - t_warm) // 86_400 :].sum()
    boost = trend.sum() / in_window
    n_gpu_full, n_cpu_full = _targets.HELIOS_JOBS[cluster]
    n_gpu = max(1, round(n_gpu_full * scale * boost))
    n_cpu = max(1, round(n_cpu_full * scale * boost))

    # Arrival rates: hour shape, weekday, monthly trend, gamma modulation (shared by GPU and
    # CPU jobs: busy periods are busy for both).
    hour = np.asarray(_targets.HELIOS_HOURLY_SUBMISSIONS[cluster], dtype=float)
    bins, weight = _arrivals.bin_weights(
        rng, t_warm, t1, hour / hour.mean(), np.asarray(_targets.WEEKDAY_FACTOR), trend,
        k_bin=K_BIN,
    )  # fmt: skip

    # Users: lognormal activity, a home VC chosen by VC size.
    n_users = int(min(_targets.HELIOS_USERS[cluster], max(8, (n_gpu + n_cpu) // 20)))
    users = random_ids(rng, n_users, "u", 4)
    sigma_u = USER_SIGMA_FACTOR * _targets.HELIOS_USER_SIGMA[cluster]
    activity = rng.lognormal(0.0, sigma_u, size=n_users)
    cpu_activity = rng.lognormal(0.0, sigma_u, size=n_users)
    open_vc = vc_gpus > 0
    home_open, _ = assign_vcs(activity, vc_gpus[open_vc].astype(float))
    home = np.flatnonzero(open_vc)[home_open]

    # GPU jobs. Sizes above what the scaled cluster can run shrink to its largest job; the
    # duration tail then restores the published GPU time per job (calibrate_tail).
    g_sizes = _arrivals.session_sizes(rng, n_gpu)
    g_time, g_session = _arrivals.session_times(rng, bins, weight, g_sizes)
    g_user_s = rng.choice(n_users, size=len(g_sizes), p=activity / activity.sum())
    month, month_share = month_targets(cluster, g_time)
    attrs = gpu_job_attributes(
        rng, cluster, n_gpu, g_user_s, g_session, month=month, month_share=month_share
    )
    gpus = np.minimum(attrs["gpus"], max_job_gpus(total_gpus))
    g_user = g_user_s[g_session]
    g_vc = home[g_user]
    g_status = attrs["status"]
    g_dur = attrs["duration"]
    if SMOOTH_DAYS > 0:
        gt = gpus * g_dur
        heavy = gt > np.quantile(gt, SMOOTH_QUANTILE)
        # Whole days, so the time of day (and the diurnal allocation dip) is kept.
        jitter = rng.integers(-SMOOTH_DAYS, SMOOTH_DAYS + 1, size=int(heavy.sum())) * 86_400
        g_time = g_time.copy()
        g_time[heavy] = np.clip(g_time[heavy] + jitter, t_warm, t1 - 1)
    # The GPU time of each month's submissions is the published monthly allocation (the tail
    # of that month's durations is bent to it). A scaled cluster runs the same durations on
    # fewer GPUs, so a few long jobs make a month's load swing by tens of points between draws;
    # the real clusters' monthly allocation moves by a few (H18).
    bucket, target_gpu_s = monthly_gpu_time(cluster, scale, g_time)
    g_dur = g_dur.copy()
    for b, target in enumerate(target_gpu_s):
        sel = bucket == b
        if sel.any():
            g_dur[sel] = calibrate_tail(
                g_dur[sel], gpus[sel], target / sel.sum(), max_s=HELIOS_SLURM_MAX_S
            )
    g_dur = _slurm_clip(rng, g_dur)

    # Queueing emerges: the replay engine schedules the GPU jobs on the cluster's nodes, which
    # its VCs share (as Slurm partitions over one node pool). A preempted job is logged with its
    # total wait as queue: it ends when the schedule says, having run for its duration.
    sched = schedule(
        g_time - t_warm, gpus, g_dur, np.zeros(n_gpu, dtype=np.int64),
        {"0": (total_gpus // GPUS_PER_NODE, GPUS_PER_NODE)}, seed=seed,
    )  # fmt: skip
    g_end = np.round(sched.end).astype(np.int64) + t_warm
    g_start = np.maximum(g_end - g_dur, g_time)

    # CPU jobs: own CDF and status mix; groups via the same copula without shifts.
    c_sizes = _arrivals.session_sizes(rng, n_cpu)
    c_time, c_session = _arrivals.session_times(rng, bins, weight, c_sizes)
    c_user_s = rng.choice(n_users, size=len(c_sizes), p=cpu_activity / cpu_activity.sum())
    c_user = c_user_s[c_session]
    z_s = rng.standard_normal(len(c_sizes))
    c_score = GROUP_RHO * z_s[c_session] + np.sqrt(1 - GROUP_RHO**2) * rng.standard_normal(n_cpu)
    c_dur = _slurm_clip(
        rng,
        inverse_cdf(
            rank_uniform(c_score),
            _targets.DURATION_GRID_S,
            _targets.HELIOS_CPU_DURATION_CDF[cluster],
        ),
    )
    c_status = rng.choice(3, size=n_cpu, p=np.asarray(_targets.HELIOS_CPU_STATUS_COUNT))
    c_cpus = rng.choice(CPU_JOB_SIZES, size=n_cpu, p=CPU_JOB_SIZE_P)
    # CPU jobs queue on the cluster's CPU nodes, scheduled by the replay engine like the GPU jobs
    # (CPU cores are the unit; the CPU partition's size is not published: it follows the
    # sampled CPU load, see cpu_nodes).
    c_nodes = cpu_nodes(c_cpus, c_dur, t1 - t_warm)
    c_sched = schedule(
        c_time - t_warm, c_cpus, c_dur, np.zeros(n_cpu, dtype=np.int64),
        {"0": (c_nodes, CPU_NODE_CORES)}, seed=seed,
    )  # fmt: skip
    c_end = np.round(c_sched.end).astype(np.int64) + t_warm
    c_start = np.maximum(c_end - c_dur, c_time)

    # States, with rare censored rows (RUNNING at the snapshot; one SUSPENDED in Uranus, as the
    # README says).
    g_state = _states(rng, g_status)
    c_state = _states(rng, c_status)
    # The real log was written after the window: jobs still running on 2020-09-28 mostly carry
    # their real end; only a few rows (54 in 1.58 M GPU jobs) are RUNNING with no end.
    snapshot = t1 - 1
    # The censored rows are the jobs running at the snapshot with the least GPU time: a row
    # without an end holds no GPU time in the store, and in a small sample one of the longest
    # jobs can be a quarter of a month's load.
    n_run = max(1, round(RUNNING_RATE * n_gpu))
    started = np.flatnonzero(g_start <= snapshot)
    running = started[g_end[started] > snapshot]
    if running.size >= n_run:
        gpu_s = gpus[running] * (g_end[running] - g_start[running])
        run = running[np.lexsort((-g_end[running], gpu_s))[:n_run]]
    else:  # a tiny sample: the jobs ending last
        run = started[np.argsort(-g_end[started], kind="stable")[:n_run]]
    g_state[run] = RUNNING
    g_end[run] = np.maximum(np.minimum(g_end[run], snapshot), g_start[run])
    if cluster == "Uranus":
        rest = np.setdiff1d(np.arange(n_gpu), run)
        g_state[rng.choice(rest)] = SUSPENDED
    g_dur = g_end - g_start
    # The log holds the window's jobs and the warm-up jobs still running on 2020-04-01.
    keep_g = (g_time >= t0) | (g_end >= t0)
    keep_c = (c_time >= t0) | (c_start + c_dur >= t0)
    # Every sample keeps at least one pre-window submission (the real log has them).
    if not (keep_g & (g_time < t0)).any():
        early = np.flatnonzero(g_time < t0)
        keep_g[early[np.argmax(g_end[early])]] = True

    def cat(g: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.concatenate([g[keep_g], c[keep_c]])

    frame = _log_frame(
        rng,
        cluster,
        users,
        vcs,
        cat(g_user, c_user),
        cat(g_vc, home[c_user]),
        cat(gpus, np.zeros(n_cpu, dtype=np.int64)),
        cat(np.zeros(n_gpu, dtype=np.int64), c_cpus),
        cat(g_state, c_state),
        cat(g_time, c_time),
        cat(g_start, c_start),
        cat(g_dur, c_dur),
    )
    noise = group_noise_ceiling(g_dur[keep_g].astype(float), attrs["group"][keep_g])
    window_q = (g_start - g_time)[keep_g & (g_time >= t0)]
    summary = {
        "jobs": int(frame.height),
        "gpu_jobs": int(keep_g.sum()),
        "cpu_jobs": int(keep_c.sum()),
        "users": n_users,
        "window": [FIRST_DAY.isoformat(), (FIRST_DAY + timedelta(days=FULL_DAYS - 1)).isoformat()],
        "gpus": total_gpus,
        "largest_job_gpus": max_job_gpus(total_gpus),
        "warmup_rows": int((keep_g & (g_time < t0)).sum() + (keep_c & (c_time < t0)).sum()),
        "running_rows": int(len(run)),
        "preempted_jobs": int((sched.preemptions[keep_g] > 0).sum()),
        "mean_gpu_queue_s": float(window_q.mean()) if window_q.size else 0.0,
        "noise_ceiling_median_abs_log_error": noise["median_abs_log_error"],
        "recurring_share": noise["recurring_share"],
    }
    return frame, cap_lines, summary


def _states(rng: np.random.Generator, status: np.ndarray) -> np.ndarray:
    """Codes into STATE_WORDS: completed, canceled, or one of the failure words."""
    fail = 2 + rng.choice(len(FAILED_SPLIT), size=len(status), p=list(FAILED_SPLIT.values()))
    return np.where(status < 2, status, fail).astype(np.int8)


def _log_frame(
    rng: np.random.Generator,
    cluster: str,
    users: list[str],
    vcs: list[str],
    user: np.ndarray,
    vc: np.ndarray,
    gpus: np.ndarray,
    cpu_only: np.ndarray,
    state: np.ndarray,
    submit: np.ndarray,
    start: np.ndarray,
    duration: np.ndarray,
) -> pl.DataFrame:
    """Raw ``cluster_log.csv`` rows in submission order (job ids follow that order);
    ``cpu_only`` holds the cores of CPU jobs (GPU jobs draw theirs per GPU here)."""
    order = np.lexsort((np.arange(len(submit)), submit))
    n = len(order)
    gpus = gpus[order]
    cpu_per_gpu = rng.choice([1, 2, 4, 6, 8], size=n, p=[0.2, 0.25, 0.35, 0.1, 0.1])
    cpus = np.where(gpus > 0, gpus * cpu_per_gpu, cpu_only[order])
    nodes = np.maximum(1, -(-gpus // 8))
    base = int(rng.integers(100_000, 900_000))
    sub = submit[order]
    st = start[order]
    du = duration[order]

    def fmt(seconds: np.ndarray) -> pl.Series:
        return (
            pl.Series(seconds * 1_000_000, dtype=pl.Int64)
            .cast(pl.Datetime("us"))
            .dt.strftime(HELIOS_TIME_FORMAT)
        )

    # Gathers from small string Series (fast), not object arrays of millions of strings.
    users_s = pl.Series(users, dtype=pl.String)
    vcs_s = pl.Series(vcs, dtype=pl.String)
    columns = {
        "job_id": pl.Series(np.arange(base, base + n, dtype=np.int64)),
        "user": users_s.gather(user[order]),
        "vc": vcs_s.gather(vc[order]),
        "gpu_num": pl.Series(gpus),
        "cpu_num": pl.Series(cpus.astype(np.int64)),
        "node_num": pl.Series(nodes.astype(np.int64)),
        "state": pl.Series(STATE_WORDS, dtype=pl.String).gather(state[order]),
        "submit_time": fmt(sub),
        "start_time": fmt(st),
        "end_time": fmt(st + du),
        "duration": pl.Series(du.astype(np.int64)),
        "queue": pl.Series((st - sub).astype(np.int64)),
    }
    assert tuple(columns) == HELIOS_LOG_HEADER
    return pl.DataFrame(columns)


# ---- public entry --------------------------------------------------------------------------------
def write_cluster(out_dir: Path, cluster: str, scale: float, seed: int) -> dict[str, Any]:
    """Generate one cluster and write its two files; return its summary."""
    frame, cap_lines, info = generate_cluster(cluster, scale, seed)
    folder = Path(out_dir) / "data" / cluster
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_csv(folder / HELIOS_LOG_FILE, line_terminator="\n")
    (folder / HELIOS_CAPACITY_FILE).write_text("\n".join(cap_lines) + "\n")
    return info


def generate_helios(
    out_dir: Path, scale: float, seed: int, workers: int | None = None
) -> dict[str, Any]:
    """Write the Helios sample under ``out_dir`` (``data/<Cluster>/...``); return a summary.

    Parameters
    ----------
    out_dir : Path
        The ``helios`` folder of the sample.
    scale, seed : float, int
        As in :func:`tracekit.sample.generate`.
    workers : int, optional
        Processes generating clusters in parallel (each cluster has its own seeded generator,
        so the files do not depend on it). Default: one per core, up to four, for samples of
        scale >= 0.25 (below that, starting processes costs more than it saves).
    """
    out_dir = Path(out_dir)
    summary: dict[str, Any] = {"trace": "helios", "scale": scale, "seed": seed, "clusters": {}}
    if workers is None:
        workers = min(4, os.cpu_count() or 1) if scale >= PARALLEL_SCALE else 1
    infos: dict[str, dict[str, Any]] = {}
    if workers > 1:
        # Spawned (not forked) workers: polars' thread pool does not survive a fork. Biggest
        # cluster first so the work balances.
        by_size = sorted(HELIOS_CLUSTERS, key=lambda c: -sum(_targets.HELIOS_JOBS[c]))
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {c: pool.submit(write_cluster, out_dir, c, scale, seed) for c in by_size}
            infos = {c: f.result() for c, f in futures.items()}
    else:
        infos = {c: write_cluster(out_dir, c, scale, seed) for c in HELIOS_CLUSTERS}
    summary["clusters"] = {c: infos[c] for c in HELIOS_CLUSTERS}
    write_marker(
        out_dir,
        "helios",
        seed,
        scale,
        {
            "clusters": {c: i["window"] for c, i in summary["clusters"].items()},
            "capacity": "scale x published mean GPUs; VC shares of the real Venus/Earth files",
            # the documented duration-prediction ceiling, carried into the store's manifest
            "noise_ceiling_median_abs_log_error": {
                c: round(i["noise_ceiling_median_abs_log_error"], 4)
                for c, i in summary["clusters"].items()
            },
        },
    )
    summary["jobs"] = sum(i["jobs"] for i in summary["clusters"].values())
    return summary
