"""Fixtures shared by the reader tests: fresh copies of the tiny raw fixtures, and a check of a
whole store against the value contract."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tracekit.sources._validate import store_violations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def raw_copy(tmp_path: Path) -> Callable[[str], Path]:
    """``raw_copy(trace)``: a writable copy of ``tests/fixtures/<trace>`` in a temporary folder."""

    def copy(trace: str) -> Path:
        dest = tmp_path / "raw" / trace
        shutil.copytree(FIXTURES / trace, dest)
        return dest

    return copy


@pytest.fixture
def assert_contract() -> Callable[[Path], None]:
    """``assert_contract(store)``: every stored table passes the store contract's value checks."""

    def check(store: Path) -> None:
        problems = store_violations(store)
        assert problems == [], problems

    return check
