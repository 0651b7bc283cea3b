"""``tracekit reports``: regenerate the HTML reports (what `make reports` runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracekit.cli._common import DEFAULT_STORE, StoreOpt


def command(
    data: Annotated[str, typer.Option(help="'sample' or 'real'.")] = "sample",
    store: StoreOpt = DEFAULT_STORE,
    out: Annotated[Path, typer.Option(help="Reports folder.")] = Path("reports"),
) -> None:
    """Regenerate the HTML reports (same as `make reports`)."""
    from tracekit.reports import run_all

    run_all(data=data, store=store, out=out)
