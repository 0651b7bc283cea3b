"""Shared test helpers: paths to the tiny raw fixtures and to the real files shipped beside the
project (``../shared/real``, present on the project's machines and in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``tests/fixtures``: tiny raw files per trace, in the traces' exact formats."""
    return TESTS / "fixtures"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top folder (README.md, Makefile)."""
    return ROOT
