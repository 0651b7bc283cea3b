"""The command line: thin wrappers, clear errors, the synthetic flag shows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracekit.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "helios"
runner = CliRunner()


def test_ingest_then_info(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = runner.invoke(app, ["ingest", "helios", str(FIXTURES), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "Venus" in result.output and "capacity" in result.output
    info = runner.invoke(app, ["info", "--store", str(store)])
    assert info.exit_code == 0, info.output
    assert "helios/Venus" in info.output and "real data" in info.output
    assert "helios.zero_duration_kept" in info.output
    assert "helios.unknown_state" not in info.output  # zero counts only with --all
    info_all = runner.invoke(app, ["info", "--store", str(store), "--all"])
    assert "helios.unknown_state" in info_all.output


def test_ingest_bad_input_exits_2_with_message(tmp_path: Path) -> None:
    bad = tmp_path / "data" / "Venus"
    bad.mkdir(parents=True)
    (bad / "cluster_log.csv").write_text("job_id,user\n1,u\n")
    result = runner.invoke(app, ["ingest", "helios", str(tmp_path), "--store", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "cluster_log.csv, line 1: unexpected header" in " ".join(result.output.split())


def test_info_on_missing_store(tmp_path: Path) -> None:
    result = runner.invoke(app, ["info", "--store", str(tmp_path / "none")])
    assert result.exit_code == 2 and "not a tracekit store" in result.output


def test_sample_is_labelled_synthetic(tmp_path: Path) -> None:
    out = tmp_path / "sample"
    result = runner.invoke(
        app, ["sample", "--out", str(out), "--traces", "helios", "--scale", "0.002", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    store = tmp_path / "store"
    assert (
        runner.invoke(
            app, ["ingest", "helios", str(out / "helios"), "--store", str(store)]
        ).exit_code
        == 0
    )
    info = runner.invoke(app, ["info", "--store", str(store)])
    assert "SYNTHETIC sample" in info.output


def test_replay_csv(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "job_id,vc,submit_time,duration,num_gpus\na,vc1,0,100,8\nb,vc1,10,50,8\nc,vc1,20,10,8\n"
    )
    vcs = tmp_path / "vcs.csv"
    vcs.write_text("vc,nodes\nvc1,1\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        ["replay", "--jobs-csv", str(jobs), "--vcs-csv", str(vcs), "--policy", "sjf",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:8] == [
        "job_id", "vc", "submit_time", "start_time", "end_time", "queue_s", "jct_s", "preemptions",
    ]  # fmt: skip
    rows = {r.split(",")[0]: r.split(",") for r in lines[1:]}
    # one 8-GPU node: a runs 0-100; SJF then picks c (10 s) before b (50 s)
    assert float(rows["c"][header.index("start_time")]) == 100
    assert float(rows["b"][header.index("start_time")]) == 110


def test_replay_csv_workers_give_the_same_csv(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.csv"
    rows = [f"j{i},vc{i % 2},{i * 7},{(i * 37) % 500 + 1},{1 + i % 8}" for i in range(200)]
    jobs.write_text("job_id,vc,submit_time,duration,num_gpus\n" + "\n".join(rows) + "\n")
    vcs = tmp_path / "vcs.csv"
    vcs.write_text("vc,nodes\nvc0,1\nvc1,2\n")
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.csv"
        result = runner.invoke(
            app,
            ["replay", "--jobs-csv", str(jobs), "--vcs-csv", str(vcs), "--policy", "srtf",
             "--workers", workers, "--out", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outs.append(out.read_text())
    assert outs[0] == outs[1]
    assert int(sum(int(r.split(",")[-1]) for r in outs[0].splitlines()[1:])) > 0  # preemptions


# ---- damaged stores and `info --verify` ---------------------------------------------------------
def _error_line(result) -> str:  # noqa: ANN001 - a click Result
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0].removeprefix("error: ")


@pytest.fixture()
def helios_store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    result = runner.invoke(app, ["ingest", "helios", str(FIXTURES), "--store", str(store)])
    assert result.exit_code == 0, result.output
    return store


@pytest.mark.parametrize("text", ['{"partitions": {"helios/Venus": ', "{}", "[1, 2]"])
def test_damaged_manifest_info_and_ingest(helios_store: Path, text: str) -> None:
    manifest = helios_store / "manifest.json"
    manifest.write_text(text)
    rebuild = f"`tracekit ingest TRACE RAW_PATH --store {helios_store}`"
    info = _error_line(runner.invoke(app, ["info", "--store", str(helios_store)]))
    assert info.startswith(f"{manifest}: damaged store manifest: ") and rebuild in info
    assert runner.invoke(app, ["info", "--store", str(helios_store)]).stdout == ""
    ingest = runner.invoke(app, ["ingest", "helios", str(FIXTURES), "--store", str(helios_store)])
    line = _error_line(ingest)
    assert line.startswith(f"{manifest}: damaged store manifest: ") and rebuild in line
    assert manifest.read_text() == text


def test_info_verify(helios_store: Path) -> None:
    ok = runner.invoke(app, ["info", "--verify", "--store", str(helios_store)])
    assert ok.exit_code == 0, ok.output
    assert "verified: all 3 listed files exist and hold their rows" in ok.stdout
    manifest = json.loads((helios_store / "manifest.json").read_text())
    victim = manifest["partitions"]["helios/Venus"]["files"]["capacity"][0]
    (helios_store / victim).unlink()
    plain = runner.invoke(app, ["info", "--store", str(helios_store)])
    assert plain.exit_code == 0  # without --verify, info reads only the manifest
    bad = runner.invoke(app, ["info", "--verify", "--store", str(helios_store)])
    line = _error_line(bad)
    assert line == (
        f"{helios_store}: verify found 1 problem(s); first: {victim}: missing; fix: "
        f"`tracekit ingest helios RAW_PATH --store {helios_store}` (the table above lists them all)"
    )
    assert "verify: problems" in bad.stdout


def test_export_csv_writes_the_columns_docs_interop_lists(helios_store: Path,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "csv"
    result = runner.invoke(app, ["export", "csv", "--trace", "helios", "--store",
                                 str(helios_store), "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    docs = (Path(__file__).resolve().parents[1] / "docs" / "interop.md").read_text()
    section = docs.split("### `csv`", 1)[1]
    listed = section.split("`jobs.csv` (`", 1)[1].split("`", 1)[0]
    columns = listed.replace("[", "").replace("]", "").split(",")
    headers = {p.read_text().splitlines()[0] for p in out.glob("*/jobs.csv")}
    assert headers == {"job_id,vc,submit_time,duration_s,num_gpus,user"}
    assert set(next(iter(headers)).split(",")) | {"pred_duration_s"} == set(columns)


# ---- OS errors read like tracekit's own messages ------------------------------------------------
def test_a_file_as_the_store_is_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    expected = f"{afile}: not a store folder (it is a file)"
    assert _error_line(runner.invoke(app, ["info", "--store", str(afile)])) == expected
    swf = Path(__file__).resolve().parents[1] / "examples" / "example.swf"
    ingest = runner.invoke(app, ["ingest", "swf", str(swf), "--store", str(afile)])
    assert _error_line(ingest) == expected


def test_no_progress_frame_is_left_when_the_output_is_no_terminal(tmp_path: Path) -> None:
    missing = tmp_path / "nonexist"
    bad = runner.invoke(app, ["ingest", "helios", str(missing), "--store", str(tmp_path / "s")])
    assert _error_line(bad).startswith(f"{missing}: ")
    assert bad.stdout == ""  # no frozen spinner frame before the error
    good = runner.invoke(app, ["ingest", "helios", str(FIXTURES), "--store", str(tmp_path / "s")])
    assert good.exit_code == 0, good.output
    assert "ingest helios" not in good.stdout and good.stdout.lstrip().startswith("helios ingested")


def test_a_missing_sweep_config_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "sw" / "nonexist.toml"
    line = _error_line(runner.invoke(app, ["sweep", str(missing)]))
    assert line == f"{missing}: no such file or directory"


def test_one_line_names_the_file_of_an_os_error(tmp_path: Path) -> None:
    import errno

    from tracekit.cli._common import one_line

    err = FileExistsError(errno.EEXIST, "File exists", str(tmp_path / "x"))
    assert one_line(err) == f"{tmp_path / 'x'}: file exists"
    assert one_line(OSError("disk on fire")) == "disk on fire"  # no file: the message as is


def test_sample_prints_a_table_and_the_json_on_request(tmp_path: Path) -> None:
    from tracekit.sample import SAMPLE_TRACES

    args = ["sample", "--out", str(tmp_path / "s"), "--scale", "0.002", "--seed", "3"]
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "{" not in table.stdout and len(table.stdout.splitlines()) < 20, table.stdout
    cells = " ".join(table.stdout.replace("│", " ").split())
    assert "trace philly helios pai acme" in cells  # on its side: one row per trace
    assert "clusters philly Venus, Earth, Saturn, Uranus pai Seren, Kalos" in cells
    full = runner.invoke(app, [*args, "--json"])
    assert full.exit_code == 0, full.output
    summary = json.loads(full.stdout[full.stdout.index("{"):])
    assert set(SAMPLE_TRACES) <= set(summary) and summary["seed"] == 3
    jobs = [summary["philly"]["jobs"], summary["helios"]["jobs"],
            summary["pai"]["rows"]["pai_job_table"],
            summary["acme"]["Seren"]["jobs"] + summary["acme"]["Kalos"]["jobs"]]  # fmt: skip
    assert f"jobs {' '.join(map(str, jobs))} " in cells


def test_docs_sample_usage_matches_the_command() -> None:
    import typer.main

    docs = (Path(__file__).resolve().parents[1] / "docs" / "sample.md").read_text()
    usage = docs.split("## Use", 1)[1].split("\n## ", 1)[0]
    shell = usage.split("`tracekit sample", 1)[1].split("` does", 1)[0]
    documented = {w.strip("[]`,") for w in shell.split() if w.startswith(("--", "[--"))}
    command = typer.main.get_command(app).commands["sample"]  # type: ignore[attr-defined]
    options = {o for p in command.params for o in p.opts if o != "--help"}
    assert documented == options
    assert "not default" not in usage  # every sampled trace is generated by default


def test_predict_prints_its_splits_as_column_heads(tmp_path: Path) -> None:
    from tracekit.reports import ensure_sample_store

    store = ensure_sample_store(tmp_path / "store", 0.002, 7, ["helios"])
    base = ["predict", "--store", str(store), "--trace", "helios", "--model", "global-median"]
    result = runner.invoke(app, [*base, "--cluster", "Venus"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "metrics of the train and test jobs" in result.output
    assert "held-out" not in result.output and "row 1" not in result.output
    head = next(ln for ln in result.output.splitlines() if "split" in ln)
    assert [c.strip() for c in head.split("┃")[1:4]] == ["split", "train", "test"]


def test_cli_start_up_does_not_import_pandas() -> None:
    # pandas costs about a second of every command's start-up; only commands that use it pay.
    code = "import sys, tracekit.cli; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
