"""``helios``: ``cluster_log.csv`` + ``cluster_gpu_number.csv`` + ``vc_config.csv``, as the Helios
artifact (github.com/S-Lab-System-Group/HeliosArtifact) and the Lucid simulator
(github.com/S-Lab-System-Group/Lucid) read them, and as tracekit's ``helios`` reader reads them
back.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tracekit.export._common import (
    Ledger,
    Part,
    fractional,
    local_text,
    subsecond_times,
    vc_nodes,
)
from tracekit.sources.helios import (
    CAPACITY_FILE,
    CAPACITY_HEADER_FIRST,
    CAPACITY_HEADER_LAST,
    LOG_FILE,
    LOG_HEADER,
    STATUS_MAP,
    TIME_FORMAT,
    TIMEZONE,
)

NAME = "helios"
DESCRIPTION = "Helios/Lucid: cluster_log.csv, cluster_gpu_number.csv and vc_config.csv"
VC_CONFIG_FILE = "vc_config.csv"
VC_CONFIG_HEADER: tuple[str, str] = ("vc", "num")  # nodes of 8 GPUs per VC (Lucid)
#: Helios state words for the store's statuses (a Helios word already in raw_status is kept).
STATE_OF: dict[str, str] = {
    "completed": "COMPLETED",
    "canceled": "CANCELLED",
    "failed": "FAILED",
    "censored": "RUNNING",
}
MAPPING: tuple[tuple[str, str], ...] = (
    ("job_id", "job_id"),
    ("user", "user"),
    ("vc", "vc (empty when the trace has none)"),
    ("gpu_num", "num_gpus, rounded up to whole GPUs"),
    ("cpu_num", "num_cpus (empty when unknown)"),
    ("node_num", "num_nodes (empty when unknown)"),
    ("state", "raw_status when it is a Helios word, else status: completed COMPLETED, "
              "canceled CANCELLED, failed FAILED, censored RUNNING"),
    ("submit_time, start_time, end_time",
     f"naive wall clock in {TIMEZONE} (the Helios traces' zone), whole seconds"),
    ("duration", "duration_s, whole seconds (empty for censored jobs)"),
    ("queue", "queue_s, whole seconds (empty when the job never started)"),
)  # fmt: skip


def write(part: Part, folder: Path, ledger: Ledger) -> None:
    """Write the Helios files of ``part`` into ``folder``."""
    jobs = part.jobs
    keep_raw = pl.col("raw_status").is_in(list(STATUS_MAP))
    ledger.changes(jobs, {
        "fractional GPU counts rounded up (gpu_num is an integer)": fractional("num_gpus"),
        "times with fractions of a second truncated": subsecond_times(),
        "durations or queue delays with fractions of a second rounded":
            fractional("duration_s") | fractional("queue_s"),
        "GPU count unknown, written as 0": pl.col("num_gpus").is_null(),
        "status written as a Helios word (raw word not a Helios state)": ~keep_raw,
        "jobs without a VC (Lucid keeps only jobs of VCs in vc_config.csv)":
            pl.col("vc").is_null(),
    })  # fmt: skip
    state = pl.when(keep_raw).then(pl.col("raw_status")).otherwise(
        pl.col("status").replace_strict(STATE_OF, default="RUNNING")
    )
    log = jobs.select(
        pl.col("job_id"),
        pl.col("user"),
        pl.col("vc"),
        pl.col("num_gpus").ceil().fill_null(0).cast(pl.Int64).alias("gpu_num"),
        pl.col("num_cpus").round(0).cast(pl.Int64).alias("cpu_num"),
        pl.col("num_nodes").cast(pl.Int64).alias("node_num"),
        state.alias("state"),
        local_text("submit_time", TIMEZONE, TIME_FORMAT).alias("submit_time"),
        local_text("start_time", TIMEZONE, TIME_FORMAT).alias("start_time"),
        local_text("end_time", TIMEZONE, TIME_FORMAT).alias("end_time"),
        pl.col("duration_s").round(0).cast(pl.Int64).alias("duration"),
        pl.col("queue_s").round(0).cast(pl.Int64).alias("queue"),
    )
    assert tuple(log.columns) == LOG_HEADER
    log.write_csv(folder / LOG_FILE)
    ledger.wrote(LOG_FILE, log.height)

    capacity = part.capacity_by_vc()
    if capacity is not None:
        wide = (
            capacity.with_columns(pl.col("num_gpus").round(0).cast(pl.Int64))
            .pivot(on="vc", index="date", values="num_gpus", aggregate_function="sum",
                   sort_columns=True)
            .sort("date")
            .fill_null(0)
        )
        vcs = [c for c in wide.columns if c != CAPACITY_HEADER_FIRST]
        wide = wide.with_columns(pl.sum_horizontal(vcs).alias(CAPACITY_HEADER_LAST))
        wide.write_csv(folder / CAPACITY_FILE, date_format="%Y-%m-%d")
        ledger.wrote(CAPACITY_FILE, wide.height)
    else:
        ledger.note(f"{CAPACITY_FILE} not written: the store has no per-VC capacity for this "
                    "cluster.")

    gpu_jobs = jobs.filter(pl.col("num_gpus") > 0)
    nodes, how = vc_nodes(part, gpu_jobs)
    config = pl.DataFrame(
        {VC_CONFIG_HEADER[0]: list(nodes), VC_CONFIG_HEADER[1]: list(nodes.values())},
        schema={VC_CONFIG_HEADER[0]: pl.String, VC_CONFIG_HEADER[1]: pl.Int64},
    ).filter(pl.col("vc") != "<none>")
    config.write_csv(folder / VC_CONFIG_FILE)
    ledger.wrote(VC_CONFIG_FILE, config.height)
    ledger.note(f"{VC_CONFIG_FILE}: nodes of 8 GPUs per VC, from {how}.")
    ledger.note("Lucid's loader also asks for a `jobname` column, which the public Helios "
                "release does not have either; add it (e.g. a copy of job_id) for Lucid.")


__all__ = ["DESCRIPTION", "MAPPING", "NAME", "VC_CONFIG_FILE", "write"]
