"""Synthetic PAI sample generation: full size (1.06 M jobs, ~7.5 M instance rows) and a ratio.

Goal (issue 5): the default sample (scale 0.01-0.03) in a few seconds; full size in < 2 min.
Baseline: a straightforward pure-Python generator (``random`` + ``csv.writer``, one row at a
time) writing the same seven tables with the same row counts, run in the same process at
``--baseline-scale`` (pure Python at full size would take many minutes); the ratio compares
both at that scale.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks._common import peak_rss, report, timed
from tracekit.sample.pai import generate_pai
from tracekit.sources import pai as reader

STATUSES = ("Terminated", "Failed", "Running", "Waiting")
TYPES = ("MISC", "T4", "P100", "V100", "V100M32")


def python_baseline(out: Path, rows: dict[str, int], seed: int) -> None:
    """Write the seven PAI tables row by row in pure Python with the given row counts."""
    out.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)

    def hexid(n: int) -> str:
        return f"{rnd.getrandbits(4 * n):0{n}x}"

    def writer(name: str) -> tuple[csv.writer, object]:
        fh = open(out / f"{name}.csv", "w", newline="")  # noqa: SIM115 - closed below
        return csv.writer(fh, lineterminator="\n"), fh

    jobs = [(hexid(24), hexid(60), hexid(12)) for _ in range(rows[reader.JOB_TABLE])]
    w, fh = writer(reader.JOB_TABLE)
    for name, inst, user in jobs:
        t = float(rnd.randint(494_319, 5_764_719))
        w.writerow(
            [
                name,
                inst,
                user,
                rnd.choice(STATUSES),
                repr(t),
                repr(t + rnd.randint(1, 90_000)) if rnd.random() > 0.28 else "",
            ]
        )
    fh.close()
    tasks = []
    w, fh = writer(reader.TASK_TABLE)
    for _ in range(rows[reader.TASK_TABLE]):
        name, inst, user = rnd.choice(jobs)
        t = float(rnd.randint(494_319, 5_764_719))
        tasks.append((name, inst))
        cpu = rnd.random() < 0.18
        w.writerow(
            [
                name,
                "worker",
                "1.0",
                rnd.choice(STATUSES),
                repr(t),
                repr(t + 100.0),
                "600.0",
                "29.296875",
                "" if cpu else "50.0",
                "" if cpu else rnd.choice(TYPES),
            ]
        )
    fh.close()
    workers = []
    w, fh = writer(reader.INSTANCE_TABLE)
    for _ in range(rows[reader.INSTANCE_TABLE]):
        name, inst = rnd.choice(tasks)
        worker = hexid(60)
        workers.append((name, inst, worker))
        t = float(rnd.randint(494_319, 5_764_719))
        w.writerow(
            [
                name,
                "worker",
                hexid(60),
                worker,
                inst,
                rnd.choice(STATUSES),
                repr(t),
                repr(t + 100.0),
                hexid(24),
            ]
        )
    fh.close()
    w, fh = writer(reader.SENSOR_TABLE)
    for _ in range(rows[reader.SENSOR_TABLE]):
        name, inst, worker = rnd.choice(workers)
        w.writerow(
            [
                name,
                "worker",
                worker,
                inst,
                hexid(24),
                "/dev/nvidia0",
                *(repr(rnd.lognormvariate(1, 2)) for _ in range(10)),
            ]
        )
    fh.close()
    w, fh = writer(reader.GROUP_TAG_TABLE)
    for _ in range(rows[reader.GROUP_TAG_TABLE]):
        name, inst, user = rnd.choice(jobs)
        w.writerow([inst, user, "", hexid(32), ""])
    fh.close()
    w, fh = writer(reader.MACHINE_METRIC)
    for _ in range(rows[reader.MACHINE_METRIC]):
        _, _, worker = rnd.choice(workers)
        t = rnd.randint(494_319, 5_764_719)
        w.writerow([worker, hexid(24), t, t + 100, *(repr(rnd.random()) for _ in range(8))])
    fh.close()


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--baseline-scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # same-scale comparison against the pure-Python baseline
        cpu0 = time.process_time()
        t_small, summary = timed(lambda: generate_pai(root / "small", args.baseline_scale,
                                                      args.seed))  # fmt: skip
        cpu_small = time.process_time() - cpu0
        cpu0 = time.process_time()
        t_base, _ = timed(lambda: python_baseline(root / "base", summary["rows"], args.seed))
        cpu_base = time.process_time() - cpu0
        results.append({
            "figure": f"pai sample, scale {args.baseline_scale}",
            "goal": "few s",
            "measured_s": t_small,
            "baseline_s": t_base,
            "ratio": t_base / t_small,
            "cpu_s": cpu_small,
            "baseline_cpu_s": cpu_base,
            "ok": t_small <= 10,
            "scale": args.baseline_scale,
            "rows": summary["rows"],
        })  # fmt: skip
        shutil.rmtree(root / "small")
        shutil.rmtree(root / "base")
        cpu0 = time.process_time()  # CPU seconds of all threads: the fair figure under contention
        with peak_rss() as mem:
            t_full, full = timed(lambda: generate_pai(root / "full", args.scale, args.seed))
        cpu_full = time.process_time() - cpu0
        size_gb = sum(p.stat().st_size for p in (root / "full").iterdir()) / 1e9
        per_row = t_base / max(sum(summary["rows"].values()), 1)
        est_base = per_row * sum(full["rows"].values())
        results.append({
            "figure": f"pai sample, scale {args.scale} ({size_gb:.1f} GB)",
            "goal": "120 s",
            "measured_s": t_full,
            # pure Python is not run at full size; its per-row time at the small scale is
            # extrapolated linearly (stated in docs/sample_pai.md)
            "baseline_s": est_base,
            "ratio": est_base / t_full,
            "peak_gb": mem["peak_gb"],
            "cpu_s": cpu_full,
            "ok": t_full <= 120,
            "scale": args.scale,
            "baseline_extrapolated": True,
            "rows": full["rows"],
        })  # fmt: skip
    report("sample_pai", results)
    for r in results:
        wall, cpu = r["measured_s"], r["cpu_s"]
        print(f"{r['figure']}: CPU {cpu:.1f} s (all threads) for {wall:.1f} s wall")


if __name__ == "__main__":
    main()
