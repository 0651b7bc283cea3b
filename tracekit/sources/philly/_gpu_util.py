"""``cluster_gpu_util`` -> long ``gpu_util`` frames: the streaming driver and the line-level paths.

Blocks go to the vectorised parser of :mod:`.gpu_block` first; a block it declines is parsed
here (Arrow CSV per field-count group, else polars string splitting), which names bad lines.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from tracekit.quality import QualityCounter
from tracekit.sources.philly._gpu_block import parse_gpu_block
from tracekit.sources.philly._lines import (
    _check_header,
    _decode_lines,
    _frame,
    _iter_byte_chunks,
    _reject,
    _util_time,
)
from tracekit.sources.philly.formats import (
    _CHUNK_BYTES,
    _UTC,
    GLUED_ROW_VALUES,
    GPU_UTIL,
    GPU_UTIL_COLUMNS,
    MAX_GPUS_PER_SERVER,
    TIMEZONE,
    UTIL_NA,
    UTIL_TIME_SUFFIXES,
    ProgressFn,
)


def iter_gpu_util(
    fh: IO[bytes], path: str, qc: QualityCounter, chunk_bytes: int = _CHUNK_BYTES,
    on_progress: ProgressFn | None = None, total_bytes: int | None = None,
) -> Iterator[pl.DataFrame]:
    """Stream ``cluster_gpu_util`` as long-layout frames ``time, machine_id, gpu, util``.

    Every data row yields one output row per value it carries (GPU K = K-th value), so 2- and
    4-GPU servers with short rows and servers padded with ``NA`` are both kept as written.
    ``NA`` (offline) -> null util. A glued DST row (16 values during the repeated hour of the
    fall-back night) is split into the earlier (PDT) and the later (PST) sample. Times become UTC
    using the row's suffix (``PDT`` = UTC-7, ``PST`` = UTC-8).
    """
    done = 0
    for first, data in _iter_byte_chunks(fh, chunk_bytes):
        done += len(data) + 1
        if first == 1:
            cut = data.find(b"\n")
            header, data = (data, None) if cut < 0 else (data[:cut], data[cut + 1 :])
            header_text = _decode_lines(header, path, 1)[0]
            _check_header(header_text, GPU_UTIL_COLUMNS, path, qc, "philly.gpu_util_bad_header")
            first = 2
        if data is None:  # the chunk held only the header
            continue
        out = parse_gpu_block(data, qc)
        if out is None:  # unusual block: the line-level paths name the bad line
            df = _frame(first, _decode_lines(data, path, first), skip_header=False)
            out = _gpu_chunk_fast(df, path, qc)
        if on_progress is not None:
            on_progress(GPU_UTIL, done, total_bytes)
        if out is None or out.height == 0:
            continue
        # Time order within a chunk (the file is time-ordered across chunks): readers can
        # prune row groups by time, and the per-job join needs no sort. The fast path keeps the
        # file order, which is usually sorted already.
        if not out["time"].is_sorted():
            out = out.sort("time", maintain_order=True)
        yield out


class _Fallback(Exception):
    """The fast path met something unusual: parse that group with the exact line-level path."""


_GPU_LONG_SCHEMA = {"time": _UTC, "machine_id": pl.String, "gpu": pl.Int8, "util": pl.Float32}


def _gpu_chunk_fast(df: pl.DataFrame, path: str, qc: QualityCounter) -> pl.DataFrame:
    """Parse a chunk of gpu-util lines: lines are grouped by field count and each group is read
    by Arrow's CSV parser (typed floats, ``NA`` -> null). A group with anything unusual (bad
    time, empty or non-numeric value, mixed trailing commas) is re-parsed by :func:`_gpu_chunk`,
    which names the exact line, so both paths give identical results and counts.
    """
    blank = pl.col("line") == ""
    qc.add("philly.blank_line", int(df.select(blank.sum()).item()))
    df = df.filter(~blank).with_columns(
        pl.col("line").str.count_matches(",", literal=True).alias("c")
    )
    outs = []
    for (c,), part in df.partition_by("c", as_dict=True, maintain_order=True).items():
        local = QualityCounter(lenient=qc.lenient)
        try:
            out = _gpu_group(part, int(c), local)
        except (_Fallback, pa.ArrowInvalid):
            local = QualityCounter(lenient=qc.lenient)
            out = _gpu_chunk(part.drop("c"), path, local)
        qc.merge(local)
        outs.append(out)
    if not outs:
        return pl.DataFrame(schema=_GPU_LONG_SCHEMA)
    return pl.concat(outs)


def _gpu_group(part: pl.DataFrame, commas: int, qc: QualityCounter) -> pl.DataFrame:
    """Fast path for lines with the same number of commas (raises _Fallback when unsure)."""
    if commas < 2:
        raise _Fallback
    names = [f"f{i}" for i in range(commas + 1)]
    types = {n: pa.float32() for n in names[2:-1]}
    types.update({"f0": pa.string(), "f1": pa.string(), names[-1]: pa.string()})
    blob = part["line"].str.join("\n").item().encode()
    table = pacsv.read_csv(
        io.BytesIO(blob),
        read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[UTIL_NA], strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if table.num_rows != part.height:
        raise _Fallback
    f = pl.from_arrow(table)
    assert isinstance(f, pl.DataFrame)
    last = f[names[-1]]
    values = names[2:-1]
    if not (last == "").all():
        lastf = pl.select(pl.when(last == UTIL_NA).then(None).otherwise(last)
                          .cast(pl.Float32, strict=False)).to_series()
        if (last == "").any() or lastf.null_count() != int((last == UTIL_NA).sum()):
            raise _Fallback
        f = f.with_columns(lastf.alias(names[-1]))
        values.append(names[-1])
        qc.add("philly.gpu_util_no_trailing_comma", f.height)
    naive, offset = _util_time(pl.col("f0"))
    f = f.with_columns(naive.alias("naive"), offset.alias("off"))
    if f["naive"].null_count() or (f["f1"] == "").any():
        raise _Fallback
    k = len(values)
    if k == 0:
        qc.add("philly.gpu_util_row_without_values", f.height)
    glued = pl.lit(False)
    if k > MAX_GPUS_PER_SERVER:
        earliest = pl.col("naive").dt.replace_time_zone(TIMEZONE, ambiguous="earliest",
                                                        non_existent="null")
        latest = pl.col("naive").dt.replace_time_zone(TIMEZONE, ambiguous="latest",
                                                      non_existent="null")
        glued = pl.lit(k == GLUED_ROW_VALUES) & (earliest != latest).fill_null(False)
    f = f.with_columns(glued.alias("glued"))
    n_glued = int(f["glued"].sum())
    qc.add("philly.gpu_util_glued_dst_row", n_glued)
    dst_pdt, dst_pst = -UTIL_TIME_SUFFIXES[" PDT"], -UTIL_TIME_SUFFIXES[" PST"]
    first_off = pl.when(pl.col("glued")).then(dst_pdt).otherwise(pl.col("off"))
    f = f.with_columns(
        (pl.col("naive") + pl.duration(hours=first_off)).dt.replace_time_zone("UTC").alias("t1"),
        (pl.col("naive") + pl.duration(hours=dst_pst)).dt.replace_time_zone("UTC").alias("t2"),
    )
    frames = []
    glued_rows = f.filter(pl.col("glued")) if n_glued else None
    for j, col in enumerate(values):
        if j < MAX_GPUS_PER_SERVER:
            src, tcol = f, "t1"
        else:
            qc.add("philly.gpu_util_extra_values", f.height - n_glued)
            if glued_rows is None:
                continue
            src, tcol = glued_rows, "t2"
        frames.append(src.select(
            pl.col(tcol).alias("time"), pl.col("f1").alias("machine_id"),
            pl.lit(j % MAX_GPUS_PER_SERVER, pl.Int8).alias("gpu"), pl.col(col).alias("util"),
        ))
    qc.add("philly.gpu_util_offline_value", sum(int(f[c].null_count()) for c in values))
    qc.add("philly.gpu_util_empty_value", 0)
    qc.add("philly.gpu_util_bad_row", 0)
    qc.add("philly.gpu_util_bad_value", 0)
    qc.add("philly.gpu_util_extra_values", 0)
    if not frames:
        return pl.DataFrame(schema=_GPU_LONG_SCHEMA)
    return pl.concat(frames)


def _gpu_chunk(df: pl.DataFrame, path: str, qc: QualityCounter) -> pl.DataFrame:
    blank = pl.col("line") == ""
    qc.add("philly.blank_line", int(df.select(blank.sum()).item()))
    df = df.filter(~blank)
    naive, offset = _util_time(pl.col("p").list.get(0))
    df = df.with_columns(pl.col("line").str.split(",").alias("p")).with_columns(
        pl.col("p").list.len().alias("n"),
        naive.alias("naive"),
        offset.alias("off"),
        pl.col("p").list.get(1, null_on_oob=True).alias("machine_id"),
    )
    trailing = pl.col("p").list.last() == ""
    ok = pl.col("naive").is_not_null() & (pl.col("n") >= 2) & (pl.col("machine_id") != "")
    bad = df.filter(~ok)
    _reject(bad, path, qc, "philly.gpu_util_bad_row",
            "bad row (expected '<YYYY-MM-DD HH:MM:SS PDT|PST>,<machine>,<values>...')")
    df = df.filter(ok)
    qc.add("philly.gpu_util_no_trailing_comma", int(df.select((~trailing).sum()).item()))
    nvals = pl.col("n") - 2 - trailing.cast(pl.Int64)
    df = df.with_columns(pl.col("p").list.slice(2, nvals).alias("v")).with_columns(
        pl.col("v").list.len().alias("k")
    )
    qc.add("philly.gpu_util_row_without_values", int((df["k"] == 0).sum()))
    # Glued rows: only rows with more than 8 values need the (costly) ambiguity test.
    wide = pl.col("k") > MAX_GPUS_PER_SERVER
    earliest = pl.col("naive").dt.replace_time_zone(TIMEZONE, ambiguous="earliest",
                                                    non_existent="null")
    latest = pl.col("naive").dt.replace_time_zone(TIMEZONE, ambiguous="latest",
                                                  non_existent="null")
    glued = wide & (pl.col("k") == GLUED_ROW_VALUES) & (earliest != latest).fill_null(False)
    df = df.with_columns(glued.alias("glued"))
    qc.add("philly.gpu_util_glued_dst_row", int(df["glued"].sum()))
    long = df.select(
        "lineno", "line", "naive", "off", "machine_id", "glued", "v",
        pl.int_ranges(0, pl.col("k"), dtype=pl.Int64).alias("pos"),
    ).explode("v", "pos")
    long = long.filter(pl.col("pos").is_not_null())
    extra = (pl.col("pos") >= MAX_GPUS_PER_SERVER) & ~pl.col("glued")
    qc.add("philly.gpu_util_extra_values", int(long.select(extra.sum()).item()))
    long = long.filter(~extra)
    # Glued halves: first 8 values = earlier instant (PDT), next 8 = later instant (PST).
    dst_pdt, dst_pst = -UTIL_TIME_SUFFIXES[" PDT"], -UTIL_TIME_SUFFIXES[" PST"]
    off = (
        pl.when(pl.col("glued"))
        .then(pl.when(pl.col("pos") >= MAX_GPUS_PER_SERVER).then(dst_pst).otherwise(dst_pdt))
        .otherwise(pl.col("off"))
    )
    is_na = pl.col("v") == UTIL_NA
    is_empty = pl.col("v") == ""
    num = pl.col("v").cast(pl.Float32, strict=False)
    long = long.with_columns(
        (pl.col("naive") + pl.duration(hours=off)).dt.replace_time_zone("UTC").alias("time"),
        (pl.col("pos") % MAX_GPUS_PER_SERVER).cast(pl.Int8).alias("gpu"),
        num.alias("util"),
        is_na.alias("is_na"),
        is_empty.alias("is_empty"),
    )
    bad_val = long.filter(pl.col("util").is_null() & ~pl.col("is_na") & ~pl.col("is_empty"))
    _reject(bad_val, path, qc, "philly.gpu_util_bad_value", "value is not a number or 'NA'")
    qc.add("philly.gpu_util_offline_value", int(long["is_na"].sum()))
    qc.add("philly.gpu_util_empty_value", int(long["is_empty"].sum()))
    return long.select("time", "machine_id", "gpu", "util")
