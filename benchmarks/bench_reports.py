"""``tracekit reports`` on the default sample: total time, the notebook stage, page weight.

Measured: :func:`tracekit.reports.run_all` from nothing (sample, ingest, predictors,
findings.csv, the notebooks two at a time, pages, PNGs, index) into a temporary folder; the goal
is <= 120 s on this machine. Baseline, in the same process on the same store: the notebooks and
pages again, one notebook at a time; ratio = baseline / the two-at-a-time notebook stage. Page
weight: the largest page against the 1.5 MB budget, and the bytes saved by loading plotly.js
once from ``assets/`` instead of embedding it in every page.

Run: ``python -m benchmarks.bench_reports``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks._common import peak_rss, report
from tracekit.reports import build_pages, run_all


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print/append its figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=None, help="sample scale (default: its own)")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_reports_") as tmp:
        root = Path(tmp)
        out = root / "reports"
        with peak_rss() as mem:
            t0 = time.perf_counter()
            timings = run_all(store=root / "store", out=out, raw=root / "raw",
                              sample_dir=root / "sample", scale=args.scale, quiet=True)
            total_s = time.perf_counter() - t0
        nb_s = sum(v for k, v in timings.items() if k.startswith("nb_"))
        t0 = time.perf_counter()
        build_pages(root / "store", out, workers=2)
        pair_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_pages(root / "store", out, workers=1)
        seq_s = time.perf_counter() - t0
        pages = sorted(p for p in out.glob("*.html") if p.name != "index.html")
        largest = max(p.stat().st_size for p in pages)
        plotly_js = (out / "assets" / "plotly.min.js").stat().st_size
        shared = sum(p.stat().st_size for p in pages) + plotly_js
        embedded = shared + plotly_js * (len(pages) - 1)
    rows = [
        {
            "figure": "reports: run_all from nothing",
            "goal": "<=120s",
            "measured_s": total_s,
            "peak_gb": mem["peak_gb"],
            "ok": total_s <= 120,
            "notebook_s_sum": nb_s,
            "steps_s": timings,
            "load_avg_1m": load0,
        },
        {
            "figure": "reports: notebooks 2 at a time",
            "goal": "ratio",
            "measured_s": pair_s,
            "baseline_s": seq_s,
            "ratio": seq_s / pair_s,
            "ok": True,
            "load_avg_1m": os.getloadavg()[0],
        },
        {
            "figure": "reports: largest page (MB)",
            "goal": "<=1.5MB",
            "measured_s": largest / 1e6,
            "baseline_s": embedded / len(pages) / 1e6,
            "ratio": embedded / shared,
            "ok": largest <= 1_500_000,
            "pages": len(pages),
        },
    ]
    report("reports", rows)
    print("(page row: measured = largest page in MB; baseline = mean page with plotly.js "
          f"embedded, MB; ratio = bytes embedded / bytes shared); load at start {load0:.1f}")


if __name__ == "__main__":
    main()
