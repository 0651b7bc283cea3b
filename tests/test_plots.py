"""Figures build from the analysis frames, with the shared theme and the papers' axis types."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import pytest

from tracekit import plots
from tracekit.analysis import arrivals, failures, findings, jobs, queueing, users, utilization
from tracekit.analysis._synth import helios_like_capacity, helios_like_jobs


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return helios_like_jobs(3000, seed=5)


def _theme(fig: go.Figure) -> None:
    assert fig.layout.template.layout.font.family == plots.TEMPLATE.layout.font.family


def test_duration_cdf_uses_log_x_and_percent_y(sample: pl.DataFrame) -> None:
    fig = plots.duration_cdf(jobs.duration_cdf(sample))
    _theme(fig)
    assert fig.layout.xaxis.type == "log"
    assert len(fig.data) == sample["cluster"].n_unique()
    assert max(max(t.y) for t in fig.data) <= 100.0 + 1e-9


def test_size_shares_bars_per_cluster(sample: pl.DataFrame) -> None:
    fig = plots.size_shares(jobs.size_pmf(sample, scheme="helios"))
    _theme(fig)
    assert all(isinstance(t, go.Bar) for t in fig.data)
    assert fig.layout.xaxis.type == "category"
    assert len(fig.data) == 2 * sample["cluster"].n_unique()


def test_lorenz_and_top_share(sample: pl.DataFrame) -> None:
    fig = plots.lorenz(users.lorenz_curve(sample))
    assert fig.data[-1].name == "equal"
    assert list(fig.layout.xaxis.range) == [0, 1]
    top = plots.top_share(users.top_share(sample))
    assert top.layout.xaxis.type == "log"


def test_heatmap_has_weekday_rows(sample: pl.DataFrame) -> None:
    hw = arrivals.hour_weekday(sample.filter(pl.col("cluster") == "Venus"))
    fig = plots.hour_weekday_heatmap(hw)
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap)
    assert len(heat.z) == 7 and len(heat.z[0]) == 24
    assert heat.y[0] == "Mon"


def test_profiles_status_and_allocation(sample: pl.DataFrame) -> None:
    fig = plots.hourly_profile(arrivals.by_hour(sample))
    assert fig.layout.xaxis.title.text == "local hour"
    st = plots.status_bars(failures.status_shares(sample))
    assert st.layout.barmode == "stack"
    assert [t.name for t in st.data] == ["completed", "canceled", "failed", "censored"]
    series = utilization.allocation_series(sample, helios_like_capacity(), freq="1d")
    ts = plots.allocation_timeseries(series)
    assert ts.layout.xaxis.type == "linear" and len(ts.data) == 4
    q = plots.queue_cdf(queueing.queue_cdf(sample, scheme="philly"), color="size_bucket")
    assert q.layout.xaxis.type == "log" and len(q.data) == 4


def test_util_cdf_linear_axis_and_facets() -> None:
    df = pl.DataFrame({
        "status": ["completed"] * 2 + ["canceled"] * 2, "num_gpus": [1.0] * 4,
        "util_pct": [0.0, 100.0] * 2, "cdf": [0.3, 1.0, 0.5, 1.0], "n": [10] * 4,
    })
    fig = plots.util_cdf(df)
    assert fig.layout.xaxis.type == "linear" and fig.layout.xaxis2.type == "linear"
    assert len(fig.data) == 2


def test_findings_table_figure_colours_rows() -> None:
    df = pl.DataFrame({
        "finding_id": ["H7", "H8"], "cluster": ["Venus", "Venus"], "metric": ["a", "b"],
        "published": [1.0, 2.0], "unit": ["%", "%"], "source": ["ART", "VEC"],
        "measured": [1.0, None], "tolerance": [1.0, 1.0], "agreement": ["agree", "n/a"],
    }).cast({"measured": pl.Float64})
    fig = plots.findings(df)
    tab = fig.data[0]
    assert isinstance(tab, go.Table)
    assert list(tab.cells.fill.color[0]) == [
        plots.AGREEMENT_COLORS["agree"], plots.AGREEMENT_COLORS["n/a"]]
    assert list(tab.header.values)[0] == "finding_id"
    assert findings.COLUMNS["agreement"] == pl.String
