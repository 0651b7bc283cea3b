"""openb reader: the real node and pod lists (counts checked against the CSVs themselves), the
status and time mapping, the published variants, and errors that name file and line."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tracekit as tk
from tracekit.cli import app
from tracekit.errors import TraceFormatError
from tracekit.sources import openb

runner = CliRunner()


NODE_HEADER = ",".join(openb.NODE_HEADER)
POD_HEADER = ",".join(openb.POD_HEADER)
# Hand-written rows in the real layout (not copied from the trace).
NODES = [
    "node-a,32000,262144,0,",
    "node-b,96000,393216,8,G2",
    "node-c,64000,262144,2,P100",
    "node-d,32000,131072,4,V100M16",
]
PODS = [
    "pod-0,4000,15258,1,220,,BE,Running,100,5000,100",  # deleted while running -> canceled
    "pod-1,12000,24576,1,1000,V100M16|V100M32,LS,Running,200,9000,203",  # at the end -> censored
    "pod-2,8000,30517,0,0,,BE,Succeeded,300,900,300",  # CPU-only
    "pod-3,88000,327680,8,1000,,Burstable,Failed,400,1400,410",
    "pod-4,6000,12288,1,460,T4,LS,Pending,500,2500,",  # never scheduled -> canceled
    "pod-5,16000,32768,2,1000,G2,Guaranteed,Succeeded,600,1600,700",
]


def _write(folder: Path, nodes: list[str], pods: list[str], variant: str = "default") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / openb.NODE_FILE).write_text("\n".join([NODE_HEADER, *nodes]) + "\n")
    pod_file = folder / f"{openb.POD_FILE_PREFIX}{variant}.csv"
    pod_file.write_text("\n".join([POD_HEADER, *pods]) + "\n")
    return folder


# ---- the real files -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real(real_data: Path) -> Path:
    """The real openb files (node lists, the four pod lists, the README)."""
    return real_data / "openb"


@pytest.fixture(scope="module")
def csv_rows(real: Path):
    """``csv_rows(name)``: the rows of a real openb file, read with the csv module."""

    def rows(name: str) -> list[dict[str, str]]:
        with open(real / name, newline="") as fh:
            return list(csv.DictReader(fh))

    return rows


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory, real: Path) -> tk.Store:
    root = tmp_path_factory.mktemp("openb")
    result = runner.invoke(app, ["ingest", "openb", str(real), "--store", str(root)])
    assert result.exit_code == 0, result.output
    return tk.open_store(root)


def test_real_counts_match_the_csv(real_store: tk.Store, csv_rows) -> None:
    pods = csv_rows("openb_pod_list_default.csv")
    nodes = csv_rows(openb.NODE_FILE)
    rows = {r["table"]: r["rows"] for r in real_store.rows().iter_rows(named=True)}
    assert rows["jobs"] == len(pods) == 8152
    assert rows["machines"] == len(nodes) == 1523
    gpus_by_model: Counter[str] = Counter()
    for n in nodes:
        if int(n["gpu"]):
            gpus_by_model[n["model"]] += int(n["gpu"])
    capacity = real_store.capacity("openb").collect()
    assert dict(zip(capacity["vc"], capacity["num_gpus"], strict=True)) == gpus_by_model
    assert sum(gpus_by_model.values()) == 6212
    machines = real_store.machines("openb").collect()
    assert machines["num_gpus"].sum() == 6212


def test_real_fractional_share_matches_the_csv(real_store: tk.Store, csv_rows) -> None:
    pods = csv_rows("openb_pod_list_default.csv")
    sharing = sum(1 for p in pods if int(p["num_gpu"]) == 1 and 0 < int(p["gpu_milli"]) < 1000)
    jobs = real_store.jobs("openb").collect()
    fractional = jobs.filter((pl.col("num_gpus") > 0) & (pl.col("num_gpus") < 1)).height
    assert fractional == sharing
    assert fractional / jobs.height == pytest.approx(sharing / len(pods), abs=0)
    # num_gpus is num_gpu x gpu_milli / 1000 for every pod
    expected = sorted(int(p["num_gpu"]) * int(p["gpu_milli"]) for p in pods)
    assert sorted(round(g * 1000) for g in jobs["num_gpus"]) == expected


def test_real_status_and_times(real_store: tk.Store, csv_rows) -> None:
    jobs = real_store.jobs("openb").collect()
    pods = {p["name"]: p for p in csv_rows("openb_pod_list_default.csv")}
    end = max(int(p["deletion_time"]) for p in pods.values())
    at_end = {n for n, p in pods.items() if int(p["deletion_time"]) == end}
    censored = set(jobs.filter(pl.col("status") == "censored")["job_id"])
    assert censored == {n for n in at_end if pods[n]["pod_phase"] in ("Running", "Pending")}
    by_phase = Counter(p["pod_phase"] for p in pods.values())
    assert jobs.filter(pl.col("raw_status") == "Failed").height == by_phase["Failed"]
    pending = jobs.filter(pl.col("raw_status") == "Pending")
    assert pending["start_time"].null_count() == pending.height == by_phase["Pending"]
    assert pending["queue_s"].null_count() == pending.height
    manifest = real_store.manifest["partitions"]["openb/default"]
    assert manifest["time_origin"] == openb.TIME_ORIGIN_ISO
    first = jobs.filter(pl.col("job_id") == "openb-pod-0000")["submit_time"].item()
    assert first == openb.TIME_ORIGIN  # raw second 0 is the nominal origin


def test_real_variants_are_clusters(tmp_path: Path, real: Path, csv_rows) -> None:
    summary = tk.ingest("openb", real, tmp_path, clusters=["gpuspec33", "multigpu50"])
    assert set(summary) == {"gpuspec33", "multigpu50"}
    store = tk.open_store(tmp_path)
    specs = store.scan("pod_specs", "openb", "gpuspec33").collect()
    rows = csv_rows("openb_pod_list_gpuspec33.csv")
    constrained = sum(1 for r in rows if int(r["num_gpu"]) > 0 and r["gpu_spec"])
    assert specs.filter(pl.col("gpu_spec").is_not_null()).height == constrained
    short = store.jobs("openb", "multigpu50").collect()
    assert short.height == len(csv_rows("openb_pod_list_multigpu50.csv"))
    # No times published: every pod arrives at the origin (the store requires a submission),
    # censored, with Kubernetes' "Unknown" as its raw phase; all counted.
    assert set(short["submit_time"]) == {openb.TIME_ORIGIN}
    assert short["start_time"].null_count() == short.height
    assert set(short["status"]) == {"censored"} and set(short["raw_status"]) == {"Unknown"}
    quality = store.quality().filter(pl.col("cluster") == "multigpu50")
    counts = dict(quality.select("rule", "count").iter_rows())
    assert counts["openb.no_times_submitted_at_origin"] == short.height


# ---- mapping on hand-written files --------------------------------------------------------------
@pytest.fixture()
def small(tmp_path: Path) -> tk.Store:
    tk.ingest("openb", _write(tmp_path / "raw", NODES, PODS), tmp_path / "store")
    return tk.open_store(tmp_path / "store")


def test_mapping(small: tk.Store) -> None:
    jobs = {r["job_id"]: r for r in small.jobs("openb").collect().iter_rows(named=True)}
    assert jobs["pod-0"]["status"] == "canceled" and jobs["pod-0"]["duration_s"] == 4900.0
    assert jobs["pod-0"]["num_gpus"] == pytest.approx(0.22)
    assert jobs["pod-1"]["status"] == "censored" and jobs["pod-1"]["end_time"] is None
    assert jobs["pod-1"]["queue_s"] == 3.0 and jobs["pod-1"]["duration_s"] is None
    assert jobs["pod-2"]["status"] == "completed" and jobs["pod-2"]["num_gpus"] == 0.0
    assert jobs["pod-3"]["status"] == "failed" and jobs["pod-3"]["gpu_time_s"] == 8 * 990.0
    assert jobs["pod-4"]["start_time"] is None and jobs["pod-4"]["queue_s"] is None
    assert jobs["pod-4"]["raw_status"] == "Pending" and jobs["pod-4"]["status"] == "canceled"
    assert jobs["pod-5"]["num_cpus"] == 16.0 and jobs["pod-5"]["mem_gb"] == 32.0
    specs = {r["job_id"]: r for r in small.scan("pod_specs").collect().iter_rows(named=True)}
    assert specs["pod-1"]["gpu_spec"] == ["V100M16", "V100M32"]
    assert specs["pod-0"]["gpu_spec"] is None and specs["pod-0"]["gpu_milli"] == 220
    assert specs["pod-5"]["qos"] == "Guaranteed"
    quality = small.quality().filter(pl.col("count") > 0)
    counts = dict(zip(quality["rule"], quality["count"], strict=True))
    assert counts == {"openb.censored_end_cleared": 1, "openb.deleted_before_final_phase": 2}
    machines = small.machines("openb").collect().sort("machine_id")
    assert machines["gpu_type"].to_list() == [None, "G2", "P100", "V100M16"]
    assert machines["gpu_mem_gb"].to_list() == [None, None, 16.0, 16.0]


# ---- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pods", "line", "problem"),
    [
        ([PODS[0], "pod-x,4000,15258,one,220,,BE,Running,1,2,1"], 3, "num_gpu is not"),
        (
            [PODS[0], "pod-x,4000,15258,1,220,,BE,Running,1,2"],
            3,
            "expected 11 comma-separated fields, found 10",
        ),
        ([PODS[0], PODS[1], "pod-x,4000,15258,1,1200,,BE,Running,1,2,1"], 4, "gpu_milli is above"),
        (["pod-x,4000,15258,9,1000,,BE,Running,1,2,1"], 2, "num_gpu is above 8"),
        ([PODS[0], PODS[0]], 3, "duplicate pod name"),
        (["pod-x,4000,15258,1,220,,BE,Running,,2,1"], 2, "creation_time is not"),
        (["pod-x,-4000,15258,1,220,,BE,Running,1,2,1"], 2, "cpu_milli is not"),
    ],
)
def test_bad_pod_rows_name_file_and_line(
    tmp_path: Path, pods: list[str], line: int, problem: str
) -> None:
    raw = _write(tmp_path, NODES, pods)
    with pytest.raises(TraceFormatError) as err:
        tk.ingest("openb", raw, tmp_path / "store")
    assert err.value.path.endswith("openb_pod_list_default.csv") and err.value.line == line
    assert problem in err.value.problem
    assert not (tmp_path / "store" / "manifest.json").exists()  # nothing committed


def test_bad_node_list_and_missing_files(tmp_path: Path) -> None:
    raw = _write(tmp_path / "a", [*NODES, "node-e,32000,131072,4,"], PODS)
    with pytest.raises(TraceFormatError, match=r"all_node.csv, line 6: a node with GPUs"):
        tk.ingest("openb", raw, tmp_path / "s")
    (raw / openb.NODE_FILE).write_text("sn,cpu\nx,1\n")
    with pytest.raises(TraceFormatError, match="line 1: unexpected header"):
        tk.ingest("openb", raw, tmp_path / "s")
    with pytest.raises(TraceFormatError, match="pod lists not found for"):
        tk.ingest("openb", _write(tmp_path / "b", NODES, PODS), tmp_path / "s", clusters=["x"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(TraceFormatError, match="no openb_node_list_all_node.csv"):
        tk.ingest("openb", tmp_path / "empty", tmp_path / "s")


def test_lenient_mode_counts_and_skips(tmp_path: Path) -> None:
    raw = _write(tmp_path, NODES, [*PODS, "pod-x,4000,15258,one,220,,BE,Running,1,2,1"])
    tk.ingest("openb", raw, tmp_path / "store", lenient=True)
    store = tk.open_store(tmp_path / "store")
    assert store.jobs("openb").collect().height == len(PODS)
    quality = store.quality()
    assert quality.filter(pl.col("rule") == "openb.unparseable_row")["count"].item() == 1


def test_cli_error_is_one_line_with_exit_2(tmp_path: Path) -> None:
    raw = _write(tmp_path, NODES, [PODS[0], "pod-x,4000,15258,one,220,,BE,Running,1,2,1"])
    result = runner.invoke(app, ["ingest", "openb", str(raw), "--store", str(tmp_path / "s")])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "openb_pod_list_default.csv, line 3: num_gpu is not a non-negative integer" in text
    assert "Traceback" not in result.output
