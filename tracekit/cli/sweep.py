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
    """Run a grid of replay configurations locally or on a dask.distributed cluster.

    Prints one line per run: what tells it apart, jct_mean_s, queue_mean_s, utilization and
    dropped (jobs the replay could not run); --out writes every column.
    """
    from tracekit.replay.results import write_csv_atomic
    from tracekit.replay.sweep import compact, sweep_toml
    from tracekit.reports import ensure_sample_store

    results = sweep_toml(config, scheduler=scheduler, prepare_store=ensure_sample_store)
    if out is not None:
        write_csv_atomic(results, out)
    print_frame(compact(results), title="sweep results (every column: --out CSV)", compact=True)
