"""Plotly figures and HTML tables for the tidy frames of :mod:`tracekit.analysis`.

One theme (plotly template ``"tracekit"``) is applied to every figure; human axis titles with
units come from :data:`AXIS_TITLES`; :func:`mark_data` stamps every figure and table title with
what the data is (the SYNTHETIC sample, REAL data of named traces, or both). Tables are
great_tables objects (static HTML).
"""

from tracekit.plots._base import (
    AXIS_TITLES,
    MAX_LEGEND,
    PALETTE,
    REAL_TEXT,
    STATUS_COLORS,
    SYNTHETIC_TEXT,
    TEMPLATE,
    WEEKDAY_NAMES,
    mark_data,
    mark_synthetic,
)
from tracekit.plots.charts import (
    allocation_timeseries,
    bars,
    box,
    cdf,
    duration_cdf,
    hour_weekday_heatmap,
    hourly_profile,
    lines,
    lorenz,
    queue_cdf,
    scatter,
    size_shares,
    status_bars,
    top_share,
    treemap,
    util_cdf,
)
from tracekit.plots.tables import VERDICT_COLORS, findings_table, table

__all__ = [
    "AXIS_TITLES",
    "MAX_LEGEND",
    "PALETTE",
    "REAL_TEXT",
    "STATUS_COLORS",
    "SYNTHETIC_TEXT",
    "TEMPLATE",
    "VERDICT_COLORS",
    "WEEKDAY_NAMES",
    "allocation_timeseries",
    "bars",
    "box",
    "cdf",
    "duration_cdf",
    "findings_table",
    "hour_weekday_heatmap",
    "hourly_profile",
    "lines",
    "lorenz",
    "mark_data",
    "mark_synthetic",
    "queue_cdf",
    "scatter",
    "size_shares",
    "status_bars",
    "table",
    "top_share",
    "treemap",
    "util_cdf",
]
