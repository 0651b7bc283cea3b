"""Synthetic Helios sample generation: full size (3.36 M jobs) and a ratio to a row writer.

Goal: the full-size Helios sample (four clusters, 3,362,981 jobs, their scheduling by the
replay engine included) in <= 60 s. Baseline: a straightforward pure-Python generator (``random`` +
``datetime.strftime`` + ``csv.writer``, one row at a time; it draws size, duration and status per
row but does no scheduling, groups or sessions, so it does *less* work) run in the same process
on a slice of ``--baseline-rows`` rows; its time is extrapolated linearly to the full row count.
A second row compares both at the same (small) scale.

Usage: ``python -m benchmarks.bench_sample [--scale S] [--baseline-rows N]``.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import random
import resource
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks._common import peak_rss, report, timed
from tracekit.sample import DEFAULT_SCALES, _targets
from tracekit.sample import generate as generate_sample

FULL_JOBS = sum(g + c for g, c in _targets.HELIOS_JOBS.values())


def python_baseline(out: Path, n_rows: int, seed: int = 0) -> None:
    """Write ``n_rows`` Helios-format rows per cluster share, one row at a time."""
    rnd = random.Random(seed)
    grid = list(_targets.DURATION_GRID_S)
    t0 = datetime(2020, 4, 1)
    total_full = FULL_JOBS
    for cluster, (n_gpu, n_cpu) in _targets.HELIOS_JOBS.items():
        n = max(1, round(n_rows * (n_gpu + n_cpu) / total_full))
        cdf = [c / 100 for c in _targets.HELIOS_GPU_DURATION_CDF[cluster]]
        size_cdf = [c / 100 for c in _targets.HELIOS_SIZE_CDF[cluster]]
        folder = out / "data" / cluster
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "cluster_log.csv", "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(
                ["job_id", "user", "vc", "gpu_num", "cpu_num", "node_num", "state",
                 "submit_time", "start_time", "end_time", "duration", "queue"]
            )  # fmt: skip
            for k in range(n):
                gpu = rnd.random() < n_gpu / (n_gpu + n_cpu)
                pick = bisect.bisect_left(size_cdf, rnd.random())
                size = _targets.SIZE_POINTS[pick] if gpu else 0
                i = min(bisect.bisect_left(cdf, rnd.random()), len(grid) - 1)
                dur = int(grid[i] * (0.5 + rnd.random() / 2))
                submit = t0 + timedelta(seconds=rnd.randrange(181 * 86_400))
                end = submit + timedelta(seconds=dur)
                state = rnd.choices(("COMPLETED", "CANCELLED", "FAILED"), (0.62, 0.22, 0.16))[0]
                w.writerow(
                    [1000 + k, f"u{rnd.randrange(10_000):04d}", f"vc{rnd.randrange(25):03d}",
                     size, max(1, size * 4), max(1, -(-size // 8)), state,
                     submit.strftime("%Y-%m-%d %H:%M:%S"), submit.strftime("%Y-%m-%d %H:%M:%S"),
                     end.strftime("%Y-%m-%d %H:%M:%S"), dur, 0]
                )  # fmt: skip


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished children (the workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    """Run the figures and print/record them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="Helios sample scale (1 = full)")
    parser.add_argument("--baseline-rows", type=int, default=200_000)
    parser.add_argument("--small-scale", type=float, default=DEFAULT_SCALES["helios"])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sample-") as tmp:
        root = Path(tmp)
        n_base = min(args.baseline_rows, round(FULL_JOBS * args.scale))
        base_s, _ = timed(lambda: python_baseline(root / "base", n_base))
        shutil.rmtree(root / "base")

        cpu0 = _cpu_s()
        with peak_rss() as mem:
            gen_s, summary = timed(
                lambda: generate_sample(root / "gen", traces=("helios",), scale=args.scale)
            )
        cpu_s = _cpu_s() - cpu0
        n_jobs = summary["helios"]["jobs"]
        shutil.rmtree(root / "gen")
        baseline_full = base_s * n_jobs / n_base
        rows.append(
            {
                "figure": f"helios sample, scale {args.scale:g} ({n_jobs / 1e6:.2f} M jobs)",
                "goal": "<=60 s" if args.scale >= 1 else "",
                "measured_s": gen_s,
                "baseline_s": baseline_full,
                "baseline_note": f"pure-Python row writer, {n_base:,} rows, extrapolated",
                "ratio": baseline_full / gen_s,
                # Parent's sampled peak, or the largest worker's (parallel clusters), if larger.
                "peak_gb": max(
                    mem["peak_gb"],
                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20,
                ),
                "cpu_s": round(cpu_s, 1),
                "rows": n_jobs,
                "ok": gen_s <= 60 if args.scale >= 1 else True,
            }
        )

        small_s, small = timed(
            lambda: generate_sample(root / "small", traces=("helios",), scale=args.small_scale)
        )
        n_small = small["helios"]["jobs"]
        small_base_s, _ = timed(lambda: python_baseline(root / "small_base", n_small))
        rows.append(
            {
                "figure": f"helios sample, scale {args.small_scale:g} ({n_small:,} jobs)",
                "goal": "",
                "measured_s": small_s,
                "baseline_s": small_base_s,
                "baseline_note": "pure-Python row writer, same row count",
                "ratio": small_base_s / small_s,
                "rows": n_small,
                "ok": True,
            }
        )
    report("sample", rows)
    print(f"full-size CPU time (all processes): {rows[0]['cpu_s']} s; wall time depends on load")


if __name__ == "__main__":
    main()
