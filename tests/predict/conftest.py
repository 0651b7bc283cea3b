"""Stores for the predictor's tests: the synthetic Helios sample in its exact raw format,
ingested once per session and copied for each test that writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tracekit.sample import generate
from tracekit.sources import ingest


def _sample_store(factory: pytest.TempPathFactory, trace: str, scale: float) -> Path:
    """Generate the synthetic sample of ``trace`` (seed 7) and ingest it from its raw files."""
    root = factory.mktemp(f"{trace}_sample")
    generate(root / "raw", traces=(trace,), scale=scale, seed=7)
    ingest(trace, root / "raw" / trace, root / "store")
    return root / "store"


@pytest.fixture(scope="session")
def helios_sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the Helios sample (4 clusters, ~6,700 jobs); tests must not write to it."""
    return _sample_store(tmp_path_factory, "helios", 0.002)


@pytest.fixture(scope="session")
def pai_sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the PAI sample (scale 0.01); tests may add predictions to it."""
    return _sample_store(tmp_path_factory, "pai", 0.01)


@pytest.fixture()
def helios_store(helios_sample_store: Path, tmp_path: Path) -> Path:
    """A private copy of the Helios sample store, for tests that write predictions."""
    return Path(shutil.copytree(helios_sample_store, tmp_path / "store"))
