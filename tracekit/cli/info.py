"""``tracekit info``: the store manifest, provenance, row counts and data-quality counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import polars as pl
import typer

from tracekit.cli._common import DEFAULT_STORE, StoreOpt, console, print_frame
from tracekit.errors import StoreError

if TYPE_CHECKING:
    from tracekit.store import Store


def command(
    store: StoreOpt = DEFAULT_STORE,
    all_rules: Annotated[
        bool, typer.Option("--all", help="Also show rules that counted 0.")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Check that every file the manifest lists exists and holds its row count.",
        ),
    ] = False,
) -> None:
    """Print the store manifest: partitions, provenance, row counts and data-quality counts."""
    from tracekit.store import open_store

    st = open_store(store)
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
    print_frame(st.rows(), title="rows")
    quality = st.quality()
    if not all_rules:
        quality = quality.filter(pl.col("count") > 0)
    print_frame(quality, title="data-quality counts (repairs and drops by rule)", limit=200)
    if verify:
        _verify(st)


def _verify(st: Store) -> None:
    """Print the outcome of :meth:`Store.verify`; raise (exit code 2) when a file is wrong."""
    problems = st.verify()
    leftovers = len(st.leftovers())
    note = (
        f"; {leftovers} leftover file(s) of interrupted writes (the next write removes them)"
        if leftovers else ""
    )
    if problems.is_empty():
        files = sum(len(fs) for p in st.partitions for fs in p["files"].values())
        console.print(f"verified: all {files} listed files exist and hold their rows{note}")
        return
    print_frame(problems, title="verify: problems", limit=200)
    first = problems.row(0, named=True)
    where = first["file"] or f"{first['trace']}/{first['cluster']} {first['table']}"
    raise StoreError(
        f"{st.path}: verify found {problems.height} problem(s); first: {where}: "
        f"{first['problem']}; fix: {first['fix']} (the table above lists them all)"
    )
