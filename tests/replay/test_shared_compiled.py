"""The compiled core of the shared-GPU replay against the Python engine, and which runs take it.

Property: on random pools (several groups, machines of mixed sizes) and job sets (fractional
requests, jobs allowed on one, several or any group, missing predictions), under every compiled
option (static-key policies and Lucid, ``pack``/``balance``, both affinities, both share modes,
backfill on and off, ``max_jobs_per_gpu``, the slowdown's ``kappa``, ``until``), both cores give
the same per-job digest and the same per-job columns. Digests hash integers: times rounded to
1 µs, rates to 1e-9.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracekit.replay import GPUPool, Lucid, ReplayResult, SlowdownModel, replay
from tracekit.replay.placements import Pack
from tracekit.replay.policies import make_policy
from tracekit.replay.resources import CPU_GROUP, Node


def shared_digest(res: ReplayResult) -> str:
    """SHA-256 (16 hex digits) of each job's group, times (1 µs), served time (1 µs), lowest
    rate (1e-9), most jobs on one of its GPUs, slots and share (integers only)."""
    out = res.jobs.select(
        "job_id",
        "vc",
        *[(pl.col(c).fill_nan(None) * 1e6).round(0).cast(pl.Int64)
          for c in ("start_time", "end_time", "served_s")],  # (NaN: not started or ended)
        (pl.col("min_rate") * 1e9).round(0).cast(pl.Int64),
        "max_jobs_on_gpu",
        "slots",
        (pl.col("share") * 1000).round(0).cast(pl.Int64),
    )
    return hashlib.sha256(out.write_csv().encode()).hexdigest()[:16]


def both_cores(jobs: pl.DataFrame, pool: Any, policy: Any, **options: Any) -> ReplayResult:
    """Replay on both cores; assert the compiled core ran and matches exactly; return it."""
    ref = replay(jobs, pool, policy, core="python", **options)
    got = replay(jobs, pool, policy, core="compiled", **options)
    assert ref.config["core"] == "python" and got.config["core"] == "compiled"
    assert shared_digest(got) == shared_digest(ref)
    assert got.jobs.equals(ref.jobs), (got.jobs, ref.jobs)
    return got


@st.composite
def workloads(draw: st.DrawFn) -> tuple[pl.DataFrame, GPUPool]:
    """A pool of 1-3 groups of 1-4 machines (1-8 GPUs each) and 1-40 jobs that fit it."""
    names = draw(st.lists(st.sampled_from(["T4", "P100", "V100", "MISC"]), min_size=1,
                          max_size=3, unique=True))  # fmt: skip
    machines = {g: draw(st.lists(st.integers(1, 8), min_size=1, max_size=4)) for g in names}
    pool = GPUPool.from_dict(machines)
    smallest = min(sum(m) for m in machines.values())
    choices = [*names, None]
    if len(names) > 1:
        choices.append("|".join(names[:2]))
    n = draw(st.integers(1, 40))
    row = st.tuples(
        st.integers(0, 60),  # submit (whole seconds: ties of arrivals and finishes)
        st.integers(1, 80),  # duration
        st.sampled_from([0.1, 0.25, 0.5, 0.6, 1.0, 1.5, 2.0, 2.6, 3.0, 4.0]),  # GPUs
        st.sampled_from(choices),
        st.integers(0, 100),  # utilisation, percent
        st.one_of(st.none(), st.integers(1, 200)),  # prediction
    )
    rows = draw(st.lists(row, min_size=n, max_size=n))
    jobs = pl.DataFrame(
        {
            "job_id": [f"j{i}" for i in range(n)],
            "submit_time": [float(r[0]) for r in rows],
            "duration_s": [float(r[1]) for r in rows],
            "num_gpus": [min(r[2], float(smallest)) for r in rows],
            "group": [r[3] for r in rows],
            "util": [r[4] / 100 for r in rows],
            "pred_duration_s": [None if r[5] is None else float(r[5]) for r in rows],
        },
        schema_overrides={"group": pl.String, "pred_duration_s": pl.Float64},
    )
    return jobs, pool


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    work=workloads(),
    policy=st.sampled_from(["fifo", "sjf", "qssf", "sjf-pred", "lucid", "lucid-exclusive"]),
    placement=st.sampled_from(["pack", "balance"]),
    affinity=st.sampled_from(["strict", "any"]),
    max_jobs=st.integers(1, 4),
    share_by=st.sampled_from(["request", "usage"]),
    backfill=st.booleans(),
    kappa=st.sampled_from([0.0, 0.05, 0.3]),
    until=st.one_of(st.none(), st.integers(0, 120)),
)
def test_compiled_core_equals_python_engine(
    work: tuple[pl.DataFrame, GPUPool], policy: str, placement: str, affinity: str,
    max_jobs: int, share_by: str, backfill: bool, kappa: float, until: int | None,
) -> None:  # fmt: skip
    jobs, pool = work
    options: dict[str, Any] = {"placement": placement, "type_affinity": affinity,
                               "backfill": backfill, "slowdown": kappa, "repair": True,
                               "until": until}  # fmt: skip
    if policy.startswith("lucid"):
        pol: Any = Lucid(prefer_exclusive=policy.endswith("exclusive"))
        jobs = jobs.with_columns(pl.col("num_gpus").ceil())  # (Lucid pairs whole-GPU gangs)
    else:
        pol = policy
        jobs = jobs.with_columns(pl.col("pred_duration_s").fill_null(50.0))
        options.update(max_jobs_per_gpu=max_jobs, share_by=share_by)
    both_cores(jobs, pool, pol, **options)


def pai_like(n: int, seed: int) -> tuple[pl.DataFrame, GPUPool]:
    """A seeded PAI-like window: fractional requests on five GPU types, most jobs of one type,
    a few of two, some of any; times in whole milliseconds (no last-bit noise)."""
    rng = np.random.default_rng(seed)
    pool = GPUPool.from_dict({"T4": (6, 2), "P100": (4, 2), "V100": (4, 8), "V100M32": (2, 8),
                              "MISC": (3, 4)})  # fmt: skip
    gpus = rng.choice([0.25, 0.5, 0.5, 1.0, 1.0, 1.0, 2.0, 4.0, 8.0], n)
    group = rng.choice(["T4", "P100", "V100", "V100M32", "MISC", "V100|V100M32", None], n)
    group = np.where((gpus > 2) & np.isin(group, ["T4", "P100"]), "V100", group)
    group = np.where((gpus > 4) & (group == "MISC"), "V100M32", group)
    jobs = pl.DataFrame(
        {
            "job_id": [f"p{i}" for i in range(n)],
            "submit_time": np.sort(rng.integers(0, 40_000_000, n)) / 1000.0,
            "duration_s": rng.integers(1_000, 3_000_000, n) / 1000.0,
            "num_gpus": gpus,
            "group": group.tolist(),
            "util": rng.integers(0, 1000, n) / 1000.0,
            "pred_duration_s": rng.integers(1_000, 3_000_000, n) / 1000.0,
        },
        schema_overrides={"group": pl.String},
    )
    return jobs, pool


#: Per-job digests of :func:`pai_like(1500, 5)` (``shared_digest``, the same on both cores).
GOLDEN = {
    ("qssf", "pack", "any"): "d55815449755f46b",
    ("fifo", "balance", "strict"): "9cd58a1cf4a03671",
    ("lucid", "pack", "strict"): "4952700033e07627",
}


@pytest.mark.parametrize(("policy", "placement", "affinity"), list(GOLDEN))
def test_golden_digests_on_a_pai_like_window(policy: str, placement: str, affinity: str) -> None:
    jobs, pool = pai_like(1500, 5)
    if policy == "lucid":
        jobs = jobs.with_columns(pl.col("num_gpus").ceil())
    got = both_cores(jobs, pool, policy, placement=placement, type_affinity=affinity)
    assert got.jobs["colocated"].sum() > 50  # the window packs
    assert shared_digest(got) == GOLDEN[(policy, placement, affinity)]


class MyPack(Pack):
    """A user's placement: inherits Pack's choice, not its kernel declaration."""


class MyPackSameChoice(Pack):
    """A user's subclass that declares it places exactly like ``pack``."""

    kernel = "pack"


class MyLucid(Lucid):
    """A user's Lucid: inherits the pairing rule, not its compiled declaration."""


class MySlowdown(SlowdownModel):
    """A user's slowdown model."""

    def gpu_rate(self, n_jobs: int, util_sum: float) -> float:
        return 1.0 if n_jobs <= 1 else 0.5


def test_which_runs_take_the_compiled_core() -> None:
    jobs, pool = pai_like(200, 1)
    whole = jobs.with_columns(pl.col("num_gpus").ceil())
    opts = {"type_affinity": "any"}
    assert replay(jobs, pool, "fifo", **opts).config["core"] == "compiled"  # the default
    assert replay(jobs, pool, "fifo", placement=MyPackSameChoice(), **opts).config["core"] == (
        "compiled"
    )
    falls_back = [
        (dict(placement=MyPack()), "placement 'pack' \\(MyPack\\), which has no compiled"),
        (dict(slowdown=MySlowdown()), "slowdown model MySlowdown"),
        (dict(record=True), "recording GPU occupancy"),
    ]
    for extra, why in falls_back:
        assert replay(jobs, pool, "fifo", **opts, **extra).config["core"] == "python"
        with pytest.raises(ValueError, match="compiled core does not run " + why):
            replay(jobs, pool, "fifo", core="compiled", **opts, **extra)
    assert replay(whole, pool, MyLucid()).config["core"] == "python"
    with pytest.raises(ValueError, match=r"policy 'lucid' \(MyLucid\), which has no compiled"):
        replay(whole, pool, MyLucid(), core="compiled")
    # Results are the same whichever core runs.
    same = replay(jobs, pool, "fifo", placement=MyPack(), **opts)
    assert shared_digest(same) == shared_digest(replay(jobs, pool, "fifo", **opts))
    assert make_policy("lucid").pair_kernel() == (1.0, 2.0)  # type: ignore[attr-defined]


@st.composite
def node_workloads(draw: st.DrawFn) -> tuple[pl.DataFrame, GPUPool]:
    """A pool that knows its nodes (1-8 nodes of two GPU models, 0-8 GPUs, CPU and memory) and
    1-40 jobs asking for GPUs (0 = CPU and memory only), CPU and memory."""
    spec = st.tuples(st.sampled_from(["A", "B"]), st.sampled_from([0, 1, 2, 4, 8]),
                     st.sampled_from([4_000, 16_000, 64_000]),
                     st.sampled_from([8_192, 65_536]))  # fmt: skip
    rows = draw(st.lists(spec, min_size=1, max_size=8))
    nodes = [Node(f"n{i}", g if gpus else CPU_GROUP, gpus, cpu, mem)
             for i, (g, gpus, cpu, mem) in enumerate(rows)]  # fmt: skip
    n = draw(st.integers(1, 40))
    job = st.tuples(
        st.integers(0, 60), st.integers(1, 80),
        st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.6, 1.0, 2.0, 3.0, 4.0]),
        st.sampled_from(["A", "B", "A|B", None]), st.integers(0, 100),
        st.sampled_from([0.0, 0.5, 1.0, 2.0, 8.0]), st.sampled_from([0.0, 1.0, 4.0, 16.0]),
    )  # fmt: skip
    jobs = draw(st.lists(job, min_size=n, max_size=n))
    frame = pl.DataFrame(
        {
            "job_id": [f"j{i}" for i in range(n)],
            "submit_time": [float(r[0]) for r in jobs],
            "duration_s": [float(r[1]) for r in jobs],
            "num_gpus": [r[2] for r in jobs],
            "group": [r[3] for r in jobs],
            "util": [r[4] / 100 for r in jobs],
            "pred_duration_s": [float(r[1]) * 1.5 for r in jobs],
            "num_cpus": [r[5] for r in jobs],
            "mem_gb": [r[6] for r in jobs],
        },
        schema_overrides={"group": pl.String},
    )
    return frame, GPUPool.from_nodes(nodes)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    work=node_workloads(),
    policy=st.sampled_from(["fifo", "sjf", "qssf"]),
    placement=st.sampled_from(["best-fit", "packing", "load-balancing"]),
    max_jobs=st.integers(1, 4),
    share_by=st.sampled_from(["request", "usage"]),
    backfill=st.booleans(),
    until=st.one_of(st.none(), st.integers(0, 120)),
)
def test_compiled_node_placements_equal_python_engine(
    work: tuple[pl.DataFrame, GPUPool], policy: str, placement: str, max_jobs: int,
    share_by: str, backfill: bool, until: int | None,
) -> None:  # fmt: skip
    jobs, pool = work
    both_cores(jobs, pool, policy, placement=placement, max_jobs_per_gpu=max_jobs,
               share_by=share_by, backfill=backfill, until=until, repair=True)  # fmt: skip


def test_fgd_runs_in_python() -> None:
    """FGD has no compiled kernel yet: ``auto`` runs it in Python, ``compiled`` says why."""
    jobs = pl.DataFrame({"job_id": ["a", "b"], "submit_time": [0.0, 1.0],
                         "duration_s": [10.0, 10.0], "num_gpus": [0.5, 0.5]})  # fmt: skip
    pool = {"pool": (2, 2)}
    assert replay(jobs, pool, "fifo", placement="fgd").config["core"] == "python"
    assert replay(jobs, pool, "fifo", placement="best-fit").config["core"] == "compiled"
    with pytest.raises(ValueError, match="placement 'fgd' \\(FGD\\), which has no compiled"):
        replay(jobs, pool, "fifo", placement="fgd", core="compiled")


def test_a_shared_gpu_replay_loads_only_its_own_kernel() -> None:
    # A fresh process: a compiled shared-GPU replay warms the shared loop alone; the whole-GPU
    # kernels (about 0.5 s to import and load) stay unloaded until a whole-GPU replay needs them.
    code = """
import sys
import polars as pl
from tracekit.replay import GPUPool, replay
jobs = pl.DataFrame({"job_id": ["a", "b", "c"], "vc": ["v", "v", "v"],
                     "submit_time": [0.0, 1.0, 2.0], "duration_s": [5.0, 2.0, 1.0],
                     "num_gpus": [0.5, 1.0, 0.5]})
res = replay(jobs, GPUPool.from_dict({"v": (1, 2)}), "fifo")
print(res.config["core"], "tracekit.replay.engines.kernels" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["compiled", "False"], out.stderr


@pytest.mark.parametrize("max_gpus", [float("inf"), 2**70, float("nan"), 2.5, 0, -0.5])
def test_lucid_gpu_cap_beyond_int64_or_fractional(max_gpus: float) -> None:
    # "No cap" (inf, a huge int, NaN compares false) and fractional caps: the compiled core
    # packs exactly the jobs the Python engine packs (no overflow).
    jobs, pool = pai_like(300, 3)
    both_cores(jobs, pool, Lucid(max_gpus=max_gpus), type_affinity="any")  # type: ignore[arg-type]
