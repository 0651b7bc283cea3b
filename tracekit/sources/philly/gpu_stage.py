"""The ``gpu_util`` stage of ``ingest``: stream the file into the store and join it per job.

When the job log has been read before ``cluster_gpu_util`` (always for folders; archive order
for tarballs), each parsed block is joined with the attempts while it is in memory, so the
240 M-row table is never read back. Parsing, joining and Parquet writing run in three threads on
consecutive blocks (numpy, Arrow and polars release the GIL), so both cores work.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, TypeVar

import polars as pl

from tracekit.quality import QualityCounter
from tracekit.sources.philly.formats import _JOIN_BATCH_ROWS, CLUSTER, ProgressFn
from tracekit.sources.philly.gpu_util import iter_gpu_util
from tracekit.sources.philly.join import _parquet_batches
from tracekit.sources.philly.join_index import JoinIndex
from tracekit.store import TableWriter, Transaction

T = TypeVar("T")


_DONE = object()


def _prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Run ``items`` in a background thread, ``depth`` items ahead (errors re-raised here)."""
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            put(exc)

    worker = threading.Thread(target=run, name="philly-parse", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def write_gpu_util(
    tx: Transaction, fh: IO[bytes], display: str, size: int, qc: QualityCounter,
    progress: ProgressFn, index: JoinIndex | None,
) -> TableWriter:
    """Stage ``gpu_util`` (and ``job_gpu_minutes`` when ``index`` is given); returns the
    ``gpu_util`` writer (closed, so its file can be read back).

    Three threads overlap: parsing of block N+1, the join of block N, and the Parquet writing
    of block N-1; at most one block waits at each step (bounded memory).
    """
    writer = tx.open_writer("gpu_util", CLUSTER)
    minutes = tx.open_writer("job_gpu_minutes", CLUSTER) if index is not None else None

    def write(frame: pl.DataFrame, joined: pl.DataFrame | None) -> None:
        writer.write(frame)
        if joined is not None and minutes is not None:
            minutes.write(joined)
            progress("job_gpu_minutes", minutes.rows, None)  # rows written so far

    frames = _prefetch(iter_gpu_util(fh, display, qc, on_progress=progress, total_bytes=size))
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
                progress: ProgressFn) -> None:
    """Join a staged ``gpu_util`` file with the attempts (job log read after the util file)."""
    writer = tx.open_writer("job_gpu_minutes", CLUSTER)
    progress("job_gpu_minutes", 0, rows)
    done = 0
    for batch in _parquet_batches(path, _JOIN_BATCH_ROWS):
        writer.write(index.match(batch))
        done += batch.height
        progress("job_gpu_minutes", done, rows)
