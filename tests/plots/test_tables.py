"""Tables render as complete, formatted HTML (never truncated), findings coloured by verdict."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from tracekit import plots


def test_table_is_complete_and_formatted() -> None:
    df = pl.DataFrame({"cluster": [f"c{i}" for i in range(40)],
                       "mean_s": [1234.56789 + i for i in range(40)],
                       "n_jobs": [1_000_000 + i for i in range(40)]})
    html = plots.table(df, title="Forty rows").as_raw_html()
    assert html.count("<tr") >= 41  # header + every row: nothing is cut
    assert "c39" in html and "…" not in html
    assert "1,235" in html  # 4 significant digits with thousands separators
    assert "1,000,039" in html


def test_table_formats_datetimes_and_lists() -> None:
    df = pl.DataFrame({"first_submit": [datetime(2020, 4, 1, 8, 30)], "gpus": [["g0", "g1"]]})
    html = plots.table(df).as_raw_html()
    assert "2020-04-01 08:30" in html and "g0, g1" in html


def test_findings_rows_coloured_by_verdict_and_mark() -> None:
    df = pl.DataFrame({"finding_id": ["H7", "H8", "H9"], "cluster": ["Venus"] * 3,
                       "metric": ["a", "b", "c"], "published": [1.0, 2.0, 3.0],
                       "measured": [1.0, 5.0, None], "unit": ["%"] * 3,
                       "verdict": ["agree", "differs", "n/a"]})
    plots.mark_synthetic(True)
    try:
        html = plots.findings_table(df).as_raw_html()
    finally:
        plots.mark_synthetic(False)
    assert plots.VERDICT_COLORS["agree"] in html and plots.VERDICT_COLORS["differs"] in html
    assert plots.SYNTHETIC_TEXT in html


def test_table_subtitle_names_real_traces() -> None:
    plots.mark_data(synthetic=True, real=["openb"])
    try:
        html = plots.table(pl.DataFrame({"a": [1]}), title="t").as_raw_html()
    finally:
        plots.mark_data()
    assert plots.SYNTHETIC_TEXT in html and f"{plots.REAL_TEXT}: openb" in html
