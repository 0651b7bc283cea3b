"""The normalized Parquet store: atomic, partitioned writes and polars reads.

Layout (see docs/schema.md)::

    <store>/<table>/trace=<trace>/cluster=<cluster>/part-<txid>-<n>.parquet
    <store>/manifest.json

The manifest is the source of truth: it lists the files of every (trace, cluster) partition.
A write stages its files in ``<store>/.staging/<txid>/``, moves them into place under new, unique
names, and then swaps the manifest with an atomic ``os.replace``. Until that swap, readers see
the previous manifest and so the previous files; a crash at any point leaves the previous store
readable. Files no longer referenced are deleted only after the swap.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from tracekit.errors import StoreError
from tracekit.quality import QualityCounter
from tracekit.schema import DERIVED_TABLES, SCHEMA_VERSION, SCHEMAS, register_timezone, schema_for
from tracekit.timeutil import timezone_of

if TYPE_CHECKING:  # pandas is imported only when a pandas frame is actually involved
    import pandas as pd

MANIFEST = "manifest.json"
_STAGING = ".staging"
_LOCK = ".lock"
_ROW_GROUP = 1 << 20


def _tracekit_version() -> str:
    from tracekit import __version__

    return __version__


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def source_record(path: str | Path, checksum: bool = True) -> dict[str, Any]:
    """Manifest entry describing a raw source file: name, size and SHA-256."""
    p = Path(path)
    return {
        "path": p.name if p.is_file() else str(p),
        "bytes": p.stat().st_size if p.is_file() else None,
        "sha256": sha256_file(p) if checksum and p.is_file() else None,
    }


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
    """

    def __init__(self, root: Path, trace: str, mode: str = "ingest") -> None:
        if mode not in ("ingest", "update"):
            raise ValueError(f"mode must be 'ingest' or 'update', got {mode!r}")
        self.root = root
        self.trace = trace
        self.mode = mode
        self.txid = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.staging = root / _STAGING / self.txid
        self._parts: dict[str, _Partition] = {}
        self._writers: list[tuple[str, TableWriter]] = []
        self._n = 0

    # -- building ---------------------------------------------------------------------------
    def _part(self, cluster: str) -> _Partition:
        if cluster not in self._parts:
            self._parts[cluster] = _Partition(self.trace, cluster)
        return self._parts[cluster]

    def _stage_path(self, table: str, cluster: str) -> tuple[Path, str]:
        self._n += 1
        rel = f"{table}/trace={self.trace}/cluster={cluster}/part-{self.txid}-{self._n}.parquet"
        path = self.staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, rel

    def write(self, table: str, cluster: str, data: pl.DataFrame | pa.Table | pd.DataFrame) -> int:
        """Stage a whole table for ``cluster``; returns the row count."""
        arrow = conform(table, data)
        path, rel = self._stage_path(table, cluster)
        pq.write_table(arrow, path, compression="zstd", row_group_size=_ROW_GROUP)
        part = self._part(cluster)
        part.files.setdefault(table, []).append(rel)
        part.rows[table] = part.rows.get(table, 0) + arrow.num_rows
        return arrow.num_rows

    def open_writer(self, table: str, cluster: str) -> TableWriter:
        """Stage a table that is written in batches; closed automatically at commit."""
        path, rel = self._stage_path(table, cluster)
        writer = TableWriter(table, path)
        self._part(cluster).files.setdefault(table, []).append(rel)
        self._writers.append((cluster, writer))
        return writer

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
        with _locked(self.root):
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
            manifest["tracekit_version"] = _tracekit_version()
            manifest["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            _write_json_atomic(self.root / MANIFEST, manifest)
        for rel in old_files:
            with contextlib.suppress(FileNotFoundError):
                (self.root / rel).unlink()
        self._cleanup()

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
            (self.root / _STAGING).rmdir()


@contextlib.contextmanager
def begin(store: str | Path, trace: str, mode: str = "ingest") -> Iterator[Transaction]:
    """Open a write transaction on ``store`` for ``trace``.

    Everything written inside the ``with`` block becomes visible at once when the block exits
    normally. If it raises, nothing changes and the previous store stays readable.

    Examples
    --------
    >>> with begin("data/parquet", "helios") as tx:  # doctest: +SKIP
    ...     tx.write("jobs", "Venus", jobs_frame)
    ...     tx.set_meta("Venus", sources=[source_record(path)], quality=counter)
    """
    root = Path(store)
    root.mkdir(parents=True, exist_ok=True)
    tx = Transaction(root, trace, mode)
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


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    # Serialises manifest read-modify-write between concurrent writers on one machine.
    with open(root / _LOCK, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def drop(store: str | Path, trace: str, cluster: str | None = None) -> list[str]:
    """Remove the partitions of ``trace`` (optionally one ``cluster``) from ``store``, atomically.

    Returns the manifest keys that were removed.
    """
    root = Path(store)
    with _locked(root):
        manifest = read_manifest(root, missing_ok=True)
        keys = [
            k
            for k, p in manifest["partitions"].items()
            if p["trace"] == trace and cluster in (None, p["cluster"])
        ]
        files = [f for k in keys for fs in manifest["partitions"][k]["files"].values() for f in fs]
        for k in keys:
            del manifest["partitions"][k]
        if keys:
            manifest["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            _write_json_atomic(root / MANIFEST, manifest)
    for rel in files:
        with contextlib.suppress(FileNotFoundError):
            (root / rel).unlink()
    return keys


def read_manifest(store: str | Path, missing_ok: bool = False) -> dict[str, Any]:
    """Load ``manifest.json`` of a store (an empty manifest when ``missing_ok`` and absent)."""
    path = Path(store) / MANIFEST
    if not path.exists():
        if missing_ok:
            return {"schema_version": SCHEMA_VERSION, "partitions": {}}
        raise StoreError(f"{store}: no {MANIFEST}; not a tracekit store (run `tracekit ingest`)")
    with open(path) as fh:
        return json.load(fh)


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    return list(value)


class Store:
    """Read access to a normalized store. Obtain with :func:`open_store`.

    Every table is returned as a polars LazyFrame with ``trace`` and ``cluster`` columns; call
    ``.collect()`` for a DataFrame or :meth:`read_pandas` for pandas.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest = read_manifest(self.path)
        for part in self.manifest["partitions"].values():
            if part.get("timezone"):  # user-named traces: local time follows the manifest
                register_timezone(part["trace"], part["timezone"])

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, partitions={sorted(self.manifest['partitions'])})"

    @property
    def partitions(self) -> list[dict[str, Any]]:
        """Manifest entries, one per (trace, cluster)."""
        return [self.manifest["partitions"][k] for k in sorted(self.manifest["partitions"])]

    @property
    def traces(self) -> list[str]:
        """Traces present in the store."""
        return sorted({p["trace"] for p in self.partitions})

    def clusters(self, trace: str | None = None) -> list[str]:
        """Clusters present, optionally for one trace."""
        return sorted({p["cluster"] for p in self.partitions if trace in (None, p["trace"])})

    @property
    def tables(self) -> list[str]:
        """Tables that have at least one partition."""
        return sorted({t for p in self.partitions for t in p["files"]})

    def is_synthetic(self, trace: str | None = None) -> bool:
        """True if any selected partition came from the synthetic sample."""
        return any(p.get("synthetic") for p in self.partitions if trace in (None, p["trace"]))

    def sample_info(self, trace: str) -> dict[str, Any] | None:
        """The synthetic sample's marker (seed, scale, noise ceiling, ...) of ``trace``, if any.

        Readers copy the generator's ``SYNTHETIC.json`` into the manifest's ``extra`` block.
        """
        for part in self.partitions:
            if part["trace"] != trace or not part.get("synthetic"):
                continue
            for value in part.get("extra", {}).values():
                if isinstance(value, dict) and value.get("synthetic"):
                    return value
        return None

    def _selected(
        self, trace: str | Sequence[str] | None, cluster: str | Sequence[str] | None
    ) -> list[dict[str, Any]]:
        traces, clusters = _as_list(trace), _as_list(cluster)
        return [
            p
            for p in self.partitions
            if (traces is None or p["trace"] in traces)
            and (clusters is None or p["cluster"] in clusters)
        ]

    def scan(
        self,
        table: str,
        trace: str | Sequence[str] | None = None,
        cluster: str | Sequence[str] | None = None,
    ) -> pl.LazyFrame:
        """Lazily scan ``table``, filtered to the given traces and clusters.

        Returns an empty frame with the table's columns when nothing matches.
        """
        schema = schema_for(table)
        frames = []
        for part in self._selected(trace, cluster):
            files = [str(self.path / f) for f in part["files"].get(table, [])]
            if not files:
                continue
            frames.append(
                pl.scan_parquet(files).with_columns(
                    pl.lit(part["trace"], dtype=pl.String).alias("trace"),
                    pl.lit(part["cluster"], dtype=pl.String).alias("cluster"),
                )
            )
        if not frames:
            empty = pl.from_arrow(schema.empty_table())
            assert isinstance(empty, pl.DataFrame)
            return empty.lazy().select(
                pl.lit(None, dtype=pl.String).alias("trace"),
                pl.lit(None, dtype=pl.String).alias("cluster"),
                *schema.names,
            )
        lf = pl.concat(frames, how="vertical_relaxed")
        return lf.select(["trace", "cluster", *schema.names])

    def jobs(self, trace=None, cluster=None) -> pl.LazyFrame:  # noqa: ANN001 - see scan
        """The ``jobs`` table (see :meth:`scan`)."""
        return self.scan("jobs", trace, cluster)

    def capacity(self, trace=None, cluster=None) -> pl.LazyFrame:  # noqa: ANN001
        """The ``capacity`` table (see :meth:`scan`)."""
        return self.scan("capacity", trace, cluster)

    def machines(self, trace=None, cluster=None) -> pl.LazyFrame:  # noqa: ANN001
        """The ``machines`` table (see :meth:`scan`)."""
        return self.scan("machines", trace, cluster)

    def read_pandas(
        self,
        table: str,
        trace: str | Sequence[str] | None = None,
        cluster: str | Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Read ``table`` into a pandas DataFrame (Arrow-backed dtypes)."""
        return self.scan(table, trace, cluster).collect().to_pandas()

    def rows(self) -> pl.DataFrame:
        """Row counts: one row per (trace, cluster, table)."""
        records = [
            {"trace": p["trace"], "cluster": p["cluster"], "table": t, "rows": n}
            for p in self.partitions
            for t, n in sorted(p["rows"].items())
        ]
        return pl.DataFrame(
            records, schema={"trace": pl.String, "cluster": pl.String, "table": pl.String,
                             "rows": pl.Int64},
        )

    def quality(self) -> pl.DataFrame:
        """Data-quality counts: one row per (trace, cluster, rule)."""
        records = [
            {"trace": p["trace"], "cluster": p["cluster"], "rule": r, "count": n}
            for p in self.partitions
            for r, n in sorted(p.get("quality", {}).items())
        ]
        return pl.DataFrame(
            records, schema={"trace": pl.String, "cluster": pl.String, "rule": pl.String,
                             "count": pl.Int64},
        )


def open_store(path: str | Path = "data/parquet") -> Store:
    """Open a normalized store for reading.

    Parameters
    ----------
    path : str or Path
        The store directory (default ``data/parquet``).

    Returns
    -------
    Store
        With ``scan(table, trace=, cluster=)`` returning polars LazyFrames.
    """
    return Store(path)


__all__ = [
    "DERIVED_TABLES",
    "SCHEMAS",
    "Store",
    "TableWriter",
    "Transaction",
    "begin",
    "conform",
    "drop",
    "open_store",
    "read_manifest",
    "sha256_file",
    "source_record",
]
