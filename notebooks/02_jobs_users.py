# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 — Jobs, users and arrivals
#
# How big and how long are the jobs, who holds the GPU time, and when do jobs arrive? Job sizes
# and the GPU time they hold, durations by size and final status (GPU and CPU jobs), how
# concentrated GPU time is over users, the daily, weekly and monthly arrival patterns, and PAI's
# workload mix and recurring jobs.
#
# A *GPU job* has at least one GPU; GPU time = GPUs × duration. Times are local to each trace
# (Philly: US Pacific, Helios and PAI: China Standard Time). Definitions: `docs/analysis.md`.

# %% tags=["parameters"]
store = "data/parquet"
traces = None
clusters = None

# %%
import polars as pl
from IPython.display import Markdown, display

import tracekit
from tracekit import plots
from tracekit.analysis import arrivals, findings, findings_table, jobs, summary, users

st = tracekit.open_store(store)
plots.mark_synthetic(st.is_synthetic())
present, missing = summary.select_traces(st, traces)
display(Markdown(summary.data_banner(st, missing)))
jf = st.scan("jobs", trace=present, cluster=clusters)

# %% [markdown]
# ## Job sizes: share of jobs vs share of GPU time
#
# Helios (Fig. 6): 1-GPU jobs are 52–89 % of GPU jobs but hold only 3–12 % of the GPU time,
# while jobs above 8 GPUs hold more than half of it.

# %%
if "helios" in present:
    pmf = jobs.size_pmf(st.scan("jobs", trace="helios", cluster=clusters), scheme="helios")
    plots.size_shares(pmf, title="Helios: jobs vs GPU time by job size (Fig. 6 buckets)").show()
    one = pmf.filter(pl.col("size_bucket") == pmf["size_bucket"][0])
    display(Markdown(
        "Here 1-GPU jobs are "
        + ", ".join(f"{c} {100 * j:.0f} % of jobs / {100 * g:.0f} % of GPU time"
                    for c, j, g in one.select("cluster", "job_share", "gpu_time_share").rows())
        + "."
    ))
for t in [t for t in present if t != "helios"]:
    pmf_t = jobs.size_pmf(st.scan("jobs", trace=t, cluster=clusters), scheme="philly")
    plots.size_shares(pmf_t, title=f"{t}: jobs vs GPU time by job size").show()

# %%
plots.table(jobs.gpu_size_stats(jf), title="GPUs per GPU job")

# %% [markdown]
# ## Durations (log axis, as in Helios Fig. 5 and the Philly notebook's Fig. 2)

# %%
plots.duration_cdf(jobs.duration_cdf(jf), title="GPU-job duration CDF").show()
plots.table(jobs.duration_summary(jf), title="GPU-job durations (s)")

# %%
by_size = jobs.duration_cdf_by_size(jf, scheme="philly")
plots.duration_cdf(by_size, color=["cluster", "size_bucket"],
                   title="Duration CDF by job size (1 / 2–4 / 5–8 / >8 GPUs)").show()
plots.table(jobs.duration_quantiles(jf, qs=(0.5, 0.9), scheme="philly"),
            title="Median and p90 duration by size (s)")

# %%
plots.duration_cdf(jobs.duration_cdf_by_status(jf), color=["cluster", "status"],
                   title="Duration CDF by final status").show()

# %%
plots.table(jobs.size_duration_correlation(jf), title="Do bigger jobs run longer?")

# %% [markdown]
# ### Helios CPU jobs (Fig. 5b)
#
# Helios found CPU jobs far shorter than GPU jobs: median 1–32 s per cluster, and 88 % of
# Earth's CPU jobs end within a second.

# %%
if "helios" in present:
    hj = st.scan("jobs", trace="helios", cluster=clusters)
    plots.duration_cdf(jobs.duration_cdf(hj, kind="cpu"),
                       title="Helios: CPU-job duration CDF (Fig. 5b)").show()
    cpu_med = (hj.filter(pl.col("num_gpus") == 0).group_by("cluster")
               .agg(pl.col("duration_s").median()).sort("cluster").collect())
    display(Markdown("Here the median CPU job runs "
                     + ", ".join(f"{c} {m:,.0f} s" for c, m in cpu_med.rows()) + "."))

# %% [markdown]
# ## Users: concentration of GPU time
#
# Helios (Fig. 8a): the top 1 % of users hold 20–32 % of the GPU time, the top 10 % 64–77 %.

# %%
plots.lorenz(users.lorenz_curve(jf), title="GPU time held by the largest users").show()
top = users.top_share(jf)
plots.top_share(top, title="Top-k % users' share of GPU time",
                y_title="share of GPU time (%)").show()
plots.table(top.pivot(on="top_pct", index=["trace", "cluster"], values="share_pct"),
            title="Share of GPU time (%) held by the top k % of users")

# %%
plots.table(users.gini(jf), title="Gini coefficient of GPU time over users")

# %% [markdown]
# ### Helios CPU time over users (Fig. 8b)
#
# Helios found CPU time even more concentrated than GPU time: a handful of users run most CPU
# jobs. CPU time = CPUs × duration of CPU-only jobs.

# %%
if "helios" in present:
    cpu_jobs = (st.scan("jobs", trace="helios", cluster=clusters)
                .filter(pl.col("num_gpus") == 0)
                .with_columns((pl.col("num_cpus") * pl.col("duration_s")).alias("cpu_time_s")))
    cpu_top = users.top_share(cpu_jobs, "cpu_time_s", gpu_only=False)
    plots.top_share(cpu_top, title="Helios: top-k % users' share of CPU time (Fig. 8b)",
                    y_title="share of CPU time (%)").show()
    at1 = cpu_top.filter(pl.col("top_pct") == 1.0).select("cluster", "share_pct").rows()
    display(Markdown("Here the top 1 % of CPU users hold "
                     + ", ".join(f"{c} {s:.0f} %" for c, s in at1) + " of the CPU time."))

# %% [markdown]
# ## Arrivals (local time of each trace)
#
# Helios (Fig. 2b) and PAI both show a strong diurnal submission pattern.

# %%
hourly = arrivals.by_hour(jf)
plots.hourly_profile(hourly, "relative", title="GPU-job submissions by hour (mean = 1)").show()
for (t, c), part in arrivals.hour_weekday(jf).partition_by(["trace", "cluster"],
                                                           as_dict=True).items():
    plots.hour_weekday_heatmap(part, title=f"{t}/{c}: GPU-job submissions per hour").show()

# %%
plots.table(arrivals.by_weekday(jf).pivot(on="weekday", index=["trace", "cluster"],
                                          values="relative"),
            title="Submissions per weekday (mean over the week = 1)")

# %%
plots.table(arrivals.burstiness(jf, bin_minutes=10),
            title="Burstiness of GPU-job arrivals (10-minute bins)")

# %% [markdown]
# ## Monthly trends (Helios Fig. 3)
#
# Helios saw 16k–199k GPU jobs per cluster and month from April to September 2020, with
# multi-GPU jobs 10 % (Earth) to 47 % (Venus) of them.

# %%
monthly = arrivals.by_month(jf)
if monthly.height:
    long = pl.concat([
        monthly.select("trace", "cluster", "month",
                       (pl.col("n_jobs") - pl.col("n_multi_gpu")).alias("jobs"),
                       pl.lit("single-GPU").alias("kind")),
        monthly.select("trace", "cluster", "month", pl.col("n_multi_gpu").alias("jobs"),
                       pl.lit("multi-GPU").alias("kind")),
    ]).with_columns(pl.col("month").dt.strftime("%Y-%m"))
    plots.bars(long.sort("trace", "cluster", "month"), "month", "jobs", "kind", facet="cluster",
               title="GPU jobs per month, single- vs multi-GPU", y_title="GPU jobs",
               log_y=False).show()
    share = monthly.group_by("trace", "cluster").agg(
        (pl.col("n_multi_gpu").sum() / pl.col("n_jobs").sum() * 100).alias("multi")
    ).sort("trace", "cluster")
    display(Markdown("Here multi-GPU jobs are "
                     + ", ".join(f"{t}/{c} {m:.0f} %" for t, c, m in share.rows())
                     + f" of GPU jobs, over {monthly['month'].n_unique()} months."))

# %% [markdown]
# ## PAI: the workload (official notebook's overview), its tags and recurring jobs
#
# Alibaba PAI (NSDI'22) describes more than 1,300 users submitting 1.2 million tasks in two
# months, a minority of them tagged with their model family, and reports that 65 % of tasks
# recur at least five times, which is what makes their durations predictable.

# %%
if "pai" in present:
    pj = st.scan("jobs", trace="pai")
    ptasks = st.scan("tasks", trace="pai")
    per_day = (ptasks.group_by(pl.col("start_time").dt.truncate("1d").alias("time"))
               .agg(pl.len().alias("tasks")).sort("time").collect())
    plots.lines(per_day.with_columns(pl.lit("tasks").alias("what")), "time", "tasks", "what",
                title="PAI: tasks started per day", y_title="tasks / day").show()
    volume = pl.concat([
        pj.select(pl.len().alias("jobs"), pl.col("user").n_unique().alias("users")).collect(),
        ptasks.select(pl.len().alias("tasks"),
                      pl.col("inst_num").sum().cast(pl.Int64).alias("instances")).collect(),
    ], how="horizontal")
    display(plots.table(volume, title="PAI: volume of the workload"))

# %%
if "pai" in present:
    tags = (pj.with_columns(pl.col("workload").fill_null("(untagged)"))
            .group_by("workload")
            .agg(pl.len().alias("n"), pl.col("gpu_time_s").sum().alias("g"))
            .with_columns(pl.col("n") / pl.col("n").sum(), pl.col("g") / pl.col("g").sum())
            .sort("n", descending=True).collect())
    tag_long = pl.concat([
        tags.select("workload", pl.col("n").alias("share"), pl.lit("jobs").alias("of")),
        tags.select("workload", pl.col("g").alias("share"), pl.lit("GPU time").alias("of")),
    ])
    plots.bars(tag_long, "workload", "share", "of", percent_y=True, log_y=False,
               title="PAI: jobs and GPU time by workload tag", x_title="workload tag",
               y_title="share (%)").show()
    runs = (pj.filter(pl.col("group_tag").is_not_null())
            .with_columns(pl.len().over("group_tag").alias("runs")).collect())
    recur = pl.DataFrame({"at_least_runs": [1, 2, 5, 10, 50]}).with_columns(
        pl.col("at_least_runs").map_elements(
            lambda k: float((runs["runs"] >= k).mean()), return_dtype=pl.Float64
        ).alias("share")
    )
    plots.bars(recur, "at_least_runs", "share", percent_y=True, log_y=False,
               title="PAI: jobs whose recurring group ran at least k times",
               x_title="k (runs of the same group)", y_title="share of jobs (%)").show()
    five = recur.filter(pl.col("at_least_runs") == 5)["share"][0]
    display(Markdown(f"Here {100 * five:.0f} % of PAI jobs belong to a group that ran at least "
                     "five times (published: 65 % of tasks)."))

# %% [markdown]
# ## Published vs measured

# %%
ft = findings_table(st, traces=present, ids=findings.SECTIONS["jobs_users"])
plots.findings_table(ft, title="Jobs, users, arrivals: published vs measured")
