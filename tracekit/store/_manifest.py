"""The manifest: the store's source of truth, read, checked and swapped atomically."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

from tracekit.errors import ManifestError, StoreError
from tracekit.schema import SCHEMA_VERSION, SCHEMAS

MANIFEST = "manifest.json"
#: A manifest file path: ``<table>/trace=<trace>/cluster=<cluster>/<name>.parquet``, nothing else.
_FILE_RE = re.compile(r"^([a-z_]+)/trace=([^/]+)/cluster=([^/]+)/([^/]+\.parquet)$")


def tracekit_version() -> str:
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



def _rebuild_hint(root: Path) -> str:
    """How to rebuild a store whose manifest is lost: which traces have files, which command."""
    traces = sorted(
        {d.name.removeprefix("trace=") for t in SCHEMAS for d in (root / t).glob("trace=*")}
    )
    which = f"the traces with files here: {', '.join(traces)}" if traces else "every trace"
    return (
        f"rebuild it by moving it aside and re-ingesting {which} with "
        f"`tracekit ingest TRACE RAW_PATH --store {root}` (the first ingest removes the files "
        "the lost manifest listed)"
    )


def _check_manifest(obj: Any) -> str | None:
    """What is structurally wrong with a parsed manifest (None when it is sound)."""
    if not isinstance(obj, dict):
        return f"the top level is a {type(obj).__name__}, not an object"
    parts = obj.get("partitions")
    if not isinstance(parts, dict):
        return "no 'partitions' object"
    for key, part in parts.items():
        if not isinstance(part, dict):
            return f"partition {key!r} is not an object"
        for name, kind in (("trace", str), ("cluster", str), ("files", dict), ("rows", dict)):
            if not isinstance(part.get(name), kind):
                return f"partition {key!r} has no valid {name!r}"
        for table, files in part["files"].items():
            if not isinstance(files, list):
                return f"partition {key!r}: files of {table!r} are not a list"
            for rel in files:
                m = _FILE_RE.match(rel) if isinstance(rel, str) else None
                if m is None or ".." in rel or m.groups()[:3] != (
                    table, part["trace"], part["cluster"]
                ):
                    return f"partition {key!r}: {rel!r} is not a file of its {table!r} table"
        if not all(isinstance(n, int) for n in part["rows"].values()):
            return f"partition {key!r}: row counts are not integers"
    return None


def require_folder(root: Path) -> None:
    """Refuse a store path that exists but is not a folder (one clear line, not an OS error).

    Raises
    ------
    StoreError
        ``root`` is a file (or anything else that is not a directory).
    """
    if root.exists() and not root.is_dir():
        what = "a file" if root.is_file() else "not a directory"
        raise StoreError(f"{root}: not a store folder (it is {what})")


def read_manifest(store: str | Path, missing_ok: bool = False) -> dict[str, Any]:
    """Load and check ``manifest.json`` of a store.

    Parameters
    ----------
    store : str or Path
        The store directory.
    missing_ok : bool
        Return an empty manifest when the file does not exist (instead of raising).

    Raises
    ------
    StoreError
        ``store`` is a file, or it has no manifest (and not ``missing_ok``): not a tracekit
        store.
    ManifestError
        The manifest is not valid JSON or not a manifest; the message names the file and the
        command that rebuilds it.
    """
    root = Path(store)
    require_folder(root)
    path = root / MANIFEST
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return {"schema_version": SCHEMA_VERSION, "partitions": {}}
        raise StoreError(
            f"{root}: no {MANIFEST}; not a tracekit store (run `tracekit ingest`)"
        ) from None
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(path, f"not valid JSON ({exc})", _rebuild_hint(root)) from None
    problem = _check_manifest(obj)
    if problem is not None:
        raise ManifestError(path, problem, _rebuild_hint(root))
    return obj


def write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w") as fh:
            json.dump(obj, fh, indent=2, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def manifest_files(manifest: dict[str, Any]) -> set[str]:
    return {f for p in manifest["partitions"].values() for fs in p["files"].values() for f in fs}


__all__ = [
    "MANIFEST",
    "manifest_files",
    "read_manifest",
    "sha256_file",
    "source_record",
    "tracekit_version",
    "write_json_atomic",
]
