"""``swf``: the Standard Workload Format (version 2.2) read by HPC simulators (Batsim, Slurm
simulators, the Parallel Workloads Archive tools), plus a ``.names.csv`` sidecar.

SWF has no GPU field. GPUs go into the processor fields (5, allocated, and 8, requested) and a
header note says so; tracekit's SWF reader recognizes the note. CPUs, nodes, GPU types and
fractions of GPUs and of seconds are lost; job ids, users and VCs become numbers, named in
``<cluster>.names.csv``. See ``docs/interop.md``.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from tracekit.export._common import (
    Ledger,
    Part,
    fractional,
    integer_ids,
    numbering,
    seconds_from,
    subsecond,
)
from tracekit.sources.swf.formats import (
    CENSORED_STATUS,
    FIELDS,
    GPU_NOTE,
    KB_PER_GB,
    MISSING,
    NAMES_HEADER,
    NAMES_SUFFIX,
    STATUS_MAP,
    VERSION,
)

NAME = "swf"
DESCRIPTION = "Standard Workload Format 2.2 (Batsim, Slurm simulators, Parallel Workloads Archive)"
CODE_OF: dict[str, int] = {status: code for code, status in STATUS_MAP.items()}
MAPPING: tuple[tuple[str, str], ...] = (
    ("1 job number", "job_id when every id is a positive integer, else 1, 2, ... in submit "
                     f"order (names in <cluster>{NAMES_SUFFIX})"),
    ("2 submit time", "seconds from UnixStartTime (the first submit, or the --from time)"),
    ("3 wait time", "queue_s (-1: never started)"),
    ("4 run time", "duration_s (-1: unfinished)"),
    ("5 allocated processors", "GPUs: num_gpus rounded up"),
    ("8 requested processors", "GPUs: num_gpus rounded up"),
    ("10 requested memory", "mem_gb as KB per GPU (-1: unknown)"),
    ("11 status", "completed 1, failed 0, canceled 5, censored -1"),
    ("12 user id", f"user, numbered by first appearance (names in <cluster>{NAMES_SUFFIX})"),
    ("15 queue number", "vc, numbered by name (names in the header and the names file)"),
    ("6, 7, 9, 13, 14, 16, 17, 18", "-1 (not in the store)"),
)  # fmt: skip


def _header(part: Part, origin: datetime, jobs: pl.DataFrame, queues: dict[str, int]) -> list[str]:
    from tracekit import __version__

    tz = part.timezone
    local = origin.astimezone(zoneinfo.ZoneInfo(tz))
    last = jobs.select(
        pl.max_horizontal(pl.col("submit_time").max(), pl.col("end_time").max())
    ).item()
    lines = [
        f"Version: {VERSION}",
        f"Computer: {part.trace}/{part.cluster}",
        f"Installation: trace {part.trace}, cluster {part.cluster}, from a tracekit store",
        f"Conversion: tracekit {__version__} (tracekit export swf)",
        f"MaxJobs: {jobs.height}",
        f"MaxRecords: {jobs.height}",
        "Preemption: No",
        f"UnixStartTime: {int(origin.timestamp())}",
        f"TimeZoneString: {tz}",
        f"StartTime: {local.strftime('%a %b %d %H:%M:%S %Z %Y')}",
    ]
    if last is not None:
        end = last.astimezone(local.tzinfo)
        lines.append(f"EndTime: {end.strftime('%a %b %d %H:%M:%S %Z %Y')}")
    lines.append(f"MaxQueues: {len(queues)}")
    if queues:
        lines.append("Queues: each queue is a virtual cluster (VC) of the source trace")
    lines += [f"Queue: {number} {vc}" for vc, number in queues.items()]
    lines.append(f"Note: {GPU_NOTE} (fields 5 and 8 count GPUs; CPUs, nodes and GPU types are "
                 "not carried)")
    if part.synthetic:
        lines.append("Note: SYNTHETIC data from tracekit's calibrated sample, not a real trace")
    return [f"; {line}" for line in lines]


def write(part: Part, folder: Path, ledger: Ledger) -> None:
    """Write ``<cluster>.swf`` and ``<cluster>.names.csv`` of ``part`` into ``folder``."""
    jobs = ledger.drop_rows(part.jobs, pl.col("num_gpus") == 0,
                            "CPU-only jobs (num_gpus = 0; processors carry GPUs)")
    origin = part.origin or datetime(1970, 1, 1, tzinfo=UTC)
    ledger.changes(jobs, {
        "fractional GPU counts rounded up (processors are whole)": fractional("num_gpus"),
        "times with fractions of a second rounded to whole seconds":
            subsecond("submit_time") | fractional("duration_s") | fractional("queue_s"),
        "GPU count unknown, written as -1": pl.col("num_gpus").is_null(),
        "CPUs, nodes and GPU types not carried (SWF has no fields for them)": pl.lit(True),
    })  # fmt: skip

    renumber = not integer_ids(jobs["job_id"])
    users = numbering(jobs["user"])
    queues = {vc: i for i, vc in enumerate(sorted(jobs["vc"].drop_nulls().unique()), start=1)}
    job_number = (
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64) if renumber
        else pl.col("job_id").str.to_integer()
    )
    procs = pl.col("num_gpus").ceil().cast(pl.Int64).fill_null(MISSING)
    memory = (pl.col("mem_gb") * KB_PER_GB / pl.col("num_gpus").ceil()).round(0).cast(pl.Int64)

    def whole(expr: pl.Expr) -> pl.Expr:
        return expr.round(0).cast(pl.Int64).fill_null(MISSING)

    minus = pl.lit(MISSING, dtype=pl.Int64)
    table = jobs.select(
        job_number.alias("job_number"),
        whole(seconds_from("submit_time", origin)).alias("submit_time"),
        whole(pl.col("queue_s")).alias("wait_time"),
        whole(pl.col("duration_s")).alias("run_time"),
        procs.alias("allocated_processors"),
        minus.alias("average_cpu_time"),
        minus.alias("used_memory"),
        procs.alias("requested_processors"),
        minus.alias("requested_time"),
        memory.fill_null(MISSING).alias("requested_memory"),
        pl.col("status").replace_strict(CODE_OF, default=CENSORED_STATUS, return_dtype=pl.Int64)
        .alias("status"),
        pl.col("user").replace_strict(users, default=MISSING, return_dtype=pl.Int64)
        .alias("user_id"),
        minus.alias("group_id"),
        minus.alias("executable_number"),
        pl.col("vc").replace_strict(queues, default=MISSING, return_dtype=pl.Int64)
        .alias("queue_number"),
        minus.alias("partition_number"),
        minus.alias("preceding_job_number"),
        minus.alias("think_time"),
    )  # fmt: skip
    assert tuple(table.columns) == FIELDS
    body = table.select(pl.concat_str(pl.all().cast(pl.String), separator=" ").alias("line"))
    name = f"{part.cluster}.swf"
    with open(folder / name, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(_header(part, origin, jobs, queues)) + "\n")
        fh.flush()
        body.write_csv(fh.buffer, include_header=False, quote_style="never")
    ledger.wrote(name, table.height)

    kinds = [("user_id", users), ("queue_number", queues)]
    pieces = [
        pl.DataFrame(
            {"field": [kind] * len(named), "number": [str(n) for n in named.values()],
             "name": list(named)},
            schema=dict.fromkeys(NAMES_HEADER, pl.String),
        )
        for kind, named in kinds
    ]
    if renumber:
        pieces.insert(0, pl.DataFrame({
            "field": pl.repeat("job_number", table.height, dtype=pl.String, eager=True),
            "number": table["job_number"].cast(pl.String),
            "name": jobs["job_id"],
        }))  # fmt: skip
    sidecar = pl.concat(pieces)
    sidecar_name = f"{part.cluster}{NAMES_SUFFIX}"
    sidecar.write_csv(folder / sidecar_name)
    ledger.wrote(sidecar_name, sidecar.height)
    if renumber:
        ledger.note(f"Job ids are not all positive integers: jobs are numbered 1, 2, ... in "
                    f"submit order and {sidecar_name} maps the numbers back to the ids.")


__all__ = ["DESCRIPTION", "MAPPING", "NAME", "write"]
