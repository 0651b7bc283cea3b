"""Notebook helpers in analysis.summary: the data banner and the study cluster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import tracekit as tk
from tracekit.analysis import summary
from tracekit.sources import ingest as ingest_trace

FIXTURES = Path(__file__).parents[1] / "fixtures" / "helios"


@pytest.fixture
def real_store(tmp_path: Path) -> tk.Store:
    ingest_trace("helios", FIXTURES, tmp_path / "s")
    return tk.open_store(tmp_path / "s")


def test_banner_real_and_missing(real_store: tk.Store) -> None:
    present, missing = summary.select_traces(real_store, "helios,pai")
    assert present == ["helios"] and missing == ["pai"]
    banner = summary.data_banner(real_store, missing)
    assert "SYNTHETIC" not in banner and "skipped): pai" in banner


def test_banner_synthetic(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURES, raw)
    (raw / "SYNTHETIC.json").write_text('{"synthetic": true}')
    ingest_trace("helios", raw, tmp_path / "s")
    assert "SYNTHETIC DATA" in summary.data_banner(tk.open_store(tmp_path / "s"))


def test_main_cluster(real_store: tk.Store) -> None:
    assert summary.main_cluster(real_store, "helios") == "Venus"  # 10 jobs vs Earth's 1
    assert summary.main_cluster(real_store, "helios", ["Mars", "Earth"]) == "Earth"
    with pytest.raises(ValueError, match="no jobs"):
        summary.main_cluster(real_store, "pai")


def test_pai_volume(tmp_path: Path) -> None:
    ingest_trace("pai", FIXTURES.parent / "pai", tmp_path / "s")
    st = tk.open_store(tmp_path / "s")
    vol = summary.pai_volume(st.scan("jobs", trace="pai"), st.scan("tasks", trace="pai"))
    # 7 jobs of 4 users; 8 tasks with 1+1+2+1+1+1+2+1 instances
    assert vol.select("jobs", "users", "tasks", "instances").row(0) == (7, 4, 8, 10)


def test_data_kinds_and_banner_of_a_mixed_store(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURES, raw)
    (raw / "SYNTHETIC.json").write_text('{"synthetic": true}')
    ingest_trace("helios", raw, tmp_path / "s")
    ingest_trace("pai", FIXTURES.parent / "pai", tmp_path / "s")
    st = tk.open_store(tmp_path / "s")
    assert summary.data_kinds(st) == {"synthetic": ["helios"], "real": ["pai"]}
    assert summary.data_kinds(st, ["pai"]) == {"synthetic": [], "real": ["pai"]}
    banner = summary.data_banner(st)
    assert "SYNTHETIC DATA" in banner and "(helios)" in banner and "REAL DATA**: pai" in banner
    assert "SYNTHETIC" not in summary.data_banner(st, traces=["pai"])
