"""Hostile and odd inputs, one regression test per defect of the hardening issue (items 1-10, 13).

Every case ends in one of two ways: a ``TraceFormatError`` naming the file (and line where there
is one), or a stored result that passes the store contract's value checks.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tracekit as tk
from tracekit.cli import app
from tracekit.errors import TraceFormatError
from tracekit.sources import helios, pai, philly
from tracekit.sources import ingest as ingest_trace
from tracekit.sources._archive import safe_extract, stream_members

LIMITS = {"max_member_bytes": 1_000_000, "max_total_bytes": 2_000_000}
LFS_POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:2037ccf63a725a02be718b0e1aeee6142c90b7f62d0d849295120e9f6ba13d2c\n"
    b"size 1055988361\n"
)
HEADER = ",".join(helios.LOG_HEADER)
GOOD = "7,uA,vcA,1,1,1,COMPLETED,2020-06-09 18:41:01,2020-06-09 18:41:01,2020-06-09 18:42:01,60,0"


def _tables(store: Path) -> dict[str, pl.DataFrame]:
    """Every stored table of a store, as frames (for result comparisons)."""
    opened = tk.open_store(store)
    return {t: opened.scan(t).collect() for t in opened.tables}


def _same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> bool:
    return a.keys() == b.keys() and all(a[t].equals(b[t]) for t in a)


def _zip_dir(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())
    return out


def _tar_dir(folder: Path, out: Path, arcname: str) -> Path:
    with tarfile.open(out, "w:gz") as tf:
        tf.add(folder, arcname=arcname)
    return out


def _helios_log(tmp: Path, *rows: str, trailing: str = "\n") -> Path:
    folder = tmp / "helios" / "data" / "Venus"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / helios.LOG_FILE).write_text("\n".join([HEADER, *rows]) + trailing)
    return tmp / "helios"


# ---- 1. links leading outside the destination ---------------------------------------------------
def _chain_zip(path: Path, link_name: str = "L") -> Path:
    """The issue's chain: ``L -> z/..`` first, then ``z -> .`` (both symlink entries)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, target in ((link_name, "z/.."), ("z", ".")):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def _chain_tar(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, target in (("L", "z/.."), ("z", ".")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return path


@pytest.mark.parametrize("make", [_chain_zip, _chain_tar], ids=["zip", "tar"])
def test_symlink_chain_refused_nothing_outside_changes(tmp_path: Path, make: Callable) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    dest = tmp_path / "dest"
    archive = make(tmp_path / ("a.zip" if make is _chain_zip else "a.tar.gz"))
    with pytest.raises(TraceFormatError, match="refused"):
        safe_extract(archive, dest, **LIMITS)
    assert outside.read_text() == "precious"
    assert list(dest.iterdir()) == []  # nothing left behind either


def test_link_targets_with_dotdot_refused_even_inside(tmp_path: Path) -> None:
    # "sub/../file" stays inside, but any ".." is refused: checking where a target resolves to
    # *now* is what a later member can defeat.
    with tarfile.open(tmp_path / "t.tar", "w") as tf:
        info = tarfile.TarInfo("sub/link")
        info.type, info.linkname = tarfile.SYMTYPE, "../file"
        tf.addfile(info)
    with pytest.raises(TraceFormatError, match="contains '..'"):
        safe_extract(tmp_path / "t.tar", tmp_path / "out", **LIMITS)


# ---- 2. corrupt compressed streams --------------------------------------------------------------
def _flip_positions(size: int, n: int = 14) -> list[int]:
    # Header and trailer bytes, and evenly spread bytes of the compressed body.
    body = list(range(12, size - 8, max(1, (size - 20) // n)))
    return sorted({*range(0, 10), *body, *range(size - 8, size)})


def _corruptions_are_errors_or_harmless(
    tmp_path: Path, path: Path, ingest: Callable[[Path], None], store_of: Callable[[int], Path]
) -> int:
    """Flip one byte at a time; each ingest must fail clearly or store exactly the original."""
    original = path.read_bytes()
    ingest(store_of(-1))
    reference = _tables(store_of(-1))
    errors = 0
    for i in _flip_positions(len(original)):
        data = bytearray(original)
        data[i] ^= 0x5A
        path.write_bytes(bytes(data))
        try:
            ingest(store_of(i))
        except TraceFormatError as exc:
            assert str(path.name) in str(exc) or str(path.parent) in str(exc)
            errors += 1
        else:
            assert _same(_tables(store_of(i)), reference), f"byte {i} changed the stored data"
    path.write_bytes(original)
    return errors


def test_corrupt_gzip_of_pai_tar_gz_is_an_error(tmp_path: Path, raw_copy: Callable) -> None:
    raw = raw_copy("pai")
    member = raw / "pai_task_table.csv"
    with tarfile.open(raw / "pai_task_table.tar.gz", "w:gz") as tf:
        tf.add(member, arcname=member.name)
    member.unlink()
    errors = _corruptions_are_errors_or_harmless(
        tmp_path,
        raw / "pai_task_table.tar.gz",
        lambda store: pai.ingest(raw, store),
        lambda i: tmp_path / f"s{i}",
    )
    assert errors > 10


def test_corrupt_gzip_of_philly_tarball_is_an_error(tmp_path: Path, raw_copy: Callable) -> None:
    raw = raw_copy("philly")
    tarball = _tar_dir(raw / "trace-data", tmp_path / philly.ARCHIVE_NAME, "trace-data")
    errors = _corruptions_are_errors_or_harmless(
        tmp_path, tarball, lambda store: philly.ingest(tarball, store), lambda i: tmp_path / f"s{i}"
    )
    assert errors > 10


def test_corrupt_plain_gz_file_is_an_error(tmp_path: Path, raw_copy: Callable) -> None:
    # A gzip-compressed file under the plain name is decompressed, and its CRC checked.
    raw = raw_copy("philly")
    log = raw / "trace-data" / philly.JOB_LOG
    log.write_bytes(gzip.compress(log.read_bytes(), mtime=0))
    errors = _corruptions_are_errors_or_harmless(
        tmp_path, log, lambda store: philly.ingest(raw, store), lambda i: tmp_path / f"s{i}"
    )
    assert errors > 10


def test_corrupt_zip_member_is_an_error(tmp_path: Path, raw_copy: Callable) -> None:
    raw = raw_copy("helios")
    archive = _zip_dir(raw, tmp_path / "data.zip")
    errors = _corruptions_are_errors_or_harmless(
        tmp_path, archive, lambda store: helios.ingest(archive, store), lambda i: tmp_path / f"s{i}"
    )
    assert errors > 10


# ---- 3. short rows ------------------------------------------------------------------------------
def test_short_helios_rows_refused(tmp_path: Path) -> None:
    raw = _helios_log(tmp_path, GOOD, "1,u,v,1,1,1,COMPLETED,2020-05-01 10:00:00")
    with pytest.raises(TraceFormatError, match=r"line 3: expected 12 comma-separated fields"):
        helios.ingest(raw, tmp_path / "store")
    raw = _helios_log(tmp_path, GOOD, GOOD.rsplit(",", 1)[0])  # only the last field missing
    with pytest.raises(TraceFormatError, match=r"line 3: expected 12 .* found 11"):
        helios.ingest(raw, tmp_path / "store")


def test_short_helios_rows_counted_when_lenient(tmp_path: Path, assert_contract) -> None:
    raw = _helios_log(tmp_path, GOOD, GOOD.rsplit(",", 1)[0])
    helios.ingest(raw, tmp_path / "store", lenient=True)
    store = tk.open_store(tmp_path / "store")
    assert store.jobs().collect().height == 1
    assert store.quality().filter(pl.col("rule") == "helios.unparseable_row")["count"][0] == 1
    assert_contract(tmp_path / "store")


# ---- 4. the same cluster twice ------------------------------------------------------------------
def test_duplicate_cluster_folders_refused(tmp_path: Path, raw_copy: Callable) -> None:
    raw = raw_copy("helios")
    shutil.copytree(raw / "data" / "Venus", raw / "backup" / "data" / "Venus")
    with pytest.raises(TraceFormatError, match=r"cluster 'Venus' found twice: .*backup.*") as err:
        helios.ingest(raw, tmp_path / "store")
    assert "data/Venus/cluster_log.csv" in str(err.value)
    archive = _zip_dir(raw, tmp_path / "data.zip")
    with pytest.raises(TraceFormatError, match="cluster 'Venus' found twice"):
        helios.ingest(archive, tmp_path / "store")
    assert not (tmp_path / "store" / "manifest.json").exists()


def test_duplicate_philly_files_refused(tmp_path: Path, raw_copy: Callable) -> None:
    raw = raw_copy("philly")
    shutil.copytree(raw / "trace-data", raw / "copy" / "trace-data")
    with pytest.raises(TraceFormatError, match=r"file 'cluster_\w+' found twice: .*copy/trace-"):
        philly.ingest(raw, tmp_path / "store")


# ---- 5. impossible values -----------------------------------------------------------------------
def test_impossible_helios_values_repaired_and_counted(tmp_path: Path, assert_contract) -> None:
    t9, t10, t11 = (f"2020-06-09 {h}:00:00" for h in ("09", "10", "11"))
    raw = _helios_log(
        tmp_path,
        f"1,u,v,-8,1,1,COMPLETED,{t10},{t10},{t11},3600,0",
        f"2,u,v,1,1,1,COMPLETED,{t10},{t11},{t10},-3600,3600",  # end before start
        f"3,u,v,1,1,1,COMPLETED,{t10},{t9},{t10},3600,-3600",  # start before submit
    )
    cap = raw / "data" / "Venus" / helios.CAPACITY_FILE
    cap.write_text("date,vcA,vcB,total\n2020-06-09,-72,8,-64\n")
    helios.ingest(raw, tmp_path / "store")
    store = tk.open_store(tmp_path / "store")
    jobs = store.jobs().collect().sort("job_id")
    assert jobs["num_gpus"].to_list() == [None, 1.0, 1.0]
    assert jobs["duration_s"][1] is None and jobs["end_time"][1] is None
    assert jobs["queue_s"][2] is None and jobs["start_time"][2] is None
    q = dict(store.quality().select("rule", "count").iter_rows())
    assert q["helios.jobs.num_gpus_negative"] == 1
    assert q["helios.jobs.end_time_before_start_time"] == 1
    assert q["helios.jobs.start_time_before_submit_time"] == 1
    assert q["helios.capacity.num_gpus_negative"] == 1
    assert_contract(tmp_path / "store")
    with pytest.raises(TraceFormatError, match=r"break the store contract \(helios\.jobs\."):
        helios.ingest(raw, tmp_path / "strict", strict=True)


@pytest.mark.parametrize("value", ["-800.0", "1e400", "inf"])
def test_impossible_pai_gpus_repaired(
    tmp_path: Path, raw_copy: Callable, assert_contract, value: str
) -> None:
    raw = raw_copy("pai")
    tasks = raw / "pai_task_table.csv"
    lines = tasks.read_text().splitlines()
    fields = lines[0].split(",")
    fields[8] = value
    lines[0] = ",".join(fields)
    tasks.write_text("\n".join(lines) + "\n")
    pai.ingest(raw, tmp_path / "store")
    store = tk.open_store(tmp_path / "store")
    rule = "pai.task.plan_gpu_negative" if value.startswith("-") else "pai.task.plan_gpu_not_finite"
    assert dict(store.quality().select("rule", "count").iter_rows())[rule] == 1
    gpus = store.jobs().collect()["num_gpus"]
    assert (gpus.drop_nulls() >= 0).all() and gpus.drop_nulls().is_finite().all()
    assert_contract(tmp_path / "store")


@pytest.mark.parametrize("value", ["-40", "1e300"])
def test_impossible_philly_util_repaired(
    tmp_path: Path, raw_copy: Callable, assert_contract, value: str
) -> None:
    raw = raw_copy("philly")
    util = raw / "trace-data" / philly.GPU_UTIL
    text = util.read_text().replace("60.8,", f"{value},", 1)
    util.write_text(text)
    machines = raw / "trace-data" / philly.MACHINE_LIST
    machines.write_text(machines.read_text().replace("m31,8,", "m31,-8,", 1))
    philly.ingest(raw, tmp_path / "store")
    store = tk.open_store(tmp_path / "store")
    util_col = store.scan("gpu_util").collect()["util"]
    assert (util_col.drop_nulls() >= 0).all() and util_col.drop_nulls().is_finite().all()
    q = dict(store.quality().select("rule", "count").iter_rows())
    bad = "philly.gpu_util.util_negative" if value == "-40" else "philly.gpu_util.util_not_finite"
    assert q[bad] == 1
    assert q["philly.machines.num_gpus_negative"] == 1
    assert_contract(tmp_path / "store")


# ---- 6. far-future times ------------------------------------------------------------------------
def test_far_future_philly_time_does_not_grow_capacity(
    tmp_path: Path, raw_copy: Callable, assert_contract
) -> None:
    raw = raw_copy("philly")
    log = raw / "trace-data" / philly.JOB_LOG
    text = log.read_text()
    first = text.index('"submitted_time": "') + len('"submitted_time": "')
    log.write_text(text[:first] + "9999-12-31 00:00:00" + text[first + 19 :])
    philly.ingest(raw, tmp_path / "store")
    store = tk.open_store(tmp_path / "store")
    assert store.capacity().collect().height < 200  # not 2.9 M days
    q = dict(store.quality().select("rule", "count").iter_rows())
    assert q["philly.jobs.submit_time_outside_window_row_dropped"] == 1
    assert_contract(tmp_path / "store")


# ---- 7. odd files: one clear line, never a traceback ---------------------------------------------
def test_helios_header_only_log_is_empty_input(tmp_path: Path) -> None:
    raw = _helios_log(tmp_path)
    with pytest.raises(TraceFormatError, match="no job rows; pass --allow-empty"):
        helios.ingest(raw, tmp_path / "store")


def test_capacity_duplicated_vc_column(tmp_path: Path) -> None:
    raw = _helios_log(tmp_path, GOOD)
    cap = raw / "data" / "Venus" / helios.CAPACITY_FILE
    cap.write_text("date,vcA,vcA,total\n2020-06-09,8,8,16\n")
    with pytest.raises(TraceFormatError, match=r"line 1: duplicated column\(s\) in the header"):
        helios.ingest(raw, tmp_path / "store")


def _patch_zip(path: Path, offset_in_local_header: int, value: bytes) -> None:
    # Patch both the local header and the central directory entry of the first member.
    data = bytearray(path.read_bytes())
    data[offset_in_local_header : offset_in_local_header + len(value)] = value
    at = data.find(b"PK\x01\x02") + offset_in_local_header + 2  # central entry: 2 more bytes
    data[at : at + len(value)] = value
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("what", "offset", "value"),
    [
        ("bad CRC", 14, b"\x00\x00\x00\x00"),  # CRC-32 field
        ("encryption flag", 6, struct.pack("<H", 1)),  # general purpose flag bit 0
        ("compression method 99", 8, struct.pack("<H", 99)),  # AES, not supported
    ],
)
def test_odd_zip_members_are_one_line_errors(
    tmp_path: Path, raw_copy: Callable, what: str, offset: int, value: bytes
) -> None:
    archive = _zip_dir(raw_copy("helios"), tmp_path / "data.zip")
    _patch_zip(archive, offset, value)
    with pytest.raises(TraceFormatError, match=r"data\.zip!data/") as err:
        helios.ingest(archive, tmp_path / "store")
    assert "\n" not in str(err.value)
    dest = tmp_path / "extract"
    with pytest.raises(TraceFormatError):
        safe_extract(archive, dest, **LIMITS)
    assert list(dest.iterdir()) == []


def test_pai_invalid_utf8_names_line(tmp_path: Path, raw_copy: Callable) -> None:
    raw = raw_copy("pai")
    jobs = raw / "pai_job_table.csv"
    lines = jobs.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b",", b"\xff\xfe,", 1)
    jobs.write_bytes(b"\n".join(lines))
    with pytest.raises(TraceFormatError, match=r"pai_job_table.csv, line 3: not UTF-8 text"):
        pai.ingest(raw, tmp_path / "store")


def test_helios_invalid_utf8_names_line(tmp_path: Path) -> None:
    raw = _helios_log(tmp_path, GOOD, GOOD.replace("uA", "u\xff"))
    log = raw / "data" / "Venus" / helios.LOG_FILE
    log.write_bytes(log.read_bytes().replace("u\xff".encode(), b"u\xff"))
    with pytest.raises(TraceFormatError, match=r"cluster_log.csv, line 3: not UTF-8 text"):
        helios.ingest(raw, tmp_path / "store")


# ---- 8. a trailing blank line -------------------------------------------------------------------
def test_trailing_blank_line_accepted(tmp_path: Path, assert_contract) -> None:
    raw = _helios_log(tmp_path, GOOD, trailing="\n\n")
    helios.ingest(raw, tmp_path / "store")
    store = tk.open_store(tmp_path / "store")
    assert store.jobs().collect().height == 1
    assert dict(store.quality().select("rule", "count").iter_rows())["helios.blank_line"] == 1
    assert_contract(tmp_path / "store")


# ---- 9. Git LFS pointers ------------------------------------------------------------------------
def test_lfs_pointers_recognised_everywhere(tmp_path: Path, raw_copy: Callable) -> None:
    zip_ptr = tmp_path / "helios" / helios.ARCHIVE_FILE
    zip_ptr.parent.mkdir()
    zip_ptr.write_bytes(LFS_POINTER)
    pai_raw = raw_copy("pai")
    (pai_raw / "pai_job_table.csv").write_bytes(LFS_POINTER)
    philly_raw = raw_copy("philly")
    (philly_raw / "trace-data" / philly.JOB_LOG).write_bytes(LFS_POINTER)
    for trace, path, name in (
        ("helios", zip_ptr, "data.zip"),
        ("pai", pai_raw, "pai_job_table.csv"),
        ("philly", philly_raw, "cluster_job_log"),
    ):
        with pytest.raises(TraceFormatError, match="this is a Git LFS pointer, not the data") as e:
            ingest_trace(trace, path, tmp_path / "store")
        assert name in str(e.value)


# ---- 10. empty inputs must not replace good data ------------------------------------------------
def _empty_pai(raw: Path) -> None:
    (raw / "pai_job_table.csv").write_bytes(b"")


def _empty_philly_log(raw: Path) -> None:
    (raw / "trace-data" / philly.JOB_LOG).write_text("[]")


def _empty_philly_util(raw: Path) -> None:
    (raw / "trace-data" / philly.GPU_UTIL).write_text(philly.GPU_UTIL_HEADER + "\n")


@pytest.mark.parametrize(
    ("trace", "empty"),
    [("pai", _empty_pai), ("philly", _empty_philly_log), ("philly", _empty_philly_util)],
    ids=["pai-0-byte-job-table", "philly-empty-job-log", "philly-empty-gpu-util"],
)
def test_empty_inputs_refused_unless_allow_empty(
    tmp_path: Path, raw_copy: Callable, trace: str, empty: Callable
) -> None:
    store = tmp_path / "store"
    raw = raw_copy(trace)
    ingest_trace(trace, raw, store)
    before = tk.open_store(store).rows()
    empty(raw)
    with pytest.raises(TraceFormatError, match="pass --allow-empty"):
        ingest_trace(trace, raw, store)
    assert tk.open_store(store).rows().equals(before)  # the good partition survives
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", trace, str(raw), "--store", str(store)])
    assert result.exit_code == 2 and "allow-empty" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(
        app, ["ingest", trace, str(raw), "--store", str(store), "--allow-empty"]
    )
    assert result.exit_code == 0, result.output


# ---- 13. bounded-memory zip reading -------------------------------------------------------------
def test_zip_streaming_bounded_memory(
    tmp_path: Path, raw_copy: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = raw_copy("helios")
    helios.ingest(raw, tmp_path / "folder")
    archive = _zip_dir(raw, tmp_path / "data.zip")
    # Members are streamed in small reads, never read whole: same result as the folder.
    from tracekit.sources import _archive
    from tracekit.sources.helios import read as helios_read

    reads: list[int] = []
    original = _archive.CheckedStream.read

    def spy(self: _archive.CheckedStream, n: int = -1) -> bytes:
        reads.append(n)
        return original(self, n)

    monkeypatch.setattr(_archive.CheckedStream, "read", spy)
    monkeypatch.setattr(helios_read, "BLOCK_BYTES", 256)
    helios.ingest(archive, tmp_path / "zip")
    assert reads and all(n > 0 for n in reads)  # never "read the whole member"
    assert _same(_tables(tmp_path / "zip"), _tables(tmp_path / "folder"))
    # A member expanding beyond the cap is refused while being read.
    monkeypatch.setattr(helios_read, "MAX_MEMBER_BYTES", 500)
    with pytest.raises(TraceFormatError, match="expands beyond the 500-byte limit"):
        helios.ingest(archive, tmp_path / "bomb")


def test_zip_bomb_member_refused_while_streaming(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big", b"0" * 5_000_000)
    assert bomb.stat().st_size < 20_000
    with pytest.raises(TraceFormatError, match="expands beyond"):
        for member in stream_members(bomb, max_member_bytes=1_000_000):
            while member.stream.read(1 << 16):
                pass


def test_no_leftovers_after_refusals(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(TraceFormatError):
        safe_extract(_chain_zip(tmp_path / "a.zip"), dest, **LIMITS)
    assert os.listdir(dest) == []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.txt", "x")
    (tmp_path / "ok.zip").write_bytes(buf.getvalue())
    assert safe_extract(tmp_path / "ok.zip", dest, **LIMITS) == [dest / "ok.txt"]


def test_endless_line_refused_not_accumulated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A member that is one enormous "line" (a bomb, or binary junk) must not be gathered in
    # memory while waiting for a line end.
    from tracekit.sources import _common

    monkeypatch.setattr(_common, "MAX_LINE_BYTES", 10_000)
    raw = _helios_log(tmp_path, GOOD)
    log = raw / "data" / "Venus" / helios.LOG_FILE
    log.write_bytes(log.read_bytes() + b"x" * 50_000)
    monkeypatch.setattr("tracekit.sources.helios.read.BLOCK_BYTES", 4096)
    with pytest.raises(TraceFormatError, match="a line longer than 10,000 bytes"):
        helios.ingest(raw, tmp_path / "store")


def test_whole_file_reads_are_capped(tmp_path: Path, raw_copy: Callable, monkeypatch) -> None:
    raw = raw_copy("philly")
    monkeypatch.setattr("tracekit.sources.philly._joblog.MAX_JOB_LOG_BYTES", 100)
    with pytest.raises(TraceFormatError, match="larger than 100 bytes: not a Philly job log"):
        philly.ingest(raw, tmp_path / "store")
