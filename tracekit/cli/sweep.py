"""``tracekit sweep``: a grid of replay configurations, locally or on dask.distributed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracekit.cli._common import print_frame


def command(
    config: Annotated[Path, typer.Argument(help="Sweep CONFIG.toml.")],
    scheduler: Annotated[str | None, typer.Option(help="dask scheduler tcp://HOST:PORT")] = None,
    out: Annotated[Path | None, typer.Option(help="Results CSV.")] = None,
) -> None:
    """Run a grid of replay configurations locally or on a dask.distributed cluster."""
    from tracekit.replay.results import write_csv_atomic
    from tracekit.replay.sweep import SUMMARY_COLUMNS, sweep_toml
    from tracekit.reports import ensure_sample_store

    results = sweep_toml(config, scheduler=scheduler, prepare_store=ensure_sample_store)
    if out is not None:
        write_csv_atomic(results, out)
    shown = [c for c in SUMMARY_COLUMNS if c in results.columns]
    print_frame(results.select(shown), title="sweep results (all columns: --out CSV)")
