"""Submit-time features for job-duration prediction, computed from a store ``jobs`` frame.

Every feature of a job is computed **as of its submit instant** ``t``:

* history features use only jobs that *ended strictly before* ``t`` (``end_time < t``), so a job
  never sees its own outcome nor anything that finished after it was submitted;
* load features use only events (submit, start, end of other jobs) that happened strictly before
  ``t``; a job that started and has not ended by ``t`` counts as running even when its end is
  unknown (censored), because that fact is known at ``t``;
* the remaining features are the job's own request (GPUs, CPUs, GPU type, VC) and its local
  submit hour and weekday.

The computation is vectorized: per-key cumulative statistics over events sorted by time, then one
``join_asof`` per key set. Ties are broken by ``job_id`` so the result does not depend on row
order. See docs/predict.md.
"""

from __future__ import annotations

import polars as pl

from tracekit.timeutil import with_local_time

#: Statuses of jobs that ended (their duration is known); ``censored`` jobs did not.
FINISHED_STATUSES: tuple[str, ...] = ("completed", "failed", "canceled")
#: Durations are floored at this many seconds before taking logs (0-s jobs exist in the traces).
MIN_DURATION_S: float = 1.0
PART: tuple[str, str] = ("trace", "cluster")

#: Numeric feature columns produced by :func:`build_features`.
NUMERIC_FEATURES: tuple[str, ...] = (
    "num_gpus",
    "num_cpus",
    "local_hour",
    "local_weekday",
    "user_n",
    "user_mean_log_s",
    "user_median_log_s",
    "user_last_log_s",
    "user_completion_rate",
    "user_size_n",
    "user_size_median_log_s",
    "user_size_last_log_s",
    "group_n",
    "group_median_log_s",
    "group_last_log_s",
    "user_prev_submits",
    "user_gap_log_s",
    "cluster_running_gpus",
    "cluster_pending_gpus",
    "cluster_running_jobs",
    "cluster_pending_jobs",
    "vc_running_gpus",
    "vc_pending_gpus",
)
#: Categorical (string) feature columns produced by :func:`build_features`.
CATEGORICAL_FEATURES: tuple[str, ...] = ("vc", "gpu_type")
#: Identity and target columns kept next to the features (never used as model inputs).
ID_COLUMNS: tuple[str, ...] = (
    "trace",
    "cluster",
    "job_id",
    "user",
    "submit_time",
    "end_time",
    "status",
    "duration_s",
    "log_duration_s",
    "is_target",
)


def log_duration(col: str | pl.Expr = "duration_s") -> pl.Expr:
    """Natural log of a duration in seconds, floored at :data:`MIN_DURATION_S`."""
    expr = pl.col(col) if isinstance(col, str) else col
    return expr.clip(lower_bound=MIN_DURATION_S).log()


def _finished() -> pl.Expr:
    return (
        pl.col("status").is_in(list(FINISHED_STATUSES))
        & pl.col("end_time").is_not_null()
        & pl.col("duration_s").is_not_null()
    )


def _history(
    queries: pl.DataFrame,
    events: pl.DataFrame,
    key: str,
    prefix: str,
    window: int,
    with_mean: bool = True,
) -> pl.DataFrame:
    """As-of-submit statistics of finished jobs sharing ``key`` with each query row.

    ``events`` is sorted by (end_time, job_id) and has the integer ``key``, ``end_time``,
    ``log_d`` and ``ok`` (1 if completed). Statistics after each event are computed with
    cumulative and rolling window expressions; the query takes the last event ending strictly
    before its submit instant.
    """
    ev = events.drop_nulls(key)  # already sorted by (end_time, job_id); filtering keeps order
    n = pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(key)
    stats = [
        n.cast(pl.Float64).alias(f"{prefix}_n"),
        pl.col("log_d").rolling_median(window, min_samples=1).over(key)
        .alias(f"{prefix}_median_log_s"),
        pl.col("log_d").alias(f"{prefix}_last_log_s"),
    ]
    if with_mean:
        stats += [
            (pl.col("log_d").cum_sum().over(key) / n).alias(f"{prefix}_mean_log_s"),
            (pl.col("ok").cum_sum().over(key) / n).alias(f"{prefix}_completion_rate"),
        ]
    ev = ev.select(key, pl.col("end_time").alias("_t"), *stats)
    names = [c for c in ev.columns if c not in (key, "_t")]
    out = queries.select("_row", key, "submit_time").join_asof(
        ev,
        left_on="submit_time",
        right_on="_t",
        by=key,
        strategy="backward",
        allow_exact_matches=False,  # strictly before submit: never the job itself
        check_sortedness=False,  # both sides sorted by time; polars cannot check with `by`
    )
    return out.select(
        "_row",
        *[
            pl.when(pl.col(key).is_not_null()).then(pl.col(c).fill_null(0.0)).alias(c)
            if c.endswith("_n") else pl.col(c)
            for c in names
        ],
    )


def _load(queries: pl.DataFrame, jobs: pl.DataFrame, key: str, prefix: str) -> pl.DataFrame:
    """Running and pending GPUs/jobs of ``key`` (cluster or VC) just before each submit."""
    g = pl.col("num_gpus")
    started = jobs.filter(pl.col("start_time").is_not_null())
    ended = started.filter(pl.col("end_time").is_not_null())
    # A job canceled while pending never starts: it leaves the queue at its end.
    dropped = jobs.filter(pl.col("start_time").is_null() & pl.col("end_time").is_not_null())
    zero, one = pl.lit(0.0), pl.lit(1.0)
    deltas = pl.concat(
        [
            # pending: +at submit, -at start (or at end if it never started);
            # running: +at start, -at end
            jobs.select(key, pl.col("submit_time").alias("_t"), g.alias("pg"), one.alias("pj"),
                        zero.alias("rg"), zero.alias("rj")),
            started.select(key, pl.col("start_time").alias("_t"), (-g).alias("pg"),
                           (-one).alias("pj"), g.alias("rg"), one.alias("rj")),
            ended.select(key, pl.col("end_time").alias("_t"), zero.alias("pg"), zero.alias("pj"),
                         (-g).alias("rg"), (-one).alias("rj")),
            dropped.select(key, pl.col("end_time").alias("_t"), (-g).alias("pg"),
                           (-one).alias("pj"), zero.alias("rg"), zero.alias("rj")),
        ]
    ).drop_nulls(key)
    k, t = pl.col(key), pl.col("_t")
    levels = (
        deltas.sort([key, "_t"])
        .with_columns(pl.col("pg", "pj", "rg", "rj").cum_sum().over(key))
        # One row per (key, instant), the level after all its events, so the as-of match sees
        # every event before the submit instant at once (ties are common: traces have 1-s times).
        .filter((k != k.shift(-1)) | (t != t.shift(-1)) | k.shift(-1).is_null())
        .sort("_t")
        .select(
            key,
            "_t",
            pl.col("rg").alias(f"{prefix}_running_gpus"),
            pl.col("pg").alias(f"{prefix}_pending_gpus"),
            pl.col("rj").alias(f"{prefix}_running_jobs"),
            pl.col("pj").alias(f"{prefix}_pending_jobs"),
        )
    )
    names = [c for c in levels.columns if c not in (key, "_t")]
    out = queries.select("_row", key, "submit_time").join_asof(
        levels, left_on="submit_time", right_on="_t", by=key, strategy="backward",
        allow_exact_matches=False, check_sortedness=False,
    )
    # Rounding guards against float drift of long cumulative sums of fractional PAI GPUs.
    return out.select(
        "_row",
        *[pl.when(k.is_not_null()).then(pl.col(c).fill_null(0.0).round(6)).alias(c)
          for c in names],
    )


def _key(*cols: str) -> pl.Expr:
    """Integer code of a column tuple (null if any part is null), independent of row order."""
    code = pl.struct(cols).rank("dense").cast(pl.Int64)
    return pl.when(pl.all_horizontal(pl.col(c).is_not_null() for c in cols)).then(code)


def build_features(
    jobs: pl.DataFrame | pl.LazyFrame,
    *,
    gpu_only: bool = True,
    window: int = 20,
) -> pl.DataFrame:
    """Compute submit-time features for every job of a store ``jobs`` frame.

    Parameters
    ----------
    jobs : polars DataFrame or LazyFrame
        Rows of the store ``jobs`` table with ``trace`` and ``cluster`` columns (as returned by
        ``open_store(path).jobs(...)``); several clusters and traces may be mixed — histories
        and loads never cross a (trace, cluster) partition.
    gpu_only : bool
        Keep only GPU jobs (``num_gpus > 0``), both as rows and as history/load (default).
    window : int
        Number of most recent finished jobs in the rolling median history features.

    Returns
    -------
    polars.DataFrame
        :data:`ID_COLUMNS` plus :data:`NUMERIC_FEATURES` and :data:`CATEGORICAL_FEATURES`, one
        row per job in the input order (after the GPU filter). ``is_target`` marks jobs whose
        duration is known (finished, see :data:`FINISHED_STATUSES`); ``log_duration_s`` is null
        for the others.
    """
    frame = jobs.collect() if isinstance(jobs, pl.LazyFrame) else jobs
    if gpu_only:
        frame = frame.filter(pl.col("num_gpus") > 0)
    frame = frame.with_row_index("_row")
    finished = _finished()
    frame = frame.with_columns(
        finished.alias("is_target"),
        pl.when(finished).then(log_duration()).alias("log_duration_s"),
        pl.coalesce("group_tag", "job_name").alias("_group"),
    )
    frame = with_local_time(frame, "submit_time")
    assert isinstance(frame, pl.DataFrame)
    # Integer keys: joins and windows on one integer are much faster than on several strings.
    frame = frame.with_columns(
        _key(*PART).alias("_kc"),
        _key(*PART, "user").alias("_ku"),
        _key(*PART, "user", "num_gpus").alias("_kus"),
        _key(*PART, "_group").alias("_kg"),
        _key(*PART, "vc").alias("_kv"),
    ).sort(["submit_time", "job_id"])

    events = frame.filter(pl.col("is_target")).select(
        "_ku", "_kus", "_kg", "end_time", "job_id",
        pl.col("log_duration_s").alias("log_d"),
        (pl.col("status") == "completed").cast(pl.Float64).alias("ok"),
    ).sort(["end_time", "job_id"])  # sorted once for the three history key sets
    parts = [
        _history(frame, events, "_ku", "user", window),
        _history(frame, events, "_kus", "user_size", window, with_mean=False),
        _history(frame, events, "_kg", "group", window, with_mean=False),
        _load(frame, frame, "_kc", "cluster"),
        _load(frame, frame, "_kv", "vc").select("_row", "vc_running_gpus", "vc_pending_gpus"),
    ]
    # Submission habit: how many earlier submissions and how long since the previous one.
    sub = frame.select(
        pl.int_range(0, pl.len(), dtype=pl.Int64).over("_ku").cast(pl.Float64)
        .alias("user_prev_submits"),
        ((pl.col("submit_time") - pl.col("submit_time").shift(1)).over("_ku")
         .dt.total_microseconds().cast(pl.Float64) / 1e6 + 1.0).log().alias("user_gap_log_s"),
    )
    # join_asof keeps the left order, so every part is aligned with ``frame``: stack, no joins
    # (verified; should a polars version reorder, fall back to a join on the row index).
    out = pl.concat([frame, sub], how="horizontal")
    for part in parts:
        if part["_row"].equals(frame["_row"]):
            out = pl.concat([out, part.drop("_row")], how="horizontal")
        else:
            out = out.join(part, on="_row", how="left")
    return (
        out.sort("_row")
        .with_columns(
            pl.col("local_hour", "local_weekday").cast(pl.Float64),
            pl.col("num_gpus", "num_cpus").cast(pl.Float64),
        )
        .select(*ID_COLUMNS, *NUMERIC_FEATURES, *CATEGORICAL_FEATURES)
    )


__all__ = [
    "CATEGORICAL_FEATURES",
    "FINISHED_STATUSES",
    "ID_COLUMNS",
    "MIN_DURATION_S",
    "NUMERIC_FEATURES",
    "build_features",
    "log_duration",
]
