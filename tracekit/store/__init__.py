"""The normalized Parquet store: atomic, partitioned writes and polars reads.

Layout (see docs/store.md and docs/schema.md)::

    <store>/<table>/trace=<trace>/cluster=<cluster>/part-<txid>-<n>.parquet
    <store>/manifest.json
    <store>/.lock                      the store lock (flock)
    <store>/.staging/<txid>/           files of a write in progress

The manifest is the source of truth: it lists the files of every (trace, cluster) partition.
A write stages its files in ``<store>/.staging/<txid>/``, moves them into place under new, unique
names, and then swaps the manifest with an atomic ``os.replace``. Until that swap, readers see
the previous manifest and so the previous files; a crash at any point leaves the previous store
readable. Every write first removes what earlier, killed writes left behind (:func:`sweep`), and
sweeps again after its own swap, so the store folder holds exactly the files its manifest lists.
"""

from __future__ import annotations

from tracekit.schema import DERIVED_TABLES, SCHEMAS
from tracekit.store._manifest import MANIFEST, read_manifest, sha256_file, source_record
from tracekit.store._read import Store, open_store
from tracekit.store._sweep import SweepResult, sweep
from tracekit.store._write import TableWriter, Transaction, begin, conform, drop

__all__ = [
    "DERIVED_TABLES",
    "MANIFEST",
    "SCHEMAS",
    "Store",
    "SweepResult",
    "TableWriter",
    "Transaction",
    "begin",
    "conform",
    "drop",
    "open_store",
    "read_manifest",
    "sha256_file",
    "source_record",
    "sweep",
]
