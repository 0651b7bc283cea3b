"""``tracekit download``: fetch the real traces with checksums, resume and safe extraction."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracekit.cli._common import console, split_list


def command(
    trace: Annotated[str, typer.Argument(help="philly, helios, pai, openb, acme or all.")],
    dest: Annotated[Path, typer.Option(help="Destination folder.")] = Path("data/raw"),
    mirror: Annotated[
        str | None, typer.Option(help="Base URL replacing the official host.")
    ] = None,
    files: Annotated[
        str | None,
        typer.Option(help="Comma-separated file names: fetch only these (e.g. one variant)."),
    ] = None,
) -> None:
    """Download the real traces (checksums, resume, safe extraction)."""
    from tracekit.download import download as fetch

    for p in fetch(trace, dest=dest, mirror=mirror, only=split_list(files)):
        console.print(f"ok {p}")
