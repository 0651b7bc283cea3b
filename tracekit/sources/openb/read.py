"""openb raw CSV -> typed frames -> frames in the store schema (``jobs``, ``pod_specs``,
``machines``, ``capacity``).

Every field is checked; a bad one raises :class:`~tracekit.errors.TraceFormatError` naming the
file and line (or, in lenient mode, the row is counted as ``openb.unparseable_row`` and skipped).
Repairs and oddities that are kept are counted by rule name (docs/openb.md lists them).
"""

from __future__ import annotations

import polars as pl

from tracekit.quality import QualityCounter
from tracekit.sources._common import (
    jobs_frame,
    non_negative_int,
    read_text_csv,
    reject_rows,
    typed_columns,
)
from tracekit.sources.openb.formats import (
    GPU_MEM_GB,
    GPU_MILLI,
    GPU_SPEC_SEPARATOR,
    MAX_GPUS_PER_POD,
    NO_PHASE,
    NODE_HEADER,
    NODE_INT_COLUMNS,
    PHASES,
    POD_HEADER,
    POD_HEADER_SHORT,
    POD_INT_COLUMNS,
    POD_TIME_COLUMNS,
    QOS_CLASSES,
    STATUS_MAP,
    TIME_ORIGIN,
    TRACE,
    UNFINISHED_PHASES,
)

_RULE = f"{TRACE}.unparseable_row"
# Raw times are seconds from the trace origin (about 1.3e7 in the real files); a larger number is
# no time of this trace, and would overflow the microsecond timestamps.
MAX_SECONDS = 1 << 32


def _seconds(text: pl.Series) -> pl.Series:
    """Whole seconds from 0 to :data:`MAX_SECONDS`; anything else becomes null."""
    parsed = non_negative_int(text)
    return pl.select(pl.when(parsed <= MAX_SECONDS).then(parsed)).to_series().alias(text.name)


# ---- nodes --------------------------------------------------------------------------------------
def read_nodes(data: bytes, name: str, quality: QualityCounter | None = None) -> pl.DataFrame:
    """Parse a node list (``openb_node_list_*.csv``) into typed columns.

    Returns
    -------
    polars.DataFrame
        ``sn`` (String), ``cpu_milli``, ``memory_mib``, ``gpu`` (Int64), ``model`` (String, null
        for CPU-only nodes).

    Raises
    ------
    TraceFormatError
        Bad header or field, duplicate node name, a GPU node without a model.
    """
    quality = quality or QualityCounter()
    raw = read_text_csv(data, name, (NODE_HEADER,), quality, TRACE)
    ints, bad = typed_columns(raw, NODE_INT_COLUMNS, name, quality, rule=_RULE)
    nodes = (
        raw.select("sn", pl.col("model").str.strip_chars().replace("", None), "_line")
        .with_columns(pl.Series(k, v) for k, v in ints.items())
        .filter(~bad)
    )
    nodes = reject_rows(
        nodes, ~pl.col("sn").is_first_distinct(), name, "duplicate node name", quality, _RULE
    )
    nodes = reject_rows(
        nodes,
        (pl.col("gpu") > 0) & pl.col("model").is_null(),
        name,
        "a node with GPUs has no GPU model",
        quality,
        _RULE,
    )
    quality.add(
        "openb.model_on_cpu_node_ignored",
        nodes.select((pl.col("gpu") == 0) & pl.col("model").is_not_null()).to_series().sum(),
    )
    return nodes.select(
        "sn",
        "cpu_milli",
        "memory_mib",
        "gpu",
        pl.when(pl.col("gpu") > 0).then(pl.col("model")).alias("model"),
    )


def machines_from_nodes(nodes: pl.DataFrame) -> pl.DataFrame:
    """The store's ``machines`` table from parsed nodes (GPU memory from the model's data sheet)."""
    return nodes.select(
        pl.col("sn").alias("machine_id"),
        pl.col("gpu").cast(pl.Float64).alias("num_gpus"),
        pl.col("model").alias("gpu_type"),
        pl.col("model")
        .replace_strict(GPU_MEM_GB, default=None, return_dtype=pl.Float64)
        .alias("gpu_mem_gb"),
        (pl.col("cpu_milli") / 1000.0).alias("num_cpus"),
        (pl.col("memory_mib") / 1024.0).alias("mem_gb"),
    )


def capacity_from_machines(machines: pl.DataFrame) -> pl.DataFrame:
    """One ``capacity`` row per GPU model (as ``vc``), dated at the nominal origin.

    The node list is a single snapshot, so capacity is constant over the trace.
    """
    return (
        machines.filter(pl.col("num_gpus") > 0)
        .group_by(pl.col("gpu_type").alias("vc"))
        .agg(pl.col("num_gpus").sum())
        .select(pl.lit(TIME_ORIGIN.date()).alias("date"), "vc", "num_gpus")
        .sort("vc")
    )


def check_gpu_node_list(
    nodes: pl.DataFrame, gpu_nodes: pl.DataFrame, quality: QualityCounter
) -> None:
    """Count ``openb.gpu_node_list_mismatch``: the GPU-node list must be the GPU nodes of the full
    list (as a multiset of node shapes: the two files number nodes independently)."""
    cols = ["cpu_milli", "memory_mib", "gpu", "model"]
    full = nodes.filter(pl.col("gpu") > 0).group_by(cols).len()
    sub = gpu_nodes.group_by(cols).len()
    diff = full.join(sub, on=cols, how="full", coalesce=True, nulls_equal=True).select(
        (pl.col("len").fill_null(0) - pl.col("len_right").fill_null(0)).abs().sum()
    )
    quality.add("openb.gpu_node_list_mismatch", int(diff.item() or 0))


# ---- pods ---------------------------------------------------------------------------------------
def read_pods(data: bytes, name: str, quality: QualityCounter | None = None) -> pl.DataFrame:
    """Parse a pod list (``openb_pod_list_*.csv``) into typed columns.

    The short layout of the ``multigpu50`` variant (request columns only) gets null QoS, phase and
    times.

    Returns
    -------
    polars.DataFrame
        The raw columns typed (integers as Int64, ``gpu_spec`` as a list of models, null when
        unconstrained), plus ``_line`` (the file line of each row).

    Raises
    ------
    TraceFormatError
        Bad header, field or value range (``num_gpu`` 0-8, ``gpu_milli`` 0-1000), duplicate name.
    """
    quality = quality or QualityCounter()
    raw = read_text_csv(data, name, (POD_HEADER, POD_HEADER_SHORT), quality, TRACE)
    short = raw.columns == [*POD_HEADER_SHORT, "_line"]
    if short:
        raw = raw.with_columns(pl.lit(None, pl.String).alias(c) for c in POD_HEADER[5:])
    ints, bad = typed_columns(raw, POD_INT_COLUMNS, name, quality, rule=_RULE)
    times, bad_t = typed_columns(
        raw,
        POD_TIME_COLUMNS,
        name,
        quality,
        rule=_RULE,
        parse=_seconds,
        what=f"a whole number of seconds from 0 to {MAX_SECONDS}",
        nullable=POD_TIME_COLUMNS if short else ("scheduled_time",),
    )
    spec = pl.col("gpu_spec").str.strip_chars().replace("", None)
    pods = (
        raw.select(
            "name",
            spec.str.split(GPU_SPEC_SEPARATOR).list.unique(maintain_order=True).alias("gpu_spec"),
            pl.col("qos").str.strip_chars(),
            pl.col("pod_phase").str.strip_chars(),
            "_line",
        )
        .with_columns(pl.Series(k, v) for k, v in {**ints, **times}.items())
        .filter(~(bad | bad_t))
    )
    pods = reject_rows(
        pods, ~pl.col("name").is_first_distinct(), name, "duplicate pod name", quality, _RULE
    )
    pods = reject_rows(
        pods,
        pl.col("num_gpu") > MAX_GPUS_PER_POD,
        name,
        f"num_gpu is above {MAX_GPUS_PER_POD}",
        quality,
        _RULE,
    )
    pods = reject_rows(
        pods,
        pl.col("gpu_milli") > GPU_MILLI,
        name,
        f"gpu_milli is above {GPU_MILLI}",
        quality,
        _RULE,
    )
    return pods.select(*POD_HEADER, "_line")


def trace_end_s(pods: pl.DataFrame) -> int | None:
    """The collection end: the last deletion time of the file (None without times)."""
    end = pods["deletion_time"].max()
    return None if end is None else int(end)  # type: ignore[arg-type]


def _seconds_to_utc(col: str) -> pl.Expr:
    origin_us = int(TIME_ORIGIN.timestamp()) * 1_000_000
    return (pl.col(col) * 1_000_000 + origin_us).cast(pl.Datetime("us", "UTC"))


def jobs_from_pods(pods: pl.DataFrame, quality: QualityCounter) -> pl.DataFrame:
    """The store's ``jobs`` table from parsed pods, counting every repair.

    ``num_gpus = num_gpu x gpu_milli / 1000`` (0.46 for a pod asking 460 milli of one GPU);
    ``num_cpus = cpu_milli / 1000``; ``mem_gb = memory_mib / 1024``. Status: Succeeded ->
    completed, Failed -> failed; Running/Pending deleted at the trace end -> censored (end and
    duration null), deleted earlier -> canceled. Times: the nominal origin plus raw seconds; a
    list without times has every pod submitted at the origin.
    """
    q = quality
    end = trace_end_s(pods)
    phase = pl.col("pod_phase")
    unfinished = phase.is_in(list(UNFINISHED_PHASES))
    at_end = pl.col("deletion_time") >= end if end is not None else pl.lit(True)
    known = phase.is_in(list(PHASES))
    status = (
        pl.when(phase.is_in(list(STATUS_MAP)))
        .then(phase.replace_strict(STATUS_MAP, default=None, return_dtype=pl.String))
        .when(unfinished & ~at_end.fill_null(True))
        .then(pl.lit("canceled"))
        .otherwise(pl.lit("censored"))
    )
    df = pods.with_columns(status.alias("status"))
    censored = pl.col("status") == "censored"
    started = pl.col("scheduled_time").is_not_null()
    c = df.select(
        (~known & phase.is_not_null()).sum().alias("unknown_phase"),
        phase.is_null().sum().alias("no_phase"),
        (censored & pl.col("deletion_time").is_not_null()).sum().alias("cleared"),
        (unfinished & (pl.col("status") == "canceled")).sum().alias("deleted"),
        (~pl.col("qos").is_in(list(QOS_CLASSES)) & pl.col("qos").is_not_null()).sum().alias("qos"),
        ((pl.col("num_gpu") == 0) & (pl.col("gpu_milli") > 0)).sum().alias("milli_no_gpu"),
        ((pl.col("num_gpu") > 0) & (pl.col("gpu_milli") == 0)).sum().alias("gpu_no_milli"),
        ((pl.col("num_gpu") > 1) & (pl.col("gpu_milli") < GPU_MILLI)).sum().alias("partial"),
        (pl.col("memory_mib") == 0).sum().alias("zero_mem"),
        # Scheduled pods deleted before their start are the contract's rule (end before start).
        (~started & (pl.col("deletion_time") < pl.col("creation_time"))).sum().alias("del_early"),
        (phase.is_in(["Succeeded", "Failed", "Running"]) & ~started).sum().alias("no_start"),
        pl.col("creation_time").is_null().sum().alias("no_times"),
    ).row(0, named=True)
    q.add("openb.unknown_phase", c["unknown_phase"])
    q.add("openb.no_phase_column", c["no_phase"])
    q.add("openb.censored_end_cleared", c["cleared"])
    q.add("openb.deleted_before_final_phase", c["deleted"])
    q.add("openb.unknown_qos_kept", c["qos"])
    q.add("openb.gpu_milli_without_gpu", c["milli_no_gpu"])
    q.add("openb.gpu_without_gpu_milli", c["gpu_no_milli"])
    q.add("openb.partial_share_multi_gpu_kept", c["partial"])
    q.add("openb.zero_memory_kept", c["zero_mem"])
    q.add("openb.deleted_before_creation_kept", c["del_early"])
    q.add("openb.started_phase_without_schedule_time", c["no_start"])
    q.add("openb.no_times_submitted_at_origin", c["no_times"])

    num_gpus = pl.col("num_gpu") * pl.col("gpu_milli").cast(pl.Float64) / GPU_MILLI
    duration = (
        pl.when(censored | ~started)
        .then(None)
        .otherwise((pl.col("deletion_time") - pl.col("scheduled_time")).cast(pl.Float64))
    )
    return jobs_frame(
        df,
        job_id=pl.col("name"),
        # A list without times (multigpu50) is an arrival order: every pod arrives at second 0,
        # since the store requires a submission time.
        submit_time=_seconds_to_utc("creation_time").fill_null(TIME_ORIGIN),
        start_time=_seconds_to_utc("scheduled_time"),
        end_time=pl.when(censored).then(None).otherwise(_seconds_to_utc("deletion_time")),
        queue_s=(pl.col("scheduled_time") - pl.col("creation_time")).cast(pl.Float64),
        duration_s=duration,
        num_gpus=num_gpus,
        num_cpus=pl.col("cpu_milli") / 1000.0,
        mem_gb=pl.col("memory_mib") / 1024.0,
        num_nodes=pl.lit(1, pl.Int32),  # a pod runs on exactly one node
        status=pl.col("status"),
        raw_status=pl.col("pod_phase").fill_null(NO_PHASE),
        gpu_time_s=num_gpus * duration,
    )


def pod_specs_from_pods(pods: pl.DataFrame) -> pl.DataFrame:
    """The ``pod_specs`` table: each pod's request exactly as published."""
    return pods.select(
        pl.col("name").alias("job_id"),
        "qos",
        "num_gpu",
        "gpu_milli",
        "gpu_spec",
        "cpu_milli",
        "memory_mib",
    )


__all__ = [
    "MAX_SECONDS",
    "capacity_from_machines",
    "check_gpu_node_list",
    "jobs_from_pods",
    "machines_from_nodes",
    "pod_specs_from_pods",
    "read_nodes",
    "read_pods",
    "trace_end_s",
]
