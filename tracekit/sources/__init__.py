"""Readers: one subpackage per trace, turning raw files into store tables.

Every reader has the same shape: ``tracekit/sources/<trace>/`` with ``formats.py`` (the format
constants, which the synthetic sample generator imports), ``read.py`` (raw files -> frames),
``ingest.py`` (frames -> store) and, where the trace publishes one, ``official.py`` (its official
analysis definitions). Every reader opens files and archives only through
:mod:`tracekit.sources._archive` and passes every table through the store contract's validation
layer (:mod:`tracekit.sources._validate`) before writing it.

Each reader's package exposes::

    ingest(raw_path, store, *, clusters=None, lenient=False, strict=False,
           allow_empty=False, on_progress=None) -> dict[str, dict[str, int]]

(rows written per cluster and table), where ``on_progress(stage, done, total)`` is the one
progress protocol of all readers; the generic readers (``csv``, ``swf``) also take ``mapping``.
A trace's documented time window applies to its own clusters
(:func:`tracekit.schema.time_window`). Adding a reader is one line in :data:`READERS`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Trace name -> the package holding its reader (one line per reader).
READERS: dict[str, str] = {
    "helios": "tracekit.sources.helios",
    "philly": "tracekit.sources.philly",
    "pai": "tracekit.sources.pai",
    "openb": "tracekit.sources.openb",
    "acme": "tracekit.sources.acme",
    "csv": "tracekit.sources.csv",  # any job table, read through a column mapping (TOML)
    "swf": "tracekit.sources.swf",  # the Standard Workload Format of HPC simulators
}


def reader(trace: str) -> Callable[..., dict[str, dict[str, int]]]:
    """Return the ``ingest`` function of ``trace``'s reader.

    Raises
    ------
    ValueError
        If no reader is registered under that name.
    """
    if trace not in READERS:
        raise ValueError(f"unknown trace {trace!r}; choose one of {', '.join(READERS)}")
    module = importlib.import_module(READERS[trace])
    return module.ingest  # type: ignore[no-any-return]


def ingest(trace: str, raw_path: str | Path, store: str | Path, **kwargs: Any) -> dict[str, Any]:
    """Ingest raw files of ``trace`` from ``raw_path`` into ``store``.

    Parameters
    ----------
    trace : str
        A name in :data:`READERS`.
    raw_path : str or Path
        The raw archive or folder.
    store : str or Path
        Store directory.
    **kwargs
        Passed to the reader: ``clusters``, ``lenient``, ``strict``, ``allow_empty``,
        ``on_progress`` (and ``mapping`` for csv, swf). An option left at its default is not
        passed, so a reader that does not offer it still works; one that is set but not offered
        is a clear error.

    Returns
    -------
    dict
        Rows written per cluster and table.

    Raises
    ------
    ValueError
        Unknown trace, or an option the reader does not offer.
    """
    ingest_fn = reader(trace)
    offered = inspect.signature(ingest_fn).parameters
    options = {k: v for k, v in kwargs.items() if k in offered or v not in (None, False)}
    unknown = sorted(k for k in options if k not in offered)
    if unknown:
        raise ValueError(f"the {trace} reader does not offer {', '.join(unknown)}")
    return ingest_fn(Path(raw_path), Path(store), **options)


__all__ = ["READERS", "ingest", "reader"]
