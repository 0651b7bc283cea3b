"""Helios ingest at full size: 3.36 M jobs over 4 clusters, generated here.

Goal (issue 2): ingest <= 15 s at <= 3 GB peak RSS on the 2-core machine. Baseline: a plain pandas
``read_csv`` + ``to_parquet`` of the same files, run in the same process.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from benchmarks._common import peak_rss, report, timed
from tracekit.sources import helios
from tracekit.sources import ingest as ingest_trace

# Published job counts per cluster (HeliosData README; Hu et al., SC'21, Table 2).
JOBS = {"Venus": 246_708, "Earth": 872_886, "Saturn": 1_753_078, "Uranus": 490_309}
REAL_CAPACITY = (
    Path(__file__).resolve().parents[2] / "shared/real/helios/Venus/cluster_gpu_number.csv"
)


def make_log(n: int, seed: int) -> pl.DataFrame:
    """A Helios-format log of ``n`` jobs with realistic column shapes (vectorized)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2020-03-18T00:00:00")
    submit = start + np.sort(rng.integers(0, 190 * 86400, n)).astype("timedelta64[s]")
    queue = np.where(rng.random(n) < 0.7, 0, rng.exponential(600, n)).astype(np.int64)
    duration = rng.lognormal(5.5, 2.2, n).clip(0, 1.3e6).astype(np.int64)
    gpus = rng.choice([0, 1, 2, 4, 8, 16, 32], n, p=[0.5, 0.3, 0.06, 0.05, 0.06, 0.02, 0.01])
    state = rng.choice(
        ["COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL"],
        n,
        p=[0.75, 0.12, 0.1, 0.02, 0.01],
    )
    st = submit + queue.astype("timedelta64[s]")
    en = st + duration.astype("timedelta64[s]")
    return pl.DataFrame(
        {
            "job_id": np.arange(1_000_000, 1_000_000 + n).astype(str),
            "user": np.char.add("u", rng.integers(1000, 3000, n).astype(str)),
            "vc": np.char.add("vc", rng.integers(100, 125, n).astype(str)),
            "gpu_num": gpus,
            "cpu_num": np.maximum(gpus * 4, 1),
            "node_num": np.maximum(gpus // 8, 1),
            "state": state,
            "submit_time": submit.astype("datetime64[ms]"),
            "start_time": st.astype("datetime64[ms]"),
            "end_time": en.astype("datetime64[ms]"),
            "duration": duration,
            "queue": queue,
        }
    ).with_columns(
        pl.col(c).dt.strftime(helios.TIME_FORMAT) for c in ("submit_time", "start_time", "end_time")
    )


def write_input(root: Path, scale: float, seed: int) -> Path:
    """Write data/<Cluster>/cluster_log.csv (+ capacity) for all four clusters."""
    for i, (cluster, n) in enumerate(JOBS.items()):
        folder = root / "data" / cluster
        folder.mkdir(parents=True, exist_ok=True)
        make_log(int(n * scale), seed + i).write_csv(folder / helios.LOG_FILE)
        shutil.copy(REAL_CAPACITY, folder / helios.CAPACITY_FILE)
    return root


def pandas_baseline(root: Path, out: Path) -> None:
    """Straightforward pandas: read each CSV with parsed dates and write Parquet."""
    out.mkdir(parents=True, exist_ok=True)
    for cluster in JOBS:
        df = pd.read_csv(
            root / "data" / cluster / helios.LOG_FILE,
            parse_dates=["submit_time", "start_time", "end_time"],
        )
        df.to_parquet(out / f"{cluster}.parquet")


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = write_input(Path(tmp) / "raw", args.scale, args.seed)
        n = sum(int(v * args.scale) for v in JOBS.values())
        with peak_rss() as mem:
            t_ours, _ = timed(lambda: ingest_trace("helios", root, Path(tmp) / "store"))
        t_base, _ = timed(lambda: pandas_baseline(root, Path(tmp) / "pandas"))
    report(
        "helios_ingest",
        [
            {
                "figure": f"helios ingest, {n:,} jobs",
                "goal": "15 s, 3 GB",
                "measured_s": t_ours,
                "baseline_s": t_base,
                "ratio": t_base / t_ours,
                "peak_gb": mem["peak_gb"],
                "ok": t_ours <= 15 and mem["peak_gb"] <= 3,
                "scale": args.scale,
            }
        ],
    )


if __name__ == "__main__":
    main()
