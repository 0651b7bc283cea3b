"""``tracekit predict`` on bad requests: one red line naming what is wrong, exit code 2."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracekit.cli import app
from tracekit.cli import predict as predict_cli
from tracekit.predict import DEFAULT_SEED
from tracekit.store import begin

runner = CliRunner()


def one_error_line(args: list[str]) -> str:
    """Run ``tracekit ARGS``; check it failed with exit code 2 and one line; return the line."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    return lines[0].removeprefix("error: ")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--trace", "nope"], "no trace 'nope'; present: helios"),
        (["--trace", "helios", "--cluster", "Mars"],
         "(helios): no cluster 'Mars'; present: Earth, Saturn, Uranus, Venus"),
        (["--trace", "helios", "--model", "oracle"],
         "unknown model 'oracle'; choose one of lgbm, user-median, global-median, helios-mix"),
        (["--trace", "helios", "--train-until", "garbage"],
         "train_until: 'garbage' is not a date or time: expected YYYY-MM-DD"),
        (["--trace", "helios", "--cluster", "Venus", "--train-until", "2030-01-01"],
         "helios/Venus: no finished GPU job was submitted at or after 2030-01-01: the test set "
         "would be empty; choose a train-until after"),
        (["--trace", "helios", "--cluster", "Venus", "--train-until", "2001-01-01"],
         "helios/Venus: no finished GPU job ended before 2001-01-01: the training set would be "
         "empty; choose a train-until after"),
    ],
)
def test_bad_requests(helios_sample_store: Path, args: list[str], expected: str) -> None:
    line = one_error_line(["predict", *args, "--store", str(helios_sample_store)])
    assert expected in line


def test_no_store_and_an_empty_store(tmp_path: Path) -> None:
    line = one_error_line(["predict", "--trace", "helios", "--store", str(tmp_path / "none")])
    assert line == f"{tmp_path / 'none'}: no manifest.json; not a tracekit store (run `tracekit " \
        "ingest`)"
    with begin(tmp_path / "empty", "helios"):
        pass
    line = one_error_line(["predict", "--trace", "helios", "--store", str(tmp_path / "empty")])
    assert line.startswith(f"{tmp_path / 'empty'}: the store holds no trace yet; ingest one first")


def test_damaged_manifest(helios_store: Path) -> None:
    (helios_store / "manifest.json").write_text('{"partitions": ')
    line = one_error_line(["predict", "--trace", "helios", "--store", str(helios_store)])
    assert line.startswith(f"{helios_store / 'manifest.json'}: damaged store manifest: not valid "
                           "JSON")
    assert f"`tracekit ingest TRACE RAW_PATH --store {helios_store}`" in line


def test_read_only_store(helios_store: Path, read_only: Callable[[Path], None]) -> None:
    read_only(helios_store)
    line = one_error_line(["predict", "--trace", "helios", "--cluster", "Earth", "--model",
                           "user-median", "--store", str(helios_store)])
    assert line.startswith(f"{helios_store}: cannot write to the store (Permission denied")


def test_names_ignore_case_and_the_seed_defaults_to_7(helios_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "metrics.csv"
    result = runner.invoke(app, ["predict", "--trace", "Helios", "--cluster", "earth",
                                 "--model", "lgbm", "--store", str(helios_store),
                                 "--metrics-out", str(out)])
    assert result.exit_code == 0, result.output
    assert "helios" in out.read_text() and "Earth" in out.read_text()
    manifest = json.loads((helios_store / "manifest.json").read_text())
    assert manifest["partitions"]["helios/Earth"]["rows"]["predictions"] > 0
    seed = inspect.signature(predict_cli.command).parameters["seed"].default
    assert seed == DEFAULT_SEED == 7
