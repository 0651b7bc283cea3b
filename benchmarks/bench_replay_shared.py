"""Shared-GPU replay speed on a PAI-like trace: the compiled core beside the Python engine.

The trace (200 k jobs at ``--scale 1``) is generated here: fractional GPU requests (PAI's
0.25- and 0.5-GPU instances beside gangs of 1-8 GPUs), GPU types in the proportions of the
machine spec, log-normal durations and utilisations, times in whole milliseconds; the pool is
the one of the default PAI sample's machine spec (the real ``pai_machine_spec.csv``: 6,742
GPUs on 1,731 GPU machines of five types). Offered load is about 0.8 of the pool.

Policies, each replayed in ONE process on both cores: FIFO and QSSF with ``pack`` (requests
counted, PAI's scheduler), and Lucid (usage counted, pairs on a partner's GPUs). Figures are CPU
seconds of this process, median of ``--repeat`` runs per core, of the whole ``replay()`` call and
of its event loop alone (wall times printed beside them, with the 1-minute load average); the
per-job digests of both cores must be identical. Stated
apart: the shared loop's first compilation (in a child process with an empty cache folder) and
its loading from the cache (in a fresh child process).

Run: ``python -m benchmarks.bench_replay_shared [--scale S] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks._common import peak_rss, report
from tracekit.replay import GPUPool, ReplayResult, replay
from tracekit.replay.engines import shared_compiled, shared_gpu

SPEC = Path(__file__).resolve().parents[1] / "tracekit/sample/data/pai_machine_spec.csv"
#: Requests (GPUs) and their shares: PAI's fractional instances, then whole-GPU gangs.
REQUESTS = np.array([0.25, 0.5, 1.0, 2.0, 4.0, 8.0])
REQUEST_P = np.array([0.30, 0.30, 0.28, 0.06, 0.04, 0.02])
LOAD = 0.8
CONFIGS = (("fifo", {"placement": "pack"}), ("qssf", {"placement": "pack"}),
           ("lucid", {"placement": "pack"}))  # fmt: skip


def pai_pool() -> GPUPool:
    """The pool of the PAI machine spec: every GPU machine, grouped by GPU type."""
    spec = pl.read_csv(SPEC, has_header=False,
                       new_columns=["machine", "gpu_type", "cpu", "mem_gib", "gpus"])  # fmt: skip
    spec = spec.filter(pl.col("gpus") > 0)
    return GPUPool.from_dict({t: d["gpus"].to_list()
                              for (t,), d in spec.group_by("gpu_type", maintain_order=True)})


def generate(n: int, pool: GPUPool, seed: int = 3) -> pl.DataFrame:
    """``n`` PAI-like jobs offering about :data:`LOAD` of the pool (times in whole ms)."""
    rng = np.random.default_rng(seed)
    groups = pool.groups
    share = np.array([pool.gpus(g) for g in groups], dtype=float)
    group = rng.choice(groups, n, p=share / share.sum())
    gpus = rng.choice(REQUESTS, n, p=REQUEST_P)
    duration = np.rint(np.minimum(np.exp(rng.normal(6.5, 1.6, n)), 86400.0) * 1000) / 1000
    duration = np.maximum(duration, 1.0)
    util = np.rint(rng.beta(1.2, 1.8, n) * 1000) / 1000
    span_s = float((gpus * duration).sum()) / (LOAD * pool.gpus())
    submit = np.sort(np.rint(rng.uniform(0.0, span_s, n) * 1000) / 1000)
    pred = np.rint(duration * np.exp(rng.normal(0.0, 0.8, n)) * 1000) / 1000
    return pl.DataFrame({"job_id": [f"j{i}" for i in range(n)], "submit_time": submit,
                         "duration_s": duration, "num_gpus": gpus, "group": group,
                         "util": util, "pred_duration_s": pred})  # fmt: skip


def digest(res: ReplayResult) -> str:
    """Per-job digest of integers: times rounded to 1 µs, lowest rate to 1e-9."""
    import hashlib

    out = res.jobs.select(
        "job_id", "vc",
        *[(pl.col(c).fill_nan(None) * 1e6).round(0).cast(pl.Int64)
          for c in ("start_time", "end_time", "served_s")],
        (pl.col("min_rate") * 1e9).round(0).cast(pl.Int64), "max_jobs_on_gpu",
    )  # fmt: skip
    return hashlib.sha256(out.write_csv().encode()).hexdigest()[:16]


_LOOP_CPU_S: list[float] = []


def _timed(fn: Any) -> Any:
    """``fn`` that also appends its CPU seconds to ``_LOOP_CPU_S`` (the event loop proper)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        c0 = time.process_time()
        out = fn(*args, **kwargs)
        _LOOP_CPU_S.append(time.process_time() - c0)
        return out

    return run


def _cpu_run(fn: Any) -> tuple[float, float, Any]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - w0, out


_CHILD = (
    "import json, time\n"
    "import numpy as np, polars as pl\n"
    "from tracekit.replay import GPUPool, SlowdownModel\n"
    "from tracekit.replay.engines import compiled, shared_compiled as sc\n"
    "compiled._WARM = {}  # time the shared loop alone, not the whole-GPU kernels\n"
    "c0, w0 = time.process_time(), time.perf_counter()\n"
    "how = sc.warm_tiny()\n"
    "print(json.dumps({'how': how, 'cpu_s': time.process_time() - c0,\n"
    "                  'wall_s': time.perf_counter() - w0}))\n"
)


def _child(cache: str) -> dict[str, Any]:
    """Compile (empty ``cache`` folder) or load the shared loop in a fresh process."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 200 k jobs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = int(200_000 * args.scale)
    pool = pai_pool()
    jobs = generate(n, pool)
    print(f"{n:,} PAI-like jobs on {pool.gpus():,} GPUs ({', '.join(pool.groups)}); "
          f"1-min load {os.getloadavg()[0]:.2f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench_numba_") as tmp:
        first = _child(tmp)  # an empty cache folder: compiles and stores
        load = _child(tmp)  # a fresh process on that folder: loads
    assert first["how"] == "compiled" and load["how"] == "cache", (first, load)
    replay(jobs.head(100), pool, "fifo", core="compiled")  # this process compiles or loads
    # The event loops alone (both cores), timed inside replay(): the rest of the call
    # (validation, utilisation, ordering, output frame) is the same code on both.
    kernels = shared_compiled.kernels()
    kernels.shared_loop = _timed(kernels.shared_loop)
    shared_gpu.SharedEngine.run = _timed(shared_gpu.SharedEngine.run)  # type: ignore[method-assign]
    print(f"shared loop: first compilation {first['cpu_s']:.1f} CPU s ({first['wall_s']:.1f} s "
          f"wall, child process, empty cache); loading it from the cache {load['wall_s']:.2f} s "
          f"({load['how']}) in a fresh process")  # fmt: skip
    rows: list[dict[str, Any]] = [
        {"figure": "shared loop: first compilation", "measured_s": first["cpu_s"], "ok": True},
        {"figure": "shared loop: load from cache", "measured_s": load["wall_s"], "ok": True},
    ]
    for policy, options in CONFIGS:
        times: dict[str, list[tuple[float, float]]] = {"compiled": [], "python": []}
        loop_s: dict[str, list[float]] = {"compiled": [], "python": []}
        digests: dict[str, set[str]] = {"compiled": set(), "python": set()}
        loads = []
        with peak_rss() as peak:
            for _ in range(args.repeat):
                for core in ("compiled", "python"):
                    loads.append(os.getloadavg()[0])
                    cpu, wall, res = _cpu_run(lambda c=core, p=policy, o=options: replay(
                        jobs, pool, p, core=c, **o))  # fmt: skip
                    assert res.config["core"] == core
                    times[core].append((cpu, wall))
                    loop_s[core].append(_LOOP_CPU_S.pop())
                    digests[core].add(digest(res))
        same = digests["compiled"] == digests["python"] and len(digests["python"]) == 1
        cc = statistics.median(t[0] for t in times["compiled"])
        pc = statistics.median(t[0] for t in times["python"])
        cw = statistics.median(t[1] for t in times["compiled"])
        pw = statistics.median(t[1] for t in times["python"])
        cl, plp = statistics.median(loop_s["compiled"]), statistics.median(loop_s["python"])
        coloc = float(res.jobs["colocated"].mean())
        print(f"{policy:6} compiled {cc:.2f} CPU s ({cw:.2f} s wall), python {pc:.2f} CPU s "
              f"({pw:.2f} s wall): {pc / cc:.1f}x; event loops {cl:.2f} vs {plp:.2f} CPU s: "
              f"{plp / cl:.1f}x; digests identical: {same}; colocated {coloc:.0%}; load "
              f"{min(loads):.2f}-{max(loads):.2f}")  # fmt: skip
        rows.append({"figure": f"shared replay {policy} {n // 1000} k jobs", "goal": "",
                     "measured_s": cc, "baseline_s": pc, "ratio": pc / cc,
                     "peak_gb": peak["peak_gb"], "ok": same, "wall_s": cw,
                     "baseline_wall_s": pw, "loop_s": cl, "baseline_loop_s": plp,
                     "load": [min(loads), max(loads)]})  # fmt: skip
    report("replay_shared", rows)


if __name__ == "__main__":
    main()
