"""Published scheduling results (findings.md §5), as a tidy frame to set beside replay output.

Every row names its source tag: ``SEC`` (secondary source quoting the paper, unverified), ``NB``
(printed by an official notebook), ``ART`` (an official artifact's log) or ``DER`` (derived).
"""

from __future__ import annotations

import polars as pl

# (trace, cluster, experiment, policy, metric, value, unit, source)
_ROWS: tuple[tuple[str, str, str, str, str, float, str, str], ...] = (
    # Helios SC'21 Table 3, September 2020 (FIFO vs SJF-oracle), quoted by FLEETSIM [SEC].
    ("helios", "Venus", "Sept 2020", "fifo", "jct_mean_s", 64_702, "s", "SEC"),
    ("helios", "Earth", "Sept 2020", "fifo", "jct_mean_s", 19_754, "s", "SEC"),
    ("helios", "Saturn", "Sept 2020", "fifo", "jct_mean_s", 55_984, "s", "SEC"),
    ("helios", "Uranus", "Sept 2020", "fifo", "jct_mean_s", 19_758, "s", "SEC"),
    ("helios", "Venus", "Sept 2020", "sjf", "fifo_over_policy_jct", 3.07, "ratio", "SEC"),
    ("helios", "Earth", "Sept 2020", "sjf", "fifo_over_policy_jct", 2.87, "ratio", "SEC"),
    ("helios", "Saturn", "Sept 2020", "sjf", "fifo_over_policy_jct", 6.59, "ratio", "SEC"),
    ("helios", "Uranus", "Sept 2020", "sjf", "fifo_over_policy_jct", 1.49, "ratio", "SEC"),
    ("helios", "Venus", "Sept 2020", "sjf", "fifo_over_policy_queue", 5.68, "ratio", "SEC"),
    ("helios", "Earth", "Sept 2020", "sjf", "fifo_over_policy_queue", 16.4, "ratio", "SEC"),
    ("helios", "Saturn", "Sept 2020", "sjf", "fifo_over_policy_queue", 18.5, "ratio", "SEC"),
    ("helios", "Uranus", "Sept 2020", "sjf", "fifo_over_policy_queue", 4.51, "ratio", "SEC"),
    ("helios", "all", "abstract", "qssf", "fifo_over_policy_jct_max", 6.5, "ratio", "ABS"),
    # Helios artifact, Philly Oct-Nov 2017, 11 VCs, consolidate placement [NB].
    ("philly", "philly", "Oct-Nov 2017", "fifo", "jct_mean_s", 86_072, "s", "NB"),
    ("philly", "philly", "Oct-Nov 2017", "sjf", "jct_mean_s", 34_272, "s", "NB"),
    ("philly", "philly", "Oct-Nov 2017", "srtf", "jct_mean_s", 30_683, "s", "NB"),
    ("philly", "philly", "Oct-Nov 2017", "qssf", "jct_mean_s", 37_324, "s", "NB"),
    ("philly", "philly", "Oct-Nov 2017", "fifo", "queue_mean_s", 56_531, "s", "NB"),
    ("philly", "philly", "Oct-Nov 2017", "sjf", "queue_mean_s", 4_731, "s", "NB"),
    ("philly", "philly", "Oct-Nov 2017", "srtf", "queue_mean_s", 1_138, "s", "NB"),
    ("philly", "philly", "Oct-Nov 2017", "qssf", "queue_mean_s", 7_783, "s", "NB"),
    ("philly", "philly", "Oct-Nov 2017", "qssf", "fifo_over_policy_jct", 2.31, "ratio", "NB"),
    # Lucid ASPLOS'23 abstract: vs Tiresias.
    ("helios", "Venus", "abstract", "lucid", "tiresias_over_policy_jct_max", 1.3, "ratio", "ABS"),
    # PAI simulator log, 20,000 jobs [ART]; SJF with CART predictions [SEC].
    ("pai", "pai", "simulator log", "fifo", "jct_mean_s", 7_918, "s", "ART"),
    ("pai", "pai", "simulator log", "sjf", "jct_mean_s", 5_989, "s", "ART"),
    ("pai", "pai", "simulator log", "fifo", "queue_mean_s", 2_880, "s", "ART"),
    ("pai", "pai", "simulator log", "sjf", "queue_mean_s", 950, "s", "ART"),
    ("pai", "pai", "slides", "sjf-pred", "jct_reduction_pct_low", 63, "%", "SEC"),
    ("pai", "pai", "slides", "sjf-pred", "jct_reduction_pct_high", 77, "%", "SEC"),
)


def published_results(trace: str | None = None) -> pl.DataFrame:
    """Published scheduling results, one row per (trace, cluster, experiment, policy, metric).

    Parameters
    ----------
    trace : str, optional
        Keep only this trace.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, experiment, policy, metric, value, unit, source``.
    """
    frame = pl.DataFrame(
        _ROWS,
        schema={
            "trace": pl.String,
            "cluster": pl.String,
            "experiment": pl.String,
            "policy": pl.String,
            "metric": pl.String,
            "value": pl.Float64,
            "unit": pl.String,
            "source": pl.String,
        },
        orient="row",
    )
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
