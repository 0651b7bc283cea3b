"""Every reader in the one shape: the same keyword arguments, files opened only through the safe
archive layer (Git LFS pointers named, gzip content checked), the store contract applied (repaired
and counted, or an error with ``strict``), empty inputs refused unless ``allow_empty``.

The four readers added beside Helios, Philly and PAI (openb, Acme, csv, swf) are exercised on
their test inputs; the three reference readers have their own regression tests
(``test_hardening.py``).
"""

from __future__ import annotations

import gzip
import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

import tracekit as tk
from tracekit.errors import TraceFormatError
from tracekit.sources import READERS, reader
from tracekit.sources import ingest as ingest_trace

SHAPE = ("clusters", "lenient", "strict", "allow_empty", "on_progress")
NEW_READERS = ("openb", "acme", "csv", "swf")
LFS_POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:2037ccf63a725a02be718b0e1aeee6142c90b7f62d0d849295120e9f6ba13d2c\n"
    b"size 1055988361\n"
)


def _main_file(trace: str, raw: Path) -> Path:
    """The file of a reader's test input that holds its jobs."""
    if raw.is_file():
        return raw
    names = {"openb": "openb_pod_list_default.csv", "acme": "trace_seren.csv"}
    return next(raw.rglob(names[trace]))


def _replace_first(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


# An impossible value in each reader's format, and the contract rule that repairs it.
def _openb_far_future(raw: Path) -> None:
    # Second 4e9 from the nominal origin is in the year 2148: outside openb's window.
    _replace_first(_main_file("openb", raw), ",BE,Succeeded,300,900,300",
                   ",BE,Succeeded,4000000000,4000000600,4000000000")  # fmt: skip


def _acme_far_future(raw: Path) -> None:
    seren = _main_file("acme", raw)
    _replace_first(seren, "2023-03-01 00:18:22+08:00", "2031-03-01 00:18:22+08:00")


def _csv_start_before_submit(raw: Path) -> None:
    _replace_first(raw, "|2024-03-04T09:15:02|2024-03-04T09:15:40|",
                   "|2024-03-04T09:15:02|2024-03-04T08:15:40|")  # fmt: skip


def _swf_negative_wait(raw: Path) -> None:
    _replace_first(raw, "    1        0       12     3600", "    1        0      -12     3600")


IMPOSSIBLE: dict[str, tuple[Callable[[Path], None], str]] = {
    "openb": (_openb_far_future, "openb.jobs.submit_time_outside_window_row_dropped"),
    "acme": (_acme_far_future, "acme.jobs.submit_time_outside_window_row_dropped"),
    "csv": (_csv_start_before_submit, "slurm.jobs.queue_s_negative"),
    "swf": (_swf_negative_wait, "swf.jobs.queue_s_negative"),
}


def _empty(trace: str, raw: Path) -> None:
    """Keep only what is not a job: the header line (header comments for SWF)."""
    for path in [raw] if raw.is_file() else sorted(raw.rglob("*.csv")):
        lines = path.read_text().splitlines()
        keep = [ln for ln in lines if ln.startswith(";")] if trace == "swf" else lines[:1]
        if trace == "openb" and "node_list" in path.name:
            keep = lines
        path.write_text("\n".join(keep) + "\n")


def _quality(store: Path) -> dict[str, int]:
    return dict(tk.open_store(store).quality().select("rule", "count").iter_rows())


@pytest.mark.parametrize("trace", sorted(READERS))
def test_every_reader_offers_the_same_keywords(trace: str) -> None:
    offered = inspect.signature(reader(trace)).parameters
    assert all(offered[k].kind is inspect.Parameter.KEYWORD_ONLY for k in SHAPE), trace
    assert offered["on_progress"].default is None and offered["strict"].default is False


@pytest.mark.parametrize("trace", NEW_READERS)
def test_test_input_passes_the_contract(
    trace: str, tmp_path: Path, reader_input: Callable, assert_contract: Callable
) -> None:
    raw, options = reader_input(trace)
    summary = ingest_trace(trace, raw, tmp_path / "store", **options)
    assert all(rows["jobs"] > 0 for rows in summary.values())
    assert_contract(tmp_path / "store")


@pytest.mark.parametrize("trace", NEW_READERS)
def test_impossible_values_repaired_and_counted_or_refused_with_strict(
    trace: str, tmp_path: Path, raw_copy: Callable, reader_input: Callable, assert_contract
) -> None:
    raw = raw_copy(trace)
    options = reader_input(trace)[1]
    damage, rule = IMPOSSIBLE[trace]
    damage(raw)
    ingest_trace(trace, raw, tmp_path / "store", **options)
    assert _quality(tmp_path / "store")[rule] == 1
    assert_contract(tmp_path / "store")
    with pytest.raises(TraceFormatError, match=rf"\({rule}\).*without --strict") as err:
        ingest_trace(trace, raw, tmp_path / "strict", strict=True, **options)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "strict" / "manifest.json").exists()


@pytest.mark.parametrize("trace", NEW_READERS)
def test_an_input_without_jobs_needs_allow_empty(
    trace: str, tmp_path: Path, raw_copy: Callable, reader_input: Callable
) -> None:
    store = tmp_path / "store"
    raw = raw_copy(trace)
    options = reader_input(trace)[1]
    before = ingest_trace(trace, raw, store, **options)
    _empty(trace, raw)
    with pytest.raises(TraceFormatError, match="pass --allow-empty"):
        ingest_trace(trace, raw, store, **options)
    assert tk.open_store(store).rows()["rows"].sum() > 0  # the good partitions survive
    after = ingest_trace(trace, raw, store, allow_empty=True, **options)
    assert after.keys() == before.keys() and all(r["jobs"] == 0 for r in after.values())


@pytest.mark.parametrize("trace", NEW_READERS)
def test_lfs_pointer_is_named(
    trace: str, tmp_path: Path, raw_copy: Callable, reader_input: Callable
) -> None:
    raw = raw_copy(trace)
    main = _main_file(trace, raw)
    main.write_bytes(LFS_POINTER)
    with pytest.raises(TraceFormatError, match="this is a Git LFS pointer, not the data") as err:
        ingest_trace(trace, raw, tmp_path / "store", **reader_input(trace)[1])
    assert main.name in str(err.value)


@pytest.mark.parametrize("trace", NEW_READERS)
def test_gzip_content_is_read_and_its_checksum_checked(
    trace: str, tmp_path: Path, raw_copy: Callable, reader_input: Callable
) -> None:
    options = reader_input(trace)[1]
    raw = raw_copy(trace)
    plain = ingest_trace(trace, raw, tmp_path / "plain", **options)
    main = _main_file(trace, raw)
    packed = gzip.compress(main.read_bytes(), mtime=0)
    main.write_bytes(packed)
    assert ingest_trace(trace, raw, tmp_path / "gz", **options) == plain
    # One flipped byte in the compressed data: an error naming the file, never other values.
    damaged = bytearray(packed)
    damaged[len(damaged) // 2] ^= 0xFF
    main.write_bytes(bytes(damaged))
    with pytest.raises(TraceFormatError, match="corrupt compressed data") as err:
        ingest_trace(trace, raw, tmp_path / "bad", **options)
    assert main.name in str(err.value)


@pytest.mark.parametrize("trace", ["openb", "acme"])
def test_the_same_file_twice_is_refused(trace: str, tmp_path: Path, raw_copy: Callable) -> None:
    raw = raw_copy(trace)
    main = _main_file(trace, raw)
    (raw / "backup").mkdir()
    (raw / "backup" / main.name).write_bytes(main.read_bytes())
    with pytest.raises(TraceFormatError, match="found twice") as err:
        ingest_trace(trace, raw, tmp_path / "store")
    assert "backup" in str(err.value)
