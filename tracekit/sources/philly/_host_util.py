"""``cluster_cpu_util`` + ``cluster_mem_util`` -> ``host_util`` (bucketed full outer join)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

import polars as pl
import pyarrow.parquet as pq

from tracekit.quality import QualityCounter
from tracekit.sources.philly._lines import (
    _check_header,
    _frame,
    _iter_line_chunks,
    _reject,
    _util_time,
)
from tracekit.sources.philly.formats import (
    _CHUNK_BYTES,
    _UTC,
    CPU_UTIL_COLUMNS,
    MEM_UTIL_COLUMNS,
    UTIL_NA,
)


def iter_host_util(
    fh: IO[bytes], path: str, kind: str, qc: QualityCounter, chunk_bytes: int = _CHUNK_BYTES
) -> Iterator[pl.DataFrame]:
    """Stream ``cluster_cpu_util`` (``kind='cpu'``) or ``cluster_mem_util`` (``kind='mem'``).

    Yields ``time, machine_id, cpu_util`` or ``time, machine_id, mem_total, mem_free`` frames
    (Float32, UTC). ``NA`` -> null; a ``mem_total`` of 0 makes both memory values null (counted).
    """
    columns = CPU_UTIL_COLUMNS if kind == "cpu" else MEM_UTIL_COLUMNS
    values = list(columns[2:])
    rule = f"philly.{kind}_util"
    for first, lines in _iter_line_chunks(fh, path, chunk_bytes):
        df = _frame(first, lines, skip_header=first == 1)
        if first == 1:
            _check_header(lines[0], columns, path, qc, f"{rule}_bad_header")
        blank = pl.col("line") == ""
        qc.add("philly.blank_line", int(df.select(blank.sum()).item()))
        df = df.filter(~blank)
        naive, offset = _util_time(pl.col("p").list.get(0))
        parts = pl.col("line").str.strip_chars_end(",").str.split(",")
        df = df.with_columns(parts.alias("p")).with_columns(
            naive.alias("naive"), offset.alias("off"),
            pl.col("p").list.get(1, null_on_oob=True).alias("machine_id"),
            *[pl.col("p").list.get(2 + j, null_on_oob=True).alias(c)
              for j, c in enumerate(values)],
        )
        num = [pl.when(pl.col(c) == UTIL_NA).then(None).otherwise(pl.col(c))
               .cast(pl.Float32, strict=False).alias(f"_{c}") for c in values]
        df = df.with_columns(num)
        ok = (
            pl.col("naive").is_not_null()
            & (pl.col("p").list.len() == len(columns))
            & (pl.col("machine_id") != "")
        )
        for c in values:
            ok = ok & ((pl.col(c) == UTIL_NA) | pl.col(f"_{c}").is_not_null())
        _reject(df.filter(~ok), path, qc, f"{rule}_bad_row",
                f"bad row (expected {len(columns)} fields: {','.join(columns)})")
        df = df.filter(ok)
        qc.add(f"{rule}_offline", int(df[f"_{values[0]}"].null_count()))
        out = df.select(
            (pl.col("naive") + pl.duration(hours=pl.col("off"))).dt.replace_time_zone("UTC")
            .alias("time"),
            "machine_id",
            *[pl.col(f"_{c}").alias(c) for c in values],
        )
        if kind == "mem":
            zero = pl.col("mem_total") == 0
            qc.add("philly.mem_total_zero", int(out.select(zero.sum()).item()))
            out = out.with_columns(
                pl.when(zero).then(None).otherwise(pl.col(c)).alias(c) for c in values
            )
        if out.height:
            yield out


class _HostUtilJoin:
    """Full outer join of the CPU and memory streams on (time, machine), in bounded memory.

    Rows are spread over machine-hash buckets written to temporary Parquet files; each bucket is
    then joined on its own, so only one bucket is in memory at a time.
    """

    def __init__(self, tmp: Path, buckets: int) -> None:
        self.tmp = tmp
        self.buckets = max(1, buckets)
        self.writers: dict[tuple[str, int], pq.ParquetWriter] = {}
        self.seen: set[str] = set()

    def add(self, kind: str, frame: pl.DataFrame) -> None:
        self.seen.add(kind)
        frame = frame.with_columns(
            (pl.col("machine_id").hash(seed=7) % self.buckets).alias("_b")
        )
        for (b,), part in frame.partition_by("_b", as_dict=True).items():
            table = part.drop("_b").to_arrow()
            key = (kind, int(b))
            if key not in self.writers:
                self.writers[key] = pq.ParquetWriter(self.tmp / f"{kind}-{b}.parquet",
                                                     table.schema)
            self.writers[key].write_table(table)

    def finish(self) -> Iterator[pl.DataFrame]:
        for w in self.writers.values():
            w.close()
        empty = {
            "cpu": pl.DataFrame(schema={"time": _UTC, "machine_id": pl.String,
                                        "cpu_util": pl.Float32}),
            "mem": pl.DataFrame(schema={"time": _UTC, "machine_id": pl.String,
                                        "mem_total": pl.Float32, "mem_free": pl.Float32}),
        }
        for b in range(self.buckets):
            sides = {}
            for kind in ("cpu", "mem"):
                f = self.tmp / f"{kind}-{b}.parquet"
                sides[kind] = pl.read_parquet(f) if f.exists() else empty[kind]
            if sides["cpu"].height == 0 and sides["mem"].height == 0:
                continue
            yield sides["cpu"].join(
                sides["mem"], on=["time", "machine_id"], how="full", coalesce=True,
                maintain_order="left_right",  # a hash join's own order varies run to run
            ).select("time", "machine_id", "cpu_util", "mem_total", "mem_free")
