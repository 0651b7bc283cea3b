"""Stores built from the tiny raw fixtures (``tests/fixtures``, the traces' exact raw formats)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import tracekit as tk

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def fixture_store(tmp_path_factory: pytest.TempPathFactory) -> tk.Store:
    """The Philly, Helios and PAI raw fixtures ingested into one store."""
    root = tmp_path_factory.mktemp("fixture-store")
    for trace in ("philly", "helios", "pai"):
        tk.ingest(trace, FIXTURES / trace, root / "store")
    return tk.open_store(root / "store")


@pytest.fixture(scope="session")
def recurring_pai_store(tmp_path_factory: pytest.TempPathFactory) -> tk.Store:
    """The PAI fixture with jobs 2, 6 and 7 in one recurring group (the group-tag table's rows
    rewritten in its raw format)."""
    root = tmp_path_factory.mktemp("recurring-pai")
    raw = root / "raw"
    shutil.copytree(FIXTURES / "pai", raw)
    table = raw / "pai_group_tag_table.csv"
    shared = "99990000000000000000000000000002"
    rows = []
    for line in table.read_text().splitlines():
        inst, user, spec, group, workload = line.split(",")
        if inst.endswith(("6", "7")):
            group = shared
        rows.append(",".join([inst, user, spec, group, workload]))
    table.write_text("\n".join(rows) + "\n")
    tk.ingest("pai", raw, root / "store")
    return tk.open_store(root / "store")
