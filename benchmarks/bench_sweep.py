"""Sweep throughput on the default sample: the 24-run grid of benchmarks/sweep_example.toml, and
a 100-run grid on the compiled replay core beside the Python loops.

The sample (PAI + Helios at ``--scale``, default :data:`tracekit.sample.DEFAULT_SCALE`) is
generated and ingested into a temporary store. Baseline: the same configs run one after another
in this process (``executor="sequential"``). Measured: the local process pool of
:func:`tracekit.replay.sweep.sweep` with one worker per core. Ratio = baseline / pool; the goal
is >= 1.5 on 2 idle cores (process start-up and shipping the slices are the overhead). The
per-job output digests of both runs must be identical.

The 100-run grid (4 Helios clusters x FIFO/SJF/QSSF/SRTF/Tiresias x 5 predictor qualities, whole
GPUs) runs sequentially on the compiled core (the default) and again with ``core="python"`` in
the same process (the baseline; digests must be identical), then on the local pool.

Run: ``python -m benchmarks.bench_sweep [--scale S] [--workers N]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks._common import peak_rss, report
from tracekit.replay.sweep import SweepConfig, configs_from_toml, sweep
from tracekit.reports import ensure_sample_store

EXAMPLE = Path(__file__).with_name("sweep_example.toml")
GRID_100 = {
    "cluster": ("Venus", "Earth", "Saturn", "Uranus"),
    "policy": ("fifo", "sjf", "qssf", "srtf", "tiresias"),
    "predictor": ("oracle", "noisy:0.5", "noisy:1.0", "noisy:2.0", "noisy:4.0"),
}


def grid_100(store: Path) -> list[SweepConfig]:
    """The 100 whole-GPU configs of :data:`GRID_100` on the sample's Helios clusters."""
    return [
        SweepConfig("helios", cluster, policy, predictor, store=str(store))
        for cluster in GRID_100["cluster"]
        for policy in GRID_100["policy"]
        for predictor in GRID_100["predictor"]
    ]


def _timed_sweep(configs: list[SweepConfig], executor: Any = "sequential", **kw: Any) -> Any:
    t0 = time.perf_counter()
    out = sweep(configs, executor, progress=False, **kw)
    return time.perf_counter() - t0, out


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
            seq_s, seq = _timed_sweep(configs)
        with peak_rss() as mem_pool:
            pool_s, pool = _timed_sweep(configs, None, workers=args.workers)
        big = grid_100(store)
        load0 = os.getloadavg()[0]
        with peak_rss() as mem_big:
            fast_s, fast = _timed_sweep(big)
            slow_s, slow = _timed_sweep([replace(c, core="python") for c in big])
            big_pool_s, big_pool = _timed_sweep(big, None, workers=args.workers)
    same = seq["digest"].to_list() == pool["digest"].to_list()
    ratio = seq_s / pool_s
    big_same = fast["digest"].to_list() == slow["digest"].to_list() == big_pool["digest"].to_list()
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
        },
        {
            "figure": f"sweep {len(big)} runs, compiled vs python core",
            "goal": "faster",
            "measured_s": fast_s,
            "baseline_s": slow_s,
            "ratio": slow_s / fast_s,
            "pool_s": big_pool_s,
            "workers": args.workers,
            "compiled_rows": int((fast["core"] == "compiled").sum()),
            "peak_gb": mem_big["peak_gb"],
            "ok": bool(big_same and fast_s < slow_s),
            "identical_digests": big_same,
            "jobs_per_run": int(fast["jobs"].mean()),
            "replay_s_per_run": float(fast["wall_s"].mean()),
            "python_replay_s_per_run": float(slow["wall_s"].mean()),
            "load_avg_1m": [load0, os.getloadavg()[0]],
        },
    ]
    report("sweep", rows)
    print(f"sample prep {prep_s:.1f} s; identical per-job digests: {same} / {big_same}; "
          f"1-min load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
