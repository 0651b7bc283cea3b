"""Synthetic Acme sample: ``data/job_trace/trace_seren.csv`` and ``trace_kalos.csv`` in the exact
raw format of the AcmeTrace repository, marked SYNTHETIC.

Calibrated per cluster to the authors' ``cluster_summary.csv`` (read from
``tracekit/analysis/published/acme.csv`` through :func:`published_table`, the one copy of
those numbers): GPU and CPU job counts
(times ``scale``), median and mean run time and queuing delay of GPU and CPU jobs, median and
mean GPUs per GPU job, the largest job, the shares of jobs by final state and of GPU time by final
state. How:

* sizes: a workload type per GPU job (Pretrain, SFT, MLLM, Eval, Debug, Other; the shares are
  tracekit's assumptions, the paper shows them only as a treemap), GPUs from a per-type PMF, and
  the share of pretraining jobs solved so the mean GPUs per job is the published one;
* run times and delays: lognormal with the published median and a spread that gives the
  published mean, the tail then bent to the mean exactly (:func:`calibrate_tail`);
* final states: the jobs holding most GPU time get the state whose GPU-time share is furthest
  below target (largest first), the rest are dealt so the job shares are exact; a few failures
  are TIMEOUT or NODE_FAIL, a few cancellations never start;
* submissions: the real per-day rate over ``scale`` x the trace's days (at least a week), with
  more jobs in the working hours of China Standard Time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tracekit.analysis.findings import published_table
from tracekit.sample._common import (
    calibrate_tail,
    random_ids,
    rank_uniform,
    rng_for,
    round_to_total,
    write_marker,
)
from tracekit.sources.acme.formats import CLUSTERS, FILES, HEADERS, JOB_TRACE_DIR, TIME_FORMAT

TRACE_INDEX = 5  # seeds: philly 1, helios 2, pai 3, acme 5
MIN_DAYS = 7
# The trace windows: Seren March-August 2023, Kalos from mid-May (its first example job).
WINDOWS: dict[str, tuple[datetime, int]] = {
    "Seren": (datetime(2023, 3, 1, tzinfo=UTC) - timedelta(hours=8), 184),
    "Kalos": (datetime(2023, 5, 16, tzinfo=UTC), 108),
}
OFFSET_HOURS: dict[str, int] = {"Seren": 8, "Kalos": 0}  # the offset each file writes
CPUS_PER_GPU: dict[str, int] = {"Seren": 16, "Kalos": 15}
GPUS_PER_NODE = 8
# Workload mix of GPU jobs other than pretraining (assumed; the paper's Fig. 4 is a treemap).
TYPE_SHARES: dict[str, dict[str, float]] = {
    "Seren": {"Eval": 0.35, "Other": 0.35, "Debug": 0.15, "SFT": 0.10, "MLLM": 0.05},
    "Kalos": {"Eval": 0.60, "Other": 0.25, "Debug": 0.15},
}
# GPUs per job by type: (sizes, weights).
SIZE_PMF: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "Eval": ((1, 2, 4, 8), (0.70, 0.10, 0.10, 0.10)),
    "Debug": ((1, 2, 4, 8, 16), (0.45, 0.15, 0.15, 0.20, 0.05)),
    "Other": ((1, 2, 4, 8, 16, 32), (0.60, 0.10, 0.10, 0.15, 0.03, 0.02)),
    "SFT": ((8, 16, 32), (0.60, 0.30, 0.10)),
    "MLLM": ((1, 8, 16), (0.40, 0.40, 0.20)),
    "Pretrain": ((128, 256, 512, 1024), (0.30, 0.35, 0.25, 0.10)),
}
RARE_FAILURES: dict[str, float] = {"TIMEOUT": 0.01, "NODE_FAIL": 0.01}  # of failed jobs
NEVER_STARTED = 0.02  # of canceled jobs
SWAP_JOBS = 200  # then the largest jobs swap states to fine-tune the GPU-time shares
SWAP_PASSES = 3
RUN_SIZE_RHO = 0.5  # rank correlation of run time with job size (large jobs run longer)
HEAD_GPU_TIME = 0.97  # states of the jobs holding this share of GPU time are chosen by deficit
STATES = ("COMPLETED", "CANCELLED", "FAILED")
_WORDS = ("complete", "cancel", "fail")


def targets(cluster: str) -> dict[str, float]:
    """The published ``cluster_summary.csv`` values of ``cluster`` (Seren or Kalos), by the
    summary's column names; shares as fractions."""
    rows = published_table("acme").filter(
        (pl.col("cluster") == cluster) & pl.col("published").is_not_null()
    )
    return {
        m: v / 100.0 if unit == "%" else v
        for m, v, unit in rows.select("metric", "published", "unit").iter_rows()
    }


def _lognormal(
    rng: np.random.Generator, n: int, median: float, mean: float, cap: float
) -> np.ndarray:
    """Whole seconds >= 0, lognormal with this median; the tail bent so the mean is ``mean``."""
    median = max(median, 0.5)
    sigma = float(np.sqrt(2 * np.log(max(mean / median, 1.0 + 1e-9))))
    x = np.exp(sigma * rng.standard_normal(n))
    x = np.minimum(x * (median / np.median(x)), cap)  # the sample's median is the published one
    return np.rint(np.minimum(calibrate_tail(x, np.ones(n), mean), cap))


def _sizes(rng: np.random.Generator, cluster: str, n: int, mean_gpus: float) -> tuple:
    """Workload type and GPUs of ``n`` GPU jobs; the pretraining share hits ``mean_gpus``."""
    mean_of = {t: float(np.dot(*SIZE_PMF[t])) for t in SIZE_PMF}
    others = TYPE_SHARES[cluster]
    m_other = sum(s * mean_of[t] for t, s in others.items())
    p_pre = float(np.clip((mean_gpus - m_other) / (mean_of["Pretrain"] - m_other), 0.0, 0.5))
    names = ("Pretrain", *others)
    shares = np.array([p_pre, *[(1 - p_pre) * s for s in others.values()]])
    counts = round_to_total(shares, n)
    kinds = rng.permutation(np.repeat(np.arange(len(names)), counts))
    gpus = np.empty(n, dtype=np.int64)
    for k, name in enumerate(names):
        sizes, weights = SIZE_PMF[name]
        sel = kinds == k
        gpus[sel] = rng.choice(sizes, size=int(sel.sum()), p=np.asarray(weights) / sum(weights))
    return np.array(names)[kinds], gpus


def _states(
    rng: np.random.Generator, gpu_time: np.ndarray, job_share: np.ndarray, time_share: np.ndarray
) -> np.ndarray:
    """Final states hitting the job shares exactly and the GPU-time shares closely."""
    n = gpu_time.size
    state = np.full(n, -1)
    order = np.argsort(-gpu_time, kind="stable")
    want_jobs = round_to_total(job_share, n)
    assigned = np.zeros(3)
    used = np.zeros(3, dtype=np.int64)
    total = gpu_time.sum()
    cum = 0.0
    for j in order:
        if total <= 0 or cum >= HEAD_GPU_TIME * total:
            break
        deficit = time_share * total - assigned
        deficit[used >= want_jobs] = -np.inf
        s = int(np.argmax(deficit))
        state[j] = s
        assigned[s] += gpu_time[j]
        used[s] += 1
        cum += gpu_time[j]
    rest = np.flatnonzero(state < 0)
    left = np.maximum(want_jobs - used, 0)
    fill = np.repeat(np.arange(3), round_to_total(left.astype(float), rest.size))
    state[rest] = rng.permutation(fill)
    return _swap_towards(state, gpu_time, time_share, order[:SWAP_JOBS])


def _swap_towards(
    state: np.ndarray, gpu_time: np.ndarray, time_share: np.ndarray, head: np.ndarray
) -> np.ndarray:
    """Swap states between pairs of ``head`` jobs while that brings the GPU-time shares closer
    to ``time_share`` (job counts per state are unchanged by a swap)."""
    total = gpu_time.sum()
    if total <= 0:
        return state
    target = time_share * total
    have = np.bincount(state, weights=gpu_time, minlength=3)
    for _ in range(SWAP_PASSES):
        improved = False
        for a in range(head.size):
            i = head[a]
            for j in head[a + 1 :]:
                si, sj = state[i], state[j]
                if si == sj:
                    continue
                d = gpu_time[i] - gpu_time[j]  # moves from si to sj when swapped
                new = have.copy()
                new[si] -= d
                new[sj] += d
                if np.abs(new - target).sum() < np.abs(have - target).sum() - 1e-9 * total:
                    state[i], state[j] = sj, si
                    have = new
                    improved = True
        if not improved:
            break
    return state


def _words(rng: np.random.Generator, state: np.ndarray) -> np.ndarray:
    words = np.array(STATES, dtype=object)[state]
    failed = np.flatnonzero(state == 2)
    draw = rng.random(failed.size)
    edge = 0.0
    for word, p in RARE_FAILURES.items():
        words[failed[(draw >= edge) & (draw < edge + p)]] = word
        edge += p
    return words


def _submit_times(rng: np.random.Generator, cluster: str, n: int, scale: float) -> np.ndarray:
    """Sorted submission times (UTC microseconds) over the sample's window."""
    start, full_days = WINDOWS[cluster]
    days = int(np.clip(round(scale * full_days), MIN_DAYS, full_days))
    first = start + timedelta(days=(full_days - days) // 2)
    # Local (UTC+8) hour weights: quiet at night, busy in working hours.
    hour_w = np.array([2, 1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 6, 7, 8, 8, 7, 6, 5, 5, 5, 4, 3, 2.0])
    day = rng.integers(0, days, n)
    local_hour = rng.choice(24, size=n, p=hour_w / hour_w.sum())
    utc_hour = (local_hour - 8) % 24
    second = day * 86400 + utc_hour * 3600 + rng.integers(0, 3600, n)
    base = int(first.timestamp())
    return np.sort(base + second) * 1_000_000


def _correlate(rng: np.random.Generator, values: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Reorder ``values`` so their ranks follow ``key``'s with correlation ~ RUN_SIZE_RHO."""
    z = (rank_uniform(key + rng.random(key.size) * 1e-3) - 0.5) * np.sqrt(12)
    score = RUN_SIZE_RHO * z + np.sqrt(1 - RUN_SIZE_RHO**2) * rng.standard_normal(key.size)
    out = np.empty_like(values)
    out[np.argsort(score, kind="stable")] = np.sort(values, kind="stable")
    return out


def _cluster_frame(rng: np.random.Generator, cluster: str, scale: float) -> pl.DataFrame:
    t = targets(cluster)
    n_gpu = max(int(round(t["gpu_job_num"] * scale)), 20)
    n_cpu = max(int(round(t["cpu_job_num"] * scale)), 10)
    kinds, gpus = _sizes(rng, cluster, n_gpu, t["avg_gpu_num"])
    run = np.concatenate(
        [
            _lognormal(rng, n_gpu, t["med_run_time_gpu"], t["avg_run_time_gpu"],
                       t["max_run_time_gpu"]),
            _lognormal(rng, n_cpu, t["med_run_time_cpu"], t["avg_run_time_cpu"],
                       t["max_run_time_gpu"]),
        ]
    )  # fmt: skip
    queue = np.concatenate(
        [
            _lognormal(rng, n_gpu, t["med_que_time_gpu"], t["avg_que_time_gpu"], 7 * 86400),
            _lognormal(rng, n_cpu, t["med_que_time_cpu"], t["avg_que_time_cpu"], 7 * 86400),
        ]
    )
    run[:n_gpu] = _correlate(rng, run[:n_gpu], gpus)
    gpus = np.concatenate([gpus, np.zeros(n_cpu, dtype=np.int64)])
    kinds = np.concatenate([kinds, np.full(n_cpu, "Other")])
    share = {k: np.array([t[f"{w}_{k}"] for w in _WORDS]) for k in ("rate_gpu", "rate_cpu")}
    time_share = np.array([t[f"{w}_rate_gpu_time"] for w in _WORDS])
    state = np.concatenate(
        [
            _states(rng, gpus[:n_gpu] * run[:n_gpu], share["rate_gpu"], time_share),
            _states(rng, np.zeros(n_cpu), share["rate_cpu"], time_share),
        ]
    )
    n = n_gpu + n_cpu
    mix = rng.permutation(n)  # GPU and CPU jobs interleave in time
    gpus, kinds, run, queue, state = (a[mix] for a in (gpus, kinds, run, queue, state))
    words = _words(rng, state)
    never = (state == 1) & (rng.random(n) < NEVER_STARTED)
    submit = _submit_times(rng, cluster, n, scale)
    start = submit + queue.astype(np.int64) * 1_000_000
    end = np.where(never, submit + queue.astype(np.int64) * 1_000_000, start + run * 1_000_000)
    run = np.where(never, 0, run)
    users = rng.zipf(1.6, n) % max(int(400 * max(scale, 0.05)), 20)
    return pl.DataFrame(
        {
            "gpus": gpus,
            "type": kinds,
            "state": words,
            "never": never,
            "submit": submit,
            "start": start,
            "end": end.astype(np.int64),
            "run": run.astype(np.int64),
            "queue": queue.astype(np.int64),
            "user": users,
        }
    )


def _format(frame: pl.DataFrame, cluster: str, rng: np.random.Generator) -> pl.DataFrame:
    """The raw columns of ``cluster``'s file, as text."""
    zone = "Asia/Shanghai" if OFFSET_HOURS[cluster] else "UTC"

    def when(col: str | pl.Expr) -> pl.Expr:
        expr = pl.col(col) if isinstance(col, str) else col
        return (
            expr.cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(zone).dt.to_string(TIME_FORMAT)
        )

    n = frame.height
    if cluster == "Seren":
        ids = [str(5_778_432 + 37 * i + int(d)) for i, d in enumerate(rng.integers(0, 30, n))]
    else:
        ids = random_ids(rng, n, "dlc", 13)
    user_hex = [f"u{h:04x}" for h in rng.permutation(65536)[: frame["user"].max() + 1]]
    never = pl.col("never")
    nodes = ((pl.col("gpus") + GPUS_PER_NODE - 1) // GPUS_PER_NODE).clip(lower_bound=1)
    cpus = pl.when(pl.col("gpus") > 0).then(pl.col("gpus") * CPUS_PER_GPU[cluster])
    cpus = cpus.otherwise(pl.lit(4) * (1 + pl.col("queue") % 8))
    queue = (
        pl.when(never)
        .then(pl.lit(None, pl.String))
        .otherwise(pl.col("queue").cast(pl.String) + (".0" if cluster == "Kalos" else ""))
    )
    out = frame.select(
        pl.Series("job_id", ids),
        pl.col("user").map_elements(lambda u: user_hex[u], return_dtype=pl.String).alias("user"),
        nodes.cast(pl.String).alias("node_num"),
        pl.col("gpus").cast(pl.String).alias("gpu_num"),
        cpus.cast(pl.String).alias("cpu_num"),
        pl.when(pl.col("gpus") >= GPUS_PER_NODE).then(pl.lit("1000")).otherwise(
            (pl.col("gpus").clip(lower_bound=1) * 120).cast(pl.String)
        ).alias("mem_per_pod_GB"),
        pl.when(pl.col("gpus") >= GPUS_PER_NODE).then(pl.lit("100.0")).otherwise(
            pl.lit("50.0")
        ).alias("shared_mem_per_pod"),
        pl.col("type"),
        pl.col("state"),
        when("submit").alias("submit_time"),
        pl.when(never).then(pl.lit(None, pl.String)).otherwise(when("start")).alias("start_time"),
        when("end").alias("end_time"),
        pl.when(pl.col("state").is_in(["FAILED", "TIMEOUT", "NODE_FAIL"])).then(when("end"))
        .otherwise(pl.lit(None, pl.String)).alias("fail_time"),
        pl.when(pl.col("state") == "CANCELLED").then(when("end")).otherwise(pl.lit(None, pl.String))
        .alias("stop_time"),
        pl.col("run").cast(pl.String).alias("duration"),
        queue.alias("queue"),
        (pl.col("gpus") * pl.col("run")).cast(pl.Float64).cast(pl.String).alias("gpu_time"),
    )  # fmt: skip
    return out.select(HEADERS[cluster])


def generate_acme(folder: str | Path, scale: float, seed: int) -> dict[str, Any]:
    """Write a calibrated SYNTHETIC Acme sample into ``folder``.

    Parameters
    ----------
    folder : path
        Output folder: ``folder/data/job_trace/trace_{seren,kalos}.csv`` and ``SYNTHETIC.json``.
    scale : float
        Fraction of the real job counts (at least 20 GPU and 10 CPU jobs per cluster).
    seed : int
        Seed; the same seed and scale give byte-identical files.

    Returns
    -------
    dict
        Per cluster: jobs written and the sample's window.
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    folder = Path(folder)
    out_dir = folder / JOB_TRACE_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {}
    for k, cluster in enumerate(CLUSTERS):
        rng = rng_for(seed, TRACE_INDEX, k)
        frame = _cluster_frame(rng, cluster, scale)
        text = _format(frame, cluster, rng)
        text.write_csv(out_dir / FILES[cluster], null_value="")
        info[cluster] = {"jobs": text.height, "first_submit": text["submit_time"][0]}
    write_marker(folder, "acme", seed, scale, {"clusters": list(CLUSTERS)})
    return info


__all__ = ["generate_acme", "targets"]
