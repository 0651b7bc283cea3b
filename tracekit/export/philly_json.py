"""``philly-json``: the Philly ``cluster_job_log`` (one JSON array of jobs with their scheduling
attempts), as the Blox (github.com/msr-fiddle/blox) and Synergy simulators and tracekit's
``philly`` reader read it.

Attempts come from the store's ``attempts`` table when the trace has one (Philly); otherwise each
started job gets one attempt from its start to its end, placed on placeholder servers
``node0``, ``node1``, ... (the store does not know where it ran).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tracekit.export._common import Ledger, Part, fractional, local_text, subsecond_times
from tracekit.sources.philly.formats import (
    GPU_ID_PREFIX,
    JOB_KEYS,
    JOB_LOG,
    MAX_GPUS_PER_SERVER,
    STATUS_MAP,
    TIME_FORMAT,
    TIMEZONE,
)

NAME = "philly-json"
DESCRIPTION = "Philly cluster_job_log (Blox, Synergy): jobs with their attempts, as JSON"
#: Philly status words for the store's statuses (a Philly word already in raw_status is kept).
#: Philly has no word for an unfinished job: it leaves the last attempt's end_time empty.
WORD_OF: dict[str, str] = {"completed": "Pass", "canceled": "Killed", "failed": "Failed"}
UNFINISHED_WORD = "Running"
PLACEHOLDER_SERVER = "node"
MAPPING: tuple[tuple[str, str], ...] = (
    ("jobid", "job_id"),
    ("user, vc", "user, vc (empty string when unknown)"),
    ("status", "raw_status when it is a Philly word (Pass, Killed, Failed); else completed Pass, "
               f"canceled Killed, failed Failed, censored {UNFINISHED_WORD!r}"),
    ("submitted_time", f"submit_time as naive {TIMEZONE} wall clock, whole seconds"),
    ("attempts[].start_time, end_time",
     "the attempts table (Philly); else start_time, end_time of the job (end null: censored)"),
    ("attempts[].detail", "machines and GPUs of each attempt (Philly); else num_gpus rounded up, "
                          f"spread over num_nodes placeholder servers {PLACEHOLDER_SERVER}K "
                          f"(at most {MAX_GPUS_PER_SERVER} GPUs each)"),
)  # fmt: skip

_DETAIL = pl.Struct({"ip": pl.String, "gpus": pl.List(pl.String)})
_ATTEMPT = pl.Struct(
    {"start_time": pl.String, "end_time": pl.String, "detail": pl.List(_DETAIL)}
)


def _attempts_from_table(part: Part, jobs: pl.DataFrame) -> pl.DataFrame:
    """``job_id, attempts`` (list of attempt structs) from the store's ``attempts`` table."""
    keys = ["job_id", "attempt"]
    stored = part.table("attempts")
    assert stored is not None
    att = stored.join(jobs.select("job_id"), on="job_id", how="semi").select(
        *keys,
        local_text("start_time", TIMEZONE, TIME_FORMAT).alias("start_time"),
        local_text("end_time", TIMEZONE, TIME_FORMAT).alias("end_time"),
        "machines",
        "gpus",
    )
    # Most attempts use one server: their detail is that server and its GPU ids ("m1/gpu3").
    single = pl.col("machines").list.len() == 1
    gpu_ids = pl.col("gpus").list.eval(pl.element().str.slice(pl.element().str.find("/") + 1))
    one = att.filter(single).select(
        *keys, "start_time", "end_time",
        pl.concat_list(pl.struct(pl.col("machines").list.first().alias("ip"),
                                 gpu_ids.alias("gpus"))).alias("detail"),
    )  # fmt: skip
    many = att.filter(~single)
    # Several (or no) servers: one detail entry per server, in the attempt's server order.
    machines = many.select(
        *keys, pl.col("machines").alias("ip"),
        pl.int_ranges(0, pl.col("machines").list.len()).alias("_m"),
    ).explode("ip", "_m").filter(pl.col("ip").is_not_null())  # fmt: skip
    gpus = (
        many.select(*keys, pl.col("gpus").alias("gpu")).explode("gpu")
        .filter(pl.col("gpu").is_not_null())
        .with_columns(pl.col("gpu").str.split_exact("/", 1).struct.rename_fields(["ip", "id"]))
        .unnest("gpu")
        .group_by([*keys, "ip"], maintain_order=True).agg(pl.col("id").alias("gpus"))
    )  # fmt: skip
    detail = (
        machines.join(gpus, on=[*keys, "ip"], how="left")
        .with_columns(pl.col("gpus").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .sort(*keys, "_m")
        .group_by(keys, maintain_order=True)
        .agg(pl.struct("ip", "gpus").alias("detail"))
    )
    many = many.join(detail, on=keys, how="left").select(
        *keys, "start_time", "end_time",
        pl.col("detail").fill_null(pl.lit([], dtype=pl.List(_DETAIL))),
    )  # fmt: skip
    return (
        pl.concat([one, many])
        .sort(*keys)
        .group_by("job_id")
        .agg(pl.struct("start_time", "end_time", "detail").alias("attempts"))
    )


def _synthesized_attempts(jobs: pl.DataFrame) -> pl.DataFrame:
    """``job_id, attempts``: one attempt per started job on placeholder servers."""
    started = jobs.filter(pl.col("start_time").is_not_null())
    gpus = pl.col("num_gpus").fill_null(0).ceil().cast(pl.Int64)
    servers = pl.max_horizontal(
        pl.col("num_nodes").fill_null(0).cast(pl.Int64),
        (gpus + MAX_GPUS_PER_SERVER - 1) // MAX_GPUS_PER_SERVER,
        pl.lit(1),
    )
    per = started.select(
        "job_id",
        local_text("start_time", TIMEZONE, TIME_FORMAT).alias("start_time"),
        local_text("end_time", TIMEZONE, TIME_FORMAT).alias("end_time"),
        gpus.alias("_g"),
        servers.alias("_n"),
    )
    slots = (
        per.with_columns(pl.int_ranges(0, pl.col("_n")).alias("_k")).explode("_k")
        .with_columns(
            (pl.col("_g") // pl.col("_n") + (pl.col("_k") < pl.col("_g") % pl.col("_n"))
             .cast(pl.Int64)).alias("_c")
        )
        .with_columns(
            (pl.lit(PLACEHOLDER_SERVER) + pl.col("_k").cast(pl.String)).alias("ip"),
            pl.int_ranges(0, pl.col("_c")).list.eval(
                pl.lit(GPU_ID_PREFIX) + pl.element().cast(pl.String)
            ).alias("gpus"),
        )
        .group_by("job_id", "start_time", "end_time", maintain_order=True)
        .agg(pl.struct("ip", "gpus").alias("detail"))
    )  # fmt: skip
    return slots.select(
        "job_id", pl.concat_list(pl.struct("start_time", "end_time", "detail")).alias("attempts")
    )


def write(part: Part, folder: Path, ledger: Ledger) -> None:
    """Write ``cluster_job_log`` of ``part`` into ``folder``."""
    jobs = ledger.drop_rows(part.jobs, pl.col("num_gpus") == 0,
                            "CPU-only jobs (num_gpus = 0; the Philly log holds GPU jobs)")
    if part.has("attempts"):
        attempts = _attempts_from_table(part, jobs)
        ledger.note("Attempts, servers and GPUs come from the store's attempts table.")
    else:
        attempts = _synthesized_attempts(jobs)
        ledger.changes(jobs, {
            "fractional GPU counts rounded up (a GPU id is a whole GPU)": fractional("num_gpus")
        })
        ledger.note(f"The store has no attempts for this trace: each started job has one "
                    f"attempt on placeholder servers {PLACEHOLDER_SERVER}0, "
                    f"{PLACEHOLDER_SERVER}1, ... (num_nodes of them, or enough for "
                    f"{MAX_GPUS_PER_SERVER} GPUs each).")
    keep_raw = pl.col("raw_status").is_in(list(STATUS_MAP))
    ledger.changes(jobs, {
        "times with fractions of a second truncated": subsecond_times(),
        f"status written as a Philly word (unfinished jobs: {UNFINISHED_WORD!r}, which "
        "tracekit's philly reader counts as an unknown word and reads as censored)": ~keep_raw,
        "empty user or vc written as an empty string":
            pl.col("user").is_null() | pl.col("vc").is_null(),
    })  # fmt: skip
    word = pl.when(keep_raw).then(pl.col("raw_status")).otherwise(
        pl.col("status").replace_strict(WORD_OF, default=UNFINISHED_WORD)
    )
    log = (
        jobs.select(
            "job_id",
            word.alias("status"),
            pl.col("vc").fill_null(""),
            local_text("submit_time", TIMEZONE, TIME_FORMAT).alias("submitted_time"),
            pl.col("user").fill_null(""),
        )
        .join(attempts, on="job_id", how="left", maintain_order="left")
        .with_columns(pl.col("attempts").fill_null(pl.lit([], dtype=pl.List(_ATTEMPT))))
        .select(
            "status", "vc", pl.col("job_id").alias("jobid"), "attempts", "submitted_time", "user"
        )
    )
    assert tuple(log.columns) == JOB_KEYS
    log.write_json(folder / JOB_LOG)
    ledger.wrote(JOB_LOG, log.height)


__all__ = ["DESCRIPTION", "MAPPING", "NAME", "write"]
