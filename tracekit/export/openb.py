"""``openb``: the pod list of Alibaba's GPU-sharing trace (cluster-trace-gpu-v2023, "openb"), as
the Kubernetes scheduler simulator of FGD (github.com/hkust-adsl/kubernetes-scheduler-simulator)
reads it, plus a node list when the store knows the machines.

A pod holds at most 8 GPUs: larger jobs become several pods (``<name>-0``, ``<name>-1``, ...)
sharing the job's GPUs, CPUs and memory. A fraction of one GPU is written as ``gpu_milli``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tracekit.export._common import (
    Ledger,
    Part,
    dns_names,
    fractional,
    seconds_from,
    subsecond,
)
from tracekit.sources.openb.formats import (
    DEFAULT_VARIANT,
    GPU_MILLI,
    MAX_GPUS_PER_POD,
    NODE_FILE,
    NODE_HEADER,
    POD_FILE_PREFIX,
    POD_FILE_SUFFIX,
    POD_HEADER,
)

NAME = "openb"
DESCRIPTION = "openb pod CSV (FGD's Kubernetes scheduler simulator)"
POD_FILE = f"{POD_FILE_PREFIX}{DEFAULT_VARIANT}{POD_FILE_SUFFIX}"
MILLI = 1000  # milli-CPUs per CPU
UNKNOWN_MODEL = "unknown"  # a GPU node's model when the store does not know it
MIB_PER_GB = 1024
#: Pod phases of the finished statuses. openb has no canceled or unfinished phase: such pods are
#: Running (Pending if never scheduled), deleted when canceled or at the end of the trace, which
#: is how the published pod lists show them.
PHASE_OF: dict[str, str] = {"completed": "Succeeded", "failed": "Failed"}
NAME_PREFIX = "tk-pod-"
MAPPING: tuple[tuple[str, str], ...] = (
    ("name", f"job_id when it is a valid pod name, else {NAME_PREFIX}N (job_ids.csv maps back); "
             "pods of a split job get -0, -1, ..."),
    ("cpu_milli", "num_cpus x 1000, shared among the job's pods (0 when unknown)"),
    ("memory_mib", "mem_gb x 1024, shared among the job's pods (0 when unknown)"),
    ("num_gpu", f"num_gpus rounded up, at most {MAX_GPUS_PER_POD} per pod (1 for a GPU fraction)"),
    ("gpu_milli", "1000 x the fraction of one GPU for jobs of less than one GPU; 1000 for whole "
                  "GPUs; 0 for CPU pods"),
    ("gpu_spec", "gpu_type (empty when unknown)"),
    ("qos", "empty (the store has no QoS class)"),
    ("pod_phase", "completed Succeeded, failed Failed; canceled and censored Running (Pending "
                  "when never started)"),
    ("creation_time, scheduled_time",
     "submit and start times in whole seconds from the first submit (or the --from time); "
     "scheduled_time empty when the job never started"),
    ("deletion_time", "the end time; censored jobs (and canceled ones without an end): the "
                      "end of the trace (its last submit, start or end)"),
)  # fmt: skip


def write(part: Part, folder: Path, ledger: Ledger) -> None:
    """Write the openb pod list (and node list) of ``part`` into ``folder``."""
    jobs = part.jobs
    origin = part.origin
    gpus = pl.col("num_gpus").fill_null(0)
    whole_gpus = gpus.ceil().cast(pl.Int64)
    pods = pl.max_horizontal((whole_gpus + MAX_GPUS_PER_POD - 1) // MAX_GPUS_PER_POD, pl.lit(1))
    ledger.changes(jobs, {
        f"jobs of more than {MAX_GPUS_PER_POD} GPUs split into several pods":
            gpus > MAX_GPUS_PER_POD,
        "fractional GPU counts above one rounded up": (gpus > 1) & fractional("num_gpus"),
        "canceled jobs written as Running/Pending pods deleted at their end (no canceled "
        "phase)": pl.col("status") == "canceled",
        "censored jobs written as Running/Pending pods deleted at the end of the trace":
            (pl.col("status") == "censored") | pl.col("end_time").is_null(),
        "CPU or memory request unknown, written as 0":
            pl.col("num_cpus").is_null() | pl.col("mem_gb").is_null(),
        "times with fractions of a second rounded to whole seconds":
            subsecond("submit_time") | fractional("queue_s") | fractional("duration_s"),
    })  # fmt: skip
    rename = not dns_names(jobs["job_id"])
    names = (
        pl.lit(NAME_PREFIX) + pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(7)
        if rename else pl.col("job_id")
    )

    def seconds(column: str) -> pl.Expr:
        return seconds_from(column, origin).round(0).cast(pl.Int64) if origin else pl.lit(None)

    def seconds_at(when: object) -> pl.Expr:
        if origin is None or when is None:
            return pl.lit(None, dtype=pl.Int64)
        return pl.lit(round((when - origin).total_seconds()), dtype=pl.Int64)

    phase = (
        pl.when(pl.col("status").is_in(list(PHASE_OF)))
        .then(pl.col("status").replace_strict(PHASE_OF, default=None))
        .when(pl.col("start_time").is_null())
        .then(pl.lit("Pending"))
        .otherwise(pl.lit("Running"))
    )
    trace_end = jobs.select(
        pl.max_horizontal(pl.col(c).max() for c in ("submit_time", "start_time", "end_time"))
    ).item()
    per_job = jobs.select(
        names.alias("_name"),
        pl.col("num_cpus").fill_null(0).alias("_cpus"),
        pl.col("mem_gb").fill_null(0).alias("_mem"),
        whole_gpus.alias("_g"),
        pods.alias("_n"),
        pl.when((gpus > 0) & (gpus < 1)).then((gpus * GPU_MILLI).round(0))
        .when(gpus > 0).then(pl.lit(GPU_MILLI)).otherwise(pl.lit(0)).cast(pl.Int64)
        .alias("gpu_milli"),
        pl.col("gpu_type").fill_null("").alias("gpu_spec"),
        pl.lit("").alias("qos"),
        phase.alias("pod_phase"),
        seconds("submit_time").alias("creation_time"),
        pl.coalesce(seconds("end_time"), seconds_at(trace_end)).alias("deletion_time"),
        seconds("start_time").alias("scheduled_time"),
    )  # fmt: skip
    split = pl.col("_n") > 1
    table = (
        per_job.with_columns(pl.int_ranges(0, pl.col("_n")).alias("_k"))
        .explode("_k")
        .select(
            pl.when(split).then(pl.col("_name") + "-" + pl.col("_k").cast(pl.String))
            .otherwise(pl.col("_name")).alias("name"),
            (pl.col("_cpus") * MILLI / pl.col("_n")).round(0).cast(pl.Int64).alias("cpu_milli"),
            (pl.col("_mem") * MIB_PER_GB / pl.col("_n")).round(0).cast(pl.Int64)
            .alias("memory_mib"),
            (pl.col("_g") // pl.col("_n") + (pl.col("_k") < pl.col("_g") % pl.col("_n"))
             .cast(pl.Int64)).alias("num_gpu"),
            *POD_HEADER[4:],
        )
    )  # fmt: skip
    assert tuple(table.columns) == POD_HEADER
    table.write_csv(folder / POD_FILE)
    ledger.wrote(POD_FILE, table.height)
    if rename:
        ids = pl.DataFrame({"name": per_job["_name"], "job_id": jobs["job_id"]})
        ids.write_csv(folder / "job_ids.csv")
        ledger.wrote("job_ids.csv", ids.height)
        ledger.note("Job ids are not all valid pod names: pods are named "
                    f"{NAME_PREFIX}0000001, ... and job_ids.csv maps the names back.")
    if origin is not None:
        ledger.note(f"Times are seconds from {origin.isoformat()} (UTC).")
    machines = part.table("machines")
    if machines is not None:
        nodes = machines.select(
            pl.col("machine_id").alias("sn"),
            (pl.col("num_cpus").fill_null(0) * MILLI).round(0).cast(pl.Int64).alias("cpu_milli"),
            (pl.col("mem_gb").fill_null(0) * MIB_PER_GB).round(0).cast(pl.Int64)
            .alias("memory_mib"),
            pl.col("num_gpus").fill_null(0).round(0).cast(pl.Int64).alias("gpu"),
            pl.when(pl.col("num_gpus").fill_null(0) > 0)
            .then(pl.col("gpu_type").fill_null(UNKNOWN_MODEL)).otherwise(pl.lit(""))
            .alias("model"),
        )  # fmt: skip
        ledger.change(f"GPU machines without a known GPU model, written as {UNKNOWN_MODEL!r}",
                      ledger.count(machines, pl.col("gpu_type").is_null()
                                   & (pl.col("num_gpus").fill_null(0) > 0)))
        assert tuple(nodes.columns) == NODE_HEADER
        nodes.write_csv(folder / NODE_FILE)
        ledger.wrote(NODE_FILE, nodes.height)
    else:
        ledger.note(f"{NODE_FILE} not written: the store has no machines table for this "
                    "cluster.")


__all__ = ["DESCRIPTION", "MAPPING", "NAME", "NODE_FILE", "POD_FILE", "write"]
