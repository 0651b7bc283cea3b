"""Export speed: 1 M jobs of one cluster to each format (issue 20).

Goal: ``tracekit.export`` of 1 M jobs to each of ``helios``, ``philly-json``, ``swf``, ``openb``
and ``csv`` in <= 10 s (reading the store included). Inputs are generated here: 1 M Helios-like
jobs (``tracekit.analysis._synth``) in one cluster with per-VC capacity, and the same jobs as a
Philly-like partition with an ``attempts`` table (one attempt per GPU job on 8-GPU servers), so
``philly-json`` is timed both with synthesized and with stored attempts.

Baselines, in the same process, write the same files the plain way: pandas ``to_csv`` (helios,
openb, csv), ``json.dump`` of Python dicts (philly-json) and a Python line formatter (swf), each
from a pandas frame read from the store. Ratio = baseline / tracekit (> 1: tracekit faster).

Run: ``python -m benchmarks.bench_export [--scale S]`` (S = 1 is 1 M jobs).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import polars as pl

from benchmarks._common import peak_rss, report, timed
from tracekit import begin, export, open_store
from tracekit.analysis._synth import helios_like_capacity, helios_like_jobs

N_JOBS = 1_000_000
GOAL_S = 10.0
CLUSTER = "Venus"


def build_store(path: Path, n: int, seed: int = 0) -> None:
    """A Helios-like partition (jobs + capacity) and a Philly-like one (jobs + attempts)."""
    jobs = helios_like_jobs(n, seed=seed).drop("trace", "cluster")
    capacity = helios_like_capacity().filter(pl.col("cluster") == CLUSTER).drop("trace",
                                                                                "cluster")
    with begin(path, "helios") as tx:
        tx.write("jobs", CLUSTER, jobs)
        tx.write("capacity", CLUSTER, capacity)
        tx.set_meta(CLUSTER, synthetic=True, timezone="Asia/Shanghai")
    gpu = jobs.filter(pl.col("num_gpus") > 0)
    servers = (pl.col("num_gpus") / 8).ceil().cast(pl.Int64)
    slots = (
        gpu.select("job_id", "num_gpus", servers.alias("_n"),
                   pl.col("job_id").cast(pl.Int64).alias("_i"))
        .with_columns(pl.int_ranges(0, pl.col("num_gpus").cast(pl.Int64)).alias("_g"))
        .explode("_g")
        .with_columns((pl.lit("m") + ((pl.col("_i") + pl.col("_g") // 8) % 550)
                       .cast(pl.String)).alias("_m"))
        .with_columns((pl.col("_m") + "/gpu" + (pl.col("_g") % 8).cast(pl.String)).alias("_id"))
        .group_by("job_id", maintain_order=True)
        .agg(pl.col("_m").unique(maintain_order=True).alias("machines"),
             pl.col("_id").alias("gpus"))
    )  # fmt: skip
    attempts = gpu.select("job_id", "start_time", "end_time", "num_gpus").join(
        slots, on="job_id"
    ).select(
        "job_id", pl.lit(0, pl.Int32).alias("attempt"), "start_time", "end_time", "machines",
        "gpus", "num_gpus",
    )  # fmt: skip
    with begin(path, "philly") as tx:
        tx.write("jobs", "philly", jobs.with_columns(pl.lit(1, pl.Int32).alias("num_attempts")))
        tx.write("attempts", "philly", attempts)
        tx.set_meta("philly", synthetic=True, timezone="America/Los_Angeles")


# ---- baselines: the same files written the plain way ---------------------------------------------
def _local(frame: pd.DataFrame, col: str, tz: str) -> pd.Series:
    return frame[col].dt.tz_convert(tz).dt.strftime("%Y-%m-%d %H:%M:%S")


def base_helios(df: pd.DataFrame, out: Path) -> None:
    tz = "Asia/Shanghai"
    log = pd.DataFrame({
        "job_id": df.job_id, "user": df.user, "vc": df.vc,
        "gpu_num": df.num_gpus.fillna(0).apply(math.ceil), "cpu_num": df.num_cpus,
        "node_num": df.num_nodes, "state": df.raw_status,
        "submit_time": _local(df, "submit_time", tz), "start_time": _local(df, "start_time", tz),
        "end_time": _local(df, "end_time", tz), "duration": df.duration_s.round(),
        "queue": df.queue_s.round(),
    })  # fmt: skip
    log.to_csv(out / "cluster_log.csv", index=False)


def base_philly(df: pd.DataFrame, att: pd.DataFrame, out: Path) -> None:
    tz = "America/Los_Angeles"
    by_job: dict[str, list] = {}
    starts, ends = _local(att, "start_time", tz), _local(att, "end_time", tz)
    for job, start, end, machines, gpus in zip(att.job_id, starts, ends, att.machines, att.gpus,
                                               strict=True):
        detail = [{"ip": m, "gpus": [g.split("/")[1] for g in gpus if g.startswith(m + "/")]}
                  for m in machines]
        by_job.setdefault(job, []).append(
            {"start_time": start, "end_time": end, "detail": detail})
    submitted = _local(df, "submit_time", tz)
    records = [
        {"status": s, "vc": v, "jobid": j, "attempts": by_job.get(j, []),
         "submitted_time": t, "user": u}
        for j, s, v, t, u, g in zip(df.job_id, df.raw_status, df.vc, submitted, df.user,
                                    df.num_gpus, strict=True)
        if g != 0
    ]  # fmt: skip
    with open(out / "cluster_job_log", "w") as fh:
        json.dump(records, fh)


def base_swf(df: pd.DataFrame, out: Path) -> None:
    origin = df.submit_time.min()
    users: dict[str, int] = {}
    vcs = {v: i for i, v in enumerate(sorted(df.vc.dropna().unique()), start=1)}
    codes = {"completed": 1, "failed": 0, "canceled": 5}
    with open(out / "x.swf", "w") as fh:
        fh.write("; Version: 2.2\n")
        for i, (sub, q, d, g, st, u, v) in enumerate(zip(
            (df.submit_time - origin).dt.total_seconds(), df.queue_s, df.duration_s,
            df.num_gpus, df.status, df.user, df.vc, strict=True,
        ), start=1):  # fmt: skip
            if g == 0:
                continue
            p = math.ceil(g)
            uid = users.setdefault(u, len(users) + 1)
            fh.write(f"{i} {round(sub)} {round(q)} {round(d)} {p} -1 -1 {p} -1 -1 "
                     f"{codes.get(st, -1)} {uid} -1 -1 {vcs.get(v, -1)} -1 -1 -1\n")


def base_openb(df: pd.DataFrame, out: Path) -> None:
    origin = df.submit_time.min()
    pods = pd.DataFrame({
        "name": df.job_id, "cpu_milli": (df.num_cpus.fillna(0) * 1000).round(),
        "memory_mib": 0, "num_gpu": df.num_gpus.apply(math.ceil), "gpu_milli": 1000,
        "gpu_spec": "", "qos": "", "pod_phase": df.status,
        "creation_time": (df.submit_time - origin).dt.total_seconds().round(),
        "deletion_time": (df.end_time - origin).dt.total_seconds().round(),
        "scheduled_time": (df.start_time - origin).dt.total_seconds().round(),
    })  # fmt: skip
    pods.to_csv(out / "openb_pod_list.csv", index=False)


def base_csv(df: pd.DataFrame, out: Path) -> None:
    gpu = df[(df.num_gpus > 0) & df.duration_s.notna()]
    origin = gpu.submit_time.min()
    jobs = pd.DataFrame({
        "job_id": gpu.job_id, "vc": gpu.vc,
        "submit_time": (gpu.submit_time - origin).dt.total_seconds(),
        "duration": gpu.duration_s, "num_gpus": gpu.num_gpus.astype("int64"), "user": gpu.user,
    })  # fmt: skip
    jobs.to_csv(out / "jobs.csv", index=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    n = int(N_JOBS * args.scale)
    load = [os.getloadavg()[0]]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store_path = root / "store"
        build_store(store_path, n)
        store = open_store(store_path)
        cases = [("helios", "helios"), ("philly-json", "helios"), ("philly-json", "philly"),
                 ("swf", "helios"), ("openb", "helios"), ("csv", "helios")]
        for fmt, trace in cases:
            out = root / f"out-{fmt}-{trace}"
            cpu0 = time.process_time()
            with peak_rss() as peak:
                seconds, result = timed(lambda f=fmt, t=trace, o=out: export(
                    store, f, trace=t, out=o))  # fmt: skip
            cpu_s = time.process_time() - cpu0
            written = sum(result.files()["rows"])
            base_out = root / "base"
            shutil.rmtree(base_out, ignore_errors=True)
            base_out.mkdir()

            def baseline(f: str = fmt, t: str = trace, o: Path = base_out) -> None:
                df = store.read_pandas("jobs", t)
                if f == "helios":
                    base_helios(df, o)
                elif f == "philly-json":
                    base_philly(df, store.read_pandas("attempts", t), o)
                elif f == "swf":
                    base_swf(df, o)
                elif f == "openb":
                    base_openb(df, o)
                else:
                    base_csv(df, o)

            cpu0 = time.process_time()
            base_s, _ = timed(baseline)
            base_cpu_s = time.process_time() - cpu0
            label = f"{fmt} ({'stored' if trace == 'philly' else 'synthesized'} attempts)" \
                if fmt == "philly-json" else fmt
            rows.append({
                "figure": f"export {label}, {n:,} jobs", "goal": f"<= {GOAL_S:.0f} s",
                "measured_s": seconds, "cpu_s": round(cpu_s, 2), "baseline_s": base_s,
                "baseline_cpu_s": round(base_cpu_s, 2), "ratio": base_s / seconds,
                "peak_gb": peak["peak_gb"], "ok": seconds <= GOAL_S * max(args.scale, 1e-9),
                "rows_written": written,
            })  # fmt: skip
            shutil.rmtree(out, ignore_errors=True)
            load.append(os.getloadavg()[0])
    for r in rows:
        r["load_1min"] = f"{min(load):.1f}-{max(load):.1f}"
    report("export", rows)
    for r in rows:  # CPU seconds (all threads) are steadier than wall time on a shared machine
        print(f"{r['figure']:60} CPU {r['cpu_s']:6.2f} s (baseline {r['baseline_cpu_s']:6.2f} s)")
    print(f"1-minute load average during the run: {min(load):.1f} .. {max(load):.1f}")


if __name__ == "__main__":
    main()
