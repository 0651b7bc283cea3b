"""Reading a store: the manifest's files as polars LazyFrames, and checking them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from tracekit.errors import StoreError
from tracekit.schema import DERIVED_TABLES, schema_for
from tracekit.store._manifest import read_manifest
from tracekit.store._sweep import SweepResult, leftovers, scratch_cutoff

if TYPE_CHECKING:
    import pandas as pd


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def _resolve(wanted: list[str], present: list[str], what: str, where: str) -> list[str]:
    """Map requested names onto present ones, exactly or else ignoring case.

    Raises
    ------
    StoreError
        A name matches nothing present (the message lists what is present).
    """
    out = []
    for name in wanted:
        if name in present:
            out.append(name)
            continue
        folded = [p for p in present if p.casefold() == name.casefold()]
        if len(folded) > 1:
            raise StoreError(f"{where}: {what} {name!r} is ambiguous; say one of {folded}")
        if not folded:
            raise StoreError(
                f"{where}: no {what} {name!r}; present: {', '.join(present) or 'none'}"
            )
        out.append(folded[0])
    return out


class Store:
    """Read access to a normalized store. Obtain with :func:`open_store`.

    Every table is returned as a polars LazyFrame with ``trace`` and ``cluster`` columns; call
    ``.collect()`` for a DataFrame or :meth:`read_pandas` for pandas.

    A ``Store`` reads the manifest once, when opened: it keeps seeing that version of the
    store. If the store is re-ingested meanwhile, the files it lists are gone and :meth:`scan`
    raises a :class:`~tracekit.errors.StoreError` saying so; call :meth:`refresh` (or
    :func:`open_store` again) to see the new version. Collect a LazyFrame before re-ingesting:
    a plan built on old files cannot read them after the re-ingest.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest = read_manifest(self.path)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, partitions={sorted(self.manifest['partitions'])})"

    def refresh(self) -> Store:
        """Re-read the manifest, to see writes made since this store was opened."""
        self.manifest = read_manifest(self.path)
        return self

    @property
    def partitions(self) -> list[dict[str, Any]]:
        """Manifest entries, one per (trace, cluster)."""
        return [self.manifest["partitions"][k] for k in sorted(self.manifest["partitions"])]

    @property
    def traces(self) -> list[str]:
        """Traces present in the store."""
        return sorted({p["trace"] for p in self.partitions})

    def clusters(self, trace: str | None = None) -> list[str]:
        """Clusters present, optionally for one trace (matched ignoring case; none if absent)."""
        if trace is not None:
            folded = trace.casefold()
            return sorted({p["cluster"] for p in self.partitions
                           if p["trace"].casefold() == folded})
        return sorted({p["cluster"] for p in self.partitions})

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

    def select(
        self, trace: str | Sequence[str] | None = None, cluster: str | Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Manifest entries of the given traces and clusters (names matched ignoring case).

        Raises
        ------
        StoreError
            A trace or cluster is not in the store; the message lists the ones present.
        """
        traces, clusters = _as_list(trace), _as_list(cluster)
        if traces is not None:
            traces = _resolve(traces, self.traces, "trace", str(self.path))
        parts = [p for p in self.partitions if traces is None or p["trace"] in traces]
        if clusters is not None:
            where = f"{self.path} ({', '.join(traces)})" if traces else str(self.path)
            present = sorted({p["cluster"] for p in parts})
            clusters = _resolve(clusters, present, "cluster", where)
            parts = [p for p in parts if p["cluster"] in clusters]
        return parts

    def _missing_file(self, part: dict[str, Any], table: str, rel: str) -> StoreError:
        """Explain why a listed file is gone and what to do about it."""
        path = self.path / rel
        try:
            current = read_manifest(self.path)
        except StoreError:
            current = None
        if current is not None and current != self.manifest:
            return StoreError(
                f"{path}: this file is gone because the store was rewritten after it was opened "
                f"(manifest updated {current.get('updated_at')}); call .refresh() on the Store or "
                "open_store() again"
            )
        key = f"{part['trace']}/{part['cluster']}"
        return StoreError(
            f"{path}: listed in the manifest for {key} but missing (deleted by hand?); rewrite "
            f"the partition with {self.rewrite_command(part['trace'], part['cluster'], table)}; "
            "`tracekit info --verify` checks every file"
        )

    def rewrite_command(self, trace: str, cluster: str, table: str) -> str:
        """The command that rewrites ``table`` of a (trace, cluster) partition."""
        if table in DERIVED_TABLES:
            return f"`tracekit predict --trace {trace} --cluster {cluster} --store {self.path}`"
        return f"`tracekit ingest {trace} RAW_PATH --store {self.path}`"

    def scan(
        self,
        table: str,
        trace: str | Sequence[str] | None = None,
        cluster: str | Sequence[str] | None = None,
    ) -> pl.LazyFrame:
        """Lazily scan ``table``, filtered to the given traces and clusters.

        Parameters
        ----------
        table : str
            A store table (``jobs``, ``capacity``, ...).
        trace, cluster : str or sequence of str, optional
            Names (or comma-separated text) to keep; matched exactly, else ignoring case, so
            ``"Helios"`` finds ``helios`` and ``"venus"`` finds ``Venus``.

        Returns
        -------
        polars.LazyFrame
            ``trace, cluster`` and the table's columns; empty (with those columns) when the
            selected partitions have no such table.

        Raises
        ------
        StoreError
            An unknown trace or cluster (the message lists the ones present), or a listed file
            is missing (the store was rewritten since it was opened, or a file was deleted).
        """
        schema = schema_for(table)
        frames = []
        for part in self.select(trace, cluster):
            rels = part["files"].get(table, [])
            if not rels:
                continue
            for rel in rels:
                if not (self.path / rel).is_file():
                    raise self._missing_file(part, table, rel)
            frames.append(
                pl.scan_parquet([str(self.path / f) for f in rels]).with_columns(
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

    def verify(self) -> pl.DataFrame:
        """Check that every file the manifest lists exists and holds the rows it records.

        Returns
        -------
        polars.DataFrame
            One row per problem: ``trace, cluster, table, file, problem`` (``missing``,
            ``unreadable: ...`` or ``rows: manifest N, files M``) and ``fix`` (the command that
            rewrites the partition); empty when the store is sound.
        """
        problems: list[dict[str, str | None]] = []
        for part in self.partitions:
            for table, rels in sorted(part["files"].items()):
                counted = 0
                readable = True
                for rel in rels:
                    issue = None
                    try:
                        counted += pq.ParquetFile(self.path / rel).metadata.num_rows
                    except FileNotFoundError:
                        issue = "missing"
                    except (OSError, pa.ArrowException) as exc:
                        issue = f"unreadable: {exc}"
                    if issue is not None:
                        readable = False
                        problems.append(self._problem(part, table, rel, issue))
                expected = part["rows"].get(table, 0)
                if readable and counted != expected:
                    issue = f"rows: manifest {expected}, files {counted}"
                    problems.append(self._problem(part, table, None, issue))
        return pl.DataFrame(
            problems,
            schema={k: pl.String for k in ("trace", "cluster", "table", "file", "problem", "fix")},
        )

    def _problem(
        self, part: dict[str, Any], table: str, rel: str | None, issue: str
    ) -> dict[str, str | None]:
        return {
            "trace": part["trace"], "cluster": part["cluster"], "table": table, "file": rel,
            "problem": issue, "fix": self.rewrite_command(part["trace"], part["cluster"], table),
        }

    def leftovers(self) -> SweepResult:
        """What the next write will remove (see :func:`sweep`); nothing is changed."""
        return leftovers(self.path, self.manifest, scratch_cutoff(self.path, time.time()))


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

    Raises
    ------
    StoreError
        Not a store (no manifest), or a damaged manifest (:class:`~tracekit.errors.ManifestError`).
    """
    return Store(path)


__all__ = ["Store", "open_store"]
