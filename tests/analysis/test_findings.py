"""findings_table on a tiny store: rows only for present traces/clusters, measured values,
agreement verdicts, n/a when a table is missing; provenance and the synthetic generator."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as hs

from tracekit import begin, open_store
from tracekit.analysis import findings_table, summary
from tracekit.analysis._synth import helios_like_capacity, helios_like_jobs
from tracekit.analysis.findings import (
    COLUMNS,
    MEASURES,
    SECTIONS,
    TRACE_MODULES,
    agreement,
    published_series,
    published_table,
    published_value,
    source_tags,
)
from tracekit.analysis.findings._published import _validate
from tracekit.errors import TraceFormatError
from tracekit.schema import SCHEMAS

T0 = datetime(2020, 6, 1, tzinfo=UTC)


def conform(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """Add the missing store columns of ``table`` as nulls."""
    schema = pl.from_arrow(SCHEMAS[table].empty_table()).schema
    return df.with_columns(
        [pl.lit(None, dtype=dt).alias(c) for c, dt in schema.items() if c not in df.columns]
    ).select([pl.col(c).cast(dt) for c, dt in schema.items()])


def venus_jobs() -> pl.DataFrame:
    # 4 GPU jobs: completed 1 GPU x 100 s, completed 1 x 300 s, canceled 8 x 1000 s,
    # failed 2 x 50 s, plus one CPU job; users u1 (3 jobs), u2 (2 jobs).
    n = 5
    return pl.DataFrame(
        {
            "job_id": [str(i) for i in range(n)],
            "user": ["u1", "u1", "u2", "u1", "u2"],
            "vc": "vc1",
            "submit_time": [T0 + timedelta(hours=3 * i) for i in range(n)],
            "start_time": [T0 + timedelta(hours=3 * i) for i in range(n)],
            "end_time": [
                T0 + timedelta(hours=3 * i, seconds=d)
                for i, d in enumerate([100, 300, 1000, 50, 5])
            ],
            "queue_s": [0.0, 0.0, 30.0, 0.0, 0.0],
            "duration_s": [100.0, 300.0, 1000.0, 50.0, 5.0],
            "num_gpus": [1.0, 1.0, 8.0, 2.0, 0.0],
            "status": ["completed", "completed", "canceled", "failed", "completed"],
        }
    ).with_columns(
        (pl.col("num_gpus") * pl.col("duration_s")).alias("gpu_time_s"),
        pl.col("status").alias("raw_status"),
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store")
    with begin(path, "helios") as tx:
        tx.write("jobs", "Venus", conform("jobs", venus_jobs()))
        tx.write(
            "capacity",
            "Venus",
            pl.DataFrame(
                {
                    "date": [date(2020, 6, 1), date(2020, 6, 2)],
                    "vc": ["vc1", "vc1"],
                    "num_gpus": [16.0, 16.0],
                }
            ),
        )
        tx.set_meta("Venus", synthetic=True)
    return path


def test_agreement_ratio_scale() -> None:
    # agree within 1 + tolerance, close up to 1.5x, differs beyond (either direction)
    assert agreement(110.0, 100.0, 0.2, "s") == "agree"
    assert agreement(100.0, 120.0, 0.2, "s") == "agree"
    assert agreement(140.0, 100.0, 0.2, "s") == "close"
    assert agreement(100.0, 149.0, 0.2, "s") == "close"
    assert agreement(151.0, 100.0, 0.2, "s") == "differs"
    assert agreement(100.0, 151.0, 0.2, "s") == "differs"
    assert agreement(0.0, 100.0, 0.2, "s") == "differs"
    assert agreement(None, 20.0, 0.2, "s") == "n/a"
    assert agreement(5.0, None, 0.2, "s") == "n/a"


def test_agreement_difference_scale() -> None:
    # percentages and clock hours by difference: close up to 1.5x the tolerance
    assert agreement(10.0, 12.0, 3.0, "%") == "agree"
    assert agreement(10.0, 14.0, 3.0, "%") == "close"
    assert agreement(10.0, 14.6, 3.0, "%") == "differs"
    assert agreement(5.0, 8.0, 1.0, "local hour") == "differs"
    # a published 0 is compared by difference in its unit (no ratio exists)
    assert agreement(0.0, 0.0, 1.0, "s") == "agree"
    assert agreement(30.0, 0.0, 1.0, "s") == "differs"


@given(m=hs.floats(0.001, 1e6), p=hs.floats(0.001, 1e6), tol=hs.floats(0.0, 0.5))
def test_no_agree_or_close_beyond_one_and_a_half(m: float, p: float, tol: float) -> None:
    verdict = agreement(m, p, tol, "s")
    if max(m / p, p / m) > 1.5:
        assert verdict == "differs"
    else:
        assert verdict in ("agree", "close")


@given(m=hs.floats(0, 100), p=hs.floats(0, 100), tol=hs.floats(0.1, 10))
def test_no_agree_or_close_beyond_one_and_a_half_tolerances(m: float, p: float, tol: float) -> None:
    verdict = agreement(m, p, tol, "%")
    assert (verdict == "differs") == (abs(m - p) > 1.5 * tol)


def test_published_rows_are_complete_and_measurable() -> None:
    pub = published_table()
    assert set(pub["trace"]) == set(TRACE_MODULES)
    rows = pub.filter(pl.col("level") != "fact")
    # every named measure is registered; every unmeasurable headline row says why
    assert set(rows["measure"].unique()) - {""} <= set(MEASURES)
    silent = rows.filter((pl.col("measure") == "") & (pl.col("level") == "headline"))
    assert (silent["note"].str.len_chars() > 0).all()
    assert (rows["reference"].str.len_chars() > 0).all()
    assert set(pub["source"]) <= set(source_tags()["source"])
    for fid in (
        "P1",
        "P2",
        "P3",
        "P4",
        "P5",
        "P6",
        "P7",
        "P8",
        "P9",
        "P10",
        "P12",
        "H1",
        "H3",
        "H4",
        "H10",
        "H12",
        "H14",
        "H15",
        "H19",
        "H20",
        "H22",
        "A2",
        "A5",
        "A6b",
        "A6c",
        "A7",
        "A8",
        "A9",
        "A10",
        "A12",
        "A14",
    ):
        assert fid in set(rows["id"]), fid
    for section in SECTIONS.values():
        assert set(section) <= set(rows["id"])


def test_published_values_and_series_read_the_csv() -> None:
    assert published_value("helios", "H10", "Venus", "queue_stat_s", stat="mean_s") == 1253.0
    cdf = published_series("helios", "H1b", "Earth", "at")
    assert cdf.height == 22 and cdf["at"][0] == 1.0 and cdf["published"][-1] == 100.0
    with pytest.raises(KeyError):
        published_value("helios", "H10", "Venus", "queue_stat_s", stat="nope")


def test_ratio_tolerance_beyond_the_close_band_is_rejected() -> None:
    bad = (
        published_table("philly")
        .head(1)
        .with_columns(
            pl.lit("s").alias("unit"),
            pl.lit(0.8).alias("tolerance"),
            pl.lit(10.0).alias("published"),
        )
    )
    with pytest.raises(TraceFormatError, match="ratio tolerance"):
        _validate(bad, "philly.csv")


def test_findings_table_measures_present_clusters_only(store: Path) -> None:
    st = open_store(store)
    ft = findings_table(st)
    assert dict(ft.schema) == COLUMNS
    assert set(ft["trace"]) == {"helios"}
    assert set(ft["cluster"]) <= {"Venus", "all"}

    def measured(fid: str, metric: str, cluster: str = "Venus") -> float:
        row = ft.filter(
            (pl.col("finding_id") == fid)
            & (pl.col("metric") == metric)
            & (pl.col("cluster") == cluster)
        )
        assert row.height == 1, (fid, metric)
        return row["measured"][0]

    assert measured("H7", "completed share of GPU jobs") == pytest.approx(50.0)
    assert measured("H8", "canceled share of GPU time") == pytest.approx(100 * 8000 / 8500)
    assert measured("H1", "median GPU-job duration") == pytest.approx(200.0)
    assert measured("H3", "1-GPU share of GPU jobs") == pytest.approx(50.0)
    assert measured("H5", "mean GPUs per GPU job", "all") == pytest.approx(3.0)
    assert measured("H10", "median GPU-job queue") == 0.0
    assert measured("H2", "median CPU-job duration") == pytest.approx(5.0)
    # Allocation over the 2-day capacity window: 8500 GPU-s occupy whole minutes.
    assert measured("H15", "mean allocation utilization") > 0
    h10 = ft.filter(
        (pl.col("finding_id") == "H10")
        & (pl.col("metric") == "median GPU-job queue")
        & (pl.col("cluster") == "Venus")
    )
    assert h10["agreement"][0] == "agree"
    assert set(ft["agreement"]) <= {"agree", "close", "differs", "n/a"}
    assert set(ft["data"]) == {"synthetic"}
    assert (ft["reference"].str.len_chars() > 0).all()
    assert findings_table(st, traces="philly").height == 0
    assert set(findings_table(st, ids=["H7"])["finding_id"]) == {"H7"}


def test_findings_table_reads_a_saved_table(store: Path, tmp_path: Path) -> None:
    st = open_store(store)
    ft = findings_table(st)
    ft.write_csv(tmp_path / "findings.csv")
    # the folder or the file; the same rows and values as measured, without measuring again
    for saved in (tmp_path, tmp_path / "findings.csv"):
        again = findings_table(st, saved=saved)
        assert again.select("finding_id", "metric", "cluster", "agreement").equals(
            ft.select("finding_id", "metric", "cluster", "agreement")
        )
        assert again["measured"].to_list() == pytest.approx(ft["measured"].to_list(), nan_ok=True)
    assert set(findings_table(st, ids=["H7"], saved=tmp_path)["finding_id"]) == {"H7"}
    assert findings_table(st, traces="philly", saved=tmp_path).height == 0
    # a marked table proves the rows come from the file
    ft.with_columns(pl.lit("from the file").alias("note")).write_csv(tmp_path / "findings.csv")
    assert set(findings_table(st, saved=tmp_path)["note"]) == {"from the file"}
    assert "from the file" not in set(findings_table(st, saved=tmp_path, detail=True)["note"])
    assert findings_table(st, saved=tmp_path / "none.csv").height == ft.height


def test_findings_table_philly_without_util_tables_is_na(tmp_path: Path) -> None:
    jobs = venus_jobs().with_columns(pl.lit(1, dtype=pl.Int32).alias("num_attempts"))
    with begin(tmp_path, "philly") as tx:
        tx.write("jobs", "philly", conform("jobs", jobs))
    ft = findings_table(open_store(tmp_path))
    p7 = ft.filter(pl.col("finding_id") == "P7")
    assert p7.height > 0 and set(p7["agreement"]) == {"n/a"}
    p6 = ft.filter((pl.col("finding_id") == "P6") & (pl.col("metric") == "failed share of jobs"))
    assert p6["measured"][0] == pytest.approx(25.0)
    p11 = ft.filter(pl.col("finding_id") == "P11")
    assert p11["measured"][0] == 0.0 and p11["agreement"][0] == "n/a"


def test_p1_reads_long_jobs_by_size(tmp_path: Path) -> None:
    # P1 filters jobs of >= 1 h with 1/2/4/8 GPUs; sizes are floats in the store.
    jobs = (
        venus_jobs()
        .with_columns(
            pl.Series("duration_s", [4000.0, 7200.0, 3600.0, 5000.0, 9000.0]),
            pl.Series("num_gpus", [1.0, 1.0, 8.0, 2.0, 0.0]),
            pl.lit(1, dtype=pl.Int32).alias("num_attempts"),
        )
        .with_columns((pl.col("num_gpus") * pl.col("duration_s")).alias("gpu_time_s"))
    )
    with begin(tmp_path, "philly") as tx:
        tx.write("jobs", "philly", conform("jobs", jobs))
    ft = findings_table(open_store(tmp_path), ids=["P1"], detail=True)
    got = dict(zip(ft["metric"], ft["measured"], strict=True))
    assert got["1-GPU share of jobs >= 1 h"] == pytest.approx(50.0)
    assert got["8-GPU share of GPU time (jobs >= 1 h)"] == pytest.approx(
        100 * 8 * 3600 / (4000 + 7200 + 8 * 3600 + 2 * 5000)
    )
    assert set(ft["data"]) == {"real"}


def test_provenance_flags_synthetic(store: Path) -> None:
    st = open_store(store)
    prov = summary.provenance(st)
    assert prov["synthetic"].to_list() == [True] and prov["jobs_rows"][0] == 5
    assert st.is_synthetic()


def test_synthetic_generator_is_seeded_and_in_schema() -> None:
    a = helios_like_jobs(2000, seed=3)
    b = helios_like_jobs(2000, seed=3)
    assert a.equals(b)
    assert a.columns[2:] == SCHEMAS["jobs"].names
    assert set(a["cluster"]) <= {"Venus", "Earth", "Saturn", "Uranus"}
    cap = helios_like_capacity()
    assert cap.filter(pl.col("cluster") == "Venus")["date"].n_unique() == 181
