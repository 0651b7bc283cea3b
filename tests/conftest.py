"""Shared test helpers: paths to the tiny raw fixtures and to the real files shipped beside the
project (``shared/real``, present on the project's machines and in CI)."""

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


#: Where the real trace files are, when not beside the repository.
REAL_DATA_ENV = "TRACEKIT_REAL_DATA"


def find_real_data() -> Path | None:
    """The folder of real trace files: ``TRACEKIT_REAL_DATA`` when set, else ``shared/real``
    beside the repository or beside a folder above it (a work tree may sit a level deeper)."""
    if os.environ.get(REAL_DATA_ENV):
        return Path(os.environ[REAL_DATA_ENV])
    return next((p / "shared" / "real" for p in ROOT.parents if (p / "shared/real").is_dir()),
                None)  # fmt: skip


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real trace files (openb, the Helios capacity files, the PAI machine spec, Acme's
    summary) shipped beside the repository; see :func:`find_real_data`.

    Tests that need them skip on a machine without them, but never in CI (``CI`` set), where
    the folder must be present: there a missing folder fails the test loudly.
    """
    found = find_real_data()
    if found is not None and found.is_dir():
        return found
    where = f"{REAL_DATA_ENV}={found}" if found is not None else f"shared/real above {ROOT}"
    message = f"the real trace files are not there ({where}); set {REAL_DATA_ENV}"
    if os.environ.get("CI") or found is not None:
        pytest.fail(message)
    pytest.skip(message)


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
