"""Shared GPUs on nodes: pools that know their nodes, the node placements (best-fit, packing,
load-balancing, FGD), CPU and memory, allowed GPU models, the horizon, and the ledger property
(no GPU, CPU or memory ever over-allocated) through ``replay()`` and through the openb placement
study's inflation runs."""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracekit.errors import TraceFormatError
from tracekit.replay import GPUPool, replay
from tracekit.replay.placements import (
    FGD,
    NODE_PLACEMENTS,
    PLACEMENTS,
    NodeState,
    Request,
    describe,
    make_placement,
)
from tracekit.replay.placements.fragmentation import (
    Workload,
    weighted_fragmentation,
    workload_from_pods,
)
from tracekit.replay.resources import CPU_GROUP, UNLIMITED, Node
from tracekit.replay.studies import openb as study


def machines(rows: list[tuple]) -> pl.DataFrame:
    """rows: (machine_id, num_gpus, gpu_type, num_cpus, mem_gb), as the store's table."""
    return pl.DataFrame(
        rows,
        schema={
            "machine_id": pl.String,
            "num_gpus": pl.Float64,
            "gpu_type": pl.String,
            "num_cpus": pl.Float64,
            "mem_gb": pl.Float64,
        },
        orient="row",
    )


def pods(rows: list[tuple], util: float = 0.0) -> pl.DataFrame:
    """rows: (job_id, submit, duration, num_gpus, num_cpus, mem_gb, group)."""
    return pl.DataFrame(
        rows,
        schema={
            "job_id": pl.String,
            "submit_time": pl.Float64,
            "duration_s": pl.Float64,
            "num_gpus": pl.Float64,
            "num_cpus": pl.Float64,
            "mem_gb": pl.Float64,
            "group": pl.String,
        },
        orient="row",
    ).with_columns(pl.lit(util).alias("util"))


TWO_NODES = machines([("n0", 2, "G", 64, 256), ("n1", 2, "G", 64, 256)])


# ---- the pool -----------------------------------------------------------------------------------
def test_pool_from_machines_keeps_every_node() -> None:
    pool = GPUPool.from_machines(
        machines([("b", 8, "V100", 96, 512), ("a", 0, None, 32, 128), ("c", 2, "T4", None, 64)])
    )
    assert pool.has_nodes and pool.groups == ["T4", "V100", CPU_GROUP]
    assert [n.machine_id for n in pool.nodes] == ["a", "b", "c"]  # sorted by machine_id
    assert pool.nodes[0] == Node("a", CPU_GROUP, 0, 32_000, 128 * 1024)
    assert pool.nodes[2].cpu_milli == UNLIMITED  # unknown CPU never binds
    assert pool.capacities() == {"T4": 2, "V100": 8, CPU_GROUP: 0}
    half = pool.scaled(0.5)
    assert half.has_nodes and sorted(half.capacities().items()) == sorted(pool.capacities().items())
    with pytest.raises(ValueError, match="duplicate machine"):
        GPUPool.from_nodes([Node("x", "G", 1), Node("x", "G", 1)])
    # A pool without nodes has one node per machine, CPU and memory unlimited.
    legacy = GPUPool.from_dict({"T4": (2, 2)})
    assert not legacy.has_nodes
    assert [n.machine_id for n in legacy.node_list()] == ["T4/0", "T4/1"]


def test_registry_and_errors() -> None:
    assert set(NODE_PLACEMENTS) == {"best-fit", "packing", "load-balancing", "fgd"}
    assert set(PLACEMENTS) == {"pack", "balance", *NODE_PLACEMENTS}
    assert set(describe()) == set(PLACEMENTS)
    with pytest.raises(ValueError, match="unknown shared-GPU placement 'random'.*fgd"):
        make_placement("random")
    pool = GPUPool.from_machines(TWO_NODES)
    jobs = pods([("a", 0, 10, 0.5, 1, 1, None)])
    with pytest.raises(ValueError, match="this pool knows its nodes: use best-fit"):
        replay(jobs, pool, "fifo", placement="pack")
    lucid = jobs.with_columns(pl.col("duration_s").alias("pred_duration_s"))
    with pytest.raises(ValueError, match="not with 'fgd'"):
        replay(lucid, GPUPool.from_dict({"G": 2}), "lucid", placement="fgd")
    with pytest.raises(ValueError, match="until applies to shared GPUs only"):
        replay(jobs.with_columns(pl.lit("v").alias("vc"), pl.lit(1).alias("num_gpus")),
               {"v": (1, 8)}, "fifo", until=5.0)  # fmt: skip


# ---- choices ------------------------------------------------------------------------------------
def place_two(placement: str, core: str) -> pl.DataFrame:
    """A 600-thousandths pod, then a 300 one, on two empty 2-GPU nodes (FGD runs in Python)."""
    jobs = pods([("big", 0, 100, 0.6, 1, 1, None), ("small", 1, 100, 0.3, 1, 0.001, None)])
    res = replay(jobs, GPUPool.from_machines(TWO_NODES), "fifo", placement=placement,
                 core="python" if placement == "fgd" else core)  # fmt: skip
    assert res.config["placement"] == placement
    return res.jobs


@pytest.mark.parametrize(
    ("placement", "node", "gpus"),
    [
        ("best-fit", "n0", [0]),  # the partly used GPU (400 free) is the tightest fit
        ("packing", "n0", [0]),  # a partly used GPU before anything else
        ("load-balancing", "n1", [0]),  # the emptiest node
        ("fgd", "n0", [0]),  # a fresh GPU would leave more unusable capacity
    ],
)
def test_node_placement_choices(placement: str, node: str, gpus: list[int], core: str) -> None:
    out = place_two(placement, core)
    assert out["node"].to_list() == ["n0", node]
    assert out["node_gpus"].to_list() == [[0], gpus]
    assert out["nodes"].to_list() == ["n0:1", f"{node}:1"]
    assert out["vc"].to_list() == ["G", "G"]


def test_default_is_best_fit_and_whole_gpus_take_the_lowest_free_ones() -> None:
    nodes = machines([("n0", 4, "G", 64, 256)])
    jobs = pods([("s", 0, 100, 0.5, 1, 1, None), ("w", 0, 100, 2, 1, 1, None)])
    res = replay(jobs, GPUPool.from_machines(nodes), "fifo")
    assert res.config["placement"] == "best-fit"
    assert res.jobs["node_gpus"].to_list() == [[0], [1, 2]]  # GPU 0 is partly used


def test_cpu_pods_and_memory_are_placed_on_nodes() -> None:
    nodes = machines([("c0", 0, None, 16, 64), ("g0", 2, "G", 16, 64), ("h0", 8, "H", 4, 4)])
    jobs = pods(
        [
            ("cpu", 0, 100, 0, 8, 8, None),  # CPU only: FGD keeps GPU nodes whole
            ("fat", 1, 100, 1, 12, 8, None),  # fits g0 only
            ("mem", 2, 100, 0.5, 1, 60, None),  # g0 has 56 GiB left until "fat" ends
            ("big", 3, 100, 0, 20, 1, None),  # more CPU than any node
            ("h8", 4, 100, 8, 8, 1, "H"),  # 8 GPUs fit h0 only, which has 4 cores
        ]
    )
    out = replay(jobs, GPUPool.from_machines(nodes), "fifo", placement="fgd", repair=True)
    rows = {r["job_id"]: r for r in out.jobs.iter_rows(named=True)}
    assert rows["cpu"]["node"] == "c0" and rows["cpu"]["node_gpus"] == []
    assert rows["cpu"]["vc"] == CPU_GROUP
    assert rows["fat"]["node"] == "g0"
    assert rows["mem"]["start_time"] == 101.0 and rows["mem"]["node"] == "g0"
    assert out.quality.counts["replay.job_fits_no_node"] == 2  # "big" and "h8" are dropped
    assert set(rows) == {"cpu", "fat", "mem"}
    with pytest.raises(TraceFormatError, match="no node of the job's groups"):
        replay(jobs, GPUPool.from_machines(nodes), "fifo", placement="fgd")
    # Group placements know no CPU jobs.
    with pytest.raises(TraceFormatError, match="num_gpus is not a positive number"):
        replay(jobs.head(1), GPUPool.from_dict({"G": 2}), "fifo")


def test_allowed_gpu_models(core: str) -> None:
    nodes = machines([("a", 1, "A", 8, 8), ("b", 1, "B", 8, 8), ("c", 1, "C", 8, 8)])
    pool = GPUPool.from_machines(nodes)
    jobs = pods(
        [
            ("bc", 0, 100, 1, 1, 1, "C|B"),
            ("c", 0, 100, 0.5, 1, 1, "C"),
            ("bc2", 0, 100, 0.6, 1, 1, "B|C"),
        ]
    )
    out = replay(jobs, pool, "fifo", placement="best-fit", until=50, core=core).jobs
    assert out["node"].to_list() == ["b", "c", None]  # "bc2" has no allowed room left
    assert out["start_time"].is_nan().to_list() == [False, False, True]
    with pytest.raises(TraceFormatError, match="not in the pool"):
        replay(jobs.with_columns(pl.lit("B|D").alias("group")), pool, "fifo", placement="fgd")
    # "any" affinity: a job may use every model, so the idle A node takes one.
    anywhere = replay(jobs, pool, "fifo", placement="best-fit", type_affinity="any", until=50,
                      core=core)  # fmt: skip
    assert not anywhere.jobs["start_time"].is_nan().any()
    assert "a" in anywhere.jobs["node"].to_list()


def test_release_restarts_parked_jobs_and_until_stops(core: str) -> None:
    pool = GPUPool.from_machines(machines([("n", 1, "G", 4, 4)]))
    jobs = pods([("a", 0, 10, 1, 1, 1, None), ("b", 1, 5, 1, 1, 1, None),
                 ("c", 2, 5, 0.5, 1, 1, None)])  # fmt: skip
    out = replay(jobs, pool, "fifo", placement="packing", core=core).jobs
    assert out["start_time"].to_list() == [0.0, 10.0, 15.0]
    assert out["end_time"].to_list() == [10.0, 15.0, 20.0]
    cut = replay(jobs, pool, "fifo", placement="packing", until=12.0, core=core)
    assert cut.jobs["start_time"].is_nan().to_list() == [False, False, True]
    assert cut.jobs["end_time"].is_nan().to_list() == [False, True, True]
    assert cut.jobs["start_time"][1] == 10.0 and cut.jobs["node"][2] is None
    assert cut.config["until"] == 12.0


def test_placement_instance_and_legacy_pool() -> None:
    # A node placement on a pool without nodes: one node per machine, no CPU limit.
    jobs = pods([("a", 0, 10, 2, 1000, 1, None), ("b", 0, 10, 2, 1000, 1, None)])
    out = replay(jobs, {"G": (2, 2)}, "fifo", placement=FGD()).jobs
    assert sorted(out["node"].to_list()) == ["G/0", "G/1"]


# ---- FGD ----------------------------------------------------------------------------------------
def test_default_fgd_workload_is_the_replayed_request_mix() -> None:
    specs = pl.DataFrame(
        {
            "cpu_milli": [1000, 1000, 2000, 500],
            "memory_mib": [1024, 1024, 0, 64],
            "num_gpu": [1, 1, 2, 0],
            "gpu_milli": [500, 500, 1000, 0],
            "gpu_spec": [None, None, ["B", "A"], None],
        },
        schema_overrides={"gpu_spec": pl.List(pl.String)},
    )
    models = ("A", "B", "C")
    from_pods = workload_from_pods(specs, models)
    allowed = np.array([[1, 1, 1], [1, 1, 1], [1, 1, 0], [1, 1, 1]], dtype=bool)
    from_requests = Workload.from_requests(
        specs["cpu_milli"], specs["memory_mib"], specs["num_gpu"], specs["gpu_milli"],
        allowed, models,
    )  # fmt: skip
    key = lambda w: sorted(  # noqa: E731
        zip(w.cpu_milli.tolist(), w.memory_mib.tolist(), w.num_gpu.tolist(),
            w.gpu_milli.tolist(), map(tuple, w.allowed.tolist()), w.count.tolist(), strict=True)
    )  # fmt: skip
    assert key(from_pods) == key(from_requests)


frees = st.lists(st.integers(-1, 1000), min_size=4, max_size=4)


@settings(max_examples=60, deadline=None)
@given(
    node_rows=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 4000), st.integers(0, 4096), st.booleans()),
        min_size=1, max_size=6,
    ),
    used=st.lists(st.integers(0, 1000), min_size=24, max_size=24),
    req=st.tuples(st.sampled_from([0, 1, 1, 2]), st.integers(1, 1000), st.integers(0, 2000),
                  st.integers(0, 2048)),
)  # fmt: skip
def test_fgd_picks_the_least_fragmentation_increase(node_rows, used, req) -> None:  # noqa: ANN001
    nodes = [Node(f"n{i}", "A" if a else "B", g, c, m) for i, (g, c, m, a) in enumerate(node_rows)]
    pool = GPUPool.from_nodes(nodes)
    state = NodeState(pool, 1000)
    for i, n in enumerate(nodes):  # some load on every GPU
        for col in range(n.gpus):
            taken = used[4 * i + col] % 1001
            if taken:
                state.take(i, np.array([col]), Request(taken, 1, 0, 0))
    k, milli, cpu, mem = req
    request = Request(milli if k == 1 else (1000 if k else 0), k, cpu, mem)
    feasible = state.feasible(request, None)
    if not feasible.any():
        return
    node, gpu = state.candidates(request, feasible)
    allowed = np.ones((2, len(pool.groups)), dtype=bool)
    allowed[1, 1:] = False  # the second type runs on the first model only
    workload = Workload(
        np.array([500, 0]), np.array([0, 0]), np.array([1, 2]), np.array([300, 1000]),
        allowed, tuple(pool.groups), np.array([3, 1]),
    )  # fmt: skip
    fgd = FGD(workload)
    fgd.bind(state, None)  # type: ignore[arg-type]  # a given workload needs no job list
    chosen = fgd.choose(state, request, node, gpu)
    # Brute force: the increase of the node's weighted fragmentation, candidate by candidate.
    before = weighted_fragmentation(state.free_cpu, state.free_mem, state.free, state.group,
                                    fgd.target)  # fmt: skip
    after = weighted_fragmentation(
        state.free_cpu[node] - cpu, state.free_mem[node] - mem, state.after(request, node, gpu),
        state.group[node], fgd.target,
    )  # fmt: skip
    increase = after - before[node]
    assert increase[chosen] == increase.min()
    assert chosen == int(np.flatnonzero(increase == increase.min())[0])  # ties: lowest node


# ---- the ledger property ------------------------------------------------------------------------
node_strategy = st.lists(
    st.tuples(st.sampled_from([0, 1, 2, 4, 8]), st.sampled_from(["A", "B"]),
              st.integers(1, 64), st.integers(1, 256)),
    min_size=1, max_size=5,
)  # fmt: skip
pod_strategy = st.lists(
    st.tuples(
        st.integers(0, 50),  # submit
        st.integers(1, 40),  # duration
        st.sampled_from([0, 1, 1, 1, 2, 4, 8]),  # GPUs
        st.integers(1, 1000),  # thousandths of one GPU (one-GPU pods)
        st.integers(0, 64_000),  # CPU, thousandths
        st.integers(0, 262_144),  # memory, MiB
        st.sampled_from([None, "A", "B", "A|B"]),
    ),
    min_size=1, max_size=25,
)  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(node_rows=node_strategy, pod_rows=pod_strategy, placement=st.sampled_from(NODE_PLACEMENTS),
       compiled=st.booleans())
def test_no_gpu_cpu_or_memory_is_ever_over_allocated(node_rows, pod_rows, placement, compiled) -> None:  # noqa: ANN001, E501
    table = machines(
        [(f"n{i}", g, m if g else None, c, mem) for i, (g, m, c, mem) in enumerate(node_rows)]
    )
    pool = GPUPool.from_machines(table)
    rows = []
    for i, (t, d, k, milli, cpu, mem, group) in enumerate(pod_rows):
        gpus = milli / 1000 if k == 1 else float(k)
        rows.append((f"p{i}", float(t), float(d), gpus, cpu / 1000, mem / 1024, group))
    jobs = pods(rows)
    # Either core (FGD runs in Python only).
    core = "compiled" if compiled and placement != "fgd" else "python"
    res = replay(jobs, pool, "fifo", placement=placement, repair=True, max_jobs_per_gpu=1000,
                 core=core)
    out = res.jobs.join(jobs.select("job_id", "num_cpus", "mem_gb"), on="job_id")
    spec = {n.machine_id: n for n in pool.nodes}
    ran = out.filter(~pl.col("start_time").is_nan())
    for r in ran.iter_rows(named=True):
        node = spec[r["node"]]
        k = int(np.ceil(r["num_gpus"] - 1e-9))
        assert len(r["node_gpus"]) == k == len(set(r["node_gpus"]))  # one node, distinct GPUs
        assert all(0 <= g < node.gpus for g in r["node_gpus"])
        if r["group"] is not None and k:
            assert node.group in r["group"].split("|")
    # At every start, the jobs running then fit every GPU, CPU and memory (releases first).
    for t in ran["start_time"].unique().to_list():
        now = ran.filter((pl.col("start_time") <= t) & (pl.col("end_time") > t))
        units: dict[tuple[str, int], int] = {}
        for r in now.iter_rows(named=True):
            for g in r["node_gpus"]:
                key = (r["node"], g)
                units[key] = units.get(key, 0) + round(r["share"] * 1000)
        assert all(u <= 1000 for u in units.values())
        per_node = now.group_by("node").agg(
            (pl.col("num_cpus") * 1000).round(0).sum().alias("cpu"),
            (pl.col("mem_gb") * 1024).round(0).sum().alias("mem"),
        )
        for r in per_node.iter_rows(named=True):
            assert r["cpu"] <= spec[r["node"]].cpu_milli and r["mem"] <= spec[r["node"]].memory_mib
    # Every job that fits an empty node it may use has run (no job is forgotten while waiting).
    for r in out.filter(pl.col("start_time").is_nan()).iter_rows(named=True):
        k = int(np.ceil(r["num_gpus"] - 1e-9))
        allowed = None if r["group"] is None else set(r["group"].split("|"))
        assert not any(
            n.gpus >= k and round(r["num_cpus"] * 1000) <= n.cpu_milli
            and round(r["mem_gb"] * 1024) <= n.memory_mib
            and (allowed is None or n.group in allowed)
            for n in pool.nodes
        ), r  # fmt: skip
    # Work is conserved and the replay is deterministic.
    assert np.allclose(ran["served_s"], ran["duration_s"])
    assert replay(jobs, pool, "fifo", placement=placement, repair=True,
                  max_jobs_per_gpu=1000).digest() == res.digest()  # fmt: skip  (either core)


# ---- the openb placement study on random nodes and pods ---------------------------------------
spec_strategy = st.lists(
    st.tuples(
        st.sampled_from([0, 1, 1, 1, 2, 4, 8]),
        st.integers(1, 1000),
        st.integers(0, 64_000),
        st.integers(0, 200_000),
        st.sampled_from([None, ["A"], ["B"], ["A", "B"], ["C"]]),
    ),
    min_size=1,
    max_size=12,
)
machine_strategy = st.lists(
    st.tuples(
        st.sampled_from([0, 1, 2, 4, 8]),
        st.sampled_from(["A", "B"]),
        st.integers(1, 96),
        st.integers(1, 512),
    ),
    min_size=1,
    max_size=5,
)


def specs_table(rows: list[tuple]) -> pl.DataFrame:
    """rows: (job_id, num_gpu, gpu_milli, gpu_spec, cpu_milli, memory_mib), as ``pod_specs``."""
    return pl.DataFrame(
        rows,
        schema={
            "job_id": pl.String,
            "num_gpu": pl.Int32,
            "gpu_milli": pl.Int32,
            "gpu_spec": pl.List(pl.String),
            "cpu_milli": pl.Int64,
            "memory_mib": pl.Int64,
        },
        orient="row",
    )


@settings(max_examples=40, deadline=None)
@given(nodes=machine_strategy, pods=spec_strategy, placement=st.sampled_from(study.COMPARED))
def test_inflation_never_over_allocates(
    nodes: list[tuple], pods: list[tuple], placement: str
) -> None:
    table = machines(
        [(f"n{i}", g, m if g else None, c, mem) for i, (g, m, c, mem) in enumerate(nodes)]
    )
    if table["num_gpus"].sum() == 0:
        table = table.with_columns(pl.lit(1.0).alias("num_gpus"), pl.lit("A").alias("gpu_type"))
    pods = [*pods, (1, 500, 0, 0, None)]  # at least one GPU pod, so the load grows
    specs = specs_table(
        [(f"p{i}", k, (milli if k == 1 else 1000) if k else 0, spec, cpu, mem)
         for i, (k, milli, cpu, mem, spec) in enumerate(pods)]
    )  # fmt: skip
    result = study.inflation(table, specs, placement, max_load=1.5, step=0.25, seed=3)
    caps = {r["machine_id"]: r for r in table.iter_rows(named=True)}
    by_id = {r["job_id"]: r for r in specs.iter_rows(named=True)}
    placed = result.pods.filter(pl.col("node").is_not_null())
    used: Counter[tuple[str, int]] = Counter()
    for row in placed.iter_rows(named=True):
        spec = by_id[row["job_id"].split("#")[0]]
        node = caps[row["node"]]
        assert len(row["node_gpus"]) == spec["num_gpu"] == len(set(row["node_gpus"]))
        for g in row["node_gpus"]:
            assert 0 <= g < node["num_gpus"]
            used[(row["node"], g)] += row["gpu_milli"]
        if spec["num_gpu"] and spec["gpu_spec"] is not None:
            assert node["gpu_type"] in spec["gpu_spec"]
    assert all(units <= 1000 for units in used.values())
    per_node = placed.group_by("node").agg(pl.col("cpu_milli").sum(), pl.col("memory_mib").sum())
    for row in per_node.iter_rows(named=True):
        assert row["cpu_milli"] <= round(caps[row["node"]]["num_cpus"] * 1000)
        assert row["memory_mib"] <= round(caps[row["node"]]["mem_gb"] * 1024)
    # Nothing leaves: a pod that did not start at its arrival never starts.
    starts = result.replay.jobs["start_time"].to_numpy()
    submits = result.replay.jobs["submit_time"].to_numpy()
    assert ((starts == submits) | (starts != starts)).all()
    curve = result.curve
    assert (curve["unallocated_share"].diff().drop_nulls() >= 0).all()
    assert ((curve["allocated_share"] - 1.0) <= 1e-9).all()
    again = study.inflation(table, specs, placement, max_load=1.5, step=0.25, seed=3)
    assert again.pods.equals(result.pods)


def test_inflation_study_errors() -> None:
    table = machines([("n0", 2, "G", 64, 256)])
    specs = specs_table([("p0", 1, 600, None, 1000, 1)])
    with pytest.raises(ValueError, match="unknown node placement 'pack'"):
        study.inflation(table, specs, "pack")
    with pytest.raises(ValueError, match="no pods"):
        study.inflation(table, specs.head(0), "fgd")
    cpu_only = specs.with_columns(pl.lit(0, pl.Int32).alias("num_gpu"))
    with pytest.raises(ValueError, match="no pod asks for a GPU"):
        study.inflation(table, cpu_only, "fgd")
    with pytest.raises(ValueError, match="missing columns"):
        study.inflation(table, specs.drop("gpu_spec"), "fgd")
