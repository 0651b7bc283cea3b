"""Synthetic Helios sample: ``data/<Cluster>/cluster_log.csv`` and ``cluster_gpu_number.csv``.

Per cluster: arrivals from a gamma-modulated Poisson process with the published hour-of-day,
weekday and monthly shapes, grouped in user sessions; job size from the published PMF; status
conditioned on size; duration conditioned on size and status through a rank (Gaussian-copula)
construction that reproduces the published duration CDF exactly while matching GPU time by size
and by status; users with lognormal activity; recurring job groups; start times from a per-VC
FIFO + backfill scheduler on the real (Venus, Earth) or derived (Saturn, Uranus) capacities.

Scale: ``scale`` is the fraction of jobs. Arrivals keep the real per-day rate, so the sample spans
``round(scale x 181)`` days (at least a week), straddling 2020-09-01 so train-before-September /
test-in-September splits work; the capacity file keeps the real rows of those days. ``scale=1``
is the full 181-day trace with the real capacity files byte for byte.
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
from tracekit.sample._schedule import schedule_shared

TRACE_INDEX = 2  # seeds: philly 1, helios 2 (pai 3 is the PAI generator's business)
FIRST_DAY = date(2020, 4, 1)
FULL_DAYS = 181  # 2020-04-01 .. 2020-09-28
MIN_WINDOW_DAYS = 7
SEPTEMBER = date(2020, 9, 1)
WARMUP_FIRST_DAY = date(2020, 3, 18)
WARMUP_SHARE = 0.001  # pre-window tail of submissions (formats.md §2.1), at least one job
RUNNING_RATE = 54 / 1_580_464  # RUNNING+SUSPENDED rows per GPU job [3P]
FAILED_SPLIT = {"FAILED": 0.88, "NODE_FAIL": 0.05, "TIMEOUT": 0.07}  # unpublished: a guess
STATE_WORDS: tuple[str, ...] = ("COMPLETED", "CANCELLED", *FAILED_SPLIT, "RUNNING", "SUSPENDED")
RUNNING, SUSPENDED = STATE_WORDS.index("RUNNING"), STATE_WORDS.index("SUSPENDED")
# Latent-duration structure: group effect (recurring jobs) and user habit (share of the group
# effect). Noise = 1 - GROUP_RHO**2 of the latent variance; see docs/sample.md for the ceiling.
GROUP_RHO = 0.8
USER_SHARE = 0.3
PARALLEL_SCALE = 0.25  # from this scale on, clusters are generated in parallel processes
# The published sigma (findings §6.2) describes per-user GPU *time*; activity here sets job counts
# and the heavy duration tail adds its own concentration, so a smaller sigma reproduces the
# published top-5 % shares (checked by ``check``).
USER_SIGMA_FACTOR = 0.7
# Gamma shape of the 10-minute rate modulation: gives Venus a 10-minute index of dispersion of
# about 15 (published 15.4) and a daily CV of 0.46 (published 0.47) at full scale.
K_BIN = 0.6
# Latent shift per unit of ln(GPU demand per job): the duration tail makes mean GPU time move
# by roughly exp(2 x shift) (see month_shift).
MONTH_SHIFT_SCALE = 2.0
_EPOCH = datetime(1970, 1, 1)
_DATA = Path(__file__).parent / "data"
_DERIVED_FROM = {"Saturn": "Venus", "Uranus": "Earth"}


def _day_s(d: date) -> int:
    return int((datetime(d.year, d.month, d.day) - _EPOCH).total_seconds())


# ---- window and capacity -------------------------------------------------------------------------
def window_days(scale: float) -> tuple[int, int]:
    """(first day offset from 2020-04-01, number of days) covered by a sample of ``scale``."""
    n = int(np.clip(round(scale * FULL_DAYS), MIN_WINDOW_DAYS, FULL_DAYS))
    if n >= FULL_DAYS:
        return 0, FULL_DAYS
    sep = (SEPTEMBER - FIRST_DAY).days
    first = min(FULL_DAYS - n, max(0, sep - round(2 * n / 3)))
    return first, n


def _read_capacity_text(text: str) -> tuple[list[str], list[str], np.ndarray, list[str]]:
    lines = text.splitlines()
    header = lines[0].split(",")
    rows = [ln.split(",") for ln in lines[1:]]
    dates = [r[0] for r in rows]
    values = np.array([[int(v) for v in r[1:-1]] for r in rows], dtype=np.int64)
    return dates, header[1:-1], values, lines


def capacity_table(cluster: str) -> tuple[list[str], list[str], np.ndarray, list[str]]:
    """Daily VC capacities of ``cluster``: (dates, vcs, values[day, vc], csv lines).

    Venus and Earth are the real files. Saturn and Uranus are derived from Venus and Earth: the
    daily total keeps the source's day-to-day shape, scaled so its mean is the published
    time-averaged size and its 2020-09-01 value the published size (2,096 / 2,112 GPUs); VC shares
    follow the source's, rounded to whole 8-GPU nodes; VC names are synthetic.
    """
    if cluster in ("Venus", "Earth"):
        text = (_DATA / f"{cluster}_cluster_gpu_number.csv").read_text()
        return _read_capacity_text(text)
    src = _DERIVED_FROM[cluster]
    dates, vcs_src, values, _ = capacity_table(src)
    total_src = values.sum(axis=1).astype(float)
    mean_src = total_src.mean()
    sep = dates.index(SEPTEMBER.isoformat())
    target_mean = _targets.HELIOS_MEAN_CAPACITY[cluster]
    target_sep = _targets.HELIOS_SIZE_0901[cluster]
    k = (target_sep - target_mean) / (total_src[sep] - mean_src)
    total = np.round((target_mean + (total_src - mean_src) * k) / 8).astype(np.int64) * 8
    total[sep] = target_sep
    nodes = np.vstack(
        [
            round_to_total(values[d] / max(total_src[d], 1), int(total[d] // 8))
            for d in range(len(dates))
        ]
    )
    out = nodes * 8
    rng = rng_for(20_200_401, TRACE_INDEX, HELIOS_CLUSTERS.index(cluster))  # fixed: not the seed
    vcs = random_ids(rng, len(vcs_src), "vc", 3)
    header = ",".join([HELIOS_CAPACITY_HEADER_FIRST, *vcs, HELIOS_CAPACITY_HEADER_LAST])
    lines = [header] + [
        ",".join([d, *map(str, row), str(int(row.sum()))])
        for d, row in zip(dates, out, strict=True)
    ]
    return dates, vcs, out, lines


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
    job_shift: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Size, status and duration of ``n`` GPU jobs (jobs of a session share size and group).

    Duration: latent score = GROUP_RHO * group effect + noise + size shift + status shift; the
    rank of the score maps through the published duration CDF, so the marginal CDF is exact and
    the shifts (fitted in ``_fitted``) set GPU time by size and by status.
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
    if job_shift is not None:
        score = score + job_shift
    dur = inverse_cdf(
        rank_uniform(score), _targets.DURATION_GRID_S, _targets.HELIOS_GPU_DURATION_CDF[cluster]
    )
    return {
        "size_idx": size_idx,
        "gpus": np.asarray(_targets.SIZE_POINTS)[size_idx].astype(np.int64),
        "status": status,
        "duration": dur,
        "group": group,
    }


def _mean_gpu_time(cluster: str) -> float:
    """Published mean GPU time per GPU job (s): allocation utilization x capacity x 181 days."""
    return (
        _targets.HELIOS_ALLOC_UTIL[cluster]
        * _targets.HELIOS_MEAN_CAPACITY[cluster]
        * FULL_DAYS
        * 86_400
        / _targets.HELIOS_JOBS[cluster][0]
    )


def _slurm_clip(rng: np.random.Generator, dur: np.ndarray) -> np.ndarray:
    """Floor to whole seconds; Slurm's 14-day limit, overshot by up to 10 minutes (trap 21)."""
    d = np.floor(dur).astype(np.int64)
    over = d > HELIOS_SLURM_MAX_S
    d[over] = HELIOS_SLURM_MAX_S + rng.integers(0, 600, size=int(over.sum()))
    return d


def month_shift(cluster: str, submit_s: np.ndarray) -> np.ndarray:
    """Latent-duration shift by submission month: busy months (many jobs) get shorter jobs.

    Helios' monthly utilization is nearly flat while monthly GPU-job counts vary up to 3x
    (H18), so the GPU demand per job must vary inversely; without this, Saturn's April (twice
    the average job count) would overload the cluster for months. The factor per month is
    utilization / job count (relative to the job-weighted mean), turned into a latent shift
    with MONTH_SHIFT_SCALE (the ranks keep the overall duration CDF exact).
    """
    util = np.asarray(_targets.HELIOS_MONTHLY_UTIL_PCT[cluster], dtype=float)
    count = np.asarray(_targets.HELIOS_MONTHLY_GPU_JOBS[cluster], dtype=float)
    factor = (util / count) / (util.sum() / count.sum())
    month = (
        pl.Series(submit_s * 1_000_000, dtype=pl.Int64).cast(pl.Datetime("us")).dt.month()
    ).to_numpy()
    idx = np.clip(month.astype(np.int64) - 4, 0, 5)
    return np.log(factor)[idx] / MONTH_SHIFT_SCALE


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


# ---- one cluster ---------------------------------------------------------------------------------
def generate_cluster(
    cluster: str, scale: float, seed: int
) -> tuple[pl.DataFrame, list[str], dict[str, Any]]:
    """Generate one cluster: (log frame in raw columns, capacity csv lines, summary)."""
    ci = HELIOS_CLUSTERS.index(cluster)
    rng = rng_for(seed, TRACE_INDEX, ci)
    n_gpu_full, n_cpu_full = _targets.HELIOS_JOBS[cluster]
    n_gpu = max(1, round(n_gpu_full * scale))
    n_cpu = max(1, round(n_cpu_full * scale))
    first, n_days = window_days(scale)
    dates, vcs, cap_values, cap_lines = capacity_table(cluster)
    cap_window = cap_values[first : first + n_days]  # [day, vc]
    cap_lines_window = [cap_lines[0], *cap_lines[1 + first : 1 + first + n_days]]
    start_day = FIRST_DAY + timedelta(days=first)
    t0 = _day_s(start_day)
    t1 = t0 + n_days * 86_400

    # Arrival rates: hour shape, weekday, monthly trend, gamma modulation (shared by GPU and
    # CPU jobs: busy periods are busy for both).
    hour = np.asarray(_targets.HELIOS_HOURLY_SUBMISSIONS[cluster], dtype=float)
    monthly = np.asarray(_targets.HELIOS_MONTHLY_GPU_JOBS[cluster], dtype=float)
    days = [start_day + timedelta(days=k) for k in range(n_days)]
    month_len = np.array([30, 31, 30, 31, 31, 30], dtype=float)
    trend = np.array([monthly[d.month - 4] / month_len[d.month - 4] for d in days])
    bins, weight = _arrivals.bin_weights(
        rng, t0, t1, hour / hour.mean(), np.asarray(_targets.WEEKDAY_FACTOR), trend, k_bin=K_BIN
    )

    # Users: lognormal activity, a home VC chosen by VC size.
    n_users = int(min(_targets.HELIOS_USERS[cluster], max(8, (n_gpu + n_cpu) // 20)))
    users = random_ids(rng, n_users, "u", 4)
    sigma_u = USER_SIGMA_FACTOR * _targets.HELIOS_USER_SIGMA[cluster]
    activity = rng.lognormal(0.0, sigma_u, size=n_users)
    cpu_activity = rng.lognormal(0.0, sigma_u, size=n_users)
    vc_mean = cap_window.mean(axis=0)
    vc_max = cap_window.max(axis=0)
    home, spread = assign_vcs(activity, vc_mean)

    # GPU jobs.
    g_sizes = _arrivals.session_sizes(rng, n_gpu)
    g_time, g_session = _arrivals.session_times(rng, bins, weight, g_sizes)
    g_user_s = rng.choice(n_users, size=len(g_sizes), p=activity / activity.sum())
    attrs = gpu_job_attributes(
        rng, cluster, n_gpu, g_user_s, g_session, job_shift=month_shift(cluster, g_time)
    )
    gpus = attrs["gpus"]
    g_user = g_user_s[g_session]
    g_vc = home[g_user]
    # Heavy users' jobs, and jobs too big for the home VC, go to a VC that can hold them
    # (chosen by size); users do span VCs in Helios.
    move = spread[g_user] | (gpus > vc_max[g_vc])
    for size in np.unique(gpus[move]):
        sel = move & (gpus == size)
        ok = vc_max >= size
        if ok.any():
            p = np.where(ok, vc_mean, 0.0)
            g_vc[sel] = rng.choice(len(vcs), size=int(sel.sum()), p=p / p.sum())
    g_dur = _slurm_clip(rng, calibrate_tail(attrs["duration"], gpus, _mean_gpu_time(cluster)))
    g_status = attrs["status"]

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

    # Warm-up tail: a few submissions before 2020-04-01 (trap 20), taken from the job budget.
    n_warm = max(1, round(WARMUP_SHARE * (n_gpu + n_cpu)))
    w0 = _day_s(WARMUP_FIRST_DAY)
    warm = rng.choice(n_gpu + n_cpu, size=min(n_warm, n_gpu + n_cpu), replace=False)
    all_time = np.concatenate([g_time, c_time])
    all_time[warm] = rng.integers(w0, _day_s(FIRST_DAY), size=len(warm))
    g_time, c_time = all_time[:n_gpu], all_time[n_gpu:]

    # Queueing: GPU jobs queue per VC on the daily capacities, borrowing idle GPUs of other VCs.
    g_start, borrowed = schedule_shared(g_time, gpus, g_dur, g_vc, cap_window.T, t0)
    # CPU jobs do not hold GPUs; their (small) queueing is a zero-inflated lognormal with the
    # published mean.
    c_queue = np.zeros(n_cpu, dtype=np.int64)
    waits = rng.random(n_cpu) < 0.1
    mean_q = _targets.HELIOS_MEAN_CPU_QUEUE_S[cluster] / 0.1
    sigma = 1.5
    c_queue[waits] = np.floor(
        rng.lognormal(np.log(mean_q) - sigma**2 / 2, sigma, size=int(waits.sum()))
    ).astype(np.int64)
    c_start = c_time + c_queue

    # States, with rare censored rows (RUNNING; one SUSPENDED in Uranus, as the README says).
    g_state = _states(rng, g_status)
    c_state = _states(rng, c_status)
    g_end = g_start + g_dur
    snapshot = t1 - 1
    n_run = max(1, round(RUNNING_RATE * n_gpu))
    started = np.flatnonzero(g_start <= snapshot)
    run = started[np.argsort(-g_end[started], kind="stable")[:n_run]]
    g_state[run] = RUNNING
    g_end[run] = np.maximum(np.minimum(g_end[run], snapshot), g_start[run])
    if cluster == "Uranus":
        rest = np.setdiff1d(np.arange(n_gpu), run)
        g_state[rng.choice(rest)] = SUSPENDED
    g_dur = g_end - g_start

    frame = _log_frame(
        rng,
        cluster,
        users,
        vcs,
        np.concatenate([g_user, c_user]),
        np.concatenate([g_vc, home[c_user]]),
        np.concatenate([gpus, np.zeros(n_cpu, dtype=np.int64)]),
        np.concatenate([g_state, c_state]),
        np.concatenate([g_time, c_time]),
        np.concatenate([g_start, c_start]),
        np.concatenate([g_dur, c_dur]),
    )
    noise = group_noise_ceiling(g_dur.astype(float), attrs["group"])
    summary = {
        "jobs": int(frame.height),
        "gpu_jobs": n_gpu,
        "cpu_jobs": n_cpu,
        "users": n_users,
        "window": [start_day.isoformat(), (start_day + timedelta(days=n_days - 1)).isoformat()],
        "capacity_source": "real"
        if cluster in ("Venus", "Earth")
        else f"derived from {_DERIVED_FROM[cluster]}",
        "borrowed_jobs": int(borrowed.sum()),
        "running_rows": int(len(run)),
        "warmup_rows": int(len(warm)),
        "noise_ceiling_median_abs_log_error": noise["median_abs_log_error"],
        "recurring_share": noise["recurring_share"],
    }
    return frame, cap_lines_window, summary


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
    state: np.ndarray,
    submit: np.ndarray,
    start: np.ndarray,
    duration: np.ndarray,
) -> pl.DataFrame:
    """Raw ``cluster_log.csv`` rows in submission order (job ids follow that order)."""
    order = np.lexsort((np.arange(len(submit)), submit))
    n = len(order)
    gpus = gpus[order]
    cpu_per_gpu = rng.choice([1, 2, 4, 6, 8], size=n, p=[0.2, 0.25, 0.35, 0.1, 0.1])
    cpu_only = rng.choice(
        [1, 2, 4, 8, 16, 32, 64], size=n, p=[0.4, 0.2, 0.15, 0.1, 0.08, 0.05, 0.02]
    )
    cpus = np.where(gpus > 0, gpus * cpu_per_gpu, cpu_only)
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
            "capacity": "Venus/Earth real cluster_gpu_number.csv rows; Saturn/Uranus derived",
            # the documented duration-prediction ceiling, carried into the store's manifest
            "noise_ceiling_median_abs_log_error": {
                c: round(i["noise_ceiling_median_abs_log_error"], 4)
                for c, i in summary["clusters"].items()
            },
        },
    )
    summary["jobs"] = sum(i["jobs"] for i in summary["clusters"].values())
    return summary
