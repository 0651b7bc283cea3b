"""Philly raw files -> frames: finding the five files (a folder, or the official tarball streamed
member by member through :mod:`tracekit.sources._archive`) and the public parsers of each file.

:func:`iter_files` is the input side of :func:`tracekit.sources.philly.ingest`; the parsers live
in private modules (``_joblog``, ``_gpu_util``, ``_host_util``, ``_machines``) and are re-exported
here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from tracekit.errors import TraceFormatError
from tracekit.sources._archive import (
    CheckedStream,
    check_not_lfs_pointer,
    open_stream,
    stream_members,
)
from tracekit.sources._common import find_by_basename, refuse_duplicates
from tracekit.sources.philly._gpu_util import iter_gpu_util
from tracekit.sources.philly._host_util import iter_host_util
from tracekit.sources.philly._joblog import parse_job_log, read_job_log
from tracekit.sources.philly._machines import read_machine_list
from tracekit.sources.philly.formats import ARCHIVE_NAME, FILE_NAMES, JOB_LOG


def iter_files(raw_path: Path) -> Iterator[tuple[str, str, CheckedStream, int]]:
    """Yield ``(basename, display_path, stream, size)`` for each Philly file found.

    Folders are searched by base name (the same file found at two places is an error naming
    both); a folder without the job log but with the tarball is read through the tarball.
    Tarballs are streamed member by member, in archive order, with the gzip CRC-32 and length
    verified; a plain file that is gzip-compressed is decompressed (and verified) too.

    Raises
    ------
    TraceFormatError
        Missing path, Git LFS pointer, duplicate files, or a corrupt archive or stream.
    """
    if raw_path.is_dir():
        found = find_by_basename(raw_path, FILE_NAMES)
        if JOB_LOG not in found:
            archives = find_by_basename(raw_path, (ARCHIVE_NAME,))
            if ARCHIVE_NAME in archives:
                yield from iter_files(archives[ARCHIVE_NAME])
                return
        places: dict[str, list[str]] = {}
        for path in raw_path.rglob("*"):
            if path.name in FILE_NAMES and path.is_file():
                places.setdefault(path.name, []).append(str(path))
        refuse_duplicates(raw_path, places, "file")
        for name in FILE_NAMES:
            if name in found:
                with open_stream(found[name]) as fh:
                    yield name, str(found[name]), fh, found[name].stat().st_size
                    fh.verify()
        return
    if not raw_path.exists():
        raise TraceFormatError(raw_path, None, "no such file or folder")
    check_not_lfs_pointer(raw_path)
    for member in stream_members(raw_path, lambda n: PurePosixPath(n).name in FILE_NAMES):
        yield member.basename, member.label, member.stream, member.size_bytes


__all__ = [
    "iter_files",
    "iter_gpu_util",
    "iter_host_util",
    "parse_job_log",
    "read_job_log",
    "read_machine_list",
]
