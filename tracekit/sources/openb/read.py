"""openb raw CSV -> typed frames -> frames in the store schema (``jobs``, ``pod_specs``,
``machines``, ``capacity``).

Every field is checked; a bad one raises :class:`~tracekit.errors.TraceFormatError` naming the
file and line (or, in lenient mode, the row is counted as ``openb.unparseable_row`` and skipped).
Repairs and oddities that are kept are counted by rule name (docs/openb.md lists them).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import polars as pl

from tracekit.errors import TraceFormatError
from tracekit.quality import QualityCounter
from tracekit.sources.openb.formats import (
    GPU_MEM_GB,
    GPU_MILLI,
    GPU_SPEC_SEPARATOR,
    MAX_GPUS_PER_POD,
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
    UNFINISHED_PHASES,
)


# ---- CSV -> text columns ------------------------------------------------------------------------
def _header(data: bytes) -> tuple[str, ...]:
    first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    return tuple(first.split(","))


def read_text_csv(data: bytes, name: str, headers: tuple[tuple[str, ...], ...]) -> pl.DataFrame:
    """Read a header-first CSV as text columns, checking the header and every row's width.

    Parameters
    ----------
    data : bytes
        File contents.
    name : str
        File name used in error messages.
    headers : tuple of tuple of str
        The accepted headers (the first is named in the error message).

    Raises
    ------
    TraceFormatError
        Unexpected header, or a row with more or fewer fields than the header.
    """
    header = _header(data)
    if header not in headers:
        raise TraceFormatError(
            name, 1, f"unexpected header {','.join(header)!r}; expected {','.join(headers[0])!r}"
        )
    # One pass over the bytes finds ragged rows (the files have no quoting, so commas count).
    want = len(header) - 1
    for i, line in enumerate(io.BytesIO(data), start=1):
        stripped = line.rstrip(b"\r\n")
        if stripped and stripped.count(b",") != want:
            raise TraceFormatError(
                name, i, f"{stripped.count(b',') + 1} fields, expected {len(header)}"
            )
    return pl.read_csv(io.BytesIO(data), schema={c: pl.String for c in header})


def _line_of_first(mask: pl.Series) -> int:
    """1-based file line of the first flagged row (the header is line 1)."""
    return int(mask.arg_true()[0]) + 2


def non_negative_int(text: pl.Series) -> pl.Series:
    """Parse integers; anything else, and negative values, become null."""
    parsed = text.cast(pl.Int64, strict=False)
    return pl.select(pl.when(parsed >= 0).then(parsed)).to_series().alias(text.name)


def typed_columns(
    raw: pl.DataFrame,
    columns: tuple[str, ...],
    name: str,
    quality: QualityCounter,
    *,
    parse: Callable[[pl.Series], pl.Series] = non_negative_int,
    what: str = "a non-negative integer",
    rule: str = "openb.unparseable_row",
    nullable: tuple[str, ...] = (),
) -> tuple[dict[str, pl.Series], pl.Series]:
    """Parse text columns with ``parse`` (null = unparseable); returns them and the mask of rows
    skipped in lenient mode.

    An empty field is an error unless the column is in ``nullable``. The first bad field raises
    :class:`TraceFormatError` with its line, or in lenient mode every bad row is counted as
    ``rule`` and flagged in the returned mask.
    """
    bad = pl.Series([False] * raw.height)
    out: dict[str, pl.Series] = {}
    for col in columns:
        text = raw[col].str.strip_chars()
        parsed = parse(text)
        empty = text.is_null() | (text == "")
        wrong = parsed.is_null() & ~empty
        if col not in nullable:
            wrong = wrong | empty
        if wrong.any():
            line = _line_of_first(wrong)
            problem = f"{col} is not {what}: {raw[col][line - 2]!r}"
            if not quality.lenient:
                raise TraceFormatError(name, line, problem)
            quality.add(rule, int(wrong.sum()), f"{name}, line {line}: {problem}")
            bad = bad | wrong
        out[col] = parsed
    return out, bad


def reject_rows(
    frame: pl.DataFrame,
    expr: pl.Expr,
    name: str,
    problem: str,
    quality: QualityCounter,
    rule: str = "openb.unparseable_row",
) -> pl.DataFrame:
    """Raise on the first row where ``expr`` is true, or in lenient mode count such rows as
    ``rule`` and drop them. ``frame`` carries ``_line`` (each row's file line)."""
    wrong = frame.select(expr.fill_null(False)).to_series()
    if not wrong.any():
        return frame
    line = int(frame.filter(wrong)["_line"][0])
    if not quality.lenient:
        raise TraceFormatError(name, line, problem)
    quality.add(rule, int(wrong.sum()), f"{name}, line {line}: {problem}")
    return frame.filter(~wrong)


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
    raw = read_text_csv(data, name, (NODE_HEADER,))
    ints, bad = typed_columns(raw, NODE_INT_COLUMNS, name, quality)
    nodes = (
        raw.select("sn", pl.col("model").str.strip_chars().replace("", None))
        .with_columns(pl.Series(k, v) for k, v in ints.items())
        .with_row_index("_line", offset=2)
        .filter(~bad)
    )
    nodes = reject_rows(
        nodes, ~pl.col("sn").is_first_distinct(), name, "duplicate node name", quality
    )
    nodes = reject_rows(
        nodes,
        (pl.col("gpu") > 0) & pl.col("model").is_null(),
        name,
        "a node with GPUs has no GPU model",
        quality,
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
    raw = read_text_csv(data, name, (POD_HEADER, POD_HEADER_SHORT))
    short = raw.columns == list(POD_HEADER_SHORT)
    if short:
        raw = raw.with_columns(pl.lit(None, pl.String).alias(c) for c in POD_HEADER[5:])
    ints, bad = typed_columns(raw, POD_INT_COLUMNS, name, quality)
    times, bad_t = typed_columns(
        raw,
        POD_TIME_COLUMNS,
        name,
        quality,
        nullable=POD_TIME_COLUMNS if short else ("scheduled_time",),
    )
    spec = pl.col("gpu_spec").str.strip_chars().replace("", None)
    pods = (
        raw.select(
            "name",
            spec.str.split(GPU_SPEC_SEPARATOR).list.unique(maintain_order=True).alias("gpu_spec"),
            pl.col("qos").str.strip_chars(),
            pl.col("pod_phase").str.strip_chars(),
        )
        .with_columns(pl.Series(k, v) for k, v in {**ints, **times}.items())
        .with_row_index("_line", offset=2)
        .filter(~(bad | bad_t))
    )
    pods = reject_rows(
        pods, ~pl.col("name").is_first_distinct(), name, "duplicate pod name", quality
    )
    pods = reject_rows(
        pods,
        pl.col("num_gpu") > MAX_GPUS_PER_POD,
        name,
        f"num_gpu is above {MAX_GPUS_PER_POD}",
        quality,
    )
    pods = reject_rows(
        pods, pl.col("gpu_milli") > GPU_MILLI, name, f"gpu_milli is above {GPU_MILLI}", quality
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
    duration null), deleted earlier -> canceled. Times: the nominal origin plus raw seconds.
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
        (pl.col("scheduled_time") < pl.col("creation_time")).sum().alias("sched_early"),
        (pl.col("deletion_time") < pl.coalesce("scheduled_time", "creation_time"))
        .sum()
        .alias("del_early"),
        (phase.is_in(["Succeeded", "Failed", "Running"]) & ~started).sum().alias("no_start"),
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
    q.add("openb.scheduled_before_creation_kept", c["sched_early"])
    q.add("openb.deleted_before_start_kept", c["del_early"])
    q.add("openb.started_phase_without_schedule_time", c["no_start"])

    num_gpus = pl.col("num_gpu") * pl.col("gpu_milli").cast(pl.Float64) / GPU_MILLI
    duration = (
        pl.when(censored | ~started)
        .then(None)
        .otherwise((pl.col("deletion_time") - pl.col("scheduled_time")).cast(pl.Float64))
    )
    return df.select(
        pl.col("name").alias("job_id"),
        pl.lit(None, pl.String).alias("user"),
        pl.lit(None, pl.String).alias("vc"),
        pl.lit(None, pl.String).alias("job_name"),
        pl.lit(None, pl.String).alias("group_tag"),
        pl.lit(None, pl.String).alias("workload"),
        _seconds_to_utc("creation_time").alias("submit_time"),
        _seconds_to_utc("scheduled_time").alias("start_time"),
        pl.when(censored).then(None).otherwise(_seconds_to_utc("deletion_time")).alias("end_time"),
        (pl.col("scheduled_time") - pl.col("creation_time")).cast(pl.Float64).alias("queue_s"),
        duration.alias("duration_s"),
        num_gpus.alias("num_gpus"),
        (pl.col("cpu_milli") / 1000.0).alias("num_cpus"),
        (pl.col("memory_mib") / 1024.0).alias("mem_gb"),
        pl.lit(1, pl.Int32).alias("num_nodes"),  # a pod runs on exactly one node
        pl.lit(None, pl.String).alias("gpu_type"),
        pl.col("status"),
        pl.col("pod_phase").alias("raw_status"),
        pl.lit(None, pl.Int32).alias("num_attempts"),
        (num_gpus * duration).alias("gpu_time_s"),
        pl.lit(None, pl.Float64).alias("gpu_util_mean"),
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
    "capacity_from_machines",
    "check_gpu_node_list",
    "jobs_from_pods",
    "machines_from_nodes",
    "pod_specs_from_pods",
    "read_nodes",
    "read_pods",
    "read_text_csv",
    "reject_rows",
    "trace_end_s",
    "non_negative_int",
    "typed_columns",
]
