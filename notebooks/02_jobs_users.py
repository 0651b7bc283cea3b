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
traces = "philly,helios,pai"
clusters = None
results = None  # the reports folder: findings.csv is read from it, not measured again

# %%
import polars as pl
from IPython.display import Markdown, display

import tracekit
from tracekit import plots
from tracekit.analysis import arrivals, findings, findings_table, jobs, summary, users

st, present, missing = tracekit.reports.open_report(store, traces)
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
    hcpu = hj.filter(pl.col("num_gpus") == 0)
    plots.duration_cdf(jobs.duration_cdf(hj, kind="cpu"),
                       title="Helios: CPU-job duration CDF (Fig. 5b)").show()
    cpu_med = jobs.duration_summary(hcpu, gpu_only=False)
    display(Markdown("Here the median CPU job runs " + ", ".join(
        f"{c} {m:,.0f} s" for c, m in cpu_med.select("cluster", "median_s").rows()) + "."))

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
    cpu_top = users.top_share(hcpu, "cpu_time_s", gpu_only=False)
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
    long = monthly.unpivot(index=["trace", "cluster", "month"],
                           on=["n_single_gpu", "n_multi_gpu"], variable_name="kind",
                           value_name="jobs")
    long = long.with_columns(pl.col("month").dt.strftime("%Y-%m"), pl.col("kind").replace(
        {"n_single_gpu": "single-GPU", "n_multi_gpu": "multi-GPU"}))
    plots.bars(long.sort("trace", "cluster", "month"), "month", "jobs", "kind", facet="cluster",
               title="GPU jobs per month, single- vs multi-GPU", y_title="GPU jobs",
               log_y=False).show()
    # multi-GPU = every size bucket above one GPU
    one = jobs.size_pmf(jf, scheme="philly").filter(pl.col("size_bucket") == "1")
    display(Markdown("Here multi-GPU jobs are " + ", ".join(
        f"{t}/{c} {100 * (1 - s):.0f} %" for t, c, s in
        one.select("trace", "cluster", "job_share").rows())
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
    per_day = arrivals.by_day(ptasks, gpu_only=False, time="start_time")
    plots.lines(per_day, "local_date", "n", "cluster", title="PAI: tasks started per day",
                x_title="date (China Standard Time)", y_title="tasks / day").show()
    display(plots.table(summary.pai_volume(pj, ptasks), title="PAI: volume of the workload"))

# %%
if "pai" in present:
    tags = jobs.workload_shares(pj, gpu_only=False, untagged="(untagged)")
    tag_long = tags.unpivot(index="workload", on=["job_share", "gpu_time_share"],
                            variable_name="of", value_name="share")
    plots.bars(tag_long.with_columns(pl.col("of").replace({"job_share": "jobs",
                                                           "gpu_time_share": "GPU time"})),
               "workload", "share", "of", percent_y=True, log_y=False,
               title="PAI: jobs and GPU time by workload tag", x_title="workload tag",
               y_title="share (%)").show()
    recur = jobs.recurring_share(pj)
    plots.bars(recur, "at_least_runs", "share", percent_y=True, log_y=False,
               title="PAI: jobs whose recurring group ran at least k times",
               x_title="k (runs of the same group)", y_title="share of jobs (%)").show()
    five = recur.filter(pl.col("at_least_runs") == 5)["share"][0]
    display(Markdown(f"Here {100 * five:.0f} % of PAI jobs belong to a group that ran at least "
                     "five times (published: 65 % of tasks)."))

# %% [markdown]
# ## Published vs measured

# %%
ft = findings_table(st, traces=present, ids=findings.SECTIONS["jobs_users"],
                    saved=results)
plots.findings_table(ft, title="Jobs, users, arrivals: published vs measured")
