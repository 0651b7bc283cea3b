"""The headless-Chromium check: a figure passes only when it draws data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import plotly.graph_objects as go

from tracekit.reports import check_pages, export_page, write_assets


def test_empty_and_undrawable_figures_fail(
    chromium: str, figure_notebook: Callable[..., Path], tmp_path: Path
) -> None:
    days = [datetime(2020, 5, d) for d in (1, 2, 3)]
    figures = [
        go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 4, 2]), layout={"title": {"text": "line"}}),
        go.Figure(go.Bar(x=["a", "b"], y=[3, 5]), layout={"title": {"text": "bars"}}),
        go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]), layout={"title": {"text": "heatmap"}}),
        go.Figure(layout={"title": {"text": "no trace"}}),
        go.Figure(go.Scatter(x=[], y=[]), layout={"title": {"text": "empty trace"}}),
        go.Figure(go.Scatter(x=[1], y=[1]), layout={"title": {"text": "one point"}}),
        # the blank-chart bug: datetimes forced onto a linear axis draw nothing
        go.Figure(go.Scatter(x=days, y=[1, 2, 3]), layout={
            "title": {"text": "dates on a linear axis"}, "xaxis": {"type": "linear"}}),
        go.Figure(go.Scatter(x=days, y=[1, 2, 3]),
                  layout={"title": {"text": "dates on a date axis"}, "xaxis": {"type": "date"}}),
        go.Figure(go.Treemap(ids=["a", "a/x", "a/y"], labels=["a", "x", "y"],
                             parents=["", "a", "a"], values=[0, 2, 3]),
                  layout={"title": {"text": "treemap"}}),
        go.Figure(go.Treemap(ids=["a"], labels=["a"], parents=[""], values=[0]),
                  layout={"title": {"text": "empty treemap"}}),
    ]  # fmt: skip
    write_assets(tmp_path)
    page = export_page(figure_notebook(figures), tmp_path / "figs.html", synthetic=False)
    checks = check_pages([page], chromium=chromium)
    drawn = {c.title: c.draws_data for c in checks}
    assert drawn == {
        "line": True, "bars": True, "heatmap": True, "no trace": False, "empty trace": False,
        "one point": False, "dates on a linear axis": False, "dates on a date axis": True,
        "treemap": True, "empty treemap": False,
    }  # fmt: skip
