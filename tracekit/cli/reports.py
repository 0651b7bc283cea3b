"""``tracekit reports``: regenerate the HTML reports (what ``make reports`` runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracekit.cli._common import DEFAULT_SEED, DEFAULT_STORE, StoreOpt, split_list
from tracekit.sample import SAMPLE_TRACES


def command(
    data: Annotated[str, typer.Option(help="'sample' (synthetic) or 'real'.")] = "sample",
    store: StoreOpt = DEFAULT_STORE,
    out: Annotated[Path, typer.Option(help="Reports folder.")] = Path("reports"),
    raw: Annotated[Path, typer.Option(help="Real raw traces (DATA=real).")] = Path("data/raw"),
    sample: Annotated[Path, typer.Option(help="Synthetic sample folder.")] = Path("data/sample"),
    scale: Annotated[float | None, typer.Option(help="Sample scale (default: its own).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of sample, models, replays.")] = DEFAULT_SEED,
    traces: Annotated[
        str, typer.Option(help="Comma-separated traces of the sample (or of --raw).")
    ] = ",".join(SAMPLE_TRACES),
    openb: Annotated[
        str,
        typer.Option(help="openb's real files: 'auto' (RAW/openb or the checkout's copy), "
                          "'none', or a folder."),
    ] = "auto",
    notebooks: Annotated[
        str | None, typer.Option(help="Only these notebooks (stems or numbers, comma-separated).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Notebooks executed at once.")] = 2,
    figures: Annotated[bool, typer.Option(help="Static PNGs (needs chromium).")] = True,
    ingest_only: Annotated[
        bool, typer.Option("--ingest-only", help="Only bring the data into the store.")
    ] = False,
) -> None:
    """Regenerate the HTML reports, findings.csv and replay_study.csv (same as `make reports`)."""
    from tracekit.reports import run_all, run_ingest

    trace_list = split_list(traces) or []
    if ingest_only:
        run_ingest(data, store, raw, sample, scale, seed, trace_list, openb=openb)
        return
    run_all(data=data, store=store, out=out, raw=raw, sample_dir=sample, scale=scale, seed=seed,
            traces=trace_list, notebooks=split_list(notebooks), workers=workers,
            figures=figures, openb=openb)  # fmt: skip
