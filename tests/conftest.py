"""Shared test helpers: paths to the tiny raw fixtures and to the real files shipped beside the
project (``../shared/real``, present on the project's machines and in CI)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
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


@pytest.fixture()
def read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Make a store folder unwritable: by its mode bits, and for root (who ignores them) by
    refusing to open files for writing there, as the kernel does for everyone else. The mode
    is restored at teardown."""
    from tracekit.store import _sweep

    made: list[Path] = []

    def make(root: Path) -> None:
        root.chmod(0o555)
        made.append(root)
        if os.geteuid() == 0:
            def refuse(path, mode="r", *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
                if Path(path).parent == root and any(c in mode for c in "wax+"):
                    raise PermissionError(errno.EACCES, "Permission denied", str(path))
                return open(path, mode, *args, **kwargs)

            monkeypatch.setattr(_sweep, "open", refuse, raising=False)

    yield make
    for root in made:
        root.chmod(0o755)
