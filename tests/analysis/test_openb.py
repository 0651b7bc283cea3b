"""openb characterization on the real files, the fragmentation measure (re-exported from the
replay, whose FGD placement uses it) on hand-worked node states, and the findings rows, OB3
being the placement study (a replay study, tested itself in tests/replay/test_openb_study.py)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import tracekit as tk
from tracekit.analysis import openb
from tracekit.analysis.findings import findings_table
from tracekit.replay.placements import fragmentation as fragmentation_measure


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
    assert openb.node_fragmentation is fragmentation_measure.node_fragmentation  # one home
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
    # OB3 replays the production pods to 100 % load with best-fit and with FGD (seed 7):
    # 5.32 % against 7.20 % of the GPUs unallocated, 26 % fewer.
    row = findings_table(real, traces="openb", ids=["OB3"]).row(0, named=True)
    assert round(row["measured"]) == 26
    assert row["agreement"] in ("agree", "close", "differs")

