"""Run every benchmark, each in its own process (so peak-memory figures do not mix).

Usage: ``python -m benchmarks.run_all [--scale S] [--only helios,replay]``. Figures are printed and
appended to ``benchmarks/results/<topic>.json``; docs/benchmarks.md records the latest ones.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    """Run the benchmark modules found in this folder; return non-zero if any crashed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=None, help="passed to each benchmark")
    parser.add_argument("--only", default=None, help="comma-separated topics (bench_<topic>.py)")
    args = parser.parse_args()
    topics = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    if args.only:
        topics = [t for t in topics if t in args.only.split(",")]
    failed = []
    for topic in topics:
        cmd = [sys.executable, "-m", f"benchmarks.bench_{topic}"]
        if args.scale is not None:
            cmd += ["--scale", str(args.scale)]
        t0 = time.perf_counter()
        print(f"--- {topic}: {' '.join(cmd[1:])}", flush=True)
        if subprocess.run(cmd, cwd=HERE.parent).returncode != 0:
            failed.append(topic)
        print(f"--- {topic}: {time.perf_counter() - t0:.0f} s wall", flush=True)
    if failed:
        print(f"benchmarks that crashed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
