"""Safe extraction and streaming reads of the trace archives (tar, tar.gz, zip).

The real archives are large (Philly: 1 GB of gzip holding 6.6 GB) and come from the network, so
extraction refuses anything that could write outside the destination or blow up the disk:
absolute paths, ``..`` members, links pointing outside, device files and members (or totals)
beyond a caller-given bound. Sizes are checked twice: against the member header, and by counting
bytes while copying (a zip header may lie about the size of what follows).
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, NoReturn

from tracekit.errors import TraceFormatError

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
# A Git LFS pointer is ~130 bytes; anything larger is certainly not one.
_LFS_POINTER_MAX_BYTES = 1024
_COPY_CHUNK = 1 << 20


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


def _kind(archive: Path) -> str:
    """Return ``"zip"`` or ``"tar"`` from the file content; raise a clear error otherwise."""
    if not archive.is_file():
        raise TraceFormatError(archive, None, "archive not found")
    if is_lfs_pointer(archive):
        raise TraceFormatError(
            archive,
            None,
            "this is a Git LFS pointer file, not the archive; fetch the real file with "
            "`git lfs pull` or `tracekit download`",
        )
    if zipfile.is_zipfile(archive):
        return "zip"
    if tarfile.is_tarfile(archive):
        return "tar"
    raise TraceFormatError(archive, None, "not a zip or tar(.gz) archive")


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
    if _kind(archive) == "zip":
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                mode = info.external_attr >> 16
                regular = not info.is_dir() and (stat.S_IFMT(mode) in (0, stat.S_IFREG))
                yield MemberInfo(info.filename, info.file_size, regular)
    else:
        with tarfile.open(archive, "r:*") as tf:
            for member in tf:
                yield MemberInfo(member.name, member.size, member.isreg())


@contextmanager
def open_member(archive: str | Path, basename: str) -> Iterator[IO[bytes]]:
    """Open the first member whose base name is ``basename`` as a binary stream.

    The archive is read sequentially, so this works on multi-GB tar.gz files without
    extracting them. Use as a context manager: ``with open_member(a, "cluster_job_log") as fh``.

    Raises
    ------
    TraceFormatError
        If no regular-file member has that base name.
    """
    archive = Path(archive)
    if _kind(archive) == "zip":
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.is_dir() and PurePosixPath(info.filename).name == basename:
                    with zf.open(info) as fh:
                        yield fh
                    return
    else:
        with tarfile.open(archive, "r:*") as tf:
            for member in tf:
                if member.isreg() and PurePosixPath(member.name).name == basename:
                    fh = tf.extractfile(member)
                    if fh is None:  # pragma: no cover - isreg() members always have data
                        break
                    with fh:
                        yield fh
                    return
    raise TraceFormatError(archive, None, f"no member named {basename!r} in the archive")


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
        if os.path.isabs(link) or not _inside(self.root, dest.parent / link):
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
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as exc:
            raise TraceFormatError(archive, None, f"corrupt archive: {exc}") from exc
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
