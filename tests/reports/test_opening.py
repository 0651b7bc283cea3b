"""open_report: the first cell of every report notebook."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import tracekit as tk
from tracekit import plots
from tracekit.reports import open_report


def test_open_report_marks_real_and_synthetic_traces(tmp_path: Path, fixtures_dir: Path) -> None:
    store = tmp_path / "store"
    tk.ingest("helios", fixtures_dir / "helios", store)  # real-format fixture files: REAL
    tk.sample.generate(tmp_path / "raw", traces=("acme",), scale=0.002, seed=7)
    tk.ingest("acme", tmp_path / "raw" / "acme", store)  # marked SYNTHETIC by the sample
    st, present, missing = open_report(store, "helios,acme,pai", show=False)
    assert (present, missing) == (["helios", "acme"], ["pai"])
    subtitle = plots.bars(
        pl.DataFrame({"x": ["a"], "y": [1.0]}), "x", "y", title="t"
    ).layout.title.subtitle.text
    assert "SYNTHETIC" in subtitle and "REAL data: helios" in subtitle
    _, only, _ = open_report(st, "helios", show=False)
    subtitle = plots.bars(
        pl.DataFrame({"x": ["a"], "y": [1.0]}), "x", "y", title="t"
    ).layout.title.subtitle.text
    assert only == ["helios"] and "SYNTHETIC" not in subtitle
