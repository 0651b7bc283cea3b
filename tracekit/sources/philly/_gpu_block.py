"""Vectorised fast path for a block of ``cluster_gpu_util`` lines (no per-line Python).

A block (whole lines, as bytes) is parsed by polars' multi-threaded CSV reader with the value
columns typed ``Float32``; the per-line field counts and trailing commas come from numpy scans of
the raw bytes. Times repeat for every server of a minute, so only the distinct time strings of the
block are parsed. The block's long rows are laid out row-major (GPU 0..k-1 of line 1, then line
2, ...), so a time-ordered file gives time-ordered output without a sort.

Anything unusual (blank or short lines, CR line ends, quotes, empty fields, an unparseable time or
value, a line without a machine) makes :func:`parse_gpu_block` return ``None``; the caller then
parses the block with the line-level paths of :mod:`.gpu_util`, which name the bad line and give
identical rows and counts (tested).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from tracekit.quality import QualityCounter
from tracekit.sources.philly._lines import _util_time
from tracekit.sources.philly.formats import (
    GLUED_ROW_VALUES,
    MAX_GPUS_PER_SERVER,
    TIMEZONE,
    UTIL_NA,
    UTIL_TIME_LEN,
    UTIL_TIME_SUFFIXES,
)

_COMMA, _NEWLINE = ord(","), ord("\n")
_US_PER_HOUR = 3_600_000_000
_PDT_HOURS = -UTIL_TIME_SUFFIXES[" PDT"]
_PST_HOURS = -UTIL_TIME_SUFFIXES[" PST"]


def _line_shape(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """Per line: number of values and whether it ends with a comma; None if a line is odd."""
    if b"\r" in data or b'"' in data:  # single-byte scans (memchr) are cheap
        return None
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.append(np.flatnonzero(arr == _NEWLINE), len(arr))
    starts = np.concatenate(([0], ends[:-1] + 1))
    if int((ends - starts).min()) <= UTIL_TIME_LEN + 1:  # blank or too short for "<time>,<m>"
        return None
    commas = np.flatnonzero(arr == _COMMA)
    if bool((np.diff(commas) == 1).any()):  # an empty field (",,"): the exact path counts it
        return None
    per_line = np.diff(np.searchsorted(commas, ends), prepend=0)
    trailing = arr[ends - 1] == _COMMA
    k = per_line - 1 - trailing  # fields = commas + 1 = time, machine, k values, [empty]
    if int(k.min()) < 0:
        return None
    return k, trailing


def _times(raw: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """UTC (by suffix), earlier-PDT and ambiguity of each line's time, as int64 microseconds.

    Only the distinct strings of each run of equal times are parsed.
    """
    run = raw.rle_id()
    first = np.flatnonzero(np.diff(run.to_numpy(), prepend=-1))
    uniq = raw.gather(first).to_frame("raw")
    naive, off = _util_time(pl.col("raw"))
    parsed = uniq.select(naive.alias("naive"), off.alias("off"))
    if parsed["naive"].null_count():
        return None
    local = pl.col("naive")
    parsed = parsed.select(
        (local + pl.duration(hours=pl.col("off"))).dt.replace_time_zone("UTC").alias("utc"),
        (local + pl.duration(hours=_PDT_HOURS)).dt.replace_time_zone("UTC").alias("pdt"),
        (local.dt.replace_time_zone(TIMEZONE, ambiguous="earliest", non_existent="null")
         != local.dt.replace_time_zone(TIMEZONE, ambiguous="latest", non_existent="null"))
        .fill_null(False).alias("ambiguous"),
    )
    idx = run.to_numpy()
    return (
        parsed["utc"].dt.epoch("us").to_numpy()[idx],
        parsed["pdt"].dt.epoch("us").to_numpy()[idx],
        parsed["ambiguous"].to_numpy()[idx],
    )


def parse_gpu_block(data: bytes, qc: QualityCounter) -> pl.DataFrame | None:
    """Parse whole data lines of ``cluster_gpu_util`` into long rows, or None to fall back.

    Same rows, order within a time and counts as the line-level path: ``NA`` -> null util,
    glued DST rows (16 values at an ambiguous local time) split into the PDT and PST samples,
    values beyond the 8th of other rows dropped and counted.
    """
    shape = _line_shape(data)
    if shape is None:
        return None
    k, trailing = shape
    n_fields = int(k.max()) + 2
    names = ["time", "machine_id", *(f"v{j}" for j in range(n_fields - 2))]
    if int(trailing.min()) == 1 or int(trailing.max()) == 0:  # same shape on every line
        names_read = names + (["_end"] if bool(trailing[0]) else [])
    else:
        names_read = [*names, "_end"]
    schema = {n: pl.Float32 for n in names_read}
    schema.update({"time": pl.String, "machine_id": pl.String, "_end": pl.String})
    try:
        # A header naming every column fixes the width: polars takes it from the first line,
        # and short lines (2-GPU servers) are then padded with nulls.
        header = ",".join(names_read).encode() + b"\n"
        df = pl.read_csv(header + data, has_header=True, schema=schema, quote_char=None,
                         null_values=[UTIL_NA])
    except (pl.exceptions.PolarsError, pa.ArrowException, ValueError):
        return None
    if df.height != len(k) or df["machine_id"].null_count() or df["time"].null_count():
        return None
    times = _times(df["time"])
    if times is None:
        return None
    utc, pdt, ambiguous = times
    glued = ambiguous & (k == GLUED_ROW_VALUES)
    keep = np.where(glued, GLUED_ROW_VALUES, np.minimum(k, MAX_GPUS_PER_SERVER))
    width = int(keep.max())
    values = names[2 : 2 + width]
    if width:
        mat = df.select(values).to_numpy()
        nulls = df.select(pl.col(values).is_null()).to_numpy()
    else:
        mat = np.zeros((len(k), 0), np.float32)
        nulls = np.zeros((len(k), 0), bool)
    # Row-major selection of the kept values (compress + repeat: no 2-D fancy indexing).
    flat = np.flatnonzero((np.arange(width)[None, :] < keep[:, None]).ravel())
    rows = np.repeat(np.arange(len(k)), keep)
    pos = flat % max(width, 1)
    util = mat.ravel()[flat]
    isnull = nulls.ravel()[flat]
    row_t = np.where(glued, pdt, utc)
    t = row_t[rows]
    if glued.any():
        later = glued[rows] & (pos >= MAX_GPUS_PER_SERVER)
        t = np.where(later, pdt[rows] + (_PST_HOURS - _PDT_HOURS) * _US_PER_HOUR, t)
    extra = np.where(glued, 0, np.maximum(k - MAX_GPUS_PER_SERVER, 0))
    qc.add("philly.blank_line", 0)
    qc.add("philly.gpu_util_bad_row", 0)
    qc.add("philly.gpu_util_bad_value", 0)
    qc.add("philly.gpu_util_empty_value", 0)
    qc.add("philly.gpu_util_no_trailing_comma", int((~trailing).sum()))
    qc.add("philly.gpu_util_row_without_values", int((k == 0).sum()))
    qc.add("philly.gpu_util_glued_dst_row", int(glued.sum()))
    qc.add("philly.gpu_util_extra_values", int(extra.sum()))
    qc.add("philly.gpu_util_offline_value", int(isnull.sum()))
    out = pl.DataFrame({
        "time": pl.Series("time", t, pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "machine_id": df["machine_id"].gather(rows),
        "gpu": pl.Series("gpu", (pos % MAX_GPUS_PER_SERVER).astype(np.int8), pl.Int8),
        "util": pl.from_arrow(pa.array(util, pa.float32(), mask=isnull)),
    })
    return out
