"""Charts built from the analysis frames: date axes, short legends, human titles, the mark."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import plotly.graph_objects as go
import polars as pl
import pytest

from tracekit import plots
from tracekit.analysis import arrivals, failures, jobs, users, utilization
from tracekit.analysis._synth import helios_like_capacity, helios_like_jobs


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return helios_like_jobs(3000, seed=5)


@pytest.fixture(autouse=True)
def unmarked() -> Iterator[None]:
    plots.mark_synthetic(False)
    yield
    plots.mark_synthetic(False)


def test_duration_cdf_log_x_percent_y_and_theme(sample: pl.DataFrame) -> None:
    fig = plots.duration_cdf(jobs.duration_cdf(sample))
    assert fig.layout.template.layout.font.family == plots.TEMPLATE.layout.font.family
    assert fig.layout.xaxis.type == "log"
    assert len(fig.data) == sample["cluster"].n_unique()
    assert max(max(t.y) for t in fig.data) <= 100.0 + 1e-9
    assert fig.layout.xaxis.title.text == "duration (s, log scale)"


def test_datetime_x_is_drawn_on_a_date_axis(sample: pl.DataFrame) -> None:
    series = utilization.allocation_series(sample, helios_like_capacity(), freq="1d")
    fig = plots.allocation_timeseries(series)
    assert fig.layout.xaxis.type == "date"
    monthly = arrivals.by_month(sample)
    assert monthly.schema["month"] == pl.Date
    assert plots.lines(monthly, "month", "n_jobs", "cluster").layout.xaxis.type == "date"


def test_many_groups_become_panels_not_a_long_legend(sample: pl.DataFrame) -> None:
    by_size = jobs.duration_cdf_by_size(sample, scheme="philly")
    n_groups = by_size.select("cluster", "size_bucket").unique().height
    assert n_groups > plots.MAX_LEGEND
    fig = plots.duration_cdf(by_size, color=["cluster", "size_bucket"])
    legend = {t.name for t in fig.data if t.showlegend}
    assert len(legend) <= plots.MAX_LEGEND
    assert len(fig.layout.annotations) == sample["cluster"].n_unique()  # one title per panel
    assert all(ax.type == "log" for ax in (fig.layout.xaxis, fig.layout.xaxis2))


def test_bars_stay_linear_when_values_are_close() -> None:
    close = pl.DataFrame({"policy": ["fifo", "sjf", "qssf"], "jct_mean_s": [13430.5, 13431.0,
                                                                            13430.9]})
    assert plots.bars(close, "policy", "jct_mean_s").layout.yaxis.type == "linear"
    wide = close.with_columns(pl.Series("jct_mean_s", [10.0, 5000.0, 90000.0]))
    assert plots.bars(wide, "policy", "jct_mean_s").layout.yaxis.type == "log"
    assert plots.bars(close, "policy", "jct_mean_s").layout.yaxis.title.text == "mean JCT (s)"


def test_float_categories_read_as_numbers() -> None:
    df = pl.DataFrame({"threshold_pct": [0.1 + 0.2, 25.0, 50.0], "share": [0.1, 0.5, 0.7]})
    fig = plots.bars(df, "threshold_pct", "share", percent_y=True)
    assert list(fig.data[0].x) == ["0.3", "25", "50"]
    assert fig.data[0].y[1] == pytest.approx(50.0)
    assert fig.layout.xaxis.title.text == "error threshold (% of true duration)"


def test_synthetic_mark_is_in_every_figure(sample: pl.DataFrame) -> None:
    plots.mark_synthetic(True)
    figs = [
        plots.status_bars(failures.status_shares(sample)),
        plots.lorenz(users.lorenz_curve(sample)),
        plots.hour_weekday_heatmap(arrivals.hour_weekday(sample.filter(
            pl.col("cluster") == "Venus"))),
    ]
    for fig in figs:
        assert fig.layout.title.subtitle.text == plots.SYNTHETIC_TEXT
    plots.mark_synthetic(False)
    assert not plots.status_bars(failures.status_shares(sample)).layout.title.subtitle.text


def test_status_bars_stack_in_status_order(sample: pl.DataFrame) -> None:
    st = plots.status_bars(failures.status_shares(sample), "gpu_time_share")
    assert st.layout.barmode == "stack"
    assert [t.name for t in st.data] == ["completed", "canceled", "failed", "censored"]
    assert st.layout.yaxis.title.text == "share of GPU time (%)"


def test_size_shares_panels_and_box() -> None:
    pmf = pl.DataFrame({"cluster": ["A", "A", "B", "B"], "size_bucket": ["1", "2-4"] * 2,
                        "job_share": [0.8, 0.2, 0.6, 0.4],
                        "gpu_time_share": [0.1, 0.9, 0.3, 0.7]})
    fig = plots.size_shares(pmf)
    assert len(fig.data) == 4 and all(isinstance(t, go.Bar) for t in fig.data)
    assert [t.showlegend for t in fig.data] == [True, True, False, False]
    util = pl.DataFrame({"vc": ["a"] * 3 + ["b"] * 3, "util": [0.1, 0.2, 0.3, 0.5, 0.6, 0.9],
                         "time": [date(2020, 5, d) for d in (1, 2, 3)] * 2})
    box = plots.box(util, "vc", "util", percent_y=True)
    assert isinstance(box.data[0], go.Box) and max(box.data[0].y) == pytest.approx(90.0)


def test_facet_key_leaves_the_legend() -> None:
    df = pl.DataFrame({
        "status": [s for s in ("Pass", "Failed", "Killed") for _ in range(8)],
        "num_gpus": [float(g) for _ in range(3) for g in (1, 1, 4, 4, 8, 8, 16, 16)],
        "util_pct": [0.0, 100.0] * 12, "cdf": [0.3, 1.0] * 12,
    })  # fmt: skip
    fig = plots.util_cdf(df)
    assert {t.name for t in fig.data} == {"1", "4", "8", "16"}
    assert fig.layout.legend.title.text == "GPUs"
    assert fig.layout.xaxis.type == "linear" and fig.layout.xaxis3.type == "linear"


def test_real_and_mixed_data_marks(sample: pl.DataFrame) -> None:
    plots.mark_data(real=["openb"])
    fig = plots.status_bars(failures.status_shares(sample))
    assert fig.layout.title.subtitle.text == f"{plots.REAL_TEXT}: openb"
    plots.mark_data(synthetic=["helios", "acme"], real=["openb"])
    fig = plots.lorenz(users.lorenz_curve(sample))
    assert fig.layout.title.subtitle.text == f"{plots.SYNTHETIC_TEXT} · {plots.REAL_TEXT}: openb"
    plots.mark_data()
    assert not plots.lorenz(users.lorenz_curve(sample)).layout.title.subtitle.text


def test_treemap_nests_by_path_and_lets_plotly_sum_parents() -> None:
    df = pl.DataFrame({"cluster": ["Seren", "Seren", "Kalos"],
                       "workload": ["Pretrain", "Eval", "Pretrain"],
                       "gpu_time_s": [900.0, 100.0, 50.0]})
    fig = plots.treemap(df, ["cluster", "workload"], "gpu_time_s", title="GPU time")
    [tm] = fig.data
    assert list(tm.ids) == ["Seren", "Seren / Pretrain", "Seren / Eval", "Kalos",
                            "Kalos / Pretrain"]
    assert list(tm.parents) == ["", "Seren", "Seren", "", "Kalos"]
    # parents carry nothing of their own: their area is the sum of their children
    assert list(tm.values) == [0.0, 900.0, 100.0, 0.0, 50.0] and tm.branchvalues == "remainder"
    assert fig.layout.title.text == "GPU time"
