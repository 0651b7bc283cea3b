"""Published numbers as data: ``tracekit/analysis/published/<trace>.csv`` and the agreement rule.

Each CSV row is one published number: ``id`` (finding), ``trace``, ``cluster`` (a store cluster
or ``all``), ``metric``, ``statement``, ``published`` (empty when nothing is published),
``unit``, ``source`` (tag, see ``sources.csv``), ``reference`` (paper figure or table and the
artifact it comes from), ``tolerance``, ``measure`` and ``params`` (how the store measures it;
empty when it cannot), ``level`` (``headline``, ``detail`` or ``fact``), ``section`` (the
notebook that shows it) and ``note``. The synthetic sample reads its calibration targets from
the same rows.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources

import polars as pl

from tracekit.errors import TraceFormatError

PUBLISHED_COLUMNS: dict[str, type[pl.DataType]] = {
    "id": pl.String,
    "trace": pl.String,
    "cluster": pl.String,
    "metric": pl.String,
    "statement": pl.String,
    "published": pl.Float64,
    "unit": pl.String,
    "source": pl.String,
    "reference": pl.String,
    "tolerance": pl.Float64,
    "measure": pl.String,
    "params": pl.String,
    "level": pl.String,
    "section": pl.String,
    "note": pl.String,
}
LEVELS: tuple[str, ...] = ("headline", "detail", "fact")
# Units compared by difference (points or hours); every other unit by the ratio.
DIFFERENCE_UNITS: frozenset[str] = frozenset({"%", "local hour"})
# "close" never reaches beyond this factor (or beyond this multiple of a difference tolerance).
CLOSE_FACTOR = 1.5
VERDICTS: tuple[str, ...] = ("agree", "close", "differs", "n/a")


def _folder() -> resources.abc.Traversable:
    return resources.files("tracekit.analysis").joinpath("published")


@cache
def _read(trace: str) -> pl.DataFrame:
    path = _folder().joinpath(f"{trace}.csv")
    if not path.is_file():
        raise FileNotFoundError(f"no published numbers for trace {trace!r} ({path})")
    df = pl.read_csv(path.read_bytes(), schema=PUBLISHED_COLUMNS)
    _validate(df, str(path))
    return df.with_columns(pl.col(c).fill_null("") for c in ("measure", "params", "note"))


def _validate(df: pl.DataFrame, path: str) -> None:
    """One clear error per bad row: unknown level, or a ratio tolerance that would let an
    *agree* verdict reach beyond :data:`CLOSE_FACTOR`."""
    for i, row in enumerate(df.iter_rows(named=True), start=2):
        if row["level"] not in LEVELS:
            raise TraceFormatError(path, i, f"level must be one of {LEVELS}, got {row['level']!r}")
        tol = row["tolerance"]
        ratio_scale = row["unit"] not in DIFFERENCE_UNITS and row["published"] != 0
        if tol is not None and ratio_scale and not 0 <= tol <= CLOSE_FACTOR - 1:
            raise TraceFormatError(
                path, i, f"ratio tolerance must be in [0, {CLOSE_FACTOR - 1}], got {tol}"
            )


def published_table(traces: str | list[str] | tuple[str, ...] | None = None) -> pl.DataFrame:
    """Every published number of ``traces`` (default: every trace with a published CSV).

    Returns
    -------
    polars.DataFrame
        The CSV columns (see the module docstring), rows in file order.
    """
    from tracekit.analysis.findings import TRACE_MODULES

    if traces is None:
        traces = TRACE_MODULES
    elif isinstance(traces, str):
        traces = [traces]
    return pl.concat([_read(t) for t in traces], how="vertical")


def published_value(
    trace: str, finding_id: str, cluster: str, measure: str, **params: object
) -> float:
    """The single published number of a row, found by finding id, cluster, measure and params
    (a headline row wins over detail rows measuring the same thing from another source).

    Used by the synthetic sample to read its calibration targets.

    Raises
    ------
    KeyError
        When no row or several rows match.
    """
    want = ";".join(f"{k}={v}" for k, v in params.items())
    rows = _read(trace).filter(
        (pl.col("id") == finding_id)
        & (pl.col("cluster") == cluster)
        & (pl.col("measure") == measure)
        & (pl.col("params") == want)
    )
    if rows.height > 1:
        rows = rows.filter(pl.col("level") == "headline")
    if rows.height != 1 or rows["published"][0] is None:
        raise KeyError(
            f"expected one published {trace} {finding_id} {cluster} {measure} [{want}], "
            f"found {rows.height}"
        )
    return float(rows["published"][0])


def published_series(
    trace: str, finding_id: str, cluster: str, key: str, measure: str | None = None
) -> pl.DataFrame:
    """Rows of one finding and cluster that vary in parameter ``key`` (a CDF, an hourly shape),
    as ``key`` (float) and ``published``, sorted by ``key``; optionally of one ``measure``."""
    rows = _read(trace).filter((pl.col("id") == finding_id) & (pl.col("cluster") == cluster))
    if measure is not None:
        rows = rows.filter(pl.col("measure") == measure)
    out = rows.select(
        pl.col("params").str.extract(rf"(?:^|;){key}=([^;]+)").cast(pl.Float64).alias(key),
        "published",
    ).filter(pl.col(key).is_not_null())
    if out.height == 0:
        raise KeyError(f"no published {trace} {finding_id} {cluster} rows with a {key!r}")
    return out.sort(key)


@cache
def source_tags() -> pl.DataFrame:
    """What each ``source`` tag means: ``source, meaning, precision``."""
    return pl.read_csv(_folder().joinpath("sources.csv").read_bytes(), infer_schema_length=0)


def scale_of(unit: str, published: float | None) -> str:
    """``difference`` for percentages, clock hours and published zeros; ``ratio`` otherwise."""
    if unit in DIFFERENCE_UNITS or published == 0:
        return "difference"
    return "ratio"


def agreement(
    measured: float | None, published: float | None, tolerance: float | None, unit: str = ""
) -> str:
    """The one agreement rule: ``agree``, ``close``, ``differs`` or ``n/a``.

    *Ratio scale* (every unit but ``%`` and ``local hour``): with ``r`` the larger of
    measured/published and published/measured, **agree** when ``r <= 1 + tolerance``, **close**
    when ``r <= 1.5``, else **differs** (a measured value of 0 or below differs).
    *Difference scale* (percentages, clock hours, and any published 0): with
    ``d = |measured - published|``, **agree** when ``d <= tolerance``, **close** when
    ``d <= 1.5 x tolerance``, else **differs**. **n/a**: nothing published or nothing measured.
    """
    if measured is None or published is None or tolerance is None:
        return "n/a"
    if math.isnan(measured) or math.isnan(published):
        return "n/a"
    if scale_of(unit, published) == "difference":
        d = abs(measured - published)
        if d <= tolerance:
            return "agree"
        return "close" if d <= CLOSE_FACTOR * tolerance else "differs"
    if measured <= 0 or published < 0:
        return "differs"
    r = max(measured / published, published / measured)
    if r <= 1 + tolerance:
        return "agree"
    return "close" if r <= CLOSE_FACTOR else "differs"
