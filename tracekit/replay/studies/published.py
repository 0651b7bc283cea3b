"""Published scheduling results, as a tidy frame to set beside replay output.

The numbers are data (``tracekit/replay/studies/published.csv``); every row names its source
tag (``SEC``: a secondary source quoting the paper, unverified; ``NB``: printed by an official
notebook; ``ART``: an official artifact's log; ``ABS``: an abstract; ``DER``: derived from the
rows above) and its reference.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import polars as pl

PUBLISHED_SCHEMA: dict[str, type[pl.DataType]] = {
    "trace": pl.String,
    "cluster": pl.String,
    "experiment": pl.String,
    "policy": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
    "unit": pl.String,
    "source": pl.String,
    "reference": pl.String,
}


@cache
def _read() -> pl.DataFrame:
    data = resources.files("tracekit.replay.studies").joinpath("published.csv").read_bytes()
    return pl.read_csv(data, schema=PUBLISHED_SCHEMA)


def published_results(trace: str | None = None) -> pl.DataFrame:
    """Published scheduling results, one row per (trace, cluster, experiment, policy, metric).

    Parameters
    ----------
    trace : str, optional
        Keep only this trace.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, experiment, policy, metric, value, unit, source, reference``.
    """
    frame = _read()
    return frame if trace is None else frame.filter(pl.col("trace") == trace)


def fifo_ratios(summary: pl.DataFrame, baseline: str = "fifo") -> pl.DataFrame:
    """FIFO-over-policy ratios of mean JCT and queueing from a policy comparison table.

    Parameters
    ----------
    summary : polars.DataFrame
        One row per policy with ``policy``, ``jct_mean_s`` and ``queue_mean_s`` (for example the
        overall rows of :func:`tracekit.replay.compare`).
    baseline : str
        The policy in the numerator.

    Returns
    -------
    polars.DataFrame
        ``policy, jct_mean_s, queue_mean_s, fifo_over_policy_jct, fifo_over_policy_queue``.
    """
    base = summary.filter(pl.col("policy") == baseline)
    if base.height != 1:
        raise ValueError(f"expected exactly one {baseline!r} row, found {base.height}")
    jct0, q0 = base["jct_mean_s"][0], base["queue_mean_s"][0]
    return summary.select(
        "policy",
        "jct_mean_s",
        "queue_mean_s",
        (pl.lit(jct0) / pl.col("jct_mean_s")).alias("fifo_over_policy_jct"),
        pl.when(pl.col("queue_mean_s") > 0)
        .then(pl.lit(q0) / pl.col("queue_mean_s"))
        .otherwise(None)
        .alias("fifo_over_policy_queue"),
    )
