"""Shared fixtures of the sample tests: the default run (generated once per session) and the
real files beside the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tracekit.replay.studies import replay_study_runs
from tracekit.sample import check, generate
from tracekit.sample.check import prepare_store
from tracekit.store import open_store


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """``shared/real`` beside the repository (the first ancestor folder that has it)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared/real").is_dir():
            return parent / "shared/real"
    raise FileNotFoundError("shared/real is not beside the repository")


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The default sample (every trace, default scales, seed 7) ingested, with the study's
    predictors trained, the replay study run and the sample's targets checked: what
    ``make reports`` measures. Generated once per test session (about a minute on 2 cores)."""
    root = tmp_path_factory.mktemp("default_run")
    summary = generate(root / "raw", seed=7)
    store = prepare_store(root / "raw", root / "store", seed=7)
    study = replay_study_runs(open_store(store), seed=7)
    return {
        "raw": root / "raw",
        "store": store,
        "summary": summary,
        "study": study,
        "check": check(store, study=study.summary),
    }
