"""Shared building blocks of the analysis modules: frame coercion, size buckets, grid CDFs.

Every public analysis function accepts a polars LazyFrame or DataFrame in the store schema
(``open_store(path).scan(table, ...)``), or a pandas DataFrame with the same columns (converted
once, by :func:`lazy`), and returns a tidy polars DataFrame. Nothing here loops
over rows in Python: CDFs are evaluated on a fixed grid by binary search (``search_sorted``) and
grouped counts, so they cost one pass over the data whatever the group count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Union

import polars as pl

if TYPE_CHECKING:
    import pandas as pd

# A table in the store schema: polars (lazy or eager) or pandas.
Frame = Union[pl.LazyFrame, pl.DataFrame, "pd.DataFrame"]  # noqa: UP007 (forward reference)

GROUP = ("trace", "cluster")
# Durations and delays in the papers are read on log2 grids (Helios Fig. 5: 1 s .. 2^21 s).
LOG2_GRID_S: tuple[float, ...] = tuple(float(2**i) for i in range(0, 23))
# Percent grid for utilization CDFs.
PCT_GRID: tuple[float, ...] = tuple(float(i) for i in range(0, 101))
QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
# Calendar-day columns of the store tables and of the analysis outputs.
DATE_COLUMNS: frozenset[str] = frozenset({"date", "local_date", "first_date", "last_date"})

# Size-bucket schemes: (label, lower bound exclusive, upper bound inclusive), in GPUs.
SIZE_BUCKETS: dict[str, tuple[tuple[str, float, float], ...]] = {
    # Philly notebook cell 7: 1 / 2-4 / 5-8 / >8 GPUs.
    "philly": (("1", 0.0, 1.0), ("2-4", 1.0, 4.0), ("5-8", 4.0, 8.0), (">8", 8.0, float("inf"))),
    # Helios Fig. 6 buckets (prev, this].
    "helios": (
        ("1", 0.0, 1.0),
        ("2", 1.0, 2.0),
        ("3-4", 2.0, 4.0),
        ("5-8", 4.0, 8.0),
        ("9-16", 8.0, 16.0),
        ("17-32", 16.0, 32.0),
        ("33-64", 32.0, 64.0),
        (">64", 64.0, float("inf")),
    ),
    # Helios completion-rate figure (H9): exact sizes, >= 64 pooled; other sizes as "other".
    "helios_status": (
        ("1", 0.0, 1.0),
        ("2", 1.0, 2.0),
        ("4", 3.0, 4.0),
        ("8", 7.0, 8.0),
        ("16", 15.0, 16.0),
        ("32", 31.0, 32.0),
        (">=64", 63.0, float("inf")),
    ),
    # PAI per-instance request (plan_gpu in GPUs): notebook cell 29 buckets.
    "pai_request": (
        ("<0.25", float("-inf"), 0.2499999),
        ("[0.25,0.5)", 0.2499999, 0.4999999),
        ("[0.5,1)", 0.4999999, 0.9999999),
        ("1", 0.9999999, 1.0),
        (">1", 1.0, float("inf")),
    ),
}


def gpu_time() -> pl.Expr:
    """GPU seconds of a job: ``gpu_time_s``, recomputed as ``num_gpus x duration_s`` when null
    (a reader may leave it out, e.g. for censored jobs)."""
    return pl.coalesce(pl.col("gpu_time_s"), pl.col("num_gpus") * pl.col("duration_s"))


def lazy(frame: Frame | Any) -> pl.LazyFrame:
    """Return ``frame`` as a LazyFrame: the one place where input frames are converted.

    A pandas DataFrame becomes polars (its datetime columns in microseconds, as in the store).

    Raises
    ------
    TypeError
        For anything but a polars LazyFrame/DataFrame or a pandas DataFrame.
    """
    if isinstance(frame, pl.LazyFrame):
        return frame
    if isinstance(frame, pl.DataFrame):
        return frame.lazy()
    if type(frame).__module__.split(".")[0] == "pandas" and type(frame).__name__ == "DataFrame":
        df = pl.from_pandas(frame)
        # pandas has no date type: calendar-day columns come back as datetimes.
        return df.with_columns(
            pl.col(c).dt.date() if c in DATE_COLUMNS else pl.col(c).dt.cast_time_unit("us")
            for c, dt in df.schema.items()
            if isinstance(dt, pl.Datetime)
        ).lazy()
    raise TypeError(
        "analysis functions take a polars LazyFrame/DataFrame or a pandas DataFrame; "
        f"got {type(frame).__name__}"
    )


def eager(frame: Frame | Any) -> pl.DataFrame:
    """Return ``frame`` (polars or pandas, see :func:`lazy`) as a polars DataFrame."""
    return frame if isinstance(frame, pl.DataFrame) else lazy(frame).collect()


def group_cols(by: str | Sequence[str] | None) -> list[str]:
    """Normalize a ``by`` argument to a list of column names."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def size_bucket(scheme: str = "philly", column: str = "num_gpus") -> pl.Expr:
    """Expression mapping a GPU count to its bucket label (null when outside every bucket).

    Parameters
    ----------
    scheme : str
        A key of :data:`SIZE_BUCKETS`.
    column : str
        The GPU-count column.
    """
    try:
        buckets = SIZE_BUCKETS[scheme]
    except KeyError:
        known = sorted(SIZE_BUCKETS)
        raise KeyError(f"unknown size-bucket scheme {scheme!r}; known: {known}") from None
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for label, lo, hi in reversed(buckets):
        cond = (pl.col(column) > lo) & (pl.col(column) <= hi)
        expr = pl.when(cond).then(pl.lit(label)).otherwise(expr)
    return expr.alias("size_bucket")


def bucket_order(scheme: str) -> list[str]:
    """Bucket labels of ``scheme`` in ascending size order (for sorting and plotting)."""
    return [label for label, _, _ in SIZE_BUCKETS[scheme]]


def gpu_jobs(frame: Frame) -> pl.LazyFrame:
    """Jobs with at least one GPU (the papers' "GPU jobs")."""
    return lazy(frame).filter(pl.col("num_gpus") > 0)


def grid_cdf(
    frame: Frame,
    column: str,
    by: str | Sequence[str] | None = GROUP,
    grid: Sequence[float] = LOG2_GRID_S,
    x_name: str | None = None,
) -> pl.DataFrame:
    """Empirical CDF of ``column`` evaluated at the points of ``grid``, per group.

    ``cdf`` at grid point x is the fraction of non-null values ``<= x``; values beyond the last
    grid point count in the denominator, so the last ``cdf`` may stay below 1.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``x_name`` (default ``column``), ``cdf`` (0..1), ``n`` (values in the group).
    """
    keys = group_cols(by)
    x_name = x_name or column
    grid_s = pl.Series("x", [float(g) for g in grid], dtype=pl.Float64)
    lf = lazy(frame).filter(pl.col(column).is_not_null() & pl.col(column).is_not_nan())
    idx = pl.lit(grid_s).search_sorted(pl.col(column).cast(pl.Float64), side="left")
    counts = (
        lf.select(*keys, idx.cast(pl.Int64).alias("_i"))
        .group_by([*keys, "_i"])
        .agg(pl.len().alias("_c"))
        .collect()
    )
    if counts.height == 0:
        schema = {k: pl.String for k in keys} | {
            x_name: pl.Float64,
            "cdf": pl.Float64,
            "n": pl.Int64,
        }
        return pl.DataFrame(schema=schema)
    totals = counts.group_by(keys or pl.lit(1).alias("_all")).agg(pl.col("_c").sum().alias("n"))
    grid_frame = pl.DataFrame({"_i": list(range(len(grid_s))), x_name: grid_s})
    groups = totals.select(keys) if keys else pl.DataFrame({"_all": [1]})
    full = groups.join(grid_frame, how="cross")
    join_keys = keys or ["_all"]
    if not keys:
        counts = counts.with_columns(pl.lit(1).alias("_all"))
    out = (
        full.join(counts, on=[*join_keys, "_i"], how="left")
        .with_columns(pl.col("_c").fill_null(0))
        .sort([*join_keys, "_i"])
        .with_columns(pl.col("_c").cum_sum().over(join_keys).alias("_cum"))
        .join(totals, on=join_keys, how="left")
        .with_columns((pl.col("_cum") / pl.col("n")).alias("cdf"), pl.col("n").cast(pl.Int64))
    )
    return out.select(*keys, x_name, "cdf", "n")


def quantiles(
    frame: Frame,
    column: str,
    by: str | Sequence[str] | None = GROUP,
    qs: Sequence[float] = QUANTILES,
) -> pl.DataFrame:
    """Quantiles (linear interpolation) of ``column`` per group, in long format.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``quantile`` (0..1), ``value``.
    """
    keys = group_cols(by)
    aggs = [
        pl.col(column).quantile(q, interpolation="linear").alias(f"q{i}") for i, q in enumerate(qs)
    ]
    lf = lazy(frame).filter(pl.col(column).is_not_null())
    wide = (lf.group_by(keys).agg(aggs) if keys else lf.select(aggs)).collect()
    long = wide.unpivot(index=keys, variable_name="_q", value_name="value")
    mapping = {f"q{i}": float(q) for i, q in enumerate(qs)}
    return (
        long.with_columns(
            pl.col("_q").replace_strict(mapping, return_dtype=pl.Float64).alias("quantile")
        )
        .select(*keys, "quantile", pl.col("value").cast(pl.Float64))
        .sort([*keys, "quantile"])
    )


def quantile_cdf(
    frame: Frame,
    columns: dict[str, str],
    by: str | Sequence[str] | None = GROUP,
    points: int = 101,
) -> pl.DataFrame:
    """Empirical CDFs of several columns, each read at ``points`` evenly spaced quantiles.

    For values without a natural grid (cores, GB, Gbit/s): the curve has the same number of
    points whatever the data's range, and one pass per column computes it.

    Parameters
    ----------
    columns : dict
        Column name -> the ``measure`` label its curve gets.
    points : int
        Quantiles 0, 1/(points-1), ..., 1 (the minimum and the maximum included).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``measure``, ``value``, ``cdf`` (0..1), in the order of ``columns``.
    """
    if points < 2:
        raise ValueError(f"points must be at least 2, got {points}")
    keys = group_cols(by)
    qs = [i / (points - 1) for i in range(points)]
    frames = [
        quantiles(frame, column, keys, qs).select(
            *keys, pl.lit(name).alias("measure"), "value", pl.col("quantile").alias("cdf")
        )
        for column, name in columns.items()
    ]
    return pl.concat(frames)


def sort_groups(df: pl.DataFrame, keys: Sequence[str], extra: Sequence[str] = ()) -> pl.DataFrame:
    """Sort a tidy frame by its group keys (nulls last), then ``extra`` columns."""
    cols = [c for c in [*keys, *extra] if c in df.columns]
    return df.sort(cols, nulls_last=True) if cols else df
