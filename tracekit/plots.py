"""Plotly figures for the tidy frames of :mod:`tracekit.analysis`.

One theme (:data:`TEMPLATE`, registered as the plotly template ``"tracekit"``) is applied to
every figure. The functions only reshape frames into traces — every number is computed by the
analysis functions. Log axes follow the papers (durations and delays on log2-spaced grids, shown
on log10 axes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly.subplots import make_subplots

PALETTE: tuple[str, ...] = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
)
STATUS_COLORS: dict[str, str] = {
    "completed": "#2ca02c", "canceled": "#ff7f0e", "failed": "#d62728", "censored": "#7f7f7f",
}
AGREEMENT_COLORS: dict[str, str] = {
    "agree": "#d8f0d2", "close": "#fdf2c4", "differs": "#f8d0cc", "n/a": "#eeeeee",
}
WEEKDAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": "Inter, Helvetica, Arial, sans-serif", "size": 13, "color": "#222"},
        title={"x": 0.02, "xanchor": "left", "font": {"size": 16}},
        colorway=list(PALETTE),
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis={"showgrid": True, "gridcolor": "#e6e6e6", "zeroline": False, "linecolor": "#444",
               "ticks": "outside", "showline": True},
        yaxis={"showgrid": True, "gridcolor": "#e6e6e6", "zeroline": False, "linecolor": "#444",
               "ticks": "outside", "showline": True},
        legend={"bgcolor": "rgba(255,255,255,0.8)", "borderwidth": 0},
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
        hovermode="closest",
    )
)
pio.templates["tracekit"] = TEMPLATE


def _finish(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(template="tracekit", title=title, height=height)
    return fig


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # GPU counts read better as "8" than "8.0"
    return str(v)


def _label(row: Sequence[Any]) -> str:
    return " / ".join(_fmt(v) for v in row)


def _groups(df: pl.DataFrame, cols: Sequence[str]) -> list[tuple[str, pl.DataFrame]]:
    """Split ``df`` by ``cols`` in order of first appearance (one entry per line)."""
    cols = [c for c in cols if c in df.columns]
    if not cols:
        return [("", df)]
    parts = df.partition_by(cols, maintain_order=True, as_dict=True)
    return [(_label(k), part) for k, part in parts.items()]


def lines(
    df: pl.DataFrame,
    x: str,
    y: str,
    color: Sequence[str] | str | None = None,
    facet: str | None = None,
    title: str = "",
    x_title: str | None = None,
    y_title: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    step: bool = False,
    percent_y: bool = False,
) -> go.Figure:
    """Line chart of ``y`` vs ``x``, one line per ``color`` group, one panel per ``facet``."""
    colors = [color] if isinstance(color, str) else list(color or [])
    panels = _groups(df, [facet]) if facet else [("", df)]
    fig = make_subplots(rows=1, cols=len(panels), shared_yaxes=True,
                        subplot_titles=[p[0] for p in panels] if facet else None,
                        horizontal_spacing=0.04)
    legend_seen: set[str] = set()
    color_of: dict[str, str] = {}
    for i, (_, panel) in enumerate(panels, start=1):
        for name, part in _groups(panel, colors):
            color_of.setdefault(name, STATUS_COLORS.get(name) or PALETTE[len(color_of)
                                                                           % len(PALETTE)])
            yv = part[y].to_list()
            if percent_y:
                yv = [None if v is None else 100.0 * v for v in yv]
            fig.add_trace(
                go.Scatter(
                    x=part[x].to_list(), y=yv, name=name or y, mode="lines",
                    line={"color": color_of[name], "shape": "hv" if step else "linear",
                          "width": 2},
                    legendgroup=name, showlegend=name not in legend_seen and bool(name),
                ),
                row=1, col=i,
            )
            legend_seen.add(name)
    fig.update_xaxes(type="log" if log_x else "linear", title_text=x_title or x)
    fig.update_yaxes(type="log" if log_y else "linear")
    fig.update_yaxes(title_text=y_title or y, row=1, col=1)
    return _finish(fig, title)


def cdf(
    df: pl.DataFrame,
    x: str,
    color: Sequence[str] | str | None = ("trace", "cluster"),
    facet: str | None = None,
    title: str = "",
    x_title: str | None = None,
    log_x: bool = True,
) -> go.Figure:
    """CDF (in %) from a grid-CDF frame (columns ``x`` and ``cdf``)."""
    fig = lines(df, x, "cdf", color, facet, title, x_title, "CDF (%)", log_x=log_x,
                percent_y=True)
    fig.update_yaxes(range=[0, 101])
    return fig


def duration_cdf(df: pl.DataFrame, color: Sequence[str] | str | None = ("trace", "cluster"),
                 title: str = "Job duration CDF") -> go.Figure:
    """Duration CDF (log x) from :func:`tracekit.analysis.jobs.duration_cdf` and friends."""
    return cdf(df, "duration_s", color, title=title, x_title="duration (s, log)")


def queue_cdf(df: pl.DataFrame, color: Sequence[str] | str | None = ("trace", "cluster"),
              title: str = "Queueing delay CDF", x: str = "queue_s") -> go.Figure:
    """Queueing-delay CDF (log x) from :func:`tracekit.analysis.queueing.queue_cdf`."""
    return cdf(df, x, color, title=title, x_title="queueing delay (s, log)")


def util_cdf(df: pl.DataFrame, color: Sequence[str] | str | None = ("status", "num_gpus"),
             facet: str | None = "status", title: str = "GPU utilization CDF") -> go.Figure:
    """Utilization CDF (linear x, %) from ``philly_gpu_util_cdf`` / ``host_util_cdf``."""
    return cdf(df, "util_pct", color, facet, title, "utilization (%)", log_x=False)


def size_shares(df: pl.DataFrame, facet: str = "cluster",
                title: str = "Jobs and GPU time by job size") -> go.Figure:
    """Grouped bars: share of jobs vs share of GPU time per size bucket (``size_pmf``)."""
    panels = _groups(df, [facet]) if facet in df.columns else [("", df)]
    fig = make_subplots(rows=1, cols=len(panels), shared_yaxes=True,
                        subplot_titles=[p[0] for p in panels], horizontal_spacing=0.04)
    for i, (_, part) in enumerate(panels, start=1):
        for col, name, colr in (("job_share", "jobs", PALETTE[0]),
                                ("gpu_time_share", "GPU time", PALETTE[1])):
            fig.add_trace(go.Bar(x=part["size_bucket"].to_list(),
                                 y=[100.0 * v for v in part[col].to_list()], name=name,
                                 marker_color=colr, legendgroup=name, showlegend=i == 1),
                          row=1, col=i)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", title_text="GPUs")
    fig.update_yaxes(title_text="share (%)", row=1, col=1)
    return _finish(fig, title)


def lorenz(df: pl.DataFrame, color: Sequence[str] | str | None = ("trace", "cluster"),
           title: str = "Concentration over users") -> go.Figure:
    """Share held by the top fraction of users (``users.lorenz_curve``), with the equality line."""
    fig = lines(df, "user_frac", "share", color, title=title,
                x_title="fraction of users (largest first)", y_title="cumulative share")
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="equal",
                             line={"dash": "dot", "color": "#999"}))
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.01])
    return fig


def top_share(df: pl.DataFrame, color: Sequence[str] | str | None = ("trace", "cluster"),
              title: str = "Share held by the top users") -> go.Figure:
    """Top-k % users' share (``users.top_share``), log x as in Helios Figs. 8-9."""
    fig = lines(df, "top_pct", "share_pct", color, title=title, x_title="top users (%, log)",
                y_title="share (%)", log_x=True)
    for tr in fig.data:
        tr.mode = "lines+markers"
    return fig


def hour_weekday_heatmap(df: pl.DataFrame, value: str = "jobs_per_hour",
                         title: str = "Submissions per hour (local time)") -> go.Figure:
    """Heatmap weekday x hour from ``arrivals.hour_weekday`` (one group)."""
    pivot = df.pivot(on="local_hour", index="local_weekday", values=value,
                     aggregate_function="sum").sort("local_weekday")
    hours = [c for c in pivot.columns if c != "local_weekday"]
    z = pivot.select(hours).rows()
    fig = go.Figure(go.Heatmap(
        z=z, x=[int(h) for h in hours],
        y=[WEEKDAY_NAMES[int(d) - 1] for d in pivot["local_weekday"].to_list()],
        colorscale="Viridis", colorbar={"title": value},
    ))
    fig.update_xaxes(title_text="local hour", dtick=2)
    fig.update_yaxes(autorange="reversed")
    return _finish(fig, title, height=360)


def hourly_profile(df: pl.DataFrame, y: str = "relative",
                   color: Sequence[str] | str | None = ("trace", "cluster"),
                   title: str = "Submissions by hour of day", y_title: str | None = None,
                   percent_y: bool = False) -> go.Figure:
    """Line per group over local hour (``arrivals.by_hour`` or ``allocation_profile``)."""
    fig = lines(df, "local_hour", y, color, title=title, x_title="local hour",
                y_title=y_title or y, percent_y=percent_y)
    fig.update_xaxes(dtick=2, range=[0, 23])
    return fig


def allocation_timeseries(df: pl.DataFrame,
                          color: Sequence[str] | str | None = ("trace", "cluster"),
                          title: str = "Allocated GPUs / capacity") -> go.Figure:
    """Allocation utilization over time (``utilization.allocation_series``)."""
    fig = lines(df, "time", "util", color, title=title, x_title="time",
                y_title="allocation (%)", percent_y=True)
    fig.update_yaxes(range=[0, 105])
    return fig


def status_bars(df: pl.DataFrame, value: str = "job_share", x: Sequence[str] | str = "cluster",
                title: str = "Final status") -> go.Figure:
    """Stacked bars of status shares (``failures.status_shares`` / ``status_by_size``)."""
    xs = [x] if isinstance(x, str) else list(x)
    fig = go.Figure()
    for status, part in _groups(df, ["status"]):
        fig.add_trace(go.Bar(
            x=[_label(r) for r in part.select(xs).rows()],
            y=[None if v is None else 100.0 * v for v in part[value].to_list()],
            name=status, marker_color=STATUS_COLORS.get(status),
        ))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category", title_text=" / ".join(xs))
    fig.update_yaxes(title_text=f"{value.replace('_', ' ')} (%)", range=[0, 100.5])
    return _finish(fig, title)


def bars(df: pl.DataFrame, x: str, y: str, color: Sequence[str] | str | None = None,
         title: str = "", log_y: bool = False, y_title: str | None = None) -> go.Figure:
    """Grouped bars of ``y`` per ``x`` category, one bar series per ``color`` group."""
    colors = [color] if isinstance(color, str) else list(color or [])
    fig = go.Figure()
    for name, part in _groups(df, colors):
        fig.add_trace(go.Bar(x=[str(v) for v in part[x].to_list()], y=part[y].to_list(),
                             name=name or y))
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", title_text=x)
    fig.update_yaxes(type="log" if log_y else "linear", title_text=y_title or y)
    return _finish(fig, title)


def table(df: pl.DataFrame, title: str = "", max_rows: int = 200,
          row_colors: Sequence[str] | None = None) -> go.Figure:
    """A plotly table of a (small) frame; floats shown with 4 significant digits."""
    shown = df.head(max_rows)

    def fmt(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    cells = [[fmt(v) for v in shown[c].to_list()] for c in shown.columns]
    fill = [list(row_colors[: shown.height])] * len(shown.columns) if row_colors else "white"
    fig = go.Figure(go.Table(
        header={"values": shown.columns, "fill_color": "#e8eef7", "align": "left"},
        cells={"values": cells, "align": "left", "fill_color": fill},
    ))
    return _finish(fig, title, height=min(120 + 28 * shown.height, 900))


def findings(df: pl.DataFrame, title: str = "Published vs measured") -> go.Figure:
    """The ``findings_table`` as a table, rows coloured by agreement."""
    cols = [c for c in ("finding_id", "cluster", "metric", "published", "unit", "source",
                        "measured", "tolerance", "agreement") if c in df.columns]
    colors = [AGREEMENT_COLORS.get(a, "white") for a in df["agreement"].to_list()]
    return table(df.select(cols), title, max_rows=df.height, row_colors=colors)
