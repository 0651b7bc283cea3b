"""The one way readers and downloads open raw files: safe, checked, streaming.

Every reader opens its inputs here, so that every input gets the same checks:

* :func:`open_stream` opens one raw file; a gzip file (recognised by its magic bytes) is
  decompressed on the fly and its CRC-32 and length are verified at the end of the stream.
* :func:`stream_members` reads the members of a tar, tar.gz/bz2/xz or zip archive one after the
  other without extracting anything; every member stream verifies its checksum (gzip CRC and
  length, zip CRC-32) once read to its end, which the iterator guarantees before it finishes,
  and counts its bytes against a size cap, so a small archive that expands enormously is
  refused instead of filling the memory.
* :func:`safe_extract` extracts an archive for downloads. It refuses anything that could write
  outside the destination or blow up the disk: absolute paths, ``..`` members, links whose
  target is absolute or contains ``..`` (so no chain of individually harmless links can lead
  outside), device files and members (or totals) beyond a caller-given bound. Tar members pass
  :func:`tarfile.data_filter` first; sizes are checked against the header and again while
  copying (a zip header may lie about the size of what follows).
* A Git LFS pointer file standing where data should be is recognised everywhere and reported as
  such (:func:`check_not_lfs_pointer`).

Corrupt, truncated, encrypted or unsupported archives raise :class:`TraceFormatError` naming
``archive!member``; no low-level exception escapes.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, NoReturn

from tracekit.errors import TraceFormatError

LFS_POINTER_PREFIX = b"version https://git-lfs"
LFS_PROBLEM = (
    "this is a Git LFS pointer, not the data; fetch the real file with `git lfs pull` in a "
    "clone of the repository, or with `tracekit download`"
)
# A Git LFS pointer is ~130 bytes; anything larger is certainly not one.
_LFS_POINTER_MAX_BYTES = 1024
_COPY_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_BZ2_MAGIC = b"BZh"
_XZ_MAGIC = b"\xfd7zXZ\x00"
# Default bound on one member read by a reader: far above any real trace file (the largest,
# Philly's cluster_gpu_util, is ~3 GB), far below what a decompression bomb reaches.
DEFAULT_MAX_MEMBER_BYTES = 64 << 30
# Every exception a damaged compressed stream or archive can raise while being read.
_CORRUPT = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zlib.error,
    gzip.BadGzipFile,
    lzma.LZMAError,
    EOFError,
    # zipfile: encrypted members (RuntimeError) and unknown compression methods
    # (NotImplementedError); bz2 reports damage as OSError.
    RuntimeError,
    NotImplementedError,
    OSError,
    ValueError,
)


@dataclass(frozen=True)
class MemberInfo:
    """One archive member as listed by :func:`iter_members`.

    Attributes
    ----------
    name : str
        Path inside the archive (``/``-separated).
    size_bytes : int
        Uncompressed size announced by the member header.
    is_file : bool
        True for regular files (directories, links and others are False).
    """

    name: str
    size_bytes: int
    is_file: bool


def is_lfs_pointer(path: str | Path) -> bool:
    """Return True if ``path`` is a Git LFS pointer file rather than the data it stands for."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size > _LFS_POINTER_MAX_BYTES:
        return False
    with open(path, "rb") as fh:
        return fh.read(len(LFS_POINTER_PREFIX)) == LFS_POINTER_PREFIX


def check_not_lfs_pointer(path: str | Path) -> None:
    """Raise a :class:`TraceFormatError` if ``path`` is a Git LFS pointer file.

    Raises
    ------
    TraceFormatError
        Saying "this is a Git LFS pointer, not the data" and how to get the data.
    """
    if is_lfs_pointer(path):
        raise TraceFormatError(path, None, LFS_PROBLEM)


def _kind(archive: Path) -> str:
    """Return ``"zip"`` or ``"tar"`` from the file content; raise a clear error otherwise."""
    if not archive.is_file():
        raise TraceFormatError(archive, None, "archive not found")
    check_not_lfs_pointer(archive)
    if zipfile.is_zipfile(archive):
        return "zip"
    try:
        if tarfile.is_tarfile(archive):
            return "tar"
    except _CORRUPT as exc:
        raise TraceFormatError(archive, None, f"corrupt archive: {exc}") from exc
    raise TraceFormatError(archive, None, "not a zip or tar(.gz) archive")


def is_archive(path: str | Path) -> bool:
    """True if ``path`` is a zip or tar(.gz/.bz2/.xz) archive (judged by its content)."""
    path = Path(path)
    if not path.is_file() or is_lfs_pointer(path):
        return False
    if zipfile.is_zipfile(path):
        return True
    try:
        return tarfile.is_tarfile(path)
    except _CORRUPT:
        return True  # damaged compressed data: let the reader report it as a corrupt archive


# ---- checked streams ----------------------------------------------------------------------------
class CheckedStream:
    """A read-only binary stream that names its source in every error and caps its size.

    Low-level decompression and archive errors raised while reading become one
    :class:`TraceFormatError` naming ``label``; reading more than ``max_bytes`` is refused.

    Parameters
    ----------
    fh : binary file
        The underlying stream (for example a :class:`gzip.GzipFile` or a zip member).
    label : str
        Name used in errors (``archive!member`` for archive members).
    max_bytes : int
        Largest number of bytes this stream may deliver.
    """

    def __init__(self, fh: IO[bytes], label: str, max_bytes: int = DEFAULT_MAX_MEMBER_BYTES):
        self._fh = fh
        self.label = label
        self.max_bytes = max_bytes
        self.bytes_read = 0

    def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes (all when ``n < 0``)."""
        try:
            data = self._fh.read(n)
        except TraceFormatError:
            raise
        except _CORRUPT as exc:
            raise TraceFormatError(
                self.label, None, f"truncated or corrupt compressed data ({_why(exc)})"
            ) from exc
        self.bytes_read += len(data)
        if self.bytes_read > self.max_bytes:
            raise TraceFormatError(
                self.label,
                None,
                f"refused: expands beyond the {self.max_bytes:,}-byte limit for one file",
            )
        return data

    def verify(self) -> None:
        """Read to the end, so that the checksum at the end of the stream is checked."""
        while self.read(_COPY_CHUNK):
            pass

    def close(self) -> None:
        """Close the underlying stream."""
        self._fh.close()

    def __enter__(self) -> CheckedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _why(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


class _Peeked:
    """A stream whose first bytes were already read (to sniff the format) and are re-fed."""

    def __init__(self, head: bytes, rest: IO[bytes] | Any) -> None:
        self._head = head
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0 or n >= len(self._head):
                data = self._head + self._rest.read(-1 if n < 0 else n - len(self._head))
                self._head = b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._rest.read(n)

    def close(self) -> None:
        self._rest.close()


def _decompressed(raw: IO[bytes] | Any) -> tuple[IO[bytes] | Any, str]:
    """Wrap ``raw`` in the decompressor its magic bytes call for; return it and the kind."""
    head = raw.read(6)
    if getattr(raw, "seekable", lambda: False)():
        raw.seek(0)  # a file: no need to re-feed the sniffed bytes (which costs a block copy)
        fed = raw
    else:
        fed = _Peeked(head, raw)
    if head.startswith(_GZIP_MAGIC):
        # GzipFile verifies the CRC-32 and the length of every gzip member at its end.
        return gzip.GzipFile(fileobj=fed, mode="rb"), "gzip"  # type: ignore[arg-type]
    if head.startswith(_BZ2_MAGIC):
        return bz2.BZ2File(fed, mode="rb"), "bzip2"  # type: ignore[arg-type]
    if head.startswith(_XZ_MAGIC):
        return lzma.LZMAFile(fed, mode="rb"), "xz"  # type: ignore[arg-type]
    return fed, "plain"


def _magic_is_compressed(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(6)
    return head.startswith((_GZIP_MAGIC, _BZ2_MAGIC, _XZ_MAGIC))


def open_stream(
    path: str | Path,
    *,
    fileobj: IO[bytes] | Any | None = None,
    max_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
) -> CheckedStream:
    """Open one raw file for reading, decompressing gzip/bzip2/xz content transparently.

    Parameters
    ----------
    path : str or Path
        The file (also its name in errors).
    fileobj : binary stream, optional
        Read this stream instead of opening ``path`` (e.g. the parts of a split file).
    max_bytes : int
        Largest number of (decompressed) bytes accepted.

    Returns
    -------
    CheckedStream
        Call :meth:`CheckedStream.verify` after the last read to check the trailing checksum.

    Raises
    ------
    TraceFormatError
        If ``path`` is a Git LFS pointer, or (while reading) the compressed data is corrupt.
    """
    if fileobj is None:
        check_not_lfs_pointer(path)
        fileobj = open(path, "rb")  # closed by the returned stream
    elif Path(path).is_file() and not _magic_is_compressed(Path(path)):
        # A plain file read through a wrapper (e.g. one that hashes): sniff the magic bytes from
        # the file itself, so the wrapper's stream need not be re-fed (a block copy per file).
        return CheckedStream(fileobj, str(path), max_bytes)
    try:
        stream, _ = _decompressed(fileobj)
    except _CORRUPT as exc:
        fileobj.close()
        raise TraceFormatError(path, None, f"unreadable file ({_why(exc)})") from exc
    return CheckedStream(stream, str(path), max_bytes)


@dataclass
class StreamedMember:
    """One archive member being streamed by :func:`stream_members`.

    Attributes
    ----------
    name : str
        Path inside the archive (``/``-separated).
    label : str
        ``archive!name``, for errors and provenance.
    size_bytes : int
        Uncompressed size announced by the member header.
    stream : CheckedStream
        The member's bytes (checked, capped).
    """

    name: str
    label: str
    size_bytes: int
    stream: CheckedStream

    @property
    def basename(self) -> str:
        """The last path component of :attr:`name`."""
        return PurePosixPath(self.name).name


def stream_members(
    archive: str | Path,
    select: Callable[[str], bool] = lambda name: True,
    *,
    fileobj: IO[bytes] | Any | None = None,
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
) -> Iterator[StreamedMember]:
    """Stream the regular-file members of a tar(.gz/.bz2/.xz) or zip archive, in archive order.

    Nothing is extracted; a member's bytes are read from its :attr:`StreamedMember.stream`
    while the iterator is paused on it. Before moving to the next member the rest of the current
    one is read, so that every member (and, for tar.gz, the whole gzip stream, including its
    CRC-32 and length) is verified even when the caller stops reading early. Directories, links
    and special files are skipped: a reader never follows a link inside an archive.

    Parameters
    ----------
    archive : str or Path
        The archive (also its name in errors).
    select : callable
        Called with each member name; only members it accepts are yielded (others are still
        read through, so the checksums cover the whole archive).
    fileobj : binary stream, optional
        Read this stream (a tar, possibly compressed) instead of opening ``archive``.
    max_member_bytes : int
        Largest accepted size of one member (checked while reading).

    Yields
    ------
    StreamedMember

    Raises
    ------
    TraceFormatError
        Git LFS pointer, not an archive, corrupt/truncated/encrypted data, unsupported
        compression, or a member beyond the size cap; the message names ``archive!member``.
    """
    archive = Path(archive)
    if fileobj is None and _kind(archive) == "zip":
        yield from _stream_zip(archive, select, max_member_bytes)
        return
    raw = fileobj if fileobj is not None else open(archive, "rb")
    current = ""
    try:
        try:
            stream, _ = _decompressed(raw)
            whole = CheckedStream(stream, str(archive), 1 << 62)
            tar = tarfile.open(fileobj=whole, mode="r|")  # type: ignore[call-overload]
        except TraceFormatError:
            raise
        except _CORRUPT as exc:
            raise TraceFormatError(
                archive, None, f"not a readable tar archive ({_why(exc)})"
            ) from exc
        with tar:
            members = iter(tar)
            while True:
                try:
                    member = next(members, None)
                except TraceFormatError:
                    raise
                except _CORRUPT as exc:
                    where = f"{archive}!{current}" if current else archive
                    raise TraceFormatError(
                        where, None, f"truncated or corrupt archive ({_why(exc)})"
                    ) from exc
                if member is None:
                    break
                current = member.name
                if not member.isreg() or not select(member.name):
                    continue
                fh = tar.extractfile(member)
                if fh is None:  # pragma: no cover - regular members always have data
                    continue
                label = f"{archive}!{member.name}"
                whole.label = label  # a damaged gzip stream shows while reading this member
                checked = CheckedStream(fh, label, max_member_bytes)
                yield StreamedMember(member.name, label, member.size, checked)
                checked.verify()
                if checked.bytes_read != member.size:
                    raise TraceFormatError(label, None, "truncated archive member")
        # The tar end-of-archive blocks are followed by the gzip trailer: read it too.
        whole.label = f"{archive}!{current}" if current else str(archive)
        whole.verify()
    finally:
        raw.close()


def _stream_zip(
    archive: Path, select: Callable[[str], bool], max_member_bytes: int
) -> Iterator[StreamedMember]:
    try:
        zf = zipfile.ZipFile(archive)
    except _CORRUPT as exc:
        raise TraceFormatError(archive, None, f"not a readable zip archive ({_why(exc)})") from exc
    with zf:
        for info in zf.infolist():
            mode = info.external_attr >> 16
            regular = not info.is_dir() and stat.S_IFMT(mode) in (0, stat.S_IFREG)
            if not regular or not select(info.filename):
                continue
            label = f"{archive}!{info.filename}"
            try:
                fh = zf.open(info)
            except _CORRUPT as exc:
                raise TraceFormatError(label, None, f"unreadable zip member ({_why(exc)})") from exc
            # ZipExtFile checks the CRC-32 when the member is read to its end (verify below).
            with CheckedStream(fh, label, max_member_bytes) as checked:
                yield StreamedMember(info.filename, label, info.file_size, checked)
                checked.verify()


def iter_members(archive: str | Path) -> Iterator[MemberInfo]:
    """List the members of a tar(.gz) or zip archive without extracting it.

    Parameters
    ----------
    archive : str or Path
        The archive file.

    Yields
    ------
    MemberInfo
        Members in archive order.
    """
    archive = Path(archive)
    kind = _kind(archive)
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
            for info in infos:
                mode = info.external_attr >> 16
                regular = not info.is_dir() and (stat.S_IFMT(mode) in (0, stat.S_IFREG))
                yield MemberInfo(info.filename, info.file_size, regular)
        else:
            with tarfile.open(archive, "r:*") as tf:
                for member in tf:
                    yield MemberInfo(member.name, member.size, member.isreg())
    except TraceFormatError:
        raise
    except _CORRUPT as exc:
        problem = f"truncated or corrupt archive ({_why(exc)})"
        raise TraceFormatError(archive, None, problem) from exc


@contextmanager
def open_member(archive: str | Path, basename: str) -> Iterator[CheckedStream]:
    """Open the first member whose base name is ``basename`` as a checked binary stream.

    The archive is read sequentially (see :func:`stream_members`), so this works on multi-GB
    tar.gz files without extracting them: ``with open_member(a, "cluster_job_log") as fh``.

    Raises
    ------
    TraceFormatError
        If no regular-file member has that base name, or the archive is unreadable.
    """
    members = stream_members(archive, lambda name: PurePosixPath(name).name == basename)
    try:
        member = next(members, None)
        if member is None:
            raise TraceFormatError(archive, None, f"no member named {basename!r} in the archive")
        yield member.stream
    finally:
        members.close()


class _Budget:
    """Counts extracted bytes against the per-member and total bounds."""

    def __init__(self, archive: Path, max_member_bytes: int, max_total_bytes: int) -> None:
        self.archive = archive
        self.max_member = max_member_bytes
        self.max_total = max_total_bytes
        self.total = 0

    def check_header(self, name: str, size: int) -> None:
        if size > self.max_member:
            self.refuse(
                name, f"announces {size:,} bytes, above the {self.max_member:,}-byte member limit"
            )
        if self.total + size > self.max_total:
            self.refuse(name, f"total extracted size would exceed {self.max_total:,} bytes")

    def copy(self, name: str, src: IO[bytes], dst: IO[bytes]) -> None:
        written = 0
        while chunk := src.read(_COPY_CHUNK):
            written += len(chunk)
            self.total += len(chunk)
            # Counted while copying: a zip bomb's header can under-state the real size.
            if written > self.max_member:
                self.refuse(name, f"expands beyond the {self.max_member:,}-byte member limit")
            if self.total > self.max_total:
                self.refuse(name, f"archive expands beyond {self.max_total:,} bytes in total")
            dst.write(chunk)

    def refuse(self, name: str, problem: str) -> NoReturn:
        raise TraceFormatError(f"{self.archive}!{name}", None, f"refused: {problem}")


def _safe_relpath(archive: Path, name: str) -> PurePosixPath:
    """Validate a member name and return it as a clean relative path."""
    clean = name.replace("\\", "/")
    path = PurePosixPath(clean)
    if not clean or "\x00" in clean:
        raise TraceFormatError(f"{archive}!{name}", None, "refused: empty or NUL in member name")
    if path.is_absolute() or (len(clean) > 1 and clean[1] == ":"):
        raise TraceFormatError(f"{archive}!{name}", None, "refused: absolute path")
    if ".." in path.parts:
        raise TraceFormatError(f"{archive}!{name}", None, "refused: '..' path component")
    parts = [p for p in path.parts if p not in ("", ".")]
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _inside(root: Path, target: str | Path) -> bool:
    """True if ``target`` (after resolving existing links) lies within ``root``."""
    real = os.path.realpath(target)
    return real == str(root) or real.startswith(str(root) + os.sep)


class _Extractor:
    """Writes members into ``root`` (a fresh temporary directory), refusing unsafe ones."""

    def __init__(self, archive: Path, root: Path, budget: _Budget) -> None:
        self.archive = archive
        self.root = Path(os.path.realpath(root))
        self.budget = budget

    def target(self, name: str) -> tuple[PurePosixPath, Path]:
        rel = _safe_relpath(self.archive, name)
        dest = self.root / rel
        # Resolving the parent defeats chains of individually harmless symlinks.
        if not _inside(self.root, dest.parent):
            self.budget.refuse(name, "path leads outside the destination through a link")
        if dest.is_symlink():
            self.budget.refuse(name, "member would overwrite a link")
        return rel, dest

    def mkdir(self, name: str) -> None:
        _, dest = self.target(name)
        dest.mkdir(parents=True, exist_ok=True)

    def file(self, name: str, size: int, src: IO[bytes]) -> None:
        self.budget.check_header(name, size)
        _, dest = self.target(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as out:
            self.budget.copy(name, src, out)
        os.chmod(dest, 0o644)  # never keep setuid bits or odd modes from the archive

    def symlink(self, name: str, link: str) -> None:
        rel, dest = self.target(name)
        # A target with ``..`` is refused outright: checking where it resolves to *now* is not
        # enough, since a later member can turn a harmless-looking ``z/..`` into a way out
        # (the chain ``L -> z/..``, then ``z -> .``).
        parts = PurePosixPath(link.replace("\\", "/")).parts
        if not link or os.path.isabs(link) or ".." in parts or "\x00" in link:
            self.budget.refuse(name, f"link to {link!r} is absolute or contains '..'")
        if not _inside(self.root, dest.parent / link):
            self.budget.refuse(name, f"link to {link!r} points outside the destination")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(link, dest)

    def hardlink(self, name: str, link: str) -> None:
        # Tar hard links name another member; copy it instead of linking (same bytes, no
        # shared inode that a later member could write through).
        _, dest = self.target(name)
        source = self.root / _safe_relpath(self.archive, link)
        if not _inside(self.root, source) or not source.is_file():
            self.budget.refuse(name, f"hard link to {link!r} points outside or to no file")
        with open(source, "rb") as src:
            self.file(name, source.stat().st_size, src)


def _extract_tar(archive: Path, ex: _Extractor) -> None:
    with tarfile.open(archive, "r:*") as tf:
        for member in tf:
            # Names are judged as written (the data filter would quietly strip a leading "/").
            _safe_relpath(archive, member.name)
            try:
                # The standard library's "data" filter next: members or links leaving the
                # destination, device files, odd modes. Our own link checks follow.
                member = tarfile.data_filter(member, str(ex.root))
            except tarfile.FilterError as exc:
                ex.budget.refuse(member.name, f"{_why(exc)}")
            if member.isdir():
                ex.mkdir(member.name)
            elif member.isreg():
                fh = tf.extractfile(member)
                if fh is None:  # pragma: no cover - isreg() members always have data
                    ex.budget.refuse(member.name, "unreadable member")
                with fh:
                    ex.file(member.name, member.size, fh)
            elif member.issym():
                ex.symlink(member.name, member.linkname)
            elif member.islnk():
                ex.hardlink(member.name, member.linkname)
            else:
                ex.budget.refuse(member.name, "device, FIFO or other special file")


def _extract_zip(archive: Path, ex: _Extractor) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            mode = info.external_attr >> 16
            if info.is_dir() or stat.S_ISDIR(mode):
                ex.mkdir(info.filename)
            elif stat.S_ISLNK(mode):
                # Zip symlinks store the link target as the member's content.
                ex.budget.check_header(info.filename, info.file_size)
                with zf.open(info) as fh:
                    link = fh.read(4096).decode("utf-8", "replace")
                ex.symlink(info.filename, link)
            elif stat.S_IFMT(mode) in (0, stat.S_IFREG):
                with zf.open(info) as fh:
                    ex.file(info.filename, info.file_size, fh)
            else:
                ex.budget.refuse(info.filename, "device, FIFO or other special file")


def _recheck_links(archive: Path, root: Path) -> None:
    """After extraction, every link must still resolve inside ``root`` (defence in depth)."""
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(folder, name)
            if path.is_symlink() and not _inside(root, path):
                rel = path.relative_to(root).as_posix()
                raise TraceFormatError(
                    f"{archive}!{rel}", None, "refused: link resolves outside the destination"
                )


def safe_extract(
    archive: str | Path,
    dest: str | Path,
    *,
    max_member_bytes: int,
    max_total_bytes: int,
) -> list[Path]:
    """Extract a tar(.gz) or zip archive into ``dest``, safely and atomically.

    Members go into a temporary directory inside ``dest``; only when every member passed the
    checks are the top-level entries renamed into place (replacing entries of the same name).
    On any refusal nothing is left in ``dest``.

    Parameters
    ----------
    archive : str or Path
        The tar, tar.gz/tgz/bz2/xz or zip file.
    dest : str or Path
        Destination folder (created if missing).
    max_member_bytes : int
        Largest allowed size of one member (checked on the header and while copying).
    max_total_bytes : int
        Largest allowed total of extracted bytes.

    Returns
    -------
    list of Path
        The top-level entries placed in ``dest``, sorted.

    Raises
    ------
    TraceFormatError
        If the archive is not an archive, or a member is refused (absolute path, ``..``, link
        leaving ``dest``, special file, too large). The message names ``archive!member``.
    """
    archive = Path(archive)
    dest = Path(dest)
    kind = _kind(archive)
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    replaced = tmp.with_name(tmp.name + ".replaced")
    try:
        ex = _Extractor(archive, tmp, _Budget(archive, max_member_bytes, max_total_bytes))
        try:
            (_extract_zip if kind == "zip" else _extract_tar)(archive, ex)
        except TraceFormatError:
            raise
        except _CORRUPT as exc:
            raise TraceFormatError(archive, None, f"corrupt archive: {_why(exc)}") from exc
        _recheck_links(archive, ex.root)
        placed = []
        for entry in sorted(tmp.iterdir()):
            final = dest / entry.name
            if final.is_symlink() or final.exists():
                # Move the old entry aside first so the new one appears in a single rename.
                replaced.mkdir(exist_ok=True)
                os.replace(final, replaced / entry.name)
            os.replace(entry, final)
            placed.append(final)
        return placed
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(replaced, ignore_errors=True)
