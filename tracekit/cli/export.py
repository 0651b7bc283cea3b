"""``tracekit export FORMAT``: one trace of the store in a simulator's input format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from tracekit.cli._common import DEFAULT_STORE, StoreOpt, console, print_frame


def command(
    format: Annotated[
        str, typer.Argument(help="helios | philly-json | swf | openb | csv", metavar="FORMAT")
    ],
    trace: Annotated[str, typer.Option(help="Trace to export.")],
    out: Annotated[Path, typer.Option(help="Output folder (one sub-folder per cluster).")],
    store: StoreOpt = DEFAULT_STORE,
    cluster: Annotated[str | None, typer.Option(help="One cluster (default: all).")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Jobs submitted from this UTC date/time.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="... up to (excluding) this UTC date/time.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace --out if it exists (after the export succeeded).")
    ] = False,
    prediction_model: Annotated[
        str | None, typer.Option(help="csv: the predictions model written as pred_duration_s.")
    ] = None,
) -> None:
    """Write one trace of the store in a simulator's input format, with a README per cluster."""
    from tracekit.export import export

    with console.status(f"exporting {trace} as {format}") as status:

        def on_progress(stage: str, done: int | None = None, total: int | None = None) -> None:
            status.update(stage)

        result = export(
            store, format, trace=trace, cluster=cluster, start=start, end=end, out=out,
            overwrite=overwrite, prediction_model=prediction_model, on_progress=on_progress,
        )  # fmt: skip
    print_frame(result.files(), title=f"{trace} exported as {format} to {out}")
    dropped = result.dropped()
    if dropped.height:
        print_frame(dropped.filter(pl.col("jobs") > 0), title="jobs left out (see README.md)")
