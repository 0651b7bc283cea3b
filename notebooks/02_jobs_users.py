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
# Job sizes and the GPU time they hold, durations (overall, by size, by final status), how size
# and duration co-vary, how concentrated GPU time is over users, and when jobs arrive (local
# time of each trace). Definitions: docs/analysis.md. A "GPU job" has `num_gpus > 0`; GPU time =
# `num_gpus × duration_s`.

# %% tags=["parameters"]
store = "data/parquet"
traces = None
clusters = None

# %%
from IPython.display import Markdown, display

import tracekit
from tracekit import plots
from tracekit.analysis import arrivals, findings, findings_table, jobs, summary, users

st = tracekit.open_store(store)
present, missing = summary.select_traces(st, traces)
display(Markdown(summary.data_banner(st, missing)))
jf = st.scan("jobs", trace=present, cluster=clusters)

# %% [markdown]
# ## Job sizes: share of jobs vs share of GPU time

# %%
if "helios" in present:
    pmf = jobs.size_pmf(st.scan("jobs", trace="helios", cluster=clusters), scheme="helios")
    plots.size_shares(pmf, title="Helios: jobs vs GPU time by size (Fig. 6 buckets)").show()
for t in [t for t in present if t != "helios"]:
    pmf_t = jobs.size_pmf(st.scan("jobs", trace=t, cluster=clusters), scheme="philly")
    plots.size_shares(pmf_t, title=f"{t}: jobs vs GPU time by size").show()

# %%
jobs.gpu_size_stats(jf)

# %% [markdown]
# ## Durations (log axis, as in Helios Fig. 5 and the Philly notebook)

# %%
plots.duration_cdf(jobs.duration_cdf(jf), title="GPU-job duration CDF").show()
jobs.duration_summary(jf)

# %%
by_size = jobs.duration_cdf_by_size(jf, scheme="philly")
plots.duration_cdf(by_size, color=["cluster", "size_bucket"],
                   title="Duration CDF by size (1 / 2-4 / 5-8 / >8 GPUs)").show()
jobs.duration_quantiles(jf, qs=(0.5, 0.9), scheme="philly")

# %%
plots.duration_cdf(jobs.duration_cdf_by_status(jf), color=["cluster", "status"],
                   title="Duration CDF by final status").show()

# %%
jobs.size_duration_correlation(jf)

# %% [markdown]
# ## Users: concentration of GPU time

# %%
plots.lorenz(users.lorenz_curve(jf), title="GPU time held by the largest users").show()
top = users.top_share(jf)
plots.top_share(top, title="Top-k % users' share of GPU time").show()
top.pivot(on="top_pct", index=["trace", "cluster"], values="share_pct")

# %%
users.gini(jf)

# %% [markdown]
# ## Arrivals (local time of each trace)

# %%
hourly = arrivals.by_hour(jf)
plots.hourly_profile(hourly, "relative", title="GPU-job submissions by hour (mean = 1)").show()
for (t, c), part in arrivals.hour_weekday(jf).partition_by(["trace", "cluster"],
                                                           as_dict=True).items():
    plots.hour_weekday_heatmap(part, title=f"{t}/{c}: GPU-job submissions per hour").show()

# %%
arrivals.by_weekday(jf).pivot(on="weekday", index=["trace", "cluster"], values="relative")

# %%
plots.lines(arrivals.by_month(jf), "month", "n_jobs", ["trace", "cluster"],
            title="GPU jobs per month", y_title="jobs").show()

# %%
arrivals.burstiness(jf, bin_minutes=10)

# %% [markdown]
# ## Published vs measured

# %%
ft = findings_table(st, traces=present, ids=findings.SECTIONS["jobs_users"])
plots.findings(ft, title="Jobs, users, arrivals: published vs measured").show()
ft.select("finding_id", "cluster", "metric", "published", "source", "measured", "agreement")
