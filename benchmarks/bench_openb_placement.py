"""openb placement study on the real trace: one workload-inflation run per placement to 100 % load.

Goal: FGD (the costly placement: it scores the feasible nodes and GPUs by the change in the
expected fragmentation of the whole workload) on the 1,523 real nodes and the production pods
within 30 s, through the replay (:mod:`tracekit.replay.studies.openb`). Baseline: the best-fit run
on the same draws, in the same process; every placement runs ``--repeat`` times, interleaved,
and the figure is the median CPU time (the machine's cores are shared); the ratio is baseline /
figure. The unallocated-GPU shares at 100 % load are printed with the timings (docs/openb.md
records them, with the comparison against the engine the study had before it became a replay
study).

The real files are read from ``shared/real/openb`` beside the repository (``--raw`` to point
elsewhere); they are not part of the repository.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import peak_rss, report
from tracekit import ingest, open_store
from tracekit.replay.studies import openb as study

GOAL_S = 30.0


def _real_openb() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        folder = parent / "shared" / "real" / "openb"
        if folder.is_dir():
            return folder
    return None


def _cpu(fn: Callable[[], Any]) -> tuple[float, Any]:
    """CPU seconds of ``fn()`` and its result."""
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 100 % load")
    parser.add_argument("--seed", type=int, default=study.DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--raw", type=Path, default=_real_openb())
    args = parser.parse_args()
    if args.raw is None:
        raise SystemExit("the real openb files were not found; pass --raw")
    seconds: dict[str, list[float]] = {p: [] for p in study.COMPARED}
    results: dict[str, study.InflationResult] = {}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        ingest("openb", args.raw, Path(tmp))
        store = open_store(tmp)
        machines = store.machines("openb", "default").collect()
        specs = store.scan("pod_specs", "openb", "default").collect()
        with peak_rss() as mem:
            for _ in range(args.repeat):
                for placement in study.COMPARED:
                    s, results[placement] = _cpu(
                        lambda p=placement: study.inflation(
                            machines, specs, p, max_load=args.scale, step=0.05, seed=args.seed
                        )
                    )
                    seconds[placement].append(s)
                loads.append(os.getloadavg()[0])
    base_s = statistics.median(seconds["best-fit"])
    rows = []
    for placement, result in results.items():
        last = result.curve.row(-1, named=True)
        measured = statistics.median(seconds[placement])
        rows.append(
            {
                "figure": f"openb {placement}, load {last['arrived_share']:.2f}",
                "goal": f"{GOAL_S:.0f} s" if placement == "fgd" else "",
                "measured_s": measured,
                "baseline_s": base_s,
                "ratio": base_s / measured,
                "peak_gb": mem["peak_gb"],
                "ok": measured <= GOAL_S,
                "unallocated_share": last["unallocated_share"],
                "fragmentation_rate": last["fragmentation_rate"],
                "pods": result.pods.height,
                "seed": args.seed,
                "cpu_s": seconds[placement],
                "load_avg_1m": max(loads),
            }
        )
    report("openb_placement", rows)
    for r in rows:
        print(f"{r['figure']:36} unallocated GPU share {100 * r['unallocated_share']:.2f} %")
    print(f"1-minute load average: {min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    main()
