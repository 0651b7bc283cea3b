"""``tracekit sample``: the calibrated SYNTHETIC sample in the traces' raw formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tracekit.cli._common import DEFAULT_SEED, console, print_frame, split_list
from tracekit.sample import DEFAULT_TRACES


def command(
    out: Annotated[Path, typer.Option(help="Output folder for the raw-format sample.")] = Path(
        "data/sample"
    ),
    traces: Annotated[str, typer.Option(help="Comma-separated traces.")] = ",".join(DEFAULT_TRACES),
    scale: Annotated[
        float | None,
        typer.Option(help="Fraction of every trace's jobs (1 = full size; default per trace)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = DEFAULT_SEED,
    check: Annotated[
        bool,
        typer.Option(help="Ingest, predict and replay the sample; print its targets vs published."),
    ] = False,
) -> None:
    """Generate the calibrated SYNTHETIC sample in the traces' raw formats."""
    from tracekit import sample as sample_mod

    selected = tuple(split_list(traces) or [])
    if not check or not out.exists():
        with console.status("generating synthetic sample"):
            summary = sample_mod.generate(out, traces=selected, scale=scale, seed=seed)
        console.print(f"[bold yellow]SYNTHETIC[/] sample written to {out}")
        console.print_json(json.dumps(summary, default=str))
    if check:
        with console.status("checking the sample's targets (ingest, predict, replay study)"):
            table = sample_mod.check(out, seed=seed)
        print_frame(table, title="targets: published vs sample", limit=200)
        held = int(table["ok"].sum()) if table.height else 0
        console.print(f"{held} of {table.height} targets hold")
