"""Time zones, local hour/weekday columns and the PAI time-origin shift."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from tracekit.schema import TIMEZONES

# PAI times are seconds from a hidden origin. Read as Unix seconds in Asia/Shanghai they give the
# true hour and weekday with 1970 dates. Shifting by a whole number of weeks keeps hour and weekday
# and moves the dates to a plausible 2020-07 start (the trace covers July-August 2020).
PAI_TIMEZONE = "Asia/Shanghai"
_WEEK_S = 7 * 24 * 3600
_PAI_NOMINAL_START = datetime(2020, 7, 1, tzinfo=UTC)
PAI_SHIFT_S: int = (int(_PAI_NOMINAL_START.timestamp()) // _WEEK_S) * _WEEK_S


def as_utc(when: str | date | datetime) -> datetime:
    """An aware UTC datetime from ``YYYY-MM-DD[THH:MM[:SS]]`` text, a date or a datetime.

    Text and datetimes without an offset are taken as UTC; a date is its midnight UTC.

    Raises
    ------
    ValueError
        Text that is not an ISO date or time (the message shows the expected forms).
    TypeError
        Anything other than text, a date or a datetime.
    """
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when.strip())
        except ValueError:
            raise ValueError(
                f"{when!r} is not a date or time: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], "
                "optionally with a UTC offset such as +08:00"
            ) from None
    elif not isinstance(when, date):
        raise TypeError(f"expected text, a date or a datetime, got {type(when).__name__}")
    elif not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def timezone_of(trace: str) -> str:
    """IANA time zone of a trace's local wall clock."""
    try:
        return TIMEZONES[trace]
    except KeyError:
        raise KeyError(f"unknown trace {trace!r}; known: {sorted(TIMEZONES)}") from None


def pai_seconds_to_utc(seconds: pl.Expr) -> pl.Expr:
    """Map raw PAI seconds to a UTC timestamp shifted by whole weeks (see :data:`PAI_SHIFT_S`).

    ``0`` and null both mean missing in the raw files and become null.
    """
    s = pl.when(seconds > 0).then(seconds).otherwise(None)
    return ((s + PAI_SHIFT_S) * 1_000_000).cast(pl.Int64).cast(pl.Datetime("us", "UTC"))


def localize_naive(naive: pl.Expr, tz: str) -> pl.Expr:
    """Interpret naive wall-clock datetimes in ``tz`` and convert them to UTC.

    Ambiguous times (DST fall-back) resolve to the earlier instant; non-existent ones are null.
    """
    return (
        naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .dt.cast_time_unit("us")
    )


def with_local_time(
    frame: pl.LazyFrame | pl.DataFrame,
    column: str = "submit_time",
    tz: str | None = None,
    trace_column: str = "trace",
) -> pl.LazyFrame | pl.DataFrame:
    """Add ``local_hour`` (0-23), ``local_weekday`` (1=Mon..7=Sun) and ``local_date`` columns.

    Parameters
    ----------
    frame : polars LazyFrame or DataFrame
        A store frame with a UTC timestamp ``column``.
    column : str
        The timestamp to localize.
    tz : str, optional
        Time zone to use for every row. When omitted, each row uses its trace's zone, read from
        ``trace_column`` (so a multi-trace frame gets each trace's own local time).
    trace_column : str
        Column naming the trace, used when ``tz`` is None.

    Returns
    -------
    Same type as ``frame`` with three new columns.
    """
    if tz is not None:
        local = pl.col(column).dt.convert_time_zone(tz)
        return frame.with_columns(
            local.dt.hour().cast(pl.Int8).alias("local_hour"),
            local.dt.weekday().cast(pl.Int8).alias("local_weekday"),
            local.dt.date().alias("local_date"),
        )
    parts: list[pl.Expr] = []
    hours, weekdays, dates = [], [], []
    for trace, zone in TIMEZONES.items():
        local = pl.col(column).dt.convert_time_zone(zone)
        cond = pl.col(trace_column) == trace
        hours.append((cond, local.dt.hour()))
        weekdays.append((cond, local.dt.weekday()))
        dates.append((cond, local.dt.date()))
    for name, cases, dtype in (
        ("local_hour", hours, pl.Int8),
        ("local_weekday", weekdays, pl.Int8),
        ("local_date", dates, pl.Date),
    ):
        expr: pl.Expr = pl.lit(None, dtype=dtype)
        for cond, value in reversed(cases):
            expr = pl.when(cond).then(value.cast(dtype)).otherwise(expr)
        parts.append(expr.alias(name))
    return frame.with_columns(parts)


__all__ = [
    "PAI_SHIFT_S",
    "PAI_TIMEZONE",
    "as_utc",
    "localize_naive",
    "pai_seconds_to_utc",
    "timezone_of",
    "with_local_time",
]
