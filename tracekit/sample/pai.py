"""Synthetic Alibaba PAI (cluster-trace-gpu-v2020) sample written in the raw, headerless CSV format.

``generate_pai(out_dir, scale, seed)`` writes the seven ``pai_*.csv`` files plus their ``.header``
files and ``SYNTHETIC.json`` so that the PAI reader, the store, the analyses, prediction and
the replay run exactly the path real data takes. ``scale=1`` is full size (1.06 M jobs,
1.26 M tasks, 7.5 M instance rows); the default sample uses ~0.01-0.03. ``measure_pai(folder)``
computes the calibration statistics of a written folder the way the official analysis does.

Published calibration targets (hourly shape, GPU-type mix, runtime and wait by GPU type) are read
from ``tracekit/analysis/published/pai.csv``; the remaining constants are fits and guesses, each
commented; docs/sample_pai.md lists the targets next to the achieved values. Everything is
vectorized numpy; each table is written with polars (floats print as ``4550879.0``, missing
values as empty fields). All random draws come from one generator seeded by ``seed``, and
identifiers are a keyed hash of the row index, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from tracekit.analysis.findings import published_series, published_value
from tracekit.sample._common import group_noise_ceiling, rng_for, write_marker
from tracekit.sample._scheduler import schedule
from tracekit.sources.pai.formats import (
    CSV_SUFFIX,
    GROUP_TAG_TABLE,
    HEADER_SUFFIX,
    HEADERS,
    INSTANCE_TABLE,
    JOB_TABLE,
    MACHINE_METRIC,
    MACHINE_SPEC,
    RAW_TABLES,
    SENSOR_TABLE,
    STATUSES,
    TASK_GPU_TYPES,
    TASK_TABLE,
    TRACE,
)

GENERATOR_VERSION = "1.0"  # of this module; the marker also carries the framework's version
TRACE_INDEX = 3  # seed path: philly 1, helios 2, pai 3 (tracekit.sample convention)

# --- full-size volumes and calibration constants ------------------------------------------------
FULL_JOBS = 1_055_501
TIME_ORIGIN_S = 494_319  # smallest real start_time (1970-01-07 01:18:39+08:00, a Wednesday)
SPAN_S = 61 * 86_400
SHANGHAI_OFFSET_S = 8 * 3600
# Hourly task-submission shape, Asia/Shanghai, mean 1 (A11's hourly medians, normalized).
HOURLY_SHAPE = np.asarray(published_series("pai", "A11", "pai", "hour", "")["published"])
HOURLY_SHAPE = HOURLY_SHAPE / HOURLY_SHAPE.mean()
# Mild weekend dip (A12: "no dramatic weekend drop"), Mon..Sun.
WEEKDAY_SHAPE = np.array([1.04, 1.06, 1.06, 1.05, 1.02, 0.88, 0.89])

JOB_STATUS = STATUSES  # ("Terminated", "Failed", "Running", "Waiting"): codes 0..3 below
JOB_STATUS_SHARE = np.array([0.6938, 0.2431, 0.0596, 0.0035])
TASK_STATUS_SHARE = np.array([0.7019, 0.2036, 0.0916, 0.0029])
# Empty job end_time: all Running/Waiting, 78.5 % of Failed, 3.9 % of Terminated -> 28.1 % of rows.
EMPTY_END_FAILED = 0.785
EMPTY_END_TERMINATED = 0.0386

GPU_TYPES = TASK_GPU_TYPES  # ("MISC", "T4", "P100", "V100", "V100M32"): codes 0..4 below
# The digitized shares sum to 97.7 %; normalized where drawn.
GPU_TYPE_SHARE = np.array(
    [published_value("pai", "A4", "pai", "gpu_type_share_pct", gpu_type=t) / 100 for t in GPU_TYPES]
)
# Median runtime of completed tasks by type (A2) relative to 470 s, the all-type median of the
# mixture below (a fit).
GPU_TYPE_LOG_SHIFT = np.log(
    np.array(
        [
            published_value(
                "pai", "A2", "pai", "task_runtime_s", stat="median", gpu_type=t, status="completed"
            )
            for t in GPU_TYPES
        ]
    )
    / 470.0
)
# Task wait (instance start - task start) per GPU type (A5b): what the emerging waits are
# compared with. T4's (p50 3 s, p90 8 s), the type that hardly queues, is the start-up latency
# every task and independently launched instance takes (a lognormal through them).
WAIT_P50 = np.array(
    [
        published_value("pai", "A5b", "pai", "task_wait_s", gpu_type=t, stat="p50_s")
        for t in GPU_TYPES
    ]
)
WAIT_P90 = np.array(
    [
        published_value("pai", "A5b", "pai", "task_wait_s", gpu_type=t, stat="p90_s")
        for t in GPU_TYPES
    ]
)
LAUNCH_P50_S = float(WAIT_P50[GPU_TYPES.index("T4")])
LAUNCH_P90_S = float(WAIT_P90[GPU_TYPES.index("T4")])
# The scheduler that makes tasks wait: the replay engine on each GPU type's machines (its own
# partition), in tenths of a GPU (requests rounded up), first come first served with greedy
# skipping and best-fit placement, as PAI's reserving-and-packing scheduler (NSDI'22) and its
# simulator (alibaba/clusterdata) do: no preemption, a task that does not fit is passed over.
UNITS_PER_GPU = 10
SCHEDULER = {"policy": "fifo", "backfill": "greedy", "placement": "consolidate"}

# plan_gpu (% of one GPU per instance) for GPU roles: buckets <25 / [25,50) / [50,100) / =100 / >100
# = 14.3 / 26.0 / 12.8 / 42.3 / 2.4 % (A3, sums to 97.8 %; normalized), at the usual request sizes.
PLAN_GPU_VALUES = np.array(
    [5.0, 10.0, 20.0, 25.0, 30.0, 50.0, 60.0, 80.0, 100.0, 200.0, 400.0, 800.0]
)
PLAN_GPU_PROBS = np.array(
    [0.030, 0.050, 0.063, 0.220, 0.040, 0.110, 0.010, 0.008, 0.423, 0.012, 0.005, 0.007]
)
PLAN_CPU_VALUES = np.array([100.0, 200.0, 400.0, 600.0, 800.0, 1200.0, 1600.0, 2400.0, 4800.0])
PLAN_CPU_PROBS = np.array([0.10, 0.10, 0.25, 0.30, 0.10, 0.10, 0.03, 0.015, 0.005])
# plan_mem GB = cores x 5000 MB / 1024 x factor (so 600 -> 29.296875 as in the README example).
PLAN_MEM_FACTOR = np.array([0.5, 1.0, 1.0, 1.0, 2.0])

# Task roles. GPU roles carry plan_gpu and gpu_type; CPU roles leave both empty (not 0).
SINGLE_ROLES = (
    "tensorflow",
    "worker",
    "PyTorchWorker",
    "xComputeWorker",
    "OssToVolumeWorker",
    "OpenmpiWorker",
    "TVMTuneMain",
    "evaluator",
    "LeadingWorker",
)
SINGLE_ROLE_PROBS = np.array([0.29, 0.24, 0.15, 0.09, 0.11, 0.05, 0.02, 0.02, 0.03])
CPU_ROLES = frozenset({"ps", "OssToVolumeWorker"})
# Multi-task jobs: task-count probabilities and role layouts (first = ps, a CPU role, when present).
MULTI_TASK_SHARE = 0.155
MULTI_SIZES = np.array([2, 3, 4])
MULTI_SIZE_PROBS = np.array([0.80, 0.15, 0.05])
MULTI_LAYOUTS = {
    2: ((("ps", "worker"), 0.75), (("worker", "evaluator"), 0.15),
        (("LeadingWorker", "worker"), 0.10)),
    3: ((("ps", "worker", "evaluator"), 1.0),),
    4: ((("ps", "worker", "evaluator", "chief"), 1.0),),
}  # fmt: skip

# Instances per task: 1 with p=0.6, else 2 + floor(lognormal(1.75, 1.28)) -> mean ~6, tasks with
# >=100 instances hold ~13 % of instances (the notebook's CCDF). CPU roles get 1 + Poisson(0.7).
INST_P1, INST_MU, INST_SIGMA, INST_MAX = 0.6, 1.82, 1.3, 2000

# Task runtime: 3-component lognormal mixture on ln seconds (fitted to the notebook's CDF).
RUNTIME_MIX = np.array([[0.08, 3.48, 0.37], [0.81, 6.16, 2.10], [0.11, 9.10, 0.92]])
MAX_RUNTIME_S = 30 * 86_400
# Recurring groups: ln-duration noise around the group's duration. sigma 0.2 puts ~79 % of runs
# within +-25 % of the group median (A8: 78 % of instances within 25 % error).
RECUR_SIGMA = 0.2
RECUR_SHARE = 0.65  # share of jobs in groups with >= 5 runs (A8)
WORKLOADS = ("ctr", "graphlearn", "bert", "nmt", "resnet", "inception", "vgg", "xlnet")
WORKLOAD_SHARE = 0.095  # 3P: 9.78 % of tag rows
GPU_TYPE_SPEC_SHARE = 0.2  # share of jobs that requested a type explicitly (assumption)

N_USERS_FULL = 1_350
# Whole-GPU demand of the sample / GPUs of its machine pool: the pool is sized to the sampled
# load so a scheduling study has contention (a calibration choice, see docs/sample_pai.md).
TARGET_LOAD = 0.75
MAX_TASK_SHARE = 0.5  # largest GPU job of a scaled sample: this share of its type's GPUs
CAP_ROUNDS = 4  # rounds settling the largest jobs and the pool sized by them
USER_SIGMA = 1.9  # tasks/user lognormal sigma (A13: p90/p50 ~ 11)

# Sensor coverage: 3.03 M sensor rows / 7.52 M instance rows; machine metric 2.01 M rows.
SENSOR_SHARE = 0.41
METRIC_SHARE_OF_SENSOR = 0.66
GPU_ZERO_UTIL = 0.35  # A6c: 34.5 % of instances exactly 0
GPU_UTIL_FRAC_MU, GPU_UTIL_FRAC_SIGMA = np.log(0.09), 1.2  # usage / plan per task, when > 0

# Quirks at low rates (the real files' traps, docs/pai.md).
DUP_WORKER_RATE = 0.005  # a Failed try row before the retry, same worker_name
EMPTY_WORKER_RATE = 0.001
ZERO_START_FAILED_RATE = 0.002  # Failed instance rows with start_time 0 (never started)
TASK_NO_INSTANCE_RATE = 0.003  # tasks without any instance row
JOB_NO_TAG_RATE = (1_055_501 - 1_053_971) / 1_055_501
ORPHAN_TAG_RATE = (1_055_032 - 1_053_971) / 1_055_501
SENSOR_EMPTY_AVG_GPU_MEM = 5_829 / 3_033_232
SENSOR_EMPTY_MAX_GPU_MEM = 1_217 / 3_033_232
METRIC_EMPTY_RATE = 0.002

_CHUNK_ROWS = 1_000_000
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Two bytes (read as a little-endian uint16) -> their four hex characters, as one little-endian
# uint32 whose bytes are the characters in order: one table lookup per four output characters.
_V = np.arange(65_536, dtype=np.uint32)
_HEX_QUADS = (
    _HEX[(_V & 255) >> 4].astype(np.uint32)
    | (_HEX[_V & 15].astype(np.uint32) << 8)
    | (_HEX[_V >> 12].astype(np.uint32) << 16)
    | (_HEX[(_V >> 8) & 15].astype(np.uint32) << 24)
).astype("<u4")
del _V


# --------------------------------------------------------------------------------------------
# identifiers
# --------------------------------------------------------------------------------------------
def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer: a bijection on uint64, used as a keyed hash of row indices."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def hex_ids(index: np.ndarray, salt: int, n_hex: int) -> pa.Array:
    """Lowercase hex identifiers of ``n_hex`` characters for integer ``index`` values.

    The first 16 characters are a bijection of ``index`` for a given ``salt``, so ids of
    16 or more characters never collide; shorter ids (users) are checked by the caller.
    """
    if n_hex % 4:
        raise ValueError(f"n_hex must be a multiple of 4, got {n_hex}")
    idx = np.asarray(index, dtype=np.uint64)
    n_words = -(-n_hex // 16)
    words = np.empty((idx.size, n_words), dtype=">u8")
    base = _splitmix64(np.full(1, salt, dtype=np.uint64))[0]
    first = _splitmix64(idx ^ base)
    words[:, 0] = first
    for w in range(1, n_words):
        words[:, w] = _splitmix64(first + np.uint64(w))
    pairs = words.view("<u2").reshape(idx.size, 4 * n_words)[:, : n_hex // 4]
    # np.take on intp indices is markedly faster than fancy indexing with uint16 indices
    data = np.take(_HEX_QUADS, pairs.astype(np.intp)).view(np.uint8).reshape(-1)
    offsets = np.arange(0, (idx.size + 1) * n_hex, n_hex, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(idx.size, pa.py_buffer(offsets), pa.py_buffer(data))


def _ids(index: np.ndarray, salt: int, n_hex: int, missing: np.ndarray | None = None) -> pl.Series:
    """``hex_ids`` as a polars string Series, null where ``missing`` is True."""
    s = pl.Series(hex_ids(index, salt, n_hex)).cast(pl.String)
    if missing is not None and missing.any():
        s = pl.select(pl.when(pl.Series(missing)).then(None).otherwise(s)).to_series()
    return s


def _categorical(values: tuple[str, ...] | np.ndarray, codes: np.ndarray) -> pl.Series:
    """Strings ``values[codes]``; code -1 becomes null (an empty CSV field)."""
    lut = pl.Series([*values, None], dtype=pl.String)
    return lut.gather(np.where(codes < 0, len(values), codes).astype(np.int64))


def _times(t: np.ndarray) -> pl.Series:
    """Seconds as Float64 (printed ``4550879.0``); NaN becomes null (empty field)."""
    return pl.Series(t, dtype=pl.Float64, nan_to_null=True)


# --------------------------------------------------------------------------------------------
# machines
# --------------------------------------------------------------------------------------------
# Exact configurations of the real spec in file order, for the fallback.
_SPEC_CONFIGS = (("CPU", 96, 512, 0, 83), ("T4", 96, 512, 2, 497), ("MISC", 96, 512, 8, 280),
                 ("P100", 64, 512, 2, 798), ("V100", 96, 384, 8, 45), ("V100", 96, 512, 8, 59),
                 ("V100M32", 96, 384, 8, 135))  # fmt: skip


def _bundled_machine_spec() -> Path | None:
    """The real ``pai_machine_spec.csv`` shipped as package data, when present.

    Looked up in ``tracekit/sample/data/`` and then ``tracekit/data/``.
    """
    name = f"{MACHINE_SPEC}{CSV_SUFFIX}"
    for package, sub in (("tracekit.sample", "data"), ("tracekit", "data")):
        try:
            path = Path(str(resources.files(package).joinpath(sub, name)))
        except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - broken install
            continue
        if path.is_file():
            return path
    return None


def _keep_machines(
    out: Path, machines: pl.DataFrame, pool_gpus: dict[str, float], biggest: dict[str, float]
) -> pl.DataFrame:
    """Rewrite the spec with the first machines of each type, in file order: each GPU type keeps
    the GPUs ``pool_gpus`` gives it (at least one machine, and enough for its largest job in
    ``biggest``); CPU-only machines are kept in the proportion the GPUs are, so a scheduling
    study on the sample has contention."""
    target = out / f"{MACHINE_SPEC}{CSV_SUFFIX}"
    lines = target.read_bytes().splitlines(keepends=True)
    share = sum(pool_gpus.values()) / max(float(machines["cap_gpu"].sum()), 1.0)
    gpus = pl.col("gpu_type").replace_strict(pool_gpus, default=0.0, return_dtype=pl.Float64)
    need = pl.col("gpu_type").replace_strict(biggest, default=0.0, return_dtype=pl.Float64)
    per_machine = pl.col("cap_gpu").clip(1)
    wanted = pl.when(pl.col("cap_gpu") > 0).then((gpus / per_machine).ceil().cast(pl.Int64))
    wanted = wanted.otherwise((pl.col("_n") * share).round().cast(pl.Int64))
    rank = machines.with_row_index("_i").with_columns(
        pl.int_range(pl.len()).over("gpu_type").alias("_k"),
        pl.len().over("gpu_type").alias("_n"),
    )
    keep = rank.filter(
        pl.col("_k") < pl.max_horizontal(pl.lit(1), wanted, (need / per_machine).ceil())
    )["_i"].to_list()
    target.write_bytes(b"".join(lines[i] for i in keep))
    return machines[keep]


def _write_machine_spec(out: Path, source: Path | None, seed: int) -> pl.DataFrame:
    """Copy the real machine spec byte for byte, or rebuild its exact configuration mix."""
    target = out / f"{MACHINE_SPEC}{CSV_SUFFIX}"
    if source is not None:
        shutil.copyfile(source, target)
    else:
        # Same 1,897 machines, types, capacities and order as the real file; ids are synthetic.
        rows = [(t, c, m, g) for t, c, m, g, n in _SPEC_CONFIGS for _ in range(n)]
        ids = _ids(np.arange(len(rows)), seed ^ 0x5EC, 24)
        pl.DataFrame({
            "machine": ids,
            "gpu_type": [r[0] for r in rows],
            "cap_cpu": pl.Series([r[1] for r in rows], dtype=pl.Int64),
            "cap_mem": pl.Series([r[2] for r in rows], dtype=pl.Int64),
            "cap_gpu": pl.Series([r[3] for r in rows], dtype=pl.Int64),
        }).write_csv(target, include_header=False)  # fmt: skip
    return pl.read_csv(
        target,
        has_header=False,
        new_columns=list(HEADERS[MACHINE_SPEC]),
        schema_overrides={"machine": pl.String, "gpu_type": pl.String},
    )


# --------------------------------------------------------------------------------------------
# the synthetic population
# --------------------------------------------------------------------------------------------
def _arrivals(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` submission times: hour/weekday shape times gamma noise per day and per hour.

    The gamma multipliers make arrivals over-dispersed (a plain Poisson process underestimates
    burstiness by an order of magnitude).
    """
    first_hour = TIME_ORIGIN_S // 3600
    hours = np.arange(first_hour, (TIME_ORIGIN_S + SPAN_S) // 3600 + 1, dtype=np.int64)
    local = hours * 3600 + SHANGHAI_OFFSET_S
    hod = (local // 3600) % 24
    dow = ((local // 86_400) + 3) % 7  # 1970-01-01 was a Thursday -> Monday = 0
    day = (hours - first_hour) // 24
    daily = rng.gamma(12.0, 1 / 12.0, size=int(day.max()) + 1)
    weight = HOURLY_SHAPE[hod] * WEEKDAY_SHAPE[dow] * daily[day] * rng.gamma(4.0, 0.25, hours.size)
    counts = rng.multinomial(n, weight / weight.sum())
    start = np.repeat(hours * 3600, counts) + rng.integers(0, 3600, size=n)
    start = np.clip(start, TIME_ORIGIN_S, TIME_ORIGIN_S + SPAN_S)
    start[np.argmin(start)] = TIME_ORIGIN_S  # the real trace's earliest start
    return np.sort(start).astype(np.float64)


def _group_sizes(rng: np.random.Generator, n_jobs: int) -> np.ndarray:
    """Sizes of recurring (>= 5 runs) and small (1-4 runs) groups summing to ``n_jobs``."""
    n_rec = int(round(RECUR_SHARE * n_jobs)) if n_jobs >= 20 else 0
    cap = max(5, n_jobs // 25)
    rec = 5 + np.minimum(np.floor(np.exp(rng.normal(np.log(6.0), 1.2, n_rec // 5 + 2))), cap - 5)
    rec = rec.astype(np.int64)
    rec = rec[: int(np.searchsorted(np.cumsum(rec), n_rec)) + 1]
    if rec.size:
        rec[-1] -= max(0, int(rec.sum()) - n_rec)
    small = rng.choice(np.array([1, 2, 3, 4]), p=[0.72, 0.15, 0.08, 0.05], size=n_jobs)
    small = small[: int(np.searchsorted(np.cumsum(small), n_jobs - rec.sum())) + 1]
    small[-1] -= int(small.sum() + rec.sum()) - n_jobs
    sizes = np.concatenate([rec, small])
    return sizes[sizes > 0]


@dataclass
class _Groups:
    """Group templates: task layout, resources and duration shared by all runs of a group."""

    user: np.ndarray
    recurring: np.ndarray  # bool
    gpu_type: np.ndarray  # int8 index into GPU_TYPES
    log_dur: np.ndarray  # group median ln seconds
    workload: np.ndarray  # int8 index into WORKLOADS or -1
    spec: np.ndarray  # bool: gpu_type_spec set
    task_start: np.ndarray  # int64 offsets into the task-slot arrays (len G + 1)
    role: np.ndarray  # per slot: role string
    primary: np.ndarray  # per slot: bool, the slot that fails in a Failed job
    inst_num: np.ndarray  # per slot: int64
    plan_gpu: np.ndarray  # per slot: float64, NaN for CPU roles
    plan_cpu: np.ndarray
    plan_mem: np.ndarray


def _mixture_log_runtime(rng: np.random.Generator, n: int) -> np.ndarray:
    comp = rng.choice(RUNTIME_MIX.shape[0], p=RUNTIME_MIX[:, 0], size=n)
    return rng.normal(RUNTIME_MIX[comp, 1], RUNTIME_MIX[comp, 2])


def _groups(rng: np.random.Generator, sizes: np.ndarray, n_users: int) -> _Groups:
    g = sizes.size
    user_w = np.exp(rng.normal(0.0, USER_SIGMA, n_users))
    user = rng.choice(n_users, p=user_w / user_w.sum(), size=g)
    n_tasks = np.where(
        rng.random(g) < MULTI_TASK_SHARE, rng.choice(MULTI_SIZES, p=MULTI_SIZE_PROBS, size=g), 1
    )
    single = rng.choice(len(SINGLE_ROLES), p=SINGLE_ROLE_PROBS, size=g)
    layout_u = rng.random(g)
    # Every layout (single roles first, then the multi-task ones) as a row of a padded table;
    # a group's layout id picks its row, then its slots read the first n_tasks entries.
    layouts: list[tuple[str, ...]] = [(r,) for r in SINGLE_ROLES]
    layout_id = single.astype(np.int64)
    for k, options in MULTI_LAYOUTS.items():
        acc = np.cumsum([p for _, p in options])
        pick = np.minimum(np.searchsorted(acc, layout_u, side="right"), len(options) - 1)
        layout_id = np.where(n_tasks == k, len(layouts) + pick, layout_id)
        layouts.extend(layout for layout, _ in options)
    width = max(len(x) for x in layouts)
    table = np.array([(*x, *([""] * (width - len(x)))) for x in layouts])
    pos = np.arange(int(n_tasks.sum())) - np.repeat(np.cumsum(n_tasks) - n_tasks, n_tasks)
    role = table[np.repeat(layout_id, n_tasks), pos]
    task_start = np.concatenate([[0], np.cumsum(n_tasks)])
    n_slots = int(task_start[-1])
    is_cpu = np.isin(role, list(CPU_ROLES))
    slot_group = np.repeat(np.arange(g), n_tasks)
    first_gpu = np.full(g, -1, dtype=np.int64)
    gpu_slots = np.flatnonzero(~is_cpu)
    first_gpu[slot_group[gpu_slots[::-1]]] = gpu_slots[::-1]
    primary = np.zeros(n_slots, dtype=bool)
    primary[np.where(first_gpu >= 0, first_gpu, task_start[:-1])] = True

    big = rng.random(n_slots) >= INST_P1
    tail = 2 + np.floor(np.exp(rng.normal(INST_MU, INST_SIGMA, n_slots)))
    inst_num = np.where(big, np.minimum(tail, INST_MAX), 1).astype(np.int64)
    inst_num[is_cpu] = 1 + rng.poisson(0.7, int(is_cpu.sum()))
    type_p = GPU_TYPE_SHARE / GPU_TYPE_SHARE.sum()
    gpu_type = rng.choice(len(GPU_TYPES), p=type_p, size=g).astype(np.int8)
    plan_gpu = rng.choice(PLAN_GPU_VALUES, p=PLAN_GPU_PROBS / PLAN_GPU_PROBS.sum(), size=n_slots)
    two_gpu_box = np.isin(gpu_type[slot_group], [1, 2])  # T4 / P100 machines hold 2 GPUs
    plan_gpu = np.where(two_gpu_box & (plan_gpu > 200), 200.0, plan_gpu)
    plan_gpu[is_cpu] = np.nan
    plan_cpu = rng.choice(PLAN_CPU_VALUES, p=PLAN_CPU_PROBS, size=n_slots)
    plan_mem = plan_cpu / 100 * 5000 / 1024 * rng.choice(PLAN_MEM_FACTOR, size=n_slots)
    log_dur = _mixture_log_runtime(rng, g) + GPU_TYPE_LOG_SHIFT[gpu_type]
    workload = np.where(rng.random(g) < WORKLOAD_SHARE, rng.integers(0, len(WORKLOADS), g), -1)
    return _Groups(
        user=user, recurring=sizes >= 5, gpu_type=gpu_type, log_dur=log_dur,
        workload=workload.astype(np.int8), spec=rng.random(g) < GPU_TYPE_SPEC_SHARE,
        task_start=task_start, role=role, primary=primary, inst_num=inst_num,
        plan_gpu=plan_gpu, plan_cpu=plan_cpu, plan_mem=plan_mem,
    )  # fmt: skip


def _status_given_tasks(n_tasks: np.ndarray) -> np.ndarray:
    """P(job status | single- or multi-task job), so that job AND task shares hit their targets.

    Tasks inherit the job status except that a Failed job has one Failed task and its other
    tasks Terminated; Waiting jobs are single-task. Running is therefore tilted towards
    multi-task jobs (task Running share 9.2 % vs job 6.0 %).
    """
    multi = n_tasks > 1
    f = multi.mean()
    m2 = n_tasks[multi].mean() if multi.any() else 2.0
    t = n_tasks.mean()
    pi, tau = JOB_STATUS_SHARE, TASK_STATUS_SHARE
    b_run = np.clip((tau[2] * t - pi[2]) / max(f * (m2 - 1), 1e-9), 0, 0.6)
    a_run = np.clip((pi[2] - f * b_run) / max(1 - f, 1e-9), 0, 1)
    single = np.array([0.0, pi[1], a_run, pi[3] / max(1 - f, 1e-9)])
    multi_p = np.array([0.0, pi[1], b_run, 0.0])
    single[0], multi_p[0] = 1 - single[1:].sum(), 1 - multi_p[1:].sum()
    return np.where(multi[:, None], multi_p[None, :], single[None, :])


def _segment_max(values: np.ndarray, owner: np.ndarray, n_owners: int) -> np.ndarray:
    """Max of ``values`` per owner for a sorted ``owner`` array; -1 for owners without values."""
    out = np.full(n_owners, -1.0)
    if values.size:
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        out[owner[starts]] = np.maximum.reduceat(values, starts)
    return out


def _type_demand(
    task_gpus: np.ndarray,
    runtime_s: np.ndarray,
    t_job: np.ndarray,
    idle: np.ndarray,
    job_type: np.ndarray,
) -> np.ndarray:
    """Mean whole-GPU demand per GPU type, as a replay sees the jobs: a job holds the ceiling of
    its tasks' summed GPUs while its longest task runs (``idle`` tasks hold nothing)."""
    n_jobs = job_type.size
    job_gpus = np.bincount(t_job, np.where(idle, 0.0, task_gpus), n_jobs)
    job_s = _segment_max(np.where(idle, 0.0, runtime_s), t_job, n_jobs).clip(0)
    return np.bincount(job_type, np.ceil(job_gpus) * job_s, len(GPU_TYPES)) / SPAN_S


def _launch_latency(rng: np.random.Generator, n: int) -> np.ndarray:
    """Start-up latency (s) of ``n`` tasks or instances: lognormal through T4's published median
    and p90 wait, the type that hardly queues (A5b)."""
    sigma = np.log(LAUNCH_P90_S / LAUNCH_P50_S) / 1.2816
    return np.exp(rng.normal(np.log(LAUNCH_P50_S), sigma, n))


def _schedule_tasks(
    ready_s: np.ndarray,
    units: np.ndarray,
    runtime_s: np.ndarray,
    gpu_type: np.ndarray,
    machines: pl.DataFrame,
    seed: int,
) -> np.ndarray:
    """Start times of GPU tasks scheduled by the replay engine on the machines of their GPU type
    (one partition per type, :data:`UNITS_PER_GPU` units per GPU, :data:`SCHEDULER`)."""
    counts = machines.filter(pl.col("cap_gpu") > 0).group_by("gpu_type").agg(
        pl.len().alias("n"), pl.col("cap_gpu").max().alias("gpus")
    )  # fmt: skip
    cluster = {
        t: (int(n), int(g) * UNITS_PER_GPU)
        for t, n, g in counts.select("gpu_type", "n", "gpus").iter_rows()
    }
    names = np.asarray(GPU_TYPES)[gpu_type]
    # A task larger than its type's machines (the full trace has gangs of 2,000 instances, not
    # all started together) holds them all while it runs.
    whole = np.array([cluster.get(t, (0, 0))[0] * cluster.get(t, (0, 0))[1] for t in GPU_TYPES])
    units = np.minimum(units, whole[gpu_type])
    return schedule(ready_s, units, runtime_s, names, cluster, seed=seed, **SCHEDULER).start


def _draw_status(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    u = rng.random(probs.shape[0])
    return (u[:, None] >= np.cumsum(probs, axis=1)[:, :-1]).sum(axis=1).astype(np.int8)


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------
def _write(df: pl.DataFrame, out: Path, table: str, append: bool = False) -> None:
    """Headerless CSV in header order, LF line ends, nulls as empty fields.

    Polars quotes only fields containing a separator or quote, which never occur here; an
    empty *string* would be written as ``""``, so every missing value is a null instead.
    """
    with open(out / f"{table}{CSV_SUFFIX}", "ab" if append else "wb") as fh:
        df.select(HEADERS[table]).write_csv(fh, include_header=False)


def _write_headers(out: Path) -> None:
    """The seven one-line ``.header`` files, exactly as the official ones (LF-terminated)."""
    for name in RAW_TABLES:
        cols = HEADERS[name]
        (out / f"{name}{HEADER_SUFFIX}").write_bytes((",".join(cols) + "\n").encode())


def generate_pai(
    out_dir: Path, scale: float, seed: int, machine_spec: Path | None = None
) -> dict[str, Any]:
    """Write a calibrated synthetic PAI trace in the raw format into ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        Target folder (``<out>/pai/``); created if missing. Existing PAI files are overwritten.
    scale : float
        Fraction of the real trace size; 1.0 = 1,055,501 jobs (>= 20 jobs are always written).
    seed : int
        Seed of every random draw; the same seed and scale give byte-identical files.
    machine_spec : Path, optional
        Real ``pai_machine_spec.csv`` to copy as-is. Default: the copy shipped as package data
        (``tracekit/sample/data/`` or ``tracekit/data/``); if absent, a rebuild with the real
        file's exact configurations and order but synthetic machine ids.

    Returns
    -------
    dict
        ``rows`` (table -> rows written), ``files``, ``seed``, ``scale``, ``machine_spec``
        (``"real"`` or ``"rebuilt"``) and ``noise_ceiling`` (an oracle knowing each recurring
        group's mean log duration, on Terminated tasks; see docs/sample_pai.md).
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = rng_for(seed, TRACE_INDEX)
    salts = {k: int(v) for k, v in zip(
        ("job", "inst", "user", "group", "worker", "iname", "orphan"),
        rng.integers(0, 2**62, size=7), strict=True)}  # fmt: skip
    _write_headers(out)
    spec_src = machine_spec if machine_spec is not None else _bundled_machine_spec()
    machines = _write_machine_spec(out, spec_src, int(seed))

    n_jobs = max(20, int(round(FULL_JOBS * scale)))
    n_users = max(20, int(round(N_USERS_FULL * min(scale, 1.0) ** 0.5)))
    sizes = _group_sizes(rng, n_jobs)
    grp = _groups(rng, sizes, n_users)
    job_group = np.repeat(np.arange(sizes.size), sizes)[rng.permutation(n_jobs)]
    submit = _arrivals(rng, n_jobs)
    n_tasks_job = np.diff(grp.task_start)[job_group]
    status = _draw_status(rng, _status_given_tasks(n_tasks_job))

    # ---- tasks: one row per (job, template slot)
    t_job = np.repeat(np.arange(n_jobs), n_tasks_job)
    t_slot = grp.task_start[job_group][t_job] + (
        np.arange(t_job.size) - np.repeat(np.cumsum(n_tasks_job) - n_tasks_job, n_tasks_job)
    )
    n_t = t_job.size
    t_status = status[t_job].copy()
    failed_job = status[t_job] == 1
    t_status[failed_job & ~grp.primary[t_slot]] = 0  # the other tasks of a Failed job ended
    t_type = grp.gpu_type[job_group][t_job].astype(np.int64)
    t_cpu = np.isnan(grp.plan_gpu[t_slot])
    waiting = t_status == 3
    # Duration: recurring groups repeat the group median with small noise; others draw afresh.
    rec = grp.recurring[job_group]
    job_log = np.where(
        rec,
        grp.log_dur[job_group] + rng.normal(0, RECUR_SIGMA, n_jobs),
        _mixture_log_runtime(rng, n_jobs) + GPU_TYPE_LOG_SHIFT[grp.gpu_type[job_group]],
    )
    t_log = job_log[t_job] + rng.normal(0, 0.02, n_t)
    runtime = np.clip(np.round(np.exp(t_log)), 1, MAX_RUNTIME_S)
    early = np.maximum(1, np.round(runtime * rng.uniform(0.02, 0.8, n_t)))
    runtime = np.where(t_status == 1, early, runtime)  # failures end early
    t_start = np.where(waiting, 0.0, submit[t_job])

    # ---- instances per task
    inst_num = grp.inst_num[t_slot]
    # GPUs an instance holds in the scheduler: its request rounded up to whole units.
    plan = np.ceil(np.nan_to_num(grp.plan_gpu[t_slot]) / 100.0 * UNITS_PER_GPU) / UNITS_PER_GPU
    if scale < 1:
        # A scaled machine pool cannot run the largest gangs: a job's GPU tasks keep at most
        # the instances that fit MAX_TASK_SHARE of its type's pool (the type's demand at
        # TARGET_LOAD, as sized below), each task shrinking by the same factor. The pool
        # depends on the shrunk jobs, so a few rounds settle both.
        per_machine = machines.group_by("gpu_type").agg(pl.col("cap_gpu").max())
        per_machine = dict(zip(per_machine["gpu_type"], per_machine["cap_gpu"], strict=True))
        machine_gpus = np.array([float(per_machine.get(t, 1)) for t in GPU_TYPES])
        job_type = grp.gpu_type[job_group]
        job_req = np.bincount(t_job, np.where(t_cpu, 0.0, plan * inst_num), n_jobs)
        full = inst_num
        for _ in range(CAP_ROUNDS):
            pool_est = _type_demand(plan * inst_num, runtime, t_job, t_cpu | waiting, job_type)
            job_cap = MAX_TASK_SHARE * np.maximum(pool_est / TARGET_LOAD, machine_gpus)[job_type]
            factor = np.minimum(1.0, job_cap / np.maximum(job_req, 1e-9))[t_job]
            shrunk = np.maximum(np.floor(full * factor), 1)
            inst_num = np.where(plan > 0, shrunk, full).astype(grp.inst_num.dtype)
    t_units = np.round(plan * UNITS_PER_GPU).astype(np.int64) * inst_num.astype(np.int64)

    # The machine pool follows the sampled load: a subset of the spec, in its proportions.
    if scale < 1:
        # Whole-GPU demand of the jobs per GPU type, as a replay sees them: a job holds the
        # ceiling of its summed request while its longest task runs. Each type gets its own
        # demand / TARGET_LOAD (the sample's mix of types is calibrated by task counts, not by
        # GPU time, so the real spec's proportions would leave one type overloaded and the
        # others idle), and enough machines for its largest job (its tasks share a type).
        job_type = grp.gpu_type[job_group]
        demand = _type_demand(t_units / UNITS_PER_GPU, runtime, t_job, t_cpu | waiting, job_type)
        pool = {t: float(demand[k]) / TARGET_LOAD for k, t in enumerate(GPU_TYPES)}
        job_gpus = np.bincount(t_job, t_units / UNITS_PER_GPU, n_jobs)
        biggest = {
            GPU_TYPES[k]: float(np.ceil(job_gpus[job_type == k]).max(initial=0.0))
            for k in range(len(GPU_TYPES))
        }
        machines = _keep_machines(out, machines, pool, biggest)

    # Task waits emerge: every GPU task reaches the scheduler after its start-up latency and
    # waits for room on its type's machines; a CPU task (ps) starts with its job's GPU tasks.
    launch = _launch_latency(rng, n_t)
    gpu_task = ~t_cpu & ~waiting & (t_units > 0)
    wait = launch.copy()
    if gpu_task.any():
        wait[gpu_task] = _schedule_tasks(
            submit[t_job][gpu_task] + launch[gpu_task], t_units[gpu_task], runtime[gpu_task],
            t_type[gpu_task], machines, seed,
        ) - submit[t_job][gpu_task]  # fmt: skip
        first_gpu_wait = np.full(n_jobs, np.inf)
        np.minimum.at(first_gpu_wait, t_job[gpu_task], wait[gpu_task])
        ps = t_cpu & np.isfinite(first_gpu_wait[t_job])
        wait[ps] = first_gpu_wait[t_job][ps]
    wait = np.round(wait)

    # ---- instances (numeric), before quirks
    no_inst = (rng.random(n_t) < TASK_NO_INSTANCE_RATE) & ~waiting
    i_task = np.repeat(np.arange(n_t), np.where(no_inst, 0, inst_num))
    n_i = i_task.size
    first = np.ones(n_i, dtype=bool)
    first[1:] = i_task[1:] != i_task[:-1]
    gang = rng.random(n_t) < 0.85  # 85 % of instances gang-scheduled (SEC)
    # Instances launched on their own (not gang-scheduled) each take a start-up latency.
    extra = np.where(gang[i_task], rng.integers(0, 3, n_i), np.round(_launch_latency(rng, n_i)))
    extra[first] = 0  # the earliest instance defines the task wait
    i_start = t_start[i_task] + wait[i_task] + extra
    i_run = np.maximum(1.0, np.round(runtime[i_task] * np.exp(rng.normal(0, 0.03, n_i))))
    i_end = i_start + i_run
    i_status = t_status[i_task].copy()
    i_fail = t_status[i_task] == 1
    i_status[i_fail & (rng.random(n_i) < 0.3)] = 0  # some instances of a failed task finished
    running_i = i_status == 2
    i_end[running_i] = np.nan
    waiting_i = t_status[i_task] == 3
    i_start[waiting_i] = 0.0
    i_end[waiting_i] = 0.0
    zero_start = (i_status == 1) & (rng.random(n_i) < ZERO_START_FAILED_RATE)
    i_start[zero_start] = 0.0

    # task times from instances: end = latest instance end (official get_dfia uses the same)
    t_end_max = _segment_max(np.where(np.isnan(i_end), -1.0, i_end), i_task, n_t)
    t_end = np.where(t_end_max > 0, t_end_max, np.nan)
    no_row_end = no_inst & (t_status != 2)
    t_end[no_row_end] = t_start[no_row_end] + runtime[no_row_end]
    t_end[(t_status == 2) | waiting] = np.nan

    # job end = latest task end; empty for censored jobs and many Failed jobs (trap 27)
    j_end_max = _segment_max(np.where(np.isnan(t_end), -1.0, t_end), t_job, n_jobs)
    j_end = np.where(j_end_max > 0, j_end_max, np.nan)
    u = rng.random(n_jobs)
    j_end[
        (status >= 2)
        | ((status == 1) & (u < EMPTY_END_FAILED))
        | ((status == 0) & (u < EMPTY_END_TERMINATED))
    ] = np.nan

    rows: dict[str, int] = {MACHINE_SPEC: machines.height}

    # machines: instances of a task go to machines of its gpu_type; CPU roles share the job's
    # GPU machines (co-located ps) or go to CPU machines when the job has no GPU task
    m_type = machines["gpu_type"].to_numpy()
    m_cap = machines["cap_gpu"].to_numpy().astype(np.int64)
    pools = [np.flatnonzero(m_type == t) for t in (*GPU_TYPES, "CPU")]
    job_has_gpu = np.zeros(n_jobs, dtype=bool)
    job_has_gpu[t_job[~t_cpu]] = True
    t_pool = np.where(t_cpu & ~job_has_gpu[t_job], len(GPU_TYPES), t_type)
    pool_size = np.array([p.size for p in pools])
    pool_off = np.concatenate([[0], np.cumsum(pool_size)])
    flat_pool = np.concatenate(pools)
    ip = t_pool[i_task]
    i_machine = flat_pool[pool_off[ip] + (rng.random(n_i) * pool_size[ip]).astype(np.int64)]
    i_machine[waiting_i] = -1

    # ---- duplicate worker rows (a Failed try, then the retry) and empty worker names
    started = (i_start > 0) & ~waiting_i
    dup = started & (rng.random(n_i) < DUP_WORKER_RATE) & (i_run > 10)
    fail_len = np.maximum(1.0, np.round(i_run * rng.uniform(0.05, 0.5, n_i)))
    # the retry starts right after the failed try; the task's earliest start is unchanged
    retry_start = i_start + fail_len + rng.integers(1, 60, n_i)
    i_start2 = np.where(
        dup, np.minimum(retry_start, np.where(np.isnan(i_end), np.inf, i_end) - 1), i_start
    )
    # rows: each duplicated instance gets its failed try first, then the retry (no sort needed)
    reps = 1 + dup.astype(np.int64)
    row_inst = np.repeat(np.arange(n_i), reps)
    row_dup = np.zeros(row_inst.size, dtype=bool)
    row_dup[(np.cumsum(reps) - reps)[dup]] = True
    r_start = np.where(row_dup, i_start[row_inst], i_start2[row_inst])
    r_end = np.where(row_dup, i_start[row_inst] + fail_len[row_inst], i_end[row_inst])
    r_status = np.where(row_dup, 1, i_status[row_inst]).astype(np.int64)
    empty_worker = rng.random(n_i) < EMPTY_WORKER_RATE

    # ---- write job table
    jobs_df = pl.DataFrame({
        "job_name": _ids(np.arange(n_jobs), salts["job"], 24),
        "inst_id": _ids(np.arange(n_jobs), salts["inst"], 60),
        "user": _ids(grp.user[job_group], salts["user"], 12),
        "status": _categorical(JOB_STATUS, status.astype(np.int64)),
        "start_time": _times(submit),
        "end_time": _times(j_end),
    })  # fmt: skip
    if jobs_df["user"].n_unique() != np.unique(grp.user[job_group]).size:  # 48-bit collision
        raise RuntimeError("user id collision; choose another seed")
    _write(jobs_df, out, JOB_TABLE)
    rows[JOB_TABLE] = n_jobs

    # ---- task table
    gpu_type_code = np.where(t_cpu | waiting, -1, t_type)
    # role strings via codes: building a Series from a numpy unicode array is slow
    role_names, role_code = np.unique(grp.role, return_inverse=True)
    role_s = _categorical(tuple(role_names.tolist()), role_code[t_slot].astype(np.int64))
    tasks_df = pl.DataFrame({
        "job_name": jobs_df["job_name"].gather(t_job),
        "task_name": role_s,
        "inst_num": pl.Series(inst_num.astype(np.float64)),
        "status": _categorical(JOB_STATUS, t_status.astype(np.int64)),
        "start_time": _times(t_start),
        "end_time": _times(t_end),
        "plan_cpu": pl.Series(grp.plan_cpu[t_slot]),
        "plan_mem": pl.Series(grp.plan_mem[t_slot]),
        "plan_gpu": _times(grp.plan_gpu[t_slot]),
        "gpu_type": _categorical(GPU_TYPES, gpu_type_code),
    })  # fmt: skip
    _write(tasks_df, out, TASK_TABLE)
    rows[TASK_TABLE] = n_t

    # ---- group tags: one row per job except a few, plus a few orphan rows (as in the real table)
    has_tag = rng.random(n_jobs) >= JOB_NO_TAG_RATE
    n_orphan = int(rng.binomial(n_jobs, ORPHAN_TAG_RATE))
    tag_job = np.flatnonzero(has_tag)
    spec_code = np.where(grp.spec[job_group] & (status != 3), grp.gpu_type[job_group], -1)
    tags = pl.DataFrame({
        "inst_id": pl.concat([jobs_df["inst_id"].gather(tag_job),
                              _ids(np.arange(n_orphan), salts["orphan"], 60)]),
        "user": pl.concat([jobs_df["user"].gather(tag_job),
                           _ids(rng.integers(0, n_users, n_orphan), salts["user"], 12)]),
        "gpu_type_spec": _categorical(GPU_TYPES, np.concatenate(
            [spec_code[tag_job], np.full(n_orphan, -1)]).astype(np.int64)),
        "group": _ids(np.concatenate([job_group[tag_job], sizes.size + np.arange(n_orphan)]),
                      salts["group"], 32),
        "workload": _categorical(WORKLOADS, np.concatenate(
            [grp.workload[job_group][tag_job], np.full(n_orphan, -1)]).astype(np.int64)),
    })  # fmt: skip
    tags = tags[rng.permutation(tags.height)]
    _write(tags, out, GROUP_TAG_TABLE)
    rows[GROUP_TAG_TABLE] = tags.height

    # ---- sensor and machine-metric values, drawn only for the instances that get a row
    n_rows = row_inst.size
    pick = (~empty_worker) & started & (rng.random(n_i) < SENSOR_SHARE)
    s_inst = np.flatnonzero(pick)  # sensor row k describes instance s_inst[k]
    sensor_pos = np.full(n_i, -1, dtype=np.int64)
    sensor_pos[s_inst] = np.arange(s_inst.size)
    n_s = s_inst.size
    s_task = i_task[s_inst]
    s_gpu = ~t_cpu[s_task]
    # GPU usage: a task-level usage/plan fraction (gang workers behave alike) with small
    # per-instance jitter; 35 % of instances exactly 0 (A6c). Gives plan > usage for ~98 %.
    task_frac = np.exp(rng.normal(GPU_UTIL_FRAC_MU, GPU_UTIL_FRAC_SIGMA, n_t))
    plan = grp.plan_gpu[t_slot][s_task]
    util = plan * task_frac[s_task] * np.exp(rng.normal(0, 0.2, n_s))
    util = np.minimum(util, np.maximum(plan, 100) * 1.5)
    util = np.where(rng.random(n_s) < GPU_ZERO_UTIL, 0.0, util)
    util[~s_gpu] = np.nan
    s_machine = i_machine[s_inst]
    cap_gpu_s = np.where(s_machine >= 0, m_cap[np.maximum(s_machine, 0)], 0)
    dev = (rng.random(n_s) * np.maximum(cap_gpu_s, 1)).astype(np.int64)
    dev[(cap_gpu_s == 0) | ~s_gpu] = -1
    sensor = {
        "cpu_usage": grp.plan_cpu[t_slot][s_task] * np.exp(rng.normal(np.log(0.45), 0.9, n_s)),
        "gpu_wrk_util": util,
        "avg_mem": grp.plan_mem[t_slot][s_task] * np.exp(rng.normal(np.log(0.3), 0.7, n_s)),
        "avg_gpu_wrk_mem": np.where(s_gpu, np.minimum(
            np.exp(rng.normal(np.log(1.5), 1.0, n_s)), 30.0), np.nan),
        # bytes; the notebook's 8*read/1024**3 "Gbps" then has p10/p50/p90 ~0.02/0.29/5.5 (A14)
        "read": np.exp(rng.normal(np.log(0.29 * 1024**3 / 8), 2.3, n_s)),
        "write": np.exp(rng.normal(np.log(0.2 * 1024**3 / 8), 2.3, n_s)),
        "read_count": np.exp(rng.normal(np.log(3000.0), 1.5, n_s)),
        "write_count": np.exp(rng.normal(np.log(3000.0), 1.5, n_s)),
    }  # fmt: skip
    sensor["max_mem"] = sensor["avg_mem"] * (1 + rng.exponential(0.3, n_s))
    sensor["max_gpu_wrk_mem"] = sensor["avg_gpu_wrk_mem"] * (1 + rng.exponential(0.3, n_s))
    sensor["avg_gpu_wrk_mem"][rng.random(n_s) < SENSOR_EMPTY_AVG_GPU_MEM] = np.nan
    sensor["max_gpu_wrk_mem"][rng.random(n_s) < SENSOR_EMPTY_MAX_GPU_MEM] = np.nan

    # machine metric: a subset of the sensored instances (2.01 M of 3.03 M rows)
    m_sel = rng.random(n_s) < METRIC_SHARE_OF_SENSOR
    metric_pos = np.full(n_i, -1, dtype=np.int64)
    metric_pos[s_inst[m_sel]] = np.arange(int(m_sel.sum()))
    n_m = int(m_sel.sum())
    cap_gpu_m = cap_gpu_s[m_sel]
    usr = np.exp(rng.normal(np.log(31.0), 0.35, n_m))  # A14: usr median ~31 %, p90 ~49 %
    kern = np.exp(rng.normal(np.log(9.0), 0.5, n_m))
    # iowait median 0.003 %; floored at 1e-4 because below that polars prints ``1.5e-7`` where
    # Python/pandas print ``1.5e-07`` (the floor touches ~0.03 % of rows)
    iow = np.maximum(np.exp(rng.normal(np.log(0.003), 1.0, n_m)), 1e-4)
    metric = {
        "machine_cpu_iowait": iow,
        "machine_cpu_kernel": kern,
        "machine_cpu_usr": usr,
        "machine_gpu": np.where(cap_gpu_m > 0, np.minimum(100 * cap_gpu_m, np.exp(
            rng.normal(np.log(60.0), 1.0, n_m))), np.nan),
        "machine_load_1": np.exp(rng.normal(np.log(20.0), 0.6, n_m)),
        "machine_net_receive": np.exp(rng.normal(np.log(1e8), 1.5, n_m)),
        "machine_num_worker": 1 + np.exp(rng.normal(np.log(4.0), 0.8, n_m)),
        "machine_cpu": iow + kern + usr,
    }  # fmt: skip
    for col in ("machine_gpu", "machine_net_receive", "machine_load_1"):
        metric[col][rng.random(n_m) < METRIC_EMPTY_RATE] = np.nan

    job_names = jobs_df["job_name"]
    inst_ids = jobs_df["inst_id"]
    machine_ids = machines["machine"]
    rows.update({INSTANCE_TABLE: 0, SENSOR_TABLE: 0, MACHINE_METRIC: 0})
    for lo in range(0, max(n_rows, 1), _CHUNK_ROWS):
        sl = slice(lo, min(n_rows, lo + _CHUNK_ROWS))
        ri = row_inst[sl]
        rd = row_dup[sl]
        ti = i_task[ri]
        worker = _ids(ri, salts["worker"], 60, missing=empty_worker[ri])
        mach = np.where(i_machine[ri] >= 0, i_machine[ri], machines.height)
        machine_col = pl.concat([machine_ids, pl.Series([None], dtype=pl.String)]).gather(mach)
        inst_df = pl.DataFrame({
            "job_name": job_names.gather(t_job[ti]),
            "task_name": role_s.gather(ti),
            "inst_name": _ids(ri, salts["iname"], 60),
            "worker_name": worker,
            "inst_id": inst_ids.gather(t_job[ti]),
            "status": _categorical(JOB_STATUS, r_status[sl]),
            "start_time": _times(r_start[sl]),
            "end_time": _times(r_end[sl]),
            "machine": machine_col,
        })  # fmt: skip
        _write(inst_df, out, INSTANCE_TABLE, append=lo > 0)
        rows[INSTANCE_TABLE] += inst_df.height

        keep = ~rd & (sensor_pos[ri] >= 0)  # one sensor row per instance, on its final row
        sub = inst_df.filter(pl.Series(keep))
        si = sensor_pos[ri[keep]]
        sens_df = pl.DataFrame({
            "job_name": sub["job_name"], "task_name": sub["task_name"],
            "worker_name": sub["worker_name"], "inst_id": sub["inst_id"],
            "machine": sub["machine"],
            "gpu_name": pl.Series([f"/dev/nvidia{k}" for k in range(8)] + [None],
                                  dtype=pl.String).gather(np.where(dev[si] < 0, 8, dev[si])),
            **{k: _times(v[si]) for k, v in sensor.items()},
        })  # fmt: skip
        _write(sens_df, out, SENSOR_TABLE, append=lo > 0)
        rows[SENSOR_TABLE] += sens_df.height

        mkeep = ~rd & (metric_pos[ri] >= 0)
        mi = ri[mkeep]
        mp = metric_pos[mi]
        met_df = pl.DataFrame({
            "worker_name": worker.filter(pl.Series(mkeep)),
            "machine": machine_col.filter(pl.Series(mkeep)),
            # machine_metric prints times as integers (README example `6150435`)
            "start_time": pl.Series(i_start2[mi], dtype=pl.Float64).cast(pl.Int64),
            "end_time": pl.Series(i_end[mi], dtype=pl.Float64, nan_to_null=True).cast(pl.Int64),
            **{k: _times(v[mp]) for k, v in metric.items()},
        })  # fmt: skip
        _write(met_df, out, MACHINE_METRIC, append=lo > 0)
        rows[MACHINE_METRIC] += met_df.height

    spec_kind = "real" if spec_src is not None else "rebuilt"
    done = t_status == 0
    ceiling = group_noise_ceiling(runtime[done], t_slot[done])  # key: (group, task slot)
    write_marker(out, TRACE, int(seed), float(scale), {
        "generator_module": "tracekit.sample.pai",
        "pai_generator_version": GENERATOR_VERSION,
        "machine_spec": spec_kind,
        "rows": rows,
        "noise_ceiling_median_abs_log_error": {
            "all": round(ceiling["median_abs_log_error"], 4)
        },
    })  # fmt: skip
    return {
        "rows": rows,
        "files": sorted(p.name for p in out.iterdir() if p.is_file()),
        "seed": int(seed),
        "scale": float(scale),
        "machine_spec": spec_kind,
        "noise_ceiling": ceiling,
    }


# --------------------------------------------------------------------------------------------
# measuring a written sample (used by tests, the benchmark and docs/sample_pai.md)
# --------------------------------------------------------------------------------------------
def _read_raw(folder: Path, name: str) -> pl.DataFrame:
    """One headerless PAI CSV with its ``.header`` columns; ids as strings, times as floats."""
    cols = (folder / f"{name}{HEADER_SUFFIX}").read_text().strip().split(",")
    return pl.read_csv(folder / f"{name}{CSV_SUFFIX}", has_header=False, new_columns=cols,
                       infer_schema_length=0).with_columns(
        pl.col(c).cast(pl.Float64) for c in cols
        if c in {"start_time", "end_time", "inst_num", "plan_cpu", "plan_mem", "plan_gpu",
                 "gpu_wrk_util"})  # fmt: skip


def _quantiles(s: pl.Series, qs: tuple[float, ...]) -> list[float | None]:
    return [None if s.is_empty() else float(s.quantile(q, "linear")) for q in qs]


def measure_pai(folder: Path) -> dict[str, Any]:
    """Calibration statistics of a raw PAI folder, computed the way the official analysis does.

    Returns job/task status shares, empty end_time shares, plan_gpu buckets and the share of
    tasks asking for < 1 GPU, GPU-type mix, instances per task, task wait p50/p90 by GPU type
    (earliest instance start - task start), task runtime quantiles (mean instance runtime),
    sensor GPU utilization, the task-level plan > usage share, hourly submission shape (Asia/
    Shanghai), tasks per user, recurrence, the duration noise ceiling and quirk counts.
    """
    folder = Path(folder)
    jobs = _read_raw(folder, JOB_TABLE)
    tasks = _read_raw(folder, TASK_TABLE)
    inst = _read_raw(folder, INSTANCE_TABLE)
    sensor = _read_raw(folder, SENSOR_TABLE)
    tags = _read_raw(folder, GROUP_TAG_TABLE)
    res: dict[str, Any] = {}

    def shares(s: pl.Series) -> dict[str, float]:
        vc = s.fill_null("").value_counts()
        return {str(k): n / s.len() for k, n in zip(vc[s.name], vc["count"], strict=True)}

    res["job_status_share"] = shares(jobs["status"])
    res["task_status_share"] = shares(tasks["status"])
    res["job_end_empty_share"] = jobs["end_time"].is_null().mean()
    failed = jobs.filter(pl.col("status") == "Failed")
    res["failed_job_end_empty_share"] = failed["end_time"].is_null().mean() if failed.height else 0
    res["task_plan_gpu_empty_share"] = tasks["plan_gpu"].is_null().mean()
    pg = tasks["plan_gpu"].drop_nulls()
    res["plan_gpu_bucket_share"] = {
        "<25": (pg < 25).mean(), "[25,50)": ((pg >= 25) & (pg < 50)).mean(),
        "[50,100)": ((pg >= 50) & (pg < 100)).mean(), "=100": (pg == 100).mean(),
        ">100": (pg > 100).mean()}  # fmt: skip
    res["task_lt_1gpu_share"] = (pg < 100).mean()
    gt = tasks["gpu_type"].drop_nulls()
    res["gpu_type_share"] = shares(gt)
    res["instances_per_task"] = inst.height / tasks.height
    per_task = tasks.select("job_name", "task_name", "inst_num")
    big = per_task["inst_num"]
    res["instance_share_tasks_ge100"] = float(big.filter(big >= 100).sum() / big.sum())
    res["instance_share_tasks_ge200"] = float(big.filter(big >= 200).sum() / big.sum())

    # task summary of instances (official get_dfia): earliest start > 0, mean runtime
    dfia = inst.group_by("job_name", "task_name").agg(
        pl.col("start_time").filter(pl.col("start_time") > 0).min().alias("start_i"),
        ((pl.col("end_time") - pl.col("start_time"))
         .filter((pl.col("start_time") > 0) & (pl.col("end_time") > 0)).mean()).alias("runtime_i"),
    )  # fmt: skip
    dfa = (tasks.join(dfia, on=["job_name", "task_name"], how="inner")
           .join(jobs.select("job_name", "inst_id", "user"), on="job_name", how="inner")
           .with_columns(wait=pl.when(pl.col("start_time") > 0)
                         .then(pl.col("start_i") - pl.col("start_time"))))  # fmt: skip
    res["wait_p50_p90_by_gpu_type"] = {
        t: _quantiles(dfa.filter(pl.col("gpu_type") == t)["wait"].drop_nulls(), (0.5, 0.9))
        for t in GPU_TYPES}  # fmt: skip
    rt = dfa["runtime_i"].drop_nulls()
    res["task_runtime_p50_p90_s"] = _quantiles(rt, (0.5, 0.9))
    res["task_runtime_cdf"] = {t: float((rt <= t).mean()) for t in (60, 600, 3600, 36000)}
    term = dfa.filter(pl.col("status") == "Terminated")
    res["terminated_runtime_p50_by_gpu_type"] = {
        t: _quantiles(term.filter(pl.col("gpu_type") == t)["runtime_i"].drop_nulls(), (0.5,))[0]
        for t in GPU_TYPES}  # fmt: skip

    # sensor: instance-level utilization and task-level plan vs usage (notebook cells 10, 39)
    u = sensor["gpu_wrk_util"].drop_nulls()
    res["sensor_gpu_util"] = {
        "zero_share": float((u == 0).mean()),
        "median": float(u.median()),
        "mean": float(u.mean()),
        "ge50_share": float((u >= 50).mean()),
    }
    workers = (inst.filter(pl.col("worker_name").is_not_null())
               .sort("status", "start_time", "end_time", nulls_last=False)
               .unique("worker_name", keep="last", maintain_order=True))  # fmt: skip
    dfas = (
        workers.join(sensor.select("worker_name", "gpu_wrk_util"), on="worker_name")
        .join(tasks.select("job_name", "task_name", "plan_gpu"), on=["job_name", "task_name"])
        .filter(pl.col("plan_gpu").is_not_null())
        .group_by("job_name", "task_name")
        .agg(pl.col("plan_gpu").sum(), pl.col("gpu_wrk_util").fill_null(0).sum())
    )
    res["task_plan_gt_usage_share"] = float((dfas["plan_gpu"] > dfas["gpu_wrk_util"]).mean())

    # hourly shape of task submissions in Asia/Shanghai, normalized to mean 1
    started = tasks.filter(pl.col("start_time") > 0)["start_time"].to_numpy()
    hod = ((started.astype(np.int64) + SHANGHAI_OFFSET_S) // 3600) % 24
    hourly = np.bincount(hod, minlength=24).astype(float)
    res["hourly_shape"] = (hourly / hourly.mean()).round(3).tolist()
    res["hourly_shape_corr"] = float(np.corrcoef(hourly, HOURLY_SHAPE)[0, 1])
    dow = ((started.astype(np.int64) + SHANGHAI_OFFSET_S) // 86_400 + 3) % 7  # Monday = 0
    weekly = np.bincount(dow, minlength=7).astype(float)
    res["weekday_shape_mon_sun"] = (weekly / weekly.mean()).round(3).tolist()
    sub = jobs["start_time"].to_numpy()
    c10 = np.bincount(((sub - sub.min()) // 600).astype(np.int64))
    res["jobs_10min_dispersion_index"] = float(c10.var() / c10.mean())
    res["time_range_s"] = [float(sub.min()), float(sub.max())]

    per_user = dfa.group_by("user").len()["len"]
    res["tasks_per_user_p10_p50_p90"] = _quantiles(per_user.cast(pl.Float64), (0.1, 0.5, 0.9))
    res["n_users"] = per_user.len()

    # recurrence: group tag (NaN -> user, as the official get_dfa does)
    g = dfa.join(
        tags.select("inst_id", "group", "workload"), on="inst_id", how="left"
    ).with_columns(pl.col("group").fill_null(pl.col("user")))
    gsize = g.group_by("group").agg(pl.col("job_name").n_unique().alias("runs"))
    g = g.join(gsize, on="group")
    res["task_share_in_groups_ge5"] = float((g["runs"] >= 5).mean())
    res["workload_share_of_tags"] = float(tags["workload"].is_not_null().mean())
    res["tag_rows_per_job"] = tags.height / jobs.height
    # noise ceiling: Terminated task runtimes vs the median of the other runs of its group+role
    rec = (g.filter((pl.col("status") == "Terminated") & (pl.col("runs") >= 5)
                    & pl.col("runtime_i").is_not_null())
           .with_columns(med=pl.col("runtime_i").median().over("group", "task_name"),
                         n=pl.len().over("group", "task_name"))
           .filter(pl.col("n") >= 5))  # fmt: skip
    err = (rec["runtime_i"] / rec["med"] - 1).abs()
    res["recurring_within_25pct_of_group_median"] = float((err <= 0.25).mean()) if len(err) else 0
    done = g.filter((pl.col("status") == "Terminated") & pl.col("runtime_i").is_not_null())
    key = (done["group"] + "/" + done["task_name"]).to_numpy()
    res["noise_ceiling_all_terminated"] = group_noise_ceiling(done["runtime_i"].to_numpy(), key)

    res["quirks"] = {
        # extra records beyond the first per worker_name (a failed try and its retry -> 1)
        "duplicate_worker_rows": int(
            inst["worker_name"].drop_nulls().len() - inst["worker_name"].drop_nulls().n_unique()
        ),
        "empty_worker_rows": int(inst["worker_name"].is_null().sum()),
        "instance_zero_start_rows": int((inst["start_time"] == 0).sum()),
        "task_zero_start_rows": int((tasks["start_time"] == 0).sum()),
        "task_empty_plan_gpu_rows": int(tasks["plan_gpu"].is_null().sum()),
        "job_empty_end_rows": int(jobs["end_time"].is_null().sum()),
        "jobs_without_tag": int(jobs.join(tags, on="inst_id", how="anti").height),
        "orphan_tag_rows": int(tags.join(jobs, on="inst_id", how="anti").height),
    }
    return res
