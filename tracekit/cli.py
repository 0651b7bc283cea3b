"""The ``tracekit`` command line: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    help="Normalize, characterize, predict and replay GPU-cluster traces (Philly, Helios, PAI).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
# Errors are printed unwrapped so a long path and line number stay greppable.
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

StoreOpt = Annotated[Path, typer.Option("--store", help="Store directory.")]
DEFAULT_STORE = Path("data/parquet")


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _print_frame(frame: pl.DataFrame, title: str | None = None, limit: int = 60) -> None:
    table = Table(title=title, show_lines=False)
    for col in frame.columns:
        table.add_column(col, justify="right" if frame[col].dtype.is_numeric() else "left")
    for row in frame.head(limit).iter_rows():
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)
    if frame.height > limit:
        console.print(f"... {frame.height - limit} more rows")


def _fail(exc: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(code=2)


@app.command()
def ingest(
    trace: Annotated[str, typer.Argument(help="philly, helios or pai.")],
    path: Annotated[Path, typer.Argument(help="Raw archive or extracted folder.")],
    store: StoreOpt = DEFAULT_STORE,
    clusters: Annotated[str | None, typer.Option(help="Comma-separated clusters.")] = None,
    lenient: Annotated[
        bool, typer.Option(help="Count unparseable rows instead of failing.")
    ] = False,
) -> None:
    """Read raw trace files into the normalized store (atomically)."""
    from tracekit.errors import TracekitError
    from tracekit.sources import ingest as ingest_trace

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task(f"ingest {trace}", total=None)
        try:
            summary = ingest_trace(
                trace,
                path,
                store,
                clusters=_split(clusters),
                lenient=lenient,
                on_progress=lambda msg: progress.update(task, description=msg),
            )
        except (TracekitError, ValueError, OSError) as exc:
            progress.stop()
            _fail(exc)
            return
    rows = [
        {"cluster": c, "table": t, "rows": n}
        for c, tables in summary.items()
        for t, n in tables.items()
    ]
    _print_frame(pl.DataFrame(rows), title=f"{trace} ingested into {store}")


@app.command()
def info(
    store: StoreOpt = DEFAULT_STORE,
    all_rules: Annotated[
        bool, typer.Option("--all", help="Also show rules that counted 0.")
    ] = False,
) -> None:
    """Print the store manifest: partitions, provenance, row counts and data-quality counts."""
    from tracekit.errors import StoreError
    from tracekit.store import open_store

    try:
        st = open_store(store)
    except StoreError as exc:
        _fail(exc)
        return
    console.print(
        f"store [bold]{store}[/]  schema v{st.manifest.get('schema_version')}  "
        f"tracekit {st.manifest.get('tracekit_version')}"
    )
    for part in st.partitions:
        flag = "[bold yellow]SYNTHETIC sample[/]" if part.get("synthetic") else "real data"
        console.print(
            f"- {part['trace']}/{part['cluster']}: {flag}; tz {part.get('timezone')}; "
            f"ingested {part.get('ingested_at')}; sources: "
            + ", ".join(f"{s['path']} ({s.get('bytes')} B)" for s in part.get("sources", []))
        )
    _print_frame(st.rows(), title="rows")
    quality = st.quality()
    if not all_rules:
        quality = quality.filter(pl.col("count") > 0)
    _print_frame(quality, title="data-quality counts (repairs and drops by rule)", limit=200)


@app.command()
def sample(
    out: Annotated[Path, typer.Option(help="Output folder for the raw-format sample.")] = Path(
        "data/sample"
    ),
    traces: Annotated[str, typer.Option(help="Comma-separated traces.")] = "philly,helios,pai",
    scale: Annotated[float | None, typer.Option(help="1 = full-size traces.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    check: Annotated[bool, typer.Option(help="Print calibration targets vs the sample.")] = False,
) -> None:
    """Generate the calibrated SYNTHETIC sample in the traces' raw formats."""
    from tracekit import sample as sample_mod

    selected = tuple(_split(traces) or [])
    if not check or not out.exists():
        with console.status("generating synthetic sample"):
            summary = sample_mod.generate(out, traces=selected, scale=scale, seed=seed)
        console.print(f"[bold yellow]SYNTHETIC[/] sample written to {out}")
        console.print_json(json.dumps(summary, default=str))
    if check:
        _print_frame(sample_mod.check(out), title="calibration: published vs sample", limit=200)


@app.command()
def download(
    trace: Annotated[str, typer.Argument(help="philly, helios, pai or all.")],
    dest: Annotated[Path, typer.Option(help="Destination folder.")] = Path("data/raw"),
    mirror: Annotated[
        str | None, typer.Option(help="Base URL replacing the official host.")
    ] = None,
) -> None:
    """Download the real traces (checksums, resume, safe extraction)."""
    from tracekit.download import download as fetch
    from tracekit.errors import TracekitError

    try:
        paths = fetch(trace, dest=dest, mirror=mirror)
    except (TracekitError, OSError, ValueError) as exc:
        _fail(exc)
        return
    for p in paths:
        console.print(f"ok {p}")


@app.command()
def predict(
    trace: Annotated[str, typer.Option(help="Trace to train on.")],
    cluster: Annotated[str | None, typer.Option(help="Cluster (default: all).")] = None,
    model: Annotated[
        str, typer.Option(help="lgbm, user-median, global-median, helios-mix.")
    ] = "lgbm",
    train_until: Annotated[str | None, typer.Option(help="Train on jobs before this date.")] = None,
    store: StoreOpt = DEFAULT_STORE,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    metrics_out: Annotated[Path | None, typer.Option(help="Write metrics CSV here.")] = None,
    rolling: Annotated[bool, typer.Option(help="Weekly retraining (Lucid-style).")] = False,
) -> None:
    """Train a duration predictor, write the predictions table and print test metrics."""
    from tracekit.predict import run_predict

    metrics = run_predict(
        store,
        trace,
        cluster=cluster,
        model=model,
        train_until=train_until,
        seed=seed,
        rolling=rolling,
    )
    if metrics_out is not None:
        metrics.write_csv(metrics_out)
    _print_frame(metrics, title=f"{model} on {trace}: held-out metrics")


@app.command()
def replay(
    jobs_csv: Annotated[
        Path, typer.Option(help="JOBS.csv: job_id,vc,submit_time,duration,num_gpus")
    ],
    vcs_csv: Annotated[Path, typer.Option(help="VCS.csv: vc,nodes[,gpus_per_node]")],
    out: Annotated[Path, typer.Option(help="Per-job output CSV.")],
    policy: Annotated[str, typer.Option(help="fifo|sjf|sjf-pred|qssf|srtf|srtf-pred|tiresias")] = (
        "fifo"
    ),
    backfill: Annotated[
        bool | None,
        typer.Option(
            "--backfill/--no-backfill",
            help="EASY backfill (default: the policy's published behaviour).",
        ),
    ] = None,
    placement: Annotated[str, typer.Option(help="consolidate|first_fit|spread")] = "consolidate",
    compat: Annotated[str | None, typer.Option(help="'helios' for artifact conventions.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes replaying VCs in parallel (default: all CPUs when large)."),
    ] = None,
) -> None:
    """Replay jobs from plain CSV through the scheduler simulator."""
    from tracekit.errors import TracekitError
    from tracekit.replay import feasibility, read_jobs_csv, read_vcs_csv, replay_csv

    try:
        _print_frame(
            feasibility(read_jobs_csv(jobs_csv), read_vcs_csv(vcs_csv)),
            title="feasibility: offered load vs capacity",
        )
    except (TracekitError, ValueError) as exc:
        _fail(exc)
        return

    summary = replay_csv(
        jobs_csv,
        vcs_csv,
        policy=policy,
        backfill=backfill,
        placement=placement,
        compat=compat,
        out_csv=out,
        workers=workers,
    )
    _print_frame(summary, title=f"replay {policy}")


@app.command()
def sweep(
    config: Annotated[Path, typer.Argument(help="Sweep CONFIG.toml.")],
    scheduler: Annotated[str | None, typer.Option(help="dask scheduler tcp://HOST:PORT")] = None,
    out: Annotated[Path | None, typer.Option(help="Results CSV.")] = None,
) -> None:
    """Run a grid of replay configurations locally or on a dask.distributed cluster."""
    from tracekit.replay.sweep import SUMMARY_COLUMNS, sweep_toml
    from tracekit.reports import ensure_sample_store

    results = sweep_toml(config, scheduler=scheduler, prepare_store=ensure_sample_store)
    if out is not None:
        results.write_csv(out)
    shown = [c for c in SUMMARY_COLUMNS if c in results.columns]
    _print_frame(results.select(shown), title="sweep results (all columns: --out CSV)")


@app.command()
def reports(
    data: Annotated[str, typer.Option(help="'sample' or 'real'.")] = "sample",
    store: StoreOpt = DEFAULT_STORE,
    out: Annotated[Path, typer.Option(help="Reports folder.")] = Path("reports"),
) -> None:
    """Regenerate the HTML reports (same as `make reports`)."""
    from tracekit.reports import run_all

    run_all(data=data, store=store, out=out)


if __name__ == "__main__":
    app()
