"""``cluster_machine_list`` -> ``machines``; per-date ``capacity``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import IO

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources._common import read_capped
from tracekit.sources.philly._lines import (
    _check_header,
)
from tracekit.sources.philly.formats import (
    GPU_ID_PREFIX,
    GPU_MEM_UNIT,
    MACHINE_LIST_COLUMNS,
    MAX_MACHINE_LIST_BYTES,
    TIMEZONE,
)


def read_machine_list(fh: IO[bytes], path: str, qc: QualityCounter) -> pl.DataFrame:
    """Read ``cluster_machine_list`` into the ``machines`` schema (whitespace stripped)."""
    data = read_capped(fh, MAX_MACHINE_LIST_BYTES, path, "Philly machine list")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TraceFormatError(path, line, f"not UTF-8 text ({exc.reason})") from exc
    lines = text.splitlines()
    if not lines:
        raise TraceFormatError(path, 1, "empty machine list")
    _check_header(lines[0], MACHINE_LIST_COLUMNS, path, qc, "philly.machine_list_bad_header")
    ids, gpus, mems = [], [], []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            qc.add("philly.blank_line")
            continue
        fields = [f.strip() for f in line.split(",")]
        try:
            if len(fields) != 3 or not fields[0]:
                raise ValueError("expected 3 fields")
            num = int(fields[1])
            mem = fields[2]
            if not mem.endswith(GPU_MEM_UNIT):
                raise ValueError(f"GPU memory {mem!r} lacks the unit {GPU_MEM_UNIT!r}")
            mem_gb = float(mem[: -len(GPU_MEM_UNIT)])
        except ValueError as exc:
            if not qc.lenient:
                raise TraceFormatError(path, n, f"{exc}: {line!r}") from exc
            qc.add("philly.machine_list_bad_row", example=f"line {n}: {line}")
            continue
        ids.append(fields[0])
        gpus.append(float(num))
        mems.append(mem_gb)
    return pl.DataFrame(
        {"machine_id": ids, "num_gpus": gpus, "gpu_mem_gb": mems},
        schema={"machine_id": pl.String, "num_gpus": pl.Float64, "gpu_mem_gb": pl.Float64},
    ).select(
        "machine_id", "num_gpus",
        pl.lit(None, pl.String).alias("gpu_type"),  # not in the trace (only GPU memory)
        "gpu_mem_gb",
        pl.lit(None, pl.Float64).alias("num_cpus"),
        pl.lit(None, pl.Float64).alias("mem_gb"),
    )


def check_machine_list(machines: pl.DataFrame, attempts: pl.DataFrame,
                       qc: QualityCounter) -> pl.DataFrame:
    """Compare listed GPU counts with placements (warnings only, see philly-traces issue #8).

    Returns the machines whose placements use more GPUs (highest index + 1) than listed, with
    ``listed`` and ``used`` columns; counts ``philly.machine_list_gpu_mismatch`` and
    ``philly.machine_not_in_list``.
    """
    used = (
        attempts.select(pl.col("gpus").explode().alias("g"))
        .drop_nulls()
        .select(
            pl.col("g").str.split_exact("/", 1).struct.field("field_0").alias("machine_id"),
            (pl.col("g").str.split_exact("/", 1).struct.field("field_1")
             .str.slice(len(GPU_ID_PREFIX)).cast(pl.Int64) + 1).alias("used"),
        )
        .group_by("machine_id")
        .agg(pl.col("used").max())
    )
    joined = used.join(machines.select("machine_id", pl.col("num_gpus").alias("listed")),
                       on="machine_id", how="left")
    qc.add("philly.machine_not_in_list", int(joined["listed"].null_count()))
    bad = joined.filter(pl.col("used") > pl.col("listed")).sort("machine_id")
    qc.add("philly.machine_list_gpu_mismatch", bad.height,
           example=", ".join(bad["machine_id"].head(5).to_list()) or None)
    return bad


def derive_capacity(machines: pl.DataFrame, jobs: pl.DataFrame) -> pl.DataFrame:
    """Daily cluster capacity from the machine list: one row per local date, ``vc`` null.

    Philly publishes no per-VC capacity; ``vc = null`` means "whole cluster". Dates run from the
    first submission to the last job event (local ``America/Los_Angeles`` dates); every date gets
    the sum of listed GPUs (the list is a single snapshot).
    """
    total = float(machines["num_gpus"].sum()) if machines.height else 0.0
    times = pl.concat([jobs["submit_time"], jobs["start_time"], jobs["end_time"]]).drop_nulls()
    schema = {"date": pl.Date, "vc": pl.String, "num_gpus": pl.Float64}
    if times.is_empty() or machines.height == 0:
        return pl.DataFrame(schema=schema)
    local = times.dt.convert_time_zone(TIMEZONE).dt.date()
    first, last = local.min(), local.max()
    assert isinstance(first, date) and isinstance(last, date)
    days = pl.date_range(first, last, timedelta(days=1), eager=True)
    return pl.DataFrame({"date": days, "vc": [None] * len(days),
                         "num_gpus": [total] * len(days)}, schema=schema)
