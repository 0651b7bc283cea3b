"""openb placement study on the real trace: one workload-inflation run per policy to 100 % load.

Goal: an FGD run (the costly policy: it scores every feasible node and GPU by the change in the
expected fragmentation of the whole workload) on the 1,523 real nodes and the production pods
within 30 s. Baseline: the best-fit run on the same draws, in the same process; the ratio is
baseline time / FGD time. The unallocated-GPU shares at 100 % load are printed with the timings
(docs/openb.md records them).

The real files are read from ``shared/real/openb`` beside the repository (``--raw`` to point
elsewhere); they are not part of the repository.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from benchmarks._common import peak_rss, report, timed
from tracekit import ingest, open_store
from tracekit.analysis import openb_placement as op

GOAL_S = 30.0


def _real_openb() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        folder = parent / "shared" / "real" / "openb"
        if folder.is_dir():
            return folder
    return None


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 100 % load")
    parser.add_argument("--seed", type=int, default=op.DEFAULT_SEED)
    parser.add_argument("--raw", type=Path, default=_real_openb())
    args = parser.parse_args()
    if args.raw is None:
        raise SystemExit("the real openb files were not found; pass --raw")
    load = args.scale
    with tempfile.TemporaryDirectory() as tmp:
        ingest("openb", args.raw, Path(tmp))
        store = open_store(tmp)
        machines = store.machines("openb", "default").collect()
        specs = store.scan("pod_specs", "openb", "default").collect()
        runs = {}
        for policy in ("best-fit", "packing", "load-balancing"):
            runs[policy] = timed(
                lambda p=policy: op.simulate_inflation(
                    machines, specs, p, max_load=load, step=0.05, seed=args.seed
                )
            )
        with peak_rss() as mem:
            runs["fgd"] = timed(
                lambda: op.simulate_inflation(
                    machines, specs, "fgd", max_load=load, step=0.05, seed=args.seed
                )
            )
    load_1m = os.getloadavg()[0]
    rows = []
    base_s = runs["best-fit"][0]
    for policy, (seconds, result) in runs.items():
        last = result.curve.row(-1, named=True)
        rows.append(
            {
                "figure": f"openb {policy}, load {last['arrived_share']:.2f}",
                "goal": f"{GOAL_S:.0f} s" if policy == "fgd" else "",
                "measured_s": seconds,
                "baseline_s": base_s,
                "ratio": base_s / seconds,
                "peak_gb": mem["peak_gb"] if policy == "fgd" else float("nan"),
                "ok": seconds <= GOAL_S,
                "unallocated_share": last["unallocated_share"],
                "fragmentation_rate": last["fragmentation_rate"],
                "pods": result.placements.height,
                "seed": args.seed,
                "load_avg_1m": load_1m,
            }
        )
    report("openb_placement", rows)
    for r in rows:
        print(f"{r['figure']:40} unallocated GPU share {100 * r['unallocated_share']:.2f} %")
    print(f"1-minute load average at the end: {load_1m:.2f}")


if __name__ == "__main__":
    main()
