"""``tracekit ingest TRACE PATH``: raw trace files -> the normalized store (atomically)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tracekit.cli._common import DEFAULT_STORE, StoreOpt, console, print_frame, split_list


def _describe(stage: str, done: int | None = None, total: int | None = None) -> str:
    """Progress text: the stage, and the share done when the reader knows it."""
    if done is not None and total:
        return f"{stage}: {100.0 * done / total:.0f} %"
    if done is not None:
        return f"{stage}: {done:,}"
    return stage


def command(
    trace: Annotated[str, typer.Argument(help="Trace reader (see `tracekit ingest --help`).")],
    path: Annotated[Path, typer.Argument(help="Raw archive or extracted folder.")],
    store: StoreOpt = DEFAULT_STORE,
    clusters: Annotated[str | None, typer.Option(help="Comma-separated clusters.")] = None,
    lenient: Annotated[
        bool, typer.Option(help="Count unparseable rows instead of failing.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(help="Fail on impossible values instead of nulling and counting them."),
    ] = False,
    allow_empty: Annotated[
        bool, typer.Option(help="Store an input without rows instead of refusing it.")
    ] = False,
    mapping: Annotated[
        Path | None, typer.Option(help="Column mapping (TOML) for the generic readers.")
    ] = None,
) -> None:
    """Read raw trace files into the normalized store (atomically)."""
    from tracekit.sources import ingest as ingest_trace

    options: dict[str, Any] = {
        "clusters": split_list(clusters),
        "lenient": lenient,
        "strict": strict,
        "allow_empty": allow_empty,
    }
    if mapping is not None:
        options["mapping"] = mapping
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task(f"ingest {trace}", total=None)

        def on_progress(stage: str, done: int | None = None, total: int | None = None) -> None:
            progress.update(task, description=_describe(stage, done, total))

        summary = ingest_trace(trace, path, store, on_progress=on_progress, **options)
    rows = [
        {"cluster": c, "table": t, "rows": n}
        for c, tables in summary.items()
        for t, n in tables.items()
    ]
    print_frame(pl.DataFrame(rows), title=f"{trace} ingested into {store}")
