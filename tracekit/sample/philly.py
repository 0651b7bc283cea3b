"""Synthetic Philly sample: ``trace-data/`` with the five extension-less files.

Jobs: sessions of a gamma-modulated Poisson process over 2017-08-07..12-22 (ramp-up, steady
state Oct 1 - Nov 21, tail-off); size PMF; status conditioned on size; run time conditioned on
size (per-bucket lognormals through the published medians and p90) and status (killed and failed
jobs run longer, so GPU time by status matches ATC'19 Table 6); recurring groups. Start times and
GPU placement come from a FIFO + greedy-backfill simulation on the machines (2- and 8-GPU
servers, official machine-list mix, scaled by ``scale``). Failed jobs are retried (attempts).

Utilization: one row per machine and minute over 2017-10-03..12-15 (Pacific time, ``PDT``/``PST``
suffix); busy GPUs follow the published per-status/size distributions (zero mass, median, mean),
idle GPUs read 0 or low values, fully idle machines sometimes ``NA`` for a day.

Quirks injected at low rates: ``None``/null/``""`` attempt times, trailing commas, ``NA``, the
2017-11-05 DST repeated hour with glued 16-value rows, short rows of 2-GPU servers, empty
attempts, running (censored) jobs, a 10-hour coverage gap, an 8-GPU attempt on a machine the
machine list calls 2-GPU (issue #8), ``mem_total`` 0 rows.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tracekit.analysis.findings import published_value
from tracekit.sample import _arrivals, _targets
from tracekit.sample._common import (
    assign_vcs,
    calibrate_tail,
    group_noise_ceiling,
    random_ids,
    rank_uniform,
    rng_for,
    round_to_total,
    write_marker,
)
from tracekit.sample._scheduler import schedule
from tracekit.sources.philly.formats import (
    ARCHIVE_DIR,
    CPU_UTIL,
    CPU_UTIL_HEADER,
    GPU_ID_PREFIX,
    GPU_MEM_UNIT,
    GPU_UTIL,
    GPU_UTIL_HEADER,
    JOB_LOG,
    MACHINE_LIST,
    MACHINE_LIST_HEADER,
    MEM_UTIL,
    MEM_UTIL_HEADER,
    TIME_FORMAT,
    TIMEZONE,
    UTIL_NA,
)

TRACE_INDEX = 1
SUBMIT_FIRST = "2017-08-07 00:00:00"
SUBMIT_END = "2017-12-23 00:00:00"  # exclusive; also the snapshot time (running jobs)
UTIL_FIRST = "2017-10-03 00:00:00"
UTIL_END = "2017-12-15 18:43:00"
# Small samples cover a shorter utilization period (it dominates the sample's size): at least a
# week, always including the DST fall-back night.
UTIL_SHORT_FIRST = "2017-11-01 00:00:00"
UTIL_MIN_DAYS = 7
UTIL_GAP = ("2017-10-25 14:00:00", "2017-10-26 00:00:00")  # no util rows (as in the real files)
DST_DAY = "2017-11-05"
# The four small VCs of the notebook's figure that the Helios artifact's replay leaves out.
SMALL_VCS: tuple[str, ...] = ("795a4c", "51b7ef", "925e2b", "23dbec")
# Steady state of the trace (ramp-up before, tail-off after) [3P HU-PHILLY]; the machine pool is
# sized to the GPU demand of this period.
STEADY: tuple[str, str] = ("2017-10-01 00:00:00", "2017-11-22 00:00:00")
# Steady-state GPU demand / GPUs of the sample's pool: a calibration knob, set so the mean
# GPU-job queue is the published 3,760 s (docs/sample.md, "Queueing").
TARGET_LOAD = 0.8
MIN_LARGEST_NODES = 4  # so a 32-GPU job fits one VC
LAUNCH_SIGMA = 0.8  # spread of the start-up latency (lognormal sigma; see launch_latency)
RETRY_P = 0.55  # share of failed jobs retried (not published; failures are the retry source)
N_USERS = 320  # not published; a few hundred (6-hex hashes)
# Arrival-rate trend by period (ramp-up, steady state, tail-off) [3P HU-PHILLY].
TREND = (("2017-08-07", 0.35), ("2017-09-01", 0.65), ("2017-10-01", 1.0), ("2017-11-22", 0.4))
BUCKET_OF_SIZE = {1: "1", 2: "2-4", 4: "2-4", 8: "5-8", 16: ">8", 32: ">8"}
# Latent duration: group effect (recurrence) and status shifts (fitted by hand to Table 6).
GROUP_RHO = 0.8
STATUS_SHIFT = (0.0, 0.55, 0.15)  # Pass, Killed, Failed
SIZE_SHIFT = {"1": 0.0, "2-4": 0.3, "5-8": 1.2, ">8": 1.0}
NULL_TIME_RATE = 0.002  # attempt start times written as None/null/"" (quirk)
EMPTY_ATTEMPTS_RATE = 0.004  # jobs killed before they ever ran
RAW_STATUS = ("Pass", "Killed", "Failed")
_UTC = pl.Datetime("us", "UTC")


# ---- times ---------------------------------------------------------------------------------------
def _local_to_utc_s(naive_local_s: np.ndarray) -> np.ndarray:
    """Naive Pacific seconds -> UTC seconds (ambiguous hour: the earlier instant)."""
    s = pl.Series(naive_local_s * 1_000_000, dtype=pl.Int64).cast(pl.Datetime("us"))
    utc = s.dt.replace_time_zone(TIMEZONE, ambiguous="earliest", non_existent="null")
    utc = utc.fill_null(strategy="forward")  # the spring-forward gap is outside the window
    utc = utc.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return (utc.cast(pl.Int64) // 1_000_000).to_numpy() + 0


def _utc_s_to_local_str(utc_s: np.ndarray) -> list[str]:
    s = (
        pl.Series(utc_s * 1_000_000, dtype=pl.Int64)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )
    return s.dt.convert_time_zone(TIMEZONE).dt.strftime(TIME_FORMAT).to_list()


def _naive_s(text: str) -> int:
    return int((datetime.fromisoformat(text) - datetime(1970, 1, 1)).total_seconds())


# ---- job attributes ------------------------------------------------------------------------------
def _status_given_size(sizes: np.ndarray, pmf: np.ndarray) -> np.ndarray:
    """H9 status-by-size shape (Helios, the only published one), scaled to Philly's shares."""
    h9 = np.asarray(_targets.H9_STATUS_BY_SIZE)
    row = np.searchsorted(np.asarray(_targets.H9_SIZES), sizes, side="right") - 1
    table = h9[row].copy()
    target = np.asarray(_targets.PHILLY_STATUS_COUNT)
    for _ in range(200):
        table = table * (target / (pmf @ table))
        table /= table.sum(axis=1, keepdims=True)
    return table


def runtime_inverse_cdf(u: np.ndarray) -> np.ndarray:
    """Run time (s) at probabilities ``u``: piecewise log-linear through the quantiles of
    philly_runtime.csv [ART] (p10 61 s ... p99 287,283 s; max 4.63e6 s)."""
    probs = np.array([0.0, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1.0])
    values = np.array([1.0, 61, 131, 1186, 3342, 12859, 49948, 287283, 4_628_239])
    return np.exp(np.interp(u, probs, np.log(values)))


def job_attributes(
    rng: np.random.Generator, n: int, user_of_session: np.ndarray, session: np.ndarray
) -> dict[str, np.ndarray]:
    """Size, status, run time (s) and group of ``n`` Philly jobs.

    The run-time marginal is the published one (rank construction, as for Helios); shifts by
    size bucket make larger jobs run longer (Fig. 2 medians 19 / 33 / 206 / 136 min) and shifts
    by status give killed and failed jobs the longer runs that ATC'19 Table 6 implies.
    """
    sizes_all = np.asarray(list(_targets.PHILLY_SIZE_PMF), dtype=np.int64)
    pmf = np.asarray(list(_targets.PHILLY_SIZE_PMF.values()))
    pmf = pmf / pmf.sum()
    m = len(user_of_session)
    size_idx_s = rng.choice(len(pmf), size=m, p=pmf)
    group_no = np.minimum(rng.geometric(0.35, size=m) - 1, 63)
    key = ((user_of_session * 16 + size_idx_s) * 64 + group_no)[session]
    _, group = np.unique(key, return_inverse=True)
    size_idx = size_idx_s[session]
    table = _status_given_size(sizes_all, pmf)
    u = rng.random(n)
    status = (u[:, None] > np.cumsum(table[size_idx], axis=1)[:, :2]).sum(axis=1)
    z_group = rng.standard_normal(group.max() + 1 if n else 0)
    gpus = sizes_all[size_idx]
    size_shift = np.array([SIZE_SHIFT[BUCKET_OF_SIZE[int(g)]] for g in sizes_all])
    score = (
        GROUP_RHO * z_group[group]
        + np.sqrt(1 - GROUP_RHO**2) * rng.standard_normal(n)
        + size_shift[size_idx]
        + np.asarray(STATUS_SHIFT)[status]
    )
    # The quantile curve's last segment (p99 -> max) makes the mean depend on a handful of jobs;
    # bend the tail so the mean run time is the published 14,613 s (philly_runtime.csv).
    dur = calibrate_tail(
        runtime_inverse_cdf(rank_uniform(score)), np.ones(n), _targets.PHILLY_MEAN_RUNTIME_S
    )
    dur = np.clip(np.round(dur), 1, None).astype(np.int64)
    return {"gpus": gpus, "status": status, "duration": dur, "group": group}


# ---- cluster, scheduling and attempts -----------------------------------------------------------
def vc_cluster(demand_gpus: float) -> dict[str, tuple[int, int]]:
    """The sample's VCs: ``{vc: (nodes, gpus_per_node)}``.

    The eleven VCs of the Helios artifact's Philly replay are 8-GPU nodes in the published
    proportions, together sized so the steady-state GPU demand (``demand_gpus``, Oct 1 - Nov 21)
    is :data:`TARGET_LOAD` of them (the machine pool follows the sampled load). Every VC has at
    least one node and the largest at least :data:`MIN_LARGEST_NODES`, so a 32-GPU job fits. The
    four small VCs the artifact leaves out share nothing: one 2-GPU server each.
    """
    nodes_pub = np.asarray(list(_targets.PHILLY_VC_NODES.values()), dtype=float)
    total = max(len(nodes_pub), round(demand_gpus / (TARGET_LOAD * 8)))
    nodes = np.maximum(1, round_to_total(nodes_pub, total))
    big = int(np.argmax(nodes_pub))
    nodes[big] = max(nodes[big], MIN_LARGEST_NODES)
    out = {vc: (int(n), 8) for vc, n in zip(_targets.PHILLY_VC_NODES, nodes, strict=True)}
    out.update({vc: (1, 2) for vc in SMALL_VCS})
    return out


def launch_latency(rng: np.random.Generator, gpus: np.ndarray) -> np.ndarray:
    """Seconds before Philly's scheduler can start a job: a lognormal per size bucket around
    the published median per-attempt wait (median over VCs, P4).

    Philly starts no job at once: YARN launches the job's application master and containers, and
    for multi-GPU jobs the scheduler first waits for locality (the per-attempt waits of most VCs
    step at about 3 minutes). This start-up time is the one drawn part of the sample's Philly
    queueing; waiting behind other jobs comes from the scheduler.
    """
    median_s = np.zeros(len(gpus))
    for bucket, sizes in (("1", (1,)), ("2-4", (2, 4)), ("5-8", (8,)), (">8", (16, 32))):
        m = published_value(
            "philly", "P4", "philly", "attempt_wait_min", size=bucket, q="0.5",
            vc="median-over-vcs",
        )  # fmt: skip
        median_s[np.isin(gpus, sizes)] = 60.0 * m
    return np.round(median_s * rng.lognormal(0.0, LAUNCH_SIGMA, size=len(gpus))).astype(np.int64)


def runs_from_intervals(
    intervals: list[tuple[int, str, float, float, tuple[tuple[int, int], ...]]],
    first_machine: dict[str, int],
    slots: np.ndarray,
    n_jobs: int,
) -> list[list[tuple[int, int, list[tuple[int, list[int]]]]]]:
    """Runs of every job from the scheduler's run intervals (a preempted job has several):
    ``[(start, end, [(machine, [gpu ids])])]`` per job, in time order.

    The scheduler allocates GPU counts per node; the ids come from a sweep over the intervals
    in time order that hands out each machine's lowest free GPU ids (ends before starts at the
    same instant, so a GPU is never given twice).
    """
    events = sorted(
        [(iv[3], 0, k) for k, iv in enumerate(intervals)]
        + [(iv[2], 1, k) for k, iv in enumerate(intervals)]
    )
    free = [list(range(int(n))) for n in slots]
    held: dict[int, list[tuple[int, list[int]]]] = {}
    out: list[list[tuple[int, int, list[tuple[int, list[int]]]]]] = [[] for _ in range(n_jobs)]

    def give_back(k: int) -> None:
        for mach, ids in held.pop(k, []):
            free[mach].extend(ids)
            free[mach].sort()

    for _, kind, k in events:
        job, vc, s0, s1, alloc = intervals[k]
        if kind == 0:
            give_back(k)
            continue
        taken = []
        for node, g in alloc:
            mach = first_machine[vc] + int(node)
            ids, free[mach] = free[mach][:g], free[mach][g:]
            taken.append((mach, ids))
        held[k] = taken
        out[job].append((int(round(s0)), int(round(s1)), taken))
        if s1 <= s0:  # a zero-length run gives its GPUs back at once
            give_back(k)
    for attempts in out:
        attempts.sort(key=lambda a: a[0])
    return out


# ---- utilization ---------------------------------------------------------------------------------
# (p_zero, a, b) per (status index, size): output of fit_util_beta() (scipy.stats is slow to
# import, so the fit is not redone at every run).
UTIL_BETA: dict[tuple[int, int], tuple[float, float, float]] = {
    (0, 1): (0.29, 1.041, 0.46), (0, 4): (0.27, 1.413, 0.767),
    (0, 8): (0.2, 0.339, 0.204), (0, 16): (0.25, 0.625, 0.376),
    (1, 1): (0.47, 0.849, 0.416), (1, 4): (0.44, 2.125, 1.733),
    (1, 8): (0.22, 1.413, 0.416), (1, 16): (0.42, 0.692, 0.46),
    (2, 1): (0.24, 1.276, 0.306), (2, 4): (0.22, 0.416, 0.25),
    (2, 8): (0.21, 0.94, 0.25), (2, 16): (0.34, 0.767, 0.51),
}  # fmt: skip


def fit_util_beta() -> dict[tuple[int, int], tuple[float, float, float]]:
    """(p_zero, a, b) per (status, size): zero mass plus a Beta for non-zero GPU-minutes,
    matched to the published median and mean by grid search (gives :data:`UTIL_BETA`)."""
    from scipy.stats import beta as beta_dist

    grid = np.exp(np.linspace(np.log(0.15), np.log(8.0), 40))
    a_g, b_g = np.meshgrid(grid, grid, indexing="ij")
    out = {}
    for si, status in enumerate(RAW_STATUS):
        for size, (p0, med, mean) in _targets.PHILLY_UTIL[status].items():
            p0 = p0 / 100.0
            nz_mean = min(0.98, mean / 100.0 / (1 - p0))
            q = max(0.01, (0.5 - p0) / (1 - p0))
            qv = beta_dist.ppf(q, a_g, b_g)
            mv = a_g / (a_g + b_g)
            loss = (qv - med / 100.0) ** 2 + (mv - nz_mean) ** 2
            k = np.unravel_index(np.argmin(loss), loss.shape)
            out[(si, size)] = (p0, float(a_g[k]), float(b_g[k]))
    return out


def _util_params(status: np.ndarray, gpus: np.ndarray) -> tuple[np.ndarray, ...]:
    params = UTIL_BETA
    near = np.array([1, 4, 8, 16])
    size_key = near[np.argmin(np.abs(np.log2(np.maximum(gpus, 1))[:, None] - np.log2(near)), 1)]
    p0 = np.array([params[(int(s), int(k))][0] for s, k in zip(status, size_key, strict=True)])
    a = np.array([params[(int(s), int(k))][1] for s, k in zip(status, size_key, strict=True)])
    b = np.array([params[(int(s), int(k))][2] for s, k in zip(status, size_key, strict=True)])
    return p0, a, b


def _fmt_util(x: pl.Expr) -> pl.Expr:
    # Per-minute averages of three samples, as in the real file ("99.366666667").
    return ((x * 3).round(0) / 3).round(9).cast(pl.String)


def util_window(scale: float) -> tuple[int, int]:
    """UTC seconds [first, end) of the utilization files for a sample of ``scale``."""
    full_first, full_end = _naive_s(UTIL_FIRST), _naive_s(UTIL_END)
    days = (full_end - full_first) / 86_400
    want = max(UTIL_MIN_DAYS, round(days * min(1.0, scale)))
    if want >= days:
        first, end = full_first, full_end
    else:
        first = min(_naive_s(UTIL_SHORT_FIRST), full_end - want * 86_400)
        end = first + want * 86_400
    utc = _local_to_utc_s(np.array([first, end]))
    return int(utc[0]), int(utc[1])


def _write_util(
    folder: Path,
    scale: float,
    rng: np.random.Generator,
    machine_ids: list[str],
    slots: np.ndarray,
    listed_slots: np.ndarray,
    spans: list[tuple[int, int, int, int, int]],
    job_p0: np.ndarray,
    job_level: np.ndarray,
) -> dict[str, int]:
    """Write the GPU, CPU and memory util files, one UTC day at a time.

    ``spans``: (job, machine, gpu, start_utc_s, end_utc_s) of every attempt GPU.
    """
    m = len(machine_ids)
    t_first, t_end = util_window(scale)
    gap = _local_to_utc_s(np.array([_naive_s(UTIL_GAP[0]), _naive_s(UTIL_GAP[1])]))
    spans_arr = np.array(spans, dtype=np.int64).reshape(-1, 5)
    mid = pl.Series("machine", machine_ids, dtype=pl.String)
    short_rows = (listed_slots == 2) & (rng.random(m) < 0.8)  # 2-GPU rows: short or NA-padded
    mem_total = np.where(slots == 8, 528272672.0, 264136336.0)
    counts = {"gpu_util_lines": 0, "glued_rows": 0}
    files = {
        GPU_UTIL: open(folder / GPU_UTIL, "w", newline="\n"),  # noqa: SIM115 - closed below
        CPU_UTIL: open(folder / CPU_UTIL, "w", newline="\n"),  # noqa: SIM115
        MEM_UTIL: open(folder / MEM_UTIL, "w", newline="\n"),  # noqa: SIM115
    }
    try:
        files[GPU_UTIL].write(GPU_UTIL_HEADER + "\n")
        files[CPU_UTIL].write(CPU_UTIL_HEADER + "\n")
        files[MEM_UTIL].write(MEM_UTIL_HEADER + "\n")
        day0 = t_first - t_first % 86_400
        for d0 in range(day0, t_end, 86_400):
            minutes = np.arange(max(d0, t_first), min(d0 + 86_400, t_end), 60, dtype=np.int64)
            minutes = minutes[(minutes < gap[0]) | (minutes >= gap[1])]
            if minutes.size == 0:
                continue
            nm = minutes.size
            util = np.zeros((nm, m, 8), dtype=np.float64)
            busy = np.zeros((nm, m, 8), dtype=bool)
            # Idle GPUs: mostly 0, sometimes a little background load.
            idle_noise = rng.random((nm, m, 8)) < 0.05
            util[idle_noise] = rng.uniform(0, 3, size=int(idle_noise.sum()))
            sel = (spans_arr[:, 3] < minutes[-1] + 60) & (spans_arr[:, 4] > minutes[0])
            for job, mach, gpu, s0, s1 in spans_arr[sel]:
                lo = int(np.searchsorted(minutes, s0 - s0 % 60))
                hi = int(np.searchsorted(minutes, s1))
                if hi <= lo:
                    continue
                k = hi - lo
                vals = np.clip(job_level[job] * 100 + rng.normal(0, 6, size=k), 0.5, 100)
                vals[rng.random(k) < job_p0[job]] = 0.0
                util[lo:hi, mach, gpu] = vals
                busy[lo:hi, mach, gpu] = True
            # Machines with no job all day are sometimes offline: NA rows for the day.
            idle_day = ~busy.any(axis=(0, 2))
            offline = idle_day & (rng.random(m) < 0.3)
            _write_day(
                files, rng, minutes, mid, slots, short_rows, util, busy, offline, mem_total, counts
            )
    finally:
        for fh in files.values():
            fh.close()
    return counts


def _write_day(
    files: dict[str, Any],
    rng: np.random.Generator,
    minutes: np.ndarray,
    mid: pl.Series,
    slots: np.ndarray,
    short_rows: np.ndarray,
    util: np.ndarray,
    busy: np.ndarray,
    offline: np.ndarray,
    mem_total: np.ndarray,
    counts: dict[str, int],
) -> None:
    nm, m, _ = util.shape
    utc = (
        pl.Series(minutes * 1_000_000, dtype=pl.Int64)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )
    local = utc.dt.convert_time_zone(TIMEZONE)
    offset_h = (local.dt.replace_time_zone(None) - utc.dt.replace_time_zone(None)).dt.total_hours()
    tstr = local.dt.strftime(TIME_FORMAT) + pl.Series(
        np.where(offset_h.to_numpy() == -7, " PDT", " PST")
    )
    frame = pl.DataFrame(
        {
            "t": np.repeat(tstr.to_numpy(), m),
            "utc": np.repeat(minutes, m),
            "machine": np.tile(mid.to_numpy(), nm),
            "slots": np.tile(slots, nm),
            "short": np.tile(short_rows, nm),
            "offline": np.tile(offline, nm),
            **{f"v{k}": util[:, :, k].reshape(-1) for k in range(8)},
        }
    )
    na = pl.lit(UTIL_NA)
    vcols = []
    for k in range(8):
        v = _fmt_util(pl.col(f"v{k}"))
        missing = pl.col("offline") | (pl.col("slots") <= k)
        vcols.append(pl.when(missing).then(na).otherwise(v).alias(f"s{k}"))
    frame = frame.with_columns(vcols)
    vals8 = pl.concat_str([pl.col(f"s{k}") for k in range(8)], separator=",")
    vals2 = pl.concat_str([pl.col("s0"), pl.col("s1")], separator=",")
    frame = frame.with_columns(pl.when(pl.col("short")).then(vals2).otherwise(vals8).alias("vals"))
    frame = _glue_dst(frame, counts)
    lines = pl.concat_str([pl.col("t"), pl.col("machine"), pl.col("vals")], separator=",") + ","
    out = frame.select(lines.alias("line"))["line"]
    files[GPU_UTIL].write("\n".join(out.to_list()) + "\n")
    counts["gpu_util_lines"] += len(out)

    # Host CPU: ~17 % zeros, median ~15 %, busier with more busy GPUs.
    n = nm * m
    busy_frac = busy.sum(axis=2).reshape(-1) / np.tile(slots, nm)
    cpu = rng.gamma(2.0, 6.0 + 8.0 * busy_frac)
    cpu[rng.random(n) < 0.17] = 0.0
    off = np.tile(offline, nm)
    host = pl.DataFrame(
        {
            "t": np.repeat(tstr.to_numpy(), m),
            "machine": np.tile(mid.to_numpy(), nm),
            "cpu": np.round(np.minimum(cpu, 100.0), 3),
            "off": off,
            "total": np.tile(mem_total, nm),
            "free": np.round(np.tile(mem_total, nm) * np.minimum(rng.exponential(0.06, n), 0.9), 4),
        }
    )
    zero_total = rng.random(n) < 0.0005  # rows with mem_total 0 (the official code skips them)
    host = host.with_columns(
        pl.when(pl.Series(zero_total)).then(0.0).otherwise(pl.col("total")).alias("total"),
        pl.when(pl.Series(zero_total)).then(0.0).otherwise(pl.col("free")).alias("free"),
    )
    cpu_line = pl.concat_str(
        [
            pl.col("t"),
            pl.col("machine"),
            pl.when(pl.col("off")).then(na).otherwise(pl.col("cpu").cast(pl.String)),
        ],
        separator=",",
    )
    mem_line = pl.concat_str(
        [
            pl.col("t"),
            pl.col("machine"),
            pl.when(pl.col("off")).then(na).otherwise(pl.col("total").cast(pl.String)),
            pl.when(pl.col("off")).then(na).otherwise(pl.col("free").cast(pl.String)),
        ],
        separator=",",
    )
    lines_cpu = host.select(cpu_line.alias("l"))["l"].to_list()
    lines_mem = host.select(mem_line.alias("l"))["l"].to_list()
    files[CPU_UTIL].write("\n".join(lines_cpu) + "\n")
    files[MEM_UTIL].write("\n".join(lines_mem) + "\n")


def _glue_dst(frame: pl.DataFrame, counts: dict[str, int]) -> pl.DataFrame:
    """In the repeated hour of 2017-11-05, glue the PDT and PST samples of half of the 8-GPU
    machines into one 16-value row (a trap of the real file, docs/philly.md)."""
    is_dst_day = pl.col("t").str.starts_with(DST_DAY + " 01:")
    if frame.select(is_dst_day.sum()).item() == 0:
        return frame
    pdt = pl.col("t").str.ends_with(" PDT")
    eligible = is_dst_day & ~pl.col("short") & (pl.col("slots") == 8) & ~pl.col("offline")
    eligible = eligible & (pl.col("machine").hash(7) % 2 == 0)
    frame = frame.with_columns(eligible.alias("glue"), pl.col("t").str.slice(0, 19).alias("naive"))
    later = frame.filter(pl.col("glue") & ~pdt).select(
        "naive", "machine", pl.col("vals").alias("vals_pst")
    )
    frame = frame.join(later, on=["naive", "machine"], how="left", maintain_order="left")
    glued = pl.col("glue") & pdt & pl.col("vals_pst").is_not_null()
    frame = frame.with_columns(
        pl.when(glued)
        .then(pl.concat_str([pl.col("vals"), pl.col("vals_pst")], separator=","))
        .otherwise(pl.col("vals"))
        .alias("vals")
    )
    counts["glued_rows"] += int(frame.select(glued.sum()).item())
    drop = pl.col("glue") & ~pdt & pl.col("naive").is_in(frame.filter(glued)["naive"].implode())
    return frame.filter(~drop)


# ---- job log -------------------------------------------------------------------------------------
def generate_philly(out_dir: Path, scale: float, seed: int) -> dict[str, Any]:
    """Write the Philly sample under ``out_dir/trace-data``; return a summary."""
    rng = rng_for(seed, TRACE_INDEX, 0)
    folder = Path(out_dir) / ARCHIVE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    n = max(20, round(_targets.PHILLY_JOBS * scale))

    # Arrivals (naive Pacific seconds), then UTC for the simulation.
    t0, t1 = _naive_s(SUBMIT_FIRST), _naive_s(SUBMIT_END)
    days = np.arange(t0, t1, 86_400)
    trend = np.ones(len(days))
    for first, level in TREND:
        trend[days >= _naive_s(first + " 00:00:00")] = level
    venus = np.asarray(_targets.HELIOS_HOURLY_SUBMISSIONS["Venus"])
    hour = 0.5 + 0.5 * venus / venus.mean()  # Philly's shape is unpublished: a milder office day
    bins, weight = _arrivals.bin_weights(
        rng, t0, t1, hour, np.asarray(_targets.WEEKDAY_FACTOR), trend
    )
    sizes = _arrivals.session_sizes(rng, n)
    local_submit, session = _arrivals.session_times(rng, bins, weight, sizes)
    local_submit = np.minimum(local_submit, t1 - 1)
    submit = _local_to_utc_s(local_submit)
    n_users = int(min(N_USERS, max(10, n // 15)))
    users = random_ids(rng, n_users, "", 6, hexa=True)
    activity = rng.lognormal(0.0, 1.8, size=n_users)
    user_s = rng.choice(n_users, size=len(sizes), p=activity / activity.sum())
    user = user_s[session]
    attrs = job_attributes(rng, n, user_s, session)
    gpus, status, dur = attrs["gpus"], attrs["status"], attrs["duration"]

    # The machine pool follows the sampled load (steady-state GPU demand), split into the VCs.
    steady = (local_submit >= _naive_s(STEADY[0])) & (local_submit < _naive_s(STEADY[1]))
    steady_s = _naive_s(STEADY[1]) - _naive_s(STEADY[0])
    cluster = vc_cluster(float((gpus * dur)[steady].sum()) / steady_s)
    vc_names = list(cluster)
    vc_gpus = np.array([nodes * gpn for nodes, gpn in cluster.values()], dtype=float)
    vc_max = np.array([gpn * (nodes if gpn == 8 else 1) for nodes, gpn in cluster.values()])
    home, spread = assign_vcs(activity, vc_gpus)
    job_vc = home[user]
    # Heavy users and jobs too big for their VC go to a VC that can hold them, by size.
    move = spread[user] | (gpus > vc_max[job_vc])
    for size in np.unique(gpus[move]):
        sel = move & (gpus == size)
        ok = vc_max >= size
        p = np.where(ok, vc_gpus, 0.0)
        job_vc[sel] = rng.choice(len(vc_names), size=int(sel.sum()), p=p / p.sum())

    # Machines: each VC's nodes in order, ids drawn like the real ``m<number>`` names.
    slots = np.concatenate([np.full(nodes, gpn) for nodes, gpn in cluster.values()])
    first_machine = dict(zip(vc_names, np.cumsum([0, *[c[0] for c in cluster.values()]]).tolist(),
                             strict=False))  # fmt: skip
    numbers = np.sort(rng.choice(np.arange(1, max(600, 2 * len(slots))), len(slots), False))
    machine_ids = [f"m{k}" for k in numbers]

    # Queueing emerges: the replay engine schedules the jobs on their VC's machines. Jobs
    # killed before they ever ran (empty attempts) are not scheduled.
    snapshot = int(_local_to_utc_s(np.array([t1]))[0])
    p_empty = EMPTY_ATTEMPTS_RATE / _targets.PHILLY_STATUS_COUNT[1]
    never_ran = (status == 1) & (rng.random(n) < p_empty)
    run_idx = np.flatnonzero(~never_ran)
    launch = launch_latency(rng, gpus)
    sched = schedule(
        (submit + launch)[run_idx], gpus[run_idx], dur[run_idx],
        np.asarray(vc_names)[job_vc[run_idx]], cluster, seed=seed, record=True,
    )  # fmt: skip
    assert sched.intervals is not None
    per_run = runs_from_intervals(sched.intervals, first_machine, slots, len(run_idx))
    # A preempted job's runs become one attempt in the log, from its first start to its last end
    # on the machines of its first run (its run time then spans the gaps, as Philly's run time
    # spans an attempt's pauses); the utilization files follow the runs themselves.
    runs_of: list[list[tuple[int, int, list[tuple[int, list[int]]]]]] = [[] for _ in range(n)]
    attempts_of: list[list[tuple[int, int, list[tuple[int, list[int]]]]]] = [[] for _ in range(n)]
    for k, j in enumerate(run_idx.tolist()):
        runs_of[j] = [a for a in per_run[k] if a[0] < snapshot]
        if runs_of[j]:
            attempts_of[j] = [(runs_of[j][0][0], runs_of[j][-1][1], runs_of[j][0][2])]
    # Failed jobs are retried: their attempt splits into consecutive attempts on the same
    # machines (restarted at once, so the notebook's per-attempt waits, which drop zeros, keep
    # coming from the scheduler).
    for j in np.flatnonzero((status == 2) & (rng.random(n) < RETRY_P)).tolist():
        if len(attempts_of[j]) != 1:
            continue
        s0, s1, taken = attempts_of[j][0]
        k = 1 + int(min(rng.geometric(0.5), 5))
        if s1 - s0 < 120 * k:
            continue
        cuts = [s0, *np.sort(rng.integers(s0 + 1, s1, size=k - 1)).tolist(), s1]
        attempts_of[j] = [(a, b, taken) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    # At least one job still runs at the snapshot (censored): small samples may have none.
    if not any(a and a[-1][1] > snapshot for a in attempts_of):
        j = max((j for j in range(n) if attempts_of[j]), key=lambda j: runs_of[j][-1][0])
        s0, _, taken = runs_of[j][-1]
        runs_of[j][-1] = (s0, snapshot + 3600, taken)
        attempts_of[j] = [(attempts_of[j][0][0], snapshot + 3600, attempts_of[j][0][2])]

    # Issue #8: an 8-GPU machine that the machine list calls a 2-GPU one.
    listed = slots.copy()
    used8 = sorted({a[2][0][0] for att in attempts_of for a in att if len(a[2][0][1]) == 8})
    if used8:
        listed[used8[int(rng.integers(len(used8)))]] = 2

    jobs_json: list[dict[str, Any]] = []
    spans: list[tuple[int, int, int, int, int]] = []
    rm_epochs = np.sort(rng.integers(t0 - 86_400 * 30, t0, size=1)).tolist()
    restarts = sorted(rng.choice(np.arange(t0, t1, 86_400), size=3, replace=False).tolist())
    rm_starts = np.asarray([*rm_epochs, *restarts], dtype=np.int64)
    order = np.lexsort((np.arange(n), submit))
    sub_str = _utc_s_to_local_str(submit)
    flat = np.array([(s0, s1) for att in attempts_of for s0, s1, _ in att], dtype=np.int64).reshape(
        -1, 2
    )
    flat_start = _utc_s_to_local_str(flat[:, 0])
    flat_end = _utc_s_to_local_str(flat[:, 1])
    first_attempt = np.cumsum([0] + [len(att) for att in attempts_of])
    rm_of = np.maximum(np.searchsorted(rm_starts, local_submit, side="right") - 1, 0)
    rm_ms = rm_starts * 1000 + rng.integers(0, 1000, size=len(rm_starts))
    seq = np.zeros(len(rm_starts), dtype=np.int64)
    null_markers = [None, "None", ""]
    censored = 0
    for j in order.tolist():
        seq[rm_of[j]] += 1
        jobid = f"application_{rm_ms[rm_of[j]]}_{seq[rm_of[j]]:04d}"
        attempts: list[dict[str, Any]] = []
        for k, (_s0, s1, taken) in enumerate(attempts_of[j]):
            end_s: Any = flat_end[first_attempt[j] + k]
            if s1 > snapshot:
                end_s = None  # still running at the snapshot: censored
                censored += 1
            start_s: Any = flat_start[first_attempt[j] + k]
            if rng.random() < NULL_TIME_RATE:
                start_s = null_markers[int(rng.integers(3))]
            detail = [
                {"ip": machine_ids[mach], "gpus": [f"{GPU_ID_PREFIX}{g}" for g in ids]}
                for mach, ids in taken
            ]
            attempts.append({"start_time": start_s, "end_time": end_s, "detail": detail})
        for s0, s1, taken in runs_of[j]:
            for mach, ids in taken:
                for gid in ids:
                    spans.append((j, mach, gid, s0, min(s1, snapshot)))
        jobs_json.append(
            {
                "status": RAW_STATUS[int(status[j])],
                "vc": vc_names[int(job_vc[j])],
                "jobid": jobid,
                "attempts": attempts,
                "submitted_time": sub_str[j],
                "user": users[int(user[j])],
            }
        )
    with open(folder / JOB_LOG, "w") as fh:
        json.dump(jobs_json, fh)

    with open(folder / MACHINE_LIST, "w") as fh:
        fh.write(MACHINE_LIST_HEADER + "\n")
        for mid, k in zip(machine_ids, listed, strict=True):
            fh.write(f"{mid},{int(k)}, {12 if k == 2 else 24}{GPU_MEM_UNIT}\n")

    p0, a, b = _util_params(status, gpus)
    level = rng.beta(a, b)
    counts = _write_util(folder, scale, rng, machine_ids, slots, listed, spans, p0, level)
    noise = group_noise_ceiling(dur.astype(float), attrs["group"])
    write_marker(
        Path(out_dir),
        "philly",
        seed,
        scale,
        {
            "machines": len(machine_ids),
            "vcs": {vc: list(spec) for vc, spec in cluster.items()},  # (nodes, GPUs per node)
            "noise_ceiling_median_abs_log_error": {"all": round(noise["median_abs_log_error"], 4)},
        },
    )
    first_wait = sched.start - submit[run_idx]
    return {
        "trace": "philly",
        "jobs": n,
        "machines": len(machine_ids),
        "gpus": int(slots.sum()),
        "users": n_users,
        "censored_jobs": censored,
        "empty_attempt_jobs": int(never_ran.sum()),
        "preempted_jobs": int((sched.preemptions > 0).sum()),
        "mean_first_wait_s": float(first_wait.mean()) if first_wait.size else 0.0,
        **counts,
        "noise_ceiling_median_abs_log_error": noise["median_abs_log_error"],
        "recurring_share": noise["recurring_share"],
    }
