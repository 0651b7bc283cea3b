"""Analysis functions on a full-size Helios-like store: 3.36 M jobs over 4 clusters, 181 days.

Goal (issue 7): every jobs-table analysis function <= 5 s, reading the store lazily (the Parquet
scan is included in each timing). Baselines: straightforward pandas versions of a few of them
(size mix, status shares, hourly arrivals, top-user shares, queue summary, per-minute allocation
by an event sweep with a minute reindex), run in the same process on a pandas frame already in
memory (so the baseline does not pay the Parquet read).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from benchmarks._common import peak_rss, report, timed
from tracekit import begin, open_store
from tracekit.analysis import (
    arrivals,
    failures,
    findings_table,
    jobs,
    queueing,
    summary,
    users,
    utilization,
)
from tracekit.analysis._synth import helios_like_capacity, helios_like_jobs

N_JOBS = 3_362_981
GOAL_S = 5.0


def build_store(path: Path, n: int, seed: int) -> None:
    """Write the generated jobs and capacity tables into a store at ``path``."""
    frame = helios_like_jobs(n, seed=seed)
    cap = helios_like_capacity()
    with begin(path, "helios") as tx:
        for cluster in frame["cluster"].unique().sort():
            part = frame.filter(pl.col("cluster") == cluster).drop("trace", "cluster")
            tx.write("jobs", cluster, part)
            tx.write("capacity", cluster, cap.filter(pl.col("cluster") == cluster)
                     .drop("trace", "cluster"))
            tx.set_meta(cluster, synthetic=True)


# ---- pandas baselines ----------------------------------------------------------------------------
def pd_size_pmf(df: pd.DataFrame) -> pd.DataFrame:
    g = df[df.num_gpus > 0].assign(gt=lambda d: d.num_gpus * d.duration_s)
    out = g.groupby(["cluster", "num_gpus"]).agg(n=("job_id", "size"), gt=("gt", "sum"))
    tot = out.groupby(level=0).transform("sum")
    return out / tot


def pd_status_shares(df: pd.DataFrame) -> pd.DataFrame:
    g = df[df.num_gpus > 0].assign(gt=lambda d: d.num_gpus * d.duration_s)
    out = g.groupby(["cluster", "status"]).agg(n=("job_id", "size"), gt=("gt", "sum"))
    return out / out.groupby(level=0).transform("sum")


def pd_by_hour(df: pd.DataFrame) -> pd.DataFrame:
    g = df[df.num_gpus > 0]
    local = g.submit_time.dt.tz_convert("Asia/Shanghai")
    counts = g.groupby([g.cluster, local.dt.hour]).size()
    days = g.groupby(g.cluster).apply(
        lambda d: (d.submit_time.max() - d.submit_time.min()).days + 1, include_groups=False
    )
    return counts / days.reindex(counts.index.get_level_values(0)).to_numpy()


def pd_top_share(df: pd.DataFrame) -> pd.Series:
    g = df[df.num_gpus > 0].assign(gt=lambda d: d.num_gpus * d.duration_s)
    per = g.groupby(["cluster", "user"]).gt.sum().sort_values(ascending=False)
    out = {}
    for cluster, s in per.groupby(level=0):
        share = s.cumsum() / s.sum()
        k = max(int(round(0.05 * len(s))), 1)
        out[cluster] = share.iloc[k - 1]
    return pd.Series(out)


def pd_queue_summary(df: pd.DataFrame) -> pd.DataFrame:
    g = df[df.num_gpus > 0]
    return g.groupby("cluster").queue_s.agg(["median", "mean", lambda s: s.quantile(0.9)])


def pd_allocation_minutes(df: pd.DataFrame, cap: pd.DataFrame) -> pd.DataFrame:
    g = df[(df.num_gpus > 0) & df.start_time.notna()]
    s = g.start_time.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).dt.floor("min")
    e = g.end_time.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).dt.floor("min")
    ev = pd.concat([
        pd.DataFrame({"cluster": g.cluster, "t": s, "d": g.num_gpus}),
        pd.DataFrame({"cluster": g.cluster, "t": e + pd.Timedelta(minutes=1), "d": -g.num_gpus}),
    ])
    minutes = pd.date_range("2020-04-01", "2020-09-28 23:59", freq="min")
    total = cap.groupby(["cluster", "date"]).num_gpus.sum()
    out = []
    for cluster, part in ev.groupby("cluster"):
        run = part.groupby("t").d.sum().sort_index().cumsum()
        run = run.reindex(run.index.union(minutes)).ffill().fillna(0).reindex(minutes)
        c = total.loc[cluster].reindex(pd.to_datetime(minutes.date)).to_numpy()
        out.append(pd.DataFrame({"cluster": cluster, "t": minutes,
                                 "util": np.minimum(run.to_numpy(), c) / c}))
    return pd.concat(out)


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = int(N_JOBS * args.scale)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store"
        build_store(path, n, args.seed)
        st = open_store(path)
        lf = st.scan("jobs")
        cap = st.scan("capacity")
        pdf = lf.collect().to_pandas()
        pcap = cap.collect().to_pandas()
        cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
            ("jobs.size_pmf (helios buckets)", lambda: jobs.size_pmf(lf, scheme="helios"), None),
            ("jobs.size_pmf (exact sizes)", lambda: jobs.size_pmf(lf),
             lambda: pd_size_pmf(pdf)),
            ("jobs.duration_cdf", lambda: jobs.duration_cdf(lf), None),
            ("jobs.duration_cdf_by_size", lambda: jobs.duration_cdf_by_size(lf), None),
            ("jobs.duration_cdf_by_status", lambda: jobs.duration_cdf_by_status(lf), None),
            ("jobs.duration_quantiles", lambda: jobs.duration_quantiles(lf), None),
            ("jobs.duration_summary", lambda: jobs.duration_summary(lf), None),
            ("jobs.size_duration_correlation", lambda: jobs.size_duration_correlation(lf), None),
            ("jobs.gpu_size_stats", lambda: jobs.gpu_size_stats(lf), None),
            ("users.top_share (GPU time)", lambda: users.top_share(lf),
             lambda: pd_top_share(pdf)),
            ("users.top_share (queue)", lambda: users.top_share(lf, "queue_s"), None),
            ("users.lorenz_curve", lambda: users.lorenz_curve(lf), None),
            ("users.gini", lambda: users.gini(lf), None),
            ("users.completion_rate_histogram", lambda: users.completion_rate_histogram(lf),
             None),
            ("arrivals.by_hour", lambda: arrivals.by_hour(lf), lambda: pd_by_hour(pdf)),
            ("arrivals.by_weekday", lambda: arrivals.by_weekday(lf), None),
            ("arrivals.hour_weekday", lambda: arrivals.hour_weekday(lf), None),
            ("arrivals.by_month", lambda: arrivals.by_month(lf), None),
            ("arrivals.burstiness", lambda: arrivals.burstiness(lf), None),
            ("arrivals.daily_quantiles", lambda: arrivals.daily_quantiles(lf), None),
            ("queueing.queue_summary", lambda: queueing.queue_summary(lf),
             lambda: pd_queue_summary(pdf)),
            ("queueing.queue_summary by VC",
             lambda: queueing.queue_summary(lf, ["trace", "cluster", "vc"]), None),
            ("queueing.queue_cdf by size", lambda: queueing.queue_cdf(lf, scheme="philly"),
             None),
            ("failures.status_shares", lambda: failures.status_shares(lf),
             lambda: pd_status_shares(pdf)),
            ("failures.status_by_size", lambda: failures.status_by_size(lf), None),
            ("failures.wasted_gpu_time", lambda: failures.wasted_gpu_time(lf), None),
            ("failures.time_to_failure", lambda: failures.time_to_failure(lf), None),
            ("summary.overview", lambda: summary.overview(lf), None),
            ("utilization.allocation_series 1h",
             lambda: utilization.allocation_series(lf, cap, freq="1h"), None),
            ("utilization.allocation_series 1m (official)",
             lambda: utilization.allocation_series(lf, cap, freq="1m"),
             lambda: pd_allocation_minutes(pdf, pcap)),
            ("utilization.allocation_series by VC 1h",
             lambda: utilization.allocation_series(lf, cap, by="vc", freq="1h"), None),
            ("utilization.allocation_series size_class 1h",
             lambda: utilization.allocation_series(lf, cap, by="size_class", freq="1h"), None),
            ("findings_table (helios, all ids)", lambda: findings_table(st), None),
        ]
        with peak_rss() as mem:
            for name, ours, base in cases:
                t_ours, _ = timed(ours)
                row: dict[str, Any] = {
                    "figure": f"{name}, {n / 1e6:.2f} M jobs",
                    "goal": f"{GOAL_S:.0f} s",
                    "measured_s": t_ours,
                    "ok": t_ours <= GOAL_S,
                    "scale": args.scale,
                }
                if base is not None:
                    t_base, _ = timed(base)
                    row |= {"baseline_s": t_base, "ratio": t_base / t_ours}
                rows.append(row)
                print(f"{name:50} {t_ours:7.2f} s", flush=True)
        for r in rows:
            r["peak_gb"] = mem["peak_gb"]
    report("analysis", rows)


if __name__ == "__main__":
    main()
