"""Fixtures shared by the reader tests: every reader's test input (with the options it needs),
fresh copies of the tiny raw fixtures, and a check of a whole store against the value
contract."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tracekit.sources._validate import store_violations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: Reader -> (its test input, the options it needs): hand-written files in the trace's exact
#: format (``tests/fixtures/<trace>``), or the shipped examples of the generic readers.
READER_INPUTS: dict[str, tuple[Path, dict[str, Any]]] = {
    "helios": (FIXTURES / "helios", {}),
    "philly": (FIXTURES / "philly", {}),
    "pai": (FIXTURES / "pai", {}),
    "openb": (FIXTURES / "openb", {}),
    "acme": (FIXTURES / "acme", {}),
    "csv": (EXAMPLES / "slurm_sacct.txt", {"mapping": EXAMPLES / "slurm_sacct.toml"}),
    "swf": (EXAMPLES / "example.swf", {}),
}


def cli_options(options: dict[str, Any]) -> list[str]:
    """The ``tracekit ingest`` arguments for reader options (``mapping``, ``clusters``)."""
    args: list[str] = []
    for key, value in options.items():
        text = ",".join(value) if isinstance(value, list | tuple) else str(value)
        args += [f"--{key.replace('_', '-')}", text]
    return args


@pytest.fixture
def reader_input() -> Callable[[str], tuple[Path, dict[str, Any]]]:
    """``reader_input(trace)``: the reader's test input and the options it needs."""
    return READER_INPUTS.__getitem__


@pytest.fixture
def ingest_args() -> Callable[[dict[str, Any]], list[str]]:
    """``ingest_args(options)``: the same options as ``tracekit ingest`` arguments."""
    return cli_options


@pytest.fixture
def raw_copy(tmp_path: Path) -> Callable[[str], Path]:
    """``raw_copy(trace)``: a writable copy of the reader's test input in a temporary folder (the
    folder; for the generic readers, which read one file, that file)."""

    def copy(trace: str) -> Path:
        dest = tmp_path / "raw" / trace
        source = READER_INPUTS[trace][0] if trace in READER_INPUTS else FIXTURES / trace
        if source.is_dir():
            shutil.copytree(source, dest)
        else:  # a generic reader's one file (and its mapping, when it has one)
            dest.mkdir(parents=True)
            shutil.copy(source, dest / source.name)
            return dest / source.name
        return dest

    return copy


@pytest.fixture
def assert_contract() -> Callable[[Path], None]:
    """``assert_contract(store)``: every stored table passes the store contract's value checks."""

    def check(store: Path) -> None:
        problems = store_violations(store)
        assert problems == [], problems

    return check
