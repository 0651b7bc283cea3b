"""tracekit: normalize, characterize, predict and replay GPU-cluster workload traces.

The public API is re-exported here (see README.md and docs/):

- store: :func:`open_store`, :class:`Store`, :func:`begin` (write transactions);
- readers: :func:`ingest` (``"philly"``, ``"helios"``, ``"pai"``; ``"csv"`` with a column
  ``mapping=``, ``"swf"``); :func:`export` (``helios``, ``philly-json``, ``swf``, ``openb``,
  ``csv``);
- the synthetic sample: :func:`generate_sample`;
- :func:`with_local_time` (local hour/weekday in the trace's zone);
- submodules, imported on first use so ``import tracekit`` stays light: ``tracekit.analysis``,
  ``tracekit.plots``, ``tracekit.predict``, ``tracekit.replay``, ``tracekit.sample``,
  ``tracekit.download``, ``tracekit.reports``.
"""

from __future__ import annotations

import importlib as _importlib
from pathlib import Path as _Path
from typing import Any as _Any

__version__ = "0.1.0"

from tracekit.errors import StoreError, TraceFormatError, TracekitError
from tracekit.export import export  # any trace -> a simulator's input format
from tracekit.quality import QualityCounter
from tracekit.sources import ingest
from tracekit.store import Store, begin, open_store
from tracekit.timeutil import with_local_time

_LAZY_MODULES = ("analysis", "plots", "predict", "replay", "sample", "download", "reports")


def generate_sample(
    out: str | _Path, traces: tuple[str, ...] = ("philly", "helios", "pai"), **kwargs: _Any
) -> dict[str, _Any]:
    """Write the calibrated SYNTHETIC sample in raw formats (:func:`tracekit.sample.generate`)."""
    from tracekit.sample import generate

    return generate(_Path(out), traces=traces, **kwargs)


def __dir__() -> list[str]:
    # The lazy submodules are part of the API: list them, and only the public names.
    return sorted(__all__)


def __getattr__(name: str) -> _Any:
    # Heavy submodules (lightgbm, plotly, dask) load only when used.
    if name in _LAZY_MODULES:
        return _importlib.import_module(f"tracekit.{name}")
    raise AttributeError(f"module 'tracekit' has no attribute {name!r}")


__all__ = [
    "QualityCounter",
    "Store",
    "StoreError",
    "TraceFormatError",
    "TracekitError",
    "__version__",
    "begin",
    "export",
    "generate_sample",
    "ingest",
    "open_store",
    "with_local_time",
    *_LAZY_MODULES,
]
