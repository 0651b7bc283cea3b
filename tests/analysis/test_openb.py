"""openb characterization on the real files, the fragmentation measure on hand-worked node
states, and the placement study: policy choices, no GPU ever over-allocated (property test), and
FGD against best-fit on the real trace."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit.analysis import openb
from tracekit.analysis import openb_placement as op
from tracekit.analysis.findings import findings_table


def _real_openb() -> Path:
    """``shared/real/openb`` beside the repository (the first ancestor that has it)."""
    for parent in Path(__file__).resolve().parents:
        folder = parent / "shared" / "real" / "openb"
        if (folder / "openb_pod_list_default.csv").is_file():
            return folder
    raise FileNotFoundError("shared/real/openb is not beside the repository")


REAL = _real_openb()


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> tk.Store:
    root = tmp_path_factory.mktemp("openb")
    tk.ingest("openb", REAL, root, clusters=["default", "gpuspec33"])
    return tk.open_store(root)


def _csv(name: str) -> list[dict[str, str]]:
    with open(REAL / name, newline="") as fh:
        return list(csv.DictReader(fh))


# ---- characterization ---------------------------------------------------------------------------
def test_sharing_share_and_gpu_milli(real: tk.Store) -> None:
    pods = _csv("openb_pod_list_default.csv")
    share = openb.sharing_share(real.jobs("openb", "default")).row(0, named=True)
    sharing = sum(1 for p in pods if p["num_gpu"] == "1" and int(p["gpu_milli"]) < 1000)
    assert share["pods"] == len(pods) and share["sharing_pods"] == sharing
    dist = openb.gpu_milli_distribution(real.scan("pod_specs", "openb", "default"))
    counts = Counter(int(p["gpu_milli"]) for p in pods if p["num_gpu"] == "1")
    assert dict(zip(dist["gpu_milli"], dist["pods"], strict=True)) == counts
    assert dist["cdf"][-1] == pytest.approx(1.0)


def test_constraints_qos_and_node_mix(real: tk.Store) -> None:
    specs = real.scan("pod_specs", "openb")
    constraint = openb.gpu_constraint_share(specs)
    by_cluster = dict(zip(constraint["cluster"], constraint["constrained_share"], strict=True))
    assert by_cluster["default"] == 0.0
    assert by_cluster["gpuspec33"] == pytest.approx(0.338, abs=0.001)  # "about 33 %"
    qos = openb.demand_by_qos(specs).filter(pl.col("cluster") == "default")
    pods = _csv("openb_pod_list_default.csv")
    gpus = Counter()
    for p in pods:
        gpus[p["qos"]] += int(p["num_gpu"]) * int(p["gpu_milli"])
    assert {q: round(g * 1000) for q, g in zip(qos["qos"], qos["gpus"], strict=True)} == gpus
    assert qos["gpu_share"].sum() == pytest.approx(1.0)
    mix = openb.node_mix(real.machines("openb", "default"))
    assert mix["gpus"].sum() == 6212 and mix["nodes"].sum() == 1523
    assert mix["gpu_type"][0] == "G2"  # the largest GPU model first


# ---- the fragmentation measure ------------------------------------------------------------------
def _specs(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "job_id": pl.String,
            "qos": pl.String,
            "num_gpu": pl.Int32,
            "gpu_milli": pl.Int32,
            "gpu_spec": pl.List(pl.String),
            "cpu_milli": pl.Int64,
            "memory_mib": pl.Int64,
        },
        orient="row",
    )


def test_fragmentation_follows_the_definition() -> None:
    # type A: half a GPU; type B: one whole GPU; type C (two pods): CPU only
    specs = _specs(
        [
            ("a", "LS", 1, 500, None, 1000, 0),
            ("b", "LS", 1, 1000, None, 1000, 0),
            ("c1", "BE", 0, 0, None, 1000, 0),
            ("c2", "BE", 0, 0, None, 1000, 0),
        ]
    )
    wl = openb.workload_from_pods(specs, ("G",))
    free_gpu = np.array([[1000, 300, 600, -1], [200, -1, -1, -1]])
    args = (np.array([10_000, 500]), np.array([1 << 20, 1 << 20]), free_gpu, np.array([0, 0]))
    frag = openb.node_fragmentation(*args, wl)
    # node 0: A cannot use the 300 GPU; B cannot use 300 and 600; C uses no GPU (all 1900)
    assert frag[0] == pytest.approx((300 + 900 + 2 * 1900) / 4)
    # node 1: too little CPU for anything: its whole 200 is fragmented for every type
    assert frag[1] == pytest.approx(200)
    out = openb.fragmentation(*args, wl)
    assert out["free_gpus"] == pytest.approx(2.1)
    assert out["fragmented_gpus"] == pytest.approx(1.45)
    assert out["fragmentation_rate"] == pytest.approx(1.45 / 2.1)


def test_model_constraints_count_as_unusable() -> None:
    specs = _specs([("a", "LS", 1, 1000, ["T4"], 0, 0)])
    wl = openb.workload_from_pods(specs, ("G2", "T4"))
    free_gpu = np.array([[1000, 1000], [1000, 400]])
    frag = openb.node_fragmentation(
        np.zeros(2, dtype=int), np.zeros(2, dtype=int), free_gpu, np.array([0, 1]), wl
    )
    assert frag.tolist() == [2000.0, 400.0]  # the G2 node is useless to a T4-only pod


# ---- placement ----------------------------------------------------------------------------------
def _machines(rows: list[tuple]) -> pl.DataFrame:
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


def _setup(policy: str) -> tuple[op.Nodes, object, list[op.Pod]]:
    machines = _machines([("n0", 2, "G", 64, 256), ("n1", 2, "G", 64, 256)])
    specs = _specs([("p0", "LS", 1, 600, None, 1000, 1024), ("p1", "LS", 1, 300, None, 1000, 1)])
    nodes = op.Nodes.from_machines(machines)
    chooser = op.make_policy(policy, nodes, openb.workload_from_pods(specs, nodes.models))
    return nodes, chooser, op.pods_from_specs(specs, nodes.models)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("best-fit", (0, [0])), ("packing", (0, [0])), ("load-balancing", (1, [0]))],
)
def test_policy_choices(policy: str, expected: tuple[int, list[int]]) -> None:
    nodes, chooser, (big, small) = _setup(policy)
    assert op.place(nodes, big, chooser) == (0, [0])  # empty cluster: first node, first GPU
    # the 300-milli pod: best-fit and packing reuse the partly used GPU (400 free),
    # load-balancing spreads to the emptiest node
    assert op.place(nodes, small, chooser) == expected


def test_fgd_avoids_stranding_a_gpu() -> None:
    nodes, chooser, (big, small) = _setup("fgd")
    op.place(nodes, big, chooser)
    # after the 600-milli pod, GPU 0 of n0 has 400 free; the 300-milli pod fits it and
    # leaves 100 that nothing uses, or splits a fresh GPU; FGD picks the smaller fragmentation
    node, gpus = op.place(nodes, small, chooser)
    assert (node, gpus) == (0, [0])
    assert nodes.free_gpu[0].tolist() == [100, 1000]


def test_unknown_policy_and_empty_inputs() -> None:
    machines = _machines([("n0", 2, "G", 64, 256)])
    specs = _specs([("p0", "LS", 1, 600, None, 1000, 1)])
    with pytest.raises(ValueError, match="unknown placement policy"):
        op.simulate_inflation(machines, specs, "random")
    with pytest.raises(ValueError, match="no pods"):
        op.simulate_inflation(machines, specs.head(0), "fgd")
    cpu_only = specs.with_columns(pl.lit(0, pl.Int32).alias("num_gpu"))
    with pytest.raises(ValueError, match="no pod asks for a GPU"):
        op.simulate_inflation(machines, cpu_only, "fgd")


pods_strategy = st.lists(
    st.tuples(
        st.sampled_from([0, 1, 1, 1, 2, 4, 8]),
        st.integers(1, 1000),
        st.integers(0, 64_000),
        st.integers(0, 200_000),
        st.sampled_from([None, ["A"], ["B"], ["A", "B"]]),
    ),
    min_size=1,
    max_size=12,
)
nodes_strategy = st.lists(
    st.tuples(
        st.sampled_from([0, 1, 2, 4, 8]),
        st.sampled_from(["A", "B"]),
        st.integers(1, 96),
        st.integers(1, 512),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=40, deadline=None)
@given(nodes=nodes_strategy, pods=pods_strategy, policy=st.sampled_from(op.POLICIES))
def test_no_gpu_cpu_or_memory_is_ever_over_allocated(
    nodes: list[tuple], pods: list[tuple], policy: str
) -> None:
    machines = _machines(
        [(f"n{i}", g, m if g else None, c, mem) for i, (g, m, c, mem) in enumerate(nodes)]
    )
    if machines["num_gpus"].sum() == 0:
        machines = machines.with_columns(
            pl.lit(1.0).alias("num_gpus"), pl.lit("A").alias("gpu_type")
        )
    pods = [*pods, (1, 500, 0, 0, None)]  # at least one GPU pod, so the load grows
    specs = _specs(
        [
            (f"p{i}", "LS", k, (milli if k == 1 else 1000) if k else 0, spec, cpu, mem)
            for i, (k, milli, cpu, mem, spec) in enumerate(pods)
        ]
    )
    result = op.simulate_inflation(machines, specs, policy, max_load=1.5, step=0.25, seed=3)
    placed = result.placements.filter(pl.col("node").is_not_null())
    caps = machines.sort("machine_id")
    used_gpu: Counter[tuple[int, int]] = Counter()
    for row in placed.iter_rows(named=True):
        spec = specs.filter(pl.col("job_id") == row["job_id"]).row(0, named=True)
        assert len(row["gpus"]) == spec["num_gpu"]  # a gang of distinct GPUs, one for a share
        for g in row["gpus"]:
            assert 0 <= g < caps["num_gpus"][row["node"]]
            used_gpu[(row["node"], g)] += row["gpu_milli"]
        allowed = spec["gpu_spec"]
        if spec["num_gpu"] and allowed is not None:
            assert caps["gpu_type"][row["node"]] in allowed
    assert all(units <= 1000 for units in used_gpu.values())
    per_node = placed.group_by("node").agg(pl.col("cpu_milli").sum(), pl.col("memory_mib").sum())
    for row in per_node.iter_rows(named=True):
        assert row["cpu_milli"] <= round(caps["num_cpus"][row["node"]] * 1000)
        assert row["memory_mib"] <= round(caps["mem_gb"][row["node"]] * 1024)
    curve = result.curve
    assert (curve["unallocated_share"].diff().drop_nulls() >= 0).all()
    assert ((curve["allocated_share"] - 1.0) <= 1e-9).all()


def test_findings_rows(real: tk.Store) -> None:
    table = findings_table(real, traces="openb", ids=["OB0", "OB1", "OB2"], detail=True)
    got = {(r["metric"], r["cluster"]): r for r in table.iter_rows(named=True)}
    for metric, value in (("pods", 8152), ("nodes", 1523), ("gpus", 6212)):
        assert got[(metric, "default")]["measured"] == value
        assert got[(metric, "default")]["agreement"] == "agree"
    assert got[("constrained_share", "gpuspec33")]["measured"] == pytest.approx(33.8, abs=0.1)
    assert got[("constrained_share", "gpuspec33")]["agreement"] == "agree"
    assert got[("sharing_share", "default")]["measured"] == pytest.approx(37.76, abs=0.01)
    assert got[("sharing_share", "default")]["agreement"] == "n/a"  # nothing published


def test_fgd_leaves_fewer_gpus_unallocated_than_best_fit_on_the_real_trace(
    real: tk.Store,
) -> None:
    # OB3 replays the production pods to 100 % load with best-fit and with FGD (seed 7)
    row = findings_table(real, traces="openb", ids=["OB3"]).row(0, named=True)
    assert row["measured"] > 10  # FGD leaves over 10 % fewer GPUs unallocated
    assert row["agreement"] in ("agree", "close", "differs")


def test_a_run_is_reused_whatever_columns_the_caller_selects(real: tk.Store) -> None:
    # 300 real pods: the findings table reads some columns, the reports all of them
    specs = real.scan("pod_specs", "openb", "default").sort("job_id").head(300).collect()
    machines = real.machines("openb", "default").collect()
    narrow = specs.select("trace", "cluster", *op.POD_COLUMNS)
    first = op.simulate_inflation(machines, narrow, "best-fit", max_load=0.5, step=0.1, seed=3)
    runs = len(op._RUNS)
    again = op.simulate_inflation(machines.lazy(), specs.reverse(), "best-fit", max_load=0.5,
                                  step=0.1, seed=3)  # fmt: skip
    assert len(op._RUNS) == runs  # served from the kept run
    assert again.curve.equals(first.curve) and again.placements.equals(first.placements)
    other = op.simulate_inflation(machines, specs, "best-fit", max_load=0.5, step=0.1, seed=4)
    assert len(op._RUNS) == runs + 1 and not other.placements.equals(first.placements)
