"""Every reader through ``tracekit ingest`` (the CLI) and through Python, on the tiny fixtures and
on a tiny generated sample: both paths store the same tables, and progress is reported."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tracekit as tk
from tracekit import sample
from tracekit.cli import app
from tracekit.sample import SAMPLE_TRACES
from tracekit.sources import READERS
from tracekit.sources import ingest as ingest_trace

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The real files sit beside the repository (``../shared/real``); TRACEKIT_REAL_DATA points
# elsewhere (e.g. from a worktree). openb is small enough to test on the real trace.
REAL = Path(
    os.environ.get("TRACEKIT_REAL_DATA", Path(__file__).resolve().parents[3] / "shared" / "real")
)
# Readers that still call on_progress(stage) with the stage alone (their own subpackages); the
# CLI accepts both, and these are to move to on_progress(stage, done, total).
PROGRESS_PENDING = frozenset({"openb", "acme"})
# Where each reader's raw files sit inside a sample folder.
SAMPLE_INPUT = {trace: trace for trace in SAMPLE_TRACES}


def _test_input(trace: str) -> Path:
    """The hand-written fixture of a reader, or the real files when the trace ships none."""
    return FIXTURES / trace if (FIXTURES / trace).is_dir() else REAL / trace


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


def _cli_and_python_agree(raw: Path, trace: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", trace, str(raw), "--store", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    assert f"{trace} ingested into" in result.output
    stages: list[tuple[str, int | None, int | None]] = []
    ingest_trace(trace, raw, tmp_path / "py", on_progress=lambda *a: stages.append(a))
    assert stages and all(isinstance(s[0], str) for s in stages)
    if trace not in PROGRESS_PENDING:  # on_progress(stage, done, total)
        assert all(len(s) == 3 for s in stages), stages
    cli, py = _tables(tmp_path / "cli"), _tables(tmp_path / "py")
    assert cli.keys() == py.keys() and "jobs" in cli
    for table in cli:
        assert cli[table].equals(py[table]), table
    assert cli["jobs"].height > 0


def test_every_reader_has_a_test_input() -> None:
    assert all(_test_input(trace).is_dir() for trace in READERS)


@pytest.mark.parametrize("trace", sorted(READERS))
def test_cli_ingest_on_fixtures(trace: str, tmp_path: Path) -> None:
    _cli_and_python_agree(_test_input(trace), trace, tmp_path)


@pytest.mark.parametrize("trace", sorted(SAMPLE_INPUT))
def test_cli_ingest_on_tiny_sample(trace: str, tiny_sample: Path, tmp_path: Path) -> None:
    _cli_and_python_agree(tiny_sample / SAMPLE_INPUT[trace], trace, tmp_path)


@pytest.mark.parametrize("trace", sorted(READERS))
def test_cli_ingest_bad_input_is_one_line(trace: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    result = CliRunner().invoke(app, ["ingest", trace, str(bad), "--store", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert str(bad.name) in result.output


def test_cli_strict_refuses_impossible_values(tmp_path: Path, raw_copy) -> None:
    raw = raw_copy("philly")
    util = raw / "trace-data" / "cluster_gpu_util"
    util.write_text(util.read_text().replace("60.8,", "-40,", 1))
    args = ["ingest", "philly", str(raw), "--store", str(tmp_path / "s")]
    result = CliRunner().invoke(app, [*args, "--strict"])
    assert result.exit_code == 2 and "philly.gpu_util.util_negative" in result.output
    assert CliRunner().invoke(app, args).exit_code == 0
