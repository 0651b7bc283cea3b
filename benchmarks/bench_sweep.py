"""Sweep throughput: the 24-run grid of benchmarks/sweep_example.toml on the default sample.

The sample (PAI + Helios at ``--scale``, default :data:`tracekit.sample.DEFAULT_SCALE`) is
generated and ingested into a temporary store. Baseline: the same configs run one after another
in this process (``executor="sequential"``). Measured: the local process pool of
:func:`tracekit.replay.sweep.sweep` with one worker per core. Ratio = baseline / pool; the goal
is >= 1.5 on 2 idle cores (process start-up and shipping the slices are the overhead). The
per-job output digests of both runs must be identical.

Run: ``python -m benchmarks.bench_sweep [--scale S] [--workers N]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks._common import peak_rss, report
from tracekit.replay.sweep import configs_from_toml, sweep
from tracekit.reports import ensure_sample_store

EXAMPLE = Path(__file__).with_name("sweep_example.toml")


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print/append its figures."""
    from tracekit.sample import DEFAULT_SCALE

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=DEFAULT_SCALE)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        store = Path(tmp) / "store"
        t0 = time.perf_counter()
        ensure_sample_store(store, args.scale, 7, ["pai", "helios"])
        prep_s = time.perf_counter() - t0
        configs = configs_from_toml(EXAMPLE, store=store)
        with peak_rss() as mem_seq:
            t0 = time.perf_counter()
            seq = sweep(configs, "sequential", progress=False)
            seq_s = time.perf_counter() - t0
        with peak_rss() as mem_pool:
            t0 = time.perf_counter()
            pool = sweep(configs, workers=args.workers, progress=False)
            pool_s = time.perf_counter() - t0
    same = seq["digest"].to_list() == pool["digest"].to_list()
    ratio = seq_s / pool_s
    rows = [
        {
            "figure": f"sweep {len(configs)} runs, {args.workers} workers",
            "goal": ">=1.5x",
            "measured_s": pool_s,
            "baseline_s": seq_s,
            "ratio": ratio,
            "peak_gb": max(mem_seq["peak_gb"], mem_pool["peak_gb"]),
            "ok": bool(ratio >= 1.5 and same),
            "identical_digests": same,
            "scale": args.scale,
            "sample_prep_s": prep_s,
            "jobs_per_run": int(seq["jobs"].mean()),
            "load_avg_1m": os.getloadavg()[0],
        }
    ]
    report("sweep", rows)
    print(f"sample prep {prep_s:.1f} s; identical per-job digests: {same}; "
          f"1-min load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
