"""The store lock, writer liveness, and removing what interrupted writes left behind."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracekit.errors import StoreError
from tracekit.schema import SCHEMAS, TRACES
from tracekit.store._manifest import MANIFEST, manifest_files, read_manifest, require_folder

STAGING = ".staging"
LOCK = ".lock"
ALIVE = ".alive"
#: Where the store's own Parquet files live inside a table folder.
_PART_GLOB = "trace=*/cluster=*/part-*.parquet"
#: Scratch folders readers create with :func:`tempfile.mkdtemp` at the store's top
#: (``.philly-`` and 8 random characters); new readers use
#: :meth:`~tracekit.store.Transaction.scratch_dir` instead.
_READER_SCRATCH_RE = re.compile(rf"^\.(?:{'|'.join(TRACES)}|extract)-[a-z0-9_]{{8}}$")
#: What the manifest swap leaves behind if killed between writing and renaming.
_MANIFEST_TMP_RE = re.compile(r"^\.manifest\.json\.[0-9a-f]+\.tmp$")


def not_writable(root: Path, exc: OSError) -> StoreError:
    reason = exc.strerror or type(exc).__name__
    return StoreError(
        f"{root}: cannot write to the store ({reason}: {exc.filename or root}); "
        "pass a writable --store folder, or fix its permissions"
    )


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    # Serialises manifest read-modify-write and cleanup between concurrent writers on one machine.
    require_folder(root)
    try:
        fh = open(root / LOCK, "a+")  # noqa: SIM115 - held for the whole block
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise not_writable(root, exc) from exc
        raise
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def is_alive(staged: Path) -> bool:
    """True while the transaction owning ``.staging/<txid>`` holds its liveness lock.

    The lock is an ``flock`` on ``.alive``: the kernel drops it when its process dies (even
    by kill -9), so a dead writer's folder is never mistaken for a live one.
    """
    try:
        fh = open(staged / ALIVE, "rb")  # noqa: SIM115
    except OSError:
        return False  # no lock file: the writer died before creating it, or it is an old folder
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


# ---- cleanup
@dataclass
class SweepResult:
    """What :func:`sweep` removed (paths relative to the store)."""

    staging: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    scratch: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.staging) + len(self.orphans) + len(self.scratch)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def leftovers(
    root: Path, manifest: dict[str, Any], scratch_before: float | None
) -> SweepResult:
    """Find what no live writer owns and the manifest does not list (see :func:`sweep`)."""
    found = SweepResult()
    staging = root / STAGING
    if staging.is_dir():
        found.staging = [
            f"{STAGING}/{d.name}" for d in sorted(staging.iterdir())
            if not (d.is_dir() and is_alive(d))
        ]
    listed = manifest_files(manifest)
    for table in SCHEMAS:
        top = root / table
        if not top.is_dir():
            continue
        # Only names the store itself gives: a user's own files in a table folder stay.
        for path in sorted(top.glob(_PART_GLOB)):
            rel = path.relative_to(root).as_posix()
            if not path.is_dir() and rel not in listed:
                found.orphans.append(rel)
    for entry in sorted(root.iterdir()):
        if _MANIFEST_TMP_RE.match(entry.name):
            found.orphans.append(entry.name)
        elif (
            scratch_before is not None
            and entry.name != STAGING
            and _READER_SCRATCH_RE.match(entry.name)
            and entry.is_dir()
            and entry.lstat().st_mtime < scratch_before
        ):
            found.scratch.append(entry.name)
    return found


def _remove_empty_dirs(root: Path) -> None:
    for table in SCHEMAS:
        top = root / table
        if not top.is_dir():
            continue
        for pattern in ("trace=*/cluster=*", "trace=*"):
            for d in top.glob(pattern):
                with contextlib.suppress(OSError):
                    d.rmdir()  # only succeeds when empty
        with contextlib.suppress(OSError):
            top.rmdir()
    with contextlib.suppress(OSError):
        (root / STAGING).rmdir()


def sweep_locked(
    root: Path, manifest: dict[str, Any], scratch_before: float | None, dry_run: bool = False
) -> SweepResult:
    found = leftovers(root, manifest, scratch_before)
    if not dry_run:
        for rel in [*found.staging, *found.orphans, *found.scratch]:
            _remove(root / rel)
        _remove_empty_dirs(root)
    return found


def live_writers(root: Path) -> int:
    staging = root / STAGING
    if not staging.is_dir():
        return 0
    return sum(1 for d in staging.iterdir() if d.is_dir() and is_alive(d))


def sweep(store: str | Path, dry_run: bool = False) -> SweepResult:
    """Remove what interrupted writes left in ``store``, under the store lock.

    Removed: staging folders of writers that are no longer running, Parquet files in the table
    folders that the manifest does not list (a crash between moving files and swapping the
    manifest), half-written manifest copies, empty partition folders, and reader scratch
    folders at the top of the store (``.philly-*``) older than the manifest while no other
    write is running. Every write transaction calls this before it starts and after it
    commits; call it yourself only to tidy a store without writing to it.

    Parameters
    ----------
    store : str or Path
        The store directory.
    dry_run : bool
        Only report what would be removed.

    Returns
    -------
    SweepResult
        The removed (or removable) paths, relative to the store.
    """
    root = Path(store)
    with locked(root):
        manifest = read_manifest(root, missing_ok=True)
        before = scratch_cutoff(root, time.time())
        return sweep_locked(root, manifest, before, dry_run=dry_run)


def scratch_cutoff(root: Path, started: float) -> float | None:
    """Reader scratch folders older than this are leftovers (None: leave them alone).

    A scratch folder is only known to be dead when no write is running (its reader would hold
    one) and it is older than both the newest manifest and the start of the sweeping write.
    """
    if live_writers(root):
        return None
    try:
        manifest_mtime = (root / MANIFEST).stat().st_mtime
    except FileNotFoundError:
        return None
    return min(manifest_mtime, started)


__all__ = [
    "ALIVE",
    "LOCK",
    "STAGING",
    "SweepResult",
    "is_alive",
    "leftovers",
    "live_writers",
    "locked",
    "not_writable",
    "scratch_cutoff",
    "sweep",
    "sweep_locked",
]
