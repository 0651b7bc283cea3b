"""Users: concentration of GPU time and of queueing (Lorenz curves, top-k % shares), completion.

Top-k % shares follow Helios Figs. 8-9: users are sorted by their total, descending, and the
cumulative share is read at ``k %`` of the users, interpolating linearly between whole users
(so the top 0.5 % of 150 users is 0.75 of the top user's total).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tracekit.analysis._common import GROUP, Frame, gpu_jobs, gpu_time, group_cols, lazy

TOP_PCTS: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0)


def _value_expr(value: str) -> pl.Expr:
    """``gpu_time_s`` (recomputed when null), ``cpu_time_s`` (CPUs x duration) or any column."""
    if value == "gpu_time_s":
        return gpu_time()
    if value == "cpu_time_s":
        return pl.col("num_cpus") * pl.col("duration_s")
    return pl.col(value)


def user_totals(
    jobs: Frame,
    value: str = "gpu_time_s",
    by: str | Sequence[str] | None = GROUP,
    gpu_only: bool = True,
) -> pl.DataFrame:
    """Per-user total of ``value`` and job count, with the user's rank (1 = largest).

    Users with equal totals are ranked by user id, so the same jobs always give the same ranks.

    Returns
    -------
    polars.DataFrame
        ``by...``, ``user``, ``n_jobs``, ``total``, ``rank``, ``n_users``.
    """
    keys = group_cols(by)
    lf = gpu_jobs(jobs) if gpu_only else lazy(jobs)
    per = (
        lf.group_by([*keys, "user"])
        .agg(
            pl.len().cast(pl.Int64).alias("n_jobs"),
            _value_expr(value).fill_null(0.0).sum().cast(pl.Float64).alias("total"),
        )
        .collect()
    )
    win = keys or None
    # Sorted by total (largest first), then user, so tied users get the same ranks on every run.
    per = per.sort([*keys, "total", "user"], descending=[False] * len(keys) + [True, False],
                   nulls_last=True)  # fmt: skip
    rank = pl.int_range(1, pl.len() + 1)
    n = pl.len()
    return per.with_columns(
        (rank.over(win) if win else rank).cast(pl.Int64).alias("rank"),
        (n.over(win) if win else n).cast(pl.Int64).alias("n_users"),
    ).sort([*keys, "rank"])


def lorenz_curve(
    jobs: Frame,
    value: str = "gpu_time_s",
    by: str | Sequence[str] | None = GROUP,
    gpu_only: bool = True,
) -> pl.DataFrame:
    """Concentration curve: share of the total held by the top fraction of users.

    One point per user plus the origin: ``user_frac`` = (rank)/n_users with users sorted by their
    total descending, ``share`` = cumulative share of the total. (The classic Lorenz curve is the
    mirror image: ``1 - share`` at ``1 - user_frac``.)

    Returns
    -------
    polars.DataFrame
        ``by...``, ``user_frac``, ``share`` (both 0..1), ``n_users``.
    """
    keys = group_cols(by)
    t = user_totals(jobs, value, keys, gpu_only)
    win = keys or None

    def over(e: pl.Expr) -> pl.Expr:
        return e.over(win) if win else e

    pts = t.with_columns(
        (pl.col("rank") / pl.col("n_users")).alias("user_frac"),
        (over(pl.col("total").cum_sum()) / over(pl.col("total").sum())).alias("share"),
    ).select(*keys, "user_frac", "share", "n_users")
    origin = (
        pts.group_by(keys).agg(pl.col("n_users").first())
        if keys
        else pts.select(pl.col("n_users").first())
    )
    origin = origin.with_columns(pl.lit(0.0).alias("user_frac"), pl.lit(0.0).alias("share"))
    out = pl.concat([origin.select(pts.columns), pts], how="vertical_relaxed")
    return out.with_columns(pl.col("share").fill_nan(0.0)).sort([*keys, "user_frac"])


def top_share(
    jobs: Frame,
    value: str = "gpu_time_s",
    by: str | Sequence[str] | None = GROUP,
    pcts: Sequence[float] = TOP_PCTS,
    gpu_only: bool = True,
) -> pl.DataFrame:
    """Share (%) of the total ``value`` held by the top ``k %`` of users (findings H11, H13).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``top_pct``, ``share_pct``, ``n_users``.
    """
    keys = group_cols(by)
    t = user_totals(jobs, value, keys, gpu_only)
    win = keys or None

    def over(e: pl.Expr) -> pl.Expr:
        return e.over(win) if win else e

    t = t.with_columns(
        (over(pl.col("total").cum_sum()) / over(pl.col("total").sum())).alias("cum_share")
    )
    k = pl.DataFrame({"top_pct": [float(p) for p in pcts]})
    groups = t.select(*keys, "n_users").unique() if keys else t.select("n_users").unique()
    want = (
        groups.join(k, how="cross")
        .with_columns((pl.col("top_pct") / 100.0 * pl.col("n_users")).alias("_k"))
        .with_columns(pl.col("_k").floor().cast(pl.Int64).alias("_lo"))
    )
    # Linear interpolation between the cumulative shares at whole ranks _lo and _lo + 1.
    cum = t.select(*keys, "rank", "cum_share")
    lo = cum.rename({"rank": "_lo", "cum_share": "_s_lo"})
    hi = cum.rename({"rank": "_hi", "cum_share": "_s_hi"})
    out = (
        want.with_columns((pl.col("_lo") + 1).alias("_hi"))
        .join(lo, on=[*keys, "_lo"], how="left")
        .join(hi, on=[*keys, "_hi"], how="left")
        .with_columns(
            pl.col("_s_lo").fill_null(pl.when(pl.col("_lo") <= 0).then(0.0).otherwise(1.0)),
            pl.col("_s_hi").fill_null(1.0),
        )
        .with_columns(
            (
                100.0
                * (
                    pl.col("_s_lo")
                    + (pl.col("_k") - pl.col("_lo")) * (pl.col("_s_hi") - pl.col("_s_lo"))
                )
            )
            .fill_nan(None)
            .alias("share_pct")
        )
    )
    return out.select(*keys, "top_pct", "share_pct", "n_users").sort([*keys, "top_pct"])


def gini(
    jobs: Frame, value: str = "gpu_time_s", by: str | Sequence[str] | None = GROUP
) -> pl.DataFrame:
    """Gini coefficient of the per-user totals of ``value`` (GPU jobs).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``n_users``, ``gini`` (0 = equal, -> 1 = one user holds everything).
    """
    keys = group_cols(by)
    t = user_totals(jobs, value, keys)
    win = keys or None
    # Ascending rank i (1..n): G = sum((2i - n - 1) x_i) / (n sum x).
    asc = pl.col("n_users") - pl.col("rank") + 1
    term = (2 * asc - pl.col("n_users") - 1) * pl.col("total")
    agg = [
        pl.col("n_users").first(),
        (term.sum() / (pl.col("n_users").first() * pl.col("total").sum())).alias("gini"),
    ]
    out = t.group_by(keys).agg(agg) if win else t.select(agg)
    return out.sort(keys or "n_users")


def completion_rates(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, gpu_only: bool = True
) -> pl.DataFrame:
    """Per-user completion rate: completed GPU jobs / GPU jobs (finding H14).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``user``, ``n_jobs``, ``n_completed``, ``completion_rate`` (0..1).
    """
    keys = group_cols(by)
    lf = gpu_jobs(jobs) if gpu_only else lazy(jobs)
    return (
        lf.group_by([*keys, "user"])
        .agg(
            pl.len().cast(pl.Int64).alias("n_jobs"),
            (pl.col("status") == "completed").sum().cast(pl.Int64).alias("n_completed"),
        )
        .with_columns((pl.col("n_completed") / pl.col("n_jobs")).alias("completion_rate"))
        .collect()
        .sort([*keys, "user"])
    )


def completion_rate_histogram(
    jobs: Frame, by: str | Sequence[str] | None = GROUP, bins: int = 10
) -> pl.DataFrame:
    """Number of users per completion-rate bin (Helios Fig. 9b; the last bin includes 100 %).

    Returns
    -------
    polars.DataFrame
        ``by...``, ``bin_lo``, ``bin_hi`` (rates 0..1), ``n_users``.
    """
    keys = group_cols(by)
    rates = completion_rates(jobs, keys).with_columns(
        (pl.col("completion_rate") * bins).floor().clip(0, bins - 1).cast(pl.Int64).alias("_b")
    )
    counts = rates.group_by([*keys, "_b"]).agg(pl.len().cast(pl.Int64).alias("n_users"))
    groups = rates.select(keys).unique() if keys else pl.DataFrame({"_x": [0]})
    full = groups.join(pl.DataFrame({"_b": list(range(bins))}), how="cross")
    out = full.join(counts, on=[*keys, "_b"] if keys else ["_b"], how="left").with_columns(
        pl.col("n_users").fill_null(0),
        (pl.col("_b") / bins).alias("bin_lo"),
        ((pl.col("_b") + 1) / bins).alias("bin_hi"),
    )
    return out.select(*keys, "bin_lo", "bin_hi", "n_users").sort([*keys, "bin_lo"])
