"""Write transactions: stage Parquet files, then make them visible with one manifest swap."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from tracekit.errors import StoreError
from tracekit.quality import QualityCounter
from tracekit.schema import SCHEMA_VERSION, schema_for
from tracekit.store._manifest import (
    MANIFEST,
    read_manifest,
    require_folder,
    tracekit_version,
    write_json_atomic,
)
from tracekit.store._sweep import (
    ALIVE,
    STAGING,
    locked,
    not_writable,
    scratch_cutoff,
    sweep_locked,
)
from tracekit.timeutil import timezone_of

if TYPE_CHECKING:  # pandas is imported only when a pandas frame is actually involved
    import pandas as pd

_SCRATCH = "_scratch"
_ROW_GROUP = 1 << 20


def conform(table: str, data: pl.DataFrame | pa.Table | pd.DataFrame) -> pa.Table:
    """Cast ``data`` to the file schema of ``table``, in schema column order.

    Raises
    ------
    StoreError
        If columns are missing or unexpected, or a value cannot be cast safely.
    """
    schema = schema_for(table)
    if isinstance(data, pl.DataFrame):
        arrow = data.to_arrow()
    elif isinstance(data, pa.Table):
        arrow = data
    else:  # a pandas DataFrame
        arrow = pa.Table.from_pandas(data, preserve_index=False)
    names = set(arrow.column_names) - {"trace", "cluster"}
    missing = [n for n in schema.names if n not in names]
    extra = sorted(names - set(schema.names))
    if missing or extra:
        raise StoreError(f"table {table!r}: missing columns {missing}, unexpected columns {extra}")
    arrow = arrow.select(schema.names)
    try:
        # Large string/list variants (polars exports large_*) cast losslessly to the schema types.
        return arrow.cast(schema, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise StoreError(f"table {table!r}: cannot cast to the store schema: {exc}") from exc


@dataclass
class _Partition:
    trace: str
    cluster: str
    files: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    may_be_empty: set[str] = field(default_factory=set)


def _check_name(what: str, name: str) -> None:
    """A trace or cluster name becomes a folder name (``cluster=<name>``): keep it one."""
    if not isinstance(name, str) or not name.strip() or name in (".", "..") or any(
        c in name for c in "/\\\0"
    ):
        raise StoreError(f"{what} name {name!r} cannot name a partition folder")


class TableWriter:
    """Streams record batches of one table into a staged Parquet file.

    Obtained from :meth:`Transaction.open_writer`; use it for tables too large to hold in memory.
    """

    def __init__(self, table: str, path: Path) -> None:
        self.table = table
        self.path = path
        self.rows = 0
        self._writer = pq.ParquetWriter(path, schema_for(table), compression="zstd")

    def write(self, data: pl.DataFrame | pa.Table | pa.RecordBatch) -> None:
        """Append rows (conformed to the table schema)."""
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        arrow = conform(self.table, data)
        if arrow.num_rows:
            self._writer.write_table(arrow, row_group_size=_ROW_GROUP)
            self.rows += arrow.num_rows

    def close(self) -> None:
        """Finish the Parquet file."""
        self._writer.close()


class Transaction:
    """A set of partition writes that become visible together, or not at all.

    Use through :func:`begin`. ``mode="ingest"`` replaces every table of each (trace, cluster)
    written (tables not written are removed, and so are stale predictions); ``mode="update"``
    replaces only the tables written and keeps the rest.

    An empty table (0 rows) is refused unless ``allow_empty`` (for the whole transaction) or
    the ``allow_empty`` argument of :meth:`write` / :meth:`open_writer` (for one table) says
    the source really is empty: an empty result must never replace good data silently.
    """

    def __init__(
        self, root: Path, trace: str, mode: str = "ingest", allow_empty: bool = False
    ) -> None:
        if mode not in ("ingest", "update"):
            raise ValueError(f"mode must be 'ingest' or 'update', got {mode!r}")
        _check_name("trace", trace)
        self.root = root
        self.trace = trace
        self.mode = mode
        self.allow_empty = allow_empty
        self.txid = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.staging = root / STAGING / self.txid
        self.started = time.time()
        self._parts: dict[str, _Partition] = {}
        self._writers: list[tuple[str, TableWriter]] = []
        self._n = 0
        self._alive: IO[bytes] | None = None
        self._previous: dict[str, Any] = {"partitions": {}}

    # -- opening ----------------------------------------------------------------------------
    def _open(self) -> None:
        """Under the store lock: check the manifest, sweep leftovers, claim a staging folder."""
        try:
            with locked(self.root):
                self._previous = read_manifest(self.root, missing_ok=True)
                sweep_locked(self.root, self._previous, scratch_before=None)
                self.staging.mkdir(parents=True)
                self._alive = open(self.staging / ALIVE, "wb")  # noqa: SIM115
                fcntl.flock(self._alive, fcntl.LOCK_EX)
        except PermissionError as exc:
            raise not_writable(self.root, exc) from exc
        except OSError as exc:
            if exc.errno == errno.EROFS:
                raise not_writable(self.root, exc) from exc
            raise

    # -- building ---------------------------------------------------------------------------
    def _part(self, cluster: str) -> _Partition:
        if cluster not in self._parts:
            _check_name("cluster", cluster)
            self._parts[cluster] = _Partition(self.trace, cluster)
        return self._parts[cluster]

    def _stage_path(self, table: str, cluster: str) -> tuple[Path, str]:
        schema_for(table)  # an unknown table fails here, before anything is staged
        self._n += 1
        rel = f"{table}/trace={self.trace}/cluster={cluster}/part-{self.txid}-{self._n}.parquet"
        path = self.staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, rel

    def _refuse_empty(self, cluster: str, table: str) -> None:
        part = self._part(cluster)
        if self.allow_empty or table in part.may_be_empty or part.rows.get(table, 0) > 0:
            return
        key = f"{self.trace}/{cluster}"
        stored = self._previous["partitions"].get(key, {}).get("rows", {}).get(table)
        kept = (
            f"; the {stored:,} rows stored now are kept" if stored
            else "; nothing was written"
        )
        raise StoreError(
            f"{key}: refusing to store an empty {table!r} table (0 rows){kept}. If the source "
            "really is empty, pass allow_empty=True (`tracekit ingest --allow-empty`)"
        )

    def write(
        self,
        table: str,
        cluster: str,
        data: pl.DataFrame | pa.Table | pd.DataFrame,
        *,
        allow_empty: bool = False,
    ) -> int:
        """Stage a whole table for ``cluster``; returns the row count.

        Raises
        ------
        StoreError
            The data does not fit the table's schema, or it has no rows and neither
            ``allow_empty`` here nor the transaction's allows that.
        """
        arrow = conform(table, data)
        part = self._part(cluster)
        if allow_empty:
            part.may_be_empty.add(table)
        if arrow.num_rows == 0:
            self._refuse_empty(cluster, table)
        path, rel = self._stage_path(table, cluster)
        pq.write_table(arrow, path, compression="zstd", row_group_size=_ROW_GROUP)
        part.files.setdefault(table, []).append(rel)
        part.rows[table] = part.rows.get(table, 0) + arrow.num_rows
        return arrow.num_rows

    def open_writer(self, table: str, cluster: str, *, allow_empty: bool = False) -> TableWriter:
        """Stage a table that is written in batches; closed automatically at commit.

        The emptiness check (see :meth:`write`) runs at commit, when the row count is known.
        """
        path, rel = self._stage_path(table, cluster)
        writer = TableWriter(table, path)
        part = self._part(cluster)
        part.files.setdefault(table, []).append(rel)
        if allow_empty:
            part.may_be_empty.add(table)
        self._writers.append((cluster, writer))
        return writer

    def scratch_dir(self, prefix: str = "tmp-") -> Path:
        """A private temporary folder inside this transaction's staging folder.

        Readers put intermediate files here (on the store's file system, so large files never
        cross devices). It is removed with the staging folder when the transaction ends, and a
        killed writer's scratch is removed by the next write, like the rest of its staging.
        """
        base = self.staging / _SCRATCH
        base.mkdir(exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=base))

    def set_meta(
        self,
        cluster: str,
        *,
        sources: Iterable[dict[str, Any]] = (),
        synthetic: bool = False,
        quality: QualityCounter | dict[str, int] | None = None,
        timezone: str | None = None,
        time_origin: str | None = None,
        time_shift_s: int | None = None,
        **extra: Any,
    ) -> None:
        """Record provenance of a partition: sources, synthetic flag, zone, origin, quality."""
        counts = quality.counts if isinstance(quality, QualityCounter) else dict(quality or {})
        self._part(cluster).meta = {
            "synthetic": bool(synthetic),
            "timezone": timezone or timezone_of(self.trace),
            "time_origin": time_origin,
            "time_shift_s": time_shift_s,
            "sources": list(sources),
            "quality": counts,
            "extra": extra,
        }

    # -- committing -------------------------------------------------------------------------
    def _commit(self) -> None:
        for cluster, writer in self._writers:
            writer.close()
            part = self._part(cluster)
            part.rows[writer.table] = part.rows.get(writer.table, 0) + writer.rows
        for cluster, part in self._parts.items():
            for table in part.files:
                if part.rows.get(table, 0) == 0:
                    self._refuse_empty(cluster, table)
        with locked(self.root):
            manifest = read_manifest(self.root, missing_ok=True)
            old_files: list[str] = []
            for cluster, part in self._parts.items():
                key = f"{self.trace}/{cluster}"
                previous = manifest["partitions"].get(key)
                entry = self._merge_entry(previous, part)
                if previous:
                    kept = {f for fs in entry["files"].values() for f in fs}
                    old_files += [
                        f for fs in previous["files"].values() for f in fs if f not in kept
                    ]
                # Move staged files into their final place (same file system: a rename).
                for files in part.files.values():
                    for rel in files:
                        dst = self.root / rel
                        dst.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(self.staging / rel, dst)
                manifest["partitions"][key] = entry
            manifest["schema_version"] = SCHEMA_VERSION
            manifest["tracekit_version"] = tracekit_version()
            manifest["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            write_json_atomic(self.root / MANIFEST, manifest)
            # Committed. Tidying up may fail (a file someone locked, odd permissions) without
            # undoing that: whatever is left, the next write's sweep removes.
            for rel in old_files:
                with contextlib.suppress(OSError):
                    (self.root / rel).unlink()
            self._cleanup()
            with contextlib.suppress(OSError):
                sweep_locked(self.root, manifest, scratch_cutoff(self.root, self.started))

    def _merge_entry(self, previous: dict[str, Any] | None, part: _Partition) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        if self.mode == "update" and previous:
            entry = json.loads(json.dumps(previous))
            entry["files"].update(part.files)
            entry["rows"].update(part.rows)
            entry["updated_at"] = now
            return entry
        meta = part.meta or {
            "synthetic": False,
            "timezone": timezone_of(self.trace),
            "time_origin": None,
            "time_shift_s": None,
            "sources": [],
            "quality": {},
            "extra": {},
        }
        return {
            "trace": self.trace,
            "cluster": part.cluster,
            "ingested_at": now,
            "updated_at": now,
            "files": dict(part.files),
            "rows": dict(part.rows),
            **meta,
        }

    def _abort(self) -> None:
        for _, writer in self._writers:
            with contextlib.suppress(Exception):
                writer.close()
        self._cleanup()

    def _cleanup(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            (self.root / STAGING).rmdir()
        if self._alive is not None:
            self._alive.close()  # releases the liveness lock
            self._alive = None


@contextlib.contextmanager
def begin(
    store: str | Path, trace: str, mode: str = "ingest", *, allow_empty: bool = False
) -> Iterator[Transaction]:
    """Open a write transaction on ``store`` for ``trace``.

    Everything written inside the ``with`` block becomes visible at once when the block exits
    normally. If it raises, nothing changes and the previous store stays readable. Opening
    first removes what interrupted writes left behind (:func:`sweep`).

    Parameters
    ----------
    store : str or Path
        The store directory (created if needed).
    trace : str
        The trace whose partitions are written.
    mode : {"ingest", "update"}
        See :class:`Transaction`.
    allow_empty : bool
        Accept tables with 0 rows (refused by default, see :class:`Transaction`).

    Raises
    ------
    StoreError
        The store is a file or is not writable.
    ManifestError
        The store's manifest is damaged (nothing is written).

    Examples
    --------
    >>> with begin("data/parquet", "helios") as tx:  # doctest: +SKIP
    ...     tx.write("jobs", "Venus", jobs_frame)
    ...     tx.set_meta("Venus", sources=[source_record(path)], quality=counter)
    """
    root = Path(store)
    require_folder(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
            raise not_writable(root, exc) from exc
        raise
    tx = Transaction(root, trace, mode, allow_empty=allow_empty)
    tx._open()
    try:
        yield tx
    except BaseException:
        tx._abort()
        raise
    try:
        tx._commit()
    except BaseException:
        tx._abort()
        raise


def drop(store: str | Path, trace: str, cluster: str | None = None) -> list[str]:
    """Remove the partitions of ``trace`` (optionally one ``cluster``) from ``store``, atomically.

    Returns the manifest keys that were removed.
    """
    root = Path(store)
    with locked(root):
        manifest = read_manifest(root, missing_ok=True)
        keys = [
            k
            for k, p in manifest["partitions"].items()
            if p["trace"] == trace and cluster in (None, p["cluster"])
        ]
        for k in keys:
            del manifest["partitions"][k]
        if keys:
            manifest["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            write_json_atomic(root / MANIFEST, manifest)
        sweep_locked(root, manifest, scratch_before=None)
    return keys


__all__ = ["TableWriter", "Transaction", "begin", "conform", "drop"]
