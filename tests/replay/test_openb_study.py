"""The openb placement study (workload inflation, Weng et al., ATC'23) on the real trace: FGD
leaves fewer GPUs unallocated than best-fit, and ``tracekit replay --placement fgd`` replays the
store's pods on the real nodes. (The study's ledger property, on random nodes and pods, is in
test_shared_nodes.py.)"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tracekit as tk
from tracekit.cli import app
from tracekit.replay.placements import PLACEMENTS
from tracekit.replay.studies import openb as study


def _real_openb() -> Path:
    """``shared/real/openb`` beside the repository (the first ancestor that has it)."""
    for parent in Path(__file__).resolve().parents:
        folder = parent / "shared" / "real" / "openb"
        if (folder / "openb_pod_list_default.csv").is_file():
            return folder
    raise FileNotFoundError("shared/real/openb is not beside the repository")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the production pod list and the real nodes (``tracekit ingest openb``)."""
    root = tmp_path_factory.mktemp("openb") / "store"
    result = CliRunner().invoke(app, ["ingest", "openb", str(_real_openb()), "--store", str(root)])
    assert result.exit_code == 0, result.output
    return root


def _tables(root: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    store = tk.open_store(root)
    return (
        store.machines("openb", "default").collect(),
        store.scan("pod_specs", "openb", "default").collect(),
    )


def test_fgd_leaves_fewer_gpus_unallocated_than_best_fit_on_the_real_trace(real: Path) -> None:
    machines, specs = _tables(real)
    curve = study.compare_placements(machines, specs, ("best-fit", "fgd"), max_load=1.0, step=0.25)
    at = study.unallocated_at(curve, 1.0)
    share = dict(zip(at["placement"], at["unallocated_share"], strict=True))
    # Seed 7, 100 % arrived load, 6,212 GPUs: the figures docs/openb.md reports (0.01 %).
    assert round(100 * share["fgd"], 2) == 5.32
    assert round(100 * share["best-fit"], 2) == 7.20
    assert share["fgd"] < share["best-fit"]
    assert at["placement"].to_list() == ["fgd", "best-fit"]
    for policy in ("best-fit", "fgd"):
        rows = curve.filter(pl.col("placement") == policy)
        assert rows["arrived_share"].to_list() == [0.25, 0.5, 0.75, 1.0]
        assert (rows["unallocated_share"].diff().drop_nulls() >= 0).all()
        assert rows["fragmentation_rate"][-1] > 0.9  # the few free GPUs are nearly all unusable


def test_cli_replays_the_store_pods_on_the_real_nodes(real: Path, tmp_path: Path) -> None:
    out = tmp_path / "fgd.csv"
    args = ["replay", "--store", str(real), "--trace", "openb", "--cluster", "default",
            "--resources", "shared", "--placement", "fgd", "--start", "2022-05-18",
            "--end", "2022-05-20", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "replay.group_from_pod_specs" in result.output
    got = pl.read_csv(out)
    assert got.height > 100 and got["nodes"].null_count() == 0
    node = got["nodes"].str.split(":").list.first()
    machines = tk.open_store(real).machines("openb", "default").collect()
    gpus = dict(zip(machines["machine_id"], machines["num_gpus"], strict=True))
    used = got["nodes"].str.split(":").list.last().cast(pl.Int64)
    assert all(used[i] <= gpus[n] for i, n in enumerate(node))
    # A whole-GPU placement with shared GPUs: one line naming the shared-GPU placements.
    bad = CliRunner().invoke(app, [*args[:9], "--placement", "spread"], env={"COLUMNS": "200"})
    assert bad.exit_code == 2 and "shared-GPU placement must be one of" in bad.output


def test_help_lists_every_shared_gpu_placement_on_one_line() -> None:
    result = CliRunner().invoke(app, ["replay", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    lines = result.output.splitlines()
    for name in PLACEMENTS:
        assert sum(1 for ln in lines if ln.split()[:1] == [name]) == 1, name
