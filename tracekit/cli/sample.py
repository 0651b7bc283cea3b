"""``tracekit sample``: the calibrated SYNTHETIC sample in the traces' raw formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from tracekit.cli._common import DEFAULT_SEED, console, print_frame, split_list
from tracekit.sample import DEFAULT_SCALES, DEFAULT_TRACES


def _clusters(part: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-cluster summaries: under ``clusters`` (Helios) or at the top (Acme's Seren, Kalos)."""
    nested = part.get("clusters")
    if isinstance(nested, dict):
        return nested
    return {k: v for k, v in part.items() if isinstance(v, dict) and "jobs" in v}


def summary_table(summary: dict[str, Any]) -> pl.DataFrame:
    """One row per generated trace of :func:`tracekit.sample.generate`'s summary.

    Columns: ``trace, scale, jobs, clusters, gpus, machines, window, seconds``; a value the
    trace's summary does not give is empty (``gpus``, ``machines`` and ``window`` are text for
    that reason). The full summary is what ``--json`` prints.
    """
    rows = []
    for trace, part in summary.items():
        if not isinstance(part, dict):
            continue  # scale, seed, version of the whole run
        clusters = _clusters(part)
        tables = part.get("rows", {})
        jobs = part.get("jobs") or tables.get("pai_job_table")
        windows = [c["window"] for c in clusters.values() if c.get("window")]
        firsts = [str(c["first_submit"])[:10] for c in clusters.values() if c.get("first_submit")]
        if windows:
            window = f"{min(w[0] for w in windows)} .. {max(w[1] for w in windows)}"
        else:
            window = f"from {min(firsts)}" if firsts else ""
        rows.append({
            "trace": trace,
            "scale": part.get("scale") or summary.get("scale") or DEFAULT_SCALES.get(trace),
            "jobs": jobs if jobs is not None else sum(c.get("jobs", 0) for c in clusters.values()),
            "clusters": ", ".join(clusters) or trace,
            "gpus": part.get("gpus") or sum(c.get("gpus") or 0 for c in clusters.values()) or None,
            "machines": part.get("machines") or tables.get("pai_machine_spec"),
            "window": window,
            "seconds": part.get("seconds"),
        })  # fmt: skip
    schema = {"trace": pl.String, "scale": pl.Float64, "jobs": pl.Int64, "clusters": pl.String,
              "gpus": pl.Int64, "machines": pl.Int64, "window": pl.String,
              "seconds": pl.Float64}  # fmt: skip
    # What a trace's summary does not know prints as an empty cell, not as "None".
    return pl.DataFrame(rows, schema=schema).with_columns(
        pl.col("gpus", "machines").cast(pl.String).fill_null("")
    )


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
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the generator's full summary as JSON.")
    ] = False,
) -> None:
    """Generate the calibrated SYNTHETIC sample in the traces' raw formats."""
    from tracekit import sample as sample_mod

    selected = tuple(split_list(traces) or [])
    if not check or not out.exists():
        with console.status("generating synthetic sample"):
            summary = sample_mod.generate(out, traces=selected, scale=scale, seed=seed)
        console.print(f"[bold yellow]SYNTHETIC[/] sample written to {out}")
        if as_json:
            console.print_json(json.dumps(summary, default=str))
        else:
            print_frame(summary_table(summary), title="generated (the full summary: --json)")
    if check:
        with console.status("checking the sample's targets (ingest, predict, replay study)"):
            table = sample_mod.check(out, seed=seed)
        print_frame(table, title="targets: published vs sample", limit=200)
        held = int(table["ok"].sum()) if table.height else 0
        console.print(f"{held} of {table.height} targets hold")
