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
# # 09 — Acme: LLM development clusters Seren and Kalos (NSDI'24)
#
# How do jobs behave in a cluster that develops large language models: how often do they fail,
# where does the GPU time go, and how do these clusters compare with the earlier traces? Shanghai
# AI Lab's Acme traces (Hu et al., "Characterization of Large Language Model Development in the
# Datacenter", NSDI'24): two A100 clusters, Seren and Kalos, with pretraining jobs of hundreds of
# GPUs, bursts of evaluation jobs and a high failure rate.
#
# Conventions of the paper and its repository: GPU jobs ask for at least one GPU; shares by final
# state count jobs that reached one (TIMEOUT and NODE_FAIL are failures); GPU time = GPUs ×
# run time (`docs/acme.md`). The last section measures every column of the repository's
# `cluster_summary.csv` on every trace of the store, beside the authors' own numbers.

# %% tags=["parameters"]
store = "data/parquet"
traces = "acme"
clusters = None
results = None  # the reports folder: findings.csv is read from it, not measured again

# %%
import polars as pl
from IPython.display import Markdown, display

import tracekit
from tracekit import plots
from tracekit.analysis import acme, findings, findings_table, jobs, summary

st, present, missing = tracekit.reports.open_report(store, traces)
have = "acme" in present
if have:
    aj = st.scan("jobs", trace="acme", cluster=clusters)
else:
    display(Markdown("_No Acme jobs in this store: every Acme section is skipped._"))

# %% [markdown]
# ## Final status: by jobs and by GPU time
#
# The authors' summary: about 40 % of GPU jobs fail (42.9 % on Seren, 39.7 % on Kalos), yet
# canceled jobs hold most of the GPU time (66.4 % and 60.7 %): long pretraining runs are
# stopped by hand, while the many failures are short.

# %%
if have:
    shares = acme.status_shares(aj)
    plots.status_bars(shares, "job_share", x="cluster", x_title="cluster",
                      title="Acme: final status of GPU jobs").show()
    plots.status_bars(shares, "gpu_time_share", x="cluster", x_title="cluster",
                      title="Acme: GPU time by final status").show()
    cell = {(c, s): (j, g) for c, s, j, g in
            shares.select("cluster", "status", "job_share", "gpu_time_share").rows()}
    display(Markdown("Here " + "; ".join(
        f"{c}: {100 * cell[(c, 'failed')][0]:.1f} % of GPU jobs fail and canceled jobs hold "
        f"{100 * cell[(c, 'canceled')][1]:.1f} % of the GPU time"
        for c in shares["cluster"].unique(maintain_order=True)) + "."))

# %% [markdown]
# ## GPU jobs: short and mostly small, with a tail of huge ones
#
# The summary: the median GPU job runs about two minutes (122 s on Seren, 124 s on Kalos) and
# asks for one GPU, while the mean is 5.7 GPUs on Seren and 26.8 on Kalos, and the largest jobs
# take 1,024 GPUs.

# %%
if have:
    stats = acme.gpu_job_stats(aj)
    display(plots.table(stats, title="Acme: run time and size of GPU jobs",
                        labels={"gpu_jobs": "GPU jobs", "median_run_time_s": "median run (s)",
                                "mean_run_time_s": "mean run (s)", "mean_gpus": "mean GPUs",
                                "median_gpus": "median GPUs"}))
    plots.duration_cdf(jobs.duration_cdf(aj), title="Acme: GPU-job run time CDF").show()
    display(Markdown("Here the median GPU job runs " + ", ".join(
        f"{c} {m:,.0f} s" for c, m in stats.select("cluster", "median_run_time_s").rows())
        + "; mean GPUs per GPU job " + ", ".join(
        f"{c} {g:.1f}" for c, g in stats.select("cluster", "mean_gpus").rows()) + "."))

# %% [markdown]
# ## Where the GPU time goes: workload types
#
# The paper's Fig. 4 is a treemap of jobs and GPU time by workload type: evaluation and
# debugging jobs are the most numerous, while the few pretraining jobs take the largest share of
# the GPU time (no table of the shares is published, so finding AC7 shows the measured value
# only).

# %%
if have:
    by_type = acme.gpu_time_by_workload(aj)
    plots.treemap(by_type, ["cluster", "workload"], "gpu_time_s",
                  title="Acme: GPU time by cluster and workload type (Fig. 4)",
                  value_title="GPU time (GPU-s)").show()
    long = by_type.unpivot(index=["cluster", "workload"], on=["job_share", "gpu_time_share"],
                           variable_name="of", value_name="share")
    plots.bars(long.with_columns(pl.col("of").replace({"job_share": "GPU jobs",
                                                       "gpu_time_share": "GPU time"})),
               "workload", "share", "of", facet="cluster", log_y=False, percent_y=True,
               title="Acme: share of GPU jobs vs share of GPU time by workload type",
               x_title="workload type", y_title="share (%)").show()
    pre = by_type.filter(pl.col("workload") == "Pretrain")
    display(Markdown("Here pretraining jobs are " + ", ".join(
        f"{c} {100 * j:.1f} % of GPU jobs but {100 * g:.0f} % of the GPU time"
        for c, j, g in pre.select("cluster", "job_share", "gpu_time_share").rows()) + "."))

# %% [markdown]
# ## Acme beside the earlier traces (`cluster_summary.csv`)
#
# The AcmeTrace repository publishes one summary table computed by the authors on the real
# Seren, Kalos, Philly, Helios and PAI traces. The same columns measured on every trace of this
# store (Philly, Helios and PAI pool their clusters, as the authors did; openb's production pod
# list is added when present). In the authors' table the LLM clusters run shorter GPU jobs than
# the earlier deep-learning clusters (median 122–124 s against 206–874 s), ask for more GPUs per
# job on average (5.7 and 26.8 against 0.7–3.7) and fail more often (40–43 % of GPU jobs against
# 16–31 %).

# %%
everything = st.scan("jobs")
plots.mark_data(**summary.data_kinds(st))  # this table covers every trace of the store
cross = acme.cluster_summary(everything)
display(plots.table(
    cross.select("id", "job_num", "gpu_job_num", "med_run_time_gpu", "avg_run_time_gpu",
                 "med_que_time_gpu", "avg_que_time_gpu", "avg_gpu_num", "max_gpu",
                 "complete_rate_gpu", "cancel_rate_gpu", "fail_rate_gpu",
                 "cancel_rate_gpu_time"),
    title="cluster_summary.csv measured on this store",
    labels={"id": "trace / cluster", "job_num": "jobs", "gpu_job_num": "GPU jobs",
            "med_run_time_gpu": "median run (s)", "avg_run_time_gpu": "mean run (s)",
            "med_que_time_gpu": "median queue (s)", "avg_que_time_gpu": "mean queue (s)",
            "avg_gpu_num": "mean GPUs", "max_gpu": "largest job (GPUs)",
            "complete_rate_gpu": "completed", "cancel_rate_gpu": "canceled",
            "fail_rate_gpu": "failed", "cancel_rate_gpu_time": "canceled (GPU time)"},
))
rates = cross.unpivot(index="id", on=["complete_rate_gpu", "cancel_rate_gpu", "fail_rate_gpu"],
                      variable_name="status", value_name="job_share")
plots.status_bars(rates.with_columns(pl.col("status").replace(
    {"complete_rate_gpu": "completed", "cancel_rate_gpu": "canceled",
     "fail_rate_gpu": "failed"})), "job_share", x="id", x_title="trace / cluster",
    title="Final status of GPU jobs, every trace (cluster_summary.csv columns)").show()
plots.mark_data(**summary.data_kinds(st, present))

# %% [markdown]
# ## Published vs measured

# %%
if have:
    ft = findings_table(st, traces=present, ids=findings.SECTIONS["acme"], saved=results)
    display(plots.findings_table(ft, title="Acme: published vs measured"))
