"""Readers: one module per trace, turning raw files into store tables.

Each reader module exposes ``ingest(raw_path, store, *, clusters=None, lenient=False,
on_progress=None) -> dict[str, dict[str, int]]`` (rows written per cluster and table).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

READERS: tuple[str, ...] = ("helios", "philly", "pai", "openb", "acme")
READERS += ("csv",)  # any job table, read through a column mapping (TOML)
READERS += ("swf",)  # the Standard Workload Format of HPC simulators


def ingest(trace: str, raw_path: str | Path, store: str | Path, **kwargs: Any) -> dict[str, Any]:
    """Ingest raw files of ``trace`` from ``raw_path`` into ``store``."""
    if trace not in READERS:
        raise ValueError(f"unknown trace {trace!r}; choose one of {', '.join(READERS)}")
    module = importlib.import_module(f"tracekit.sources.{trace}")
    reader: Callable[..., dict[str, Any]] = module.ingest
    return reader(Path(raw_path), Path(store), **kwargs)
