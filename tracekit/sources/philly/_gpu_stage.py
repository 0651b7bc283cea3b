"""The ``gpu_util`` stage of ``ingest``: stream the file into the store and join it per job.

When the job log has been read before ``cluster_gpu_util`` (always for folders; archive order
for tarballs), each parsed block is joined with the attempts while it is in memory, so the
240 M-row table is never read back. Parquet writing of a block runs in a worker thread while the
next block is parsed and joined (Arrow, polars and numpy release the GIL), so both cores work.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO

import polars as pl

from tracekit.quality import QualityCounter
from tracekit.sources.philly._gpu_util import iter_gpu_util
from tracekit.sources.philly._join import _parquet_batches
from tracekit.sources.philly._join_index import JoinIndex
from tracekit.sources.philly.formats import _JOIN_BATCH_ROWS, CLUSTER, ProgressFn
from tracekit.store import TableWriter, Transaction


def write_gpu_util(
    tx: Transaction, fh: IO[bytes], display: str, size: int, qc: QualityCounter,
    progress: ProgressFn, index: JoinIndex | None,
    check: Callable[[str, pl.DataFrame], pl.DataFrame] | None = None,
    cluster: str = CLUSTER,
) -> TableWriter:
    """Stage ``gpu_util`` (and ``job_gpu_minutes`` when ``index`` is given) of ``cluster``;
    returns the ``gpu_util`` writer (closed, so its file can be read back).

    Parsing and joining of block N overlap with the Parquet writing of block N-1 in a worker
    thread; at most one block waits (bounded memory). (A third thread that parses ahead was
    measured: no gain on 2 cores, polars' CSV reader already uses both.)
    """
    writer = tx.open_writer("gpu_util", cluster)
    # No minute of any job may fall on a util sample: that table may be empty.
    minutes = (
        tx.open_writer("job_gpu_minutes", cluster, allow_empty=True) if index is not None else None
    )

    def write(frame: pl.DataFrame, joined: pl.DataFrame | None) -> None:
        writer.write(frame)
        if joined is not None and minutes is not None:
            minutes.write(joined)
            progress("job_gpu_minutes", minutes.rows, None)  # rows written so far

    frames = iter_gpu_util(fh, display, qc, on_progress=progress, total_bytes=size)
    if check is not None:  # the store contract, before the join sees the values
        frames = (check("gpu_util", frame) for frame in frames)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="philly-parquet") as pool:
        pending: Future[None] | None = None
        for frame in frames:
            joined = index.match(frame) if index is not None else None
            if pending is not None:
                pending.result()
            pending = pool.submit(write, frame, joined)
        if pending is not None:
            pending.result()
    writer.close()
    return writer


def join_staged(tx: Transaction, path: Path, rows: int, index: JoinIndex,
                progress: ProgressFn, cluster: str = CLUSTER) -> None:
    """Join a staged ``gpu_util`` file with the attempts (job log read after the util file)."""
    writer = tx.open_writer("job_gpu_minutes", cluster, allow_empty=True)
    progress("job_gpu_minutes", 0, rows)
    done = 0
    for batch in _parquet_batches(path, _JOIN_BATCH_ROWS):
        writer.write(index.match(batch))
        done += batch.height
        progress("job_gpu_minutes", done, rows)
