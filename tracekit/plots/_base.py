"""The theme, axis titles, the data mark (SYNTHETIC or REAL) and the grouping rules every chart
shares."""

from __future__ import annotations

import math
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
WEEKDAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: More legend entries than this and a chart splits into panels (or a selector).
MAX_LEGEND = 8
#: Panels per row when a chart is split into facets.
FACET_WRAP = 3

#: Human axis titles (with units) for the analysis frames' column names.
AXIS_TITLES: dict[str, str] = {
    "duration_s": "duration (s)",
    "queue_s": "queueing delay (s)",
    "delay_s": "queueing delay (s)",
    "util_pct": "utilization (%)",
    "util": "allocated GPUs / capacity (%)",
    "gpu_pct": "% of one GPU",
    "time": "date",
    "month": "month",
    "local_hour": "local hour of day",
    "vc": "virtual cluster",
    "cluster": "cluster",
    "size_bucket": "job size (GPUs)",
    "num_gpus": "GPUs",
    "status": "final status",
    "trace": "trace",
    "measure": "measure",
    "n_jobs": "jobs",
    "n_users": "users",
    "bin_lo": "GPU-job completion rate (%, bin from)",
    "threshold_pct": "error threshold (% of true duration)",
    "share": "share of jobs (%)",
    "share_pct": "share (%)",
    "jct_mean_s": "mean JCT (s)",
    "queue_mean_s": "mean queueing delay (s)",
    "mean_s": "mean queueing delay (s)",
    "feature": "feature",
    "policy": "policy",
    "sigma": "prediction error σ (log-normal)",
    "jct_gain": "1 − JCT(QSSF) / JCT(FIFO)",
}

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": "Inter, Helvetica, Arial, sans-serif", "size": 13, "color": "#222"},
        title={"x": 0.02, "xanchor": "left", "font": {"size": 16}},
        colorway=list(PALETTE),
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis={"showgrid": True, "gridcolor": "#e6e6e6", "zeroline": False, "linecolor": "#444",
               "ticks": "outside", "showline": True, "automargin": True},
        yaxis={"showgrid": True, "gridcolor": "#e6e6e6", "zeroline": False, "linecolor": "#444",
               "ticks": "outside", "showline": True, "automargin": True},
        legend={"bgcolor": "rgba(255,255,255,0.8)", "borderwidth": 0},
        margin={"l": 70, "r": 30, "t": 70, "b": 60},
        hovermode="closest",
    )
)  # fmt: skip
pio.templates["tracekit"] = TEMPLATE


class _Mark:
    """What every figure says about its data (set once per notebook by :func:`mark_data`)."""

    synthetic: bool = False
    real: tuple[str, ...] = ()

    @property
    def text(self) -> str | None:
        """The subtitle of every figure and table, or None when nothing is marked."""
        parts = [SYNTHETIC_TEXT] if self.synthetic else []
        if self.real:
            parts.append(f"{REAL_TEXT}: {', '.join(self.real)}")
        return " · ".join(parts) or None


_MARK = _Mark()
SYNTHETIC_TEXT = "SYNTHETIC sample"
REAL_TEXT = "REAL data"


def mark_synthetic(on: bool = True) -> None:
    """Mark every figure made from now on as drawn from synthetic data (or stop marking).

    The mark is the figure's subtitle, so it stays on a chart copied out of a page or exported
    as PNG. Same as ``mark_data(synthetic=on)``.
    """
    mark_data(synthetic=on)


def mark_data(synthetic: bool | Sequence[str] = False, real: Sequence[str] = ()) -> None:
    """Say on every figure and table made from now on what its data is.

    Parameters
    ----------
    synthetic : bool or sequence of str
        True (or a non-empty list of traces): the data includes the synthetic sample; the
        subtitle reads "SYNTHETIC sample".
    real : sequence of str
        Traces read from their real published files; the subtitle adds "REAL data: <traces>".
        Notebooks call ``plots.mark_data(**summary.data_kinds(store, traces))``.
    """
    _MARK.synthetic = bool(synthetic)
    _MARK.real = tuple(real)


def axis_title(column: str, given: str | None = None) -> str:
    """``given``, or the human title (with unit) of an analysis column."""
    if given:
        return given
    return AXIS_TITLES.get(column, column.replace("_", " "))


def finish(fig: go.Figure, title: str, height: int = 440) -> go.Figure:
    """Apply the theme and title; add the data mark set by :func:`mark_data` as the subtitle."""
    head: dict[str, Any] = {"text": title}
    mark = _MARK.text
    if mark:
        # in the figure itself, so a chart copied out of a page or exported as PNG keeps it
        color = "#8a6d00" if _MARK.synthetic else "#1d6b2f"
        head["subtitle"] = {"text": mark, "font": {"color": color, "size": 12}}
    fig.update_layout(template="tracekit", title=head, height=height)
    return fig


def fmt_value(v: Any) -> str:
    """A category label: ``8`` not ``8.0``; floats to 6 significant digits."""
    if v is None:
        return ""
    if isinstance(v, float):
        if v.is_integer():
            return str(int(v))
        return f"{v:.6g}"
    return str(v)


def label(row: Sequence[Any]) -> str:
    """Group label of a row of key values (``"helios / Venus"``)."""
    return " / ".join(fmt_value(v) for v in row)


def groups(df: pl.DataFrame, cols: Sequence[str]) -> list[tuple[str, pl.DataFrame]]:
    """Split ``df`` by ``cols`` in order of first appearance (one entry per line)."""
    cols = [c for c in cols if c in df.columns]
    if not cols:
        return [("", df)]
    parts = df.partition_by(cols, maintain_order=True, as_dict=True)
    return [(label(k), part) for k, part in parts.items()]


def as_list(cols: Sequence[str] | str | None) -> list[str]:
    """``"a"`` -> ``["a"]``; ``None`` -> ``[]``."""
    return [cols] if isinstance(cols, str) else list(cols or [])


def split_legend(
    df: pl.DataFrame, color: list[str], facet: str | None
) -> tuple[list[str], str | None]:
    """Keep legends short: with more than :data:`MAX_LEGEND` groups, facet by the first key.

    Returns the (colour keys, facet key) to draw with.
    """
    color = [c for c in color if c in df.columns]
    if facet is None and len(color) >= 2:
        n = df.select(color).unique().height
        if n > MAX_LEGEND:
            return color[1:], color[0]
    return color, facet


def is_temporal(df: pl.DataFrame, column: str) -> bool:
    """True for date/datetime columns (drawn on ``type="date"`` axes)."""
    return column in df.columns and df.schema[column].is_temporal()


def axis_type(values: Sequence[float], log: bool | str) -> str:
    """``"log"`` or ``"linear"``; ``"auto"`` picks log only for positive values spanning 2+
    decades (close values stay linear so small differences are not magnified)."""
    if log == "auto":
        pos = [v for v in values if v is not None and math.isfinite(v)]
        if pos and min(pos) > 0 and max(pos) / min(pos) >= 100:
            return "log"
        return "linear"
    return "log" if log else "linear"


def panels_figure(
    titles: Sequence[str], shared_y: bool = True, vertical_spacing: float | None = None
) -> tuple[go.Figure, list[tuple[int, int]]]:
    """Subplots for ``titles`` wrapped :data:`FACET_WRAP` per row; returns (fig, cells)."""
    n = max(1, len(titles))
    cols = min(n, FACET_WRAP)
    rows = math.ceil(n / cols)
    fig = make_subplots(
        rows=rows, cols=cols, shared_yaxes=shared_y, subplot_titles=list(titles) or None,
        horizontal_spacing=0.05, vertical_spacing=vertical_spacing or min(0.12, 0.5 / rows),
    )  # fmt: skip
    cells = [(1 + i // cols, 1 + i % cols) for i in range(n)]
    return fig, cells


def panel_height(n_panels: int, base: int = 440, per_row: int = 300) -> int:
    """Figure height for ``n_panels`` facets wrapped :data:`FACET_WRAP` per row."""
    rows = math.ceil(max(1, n_panels) / FACET_WRAP)
    return base if rows == 1 else 120 + per_row * rows


def color_for(name: str, seen: dict[str, str]) -> str:
    """A stable colour per group name (status names keep their own colours)."""
    if name not in seen:
        seen[name] = STATUS_COLORS.get(name) or PALETTE[len(seen) % len(PALETTE)]
    return seen[name]
