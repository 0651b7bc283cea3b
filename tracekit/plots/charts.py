"""Plotly figures for the tidy frames of :mod:`tracekit.analysis`.

The functions only reshape frames into traces: every number is computed by the analysis
functions. Log axes follow the papers (durations and delays on log2-spaced grids, shown on log10
axes); datetime columns are drawn on date axes; more than :data:`MAX_LEGEND` groups are split into
panels so that no legend scrolls.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from tracekit.plots._base import (
    FACET_WRAP,
    PALETTE,
    STATUS_COLORS,
    WEEKDAY_NAMES,
    as_list,
    axis_title,
    axis_type,
    color_for,
    finish,
    fmt_value,
    groups,
    is_temporal,
    label,
    panel_height,
    panels_figure,
    split_legend,
)

__all__ = [
    "allocation_timeseries",
    "bars",
    "box",
    "cdf",
    "duration_cdf",
    "hour_weekday_heatmap",
    "hourly_profile",
    "lines",
    "lorenz",
    "queue_cdf",
    "scatter",
    "size_shares",
    "status_bars",
    "top_share",
    "treemap",
    "util_cdf",
]

Keys = Sequence[str] | str | None


def lines(
    df: pl.DataFrame,
    x: str,
    y: str,
    color: Keys = None,
    facet: str | None = None,
    title: str = "",
    x_title: str | None = None,
    y_title: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    step: bool = False,
    percent_y: bool = False,
    markers: bool = False,
) -> go.Figure:
    """Line chart of ``y`` vs ``x``, one line per ``color`` group, one panel per ``facet``.

    With more than :data:`~tracekit.plots.MAX_LEGEND` colour groups the first colour key becomes
    the facet. A datetime ``x`` is drawn on a date axis.
    """
    colors, facet = split_legend(df, [c for c in as_list(color) if c != facet], facet)
    panels = groups(df, [facet]) if facet else [("", df)]
    fig, cells = panels_figure([p[0] for p in panels] if facet else [])
    if colors:
        fig.update_layout(legend_title_text=" / ".join(axis_title(c) for c in colors))
    seen: dict[str, str] = {}
    shown: set[str] = set()
    for (_, panel), (r, c) in zip(panels, cells, strict=True):
        for name, part in groups(panel.sort(x), colors):
            yv = part[y].to_list()
            if percent_y:
                yv = [None if v is None else 100.0 * v for v in yv]
            fig.add_trace(
                go.Scatter(
                    x=part[x].to_list(), y=yv, name=name or axis_title(y, y_title),
                    mode="lines+markers" if markers else "lines",
                    line={"color": color_for(name, seen), "shape": "hv" if step else "linear",
                          "width": 2},
                    legendgroup=name, showlegend=bool(name) and name not in shown,
                ),
                row=r, col=c,
            )  # fmt: skip
            shown.add(name)
    xtype = "date" if is_temporal(df, x) else ("log" if log_x else "linear")
    fig.update_xaxes(type=xtype)
    fig.update_yaxes(type="log" if log_y else "linear")
    for r, c in cells:
        if r == cells[-1][0] or len(cells) == 1:
            fig.update_xaxes(title_text=axis_title(x, x_title), row=r, col=c)
        if c == 1:
            fig.update_yaxes(title_text=axis_title(y, y_title), row=r, col=c)
    return finish(fig, title, height=panel_height(len(cells)))


def cdf(
    df: pl.DataFrame,
    x: str,
    color: Keys = ("trace", "cluster"),
    facet: str | None = None,
    title: str = "",
    x_title: str | None = None,
    log_x: bool = True,
) -> go.Figure:
    """CDF (in %) from a grid-CDF frame (columns ``x`` and ``cdf``)."""
    x_title = axis_title(x, x_title) + (", log scale" if log_x and not x_title else "")
    fig = lines(df, x, "cdf", color, facet, title, x_title, "jobs at or below (%)", log_x=log_x,
                percent_y=True)  # fmt: skip
    fig.update_yaxes(range=[0, 101])
    return fig


def duration_cdf(df: pl.DataFrame, color: Keys = ("trace", "cluster"),
                 title: str = "Job duration CDF") -> go.Figure:
    """Duration CDF (log x) from :func:`tracekit.analysis.jobs.duration_cdf` and friends."""
    return cdf(df, "duration_s", color, title=title, x_title="duration (s, log scale)")


def queue_cdf(df: pl.DataFrame, color: Keys = ("trace", "cluster"),
              title: str = "Queueing delay CDF", x: str = "queue_s",
              facet: str | None = None) -> go.Figure:
    """Queueing-delay CDF (log x) from :func:`tracekit.analysis.queueing.queue_cdf`."""
    return cdf(df, x, color, facet, title=title, x_title="queueing delay (s, log scale)")


def util_cdf(df: pl.DataFrame, color: Keys = ("status", "num_gpus"),
             facet: str | None = "status", title: str = "GPU utilization CDF",
             x_title: str = "utilization (%)") -> go.Figure:
    """Utilization CDF (linear x, %) from ``philly_gpu_util_cdf`` / ``host_util_cdf``."""
    fig = cdf(df, "util_pct", color, facet, title, x_title, log_x=False)
    fig.update_yaxes(title_text="samples at or below (%)", col=1)
    return fig


def size_shares(df: pl.DataFrame, facet: str = "cluster",
                title: str = "Jobs and GPU time by job size") -> go.Figure:
    """Grouped bars: share of jobs vs share of GPU time per size bucket (``size_pmf``)."""
    panels = groups(df, [facet]) if facet in df.columns else [("", df)]
    fig, cells = panels_figure([p[0] for p in panels])
    for (_, part), (r, c) in zip(panels, cells, strict=True):
        for col, name, colr in (("job_share", "jobs", PALETTE[0]),
                                ("gpu_time_share", "GPU time", PALETTE[1])):
            fig.add_trace(go.Bar(x=[fmt_value(v) for v in part["size_bucket"].to_list()],
                                 y=[100.0 * v for v in part[col].to_list()], name=name,
                                 marker_color=colr, legendgroup=name, showlegend=(r, c) == (1, 1)),
                          row=r, col=c)  # fmt: skip
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", title_text="job size (GPUs)")
    fig.update_yaxes(title_text="share (%)", col=1)
    return finish(fig, title, height=panel_height(len(cells)))


def lorenz(df: pl.DataFrame, color: Keys = ("trace", "cluster"),
           title: str = "Concentration over users") -> go.Figure:
    """Share held by the top fraction of users (``users.lorenz_curve``), with the equality line."""
    df = df.with_columns(pl.col("user_frac") * 100.0, pl.col("share") * 100.0)
    fig = lines(df, "user_frac", "share", color, title=title,
                x_title="users, largest first (%)", y_title="cumulative share of GPU time (%)")
    fig.add_trace(go.Scatter(x=[0, 100], y=[0, 100], mode="lines", name="equal shares",
                             line={"dash": "dot", "color": "#999"}))  # fmt: skip
    fig.update_xaxes(range=[0, 100])
    fig.update_yaxes(range=[0, 101])
    return fig


def top_share(df: pl.DataFrame, color: Keys = ("trace", "cluster"),
              title: str = "Share held by the top users",
              y_title: str = "share of the total (%)") -> go.Figure:
    """Top-k % users' share (``users.top_share``), log x as in Helios Figs. 8-9."""
    return lines(df, "top_pct", "share_pct", color, title=title,
                 x_title="top users (%, log scale)", y_title=y_title, log_x=True, markers=True)


def hour_weekday_heatmap(df: pl.DataFrame, value: str = "jobs_per_hour",
                         title: str = "Submissions per hour (local time)") -> go.Figure:
    """Heatmap weekday x hour from ``arrivals.hour_weekday`` (one group)."""
    pivot = df.pivot(on="local_hour", index="local_weekday", values=value,
                     aggregate_function="sum").sort("local_weekday")  # fmt: skip
    hours = [c for c in pivot.columns if c != "local_weekday"]
    fig = go.Figure(go.Heatmap(
        z=pivot.select(hours).rows(), x=[int(h) for h in hours],
        y=[WEEKDAY_NAMES[int(d) - 1] for d in pivot["local_weekday"].to_list()],
        colorscale="Viridis", colorbar={"title": {"text": "jobs / hour"}},
    ))  # fmt: skip
    fig.update_xaxes(title_text="local hour of day", dtick=2)
    fig.update_yaxes(autorange="reversed", title_text="weekday")
    return finish(fig, title, height=360)


def hourly_profile(df: pl.DataFrame, y: str = "relative", color: Keys = ("trace", "cluster"),
                   title: str = "Submissions by hour of day", y_title: str | None = None,
                   percent_y: bool = False) -> go.Figure:
    """Line per group over local hour (``arrivals.by_hour`` or ``allocation_profile``)."""
    fig = lines(df, "local_hour", y, color, title=title, x_title="local hour of day",
                y_title=y_title or "submissions / hour (mean over the day = 1)",
                percent_y=percent_y, markers=True)  # fmt: skip
    fig.update_xaxes(dtick=2, range=[-0.5, 23.5])
    return fig


def allocation_timeseries(df: pl.DataFrame, color: Keys = ("trace", "cluster"),
                          facet: str | None = None,
                          title: str = "Allocated GPUs / capacity") -> go.Figure:
    """Allocation over time (``utilization.allocation_series``) on a date axis."""
    fig = lines(df, "time", "util", color, facet, title=title, x_title="date",
                y_title="allocated GPUs / capacity (%)", percent_y=True)
    fig.update_yaxes(range=[0, 105])
    return fig


def status_bars(df: pl.DataFrame, value: str = "job_share", x: Keys = "cluster",
                title: str = "Final status", x_title: str | None = None) -> go.Figure:
    """Stacked bars of status shares (``failures.status_shares`` / ``status_by_size``)."""
    xs = as_list(x)
    fig = go.Figure()
    for status, part in groups(df, ["status"]):
        fig.add_trace(go.Bar(
            x=[label(r) for r in part.select(xs).rows()],
            y=[None if v is None else 100.0 * v for v in part[value].to_list()],
            name=status, marker_color=STATUS_COLORS.get(status),
        ))  # fmt: skip
    fig.update_layout(barmode="stack")
    what = "GPU time" if "gpu_time" in value else "jobs"
    fig.update_xaxes(type="category",
                     title_text=x_title or " / ".join(axis_title(c) for c in xs))  # fmt: skip
    fig.update_yaxes(title_text=f"share of {what} (%)", range=[0, 100.5])
    return finish(fig, title)


def bars(df: pl.DataFrame, x: str, y: str, color: Keys = None, title: str = "",
         log_y: bool | str = "auto", y_title: str | None = None, x_title: str | None = None,
         percent_y: bool = False, facet: str | None = None) -> go.Figure:
    """Grouped bars of ``y`` per ``x`` category, one bar series per ``color`` group.

    ``log_y="auto"`` uses a log axis only when the values span two decades or more.
    """
    colors, facet = split_legend(df, as_list(color), facet)
    panels = groups(df, [facet]) if facet else [("", df)]
    # Category labels are often turned: rows of panels need room between them for the labels.
    fig, cells = panels_figure([p[0] for p in panels] if facet else [], shared_y=False,
                               vertical_spacing=0.2 if len(panels) > FACET_WRAP else None)
    seen: dict[str, str] = {}
    shown: set[str] = set()
    scale = 100.0 if percent_y else 1.0
    for (_, panel), (r, c) in zip(panels, cells, strict=True):
        for name, part in groups(panel, colors):
            fig.add_trace(go.Bar(
                x=[fmt_value(v) for v in part[x].to_list()],
                y=[None if v is None else scale * v for v in part[y].to_list()],
                name=name or axis_title(y, y_title), marker_color=color_for(name, seen),
                legendgroup=name, showlegend=bool(name) and name not in shown,
            ), row=r, col=c)  # fmt: skip
            shown.add(name)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category")
    # The x title once per column, under its lowest panel, so it never runs into the title of
    # the panel below.
    for r, c in cells:
        if (r + 1, c) not in cells:
            fig.update_xaxes(title_text=axis_title(x, x_title), row=r, col=c)
    fig.update_yaxes(type=axis_type(df[y].to_list(), log_y), title_text=axis_title(y, y_title))
    return finish(fig, title, height=panel_height(len(cells)))


def box(df: pl.DataFrame, x: str, y: str, color: Keys = None, title: str = "",
        x_title: str | None = None, y_title: str | None = None,
        percent_y: bool = False) -> go.Figure:
    """Box plots of ``y`` per ``x`` category (e.g. per-VC utilization, Helios Fig. 4)."""
    fig = go.Figure()
    seen: dict[str, str] = {}
    scale = 100.0 if percent_y else 1.0
    for name, part in groups(df, as_list(color)):
        fig.add_trace(go.Box(
            x=[fmt_value(v) for v in part[x].to_list()],
            y=[None if v is None else scale * v for v in part[y].to_list()],
            name=name or axis_title(y, y_title), marker_color=color_for(name, seen),
            boxpoints=False,
        ))  # fmt: skip
    fig.update_layout(boxmode="group")
    fig.update_xaxes(type="category", title_text=axis_title(x, x_title))
    fig.update_yaxes(title_text=axis_title(y, y_title))
    return finish(fig, title)


def scatter(df: pl.DataFrame, x: str, y: str, color: Keys = None, title: str = "",
            x_title: str | None = None, y_title: str | None = None, log_x: bool = False,
            log_y: bool = False) -> go.Figure:
    """Scatter of ``y`` vs ``x``, one marker series per ``color`` group."""
    fig = go.Figure()
    seen: dict[str, str] = {}
    for name, part in groups(df, as_list(color)):
        fig.add_trace(go.Scatter(
            x=part[x].to_list(), y=part[y].to_list(), mode="markers",
            name=name or axis_title(y, y_title),
            marker={"color": color_for(name, seen), "size": 6, "opacity": 0.6},
        ))  # fmt: skip
    fig.update_xaxes(type="log" if log_x else "linear", title_text=axis_title(x, x_title))
    fig.update_yaxes(type="log" if log_y else "linear", title_text=axis_title(y, y_title))
    return finish(fig, title)


def treemap(df: pl.DataFrame, path: Sequence[str], value: str, title: str = "",
            value_title: str | None = None) -> go.Figure:
    """Nested rectangles sized by ``value``, one level per column of ``path`` (e.g. GPU time by
    cluster and workload type, as Acme's NSDI'24 Fig. 4). Each rectangle is labelled with its
    share of its parent; a parent's size is the sum of its children (plotly adds them up)."""
    ids: list[str] = []
    labels: list[str] = []
    parents: list[str] = []
    values: list[float] = []
    seen: set[str] = set()
    for row in df.select(*path, value).iter_rows():
        parts = [fmt_value(v) for v in row[:-1]]
        for depth in range(1, len(parts)):
            node = " / ".join(parts[:depth])
            if node not in seen:
                seen.add(node)
                ids.append(node)
                labels.append(parts[depth - 1])
                parents.append(" / ".join(parts[: depth - 1]))
                values.append(0.0)
        ids.append(" / ".join(parts))
        labels.append(parts[-1])
        parents.append(" / ".join(parts[:-1]))
        values.append(float(row[-1] or 0.0))
    fig = go.Figure(go.Treemap(
        ids=ids, labels=labels, parents=parents, values=values, branchvalues="remainder",
        textinfo="label+percent parent", marker={"colors": [PALETTE[i % len(PALETTE)] for i in
                                                           range(len(ids))]},
        hovertemplate=f"%{{label}}<br>{axis_title(value, value_title)}: %{{value:,.4s}}"
                      "<br>%{percentParent:.1%} of %{parent}<extra></extra>",
    ))  # fmt: skip
    fig.update_layout(margin={"l": 10, "r": 10, "b": 10})
    return finish(fig, title, height=520)
