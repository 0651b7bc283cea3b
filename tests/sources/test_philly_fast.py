"""Philly fast paths: the vectorised util block parser and the numpy per-minute join must give
exactly what the line-level parser and the polars as-of join give; the read-back join (util file
before the job log) must give what the in-memory one gives."""

from __future__ import annotations

import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tracekit.quality import QualityCounter
from tracekit.sources import philly
from tracekit.sources.philly._gpu_block import parse_gpu_block
from tracekit.sources.philly._join_index import JoinIndex
from tracekit.store import open_store

RAW = Path(__file__).parents[1] / "fixtures" / "philly" / "trace-data"
KEYS = ["time", "machine_id", "gpu"]


def exact(data: bytes) -> tuple[pl.DataFrame, dict[str, int]]:
    lines = pl.Series("line", data.decode().split("\n"))
    df = pl.DataFrame({"line": lines}).with_row_index("lineno", offset=2)
    qc = QualityCounter()
    return philly._gpu_chunk(df, "x", qc), qc.nonzero()


def fast(data: bytes) -> tuple[pl.DataFrame | None, dict[str, int]]:
    qc = QualityCounter()
    return parse_gpu_block(data, qc), qc.nonzero()


def fixture_rows() -> list[bytes]:
    text = (RAW / philly.GPU_UTIL).read_bytes().rstrip(b"\n")
    return text.split(b"\n")[1:]


def test_block_parser_matches_exact_path_on_fixture() -> None:
    clean = b"\n".join(r for r in fixture_rows() if b",," not in r)  # incl. the glued DST row
    got, got_q = fast(clean)
    want, want_q = exact(clean)
    assert got is not None
    assert got.sort(KEYS).equals(want.sort(KEYS))
    assert got_q == want_q and got_q["philly.gpu_util_glued_dst_row"] == 1


@pytest.mark.parametrize("row", [
    b"2017-11-27 00:04:00 PST,m29,0.0,,100.0,",  # empty value: counted by the exact path
    b"2017-11-27 00:04:00 PST,m29,0.0,abc,",  # not a number: the exact path names the line
    b"2017-11-27 00:04:00 XYZ,m29,0.0,1.0,",  # bad suffix
    b"2017-11-27 00:04:00 PST,m29,0.0,1.0,\r",  # CRLF
    b"",  # blank line
])
def test_block_parser_falls_back_on_unusual_rows(row: bytes) -> None:
    block = b"\n".join([fixture_rows()[0], row, fixture_rows()[1]])
    assert fast(block)[0] is None


def test_block_parser_matches_exact_path_on_random_rows() -> None:
    rng = np.random.default_rng(5)
    base = datetime(2017, 11, 5, 0, 50)
    lines = []
    for i in range(400):
        t = base + timedelta(minutes=int(i // 4))
        sfx = " PDT" if t.hour < 2 else " PST"
        k = int(rng.choice([0, 1, 2, 8, 9, 16]))
        vals = [philly.UTIL_NA if rng.random() < 0.2 else f"{rng.random() * 100:.3f}"
                for _ in range(k)]
        tail = "," if rng.random() < 0.8 else ""
        lines.append(f"{t:%Y-%m-%d %H:%M:%S}{sfx},m{i % 7}," + ",".join(vals) + tail
                     if vals else f"{t:%Y-%m-%d %H:%M:%S}{sfx},m{i % 7}" + tail)
    data = "\n".join(lines).encode()
    got, got_q = fast(data)
    want, want_q = exact(data)
    assert got is not None
    assert got.sort(KEYS, maintain_order=True).equals(want.sort(KEYS, maintain_order=True))
    assert got_q == want_q
    assert got_q["philly.gpu_util_glued_dst_row"] > 0 and got_q["philly.gpu_util_extra_values"] > 0


def random_attempts(rng: np.random.Generator, n: int) -> pl.DataFrame:
    t0 = datetime(2017, 10, 3, 7, 0, tzinfo=UTC)
    rows = []
    for i in range(n):
        start = t0 + timedelta(seconds=int(rng.integers(0, 4 * 3600)))
        end = None if rng.random() < 0.1 else start + timedelta(seconds=int(rng.integers(1, 5400)))
        gpus = [f"m{rng.integers(0, 4)}/gpu{g}" for g in rng.choice(8, rng.integers(1, 4), False)]
        rows.append({"job_id": f"j{i // 2}", "attempt": i % 2, "start_time": start,
                     "end_time": end, "gpus": gpus})
    rows.append({"job_id": "nostart", "attempt": 0, "start_time": None, "end_time": None,
                 "gpus": ["m0/gpu0"]})
    return pl.DataFrame(rows, schema_overrides={"attempt": pl.Int32,
                                                "start_time": pl.Datetime("us", "UTC"),
                                                "end_time": pl.Datetime("us", "UTC")})


def random_util(rng: np.random.Generator) -> pl.DataFrame:
    t0 = datetime(2017, 10, 3, 7, 0, tzinfo=UTC)
    minutes = pl.datetime_range(t0, t0 + timedelta(hours=6), "1m", eager=True,
                                time_zone="UTC")
    grid = pl.DataFrame({"time": minutes}).join(
        pl.DataFrame({"machine_id": [f"m{i}" for i in range(5)]}), how="cross").join(
        pl.DataFrame({"gpu": pl.Series(range(8), dtype=pl.Int8)}), how="cross")
    util = pl.Series(rng.random(grid.height) * 100, dtype=pl.Float32)
    util = pl.select(pl.when(pl.Series(rng.random(grid.height) < 0.1)).then(None)
                     .otherwise(util)).to_series()
    return grid.with_columns(util.alias("util")).sample(fraction=1.0, shuffle=True, seed=3)


@pytest.mark.parametrize("offset_s", [0, 30])  # whole minutes: dense table; else: search
def test_join_index_matches_asof_join(offset_s: int) -> None:
    rng = np.random.default_rng(11)
    attempts, util = random_attempts(rng, 300), random_util(rng)
    util = util.with_columns(pl.col("time") + timedelta(seconds=offset_s))
    qc_a, qc_b = QualityCounter(), QualityCounter()
    iv = philly.gpu_intervals(attempts, qc_a)
    want = philly.join_job_minutes(util, iv, philly.shared_segments(iv))
    index = JoinIndex(attempts, qc_b)
    got = pl.concat([index.match(part) for part in util.iter_slices(5_000)])
    keys = ["job_id", "attempt", "time", "machine_id", "gpu"]
    assert want.height > 1000 and want["shared_server"].any()
    assert got.sort(keys).equals(want.sort(keys))
    assert qc_a.counts == qc_b.counts and qc_a.counts["philly.gpu_double_booked"] > 0
    means = index.util_means().sort("job_id")
    ref = want.group_by("job_id").agg(pl.col("util").cast(pl.Float64).mean()).sort("job_id")
    assert means["job_id"].to_list() == ref["job_id"].to_list()
    assert np.allclose(means["util_sum"] / means["util_n"], ref["util"])


def test_join_index_without_placed_attempts() -> None:
    attempts = random_attempts(np.random.default_rng(1), 0)  # only the attempt without start
    index = JoinIndex(attempts)
    out = index.match(random_util(np.random.default_rng(2)).head(100))
    assert out.height == 0 and index.util_means().height == 0


def test_util_before_job_log_reads_back(tmp_path: Path) -> None:
    tar = tmp_path / philly.ARCHIVE_NAME
    with tarfile.open(tar, "w:gz") as tf:  # util files first: the join must read gpu_util back
        for name in reversed(philly.FILE_NAMES):
            tf.add(RAW / name, arcname=f"{philly.ARCHIVE_DIR}/{name}")
    rows_a = philly.ingest(tar, tmp_path / "a")
    rows_b = philly.ingest(RAW, tmp_path / "b")
    assert rows_a == rows_b and rows_a["philly"]["job_gpu_minutes"] > 0
    a, b = open_store(tmp_path / "a"), open_store(tmp_path / "b")
    for table, keys in (("job_gpu_minutes", ["job_id", "time", "gpu"]), ("jobs", ["job_id"])):
        assert a.scan(table).collect().sort(keys).equals(b.scan(table).collect().sort(keys))
