"""Frames as HTML tables for reports (great_tables: static, formatted, never truncated).

great_tables renders a complete, formatted HTML table with no JavaScript, so a report page stays
light and prints as it looks; itables' interactive DataTables would add a script bundle per page
for sorting that tables of tens of rows do not need.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from great_tables import GT, loc, style

from tracekit.plots._base import _MARK

__all__ = ["VERDICT_COLORS", "findings_table", "table"]

#: Row colours of the findings tables, by verdict.
VERDICT_COLORS: dict[str, str] = {
    "agree": "#d8f0d2", "close": "#fdf2c4", "differs": "#f8d0cc", "n/a": "#eeeeee",
}  # fmt: skip


def _number(v: float | None, sigfig: int) -> str:
    """``sigfig`` significant digits, thousands separators, no trailing zeros (0, not 0.000)."""
    if v is None or v != v:
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 10 ** (sigfig - 1):
        return f"{v:,.0f}"
    text = f"{v:#.{sigfig}g}"
    if "e" in text:
        return f"{v:.{sigfig - 1}e}"
    return text.rstrip("0").rstrip(".")


def table(
    df: pl.DataFrame,
    title: str | None = None,
    subtitle: str | None = None,
    sigfig: int = 4,
    labels: dict[str, str] | None = None,
) -> GT:
    """A formatted, untruncated HTML table of ``df``.

    Floats get ``sigfig`` significant digits, integers thousands separators, datetimes
    ``YYYY-MM-DD HH:MM``, lists are joined with ", ".
    """
    lists = [c for c, t in df.schema.items() if isinstance(t, pl.List)]
    if lists:
        df = df.with_columns(pl.col(c).cast(pl.List(pl.String)).list.join(", ") for c in lists)
    temporal = [c for c, t in df.schema.items() if t.is_temporal()]
    if temporal:
        df = df.with_columns(
            pl.col(c).dt.strftime("%Y-%m-%d %H:%M" if df.schema[c] != pl.Date else "%Y-%m-%d")
            for c in temporal
        )
    floats = [c for c, t in df.schema.items() if t.is_float()]
    ints = [c for c, t in df.schema.items() if t.is_integer()]
    gt = GT(df)
    if floats:
        gt = gt.fmt(lambda v: _number(v, sigfig), columns=floats)
    if ints:
        gt = gt.fmt_integer(columns=ints)
    gt = gt.sub_missing(missing_text="–")
    if title or subtitle:
        mark = _MARK.text
        if mark:
            subtitle = f"{subtitle} · {mark}" if subtitle else mark
        gt = gt.tab_header(title=title or "", subtitle=subtitle)
    if labels:
        gt = gt.cols_label(**{k: v for k, v in labels.items() if k in df.columns})
    return gt.tab_options(table_font_size="13px", data_row_padding="3px",
                          container_overflow_x="auto")  # fmt: skip


FINDING_COLUMNS: tuple[str, ...] = (
    "finding_id", "cluster", "metric", "published", "measured", "unit", "source", "reference",
    "verdict", "agreement", "note",
)  # fmt: skip


def findings_table(
    df: pl.DataFrame, title: str = "Published vs measured", columns: Sequence[str] | None = None
) -> GT:
    """The findings table, one row per finding, coloured by verdict (agree / close / differs)."""
    cols = [c for c in (columns or FINDING_COLUMNS) if c in df.columns]
    verdict = "verdict" if "verdict" in df.columns else "agreement"
    shown = df.select(cols)
    gt = table(shown, title=title)
    for name, colour in VERDICT_COLORS.items():
        rows = [i for i, v in enumerate(shown[verdict].to_list()) if v == name]
        if rows:
            gt = gt.tab_style(style=style.fill(color=colour), locations=loc.body(rows=rows))
    return gt
