"""``tracekit info``: the store manifest, provenance, row counts and data-quality counts."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer

from tracekit.cli._common import DEFAULT_STORE, StoreOpt, console, print_frame


def command(
    store: StoreOpt = DEFAULT_STORE,
    all_rules: Annotated[
        bool, typer.Option("--all", help="Also show rules that counted 0.")
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
