"""``tracekit replay``: replay jobs through the scheduler simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracekit.cli._common import print_frame


def command(
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
    from tracekit.replay import feasibility, read_jobs_csv, read_vcs_csv, replay_csv

    print_frame(
        feasibility(read_jobs_csv(jobs_csv), read_vcs_csv(vcs_csv)),
        title="feasibility: offered load vs capacity",
    )
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
    print_frame(summary, title=f"replay {policy}")
