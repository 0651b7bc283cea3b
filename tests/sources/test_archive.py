"""Safe extraction and streaming reads of tar(.gz) and zip archives (tracekit.sources._archive)."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from tracekit.errors import TraceFormatError
from tracekit.sources._archive import (
    is_lfs_pointer,
    iter_members,
    open_member,
    safe_extract,
)

LIMITS = {"max_member_bytes": 1_000_000, "max_total_bytes": 2_000_000}
LFS_POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:2037ccf63a725a02be718b0e1aeee6142c90b7f62d0d849295120e9f6ba13d2c\n"
    b"size 1055988361\n"
)


def make_tar(path: Path, members: list[tuple[str, bytes | None, dict]]) -> Path:
    """Write a tar.gz; each member is (name, data or None, extra TarInfo attributes)."""
    with tarfile.open(path, "w:gz") as tf:
        for name, data, extra in members:
            info = tarfile.TarInfo(name)
            for key, value in extra.items():
                setattr(info, key, value)
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return path


def make_zip(path: Path, members: list[tuple[str, bytes]], symlinks: dict[str, str] | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def test_tar_extracts_and_replaces_atomically(tmp_path: Path) -> None:
    archive = make_tar(
        tmp_path / "t.tar.gz",
        [
            ("trace-data/cluster_job_log", b"[]", {}),
            ("trace-data/cluster_machine_list", b"machineId\n", {}),
        ],
    )
    dest = tmp_path / "out"
    (dest / "trace-data").mkdir(parents=True)
    (dest / "trace-data" / "stale").write_text("old")
    placed = safe_extract(archive, dest, **LIMITS)
    assert placed == [dest / "trace-data"]
    assert (dest / "trace-data" / "cluster_job_log").read_bytes() == b"[]"
    assert not (dest / "trace-data" / "stale").exists()  # replaced as a whole
    assert leftovers(dest) == ["trace-data"]  # no temporary directories left


def test_zip_extracts_and_streams(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "data.zip",
        [
            ("data/Venus/cluster_log.csv", b"job_id\n1\n"),
            ("data/Venus/cluster_gpu_number.csv", b"x"),
        ],
    )
    placed = safe_extract(archive, tmp_path / "out", **LIMITS)
    assert placed == [tmp_path / "out" / "data"]
    assert (tmp_path / "out/data/Venus/cluster_log.csv").read_bytes() == b"job_id\n1\n"
    names = [m.name for m in iter_members(archive)]
    assert names == ["data/Venus/cluster_log.csv", "data/Venus/cluster_gpu_number.csv"]
    with open_member(archive, "cluster_log.csv") as fh:
        assert fh.read() == b"job_id\n1\n"


def test_tar_streaming_helpers(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "p.tar.gz", [("pai_job_table.csv", b"a,b\n", {})])
    [member] = list(iter_members(archive))
    assert (member.name, member.size_bytes, member.is_file) == ("pai_job_table.csv", 4, True)
    with open_member(archive, "pai_job_table.csv") as fh:
        assert fh.read() == b"a,b\n"
    with pytest.raises(TraceFormatError, match="no member named 'missing'"):
        with open_member(archive, "missing"):
            pass


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "/etc/evil", "C:/evil", "..\\evil"])
def test_tar_traversal_refused(tmp_path: Path, name: str) -> None:
    archive = make_tar(tmp_path / "t.tar.gz", [("ok", b"1", {}), (name, b"x", {})])
    dest = tmp_path / "out"
    with pytest.raises(TraceFormatError, match="refused"):
        safe_extract(archive, dest, **LIMITS)
    assert leftovers(dest) == []  # the good member was not placed either
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("name", ["../evil", "sub/../../evil", "/abs/evil"])
def test_zip_traversal_refused(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "z.zip", [("ok", b"1"), (name, b"x")])
    dest = tmp_path / "out"
    with pytest.raises(TraceFormatError, match="refused"):
        safe_extract(archive, dest, **LIMITS)
    assert leftovers(dest) == []
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("target", ["../../outside", "/etc/passwd"])
def test_tar_symlink_escaping_refused(tmp_path: Path, target: str) -> None:
    link = {"type": tarfile.SYMTYPE, "linkname": target}
    archive = make_tar(tmp_path / "t.tar.gz", [("link", None, link)])
    with pytest.raises(TraceFormatError, match="refused"):
        safe_extract(archive, tmp_path / "out", **LIMITS)
    assert leftovers(tmp_path / "out") == []


def test_symlink_chain_escaping_refused(tmp_path: Path) -> None:
    # Each link looks harmless on its own; resolved together, "l1/l2" would point above dest.
    archive = make_tar(
        tmp_path / "t.tar.gz",
        [
            ("l1", None, {"type": tarfile.SYMTYPE, "linkname": "."}),
            ("l1/l2", None, {"type": tarfile.SYMTYPE, "linkname": ".."}),
        ],
    )
    with pytest.raises(TraceFormatError, match="outside"):
        safe_extract(archive, tmp_path / "out", **LIMITS)


def test_write_through_link_refused(tmp_path: Path) -> None:
    # A link to a directory inside dest is fine, but writing a file through a link that
    # later leaves dest must be refused; overwriting a link by a file too.
    archive = make_tar(
        tmp_path / "t.tar.gz",
        [
            ("sub/", None, {"type": tarfile.DIRTYPE}),
            ("alias", None, {"type": tarfile.SYMTYPE, "linkname": "sub"}),
            ("alias", b"overwrite", {}),
        ],
    )
    with pytest.raises(TraceFormatError, match="overwrite a link"):
        safe_extract(archive, tmp_path / "out", **LIMITS)


def test_internal_links_allowed(tmp_path: Path) -> None:
    archive = make_tar(
        tmp_path / "t.tar.gz",
        [
            ("d/file", b"abc", {}),
            ("d/soft", None, {"type": tarfile.SYMTYPE, "linkname": "file"}),
            ("d/hard", None, {"type": tarfile.LNKTYPE, "linkname": "d/file"}),
        ],
    )
    safe_extract(archive, tmp_path / "out", **LIMITS)
    assert (tmp_path / "out/d/soft").read_bytes() == b"abc"
    assert (tmp_path / "out/d/hard").read_bytes() == b"abc"
    assert not (tmp_path / "out/d/hard").is_symlink()


def test_hardlink_outside_refused(tmp_path: Path) -> None:
    archive = make_tar(
        tmp_path / "t.tar.gz", [("h", None, {"type": tarfile.LNKTYPE, "linkname": "../secret"})]
    )
    with pytest.raises(TraceFormatError, match="refused"):
        safe_extract(archive, tmp_path / "out", **LIMITS)


def test_zip_symlink_escaping_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "z.zip", [("ok", b"1")], symlinks={"link": "../../outside"})
    with pytest.raises(TraceFormatError, match="refused"):
        safe_extract(archive, tmp_path / "out", **LIMITS)
    assert leftovers(tmp_path / "out") == []


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_device_files_refused(tmp_path: Path, kind: bytes) -> None:
    archive = make_tar(tmp_path / "t.tar.gz", [("dev", None, {"type": kind})])
    with pytest.raises(TraceFormatError, match="special file"):
        safe_extract(archive, tmp_path / "out", **LIMITS)


def test_oversized_member_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "t.tar.gz", [("big", b"\0" * 2_000, {})])
    with pytest.raises(TraceFormatError, match="above the 1,000-byte member limit"):
        safe_extract(archive, tmp_path / "out", max_member_bytes=1_000, max_total_bytes=10_000)


def test_total_limit_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "t.tar.gz", [(f"m{i}", b"\0" * 600, {}) for i in range(3)])
    with pytest.raises(TraceFormatError, match="total"):
        safe_extract(archive, tmp_path / "out", max_member_bytes=1_000, max_total_bytes=1_500)
    assert leftovers(tmp_path / "out") == []


def test_zip_bomb_refused_while_copying(tmp_path: Path) -> None:
    # 5 MB of zeros compress to a few kB; the header announces the truth here, so also lie in
    # it: the central directory says 100 bytes. Either way nothing beyond the limit is written.
    archive = make_zip(tmp_path / "bomb.zip", [("zeros", b"\0" * 5_000_000)])
    assert archive.stat().st_size < 50_000
    with pytest.raises(TraceFormatError, match="refused"):
        safe_extract(archive, tmp_path / "out", **LIMITS)
    raw = bytearray(archive.read_bytes())
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (100).to_bytes(4, "little")  # uncompressed size in the CD entry
    liar = tmp_path / "liar.zip"
    liar.write_bytes(bytes(raw))
    with pytest.raises(TraceFormatError):
        safe_extract(liar, tmp_path / "out2", max_member_bytes=1_000, max_total_bytes=1_000)
    assert leftovers(tmp_path / "out2") == []


def test_lfs_pointer_and_non_archives(tmp_path: Path) -> None:
    pointer = tmp_path / "trace-data.tar.gz"
    pointer.write_bytes(LFS_POINTER)
    assert len(LFS_POINTER) == 135 and is_lfs_pointer(pointer)
    with pytest.raises(TraceFormatError, match="Git LFS pointer"):
        safe_extract(pointer, tmp_path / "out", **LIMITS)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert not is_lfs_pointer(text)
    with pytest.raises(TraceFormatError, match="not a zip or tar"):
        list(iter_members(text))
    with pytest.raises(TraceFormatError, match="archive not found"):
        safe_extract(tmp_path / "missing.zip", tmp_path / "out", **LIMITS)


def test_extracted_files_get_plain_modes(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "t.tar.gz", [("suid", b"x", {"mode": 0o4755})])
    safe_extract(archive, tmp_path / "out", **LIMITS)
    assert stat.S_IMODE(os.stat(tmp_path / "out/suid").st_mode) == 0o644
