"""Status shares of CPU jobs beside GPU jobs (Helios Fig. 7a) on the Helios raw fixture."""

from __future__ import annotations

import polars as pl
import pytest

import tracekit as tk
from tracekit.analysis import failures


def test_status_by_kind(fixture_store: tk.Store) -> None:
    out = failures.status_by_kind(fixture_store.scan("jobs", trace="helios"))
    kinds = out.select("cluster", "kind").unique().sort("cluster", "kind").rows()
    # Earth's only job uses a GPU; Venus has one CPU job beside its GPU jobs
    assert kinds == [("Earth", "GPU jobs"), ("Venus", "CPU jobs"), ("Venus", "GPU jobs")]
    cpu = out.filter((pl.col("kind") == "CPU jobs") & (pl.col("status") == "completed"))
    assert cpu["job_share"].to_list() == [1.0] and cpu["gpu_time_share"].to_list() == [None]
    gpu = out.filter((pl.col("cluster") == "Venus") & (pl.col("kind") == "GPU jobs"))
    assert gpu["n_jobs"].sum() == 9 and gpu["job_share"].sum() == pytest.approx(1.0)
    pooled = failures.status_by_kind(fixture_store.scan("jobs", trace="helios"), by=None)
    assert pooled.columns[0] == "kind" and pooled.height == 8
