"""Shared export test inputs: a small default sample (Helios and Philly), ingested once."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import tracekit as tk
from tracekit.sources._common import SYNTHETIC_MARKER

#: Job fields every round trip compares (each test narrows them to what its format carries).
JOB_FIELDS: tuple[str, ...] = (
    "job_id", "user", "vc", "submit_time", "start_time", "end_time", "queue_s", "duration_s",
    "num_gpus", "num_nodes", "status", "raw_status",
)  # fmt: skip


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the SYNTHETIC default sample of Helios and Philly at a small scale."""
    root = tmp_path_factory.mktemp("export-sample")
    tk.sample.generate(root / "raw", traces=("helios", "philly"), scale=0.004, seed=7)
    store = root / "store"
    tk.ingest("helios", root / "raw" / "helios", store)
    # Exports read Philly's jobs, attempts and machines: the utilization files only cost time.
    philly = root / "philly"
    philly.mkdir()
    for name in ("cluster_job_log", "cluster_machine_list"):
        (philly / name).write_bytes(next((root / "raw" / "philly").rglob(name)).read_bytes())
    (philly / SYNTHETIC_MARKER).write_bytes((root / "raw" / "philly" / SYNTHETIC_MARKER)
                                            .read_bytes())
    tk.ingest("philly", philly, store)
    return store


@pytest.fixture()
def jobs_of():
    """``jobs_of(store, trace, cluster, fields)``: jobs sorted by id, only ``fields``."""

    def read(store: Path, trace: str, cluster: str, fields=JOB_FIELDS) -> pl.DataFrame:
        frame = tk.open_store(store).jobs(trace, cluster).collect()
        return frame.select(fields).sort("job_id")

    return read
