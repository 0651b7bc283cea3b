"""Tables of a scheduler-replay study: runs labelled by policy and duration source, mean-JCT
ratios against a baseline policy beside the published ones, JCT distributions.

The functions take the study's own frames (the summary that ``tracekit reports`` writes as
``replay_study.csv``, its per-job table, and the published results of
:func:`tracekit.replay.studies.published_results`) and never replay anything, so the analysis
package stays independent of :mod:`tracekit.replay`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from tracekit.analysis._common import LOG2_GRID_S, Frame, eager, grid_cdf, group_cols

#: Duration sources of the headline runs: none needed (FIFO, Tiresias), the true durations, and
#: LightGBM's predictions.
MAIN_PREDICTORS: tuple[str, ...] = ("none", "oracle", "lgbm")
STUDY_KEYS: tuple[str, ...] = ("trace", "cluster")


def run_label(frame: Frame) -> pl.DataFrame:
    """Add ``run``: the policy with its duration source, e.g. ``"fifo"``, ``"sjf (oracle)"``,
    ``"qssf (lgbm)"`` (``predictor = "none"`` adds nothing).

    Returns
    -------
    polars.DataFrame
        ``frame`` with a ``run`` column.
    """
    return eager(frame).with_columns(
        pl.when(pl.col("predictor") == "none")
        .then(pl.col("policy"))
        .otherwise(pl.col("policy") + " (" + pl.col("predictor") + ")")
        .alias("run")
    )


def over_policy(
    summary: Frame, baseline: str = "fifo", predictors: Sequence[str] = MAIN_PREDICTORS
) -> pl.DataFrame:
    """Baseline's mean JCT over each policy's, per (trace, cluster): 2.0 = the policy halves it.

    For a policy run with several duration sources, the first of ``predictors`` is kept (so by
    default SJF with the true durations, QSSF with LightGBM).

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, policy, predictor, run, jct_mean_s, baseline_jct_mean_s, ratio``.
    """
    order = {p: i for i, p in enumerate(predictors)}
    runs = (
        run_label(summary)
        .filter(pl.col("predictor").is_in(list(predictors)))
        .with_columns(pl.col("predictor").replace_strict(order, return_dtype=pl.Int32).alias("_o"))
        .sort([*STUDY_KEYS, "policy", "_o"])
        .unique([*STUDY_KEYS, "policy"], keep="first", maintain_order=True)
        .drop("_o")
    )
    base = runs.filter(pl.col("policy") == baseline).select(
        *STUDY_KEYS, pl.col("jct_mean_s").alias("baseline_jct_mean_s")
    )
    return (
        runs.join(base, on=list(STUDY_KEYS), how="inner")
        .with_columns((pl.col("baseline_jct_mean_s") / pl.col("jct_mean_s")).alias("ratio"))
        .select(*STUDY_KEYS, "policy", "predictor", "run", "jct_mean_s", "baseline_jct_mean_s",
                "ratio")  # fmt: skip
    )


def published_fifo_ratios(published: Frame) -> pl.DataFrame:
    """FIFO's mean JCT over each policy's as published: quoted ratios (``fifo_over_policy_jct``)
    first, else derived from the published mean JCTs of the same experiment.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, policy, published, reference``.
    """
    pub = eager(published)
    jct = pub.filter(pl.col("metric") == "jct_mean_s")
    fifo = jct.filter(pl.col("policy") == "fifo").select(
        *STUDY_KEYS, "experiment", pl.col("value").alias("_fifo")
    )
    derived = (
        jct.filter(pl.col("policy") != "fifo")
        .join(fifo, on=[*STUDY_KEYS, "experiment"], how="inner")
        .select(*STUDY_KEYS, "policy", (pl.col("_fifo") / pl.col("value")).alias("published"),
                "reference")  # fmt: skip
    )
    quoted = pub.filter(pl.col("metric") == "fifo_over_policy_jct").select(
        *STUDY_KEYS, "policy", pl.col("value").alias("published"), "reference"
    )
    return pl.concat([quoted, derived]).unique(
        [*STUDY_KEYS, "policy"], keep="first", maintain_order=True
    )


def beside_published(
    summary: Frame, published: Frame, predictors: Sequence[str] = MAIN_PREDICTORS
) -> pl.DataFrame:
    """FIFO-over-policy mean-JCT ratios of the study beside the published ones (Helios SC'21
    Table 3, the Helios artifact's Philly replay, the PAI simulator), where both exist.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, policy, run, ours, published, reference``.
    """
    ours = over_policy(summary, "fifo", predictors).select(
        *STUDY_KEYS, "policy", "run", pl.col("ratio").alias("ours")
    )
    return ours.join(published_fifo_ratios(published), on=[*STUDY_KEYS, "policy"], how="inner")


def modes_beside_published(summaries: Mapping[str, Frame], published: Frame) -> pl.DataFrame:
    """FIFO's mean JCT and FIFO/SJF (oracle) ratio of the same jobs replayed in several modes
    (e.g. head-of-line as published, EASY backfill), beside the published ones.

    Parameters
    ----------
    summaries : mapping of str to frame
        Mode name -> a study summary (``replay_study.csv`` rows) with FIFO and SJF (oracle).
    published : frame
        :func:`tracekit.replay.studies.published_results`.

    Returns
    -------
    polars.DataFrame
        ``trace, cluster, mode, fifo_jct_mean_s, published_fifo_jct_mean_s, fifo_over_sjf,
        published_fifo_over_sjf``, for the (trace, cluster) pairs with a published FIFO/SJF.
    """
    pub = eager(published)
    pub_jct = pub.filter((pl.col("policy") == "fifo") & (pl.col("metric") == "jct_mean_s"))
    pub_jct = pub_jct.select(*STUDY_KEYS, pl.col("value").alias("published_fifo_jct_mean_s"))
    pub_ratio = published_fifo_ratios(pub).filter(pl.col("policy") == "sjf")
    pub_ratio = pub_ratio.select(*STUDY_KEYS, pl.col("published").alias("published_fifo_over_sjf"))
    frames = [
        over_policy(summary)
        .filter(pl.col("run") == "sjf (oracle)")
        .join(pub_ratio, on=list(STUDY_KEYS), how="inner")
        .select(*STUDY_KEYS, pl.lit(mode).alias("mode"),
                pl.col("baseline_jct_mean_s").alias("fifo_jct_mean_s"),
                pl.col("ratio").alias("fifo_over_sjf"), "published_fifo_over_sjf")  # fmt: skip
        for mode, summary in summaries.items()
    ]
    if not frames:
        return pl.DataFrame()
    return (
        pl.concat(frames)
        .sort(list(STUDY_KEYS), maintain_order=True)
        .join(pub_jct, on=list(STUDY_KEYS), how="left", maintain_order="left")
        .select(*STUDY_KEYS, "mode", "fifo_jct_mean_s", "published_fifo_jct_mean_s",
                "fifo_over_sjf", "published_fifo_over_sjf")  # fmt: skip
    )


def jct_cdf(
    per_job: Frame,
    by: str | Sequence[str] | None = (*STUDY_KEYS, "run"),
    grid: Sequence[float] = LOG2_GRID_S,
) -> pl.DataFrame:
    """CDF of job completion time (queueing + run) on a log2-second grid, per run (Lucid,
    ASPLOS'23, compares schedulers by this whole distribution, not only its mean).

    Parameters
    ----------
    per_job : frame
        One row per replayed job and run: ``jct_s`` and the ``by`` columns (label runs with
        :func:`run_label` first to group by ``run``).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``jct_s``, ``cdf``, ``n``.
    """
    return grid_cdf(per_job, "jct_s", group_cols(by), grid)


__all__ = [
    "MAIN_PREDICTORS",
    "beside_published",
    "jct_cdf",
    "modes_beside_published",
    "over_policy",
    "published_fifo_ratios",
    "run_label",
]
