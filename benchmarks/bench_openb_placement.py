"""openb placement study on the real trace: one workload-inflation run per placement to 100 % load.

Goal: the study as a replay study (:mod:`tracekit.replay.studies.openb`, the shared-GPU engine
on nodes) is not slower than the previous stand-alone engine
(``tracekit.analysis.openb_placement``), placement by placement; FGD (the costly placement: it
scores every feasible node and GPU by the change in the expected fragmentation of the whole
workload) within 30 s. Both run in this process on the same draws, interleaved, ``--repeat``
times; the figure is the median CPU time (the machine's 2 cores are shared), and the ratio is
previous / new (above 1: the replay is faster). The unallocated-GPU shares at 100 % load are
printed with the timings (docs/openb.md records them).

The real files are read from ``shared/real/openb`` beside the repository (``--raw`` to point
elsewhere); they are not part of the repository.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._common import peak_rss, report
from tracekit import ingest, open_store
from tracekit.analysis import openb_placement as previous
from tracekit.replay.studies import openb as study

GOAL_S = 30.0


def _real_openb() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        folder = parent / "shared" / "real" / "openb"
        if folder.is_dir():
            return folder
    return None


def _cpu(fn):  # noqa: ANN001, ANN202 - a thunk and its result
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
    load = args.scale
    loads = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ingest("openb", args.raw, Path(tmp))
        store = open_store(tmp)
        machines = store.machines("openb", "default").collect()
        specs = store.scan("pod_specs", "openb", "default").collect()
        for placement in study.COMPARED:
            old_s, new_s = [], []
            with peak_rss() as mem:
                for _ in range(args.repeat):
                    s, old = _cpu(lambda p=placement: previous.simulate_inflation(
                        machines, specs, p, max_load=load, step=0.05, seed=args.seed))  # fmt: skip
                    old_s.append(s)
                    s, new = _cpu(lambda p=placement: study.inflation(
                        machines, specs, p, max_load=load, step=0.05, seed=args.seed))  # fmt: skip
                    new_s.append(s)
                    loads.append(os.getloadavg()[0])
            before, after = old.curve.row(-1, named=True), new.curve.row(-1, named=True)
            measured, baseline = statistics.median(new_s), statistics.median(old_s)
            same = old.placements["node"].to_list() == [
                None if x is None else int(x.rsplit("-", 1)[-1]) for x in new.pods["node"]
            ]  # node ids are openb-node-NNNN, numbered as the previous engine indexed them
            rows.append(
                {
                    "figure": f"openb {placement}, load {after['arrived_share']:.2f}",
                    "goal": f"{GOAL_S:.0f} s" if placement == "fgd" else "",
                    "measured_s": measured,
                    "baseline_s": baseline,
                    "ratio": baseline / measured,
                    "peak_gb": mem["peak_gb"],
                    "ok": measured <= baseline * 1.05 and measured <= GOAL_S,
                    "unallocated_share": after["unallocated_share"],
                    "previous_unallocated_share": before["unallocated_share"],
                    "fragmentation_rate": after["fragmentation_rate"],
                    "same_nodes_as_previous": same,
                    "pods": new.pods.height,
                    "seed": args.seed,
                    "cpu_s_new": new_s,
                    "cpu_s_previous": old_s,
                    "load_avg_1m": max(loads),
                }
            )
    report("openb_placement", rows)
    for r in rows:
        print(
            f"{r['figure']:36} unallocated GPU share {100 * r['unallocated_share']:.2f} % "
            f"(previous engine {100 * r['previous_unallocated_share']:.2f} %, same nodes: "
            f"{r['same_nodes_as_previous']})"
        )
    print(f"1-minute load average: {min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    main()
