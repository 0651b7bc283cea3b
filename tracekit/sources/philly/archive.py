"""Input discovery: a folder holding the five files, or the official tarball streamed member by
member (never extracted)."""

from __future__ import annotations

import contextlib
import gzip
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from tracekit.errors import TraceFormatError
from tracekit.sources._common import find_by_basename
from tracekit.sources.philly.formats import (
    ARCHIVE_BYTES,
    ARCHIVE_NAME,
    FILE_NAMES,
    JOB_LOG,
    LFS_POINTER_PREFIX,
)


@contextlib.contextmanager
def _guard_archive(archive: Path, member: str) -> Iterator[None]:
    """Turn low-level archive read errors into a TraceFormatError naming archive and member."""
    try:
        yield
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise TraceFormatError(
            f"{archive}!{member}" if member else archive,
            None,
            f"archive is truncated or corrupt ({type(exc).__name__}: {exc}); "
            "download it again (expected size "
            f"{ARCHIVE_BYTES:,} bytes for the official {ARCHIVE_NAME})",
        ) from exc


def _check_not_lfs_pointer(path: Path) -> None:
    if path.stat().st_size < 1024:
        with open(path, "rb") as fh:
            if fh.read(len(LFS_POINTER_PREFIX)) == LFS_POINTER_PREFIX:
                raise TraceFormatError(
                    path, 1, "this is a Git LFS pointer, not the data; fetch it with "
                    "`git lfs pull` or the LFS media URL",
                )


def _iter_members(raw_path: Path) -> Iterator[tuple[str, str, IO[bytes], int]]:
    """Yield ``(basename, display_path, binary file, size)`` for each Philly file found.

    Folders are searched by basename; a folder without the job log but with the tarball is
    read through the tarball. Tarballs are streamed member by member (``r|*``), in archive order.
    """
    if raw_path.is_dir():
        found = find_by_basename(raw_path, FILE_NAMES)
        if JOB_LOG not in found:
            archives = find_by_basename(raw_path, (ARCHIVE_NAME,))
            if ARCHIVE_NAME in archives:
                yield from _iter_members(archives[ARCHIVE_NAME])
                return
        for name in FILE_NAMES:
            if name in found:
                with open(found[name], "rb") as fh:
                    yield name, str(found[name]), fh, found[name].stat().st_size
        return
    if not raw_path.exists():
        raise FileNotFoundError(f"{raw_path}: no such file or folder")
    _check_not_lfs_pointer(raw_path)
    current = ""
    with _guard_archive(raw_path, current):
        tf = tarfile.open(raw_path, mode="r|*")
    with tf:
        members = iter(tf)
        while True:
            with _guard_archive(raw_path, current):
                member = next(members, None)
            if member is None:
                return
            name = Path(member.name).name
            if not member.isfile() or name not in FILE_NAMES:
                continue
            current = member.name
            with _guard_archive(raw_path, current):
                fh = tf.extractfile(member)
            if fh is None:  # pragma: no cover - isfile() members always have data
                continue
            # Read errors surface while the consumer reads ``fh``: ingest guards that too.
            yield name, f"{raw_path}!{member.name}", fh, member.size
