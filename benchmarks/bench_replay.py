"""Replay speed on a 1 M-job Helios-like trace, generated here from published distributions.

Goals (2-core machine, CPython): FIFO, SJF, QSSF <= 10 s each; SRTF and Tiresias <= 30 s each;
peak RSS <= 1.5 GB. Baseline: a straightforward time-stepped Python loop (1-s ticks, as in the
Helios/Lucid artifacts) of the same policy on a small slice of the trace; the engine replays the
same slice and the ratio is baseline / engine. The slice is replayed in ``compat="helios"`` mode
so that both see whole seconds, and FIFO's per-job start times are checked to be identical.

Replays of at least ``tracekit.replay.engines.whole_gpu.PARALLEL_MIN_JOBS`` jobs spread their VCs
over all CPUs (forked workers, ``replay(workers=None)``); SRTF and Tiresias are also replayed in
one process, so the CPU-bound figure is reported too. CPU seconds include the workers'; peak
memory is this process's RSS plus the workers' unique memory.

Run: ``python -m benchmarks.bench_replay [--scale S]`` (S = 1 is 1 M jobs).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import polars as pl

from benchmarks._common import max_rss_gb, peak_rss, report, timed
from tracekit.replay import Cluster, replay

# Duration CDF (percent of GPU jobs shorter than t seconds) of Helios' Venus cluster, read from
# the vector figures of the official Helios artifact (github.com/S-Lab-System-Group/HeliosArtifact).
_T = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
      131072, 262144, 524288, 1048576, 2097152]  # fmt: skip
_CDF = [1.89, 2.78, 4.06, 6.37, 9.64, 14.76, 23.22, 37.64, 55.05, 65.14, 72.86, 78.53, 83.67,
        86.89, 89.65, 92.33, 95.42, 97.46, 98.9, 99.64, 99.94, 100.0]  # fmt: skip
# Venus job-size distribution (percent of GPU jobs, same source), sizes above 64 GPUs folded
# into 64.
SIZES = np.array([1, 2, 4, 8, 16, 24, 32, 64])
SIZE_P = np.array([51.84, 5.54, 7.42, 25.18, 4.16, 0.9, 2.72, 2.24]) / 100.0
MAX_DURATION_S = 14 * 86400  # Slurm limit of the Helios clusters


def _duration_cdf() -> tuple[np.ndarray, np.ndarray]:
    return np.array(_T, float), np.array(_CDF) / 100.0


def make_trace(
    n: int, n_vcs: int = 10, days: float = 180.0, seed: int = 0
) -> tuple[pl.DataFrame, Cluster]:
    """``n`` Helios-like GPU jobs over ``days`` on ``n_vcs`` VCs sized for 60-95 % offered load.

    Sizes follow Venus' job-size CDF, durations Venus' GPU-job duration CDF (log-linear
    interpolation, capped at 14 days), arrivals are Poisson with a diurnal cycle, VC popularity
    is Zipf-like, and ``pred_duration = duration x LogNormal(0, 1)``.
    """
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_vcs + 1) ** 0.8
    vc = rng.choice(n_vcs, n, p=weights / weights.sum())
    hourly = 1.0 + 0.6 * np.sin((np.arange(24) - 9) / 24 * 2 * np.pi)
    hour = rng.choice(24, n, p=hourly / hourly.sum())
    day = rng.integers(0, max(int(days), 1), n)
    submit = np.sort(day * 86400.0 + hour * 3600.0 + rng.uniform(0, 3600, n)).round()
    gpus = rng.choice(SIZES, n, p=SIZE_P / SIZE_P.sum())
    t, cdf = _duration_cdf()
    u = rng.uniform(cdf[0], 1.0, n)
    duration = np.exp(np.interp(u, cdf, np.log(t))).round().clip(1, MAX_DURATION_S)
    pred = duration * rng.lognormal(0.0, 1.0, n)
    span = days * 86400.0
    target = rng.uniform(0.6, 0.95, n_vcs)
    vcs = {}
    for v in range(n_vcs):
        offered = float((duration * gpus)[vc == v].sum()) / span
        nodes = max(int(np.ceil(offered / target[v] / 8)), 8)
        vcs[f"vc{v:02d}"] = (nodes, 8)
    jobs = pl.DataFrame(
        {
            "job_id": np.arange(n).astype(str),
            "vc": np.char.add("vc", np.char.zfill(vc.astype(str), 2)),
            "submit_time": submit,
            "duration": duration,
            "num_gpus": gpus.astype(np.int64),
            "pred_duration": pred,
        }
    )
    return jobs, Cluster.from_dict(vcs)


# ---- time-stepped baselines (what the artifacts do, simplified) ---------------------------------
def _best_fit(free: list[int], g: int, gpn: int) -> list[tuple[int, int]] | None:
    if g <= gpn:
        best = None
        for node, f in enumerate(free):
            if f >= g and (best is None or f < free[best]):
                best = node
        return None if best is None else [(best, g)]
    k, r = divmod(g, gpn)
    idle = [node for node, f in enumerate(free) if f == gpn]
    if len(idle) < k:
        return None
    alloc = [(node, gpn) for node in idle[:k]]
    if r:
        rest = [(f, node) for node, f in enumerate(free) if node not in idle[:k] and f >= r]
        if not rest:
            return None
        f, node = max(rest, key=lambda x: (x[0], -x[1]))
        alloc.append((node, r))
    return alloc


def tick_fifo(jobs: pl.DataFrame, cluster: Cluster) -> dict[str, float]:
    """FIFO with head-of-line blocking, one iteration per simulated second and VC."""
    starts: dict[str, float] = {}
    for (vc,), part in jobs.sort("submit_time").group_by("vc", maintain_order=True):
        spec = cluster[vc]
        rows = part.select("job_id", "submit_time", "duration", "num_gpus").rows()
        free = [spec.gpus_per_node] * spec.nodes
        queue: list[tuple] = []
        running: list[tuple[float, list[tuple[int, int]]]] = []
        i, t = 0, rows[0][1]
        while i < len(rows) or queue or running:
            keep = []
            for end, alloc in running:
                if end <= t:
                    for node, g in alloc:
                        free[node] += g
                else:
                    keep.append((end, alloc))
            running = keep
            while i < len(rows) and rows[i][1] <= t:
                queue.append(rows[i])
                i += 1
            while queue:
                job_id, _s, dur, g = queue[0]
                alloc = _best_fit(free, g, spec.gpus_per_node)
                if alloc is None:
                    break
                for node, x in alloc:
                    free[node] -= x
                running.append((t + dur, alloc))
                starts[job_id] = t
                queue.pop(0)
            t += 1
    return starts


def tick_srtf(jobs: pl.DataFrame, cluster: Cluster) -> float:
    """SRTF re-sorting pending + running jobs every second (GPU-count quota); mean JCT."""
    total, count = 0.0, 0
    for (vc,), part in jobs.sort("submit_time").group_by("vc", maintain_order=True):
        cap = cluster[vc].gpus
        rows = part.select("submit_time", "duration", "num_gpus").rows()
        rem = {k: r[1] for k, r in enumerate(rows)}
        active: list[int] = []
        i, t = 0, rows[0][0]
        running: set[int] = set()
        while i < len(rows) or active:
            for k in list(running):
                rem[k] -= 1
                if rem[k] <= 0:
                    running.discard(k)
                    active.remove(k)
                    total += t - rows[k][0]
                    count += 1
            while i < len(rows) and rows[i][0] <= t:
                active.append(i)
                i += 1
            quota = cap
            chosen = set()
            for k in sorted(active, key=lambda k: (rem[k], k)):
                if rows[k][2] <= quota:
                    quota -= rows[k][2]
                    chosen.add(k)
            running = chosen
            t += 1
    return total / max(count, 1)


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (the forked VC workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _slice(jobs: pl.DataFrame, hours: float, clip_h: float) -> pl.DataFrame:
    """Jobs submitted in the first ``hours``, durations clipped so 1-s ticking stays bounded."""
    return jobs.filter(pl.col("submit_time") < hours * 3600.0).with_columns(
        pl.col("duration").clip(upper_bound=clip_h * 3600.0)
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print/append the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = 1 M jobs")
    ap.add_argument("--policies", default="fifo,sjf,qssf,srtf,tiresias")
    ap.add_argument(
        "--single",
        default="srtf,tiresias",
        help="policies also replayed in one process (workers=1), for the CPU-bound figure",
    )
    args = ap.parse_args(argv)
    n = int(1_000_000 * args.scale)
    # The window shrinks with the scale, so the cluster size and load stay those of 1 M jobs
    # over 180 days and per-job costs extrapolate linearly.
    jobs, cluster = make_trace(n, days=180.0 * args.scale)
    print(f"{n} jobs, {len(cluster)} VCs, {cluster.total_gpus} GPUs")
    rows = []
    goals = {"fifo": 10, "sjf": 10, "qssf": 10, "srtf": 30, "tiresias": 30, "fifo+easy": 10}
    runs = [(name, None) for name in args.policies.split(",")]
    runs += [(name, 1) for name in args.single.split(",") if name]
    for name, workers in runs:
        policy, _, bf = name.partition("+")
        goal = goals.get(name, 30) * args.scale
        cpu0 = _cpu_seconds()
        with peak_rss() as mem:
            wall, res = timed(
                lambda p=policy, b=bf, w=workers: replay(
                    jobs, cluster, p, backfill=b or None, workers=w
                )
            )
        cpu = _cpu_seconds() - cpu0
        summ = res.summary(by_vc=False).row(0, named=True)
        used = res.config["workers"]
        rows.append(
            {
                "figure": f"replay {name} {n / 1e6:g}M jobs, {used} process(es)",
                "goal": f"<={goal:g}s" if workers is None else "(one-process figure)",
                "measured_s": wall,
                "cpu_s": cpu,
                "workers": used,
                "peak_gb": mem["peak_gb"],
                "ok": (wall <= goal or workers is not None) and mem["peak_gb"] <= 1.5,
                "jct_mean_s": summ["jct_mean_s"],
                "queue_mean_s": summ["queue_mean_s"],
                "preemptions": summ["preemptions"],
            }
        )
        print(rows[-1], flush=True)
    # Baselines on small slices (1-s ticks cost O(simulated seconds x jobs in the system)).
    sl = _slice(jobs, 6.0, 3.0)
    base_s, starts = timed(lambda: tick_fifo(sl, cluster))
    eng_s, eng = timed(lambda: replay(sl, cluster, "fifo", compat="helios"))
    same = eng.jobs.select("job_id", "start_time").rows() == [
        (k, starts[k]) for k in eng.jobs["job_id"].to_list()
    ]
    rows.append(
        {"figure": f"fifo slice {sl.height} jobs vs 1-s ticks", "goal": "same starts",
         "measured_s": eng_s, "baseline_s": base_s, "ratio": base_s / eng_s, "ok": same,
         "peak_gb": max_rss_gb()}
    )  # fmt: skip
    print(rows[-1], flush=True)
    sl2 = _slice(jobs, 1.5, 1.0)
    base_s, base_jct = timed(lambda: tick_srtf(sl2, cluster))
    eng_s, eng = timed(lambda: replay(sl2, cluster, "srtf", compat="helios", ckpt_overhead=0))
    jct = eng.jobs["jct_s"].mean()
    rows.append(
        {"figure": f"srtf slice {sl2.height} jobs vs 1-s ticks", "goal": "JCT within 1%",
         "measured_s": eng_s, "baseline_s": base_s, "ratio": base_s / eng_s,
         "ok": abs(jct - base_jct) <= 0.01 * base_jct, "jct_mean_s": jct,
         "baseline_jct_mean_s": base_jct, "peak_gb": max_rss_gb()}
    )  # fmt: skip
    report("replay", rows)
    print(f"lifetime peak RSS {max_rss_gb():.2f} GB; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
