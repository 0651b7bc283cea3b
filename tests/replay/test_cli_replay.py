"""``tracekit replay`` from CSV files and from the store: every policy, the shared-GPU options,
one-line errors that list what is available, ``--repair``."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tracekit.cli import app
from tracekit.replay.policies import POLICIES

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def invoke(*args: str):  # noqa: ANN201 - click Result
    return runner.invoke(app, ["replay", *args], env=WIDE)


def csv_inputs(tmp_path: Path, rows: list[str], vcs: str = "vc,nodes\nv,1\n") -> list[str]:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("job_id,vc,submit_time,duration_s,num_gpus,pred_duration_s,user\n"
                    + "\n".join(rows) + "\n")  # fmt: skip
    vc = tmp_path / "vcs.csv"
    vc.write_text(vcs)
    return ["--jobs-csv", str(jobs), "--vcs-csv", str(vc)]


def test_help_lists_every_policy_on_one_line() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    for name in POLICIES:
        assert sum(1 for ln in lines if ln.split()[:1] == [name]) == 1, name
    assert "--repair" in result.output and "--store" in result.output


def test_lucid_and_shared_gpu_options_on_csv(tmp_path: Path) -> None:
    # Two 1-GPU jobs with low utilisation share the only GPU under Lucid.
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "job_id,vc,submit_time,duration,num_gpus,pred_duration,util\n"  # the earlier names
        "a,v,0,100,1,100,0.3\nb,v,1,100,1,100,0.4\n"
    )
    vcs = tmp_path / "vcs.csv"
    vcs.write_text("vc,nodes,gpus_per_node\nv,1,1\n")
    out = tmp_path / "out.csv"
    result = invoke("--jobs-csv", str(jobs), "--vcs-csv", str(vcs), "--policy", "lucid",
                    "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    got = pl.read_csv(out)
    assert got["start_time"].to_list() == [0.0, 1.0]  # packed, not queued
    assert got["end_time"].min() > 100.0  # colocated jobs slow down
    # Fractional GPUs: two half-GPU jobs (30 % utilisation each) share the GPU at full speed
    # (kappa 0); with at most one job per GPU they queue.
    jobs.write_text(
        "job_id,vc,submit_time,duration_s,num_gpus,pred_duration_s,util\n"
        "a,v,0,100,0.5,100,0.3\nb,v,0,100,0.5,100,0.3\n"
    )
    half = ["--jobs-csv", str(jobs), "--vcs-csv", str(vcs), "--out", str(out)]
    result = invoke(*half, "--resources", "shared", "--share-by", "request", "--kappa", "0")
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out)["end_time"].to_list() == [100.0, 100.0]
    result = invoke(*half, "--max-jobs-per-gpu", "1")
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out)["start_time"].to_list() == [0.0, 100.0]


def test_csv_errors_are_one_line_and_repair_counts(tmp_path: Path) -> None:
    args = csv_inputs(tmp_path, ["a,v,0,100,1,,u", "b,v,1e300,5,1,,u", "c,v,2,-3,1,,u"])
    result = invoke(*args)
    assert result.exit_code == 2
    message = result.output.strip()
    assert len(message.splitlines()) == 1, message
    assert "jobs.csv, line 3" in message and "--repair" in message and "Traceback" not in message
    result = invoke(*args, "--repair", "--out", str(tmp_path / "o.csv"))
    assert result.exit_code == 0, result.output
    assert "replay.time_out_of_range" in result.output
    assert "replay.nonpositive_duration" in result.output
    assert pl.read_csv(tmp_path / "o.csv")["job_id"].to_list() == ["a"]


def test_core_option_gives_the_same_output(tmp_path: Path) -> None:
    args = csv_inputs(tmp_path, ["a,v,0,100,8,50,u", "b,v,1,30,4,9,u", "c,v,2,10,4,80,u"])
    outs = {}
    for core in ("compiled", "python"):
        out = tmp_path / f"{core}.csv"
        result = invoke(*args, "--policy", "srtf", "--core", core, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert f"replayed on the {core} core" in result.output
        outs[core] = out.read_text()
    assert outs["compiled"] == outs["python"]
    # Shared GPUs: Lucid and every placement but FGD run compiled; FGD in Python.
    for core in ("compiled", "python"):
        out = tmp_path / f"lucid-{core}.csv"
        result = invoke(*args, "--policy", "lucid", "--core", core, "--out", str(out))
        assert result.exit_code == 0 and f"replayed on the {core} core" in result.output
        outs[core] = out.read_text()
    assert outs["compiled"] == outs["python"]
    result = invoke(*args, "--resources", "shared", "--placement", "fgd", "--core", "compiled")
    assert result.exit_code == 2
    assert "compiled core does not run placement 'fgd'" in " ".join(result.output.split())


def test_csv_argument_errors(tmp_path: Path) -> None:
    args = csv_inputs(tmp_path, ["a,v,0,100,1,50,u"])
    result = invoke(*args, "--policy", "lifo")
    assert result.exit_code == 2
    assert "unknown policy 'lifo'; known: fifo, sjf" in result.output
    assert "lucid" in result.output
    result = invoke(*args, "--policy", "srtf", "--resources", "shared")
    assert result.exit_code == 2 and "whole GPUs only" in result.output
    result = invoke(args[0], args[1])
    assert result.exit_code == 2 and "give both --jobs-csv and --vcs-csv" in result.output


def test_store_qssf_with_the_predictions_predict_wrote(sample_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = invoke("--store", str(sample_store), "--trace", "helios", "--cluster", "Venus",
                    "--policy", "qssf", "--model", "lgbm", "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "replay qssf on helios/Venus" in result.output
    got = pl.read_csv(out)
    assert got.height > 100 and got["start_time"].is_not_null().all()
    # FIFO needs no predictions; Lucid runs on the store's VCs as GPU groups.
    for policy in ("fifo", "tiresias"):
        result = invoke("--store", str(sample_store), "--trace", "helios", "--cluster", "Venus",
                        "--policy", policy)  # fmt: skip
        assert result.exit_code == 0, result.output
    result = invoke("--store", str(sample_store), "--trace", "helios", "--cluster", "Venus",
                    "--policy", "lucid", "--model", "lgbm")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "replay lucid on helios/Venus" in result.output


def test_store_errors_list_what_is_there(sample_store: Path) -> None:
    base = ["--store", str(sample_store)]
    result = invoke(*base, "--trace", "helio", "--cluster", "Venus")
    assert result.exit_code == 2 and "no trace 'helio'; present: helios" in result.output
    result = invoke(*base, "--trace", "helios", "--cluster", "Venuss")
    assert result.exit_code == 2
    assert "present: Earth, Saturn, Uranus, Venus" in result.output
    assert invoke(*base, "--trace", "Helios", "--cluster", "venus").exit_code == 0
    result = invoke(*base, "--trace", "helios", "--cluster", "Venus", "--policy", "qssf",
                    "--model", "xgb")  # fmt: skip
    assert result.exit_code == 2 and "models: lgbm" in result.output
    result = invoke(*base, "--trace", "helios", "--cluster", "Earth", "--policy", "qssf")
    assert result.exit_code == 2 and "tracekit predict" in result.output
    result = invoke(*base, "--trace", "helios")
    assert result.exit_code == 2 and "a cluster is needed; clusters: Earth" in result.output


def test_shared_gpu_options_are_checked_not_replaced(tmp_path: Path) -> None:
    args = csv_inputs(
        tmp_path, ["a,v,0,100,1,50,u", "b,v,1,100,1,50,u"], "vc,nodes,gpus_per_node\nv,1,1\n"
    )
    result = invoke(*args, "--max-jobs-per-gpu", "0")
    assert (
        result.exit_code == 2
        and "--max-jobs-per-gpu must be an integer >= 1, got 0" in result.output
    )
    result = invoke(*args, "--policy", "lucid", "--share-by", "foo")
    assert (
        result.exit_code == 2 and "must be one of ('request', 'usage'), got 'foo'" in result.output
    )
    result = invoke(*args, "--policy", "lucid", "--max-jobs-per-gpu", "3")
    assert (
        result.exit_code == 2
        and "lucid sets --max-jobs-per-gpu 2 itself; drop --max-jobs-per-gpu" in result.output
    )
    result = invoke(*args, "--policy", "lucid", "--share-by", "request")
    assert (
        result.exit_code == 2
        and "lucid sets --share-by 'usage' itself; drop --share-by" in result.output
    )
    assert invoke(*args, "--policy", "lucid", "--share-by", "usage").exit_code == 0
    # One job per GPU: the second job waits for the first.
    out = tmp_path / "out.csv"
    result = invoke(*args, "--max-jobs-per-gpu", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out)["start_time"].to_list() == [0.0, 100.0]


def test_the_store_defaults_to_data_parquet(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("--trace", "helios", "--cluster", "Venus")
    assert result.exit_code == 2 and "data/parquet: no manifest.json" in result.output
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "parquet").symlink_to(sample_store)
    result = invoke("--trace", "helios", "--cluster", "Venus")
    assert result.exit_code == 0, result.output
    assert "replay fifo on helios/Venus" in result.output


def test_the_output_fits_80_columns(sample_store: Path) -> None:
    base = ["replay", "--store", str(sample_store), "--trace", "helios", "--cluster", "Venus"]
    result = runner.invoke(app, base, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "…" not in out and "row 1" not in out and "-1" not in out
    # The summary is turned: one column per VC, headed by its name, and `all`.
    head = [ln for ln in out.splitlines() if ln.startswith("┃ vc ")][-1]
    vcs = [c.strip() for c in head.split("┃")[2:-1]]
    assert vcs[-1] == "all" and {"vcEwI", "vchbv"} <= set(vcs)
    # Offered load: the whole window of each VC (`all`) and only the overloaded days.
    lines = out.splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.startswith("┃ vc ") and "period" in ln)
    last = next(i for i in range(first, len(lines)) if lines[i].startswith("└"))
    rows = [[c.strip() for c in ln.split("│")[1:-1]] for ln in lines[first + 2 : last]]
    assert [r[1] for r in rows].count("all") == len(vcs) - 1
    assert all(float(r[5]) > 1 for r in rows if r[1] != "all")
    full = runner.invoke(app, [*base, "--feasibility"], env={"COLUMNS": "80"})
    assert full.exit_code == 0
    assert full.output.count("\n") > out.count("\n") + 20


def test_errors_name_the_flags_typed(tmp_path: Path, sample_store: Path) -> None:
    args = csv_inputs(tmp_path, ["a,v,0,100,1,50,u"])
    for flag, value, said in (
        ("--resources", "foo", "--resources must be one of ('auto', 'whole', 'shared')"),
        ("--type-affinity", "foo", "--type-affinity must be one of"),
        ("--share-by", "foo", "--share-by must be one of"),
        ("--core", "gpu", "--core must be one of"),
        ("--kappa", "2", "--kappa must be in [0, 1)"),
    ):
        result = invoke(*args, flag, value)
        assert result.exit_code == 2, (flag, result.output)
        line = " ".join(result.output.split())
        assert said in line and "_" not in line.split("must")[0], line
    result = invoke("--store", str(sample_store), "--trace", "helios", "--cluster", "Venus",
                    "--start", "Sept")  # fmt: skip
    assert result.exit_code == 2 and "--start: 'Sept' is not a date" in result.output


def test_help_fits_80_columns_and_lists_every_placement() -> None:
    from tracekit.replay.engines.placement import PLACERS
    from tracekit.replay.placements import PLACEMENTS

    result = runner.invoke(app, ["replay", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "…" not in result.output and max(len(ln) for ln in lines) <= 80
    for name in (*PLACERS, *PLACEMENTS):
        assert sum(1 for ln in lines if ln.split()[:1] == [name]) == 1, name
    assert "job_id,vc,submit_time,duration_s,num_gpus" in result.output
