"""Stores for the predictor's tests: the synthetic Helios sample in its exact raw format,
ingested once per session and copied for each test that writes."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tracekit.sample import generate
from tracekit.sources import ingest
from tracekit.store import _sweep


@pytest.fixture(scope="session")
def helios_sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention store of the Helios sample (4 clusters, ~6,700 jobs)."""
    root = tmp_path_factory.mktemp("helios_sample")
    generate(root / "raw", traces=("helios",), scale=0.002, seed=7)
    ingest("helios", root / "raw" / "helios", root / "store")
    return root / "store"


@pytest.fixture()
def helios_store(helios_sample_store: Path, tmp_path: Path) -> Path:
    """A private copy of the Helios sample store, for tests that write predictions."""
    return Path(shutil.copytree(helios_sample_store, tmp_path / "store"))


@pytest.fixture()
def read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Make a store folder unwritable: by its mode bits, and for root (who ignores them) by
    refusing to open files for writing there, as the kernel does for everyone else. The mode
    is restored at teardown."""
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
