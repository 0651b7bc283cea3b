"""Every reader through ``tracekit ingest`` (the CLI) and through Python, on its test input (with
the options it needs) and on a tiny generated sample: both paths store the same tables, and
progress is reported as ``on_progress(stage, done, total)``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

import tracekit as tk
from tracekit import sample
from tracekit.cli import app
from tracekit.sample import SAMPLE_TRACES
from tracekit.sources import READERS
from tracekit.sources import ingest as ingest_trace

# Where each reader's raw files sit inside a sample folder.
SAMPLE_INPUT = {trace: trace for trace in SAMPLE_TRACES}


@pytest.fixture(scope="module")
def tiny_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    sample.generate(out, traces=list(SAMPLE_INPUT), scale=0.002, seed=7)
    # Philly's minute-level utilization dominates even a tiny sample: keep its first lines.
    for name in ("cluster_gpu_util", "cluster_cpu_util", "cluster_mem_util"):
        path = out / "philly" / "trace-data" / name
        with open(path, "rb") as fh:
            head = b"".join(line for _, line in zip(range(20_000), fh, strict=False))
        path.write_bytes(head)
    return out


def _tables(store: Path) -> dict[str, pl.DataFrame]:
    opened = tk.open_store(store)
    return {t: opened.scan(t).collect() for t in opened.tables}


def _cli_and_python_agree(
    raw: Path, trace: str, tmp_path: Path, options: dict[str, Any], args: list[str]
) -> None:
    cli_store, py_store = tmp_path / "cli", tmp_path / "py"
    result = CliRunner().invoke(app, ["ingest", trace, str(raw), "--store", str(cli_store),
                                      *args])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{trace} ingested into" in result.output
    stages: list[tuple[Any, ...]] = []
    ingest_trace(trace, raw, py_store, on_progress=lambda *a: stages.append(a), **options)
    # The one progress protocol: on_progress(stage, done, total), done and total int or None.
    assert stages and all(len(s) == 3 for s in stages), stages
    assert all(isinstance(s[0], str) for s in stages)
    assert all(v is None or isinstance(v, int) for s in stages for v in s[1:])
    cli, py = _tables(cli_store), _tables(py_store)
    assert cli.keys() == py.keys() and "jobs" in cli
    for table in cli:
        assert cli[table].equals(py[table]), table
    assert cli["jobs"].height > 0


def test_every_reader_has_a_test_input(reader_input: Callable) -> None:
    for trace in READERS:
        path, options = reader_input(trace)
        assert path.exists(), trace
        assert all(Path(v).is_file() for k, v in options.items() if k == "mapping")


@pytest.mark.parametrize("trace", sorted(READERS))
def test_cli_ingest_on_fixtures(
    trace: str, tmp_path: Path, reader_input: Callable, ingest_args: Callable
) -> None:
    raw, options = reader_input(trace)
    _cli_and_python_agree(raw, trace, tmp_path, options, ingest_args(options))


@pytest.mark.parametrize("trace", sorted(SAMPLE_INPUT))
def test_cli_ingest_on_tiny_sample(trace: str, tiny_sample: Path, tmp_path: Path) -> None:
    _cli_and_python_agree(tiny_sample / SAMPLE_INPUT[trace], trace, tmp_path, {}, [])


@pytest.mark.parametrize("trace", sorted(READERS))
def test_cli_ingest_bad_input_is_one_line(
    trace: str, tmp_path: Path, reader_input: Callable, ingest_args: Callable
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    args = ingest_args(reader_input(trace)[1])
    result = CliRunner().invoke(
        app, ["ingest", trace, str(bad), "--store", str(tmp_path / "s"), *args]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert str(bad.name) in result.output


def test_the_generic_reader_without_its_mapping_is_one_line(tmp_path: Path,
                                                            reader_input: Callable) -> None:
    raw, _ = reader_input("csv")
    result = CliRunner().invoke(app, ["ingest", "csv", str(raw), "--store", str(tmp_path / "s")])
    assert result.exit_code == 2 and "--mapping MAP.toml" in result.output
    assert "Traceback" not in result.output


def test_cli_strict_refuses_impossible_values(tmp_path: Path, raw_copy) -> None:
    raw = raw_copy("philly")
    util = raw / "trace-data" / "cluster_gpu_util"
    util.write_text(util.read_text().replace("60.8,", "-40,", 1))
    args = ["ingest", "philly", str(raw), "--store", str(tmp_path / "s")]
    result = CliRunner().invoke(app, [*args, "--strict"])
    assert result.exit_code == 2 and "philly.gpu_util.util_negative" in result.output
    assert CliRunner().invoke(app, args).exit_code == 0
