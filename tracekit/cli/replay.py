"""``tracekit replay``: replay jobs from CSV files or the store through the scheduler simulator."""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from tracekit.cli._common import (
    DEFAULT_SEED,
    DEFAULT_STORE,
    console,
    err_console,
    print_frame,
)
from tracekit.replay.engines.placement import describe_placers
from tracekit.replay.placements import describe as describe_placements
from tracekit.replay.policies import describe
from tracekit.replay.results import ReplayResult


def command(
    jobs_csv: Annotated[
        Path | None,
        typer.Option(help="Jobs CSV file (columns above)."),
    ] = None,
    vcs_csv: Annotated[Path | None, typer.Option(help="VCs CSV file (columns above).")] = None,
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Store directory (default: data/parquet)."),
    ] = None,
    trace: Annotated[str | None, typer.Option(help="Trace in the store, e.g. helios.")] = None,
    cluster: Annotated[str | None, typer.Option(help="Cluster of the trace, e.g. Venus.")] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Prediction model of the store (tracekit predict)."),
    ] = None,
    start: Annotated[str | None, typer.Option(help="Store: window start, UTC date.")] = None,
    end: Annotated[str | None, typer.Option(help="Store: window end (excluded).")] = None,
    out: Annotated[Path | None, typer.Option(help="Per-job output CSV.")] = None,
    policy: Annotated[str, typer.Option(help="Scheduling policy (listed above).")] = "fifo",
    backfill: Annotated[
        bool | None,
        typer.Option(
            "--backfill/--no-backfill",
            help="Backfill behind a blocked job (default: as the policy was published).",
        ),
    ] = None,
    placement: Annotated[
        str | None,
        typer.Option(help="Where jobs run (listed above)."),
    ] = None,
    compat: Annotated[
        str | None,
        typer.Option(help="lucid or helios: a published simulator's rules."),
    ] = None,
    resources: Annotated[
        str,
        typer.Option(help="auto, whole (GPUs on nodes) or shared (fractions)."),
    ] = "auto",
    share_by: Annotated[
        str | None, typer.Option(help="Shared GPUs: a job counts its request or usage.")
    ] = None,
    max_jobs_per_gpu: Annotated[
        int | None, typer.Option(help="Shared GPUs: most jobs on one GPU (default 4).")
    ] = None,
    type_affinity: Annotated[
        str | None, typer.Option(help="Shared GPUs: strict (own group) or any.")
    ] = None,
    kappa: Annotated[
        float | None,
        typer.Option(help="Shared GPUs: slowdown per extra job on a GPU (default 0.05)."),
    ] = None,
    repair: Annotated[
        bool | None,
        typer.Option(
            "--repair/--no-repair",
            help="Drop or fix bad rows and count them (default: on for the store, off for CSV).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = DEFAULT_SEED,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes replaying VCs in parallel (default: all CPUs when large)."),
    ] = None,
    feasibility: Annotated[
        bool,
        typer.Option(
            "--feasibility",
            help="Print the offered load of every day (default: the whole window and the "
            "overloaded days).",
        ),
    ] = False,
    core: Annotated[
        str,
        typer.Option(
            help="auto, compiled or python (the reference loops); identical results."
        ),
    ] = "auto",
) -> None:
    """Replay jobs from CSV files or the store under a scheduling policy.

    Input: the store (--store, default data/parquet) with --trace, --cluster
    and --model for the predictions `tracekit predict` wrote; or CSV files:

    \b
      --jobs-csv  job_id,vc,submit_time,duration_s,num_gpus[,pred_duration_s]
                  [,user,group,util,num_cpus,mem_gb]
      --vcs-csv   vc,nodes[,gpus_per_node]

    Prints the offered load and the summary.
    """
    from tracekit.replay.run import write_output

    options = {
        "policy": policy, "backfill": backfill, "placement": placement, "compat": compat,
        "resource_model": resources, "share_by": share_by, "max_jobs_per_gpu": max_jobs_per_gpu,
        "type_affinity": type_affinity, "slowdown": kappa, "seed": seed, "workers": workers,
        "core": core,
    }  # fmt: skip
    if repair is not None:
        options["repair"] = repair
    try:
        result, label = _replay(jobs_csv, vcs_csv, store, trace, cluster, model, start, end,
                                options)  # fmt: skip
    except ValueError as exc:
        if type(exc) is not ValueError:  # a file error names its file and line already
            raise
        raise ValueError(as_flags(str(exc))) from exc
    if result.prediction_model is not None:
        label += f" with {result.prediction_model}'s predictions (trained until " \
                 f"{result.trained_until})"  # fmt: skip
    in_sample = result.quality.counts.get("replay.prediction_in_training_window", 0)
    if in_sample:
        err_console.print(
            f"[yellow]warning:[/] {in_sample} jobs ended before "
            f"{result.prediction_model}'s trained_until {result.trained_until}: their "
            "predictions are in-sample (replay a later --start for an honest result)"
        )
    table = feasibility_view(result, every_period=feasibility)
    print_frame(table, title=FEASIBILITY_TITLE[feasibility], limit=max(table.height, 1))
    repairs = result.quality.nonzero()
    if repairs:
        console.print(f"input repairs: {repairs}")
    print_frame(result.summary(), title=f"replay {result.policy} on {label}", key="vc")
    console.print(f"replayed on the {result.config.get('core', 'python')} core")
    if out is not None:
        write_output(result, out)
        console.print(f"per-job output: {out}")


#: The library's parameter names and the flags a user types for them.
FLAGS = {
    "resource_model": "--resources", "type_affinity": "--type-affinity",
    "share_by": "--share-by", "max_jobs_per_gpu": "--max-jobs-per-gpu", "kappa": "--kappa",
    "slowdown": "--kappa", "core": "--core", "compat": "--compat", "backfill": "--backfill",
    "workers": "--workers", "start": "--start", "end": "--end", "prediction_model": "--model",
}  # fmt: skip
_PARAMETER = re.compile(
    r"\b(?P<name>" + "|".join(FLAGS) + r")(?P<tail> must\b|=|: )|\b(?P<drop>drop) (?P<dropped>"
    + "|".join(FLAGS) + r")\b"
)


def as_flags(message: str) -> str:
    """A library message with its parameter names as the command's flags:
    ``resource_model must be one of ...`` -> ``--resources must be one of ...``."""

    def flag(m: re.Match[str]) -> str:
        if m["drop"]:
            return f"drop {FLAGS[m['dropped']]}"
        return FLAGS[m["name"]] + (" " + m["tail"][1:] if m["tail"] == "=" else m["tail"])

    return _PARAMETER.sub(flag, message)


def _replay(
    jobs_csv: Path | None,
    vcs_csv: Path | None,
    store: Path | None,
    trace: str | None,
    cluster: str | None,
    model: str | None,
    start: str | None,
    end: str | None,
    options: dict[str, Any],
) -> tuple[ReplayResult, str]:
    """Replay from the store (the default, ``data/parquet``) or from the two CSV files."""
    from tracekit.replay import read_jobs_csv, read_vcs_csv, replay, replay_from_store

    if store is None and jobs_csv is None and vcs_csv is None:
        store = DEFAULT_STORE
    if store is not None:
        if jobs_csv is not None or vcs_csv is not None:
            raise ValueError("give either --store or --jobs-csv/--vcs-csv, not both")
        from tracekit.replay.inputs import check_partition
        from tracekit.store import open_store

        st = open_store(store)
        trace, cluster = check_partition(st, trace, cluster)
        result = replay_from_store(st, trace, cluster, start, end, prediction_model=model,
                                   **options)  # fmt: skip
        return result, f"{trace}/{cluster}"
    if jobs_csv is None or vcs_csv is None:
        raise ValueError("give both --jobs-csv and --vcs-csv (or --store, default data/parquet)")
    if model is not None or trace is not None or cluster is not None:
        raise ValueError("--model, --trace and --cluster read the store: add --store")
    pol = options.pop("policy")
    result = replay(read_jobs_csv(jobs_csv), read_vcs_csv(vcs_csv), pol, source=str(jobs_csv),
                    line_offset=2, **options)  # fmt: skip
    return result, jobs_csv.name


FEASIBILITY_TITLE = {
    False: "offered load / capacity: whole window (all), overloaded days",
    True: "offered load / capacity: whole window (all), every day",
}


def feasibility_view(result: ReplayResult, every_period: bool = False) -> pl.DataFrame:
    """The offered load the CLI prints: per VC the whole window (period ``all``) and the days
    whose offered load exceeds the capacity (``every_period``: every day)."""
    table = result.feasibility()
    if not every_period:
        table = table.filter((pl.col("period") < 0) | (pl.col("offered_load") > 1))
    period = pl.col("period").cast(pl.String)
    return table.select(
        "vc",
        pl.when(pl.col("period") < 0).then(pl.lit("all")).otherwise(period).alias("period"),
        "jobs", "gpu_s", "capacity_gpus", "offered_load",
    )  # fmt: skip


def _listing(title: str, entries: dict[str, str], width: int) -> str:
    """A help section, one entry per name, wrapped by hand to 78 columns (the ``\b`` block is
    printed as it is)."""
    lines = [
        textwrap.fill(line, 78, initial_indent=f"  {name:<{width}} ",
                      subsequent_indent=" " * (width + 3))
        for name, line in entries.items()
    ]  # fmt: skip
    return f"\n\n{title}:\n\n\b\n" + "\n".join(lines)


# The lists come from the registries, so a new policy or placement shows up here by itself.
command.__doc__ = inspect.cleandoc(command.__doc__ or "")
command.__doc__ += _listing("Policies (--policy)", describe(), 10)
command.__doc__ += _listing("Placements (--placement), whole GPUs", describe_placers(), 15)
command.__doc__ += _listing("Shared GPUs", describe_placements(), 15)
