"""Published vs measured: every published number the store can measure, with one verdict rule.

The published numbers are data (``tracekit/analysis/published/<trace>.csv``, read by
:func:`published_table`); each trace's measures live in ``findings/<trace>.py`` and register
themselves with :func:`measure`; :func:`findings_table` joins the two. Adding a trace is one line
in :data:`TRACE_MODULES` plus its CSV and module (docs/analysis.md, "Adding a trace").

The verdict is :func:`agreement`: on the ratio measured/published, or on the difference for
percentages and clock hours, with three levels (*agree*, *close*, *differs*) and *close* never
beyond 1.5x (or 1.5x the tolerance).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from tracekit.analysis.findings._core import MEASURES, Context, measure
from tracekit.analysis.findings._published import (
    CLOSE_FACTOR,
    DIFFERENCE_UNITS,
    VERDICTS,
    agreement,
    published_series,
    published_table,
    published_value,
    scale_of,
    source_tags,
)
from tracekit.store import Store

# One line per trace: its measures module (findings/<trace>.py) and published/<trace>.csv.
TRACE_MODULES: tuple[str, ...] = (
    "philly",
    "helios",
    "pai",
    "openb",
    "acme",
)

importlib.import_module("tracekit.analysis.findings.generic")
for _name in TRACE_MODULES:
    importlib.import_module(f"tracekit.analysis.findings.{_name}")

COLUMNS: dict[str, Any] = {
    "finding_id": pl.String,
    "trace": pl.String,
    "cluster": pl.String,
    "metric": pl.String,
    "statement": pl.String,
    "published": pl.Float64,
    "unit": pl.String,
    "source": pl.String,
    "reference": pl.String,
    "measured": pl.Float64,
    "tolerance": pl.Float64,
    "scale": pl.String,
    "agreement": pl.String,
    "data": pl.String,
    "level": pl.String,
    "note": pl.String,
}


def _sections() -> dict[str, tuple[str, ...]]:
    rows = (
        published_table()
        .filter(pl.col("level") != "fact")
        .select("section", "id")
        .unique(maintain_order=True)
    )
    out: dict[str, tuple[str, ...]] = {}
    for section, fid in rows.iter_rows():
        out[section] = (*out.get(section, ()), fid)
    return out


# Which finding ids each characterization notebook shows (from the CSVs' ``section`` column).
SECTIONS: dict[str, tuple[str, ...]] = _sections()


def _params(text: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in text.split(";") if p)


def _data_kind(store: Store, trace: str, cluster: str) -> str:
    parts = [
        p for p in store.partitions if p["trace"] == trace and cluster in ("all", p["cluster"])
    ]
    return "synthetic" if any(p.get("synthetic") for p in parts) else "real"


def findings_table(
    store: Store,
    traces: str | Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    detail: bool = False,
    saved: str | Path | None = None,
) -> pl.DataFrame:
    """Published vs measured for every finding of the traces in the store.

    Parameters
    ----------
    store : Store
        An opened store (:func:`tracekit.open_store`).
    traces : str or sequence, optional
        Restrict to these traces (default: every trace in the store that has published numbers).
    ids : sequence of str, optional
        Restrict to these finding ids (e.g. ``["H7", "H8"]``).
    detail : bool
        Also the detail rows (every point of a published CDF, per-VC cells, hourly shapes).
    saved : path, optional
        A ``findings.csv`` this function wrote for the same store (or the folder holding it, as
        ``tracekit reports`` does): its rows are read instead of measured again. Ignored when
        the file does not exist or ``detail`` is asked (the file holds headline rows only).

    Returns
    -------
    polars.DataFrame
        ``finding_id, trace, cluster, metric, statement, published, unit, source, reference,
        measured, tolerance, scale, agreement, data, level, note``; ``data`` is ``synthetic`` or
        ``real`` (the store partitions measured). Rows exist only for clusters in the store;
        a row without a measure (the public data cannot show it) has ``agreement`` n/a and a
        ``note`` saying why.
    """
    wanted = [t for t in TRACE_MODULES if t in store.traces]
    if traces is not None:
        chosen = {traces} if isinstance(traces, str) else set(traces)
        wanted = [t for t in wanted if t in chosen]
    if not wanted:
        return pl.DataFrame(schema=COLUMNS)
    path = Path(saved) if saved is not None else None
    if path is not None and path.is_dir():
        path = path / "findings.csv"
    if path is not None and path.is_file() and not detail:
        table = pl.read_csv(path, schema=COLUMNS).filter(pl.col("trace").is_in(wanted))
        return table if ids is None else table.filter(pl.col("finding_id").is_in(list(ids)))
    levels = ("headline", "detail") if detail else ("headline",)
    rows_in = published_table(wanted).filter(pl.col("level").is_in(levels))
    if ids is not None:
        rows_in = rows_in.filter(pl.col("id").is_in(list(ids)))
    ctx = Context(store)
    clusters = {t: set(store.clusters(t)) for t in wanted}
    rows = []
    for r in rows_in.iter_rows(named=True):
        if r["cluster"] != "all" and r["cluster"] not in clusters[r["trace"]]:
            continue
        fn = MEASURES.get(r["measure"]) if r["measure"] else None
        if r["measure"] and fn is None:
            raise KeyError(f"published row {r['id']} names an unknown measure {r['measure']!r}")
        measured = fn(ctx, r["trace"], r["cluster"], **_params(r["params"])) if fn else None
        if measured is not None and measured != measured:  # NaN: nothing to measure
            measured = None
        rows.append(
            {
                "finding_id": r["id"],
                "trace": r["trace"],
                "cluster": r["cluster"],
                "metric": r["metric"],
                "statement": r["statement"],
                "published": r["published"],
                "unit": r["unit"],
                "source": r["source"],
                "reference": r["reference"],
                "measured": measured,
                "tolerance": r["tolerance"],
                "scale": scale_of(r["unit"], r["published"]),
                "agreement": agreement(measured, r["published"], r["tolerance"], r["unit"]),
                "data": _data_kind(store, r["trace"], r["cluster"]),
                "level": r["level"],
                "note": r["note"] or ("" if fn else "not measured"),
            }
        )
    return pl.DataFrame(rows, schema=COLUMNS)


__all__ = [
    "CLOSE_FACTOR",
    "COLUMNS",
    "DIFFERENCE_UNITS",
    "MEASURES",
    "SECTIONS",
    "TRACE_MODULES",
    "VERDICTS",
    "Context",
    "agreement",
    "findings_table",
    "measure",
    "published_series",
    "published_table",
    "published_value",
    "scale_of",
    "source_tags",
]
